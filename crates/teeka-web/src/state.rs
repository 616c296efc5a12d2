//! What every handler shares: the store, the caches, the limiter, the metrics handle.

use crate::cache::ResponseCache;
use crate::config::WebConfig;
use crate::cowin::public::PublicKey;
use crate::ratelimit::IpRateLimiter;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
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
    /// The public per-IP limiter, when limits are on.
    pub public_limiter: Option<IpRateLimiter>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
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

impl AppState {
    /// Builds the state for `store` under `config`.
    pub fn new(store: Store, config: WebConfig) -> Self {
        let public_limiter = config.public_rate_limit.map(IpRateLimiter::new);
        Self(Arc::new(Inner {
            store,
            public_cache: ResponseCache::new(config.cache_staleness, 50_000),
            public_limiter,
            config,
            metrics: metrics_handle(),
        }))
    }
}
