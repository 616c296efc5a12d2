//! `serve`, `demo` and `migrate`: open the store, prepare it, and serve until a signal.

use crate::settings::Mode;
use crate::settings::{DatabaseArgs, Resolved, ServerArgs};
use anyhow::Context;
use std::process::ExitCode;
use std::sync::Arc;
use teeka_app::demo::{self, DemoOptions};
use teeka_app::master::{MasterData, prepare_store};
use teeka_app::outbox::Notifier;
use teeka_app::vault::Vault;
use teeka_store::Store;
use teeka_web::{AppState, UseCaseSettings, build_router};
use tokio::net::TcpListener;

/// `teeka demo` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Centres generated in each district (756 districts; 80 gives ~60,000 centres).
    #[arg(long, default_value_t = 5)]
    pub centres_per_district: u32,
    /// Seed for the synthetic data (same seed and start date, same data).
    #[arg(long, default_value_t = 2021)]
    pub seed: u64,
    /// Days of sessions, from today (IST).
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Switch every rate limit off, for local load tests. Never do this on a public server.
    #[arg(long)]
    pub no_limits: bool,
}

/// Opens the store named by the settings and brings it up to date.
pub async fn open_store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("opening the database ({})", redact(url)))?;
    prepare_store(&store)
        .await
        .context("migrating and loading master data")?;
    Ok(store)
}

/// A database URL fit for a log line: the password is replaced.
pub fn redact(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let mut shown = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &base[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &base[..scheme_end], &base[at + 1..])
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        // libpq-style URLs may carry the password (and other secrets) as parameters.
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _))
                    if k.eq_ignore_ascii_case("password")
                        || k.to_ascii_lowercase().contains("key") =>
                {
                    format!("{k}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown = format!("{shown}?{}", params.join("&"));
    }
    shown
}

/// How long requests in flight may take to finish after SIGINT/SIGTERM.
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves when SIGINT or SIGTERM arrives.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

/// The vault for these settings: production loads keys it was given; development creates them.
pub fn open_vault(settings: &Resolved) -> anyhow::Result<Arc<Vault>> {
    let vault = match settings.mode {
        Mode::Production => Vault::load_existing(settings.keys_dir.clone()).context(
            "production mode needs keys: TEEKA_VAULT_KEYS, TEEKA_BLIND_INDEX_KEY, TEEKA_OTP_KEY and TEEKA_LEDGER_SIGNING_KEY, or key files in keys_dir",
        )?,
        Mode::Development => {
            Vault::load_or_create(settings.keys_dir.clone()).context("opening or creating the key files")?
        }
    };
    Ok(Arc::new(vault))
}

/// The certificate issuer for these settings: production loads `issuer-keys.json` from the keys
/// directory (made by `teeka keys rotate --issuer`); development creates it.
pub fn open_issuer(settings: &Resolved) -> anyhow::Result<teeka_app::certificates::Issuer> {
    let ring = match settings.mode {
        Mode::Production => teeka_crypto::keyfiles::load_issuer(&settings.keys_dir)
            .context("production mode needs the issuer keys: issuer-keys.json in keys_dir")?,
        Mode::Development => teeka_crypto::keyfiles::load_or_create_issuer(
            &settings.keys_dir,
            teeka_app::clock::now_ms(),
        )
        .context("opening or creating the issuer keys")?,
    };
    Ok(teeka_app::certificates::Issuer::new(
        ring,
        &settings.ledger.origin,
    ))
}

async fn run_server(
    settings: &Resolved,
    store: Store,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = store.backend_name(), "listening");
    on_listening(addr);
    let vault = open_vault(settings)?;
    let worker = tokio::spawn(teeka_app::outbox::run_worker(
        store.clone(),
        vault.clone(),
        settings.notifier.clone(),
        std::time::Duration::from_millis(500),
    ));
    let sweeper = tokio::spawn(anomaly_sweeps(store.clone(), settings.desk.anomaly));
    let app = AppState::with_all(
        store.clone(),
        settings.web.clone(),
        vault,
        UseCaseSettings {
            identity: settings.identity.clone(),
            booking: settings.booking.clone(),
            staff: Default::default(),
            desk: settings.desk,
            ledger: settings.ledger.clone(),
            partner: settings.partner.clone(),
            issuer: Some(open_issuer(settings)?),
        },
    );
    let checkpointer = tokio::spawn(ledger_upkeep(app.ledger.clone()));
    // After the signal, requests in flight get a deadline: a stuck client must not keep the
    // process (and a deploy) waiting for ever.
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        let _ = signalled.send(());
    };
    let deadline = async move {
        if on_signal.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_DEADLINE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = teeka_web::serve(listener, build_router(app), shutdown) => served?,
        () = deadline => tracing::warn!("shutdown deadline passed with requests still in flight"),
    }
    worker.abort();
    sweeper.abort();
    checkpointer.abort();
    store.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Every 30 seconds: suspend staff accounts with too many openings that never got a dose.
