//! Booking over real HTTP on both backends: no slot sold twice when 500 citizens press "book" at
//! once (also across three server instances on one PostgreSQL), each eligibility rule refused with
//! its code, and cancellation giving capacity back.

use http::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use teeka_app::booking::BookingConfig;
use teeka_app::citizen::IdentityConfig;
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::vault::Vault;
use teeka_store::Store;
use teeka_store::booking::RecordedDose;
use teeka_store::identity::OtpLimits;
use teeka_tests::{
    TestDb, aadhaar, backends, call, call_with, centre_and_session, citizen, dose1_places,
    prepared_store, test_vault,
};
use teeka_web::config::{BookingLimits, RateLimit};
use teeka_web::{AppState, WebConfig, build_router};

fn generous() -> IdentityConfig {
    IdentityConfig {
        limits: OtpLimits {
            sends_per_hour: 10_000,
            sends_per_day: 10_000,
            resend_cooldown_ms: 0,
            ip_sends_per_hour: 100_000,
            failures_per_day: 1000,
            wrong_attempts_per_txn: 3,
            ip_failures_per_hour: 100_000,
        },
        ..IdentityConfig::default()
    }
}

async fn serve(store: Store, vault: Arc<Vault>, booking: BookingConfig) -> SocketAddr {
    serve_limited(store, vault, booking, BookingLimits::OFF).await
}

async fn serve_limited(
    store: Store,
    vault: Arc<Vault>,
    booking: BookingConfig,
    booking_limits: BookingLimits,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = WebConfig {
        public_rate_limit: None,
        booking_limits,
        ..WebConfig::default()
    };
    let router = build_router(AppState::with_booking(
        store,
        config,
        vault,
        generous(),
        booking,
    ));
    tokio::spawn(async move { teeka_web::serve(listener, router, std::future::pending()).await });
    addr
}

/// A fresh database, its store, keys, and where development SMS land.
struct World {
    db: TestDb,
    store: Store,
    vault: Arc<Vault>,
    outbox: std::path::PathBuf,
    _outbox_dir: tempfile::TempDir,
}

impl World {
    async fn new(backend: teeka_tests::Backend) -> World {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let outbox_dir = tempfile::tempdir().expect("dir");
        let outbox = outbox_dir.path().join("sms.jsonl");
        World {
            db,
            store,
            vault: test_vault(),
            outbox,
            _outbox_dir: outbox_dir,
        }
    }
}

fn schedule(session: uuid::Uuid, dose: u8, people: &[&str]) -> Value {
    json!({ "dose": dose, "session_id": session.to_string(), "slot": "09:00AM-11:00AM", "beneficiaries": people })
}

