//! The vaccination desk and staff oversight over real HTTP on both backends: the desk flow
//! (list, check in with the code, record the dose exactly once, report an adverse event, an
//! audited correction, a walk-in), a vaccinator cannot open a person booked elsewhere or without
//! the code, five wrong codes lock an appointment with an alert, break-glass, abuse patterns
//! replayed are suspended within 60 s, and every route against every role.

use http::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teeka_app::booking::BookingConfig;
use teeka_app::citizen::IdentityConfig;
use teeka_app::desk::DeskConfig;
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::staff::{Enrolment, StaffConfig};
use teeka_app::vault::Vault;
use teeka_domain::StaffRole;
use teeka_store::Store;
use teeka_store::identity::OtpLimits;
use teeka_tests::{
    TestDb, aadhaar, backends, call, citizen, pdf_page_png, pdf_text, prepared_store, session_at,
    signed_in_staff, signed_in_staff_with_code, test_vault, today_in_india_with_margin, totp_at,
};
use teeka_web::config::BookingLimits;
use teeka_web::{AppState, UseCaseSettings, WebConfig, build_router};

struct World {
    _db: TestDb,
    store: Store,
    vault: Arc<Vault>,
    outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    state: AppState,
}

async fn world(backend: teeka_tests::Backend, mut desk: DeskConfig) -> World {
    // Odd hours never begin here, whatever time of day the test runs: the rule has its own unit
    // test, and at night in India it would suspend accounts before the anomaly a test provokes.
    desk.anomaly.odd_hours_from_minute = 0;
    desk.anomaly.odd_hours_until_minute = 0;
    let db = TestDb::new(backend).await;
    let store = prepared_store(&db).await;
    let vault = test_vault();
    let dir = tempfile::tempdir().expect("dir");
    let identity = IdentityConfig {
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
    };
    // Same-day booking never closes here, whatever time of day the test runs.
    let booking = BookingConfig {
        same_day_cutoff_minute: 24 * 60,
        ..BookingConfig::default()
    };
    let config = WebConfig {
        public_rate_limit: None,
        booking_limits: BookingLimits::OFF,
        ..WebConfig::default()
    };
    let state = AppState::with_all(
        store.clone(),
        config,
        vault.clone(),
        UseCaseSettings {
            identity,
            booking,
            staff: StaffConfig::default(),
            desk,
            ledger: Default::default(),
            partner: Default::default(),
            issuer: None,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = build_router(state.clone());
    tokio::spawn(async move { teeka_web::serve(listener, router, std::future::pending()).await });
    World {
        state,
        _db: db,
        outbox: dir.path().join("sms.jsonl"),
        _dir: dir,
        store,
        vault,
        addr,
    }
}

/// Creates an account and signs it in with a changed password; (token, enrolment).
async fn staff_member(
    w: &World,
    username: &str,
    role: StaffRole,
    scope: Option<i64>,
) -> (String, Enrolment) {
    signed_in_staff(w.addr, &w.store, &w.vault, username, role, scope).await
}

async fn post(w: &World, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(w.addr, Method::POST, path, Some(token), Some(body)).await
}

async fn get(w: &World, path: &str, token: &str) -> (u16, Value) {
    call(w.addr, Method::GET, path, Some(token), None).await
}

/// A citizen books `session`; (reference id, 4-digit code).
async fn booked(w: &World, n: u64, session: uuid::Uuid) -> (String, String) {
    let (_, reference, code) = booked_with_token(w, n, session).await;
    (reference, code)
}

/// A citizen books `session`; (their token, reference id, 4-digit code).
async fn booked_with_token(w: &World, n: u64, session: uuid::Uuid) -> (String, String, String) {
    let (token, reference) = citizen(w.addr, &w.store, &w.vault, &w.outbox, n, 1980).await;
    let (status, answer) = call(
        w.addr,
        Method::POST,
        "/api/v2/appointment/schedule",
        Some(&token),
        Some(json!({ "dose": 1, "session_id": session.to_string(), "slot": "09:00AM-11:00AM", "beneficiaries": [reference] })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, list) = call(
        w.addr,
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
    (token, reference, code)
}

/// A session today at `centre`, 10 first and 10 second doses of COVISHIELD from 18: the day the
/// desk works, taken at least 3 minutes clear of midnight in India so it stays today for the test.
async fn todays_session(w: &World, centre: i64) -> uuid::Uuid {
    let today = today_in_india_with_margin(3).await;
    session_at(&w.store, centre, today, "COVISHIELD", 10, 10, 18).await
}

fn wrong(code: &str) -> String {
    format!("{:04}", (code.parse::<u32>().expect("digits") + 1) % 10_000)
}

async fn subject_events(store: &Store, action: &str) -> usize {
    store
        .access_events(0, 100_000)
        .await
        .expect("events")
        .iter()
        .filter(|e| e.event.action == action)
        .count()
}

#[tokio::test]
async fn the_desk_flow_and_every_refusal_it_owes() {
    for backend in backends() {
        let w = world(backend, DeskConfig::default()).await;
        let here = todays_session(&w, 1).await;
        let elsewhere = todays_session(&w, 2).await;
        let (vaccinator, v_enrolment, v_sign_in_code) = signed_in_staff_with_code(
            w.addr,
            &w.store,
            &w.vault,
            "asha.v",
            StaffRole::Vaccinator,
            Some(1),
        )
        .await;
        let (verifier, _) = staff_member(&w, "meena.verify", StaffRole::Verifier, Some(1)).await;
        let (centre_admin, _) =
            staff_member(&w, "phc1.admin", StaffRole::CentreAdmin, Some(1)).await;
        let (district_admin, _) =
            staff_member(&w, "dist.admin", StaffRole::DistrictAdmin, Some(395)).await;
        let (person, code) = booked(&w, 1, here).await;
        let (other, other_code) = booked(&w, 2, elsewhere).await;
        let (third, third_code) = booked(&w, 3, here).await;

        // Today's list: this centre's people only, names masked, no codes.
        let (status, list) = get(&w, "/api/v1/desk/today", &vaccinator).await;
        assert_eq!(status, 200, "{backend:?}: {list}");
        let people: Vec<&str> = list["appointments"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["beneficiary_reference_id"].as_str().expect("ref"))
            .collect();
        assert_eq!(people.len(), 2, "{backend:?}: {list}");
        assert!(people.contains(&person.as_str()) && people.contains(&third.as_str()));
        assert!(
            !list.to_string().contains("Test Person"),
            "{backend:?}: names are masked"
        );
        assert!(
            !list.to_string().contains(&code),
            "{backend:?}: no codes in the list"
        );

        // Booked elsewhere (even with the right code), or the wrong code: the same refusal.
        for (reference, c) in [(&other, &other_code), (&person, &wrong(&code))] {
            let (status, answer) = post(
                &w,
                "/api/v1/desk/checkin",
                &vaccinator,
                json!({ "beneficiary_reference_id": reference, "code": c }),
            )
            .await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (404, Some("TKADSK0001")),
                "{backend:?}: {answer}"
            );
        }
        // No dose without a check-in.
        let dose = json!({ "beneficiary_reference_id": person, "vaccine": "COVISHIELD", "batch": "4121Z025", "dose_number": 1 });
        let (status, answer) = post(&w, "/api/v1/desk/dose", &vaccinator, dose.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("TKADSK0003")),
            "{backend:?}"
        );

        // The verifier checks the person in; the vaccinator records the dose, once.
        let (status, opened) = post(
            &w,
            "/api/v1/desk/checkin",
            &verifier,
            json!({ "beneficiary_reference_id": person, "code": code }),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {opened}");
        assert_eq!(opened["name"], "T***", "{backend:?}: masked: {opened}");
        assert!(
            opened["photo_id_number"]
                .as_str()
                .expect("id")
                .starts_with("XXXXXXXX")
        );
        assert_eq!(opened["dose"], 1);
        assert_eq!(opened["vaccine"], "COVISHIELD");
        let (status, answer) = post(&w, "/api/v1/desk/dose", &verifier, dose.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKASTF0005")),
            "{backend:?}: verifiers do not record doses"
        );
        let (status, wrong_vaccine) = post(
            &w,
            "/api/v1/desk/dose",
            &vaccinator,
            json!({ "beneficiary_reference_id": person, "vaccine": "COVAXIN", "batch": "X1", "dose_number": 1 }),
        )
        .await;
        assert_eq!(
            (status, wrong_vaccine["code"].as_str()),
            (422, Some("TKADSK0005")),
            "{backend:?}"
        );
        let (status, recorded) = post(&w, "/api/v1/desk/dose", &vaccinator, dose.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {recorded}");
        assert_eq!(recorded["vaccinator"], "asha.v");
        let dose_id = recorded["dose_id"].as_str().expect("dose id").to_owned();
        let again = futures_util::future::join_all(
            (0..3).map(|_| post(&w, "/api/v1/desk/dose", &vaccinator, dose.clone())),
        )
        .await;
        for (status, answer) in again {
            assert_eq!(
                (status, answer["code"].as_str()),
                (409, Some("TKADSK0007")),
                "{backend:?}: exactly once"
            );
        }
        // Vaccinated: the code no longer checks the person in (no second opening, no second dose).
        let (status, answer) = post(
            &w,
            "/api/v1/desk/checkin",
            &verifier,
            json!({ "beneficiary_reference_id": person, "code": code }),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("TKADSK0001")),
            "{backend:?}"
        );
        // The dose is on the ledger under the vaccinator who gave it, not the verifier.
        let history = w.store.access_events(0, 100_000).await.expect("events");
        let dose_event = history
            .iter()
            .map(|e| &e.event)
            .find(|e| e.action == "desk.dose")
            .expect("dose event");
        assert_eq!(
            dose_event.actor_id,
            v_enrolment.staff_id.to_string(),
            "{backend:?}"
        );
        let subject = w
            .store
            .subject_of_reference(&person)
            .await
            .expect("read")
            .expect("person")
            .0;
        let doses = w.store.recorded_doses(&[subject]).await.expect("doses");
        assert_eq!(doses.len(), 1, "{backend:?}");

        // An adverse event against the dose; a vaccinator elsewhere cannot.
        let aefi = json!({ "dose_id": dose_id, "severity": "minor", "symptoms": ["fever", "headache"], "onset_minutes_after_dose": 25, "notes": "settled with rest" });
        let (status, answer) = post(&w, "/api/v1/desk/aefi", &vaccinator, aefi.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        let (far_vaccinator, _) =
            staff_member(&w, "ravi.far", StaffRole::Vaccinator, Some(2)).await;
        let (status, answer) = post(&w, "/api/v1/desk/aefi", &far_vaccinator, aefi).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("TKADSK0010")),
            "{backend:?}"
        );
        let uuid: uuid::Uuid = dose_id.parse().expect("uuid");
        assert_eq!(w.store.aefi_count(uuid).await.expect("count"), 1);

        // An audited correction by the centre administrator; the vaccinator may not.
        let fix = json!({ "dose_id": dose_id, "batch": "4121Z026", "reason": "batch number mistyped at the desk" });
        let (status, _) = post(&w, "/api/v1/desk/correction", &vaccinator, fix.clone()).await;
        assert_eq!(status, 403, "{backend:?}");
        let (status, answer) = post(&w, "/api/v1/desk/correction", &centre_admin, fix).await;
        assert_eq!(status, 204, "{backend:?}: {answer}");
        let corrected = w.store.desk_dose(uuid).await.expect("dose").expect("dose");
        assert_eq!(corrected.batch.as_deref(), Some("4121Z026"));
        assert_eq!(w.store.dose_correction_count(uuid).await.expect("count"), 1);

        // Five wrong codes lock the third person's appointment, and a district alert is raised.
        for attempt in 1..=5 {
            let (status, answer) = post(
                &w,
                "/api/v1/desk/checkin",
                &vaccinator,
                json!({ "beneficiary_reference_id": third, "code": wrong(&third_code) }),
            )
            .await;
            let expected = if attempt < 5 {
                (404, "TKADSK0001")
            } else {
                (429, "TKADSK0002")
            };
            assert_eq!(
                (status, answer["code"].as_str().expect("code")),
                expected,
                "{backend:?}: attempt {attempt}"
            );
        }
        let (status, answer) = post(
            &w,
            "/api/v1/desk/checkin",
            &vaccinator,
            json!({ "beneficiary_reference_id": third, "code": third_code }),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (429, Some("TKADSK0002")),
            "{backend:?}: locked even for the right code"
        );
        let (status, alerts) = get(&w, "/api/v1/admin/alerts", &district_admin).await;
        assert_eq!(status, 200, "{backend:?}: {alerts}");
        assert!(
            alerts.to_string().contains("desk.appointment_locked"),
            "{backend:?}: {alerts}"
        );

        // Break-glass: a reason and a fresh code (the sign-in's is spent), one person, an alert,
        // and the person's access history shows it.
        let glass = |totp: String| {
            json!({ "beneficiary_reference_id": other, "reason_code": "medical_emergency",
                    "reason_text": "collapsed in the queue, needs their dose history", "totp": totp })
        };
        // The very code the sign-in spent: a replay while its step is in the window, too old
        // after, however long the test has taken to get here.
        let (status, answer) = post(
            &w,
            "/api/v1/desk/break-glass",
            &vaccinator,
            glass(v_sign_in_code),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("TKADSK0004")),
            "{backend:?}: the sign-in code cannot be reused"
        );
        let (status, opened) = post(
            &w,
            "/api/v1/desk/break-glass",
            &vaccinator,
            glass(totp_at(&v_enrolment, 30)),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {opened}");
        assert_eq!(opened["opened_by"], "breakglass");
        let (status, answer) = post(
            &w,
            "/api/v1/desk/dose",
            &vaccinator,
            json!({ "beneficiary_reference_id": other, "vaccine": "COVISHIELD", "batch": "X1", "dose_number": 1 }),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("TKADSK0003")),
            "{backend:?}: break-glass is for reading, not for recording doses"
        );
        let (_, alerts) = get(&w, "/api/v1/admin/alerts", &district_admin).await;
        assert!(
            alerts.to_string().contains("desk.break_glass"),
            "{backend:?}: {alerts}"
        );
        let other_subject = w
            .store
            .subject_of_reference(&other)
            .await
            .expect("read")
            .expect("person")
            .0;
        let history = w.store.access_events(0, 100_000).await.expect("events");
        assert!(
            history
                .iter()
                .map(|e| &e.event)
                .any(|e| e.subject_id == Some(other_subject)
                    && e.action == "desk.break_glass"
                    && e.purpose.contains("medical_emergency")),
            "{backend:?}: in the person's access history"
        );

        // A walk-in against the on-site share (5 places), deduplicated by photo ID.
        let walk = |n: u64| {
            json!({ "mobile": format!("{}", 6_000_000_000u64 + n), "name": "Walk In", "birth_year": 1990, "gender_id": 2,
                    "photo_id_type": 1, "photo_id_number": aadhaar(500 + n), "session_id": here.to_string() })
        };
        let (status, walked) = post(&w, "/api/v1/desk/walkin", &verifier, walk(1)).await;
        assert_eq!(status, 200, "{backend:?}: {walked}");
        assert_eq!(walked["opened_by"], "walkin");
        let walked_ref = walked["beneficiary_reference_id"]
            .as_str()
            .expect("ref")
            .to_owned();
        let (status, answer) = post(&w, "/api/v1/desk/walkin", &verifier, walk(1)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("TKABEN0002")),
            "{backend:?}: {answer}"
        );
        let (status, answer) = post(
            &w,
            "/api/v1/desk/dose",
            &vaccinator,
            json!({ "beneficiary_reference_id": walked_ref, "vaccine": "COVISHIELD", "batch": "4121Z025", "dose_number": 1 }),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        for n in 2..=5 {
            let (status, answer) = post(&w, "/api/v1/desk/walkin", &verifier, walk(n)).await;
            assert_eq!(status, 200, "{backend:?}: {answer}");
        }
        let (status, answer) = post(&w, "/api/v1/desk/walkin", &verifier, walk(6)).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("TKADSK0008")),
            "{backend:?}: the on-site share is used up"
        );

        // Every one of these reads and writes is on the ledger.
        for action in [
            "desk.roster",
            "desk.checkin",
            "desk.dose",
            "desk.aefi",
            "desk.dose_corrected",
            "desk.walkin",
        ] {
            assert!(
                subject_events(&w.store, action).await > 0,
                "{backend:?}: no {action} event"
            );
        }
        w.store.close().await;
    }
}

