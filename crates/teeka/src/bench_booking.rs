//! `teeka bench booking`: bookings per second through HTTP (`POST /api/v2/appointment/schedule`
//! over keep-alive connections to a real socket) and, in the same run, the same use case called
//! directly (token lookup and `Booking::schedule`, the same database work, no HTTP), on SQLite
//! or PostgreSQL; the ratio says what the web layer costs.
//!
//! Every booking is a different person (a person books a dose once), so the benchmark first
//! registers enough citizens through the use cases, then replays the bookings.

use crate::server::open_store;
use anyhow::Context;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teeka_app::access::citizen_grant;
use teeka_app::booking::{Booking, BookingConfig, ScheduleRequest};
use teeka_app::citizen::{Identity, IdentityConfig, NewBeneficiaryInput};
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::vault::{KeySource, Vault};
use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, DistrictId, DoseShare, FeeType, Mobile, OpeningHours,
    Pincode, SessionPlan, StateId,
};
use teeka_loadgen::{PreparedRequest, ReplayReport, replay};
use teeka_store::Store;
use teeka_store::identity::OtpLimits;
use teeka_web::config::BookingLimits;
use teeka_web::{AppState, WebConfig, build_router};
use tokio::net::TcpListener;

/// Flags of the booking benchmark.
#[derive(Debug, clap::Args)]
pub struct BookingBench {
    /// The database: an empty PostgreSQL database (`postgres://…`), or by default a fresh
    /// SQLite file under `--data-dir`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Where the SQLite file and the development SMS go.
    #[arg(long, default_value = "./target/bench-booking")]
    pub data_dir: PathBuf,
    /// Bookings per side per round.
    #[arg(long, default_value_t = 1000)]
    pub bookings: usize,
    /// Concurrent clients (HTTP connections, or tasks calling the use case).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Rounds; the two sides take turns within each round, and the median round is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Sessions the bookings spread over (all in one district, as a district's opening is).
    #[arg(long, default_value_t = 20)]
    pub sessions: usize,
}

/// A citizen ready to book: their token and one beneficiary.
pub(crate) struct Booker {
    token: String,
    reference_id: String,
}

const PEOPLE_PER_ACCOUNT: usize = 4;

fn generous_identity() -> IdentityConfig {
    IdentityConfig {
        limits: OtpLimits {
            sends_per_hour: 1_000_000,
            sends_per_day: 1_000_000,
            resend_cooldown_ms: 0,
            ip_sends_per_hour: 1_000_000,
            failures_per_day: 1_000_000,
            wrong_attempts_per_txn: 3,
            ip_failures_per_hour: 1_000_000,
        },
        ..IdentityConfig::default()
    }
}

fn aadhaar(n: u64) -> anyhow::Result<String> {
    let stem = format!("{}", 40_000_000_000 + n);
    let check =
        teeka_domain::verhoeff::check_digit(&stem).ok_or_else(|| anyhow::anyhow!("verhoeff"))?;
    Ok(format!("{stem}{check}"))
}