#[tokio::test]
async fn five_hundred_citizens_ten_places_no_slot_sold_twice() {
    for backend in backends() {
        let World {
            db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        // Three server instances, each with its own connection pool, on one database.
        let mut servers = vec![serve(store.clone(), vault.clone(), BookingConfig::default()).await];
        for _ in 0..2 {
            let own_pool = Store::connect(&db.url).await.expect("another pool");
            servers.push(serve(own_pool, vault.clone(), BookingConfig::default()).await);
        }
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let session = centre_and_session(&store, tomorrow, "COVISHIELD", 10, 10, 18).await;
        let mut people = Vec::new();
        for n in 0..500 {
            people.push(citizen(servers[0], &store, &vault, &outbox, n, 1990).await);
        }
        let tasks: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, (token, reference))| {
                let addr = servers[i % servers.len()];
                let (token, body) = (token.clone(), schedule(session, 1, &[reference]));
                tokio::spawn(async move {
                    call(
                        addr,
                        Method::POST,
                        "/api/v2/appointment/schedule",
                        Some(&token),
                        Some(body),
                    )
                    .await
                })
            })
            .collect();
        let (mut booked, mut full, mut other) = (0, 0, Vec::new());
        for t in tasks {
            let (status, body) = t.await.expect("task");
            match (status, body["errorCode"].as_str()) {
                (200, _) => booked += 1,
                (409, Some("APPOIN0040")) => full += 1,
                _ => other.push((status, body)),
            }
        }
        assert_eq!(
            (booked, full),
            (10, 490),
            "{backend:?}: exactly ten booked; others: {other:?}"
        );
        let left = store
            .get_session(session)
            .await
            .expect("get")
            .expect("session")
            .available;
        assert_eq!(left.dose1, 0, "{backend:?}: capacity used exactly");
        assert_eq!(left.dose2, 10, "{backend:?}: dose 2 untouched");
        // Three processes' worth of appenders at once, and the ledger is still one gap-free,
        // untampered log: a booking per person booked, a read per person refused.
        let ledger = teeka_app::ledger::Ledger::new(
            store.clone(),
            vault.ledger_key(),
            teeka_app::ledger::LedgerConfig::default(),
        );
        let checkpoint = ledger.checkpoint().await.expect("checkpoint");
        let report = teeka_app::ledger_verify::verify(
            &store,
            &teeka_app::ledger::LedgerConfig::default().origin,
            &vault.ledger_key().public(),
            Some(&checkpoint.note),
        )
        .await
        .expect("verify");
        assert!(report.clean(), "{backend:?}: {:?}", report.problems);
        let events = store.access_events(0, 1_000_000).await.expect("events");
        let count = |action: &str| events.iter().filter(|e| e.event.action == action).count();
        assert_eq!(
            (count("appointment.book"), count("beneficiary.read")),
            (10, 490),
            "{backend:?}: one entry per person per booking request"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn each_eligibility_rule_refuses_with_its_code_and_cancel_gives_capacity_back() {
    for backend in backends() {
        let World {
            db: _db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        let addr = serve(store.clone(), vault.clone(), BookingConfig::default()).await;
        let today = teeka_tests::today_in_india_with_margin(3).await;
        let tomorrow = today.plus_days(1);
        let (adult, adult_ref) = citizen(addr, &store, &vault, &outbox, 1, 1980).await;
        let (young, young_ref) = citizen(
            addr,
            &store,
            &vault,
            &outbox,
            2,
            tomorrow.date().year() - 20,
        )
        .await;
        let (other, _) = citizen(addr, &store, &vault, &outbox, 3, 1980).await;
        let book = |token: &str, body: Value| {
            let token = token.to_owned();
            async move {
                call(
                    addr,
                    Method::POST,
                    "/api/v2/appointment/schedule",
                    Some(&token),
                    Some(body),
                )
                .await
            }
        };
        let code = |r: &(u16, Value)| (r.0, r.1["errorCode"].as_str().unwrap_or("").to_owned());

        // The ledger entries a request added: one per person, naming what was done.
        let ledger_len = || {
            let store = store.clone();
            async move {
                store
                    .access_events(0, 1_000_000)
                    .await
                    .expect("events")
                    .len()
            }
        };
        let actions_since = |from: usize| {
            let store = store.clone();
            async move {
                let events = store.access_events(0, 1_000_000).await.expect("events");
                events[from..]
                    .iter()
                    .map(|e| e.event.action.clone())
                    .collect::<Vec<_>>()
            }
        };

        let senior_session = centre_and_session(&store, tomorrow, "COVISHIELD", 5, 5, 45).await;
        let mark = ledger_len().await;
        assert_eq!(
            code(&book(&young, schedule(senior_session, 1, &[&young_ref])).await),
            (400, "TKABKG0002".into()),
            "{backend:?}: age"
        );
        assert_eq!(
            actions_since(mark).await,
            ["beneficiary.read"],
            "{backend:?}: a refused booking logs the person it read"
        );

        let session = centre_and_session(&store, tomorrow, "COVISHIELD", 5, 5, 18).await;
        let mut wrong_slot = schedule(session, 1, &[&adult_ref]);
        wrong_slot["slot"] = json!("01:00PM-02:00PM");
        assert_eq!(
            code(&book(&adult, wrong_slot).await),
            (400, "APPOIN0015".into()),
            "{backend:?}: slot"
        );
        assert_eq!(
            code(&book(&adult, schedule(session, 2, &[&adult_ref])).await),
            (400, "TKABKG0003".into()),
            "{backend:?}: dose 2 first"
        );
        assert_eq!(
            code(&book(&adult, schedule(session, 4, &[&adult_ref])).await),
            (400, "TKABKG0007".into())
        );
        assert_eq!(
            code(&book(&other, schedule(session, 1, &[&adult_ref])).await),
            (404, "TKABEN0003".into()),
            "{backend:?}: not theirs"
        );
        let past = centre_and_session(&store, today.plus_days(-1), "COVISHIELD", 5, 5, 18).await;
        assert_eq!(
            code(&book(&adult, schedule(past, 1, &[&adult_ref])).await),
            (400, "TKABKG0001".into()),
            "{backend:?}: past"
        );

        // Booking for today closes at the cut-off (here: midnight, so always closed).
        let closed = serve(
            store.clone(),
            vault.clone(),
            BookingConfig {
                same_day_cutoff_minute: 0,
                ..BookingConfig::default()
            },
        )
        .await;
        let today_session = centre_and_session(&store, today, "COVISHIELD", 5, 5, 18).await;
        let r = call(
            closed,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&adult),
            Some(schedule(today_session, 1, &[&adult_ref])),
        )
        .await;
        assert_eq!(code(&r), (400, "TKABKG0006".into()), "{backend:?}: cut-off");

        // Book, refuse a second live appointment for the same dose, cancel, and the place is back.
        let mark = ledger_len().await;
        let (status, ok) = book(&adult, schedule(session, 1, &[&adult_ref])).await;
        assert_eq!(status, 200, "{backend:?}: {ok}");
        assert_eq!(
            actions_since(mark).await,
            ["appointment.book"],
            "{backend:?}: one entry covers the booking's read and write"
        );
        let confirmation = ok["appointment_confirmation_no"]
            .as_str()
            .expect("confirmation")
            .to_owned();
        assert_eq!(
            store
                .get_session(session)
                .await
                .expect("get")
                .expect("s")
                .available
                .dose1,
            4
        );
        let (status, again) = book(&adult, schedule(session, 1, &[&adult_ref])).await;
        assert_eq!(
            (status, again["appointment_confirmation_no"].as_str()),
            (200, Some(confirmation.as_str())),
            "{backend:?}: a retry gets the first answer"
        );
        let left = store
            .get_session(session)
            .await
            .expect("get")
            .expect("s")
            .available
            .dose1;
        assert_eq!(left, 4, "{backend:?}: not booked twice");
        let other_session = centre_and_session(&store, tomorrow, "COVISHIELD", 5, 5, 18).await;
        let mark = ledger_len().await;
        assert_eq!(
            code(&book(&adult, schedule(other_session, 1, &[&adult_ref])).await),
            (409, "TKABKG0005".into()),
            "{backend:?}: one live appointment per dose"
        );
        assert_eq!(actions_since(mark).await, ["beneficiary.read"]);
        let (status, _) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/cancel",
            Some(&other),
            Some(json!({ "appointment_id": confirmation, "beneficiariesToCancel": [adult_ref] })),
        )
        .await;
        assert_eq!(status, 404, "{backend:?}: not theirs to cancel");
        let (status, _) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/cancel",
            Some(&adult),
            Some(json!({ "appointment_id": confirmation, "beneficiariesToCancel": [adult_ref] })),
        )
        .await;
        assert_eq!(status, 204, "{backend:?}");
        assert_eq!(
            store
                .get_session(session)
                .await
                .expect("get")
                .expect("s")
                .available
                .dose1,
            5,
            "{backend:?}: capacity back"
        );
        // The holder got both messages through the outbox; the booking one carries the code.
        deliver_due(&store, &vault, &Notifier::Log(outbox.clone()))
            .await
            .expect("deliver");
        let sent: Vec<Value> = std::fs::read_to_string(&outbox)
            .expect("outbox")
            .lines()
            .map(|l| serde_json::from_str(l).expect("line"))
            .filter(|v: &Value| v["to"] == "7000000001")
            .collect();
        let booked = sent
            .iter()
            .find(|v| v["template"] == "appointment.booked")
            .expect("booking SMS");
        let text = booked["text"].as_str().expect("text");
        let secret = text
            .split("secret code is ")
            .nth(1)
            .map(|t| &t[..4])
            .expect("a code");
        assert!(
            secret.bytes().all(|b| b.is_ascii_digit()),
            "{backend:?}: {text}"
        );
        assert!(text.contains(&confirmation), "{backend:?}: {text}");
        assert!(
            sent.iter()
                .any(|v| v["template"] == "appointment.cancelled"),
            "{backend:?}: cancellation SMS"
        );

        // Dose 2: same vaccine, after the interval from master data (COVISHIELD: 84 days).
        let (_, list) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&adult),
            None,
        )
        .await;
        assert_eq!(
            list["beneficiaries"][0]["beneficiary_reference_id"],
            adult_ref.as_str()
        );
        let events = store.access_events(0, 10_000).await.expect("events");
        let subject = events
            .iter()
            .rev()
            .find(|e| e.event.action == "appointment.cancel")
            .and_then(|e| e.event.subject_id)
            .expect("the cancel is on the ledger");
        store
            .record_dose(&RecordedDose {
                subject_id: subject,
                dose_number: 1,
                vaccine: "COVISHIELD".into(),
                given_on: today.plus_days(-30),
            })
            .await
            .expect("dose 1");
        assert_eq!(
            code(&book(&adult, schedule(session, 2, &[&adult_ref])).await),
            (400, "TKABKG0004".into()),
            "{backend:?}: 84 days"
        );
        let covaxin_later =
            centre_and_session(&store, today.plus_days(60), "COVAXIN", 5, 5, 18).await;
        assert_eq!(
            code(&book(&adult, schedule(covaxin_later, 2, &[&adult_ref])).await),
            (400, "TKABKG0003".into()),
            "{backend:?}: same vaccine"
        );
        let covishield_later =
            centre_and_session(&store, today.plus_days(60), "COVISHIELD", 5, 5, 18).await;
        let (status, body) = book(&adult, schedule(covishield_later, 2, &[&adult_ref])).await;
        assert_eq!(status, 200, "{backend:?}: interval met: {body}");
        let dose2 = body["appointment_confirmation_no"]
            .as_str()
            .expect("confirmation")
            .to_owned();
        deliver_due(&store, &vault, &Notifier::Log(outbox.clone()))
            .await
            .expect("deliver");
        let sms_code = std::fs::read_to_string(&outbox)
            .expect("outbox")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("line"))
            .filter_map(|v| {
                v["text"]
                    .as_str()
                    .filter(|t| t.contains(&dose2))
                    .map(str::to_owned)
            })
            .find_map(|t| t.split("secret code is ").nth(1).map(|c| c[..4].to_owned()))
            .expect("the dose-2 SMS");
        let (_, list) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&adult),
            None,
        )
        .await;
        let appointments = list["beneficiaries"][0]["appointments"]
            .as_array()
            .expect("appointments")
            .clone();
        assert_eq!(
            appointments.len(),
            1,
            "{backend:?}: the live one only: {appointments:?}"
        );
        assert_eq!(appointments[0]["appointment_id"], dose2.as_str());
        assert_eq!(appointments[0]["dose"], 2);
        assert_eq!(
            appointments[0]["secret_code"],
            sms_code.as_str(),
            "{backend:?}: the citizen sees the code"
        );
        assert_eq!(
            code(&book(&adult, schedule(covishield_later, 3, &[&adult_ref])).await),
            (400, "TKABKG0003".into()),
            "{backend:?}: precaution after the series"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        store.close().await;
    }
}

