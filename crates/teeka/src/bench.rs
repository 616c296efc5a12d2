//! `teeka bench availability`: loads `calendarByDistrict` on a national-scale demo (every
//! district, ≥ 60,000 centres) through a real socket, and in the same run measures bare axum
//! handlers that return a constant, so that the ratio says what Teeka's own work costs.
//!
//! Two baselines: the *same bytes* as a typical Teeka answer returned as a constant (what the
//! ratio target is judged against: identical transport, none of our routing, parsing, caching
//! or middleware), and a tiny constant (the machine's ceiling for an empty answer).

use crate::server::open_store;
use anyhow::Context;
use axum::Router;
use axum::routing::get;
use clap::Subcommand;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use teeka_app::demo::{self, DemoOptions};
use teeka_app::master::MasterData;
use teeka_loadgen::{LoadOptions, LoadReport, run_load};
use teeka_web::{AppState, WebConfig, build_router};
use tokio::net::TcpListener;

/// `teeka bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// calendarByDistrict under load versus bare constant handlers.
    Availability(AvailabilityBench),
    /// Bookings per second through HTTP versus the same use case called directly.
    Booking(crate::bench_booking::BookingBench),
    /// What the access ledger costs bookings: the same booking transactions with and without
    /// their ledger write, alternating rounds, one run.
    Ledger(crate::bench_booking::BookingBench),
    /// Certificates issued and verified per second, and the PDF's render time, against bare
    /// Ed25519 in the same run.
    Certificates(crate::bench_cert::CertificateBench),
}

/// Flags of the availability benchmark.
#[derive(Debug, clap::Args)]
pub struct AvailabilityBench {
    /// Where the benchmark database lives (reused between runs when it already holds the demo).
    #[arg(long, default_value = "./target/bench-data")]
    pub data_dir: PathBuf,
    /// Centres per district (80 × 756 districts = 60,480 centres).
    #[arg(long, default_value_t = 80)]
    pub centres_per_district: u32,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per target.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Warm-up seconds per target.
    #[arg(long, default_value_t = 2)]
    pub warmup_seconds: u64,
    /// Rounds; the targets take turns each round and each target's median round is reported,
    /// so a noisy moment on a shared machine does not decide the ratio.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// The round with the median throughput.
fn median(mut reports: Vec<LoadReport>) -> LoadReport {
    reports.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
    reports[reports.len() / 2]
}

async fn spawn_server(
    router: Router,
) -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = teeka_web::serve(listener, router, shutdown).await {
            eprintln!("bench server failed: {e}");
        }
    });
    Ok((addr, stop))
}

/// Runs the load generator on its own thread and runtime, as a separate load process would.
fn load_from_own_thread(
    addr: SocketAddr,
    paths: Vec<String>,
    options: LoadOptions,
) -> anyhow::Result<LoadReport> {
    std::thread::spawn(move || -> anyhow::Result<LoadReport> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(run_load(addr, paths, &options))?)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("load generator thread panicked"))?
}

fn line(name: &str, r: &LoadReport, bytes: usize) {
    println!(
        "| {name:<34} | {:>10.0} | {:>8.2} | {:>8.2} | {:>9} | {:>7} |",
        r.requests_per_second,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        bytes,
        r.non_2xx
    );
}

/// Runs the benchmark.
pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Availability(args) => availability(args).await,
        BenchCommand::Booking(args) => crate::bench_booking::run(args).await,
        BenchCommand::Ledger(args) => crate::bench_booking::ledger_cost(args).await,
        BenchCommand::Certificates(args) => crate::bench_cert::run(args).await,
    }
}