/// (The other thresholds are checked on every desk action.)
async fn anomaly_sweeps(store: Store, config: teeka_app::anomaly::AnomalyConfig) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        if let Err(e) = teeka_app::anomaly::sweep(&store, &config).await {
            tracing::warn!(error = %e, "anomaly sweep failed");
        }
    }
}

/// Every 60 seconds a signed checkpoint (when the log grew); once a day, retention.
async fn ledger_upkeep(ledger: Arc<teeka_app::ledger::Ledger>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = ledger.checkpoint().await {
            tracing::warn!(error = %e, "ledger checkpoint failed");
        }
        if ticks.is_multiple_of(24 * 60) {
            match ledger.prune(teeka_app::clock::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "ledger retention removed old access details"),
                Err(e) => tracing::warn!(error = %e, "ledger retention failed"),
            }
        }
        ticks += 1;
    }
}

/// `teeka serve`.
pub async fn serve(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let settings = args.resolve()?;
    let store = open_store(&settings.database_url).await?;
    run_server(&settings, store, |_| {}).await?;
    Ok(ExitCode::SUCCESS)
}

/// `teeka migrate`.
pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<ExitCode> {
    let settings = args.resolve(None)?;
    let store = open_store(&settings.database_url).await?;
    let counts = store.counts().await?;
    println!(
        "database ready ({}): {} states, {} districts, {} centres, {} sessions",
        store.backend_name(),
        counts.states,
        counts.districts,
        counts.centres,
        counts.sessions
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `teeka demo`.
pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut settings = args.server.resolve()?;
    if args.no_limits {
        settings.web.public_rate_limit = None;
        settings.web.booking_limits = teeka_web::config::BookingLimits::OFF;
        eprintln!("{}", "!".repeat(72));
        eprintln!("!!  RATE LIMITS ARE OFF (--no-limits). For local load tests only.");
        eprintln!("!!  Anyone who can reach this server can call it without limit.");
        eprintln!("{}", "!".repeat(72));
        tracing::warn!("rate limits are off (--no-limits)");
    }
    let store = open_store(&settings.database_url).await?;
    let master = MasterData::embedded()?;
    let options = DemoOptions {
        centres_per_district: args.centres_per_district,
        seed: args.seed,
        start: teeka_app::clock::today_in_india(),
        days: args.days,
    };
    match demo::load_if_empty(&store, &master, options).await? {
        Some(summary) => println!(
            "Loaded a synthetic India: {} centres and {} sessions from {} (seed {}).",
            summary.centres, summary.sessions, options.start, options.seed
        ),
        None => println!("The database already has centres; no demo data added."),
    }
    let today = options.start;
    let sample_pin = store
        .find_sessions(&teeka_store::SessionQuery {
            scope: teeka_store::SessionScope::District(teeka_domain::DistrictId(395)),
            from: today,
            until: today.plus_days(7),
            vaccine: None,
        })
        .await?
        .first()
        .map_or_else(
            || "400080".to_owned(),
            |c| c.centre.centre.pincode.to_string(),
        );
    if let Notifier::Log(path) = &settings.notifier {
        println!(
            "SMS (with OTPs) are written to {} (the development log backend).",
            path.display()
        );
    }
    let shown_url = redact(&settings.database_url);
    println!("Data directory: {}", settings.data_dir.display());
    run_server(&settings, store, move |addr| {
        println!("Teeka demo listening on http://{addr} (database: {shown_url})");
        println!("Try:");
        println!("  curl http://{addr}/api/v2/admin/location/states");
        println!("  curl http://{addr}/api/v2/admin/location/districts/21");
        println!("  curl 'http://{addr}/api/v2/appointment/sessions/public/calendarByDistrict?district_id=395&date={today}'");
        println!("  curl 'http://{addr}/api/v2/appointment/sessions/public/findByDistrict?district_id=395&date={today}'");
        println!("  curl 'http://{addr}/api/v2/appointment/sessions/public/calendarByPin?pincode={sample_pin}&date={today}'");
        println!("  curl 'http://{addr}/api/v2/appointment/centers/public/findByLatLong?lat=19.8&long=75.7'");
        println!("  curl http://{addr}/readyz ; curl http://{addr}/metrics");
        println!("Stop with Ctrl-C.");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_a_log_line() {
        assert_eq!(
            redact("postgres://teeka:s3cret@db:5432/teeka"),
            "postgres://teeka:***@db:5432/teeka"
        );
        assert_eq!(
            redact("sqlite://./teeka-data/teeka.db"),
            "sqlite://./teeka-data/teeka.db"
        );
        assert_eq!(
            redact("postgres://db/teeka?user=t&password=s3cret&sslmode=require"),
            "postgres://db/teeka?user=t&password=***&sslmode=require"
        );
    }
}