#[tokio::test]
async fn reschedule_moves_the_appointment_atomically() {
    for backend in backends() {
        let World {
            db: _db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        let addr = serve(store.clone(), vault.clone(), BookingConfig::default()).await;
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let (token, reference) = citizen(addr, &store, &vault, &outbox, 1, 1980).await;
        let (stranger, _) = citizen(addr, &store, &vault, &outbox, 2, 1980).await;
        let first = centre_and_session(&store, tomorrow, "COVISHIELD", 5, 5, 18).await;
        let second =
            centre_and_session(&store, tomorrow.plus_days(1), "COVISHIELD", 5, 5, 18).await;
        let full = centre_and_session(&store, tomorrow.plus_days(2), "COVISHIELD", 0, 5, 18).await;
        let (status, booked) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&token),
            Some(schedule(first, 1, &[&reference])),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {booked}");
        let id = booked["appointment_confirmation_no"]
            .as_str()
            .expect("id")
            .to_owned();
        let move_to = |session: uuid::Uuid, who: String| {
            let body = json!({ "appointment_id": id, "session_id": session.to_string(), "slot": "09:00AM-11:00AM" });
            async move {
                call(
                    addr,
                    Method::POST,
                    "/api/v2/appointment/reschedule",
                    Some(&who),
                    Some(body),
                )
                .await
            }
        };
        let (status, body) = move_to(full, token.clone()).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (409, Some("APPOIN0040")),
            "{backend:?}"
        );
        assert_eq!(
            (
                dose1_places(&store, first).await,
                dose1_places(&store, full).await
            ),
            (4, 0),
            "{backend:?}: nothing moved"
        );
        let (status, _) = move_to(second, stranger.clone()).await;
        assert_eq!(status, 404, "{backend:?}: not theirs");
        let (status, body) = move_to(second, token.clone()).await;
        assert_eq!(status, 204, "{backend:?}: {body}");
        assert_eq!(
            (
                dose1_places(&store, first).await,
                dose1_places(&store, second).await
            ),
            (5, 4),
            "{backend:?}: the place moved"
        );
        let (_, list) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&token),
            None,
        )
        .await;
        let appointment = &list["beneficiaries"][0]["appointments"][0];
        assert_eq!(appointment["appointment_id"], id.as_str());
        assert_eq!(appointment["session_id"], second.to_string(), "{backend:?}");
        assert_eq!(
            appointment["secret_code"].as_str().map(str::len),
            Some(4),
            "{backend:?}: the code stays"
        );

        // The authenticated availability routes answer live (no cache) and only with a token.
        let path = format!(
            "/api/v2/appointment/sessions/calendarByDistrict?district_id=395&date={tomorrow}"
        );
        let (status, _) = call(addr, Method::GET, &path, None, None).await;
        assert_eq!(status, 401, "{backend:?}");
        let r = teeka_loadgen::request(
            addr,
            Method::GET,
            &path,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await
        .expect("request");
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(
            r.header("cache-control"),
            Some("private, no-store"),
            "{backend:?}"
        );
        let live: Value = serde_json::from_slice(&r.body).expect("json");
        let second_now = live["centers"][0]["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|x| x["session_id"] == second.to_string())
            .expect("the second session")["available_capacity_dose1"]
            .clone();
        assert_eq!(second_now, 4, "{backend:?}: the booking shows at once");
        store.close().await;
    }
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer_and_the_slip_shows_the_code() {
    for backend in backends() {
        let World {
            db: _db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        let addr = serve(store.clone(), vault.clone(), BookingConfig::default()).await;
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let session = centre_and_session(&store, tomorrow, "COVISHIELD", 10, 10, 18).await;
        let other_session =
            centre_and_session(&store, tomorrow.plus_days(1), "COVISHIELD", 10, 10, 18).await;
        let (token, reference) = citizen(addr, &store, &vault, &outbox, 1, 1985).await;
        // The public (cached) answer before the booking, so the cache holds it.
        let public = format!(
            "/api/v2/appointment/sessions/public/calendarByCenter?center_id=1&date={tomorrow}"
        );
        let dose1_left = |answer: &Value| {
            answer["centers"]["sessions"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["session_id"] == session.to_string()))
                .map(|s| s["available_capacity_dose1"].clone())
        };
        let (_, before) = call(addr, Method::GET, &public, None, None).await;
        assert_eq!(
            dose1_left(&before),
            Some(json!(10)),
            "{backend:?}: {before}"
        );
        let keyed = |key: &'static str, body: Value| {
            let token = token.clone();
            async move {
                call_with(
                    addr,
                    Method::POST,
                    "/api/v2/appointment/schedule",
                    Some(&token),
                    &[("idempotency-key", key)],
                    Some(body),
                )
                .await
            }
        };
        // Five retries of one request race each other: one booking, one answer for all.
        let racing: Vec<_> = (0..5)
            .map(|_| tokio::spawn(keyed("retry-1", schedule(session, 1, &[&reference]))))
            .collect();
        let mut answers = Vec::new();
        for r in racing {
            let (status, body) = r.await.expect("task");
            assert_eq!(status, 200, "{backend:?}: {body}");
            answers.push(
                body["appointment_confirmation_no"]
                    .as_str()
                    .expect("no")
                    .to_owned(),
            );
        }
        answers.dedup();
        assert_eq!(
            answers.len(),
            1,
            "{backend:?}: every retry got the first answer"
        );
        let left = store
            .get_session(session)
            .await
            .expect("get")
            .expect("session")
            .available;
        assert_eq!(left.dose1, 9, "{backend:?}: booked once");
        // The public cache reflects the booking within its staleness bound (5 s by default).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (_, after) = call(addr, Method::GET, &public, None, None).await;
            if dose1_left(&after) == Some(json!(9)) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{backend:?}: still {after}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let appointment = answers[0].clone();

        let (status, body) = keyed("retry-1", schedule(other_session, 1, &[&reference])).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (422, Some("TKABKG0011")),
            "{backend:?}: a key reused for another request: {body}"
        );
        let long: &'static str = Box::leak("k".repeat(256).into_boxed_str());
        let (status, _) = keyed(long, schedule(session, 1, &[&reference])).await;
        assert_eq!(status, 400, "{backend:?}: an over-long key");

        // The slip: centre, date, slot, masked people and the code; the code matches the list's.
        let (_, list) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&token),
            None,
        )
        .await;
        let code = list["beneficiaries"][0]["appointments"][0]["secret_code"]
            .as_str()
            .expect("code")
            .to_owned();
        let masked = list["beneficiaries"][0]["name"]
            .as_str()
            .expect("masked name")
            .to_owned();
        let auth = format!("Bearer {token}");
        let path =
            format!("/api/v2/appointment/appointmentslip/download?appointment_id={appointment}");
        let slip = teeka_loadgen::request(
            addr,
            Method::GET,
            &path,
            &[("authorization", auth.as_str())],
            None,
        )
        .await
        .expect("slip");
        assert_eq!(slip.status.as_u16(), 200, "{backend:?}: {}", slip.text());
        assert_eq!(slip.header("content-type"), Some("application/pdf"));
        assert_eq!(slip.header("cache-control"), Some("private, no-store"));
        assert!(slip.body.starts_with(b"%PDF-"), "{backend:?}: a PDF");
        let text = String::from_utf8_lossy(&slip.body);
        for wanted in [
            format!("({code})"),
            format!("({reference})"),
            format!("({})", masked.replace('(', "\\(").replace(')', "\\)")),
            format!("({tomorrow})"),
            "(09:00AM-11:00AM)".to_owned(),
            "(PHC Booking)".to_owned(),
            "(COVISHIELD)".to_owned(),
        ] {
            assert!(
                text.contains(&wanted),
                "{backend:?}: the slip shows {wanted}"
            );
        }
        assert!(
            !text.contains("Test Person"),
            "{backend:?}: never the full name"
        );
        assert!(
            !text.contains(&aadhaar(1)),
            "{backend:?}: never the ID number"
        );
        let events = store.access_events(0, 10_000).await.expect("events");
        assert!(
            events.iter().any(|e| e.event.action == "appointment.slip"),
            "{backend:?}: the slip download is on the ledger"
        );

        // Someone else, a malformed id, a missing parameter.
        let (stranger, _) = citizen(addr, &store, &vault, &outbox, 2, 1985).await;
        let (status, body) = call(addr, Method::GET, &path, Some(&stranger), None).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (404, Some("TKABKG0009")),
            "{backend:?}"
        );
        let (status, _) = call(addr, Method::GET, &path, None, None).await;
        assert_eq!(status, 401, "{backend:?}: a token is required");
        let (status, body) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/appointmentslip/download",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("USRRES0001")),
            "{backend:?}"
        );
        let (status, _) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/appointmentslip/download?appointment_id=x'%20OR%201=1",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 404, "{backend:?}");
        store.close().await;
    }
}

