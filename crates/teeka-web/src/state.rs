//! What every handler shares: the store, the caches, the limiter, the metrics handle.

use crate::cache::{ChangeTracker, ResponseCache};
use crate::config::WebConfig;
use crate::cowin::public::PublicKey;
use crate::ratelimit::{IpRateLimiter, RateLimiter};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use teeka_app::booking::BookingConfig;
use teeka_app::citizen::IdentityConfig;
use teeka_app::vault::Vault;
use teeka_store::Store;

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    /// Storage.
    pub store: Store,
    /// Settings.
    pub config: WebConfig,
    /// Serialised public answers.
    pub public_cache: ResponseCache<PublicKey>,
    /// Which districts changed, as far as this process has polled.
    pub changes: Arc<ChangeTracker>,
    /// The public per-IP limiter, when limits are on.
    pub public_limiter: Option<IpRateLimiter>,
    /// Booking requests per account, when that limit is on.
    pub booking_account_limiter: Option<RateLimiter<uuid::Uuid>>,
    /// Booking requests per client IP, when that limit is on.
    pub booking_ip_limiter: Option<IpRateLimiter>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// `Cache-Control` of public answers by whole seconds of freshness left (index = seconds).
    pub public_cache_control: Vec<axum::http::HeaderValue>,
    /// The districts that exist (master data), once the poller has read them; an unknown
    /// district's answer is known to be empty without asking the database or filling the cache.
    pub known_districts:
        std::sync::RwLock<Option<std::collections::HashSet<teeka_domain::DistrictId>>>,
    /// The last readiness check: when, and whether the database answered.
    pub last_readiness: std::sync::Mutex<Option<(Instant, bool)>>,
    /// Seals and opens personal data.
    pub vault: Arc<Vault>,
    /// OTP, session and registry settings.
    pub identity: IdentityConfig,
    /// Booking settings.
    pub booking: BookingConfig,
    /// Staff sign-in settings.
    pub staff: teeka_app::staff::StaffConfig,
    /// Vaccination desk and anomaly settings.
    pub desk: teeka_app::desk::DeskConfig,
    /// The access ledger (its tree, checkpoints and proofs).
    pub ledger: Arc<teeka_app::ledger::Ledger>,
    /// Partner, consent and aggregate settings.
    pub partner: teeka_app::partner::PartnerConfig,
    /// Signs certificates; its public keys are published.
    pub issuer: teeka_app::certificates::Issuer,
    /// The one picture of a QR code the web verifier reads at a time (see
    /// `certificates::verify`): one per process, so pictures cannot take every core.
    pub picture_slot: Arc<tokio::sync::Semaphore>,
}

/// Every use case's settings, for [`AppState::with_all`].
#[derive(Debug, Clone, Default)]
pub struct UseCaseSettings {
    /// OTP, session and registry settings.
    pub identity: IdentityConfig,
    /// Booking settings.
    pub booking: BookingConfig,
    /// Staff sign-in settings.
    pub staff: teeka_app::staff::StaffConfig,
    /// Desk and anomaly settings.
    pub desk: teeka_app::desk::DeskConfig,
    /// Ledger settings.
    pub ledger: teeka_app::ledger::LedgerConfig,
    /// Partner, consent and aggregate settings.
    pub partner: teeka_app::partner::PartnerConfig,
    /// The certificate issuer's keys (none: a fresh in-memory ring, for tests).
    pub issuer: Option<teeka_app::certificates::Issuer>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The process-wide Prometheus recorder: `metrics` allows one global recorder, and tests start
/// many servers in one process.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

impl Inner {
    /// Whether `district` is known not to exist (false until the district list is loaded).
    pub fn district_unknown(&self, district: teeka_domain::DistrictId) -> bool {
        self.known_districts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|known| !known.contains(&district))
    }
}

impl AppState {
    /// Builds the state for `store` under `config`, and starts polling for availability changes
    /// (the poller stops when the last clone of the state is dropped). Call inside a Tokio runtime.
    pub fn new(
        store: Store,
        config: WebConfig,
        vault: Arc<Vault>,
        identity: IdentityConfig,
    ) -> Self {
        Self::with_booking(store, config, vault, identity, BookingConfig::default())
    }