/// One district's centres and sessions for tomorrow, with room for every booking.
pub(crate) async fn sessions(store: &Store, count: usize) -> anyhow::Result<Vec<uuid::Uuid>> {
    let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
    let mut ids = Vec::new();
    for i in 0..count {
        let centre_id = CentreId(900_000 + i as i64);
        store
            .insert_centres(&[Centre {
                id: centre_id,
                name: format!("Bench PHC {i}"),
                address: "Bench Road".into(),
                state_id: StateId(21),
                district_id: DistrictId(395),
                block_name: "Bench".into(),
                pincode: Pincode::try_from(400001)?,
                lat: 19.0,
                long: 72.8,
                fee_type: FeeType::Free,
                fees: Vec::new(),
                hours: OpeningHours {
                    from_minute: 540,
                    to_minute: 1020,
                },
            }])
            .await?;
        let id = uuid::Uuid::new_v4();
        let share = DoseShare {
            online: Capacity::MAX_SHARE,
            onsite: 0,
        };
        store
            .insert_sessions(&[SessionPlan {
                id,
                centre_id,
                date: tomorrow,
                vaccine: "COVISHIELD".parse()?,
                age: AgeLimits::new(18, None)?,
                capacity: Capacity {
                    dose1: share,
                    dose2: share,
                    precaution: share,
                },
                slots: vec!["09:00AM-11:00AM".parse()?],
            }])
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Registers `people` beneficiaries through the use cases (OTP, session, registration).
pub(crate) async fn citizens(
    store: &Store,
    vault: &Vault,
    sms_log: &std::path::Path,
    people: usize,
) -> anyhow::Result<Vec<Booker>> {
    let config = generous_identity();
    let identity = Identity {
        store,
        vault,
        config: &config,
    };
    let accounts = people.div_ceil(PEOPLE_PER_ACCOUNT);
    let ip = IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9));
    let mut txns = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let mobile: Mobile = format!("{}", 6_000_000_000u64 + a as u64).parse()?;
        txns.push((
            mobile.as_str().to_owned(),
            identity.send_otp(&mobile, ip).await?,
        ));
    }
    let _ = std::fs::remove_file(sms_log);
    // A pass delivers a batch; repeat until the outbox is empty.
    while deliver_due(store, vault, &Notifier::Log(sms_log.to_path_buf())).await? > 0 {}
    let mut otp_of = std::collections::HashMap::new();
    for line in std::fs::read_to_string(sms_log)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(to), Some(otp)) = (v["to"].as_str(), v["otp"].as_str()) {
            otp_of.insert(to.to_owned(), otp.to_owned());
        }
    }
    let mut bookers = Vec::with_capacity(people);
    for (a, (mobile, txn)) in txns.into_iter().enumerate() {
        let otp = otp_of.get(&mobile).context("an OTP for every account")?;
        let (token, _) = identity
            .confirm_otp(txn, &teeka_crypto::sha256_hex(otp), ip, "bench")
            .await?;
        let grant = citizen_grant(store, &token).await?;
        for p in 0..PEOPLE_PER_ACCOUNT.min(people - bookers.len()) {
            let n = (a * PEOPLE_PER_ACCOUNT + p) as u64;
            let reference_id = identity
                .register(
                    &grant,
                    &NewBeneficiaryInput {
                        name: format!("Bench Person {}", char::from(b'A' + p as u8)),
                        birth_year: 1990,
                        gender_id: 1,
                        photo_id_type: 1,
                        photo_id_number: aadhaar(n)?,
                        comorbidity: false,
                        consent_version: "V1".into(),
                    },
                    "bench",
                )
                .await?;
            bookers.push(Booker {
                token: token.clone(),
                reference_id,
            });
        }
    }
    Ok(bookers)
}

fn body(session: uuid::Uuid, reference_id: &str) -> serde_json::Value {
    serde_json::json!({ "dose": 1, "session_id": session.to_string(), "slot": "09:00AM-11:00AM",
                        "beneficiaries": [reference_id] })
}