#[tokio::test]
async fn booking_limits_per_account_and_per_ip_and_the_optional_proof_of_work() {
    for backend in backends() {
        let World {
            db: _db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        let limits = BookingLimits {
            per_account: Some(RateLimit {
                requests: 3,
                window: Duration::from_secs(60),
            }),
            per_ip: Some(RateLimit {
                requests: 5,
                window: Duration::from_secs(60),
            }),
        };
        let addr = serve_limited(
            store.clone(),
            vault.clone(),
            BookingConfig {
                proof_of_work_bits: Some(8),
                ..BookingConfig::default()
            },
            limits,
        )
        .await;
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let session = centre_and_session(&store, tomorrow, "COVISHIELD", 10, 10, 18).await;
        let (first, first_ref) = citizen(addr, &store, &vault, &outbox, 1, 1985).await;
        let (second, second_ref) = citizen(addr, &store, &vault, &outbox, 2, 1985).await;

        // The proof of work, switched on: none, then a solved challenge.
        let (status, body) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&first),
            Some(schedule(session, 1, &[&first_ref])),
        )
        .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("TKABKG0010")),
            "{backend:?}: {body}"
        );
        let (_, challenge) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/challenge",
            Some(&first),
            None,
        )
        .await;
        assert_eq!(challenge["required"], true);
        let text = challenge["challenge"].as_str().expect("challenge");
        let nonce = teeka_app::antibot::solve(text, 8);
        let mut body = schedule(session, 1, &[&first_ref]);
        body["captcha"] = json!(format!("{text}:{nonce}"));
        let (status, answer) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&first),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        let (_, others) = call(
            addr,
            Method::GET,
            "/api/v2/appointment/challenge",
            Some(&second),
            None,
        )
        .await;
        let mut stolen = schedule(session, 1, &[&second_ref]);
        stolen["captcha"] = body["captcha"].clone();
        let (status, refused) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&second),
            Some(stolen),
        )
        .await;
        assert_eq!(
            (status, refused["errorCode"].as_str()),
            (400, Some("TKABKG0010")),
            "{backend:?}: a challenge is bound to its account"
        );
        assert_ne!(others["challenge"], challenge["challenge"]);

        // Per account: three booking requests in the window, then 429 with Retry-After.
        let (status, _) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            Some(&first),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            status, 200,
            "{backend:?}: the third request (a retry) still passes"
        );
        let auth = format!("Bearer {first}");
        let limited = teeka_loadgen::request(
            addr,
            Method::POST,
            "/api/v2/appointment/schedule",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ],
            Some(body.to_string().into()),
        )
        .await
        .expect("request");
        assert_eq!(
            limited.status.as_u16(),
            429,
            "{backend:?}: {}",
            limited.text()
        );
        assert!(limited.text().contains("TKABKG0012"));
        let wait: u64 = limited
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&wait), "{backend:?}: {wait}");
        // Per IP: the second account has spent one request; five from this address in all, then 429.
        let (status, _) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/cancel",
            Some(&second),
            Some(json!({"appointment_id": "x", "beneficiariesToCancel": []})),
        )
        .await;
        assert_eq!(
            status, 404,
            "{backend:?}: the fifth request from this address is served"
        );
        let (status, body) = call(
            addr,
            Method::POST,
            "/api/v2/appointment/cancel",
            Some(&second),
            Some(json!({"appointment_id": "x", "beneficiariesToCancel": []})),
        )
        .await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (429, Some("TKABKG0012")),
            "{backend:?}: {body}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn the_challenge_route_says_when_no_proof_is_required() {
    let World {
        db: _db,
        store,
        vault,
        outbox,
        _outbox_dir,
    } = World::new(teeka_tests::Backend::Sqlite).await;
    let addr = serve(store.clone(), vault.clone(), BookingConfig::default()).await;
    let (token, _) = citizen(addr, &store, &vault, &outbox, 1, 1985).await;
    let (status, body) = call(
        addr,
        Method::GET,
        "/api/v2/appointment/challenge",
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!({ "required": false })));
    store.close().await;
}