    /// As [`AppState::new`], with booking settings.
    pub fn with_booking(
        store: Store,
        config: WebConfig,
        vault: Arc<Vault>,
        identity: IdentityConfig,
        booking: BookingConfig,
    ) -> Self {
        Self::with_settings(store, config, vault, identity, booking, Default::default())
    }

    /// As [`AppState::new`], with every use case's settings.
    pub fn with_settings(
        store: Store,
        config: WebConfig,
        vault: Arc<Vault>,
        identity: IdentityConfig,
        booking: BookingConfig,
        staff: teeka_app::staff::StaffConfig,
    ) -> Self {
        Self::with_all(
            store,
            config,
            vault,
            UseCaseSettings {
                identity,
                booking,
                staff,
                desk: Default::default(),
                ledger: Default::default(),
                partner: Default::default(),
                issuer: None,
            },
        )
    }

    /// As [`AppState::new`], with every use case's settings.
    pub fn with_all(
        store: Store,
        config: WebConfig,
        vault: Arc<Vault>,
        settings: UseCaseSettings,
    ) -> Self {
        let UseCaseSettings {
            identity,
            booking,
            staff,
            desk,
            ledger,
            partner,
            issuer,
        } = settings;
        let issuer = issuer.unwrap_or_else(|| {
            let ring = teeka_crypto::issuer::IssuerKeyRing::generate(teeka_app::clock::now_ms())
                .expect("the OS random number generator works at start-up");
            teeka_app::certificates::Issuer::new(ring, &ledger.origin)
        });
        let ledger = Arc::new(teeka_app::ledger::Ledger::new(
            store.clone(),
            vault.ledger_key(),
            ledger,
        ));
        let public_limiter = config.public_rate_limit.map(IpRateLimiter::new);
        let changes = Arc::new(ChangeTracker::new());
        let public_cache_control = (0..=config.cache_staleness.as_secs().min(3600))
            .map(|secs| {
                axum::http::HeaderValue::from_str(&format!("public, max-age={secs}"))
                    .unwrap_or_else(|_| axum::http::HeaderValue::from_static("no-store"))
            })
            .collect();
        let inner = Arc::new(Inner {
            store,
            public_cache: ResponseCache::new(config.cache_staleness, 50_000, changes.clone()),
            changes,
            public_limiter,
            booking_account_limiter: config.booking_limits.per_account.map(RateLimiter::new),
            booking_ip_limiter: config.booking_limits.per_ip.map(IpRateLimiter::new),
            config,
            metrics: metrics_handle(),
            public_cache_control,
            known_districts: std::sync::RwLock::new(None),
            last_readiness: std::sync::Mutex::new(None),
            vault,
            identity,
            booking,
            staff,
            desk,
            ledger,
            partner,
            issuer,
            picture_slot: Arc::new(tokio::sync::Semaphore::new(1)),
        });
        tokio::spawn(poll_changes(Arc::downgrade(&inner)));
        Self(inner)
    }
}

/// Polls the district change counters at least twice per staleness period.
async fn poll_changes(state: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = state.upgrade() else { return };
        let started = Instant::now();
        let needs_districts = inner
            .known_districts
            .read()
            .map(|k| k.is_none())
            .unwrap_or(true);
        if needs_districts {
            match inner.store.list_all_districts().await {
                Ok(all) => {
                    let ids = all.into_iter().map(|d| d.id).collect();
                    *inner
                        .known_districts
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = Some(ids);
                }
                Err(e) => tracing::warn!(error = %e, "reading the district list failed"),
            }
        }
        match inner.store.availability_changes().await {
            Ok(counters) => inner.changes.apply(started, &counters),
            Err(e) => {
                tracing::warn!(error = %e, "polling availability changes failed; the time bound applies")
            }
        }
        let interval = (inner.config.cache_staleness / 2)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        drop(inner);
        tokio::time::sleep(interval).await;
    }
}