/// Books everyone in `bookers` by calling the use case directly, `connections` at a time.
pub(crate) async fn direct(
    store: &Store,
    vault: &Arc<Vault>,
    bookers: &[Booker],
    sessions: &[uuid::Uuid],
    connections: usize,
) -> anyhow::Result<(Duration, u64)> {
    let work: Arc<Vec<(String, ScheduleRequest)>> = Arc::new(
        bookers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let request = ScheduleRequest {
                    dose: 1,
                    session_id: sessions[i % sessions.len()].to_string(),
                    slot: "09:00AM-11:00AM".into(),
                    beneficiaries: vec![b.reference_id.clone()],
                    idempotency_key: None,
                };
                (b.token.clone(), request)
            })
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections.max(1))
        .map(|_| {
            let (store, vault, work, next) =
                (store.clone(), vault.clone(), work.clone(), next.clone());
            tokio::spawn(async move {
                let config = BookingConfig::default();
                let booking = Booking {
                    store: &store,
                    vault: &vault,
                    config: &config,
                };
                let mut failed = 0u64;
                while let Some((token, request)) =
                    work.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let done = match citizen_grant(&store, token).await {
                        Ok(grant) => booking.schedule(&grant, request, "bench").await.is_ok(),
                        Err(_) => false,
                    };
                    failed += u64::from(!done);
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        failed += t.await?;
    }
    Ok((started.elapsed(), failed))
}

fn over_http(bookers: &[Booker], sessions: &[uuid::Uuid]) -> Vec<PreparedRequest> {
    bookers
        .iter()
        .enumerate()
        .map(|(i, b)| PreparedRequest {
            method: axum::http::Method::POST,
            path: "/api/v2/appointment/schedule".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("authorization".into(), format!("Bearer {}", b.token)),
            ],
            body: body(sessions[i % sessions.len()], &b.reference_id)
                .to_string()
                .into(),
        })
        .collect()
}

/// Replays on its own thread and runtime, as a separate client process would.
fn replay_from_own_thread(
    addr: SocketAddr,
    requests: Vec<PreparedRequest>,
    connections: usize,
) -> anyhow::Result<ReplayReport> {
    std::thread::spawn(move || -> anyhow::Result<ReplayReport> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(replay(addr, requests, connections))?)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("client thread panicked"))?
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What both booking benchmarks start from: a fresh database (its own SQLite file `name`.db
/// unless `--database-url`), a throwaway key set, the sessions, and enough registered people for
/// two sides of every round.
async fn prepare(
    args: &BookingBench,
    name: &str,
) -> anyhow::Result<(Store, Arc<Vault>, Vec<uuid::Uuid>, Vec<Booker>)> {
    std::fs::create_dir_all(&args.data_dir)?;
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let file = args.data_dir.join(format!("{name}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            format!("sqlite://{}", file.display())
        }
    };
    let store = open_store(&url).await?;
    anyhow::ensure!(
        store.counts().await?.centres == 0,
        "the benchmark fills its own database: give it an empty one"
    );
    let vault = Arc::new(Vault::new(
        teeka_crypto::Keys::generate()?,
        KeySource::Fixed,
    ));
    let sessions = sessions(&store, args.sessions.max(1)).await?;
    let started = Instant::now();
    let people = args.bookings * 2 * args.rounds.max(1);
    let bookers = citizens(&store, &vault, &args.data_dir.join("sms.jsonl"), people).await?;
    eprintln!("registered {people} people in {:.1?}", started.elapsed());
    Ok((store, vault, sessions, bookers))
}

/// Runs the benchmark.
pub async fn run(args: BookingBench) -> anyhow::Result<ExitCode> {
    let rounds = args.rounds.max(1);
    let (store, vault, sessions, mut bookers) = prepare(&args, "bench-booking").await?;

    let config = WebConfig {
        public_rate_limit: None,
        booking_limits: BookingLimits::OFF,
        ..WebConfig::default()
    };
    let state = AppState::with_booking(
        store.clone(),
        config,
        vault.clone(),
        generous_identity(),
        BookingConfig::default(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(teeka_web::serve(listener, build_router(state), async {
        let _ = stopped.await;
    }));

    let (mut http_rates, mut direct_rates, mut p50s, mut p99s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let for_http: Vec<Booker> = bookers.drain(..args.bookings).collect();
        let report =
            replay_from_own_thread(addr, over_http(&for_http, &sessions), args.connections)?;
        anyhow::ensure!(
            report.non_2xx == 0,
            "{} HTTP bookings failed",
            report.non_2xx
        );
        http_rates.push(report.requests_per_second);
        p50s.push(report.p50.as_secs_f64() * 1e3);
        p99s.push(report.p99.as_secs_f64() * 1e3);
        let for_direct: Vec<Booker> = bookers.drain(..args.bookings).collect();
        let (elapsed, failed) =
            direct(&store, &vault, &for_direct, &sessions, args.connections).await?;
        anyhow::ensure!(failed == 0, "{failed} direct bookings failed");
        direct_rates.push(args.bookings as f64 / elapsed.as_secs_f64());
    }
    let _ = stop.send(());
    let _ = server.await;
    let (http_rate, direct_rate) = (median(http_rates), median(direct_rates));
    println!();
    println!(
        "bookings on {} ({} sessions in one district), {} bookings per side per round, {} \
         concurrent clients, median of {rounds} rounds, {} cores",
        store.backend_name(),
        sessions.len(),
        args.bookings,
        args.connections,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| path                                     | bookings/s | p50 ms | p99 ms |");
    println!("|------------------------------------------|-----------:|-------:|-------:|");
    println!(
        "| HTTP POST /api/v2/appointment/schedule   | {http_rate:>10.0} | {:>6.2} | {:>6.2} |",
        median(p50s),
        median(p99s)
    );
    println!(
        "| direct: token lookup + Booking::schedule | {direct_rate:>10.0} |      - |      - |"
    );
    println!();
    println!(
        "ratio HTTP / direct: {:.2}   (target >= 0.50)",
        http_rate / direct_rate.max(1.0)
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `teeka bench ledger`: bookings per second through `Booking::schedule`, alternating rounds with
/// the ledger write (the real path) and without it (the baseline: the same transactions with
/// `append_access_event` skipped), on its own throwaway database.
pub async fn ledger_cost(args: BookingBench) -> anyhow::Result<ExitCode> {
    let rounds = args.rounds.max(1);
    let (store, vault, sessions, mut bookers) = prepare(&args, "bench-ledger").await?;
    let (mut with, mut without, mut costs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first, so neither always meets the warmer database; the
        // two sides of a round run back to back, so the round's cost compares like with like
        // on a machine whose speed drifts.
        let mut pair = [0.0; 2];
        for side in [round % 2 == 0, round % 2 == 1] {
            let batch: Vec<Booker> = bookers.drain(..args.bookings).collect();
            teeka_store::ledger::skip_ledger_writes_for_baseline_benchmark(!side);
            let result = direct(&store, &vault, &batch, &sessions, args.connections).await;
            teeka_store::ledger::skip_ledger_writes_for_baseline_benchmark(false);
            let (elapsed, failed) = result?;
            anyhow::ensure!(failed == 0, "{failed} bookings failed");
            pair[usize::from(!side)] = args.bookings as f64 / elapsed.as_secs_f64();
        }
        let cost = (1.0 - pair[0] / pair[1].max(1.0)) * 100.0;
        println!(
            "round {:>2}: {:>5.0}/s with, {:>5.0}/s without, cost {cost:>5.1}%",
            round + 1,
            pair[0],
            pair[1]
        );
        with.push(pair[0]);
        without.push(pair[1]);
        costs.push(cost);
    }
    let (cheapest, dearest) = costs
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(*c), hi.max(*c)));
    let cost = median(costs);
    let (with, without) = (median(with), median(without));
    println!();
    println!(
        "ledger cost on {}: {} bookings per side per round, {} concurrent clients, median of {rounds} rounds, {} cores",
        store.backend_name(),
        args.bookings,
        args.connections,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| booking transaction                        | bookings/s |");
    println!("|--------------------------------------------|-----------:|");
    println!("| with the ledger write (leaf + event row)   | {with:>10.0} |");
    println!("| baseline: ledger write skipped             | {without:>10.0} |");
    println!();
    println!(
        "ledger cost: {cost:.1}% of booking throughput, the median of the rounds' costs \
         (rounds ranged {cheapest:.1}% to {dearest:.1}%)   (target <= 20%)"
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