#[tokio::test]
async fn crossing_reschedules_bookings_and_cancels_never_deadlock() {
    for backend in backends() {
        let World {
            db: _db,
            store,
            vault,
            outbox,
            _outbox_dir,
        } = World::new(backend).await;
        let addr = serve(store.clone(), vault.clone(), BookingConfig::default()).await;
        let tomorrow = teeka_app::clock::today_in_india().plus_days(1);
        let a = centre_and_session(&store, tomorrow, "COVISHIELD", 100, 10, 18).await;
        let b = centre_and_session(&store, tomorrow.plus_days(1), "COVISHIELD", 100, 10, 18).await;
        // 30 people: 20 booked (half on each session), 10 who book while the others move.
        let mut booked = Vec::new();
        let mut fresh = Vec::new();
        for n in 0..30u64 {
            let (token, reference) = citizen(addr, &store, &vault, &outbox, n, 1985).await;
            if n < 20 {
                let session = if n % 2 == 0 { a } else { b };
                let (status, body) = call(
                    addr,
                    Method::POST,
                    "/api/v2/appointment/schedule",
                    Some(&token),
                    Some(schedule(session, 1, &[&reference])),
                )
                .await;
                assert_eq!(status, 200, "{backend:?}: {body}");
                let id = body["appointment_confirmation_no"]
                    .as_str()
                    .expect("id")
                    .to_owned();
                booked.push((token, reference, id, session));
            } else {
                fresh.push((token, reference));
            }
        }
        // At once: the even half moves A→B and the odd half B→A, five cancel, ten book.
        let mut tasks = Vec::new();
        for (i, (token, reference, id, session)) in booked.into_iter().enumerate() {
            let other = if session == a { b } else { a };
            tasks.push(tokio::spawn(async move {
                if i < 15 {
                    call(addr, Method::POST, "/api/v2/appointment/reschedule", Some(&token),
                         Some(json!({ "appointment_id": id, "session_id": other.to_string(), "slot": "09:00AM-11:00AM" }))).await
                } else {
                    call(addr, Method::POST, "/api/v2/appointment/cancel", Some(&token),
                         Some(json!({ "appointment_id": id, "beneficiariesToCancel": [reference] }))).await
                }
            }));
        }
        for (i, (token, reference)) in fresh.into_iter().enumerate() {
            let session = if i % 2 == 0 { a } else { b };
            tasks.push(tokio::spawn(async move {
                call(
                    addr,
                    Method::POST,
                    "/api/v2/appointment/schedule",
                    Some(&token),
                    Some(schedule(session, 1, &[&reference])),
                )
                .await
            }));
        }
        for t in tasks {
            let (status, body) = t.await.expect("task");
            assert!(matches!(status, 200 | 204), "{backend:?}: {status} {body}");
        }
        // 25 live appointments in all (20 − 5 cancelled + 10 new) over 200 places.
        assert_eq!(
            dose1_places(&store, a).await + dose1_places(&store, b).await,
            200 - 25,
            "{backend:?}: capacity adds up"
        );
        store.close().await;
    }
}