fn hash(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().expect("hex"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

#[tokio::test]
async fn the_ledger_shows_each_person_who_touched_their_data_and_reports_a_breach() {
    use teeka_crypto::merkle::verify_inclusion;
    for backend in backends() {
        let w = world(backend, DeskConfig::default()).await;
        let here = todays_session(&w, 1).await;
        let (vaccinator, _) = staff_member(&w, "asha.v", StaffRole::Vaccinator, Some(1)).await;
        let (verifier, _) = staff_member(&w, "meena.verify", StaffRole::Verifier, Some(1)).await;
        let (auditor, _) = staff_member(&w, "audit.one", StaffRole::Auditor, None).await;
        let (elsewhere_admin, _) =
            staff_member(&w, "other.admin", StaffRole::DistrictAdmin, Some(1)).await;
        let (token, person) = citizen(w.addr, &w.store, &w.vault, &w.outbox, 41, 1980).await;
        let (status, _) = post(&w, "/api/v2/appointment/schedule", &token,
            json!({ "dose": 1, "session_id": here.to_string(), "slot": "09:00AM-11:00AM", "beneficiaries": [person] })).await;
        assert_eq!(status, 200);
        let (_, list) = get(&w, "/api/v2/appointment/beneficiaries", &token).await;
        let code = list["beneficiaries"][0]["appointments"][0]["secret_code"]
            .as_str()
            .expect("code")
            .to_owned();
        let (status, _) = post(
            &w,
            "/api/v1/desk/checkin",
            &verifier,
            json!({ "beneficiary_reference_id": person, "code": code }),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}");
        let (status, _) = post(&w, "/api/v1/desk/dose", &vaccinator,
            json!({ "beneficiary_reference_id": person, "vaccine": "COVISHIELD", "batch": "4121Z025", "dose_number": 1 })).await;
        assert_eq!(status, 200, "{backend:?}");

        // The citizen's history: who, where, what and why, each entry proven in the signed log.
        let path = format!("/api/v1/citizen/access-history?beneficiary_reference_id={person}");
        let (status, history) = get(&w, &path, &token).await;
        assert_eq!(status, 200, "{backend:?}: {history}");
        let key = w.vault.ledger_key().public();
        let origin = teeka_app::ledger::LedgerConfig::default().origin;
        let checkpoint = teeka_crypto::note::verify_checkpoint(
            history["checkpoint"].as_str().expect("note"),
            &origin,
            &origin,
            &key,
        )
        .expect("the checkpoint is signed by the ledger key");
        let entries = history["entries"].as_array().expect("entries");
        for e in entries {
            let proof: Vec<[u8; 32]> = e["inclusion_proof"]
                .as_array()
                .expect("proof")
                .iter()
                .map(hash)
                .collect();
            let seq = e["seq"].as_u64().expect("seq");
            assert!(
                verify_inclusion(
                    &hash(&e["leaf_hash"]),
                    seq - 1,
                    checkpoint.size,
                    &proof,
                    &checkpoint.root
                ),
                "{backend:?}: entry {seq} is in the signed tree"
            );
            assert!(
                !e["actor"].as_str().expect("actor").contains('-'),
                "masked: {e}"
            );
        }
        let by = |action: &str| entries.iter().find(|e| e["action"] == action).cloned();
        let checkin = by("desk.checkin").expect("check-in in the history");
        assert_eq!(checkin["actor_role"], "verifier");
        assert!(
            checkin["place"]
                .as_str()
                .expect("place")
                .contains("(centre 1)"),
            "{checkin}"
        );
        assert_eq!(by("desk.dose").expect("dose")["actor_role"], "vaccinator");
        assert_eq!(
            by("access_history.read").expect("this reading")["actor_role"],
            "citizen"
        );
        // Another person's history is not the citizen's to read.
        let (status, _) = get(
            &w,
            "/api/v1/citizen/access-history?beneficiary_reference_id=12345678901234",
            &token,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = get(&w, &path, "not-a-token").await;
        assert_eq!(status, 401);

        // The breach report on the vaccinator's credential, with notices.
        let now = time::OffsetDateTime::now_utc();
        let window = |notify: bool| {
            json!({
            "actor": "asha.v",
            "from": (now - time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).expect("time"),
            "to": (now + time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).expect("time"),
            "notify": notify })
        };
        let (status, answer) = post(
            &w,
            "/api/v1/admin/ledger/breach-report",
            &elsewhere_admin,
            window(false),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKALDG0003")),
            "{backend:?}: another district's admin: {answer}"
        );
        let (status, report) = post(
            &w,
            "/api/v1/admin/ledger/breach-report",
            &auditor,
            window(true),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {report}");
        assert_eq!(report["affected_count"], 1, "{report}");
        assert_eq!(
            report["affected"][0]["beneficiary_reference_id"],
            person.as_str()
        );
        assert_eq!(report["affected"][0]["mobile"], "******0041");
        assert_eq!(report["notices_queued"], 1);
        assert!(
            !report.to_string().contains("Test Person"),
            "no names in the report"
        );
        let csv = report["csv"].as_str().expect("csv");
        assert!(csv.starts_with("actor_id,window_start_utc"), "{csv}");
        assert!(csv.contains(",desk.dose,1,1\n"), "{csv}");
        deliver_due(&w.store, &w.vault, &Notifier::Log(w.outbox.clone()))
            .await
            .expect("deliver");
        let sms = std::fs::read_to_string(&w.outbox).expect("outbox");
        assert!(
            sms.lines()
                .any(|l| l.contains("breach_notice") && l.contains("7000000041")),
            "{backend:?}: the notice went to the person's mobile"
        );
        let (_, history) = get(&w, &path, &token).await;
        let actions: Vec<&str> = history["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["action"].as_str().expect("action"))
            .collect();
        assert!(
            actions.contains(&"breach.report") && actions.contains(&"breach.notify"),
            "{actions:?}"
        );
        w.store.close().await;
    }
}

#[tokio::test]
async fn replayed_abuse_is_suspended_within_sixty_seconds() {
    for backend in backends() {
        let w = world(backend, DeskConfig::default()).await;
        let here = todays_session(&w, 1).await;
        w.store
            .set_session_capacity(here, [10, 10, 10], [500, 10, 10])
            .await
            .expect("share");
        let (district_admin, _) =
            staff_member(&w, "dist.admin", StaffRole::DistrictAdmin, Some(395)).await;

        // A vaccinator opening 100 people in a few minutes (walk-ins, the fastest way to open).
        let (opener, _) = staff_member(&w, "fast.opener", StaffRole::Vaccinator, Some(1)).await;
        let started = Instant::now();
        let mut suspended_at = None;
        for n in 0..100u64 {
            let (status, answer) = post(
                &w,
                "/api/v1/desk/walkin",
                &opener,
                json!({ "mobile": format!("{}", 6_100_000_000u64 + n), "name": "Many People", "birth_year": 1990, "gender_id": 1,
                        "photo_id_type": 1, "photo_id_number": aadhaar(10_000 + n), "session_id": here.to_string() }),
            )
            .await;
            if status == 403 || status == 401 {
                suspended_at = Some((n, started.elapsed(), answer));
                break;
            }
            assert_eq!(status, 200, "{backend:?}: {answer}");
        }
        let (n, elapsed, answer) = suspended_at.expect("suspended before the 100th person");
        assert_eq!(answer["code"], "TKASTF0006", "{backend:?}: {answer}");
        assert!(
            n <= 61 && elapsed < Duration::from_secs(60),
            "{backend:?}: after {n} people, {elapsed:?}"
        );
        let (status, _) = get(&w, "/api/v1/desk/today", &opener).await;
        assert_eq!(status, 401, "{backend:?}: the session ended");

        // A vaccinator guessing codes and reference ids for people not booked here.
        let (guesser, guesser_enrolment) =
            staff_member(&w, "code.guesser", StaffRole::Vaccinator, Some(1)).await;
        let started = Instant::now();
        let mut refused_as = None;
        for n in 0..100u64 {
            let (status, answer) = post(
                &w,
                "/api/v1/desk/checkin",
                &guesser,
                json!({ "beneficiary_reference_id": format!("{}", 50_000_000_000_000u64 + n), "code": "1234" }),
            )
            .await;
            if status != 404 {
                refused_as = Some((n, started.elapsed(), status, answer));
                break;
            }
        }
        let (n, elapsed, status, answer) = refused_as.expect("suspended");
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKASTF0006")),
            "{backend:?}"
        );
        assert!(
            n <= 6 && elapsed < Duration::from_secs(60),
            "{backend:?}: after {n} guesses"
        );

        // Both are alerted to the district, and listed as suspended until reviewed.
        let (_, alerts) = get(&w, "/api/v1/admin/alerts", &district_admin).await;
        let kinds: BTreeSet<&str> = alerts["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter_map(|a| a["kind"].as_str())
            .collect();
        assert!(
            kinds.contains("anomaly.opened") && kinds.contains("anomaly.outside_centre"),
            "{backend:?}: {kinds:?}"
        );
        let (_, staff) = get(&w, "/api/v1/admin/staff", &district_admin).await;
        let suspended: Vec<&str> = staff["staff"]
            .as_array()
            .expect("staff")
            .iter()
            .filter(|s| s["suspended"] == true)
            .filter_map(|s| s["username"].as_str())
            .collect();
        assert_eq!(
            suspended,
            vec!["code.guesser", "fast.opener"],
            "{backend:?}"
        );
        let (centre_admin, _) =
            staff_member(&w, "phc1.admin", StaffRole::CentreAdmin, Some(1)).await;
        let (status, answer) = post(
            &w,
            "/api/v1/admin/staff/code.guesser/unlock",
            &centre_admin,
            json!({}),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKASTF0005")),
            "{backend:?}: the centre's own administrator cannot lift a suspension"
        );
        let (status, _) = post(
            &w,
            "/api/v1/admin/staff/code.guesser/unlock",
            &district_admin,
            json!({}),
        )
        .await;
        assert_eq!(
            status, 204,
            "{backend:?}: an administrator reinstates after review"
        );
        // After the review the counts start afresh: the next honest attempt is not suspended.
        let (status, answer) = call(
            w.addr,
            Method::POST,
            "/api/v1/staff/login",
            None,
            Some(
                json!({ "username": "code.guesser", "password": "monsoon tamarind lantern 1947",
                         "totp": totp_at(&guesser_enrolment, 30) }),
            ),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        let token = answer["token"].as_str().expect("token").to_owned();
        let (status, answer) = post(
            &w,
            "/api/v1/desk/checkin",
            &token,
            json!({ "beneficiary_reference_id": "50000000000999", "code": "1234" }),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (404, Some("TKADSK0001")),
            "{backend:?}: not suspended again at once"
        );
        w.store.close().await;
    }
}

/// Every staff route, with path parameters filled in, and the roles that may call it. Written
/// out here, apart from the router's own table, so a change to either shows up as a failure.
fn expected_matrix() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    const ANY: &[&str] = &["*"];
    const ADMINS: &[&str] = &[
        "centre_admin",
        "district_admin",
        "state_admin",
        "national_admin",
    ];
    const AREA: &[&str] = &["district_admin", "state_admin", "national_admin"];
    const PARTNER_KEEPERS: &[&str] = &["national_admin", "partner_manager"];
    vec![
        ("POST", "/api/v1/staff/password", ANY),
        ("POST", "/api/v1/staff/logout", ANY),
        ("GET", "/api/v1/staff/me", ANY),
        (
            "GET",
            "/api/v1/desk/today",
            &["vaccinator", "verifier", "centre_admin"],
        ),
        ("POST", "/api/v1/desk/checkin", &["vaccinator", "verifier"]),
        ("POST", "/api/v1/desk/walkin", &["vaccinator", "verifier"]),
        ("POST", "/api/v1/desk/dose", &["vaccinator"]),
        ("POST", "/api/v1/desk/aefi", &["vaccinator", "centre_admin"]),
        ("POST", "/api/v1/desk/correction", &["centre_admin"]),
        (
            "POST",
            "/api/v1/desk/break-glass",
            &["vaccinator", "verifier", "centre_admin"],
        ),
        ("GET", "/api/v1/admin/staff", ADMINS),
        ("POST", "/api/v1/admin/staff", ADMINS),
        ("POST", "/api/v1/admin/staff/{username}/disable", ADMINS),
        ("POST", "/api/v1/admin/staff/{username}/enable", ADMINS),
        ("POST", "/api/v1/admin/staff/{username}/reset", ADMINS),
        ("POST", "/api/v1/admin/staff/{username}/unlock", ADMINS),
        (
            "POST",
            "/api/v1/admin/staff/end-sessions",
            &["national_admin"],
        ),
        (
            "POST",
            "/api/v1/admin/staff/force-password-reset",
            &["national_admin"],
        ),
        ("GET", "/api/v1/admin/alerts", AREA),
        ("POST", "/api/v1/admin/alerts/{alert_id}/review", AREA),
        ("POST", "/api/v1/admin/centres", AREA),
        ("GET", "/api/v1/admin/centres/{centre_id}", ADMINS),
        ("GET", "/api/v1/admin/centres/{centre_id}/sessions", ADMINS),
        ("POST", "/api/v1/admin/sessions", ADMINS),
        (
            "POST",
            "/api/v1/admin/ledger/breach-report",
            &["auditor", "district_admin", "state_admin", "national_admin"],
        ),
        (
            "POST",
            "/api/v1/admin/sessions/{session_id}/capacity",
            ADMINS,
        ),
        ("GET", "/api/v1/admin/partners", PARTNER_KEEPERS),
        ("POST", "/api/v1/admin/partners", PARTNER_KEEPERS),
        (
            "POST",
            "/api/v1/admin/partners/{partner}/rotate",
            PARTNER_KEEPERS,
        ),
        ("POST", "/api/v1/admin/partners/switch", PARTNER_KEEPERS),
    ]
}

#[tokio::test]
async fn every_route_against_every_role() {
    for backend in backends() {
        let w = world(backend, DeskConfig::default()).await;
        todays_session(&w, 1).await;
        // The route table and this matrix name the same routes (login and the API description
        // are public).
        let table: BTreeSet<(String, String)> = teeka_web::staff::STAFF_ROUTES
            .iter()
            .filter(|r| r.access != teeka_web::staff::Access::Public)
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        let matrix: BTreeSet<(String, String)> = expected_matrix()
            .iter()
            .map(|(m, p, _)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(
            table, matrix,
            "the route table and the expected matrix differ"
        );

        let scope = |role: StaffRole| match role.scope_kind() {
            teeka_domain::ScopeKind::Centre => Some(1),
            teeka_domain::ScopeKind::District => Some(395),
            teeka_domain::ScopeKind::State => Some(21),
            teeka_domain::ScopeKind::Nation => None,
        };
        let mut tokens = Vec::new();
        for role in StaffRole::ALL {
            let (token, _) =
                staff_member(&w, &format!("m.{}", role.as_str()), role, scope(role)).await;
            tokens.push((role, token));
        }
        for (method, path, allowed) in expected_matrix() {
            // Logging out or ending sessions would spend the tokens: those routes are last below.
            if path.ends_with("/logout")
                || path.ends_with("/end-sessions")
                || path.ends_with("/force-password-reset")
            {
                continue;
            }
            let concrete = path
                .replace("{username}", "nobody.here")
                .replace("{alert_id}", &uuid::Uuid::nil().to_string())
                .replace("{centre_id}", "1")
                .replace("{partner}", "nobody")
                .replace("{session_id}", &uuid::Uuid::nil().to_string());
            for (role, token) in &tokens {
                let method: Method = method.parse().expect("method");
                let body = (method == Method::POST).then(|| json!({}));
                let (status, answer) = call(w.addr, method, &concrete, Some(token), body).await;
                let may = allowed == ["*"] || allowed.contains(&role.as_str());
                let refused = status == 403 && answer["code"] == "TKASTF0005";
                assert_eq!(
                    !refused, may,
                    "{backend:?}: {role} on {path}: {status} {answer}"
                );
                assert!(
                    status < 500,
                    "{backend:?}: {role} on {path}: {status} {answer}"
                );
            }
        }
        // The session-ending routes, each role in turn.
        for path in [
            "/api/v1/admin/staff/end-sessions",
            "/api/v1/admin/staff/force-password-reset",
        ] {
            for (role, token) in &tokens {
                if *role == StaffRole::NationalAdmin {
                    continue;
                }
                let (status, answer) = post(&w, path, token, json!({})).await;
                assert_eq!(
                    (status, answer["code"].as_str()),
                    (403, Some("TKASTF0005")),
                    "{backend:?}: {role} on {path}"
                );
            }
        }
        // A staff token opens nothing on the citizen side, and nothing outside the table opens.
        let (_, national) = tokens
            .iter()
            .find(|(r, _)| *r == StaffRole::NationalAdmin)
            .expect("national");
        let (status, _) = call(
            w.addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(national),
            None,
        )
        .await;
        assert_eq!(status, 401, "{backend:?}");
        // No route takes a mobile, an ID number or a name and returns a person.
        for (method, path, _) in expected_matrix() {
            assert!(
                !["mobile", "aadhaar", "{name}", "search", "photo_id", "by-"]
                    .iter()
                    .any(|w| path.contains(w)),
                "{path}"
            );
            let _ = method;
        }
        for (_, token) in &tokens {
            let (status, _) = post(&w, "/api/v1/staff/logout", token, json!({})).await;
            assert_eq!(status, 204, "{backend:?}");
        }
        // The description lists every route with its roles.
        let (status, doc) = call(w.addr, Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(status, 200);
        for (method, path, _) in expected_matrix() {
            assert!(
                doc["paths"][path][method.to_ascii_lowercase()]["summary"].is_string(),
                "{path} undocumented"
            );
        }
        w.store.close().await;
    }
}

/// The QR payloads of a person's certificates, as their holder fetches them.
async fn qr_payloads(w: &World, token: &str, person: &str) -> Value {
    let (status, payloads) = call(
        w.addr,
        Method::GET,
        &format!("/api/v2/registration/certificate/public/qr?beneficiary_reference_id={person}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{payloads}");
    payloads
}

/// The QR code of a certificate PDF, read back from the page as a renderer draws it.
fn qr_text_in_pdf(pdf: &[u8]) -> String {
    let codes = teeka_cert::qr_image::decode_qr_codes(&pdf_page_png(pdf, 150))
        .expect("a QR code on the rendered page");
    assert_eq!(codes.len(), 1, "one QR code on the page");
    String::from_utf8(codes[0].content.clone()).expect("the QR code holds text")
}

#[tokio::test]
async fn a_recorded_dose_yields_a_certificate_that_verifies_offline_and_a_correction_revokes_it() {
    use teeka_cert::trust::TrustList;
    use teeka_cert::verify::{Revocations, verify_any};
    for backend in backends() {
        let w = world(backend, DeskConfig::default()).await;
        let here = todays_session(&w, 1).await;
        let (vaccinator, _) = staff_member(&w, "asha.v", StaffRole::Vaccinator, Some(1)).await;
        let (centre_admin, _) =
            staff_member(&w, "phc1.admin", StaffRole::CentreAdmin, Some(1)).await;
        let (token, person, code) = booked_with_token(&w, 7, here).await;
        let download = format!(
            "/api/v2/registration/certificate/public/download?beneficiary_reference_id={person}"
        );
        // No dose, no certificate.
        let (status, answer) = call(w.addr, Method::GET, &download, Some(&token), None).await;
        assert_eq!(
            (status, answer["errorCode"].as_str()),
            (404, Some("TKACRT0001"))
        );
        let (status, _) = post(
            &w,
            "/api/v1/desk/checkin",
            &vaccinator,
            json!({ "beneficiary_reference_id": person, "code": code }),
        )
        .await;
        assert_eq!(status, 200);
        let (status, recorded) = post(
            &w,
            "/api/v1/desk/dose",
            &vaccinator,
            json!({ "beneficiary_reference_id": person, "vaccine": "COVISHIELD", "batch": "4121Z025", "dose_number": 1 }),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {recorded}");

        // The PDF: its QR code, read back from the drawing, is the signed credential.
        let pdf = teeka_loadgen::request(
            w.addr,
            Method::GET,
            &download,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await
        .expect("download");
        assert_eq!(pdf.status.as_u16(), 200, "{backend:?}");
        assert!(pdf.body.starts_with(b"%PDF-"));
        let page = pdf_text(&pdf.body);
        assert!(page.contains("Provisional Certificate") && page.contains("Test Person"));
        assert!(
            page.contains("कोविड-19 टीकाकरण का अनंतिम प्रमाणपत्र"),
            "{page}"
        );
        let qr = qr_text_in_pdf(&pdf.body);
        let credential: Value = serde_json::from_str(&qr).expect("the QR holds JSON");
        assert_eq!(credential["credentialSubject"]["refId"], person);
        assert!(!qr.contains(&aadhaar(7)), "no national ID in the QR code");
        assert!(!qr.contains("7000000007"), "no mobile in the QR code");

        // Verified offline with the published keys and revocation list.
        let (_, jwks) = call(w.addr, Method::GET, "/.well-known/jwks.json", None, None).await;
        let mut trust = TrustList::new();
        trust.add_jwks(&jwks, None).expect("jwks");
        let revocations = |list: &Value| {
            let mut r = Revocations::default();
            r.add_json(&list.to_string()).expect("list");
            r
        };
        let (_, revoked) = call(
            w.addr,
            Method::GET,
            "/api/v1/certificates/revoked",
            None,
            None,
        )
        .await;
        let now = time::OffsetDateTime::now_utc();
        let verdict =
            verify_any(qr.as_bytes(), &trust, &revocations(&revoked), now).expect("usable");
        assert!(verdict.valid, "{backend:?}: {verdict:?}");
        assert_eq!(verdict.format, "w3c-vc");
        let tampered = qr.replace("COVISHIELD", "COVAXIN");
        let verdict =
            verify_any(tampered.as_bytes(), &trust, &revocations(&revoked), now).expect("usable");
        assert!(!verdict.valid, "{backend:?}: a tampered payload is invalid");
        // The same verifier over the web, for text or (with its content type) a picture: the
        // status and the verdict.
        let verify_web = async |headers: &[(&str, &str)], body: Vec<u8>| {
            let answer = teeka_loadgen::request(
                w.addr,
                Method::POST,
                "/api/v1/verify",
                headers,
                Some(body.into()),
            )
            .await
            .expect("verify");
            let verdict: Value = serde_json::from_slice(&answer.body).expect("json");
            (answer.status.as_u16(), verdict)
        };
        let (_, answer) = verify_web(&[], qr.clone().into_bytes()).await;
        assert_eq!(answer["valid"], true, "{answer}");
        // And a picture of the page, as a phone would send it.
        let page = pdf_page_png(&pdf.body, 100);
        let send_picture =
            async || verify_web(&[("content-type", "image/png")], page.clone()).await;
        let (_, answer) = send_picture().await;
        assert_eq!(answer["valid"], true, "{answer}");
        // While another picture is being read, a picture waits its turn (503, say so) and text
        // is still verified; then the picture reads again.
        let busy = w
            .state
            .picture_slot
            .clone()
            .try_acquire_owned()
            .expect("the slot is free");
        let (status, refusal) = send_picture().await;
        assert_eq!(
            (status, refusal["code"].as_str()),
            (503, Some("TKASYS0002")),
            "{backend:?}: {refusal}"
        );
        let (status, _) = verify_web(&[], qr.clone().into_bytes()).await;
        assert_eq!(status, 200, "{backend:?}: text is not held up");
        drop(busy);
        let (status, _) = send_picture().await;
        assert_eq!(status, 200, "{backend:?}: the slot is back");
        // The SMART Health Card of the same dose verifies too.
        let payloads = qr_payloads(&w, &token, &person).await;
        let shc = payloads["certificates"][0]["shc"].as_str().expect("shc");
        assert!(shc.starts_with("shc:/"));
        let verdict =
            verify_any(shc.as_bytes(), &trust, &Revocations::default(), now).expect("usable");
        assert!(verdict.valid, "{backend:?}: {verdict:?}");
        assert!(
            payloads["certificates"][0]["eu_dcc"].is_null(),
            "no travel details yet"
        );

        // A traveller adds passport details; the same certificate then comes as an EU DCC too.
        let travel = "/api/v2/registration/certificate/travel";
        for (bad, field) in [
            (
                json!({ "beneficiary_reference_id": person, "surname": "कुमार", "date_of_birth": "1980-04-01" }),
                "surname",
            ),
            (
                json!({ "beneficiary_reference_id": person, "surname": "Person", "date_of_birth": "1981-04-01" }),
                "date_of_birth",
            ),
            (
                json!({ "beneficiary_reference_id": person, "surname": "Person" }),
                "date_of_birth",
            ),
            (
                json!({ "beneficiary_reference_id": person, "surname": "Else", "given_names": "Someone", "date_of_birth": "1980-04-01" }),
                "registered name",
            ),
        ] {
            let (status, answer) =
                call(w.addr, Method::POST, travel, Some(&token), Some(bad)).await;
            assert_eq!(status, 400, "{backend:?}: {answer}");
            assert!(
                answer["error"].as_str().is_some_and(|e| e.contains(field)),
                "{answer}"
            );
        }
        let (status, _) = call(
            w.addr,
            Method::POST,
            travel,
            Some(&token),
            Some(json!({ "beneficiary_reference_id": person, "surname": "Person", "given_names": "Test", "date_of_birth": "1980-04-01" })),
        )
        .await;
        assert_eq!(status, 204, "{backend:?}");
        let payloads = qr_payloads(&w, &token, &person).await;
        let dcc = payloads["certificates"][0]["eu_dcc"]
            .as_str()
            .expect("an EU DCC")
            .to_owned();
        assert!(dcc.starts_with("HC1:"));
        // The DCC was issued just now, after `now` above; an EU verifier refuses an issue time
        // in its future, so verify from here on at the time it is.
        let now = time::OffsetDateTime::now_utc();
        // With the published JWKS (its x5c) and with the signer certificates as an EU trust list.
        let verdict =
            verify_any(dcc.as_bytes(), &trust, &Revocations::default(), now).expect("usable");
        assert!(verdict.valid, "{backend:?}: {verdict:?}");
        assert_eq!(verdict.format, "eu-dcc");
        assert_eq!(verdict.subject["dob"], "1980-04-01", "{verdict:?}");
        let dsc = teeka_loadgen::request(
            w.addr,
            Method::GET,
            "/api/v1/certificates/dsc.pem",
            &[],
            None,
        )
        .await
        .expect("dsc");
        let mut eu_trust = TrustList::new();
        eu_trust
            .add_pem(&String::from_utf8_lossy(&dsc.body))
            .expect("signer certificates");
        let verdict =
            verify_any(dcc.as_bytes(), &eu_trust, &Revocations::default(), now).expect("usable");
        assert!(verdict.valid, "{backend:?}: {verdict:?}");
        let (_, claims) = teeka_cert::dcc::decode(&dcc).expect("decodes");
        let hcert = claims.hcert_json().to_string();
        assert!(
            !hcert.contains(&person) && !hcert.contains(&aadhaar(7)),
            "{hcert}"
        );
        // Nobody else sets or reads them: another account's token finds no such person.
        let (other_token, _) = citizen(w.addr, &w.store, &w.vault, &w.outbox, 9, 1990).await;
        let (status, _) = call(
            w.addr,
            Method::POST,
            travel,
            Some(&other_token),
            Some(json!({ "beneficiary_reference_id": person, "surname": "X", "date_of_birth": "1980-04-01" })),
        )
        .await;
        assert_eq!(status, 404, "{backend:?}");
        assert_eq!(
            subject_events(&w.store, "certificate.travel_details").await,
            1
        );

        // A correction revokes the certificate and issues a new one.
        let dose_id = recorded["dose_id"].as_str().expect("dose id");
        let (status, _) = post(
            &w,
            "/api/v1/desk/correction",
            &centre_admin,
            json!({ "dose_id": dose_id, "batch": "4121Z026", "reason": "batch number mistyped at the desk" }),
        )
        .await;
        assert_eq!(status, 204);
        let (_, revoked) = call(
            w.addr,
            Method::GET,
            "/api/v1/certificates/revoked",
            None,
            None,
        )
        .await;
        let old_id = credential["evidence"][0]["certificateId"]
            .as_str()
            .expect("id");
        assert_eq!(
            revoked["revoked"],
            json!([teeka_crypto::sha256_hex(old_id)])
        );
        // A credential on the list: invalid, and it says why.
        let is_revoked = |credential: &str, what: &str| {
            let verdict = verify_any(credential.as_bytes(), &trust, &revocations(&revoked), now)
                .expect("usable");
            assert!(
                !verdict.valid
                    && verdict
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.contains("revoked")),
                "{backend:?}: {what}: {verdict:?}"
            );
        };
        is_revoked(&qr, "revoked credential");
        // Reshaping the signed JSON does not slip past the checks: values swapped between terms
        // that share a signed predicate, evidence as an object, a keyword form, a dose swap.
        let mut swapped = credential.clone();
        let batch = swapped["evidence"][0]["batch"].clone();
        swapped["evidence"][0]["batch"] = swapped["evidence"][0]["certificateId"].clone();
        swapped["evidence"][0]["certificateId"] = batch;
        let mut as_object = credential.clone();
        as_object["evidence"] = as_object["evidence"][0].clone();
        let mut keyword = credential.clone();
        keyword["evidence"][0]["certificateId"] = json!({ "@value": "0" });
        let mut doses = credential.clone();
        doses["evidence"][0]["dose"] = json!(2);
        doses["evidence"][0]["totalDoses"] = json!(1);
        for (what, reshaped) in [
            ("swapped ids", swapped),
            ("evidence object", as_object),
            ("@value", keyword),
            ("dose swap", doses),
        ] {
            let verdict = verify_any(
                reshaped.to_string().as_bytes(),
                &trust,
                &revocations(&revoked),
                now,
            )
            .expect("usable");
            assert!(!verdict.valid, "{backend:?}: {what}: {verdict:?}");
        }
        // The EU DCC of the revoked certificate is on the list by its hashed UCI.
        is_revoked(&dcc, "revoked DCC");
        // The SMART Health Card of the revoked certificate is on its key's CRL.
        let (jws, _) = teeka_cert::shc::decode(shc).expect("card");
        let kid = jws.kid().expect("kid").to_owned();
        let (status, crl) = call(
            w.addr,
            Method::GET,
            &format!("/.well-known/crl/{kid}.json"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{crl}");
        let verdict = verify_any(shc.as_bytes(), &trust, &revocations(&crl), now).expect("usable");
        assert!(!verdict.valid, "{backend:?}: revoked card: {verdict:?}");
        // The web verifier knows its own revocations in every form.
        for (what, text) in [
            ("credential", &qr),
            ("DCC", &dcc),
            ("card", &shc.to_owned()),
        ] {
            let (status, verdict) = verify_web(&[], text.clone().into_bytes()).await;
            assert!(
                status == 200
                    && verdict["valid"] == false
                    && verdict["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("revoked")),
                "{backend:?}: revoked {what} at the web verifier: {verdict}"
            );
        }
        let pdf = teeka_loadgen::request(
            w.addr,
            Method::GET,
            &download,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await
        .expect("download");
        let renewed = qr_text_in_pdf(&pdf.body);
        assert!(renewed.contains("4121Z026") && !renewed.contains(old_id));
        // Checked now: the replacement was issued after the first check's time.
        let later = time::OffsetDateTime::now_utc();
        let verdict =
            verify_any(renewed.as_bytes(), &trust, &revocations(&revoked), later).expect("usable");
        assert!(verdict.valid, "{backend:?}: {verdict:?}");

        // Nobody else's token reaches it; every download is on the ledger.
        let (other, _) = citizen(w.addr, &w.store, &w.vault, &w.outbox, 8, 1990).await;
        let (status, _) = call(w.addr, Method::GET, &download, Some(&other), None).await;
        assert_eq!(status, 404);
        let (status, _) = call(w.addr, Method::GET, &download, None, None).await;
        assert_eq!(status, 401);
        assert!(subject_events(&w.store, "certificate.download").await >= 3);
    }
}