async fn availability(args: AvailabilityBench) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)?;
    let url = format!(
        "sqlite://{}",
        args.data_dir
            .join(format!("bench-{}.db", args.centres_per_district))
            .display()
    );
    let store = open_store(&url).await?;
    let today = teeka_app::clock::today_in_india();
    let master = MasterData::embedded()?;
    let started = Instant::now();
    let options = DemoOptions {
        centres_per_district: args.centres_per_district,
        seed: 2021,
        start: today,
        days: 7,
    };
    if let Some(summary) = demo::load_if_empty(&store, &master, options).await? {
        eprintln!(
            "generated {} centres, {} sessions in {:.1?}",
            summary.centres,
            summary.sessions,
            started.elapsed()
        );
    }
    let counts = store.counts().await?;
    // A reused database may hold last week's dates; benchmark from the day its sessions start.
    let first_day = store
        .find_sessions(&teeka_store::SessionQuery {
            scope: teeka_store::SessionScope::District(teeka_domain::DistrictId(
                master.districts[0].district_id,
            )),
            from: today.plus_days(-60),
            until: today.plus_days(60),
            vaccine: None,
        })
        .await?
        .iter()
        .flat_map(|c| c.sessions.iter().map(|s| s.plan.date))
        .min()
        .unwrap_or(today);
    let paths: Vec<String> = master
        .districts
        .iter()
        .map(|d| {
            format!(
                "/api/v2/appointment/sessions/public/calendarByDistrict?district_id={}&date={first_day}",
                d.district_id
            )
        })
        .collect();

    // Limits off, as `teeka demo --no-limits`; the default 5 s cache staleness.
    let config = WebConfig {
        public_rate_limit: None,
        ..WebConfig::default()
    };
    let vault = std::sync::Arc::new(teeka_app::vault::Vault::new(
        teeka_crypto::Keys::generate()?,
        teeka_app::vault::KeySource::Fixed,
    ));
    let state = AppState::new(store.clone(), config, vault, Default::default());
    let (teeka_addr, stop_teeka) = spawn_server(build_router(state)).await?;
    let sample = teeka_loadgen::request(teeka_addr, http_get(), &paths[0], &[], None)
        .await
        .context("sample request")?;
    anyhow::ensure!(
        sample.status.is_success(),
        "sample request failed: {}",
        sample.status
    );
    // Every key answered once before measuring: the benchmark is about serving; the first
    // computation of every district is reported on its own line.
    let warm_started = Instant::now();
    let mut total_bytes = 0usize;
    for p in &paths {
        let r = teeka_loadgen::request(teeka_addr, http_get(), p, &[], None).await?;
        total_bytes += r.body.len();
    }
    let first_fill = warm_started.elapsed();
    let mean_bytes = total_bytes / paths.len().max(1);
    let same_bytes = sample.body.clone();
    let (same_addr, stop_same) =
        spawn_server(Router::new().route("/", get(move || std::future::ready(same_bytes.clone()))))
            .await?;
    let (tiny_addr, stop_tiny) =
        spawn_server(Router::new().route("/", get(|| async { "ok" }))).await?;

    let load = LoadOptions {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_seconds),
        duration: Duration::from_secs(args.seconds),
    };
    let (mut teeka_rounds, mut same_rounds, mut tiny_rounds) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.rounds.max(1) {
        teeka_rounds.push(load_from_own_thread(
            teeka_addr,
            paths.clone(),
            load.clone(),
        )?);
        same_rounds.push(load_from_own_thread(
            same_addr,
            vec!["/".into()],
            load.clone(),
        )?);
        tiny_rounds.push(load_from_own_thread(
            tiny_addr,
            vec!["/".into()],
            load.clone(),
        )?);
    }
    let (teeka, same, tiny) = (
        median(teeka_rounds),
        median(same_rounds),
        median(tiny_rounds),
    );
    let _ = (stop_teeka.send(()), stop_same.send(()), stop_tiny.send(()));

    println!();
    println!(
        "calendarByDistrict on {} centres / {} sessions / {} districts (SQLite), {} connections, \
         median of {} rounds of {} s, {} cores",
        counts.centres,
        counts.sessions,
        paths.len(),
        args.connections,
        args.rounds.max(1),
        args.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| target                             |      req/s |  p50 ms  |  p99 ms  | body B    | non-2xx |"
    );
    println!(
        "|------------------------------------|-----------:|---------:|---------:|----------:|--------:|"
    );
    line("teeka calendarByDistrict", &teeka, mean_bytes);
    line(
        "bare axum, same bytes as constant",
        &same,
        sample.body.len(),
    );
    line("bare axum, tiny constant", &tiny, 2);
    println!();
    println!(
        "ratio teeka / bare (same bytes): {:.2}   (target >= 0.80; p99 target <= 10 ms: {})",
        teeka.requests_per_second / same.requests_per_second.max(1.0),
        if teeka.p99 <= Duration::from_millis(10) {
            "met"
        } else {
            "missed"
        }
    );
    println!(
        "first computation of all {} districts (cold cache, sequential): {:.1?}, {:.1} ms each",
        paths.len(),
        first_fill,
        first_fill.as_secs_f64() * 1e3 / paths.len().max(1) as f64
    );
    println!(
        "ratio teeka / bare (tiny constant): {:.2}",
        teeka.requests_per_second / tiny.requests_per_second.max(1.0)
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn http_get() -> axum::http::Method {
    axum::http::Method::GET
}
