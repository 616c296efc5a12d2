//! The partner API on both backends, over HTTP: a partner gets nothing personal without the
//! person's OTP consent, only the approved fields with it (under its own pseudonymous ids), loses
//! it the moment the person revokes it or an administrator pulls a kill switch (checked through
//! a second server on its own pool), is throttled past its quota; no route looks anyone up by an
//! identifier (the whole router enumerated); aggregates withhold small cells and their
//! complements; every partner access is on the ledger with its consent.

use http::Method;
use serde_json::{Value, json};
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::partner::{AdminActor, NewPartner, PartnerAdmin};
use teeka_app::vault::Vault;
use teeka_store::Store;
use teeka_tests::{
    Backend, TestDb, backends, call, call_with, citizen, dose1_places, prepared_store, raw_execute,
    spawn_app_with, test_vault,
};
use teeka_web::WebConfig;

fn no_limits() -> WebConfig {
    WebConfig {
        public_rate_limit: None,
        booking_limits: teeka_web::config::BookingLimits::OFF,
        ..WebConfig::default()
    }
}

/// One server on a fresh database, with generous OTP limits and no rate limits, and the file its
/// SMS (OTPs included) are written to; the database and the folder live as long as this does.
struct Setting {
    db: TestDb,
    store: Store,
    vault: std::sync::Arc<Vault>,
    app: teeka_tests::TestApp,
    dir: tempfile::TempDir,
    outbox: std::path::PathBuf,
}

async fn setting(backend: Backend) -> Setting {
    let db = TestDb::new(backend).await;
    let store = prepared_store(&db).await;
    let vault = test_vault();
    let app = spawn_app_with(
        store.clone(),
        no_limits(),
        vault.clone(),
        teeka_tests::generous_identity(),
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let outbox = dir.path().join("sms.jsonl");
    Setting {
        db,
        store,
        vault,
        app,
        dir,
        outbox,
    }
}

/// Registers a partner as the operator would; its API key.
async fn partner(store: &Store, name: &str, scopes: &str, fields: &str, quota: i64) -> String {
    let mut p = NewPartner::with_defaults(name.into(), "Testing".into(), scopes, Some(fields))
        .expect("partner");
    p.daily_quota = quota;
    PartnerAdmin {
        store,
        actor: AdminActor::operator(),
    }
    .register(&p, "test")
    .await
    .expect("register")
    .api_key
    .expose()
}

/// The last OTP sent to `mobile`, with its SMS text.
async fn last_otp(
    store: &Store,
    vault: &Vault,
    outbox: &std::path::Path,
    mobile: &str,
) -> (String, String) {
    deliver_due(store, vault, &Notifier::Log(outbox.to_path_buf()))
        .await
        .expect("deliver");
    let text = std::fs::read_to_string(outbox).expect("outbox");
    let sms = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<Value>(l).expect("line"))
        .find(|v| v["to"] == mobile && v["otp"].is_string())
        .expect("sms");
    (
        sms["otp"].as_str().expect("otp").to_owned(),
        sms["text"].as_str().expect("text").to_owned(),
    )
}

/// Asks `mobile`'s owner for consent and approves it as they would; the partner token.
#[allow(clippy::too_many_arguments)]
async fn consent(
    addr: std::net::SocketAddr,
    store: &Store,
    vault: &Vault,
    outbox: &std::path::Path,
    key: &str,
    mobile: &str,
    ask: Value,
) -> String {
    let (status, sent) = ask_consent(addr, key, mobile, ask).await;
    assert_eq!(status, 200, "{sent}");
    let (otp, _) = last_otp(store, vault, outbox, mobile).await;
    let (status, confirmed) = confirm_consent(addr, key, &otp, &sent["txnId"]).await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["isNewAccount"], "N");
    confirmed["token"].as_str().expect("token").to_owned()
}

/// The smallest consent a partner asks for: the names of the person's members, for a day.
fn names_for_a_day() -> Value {
    json!({"scopes": "beneficiary_read", "fields": "name", "days": 1})
}

/// A partner (key `key`) asks the holder of `mobile` for the consent `ask` describes (scopes,
/// fields, days, purpose), which texts them an OTP; the status and the answer (its `txnId`).
async fn ask_consent(
    addr: std::net::SocketAddr,
    key: &str,
    mobile: &str,
    ask: Value,
) -> (u16, Value) {
    let mut body = ask;
    body["mobile"] = json!(mobile);
    as_partner(
        addr,
        Method::POST,
        "/api/v2/auth/generateOTP",
        key,
        None,
        Some(body),
    )
    .await
}

/// A partner (key `key`) confirms transaction `txn` with the OTP the person read out, hashed as
/// apps send it; the status and the answer (the consent token, when the OTP was right).
async fn confirm_consent(
    addr: std::net::SocketAddr,
    key: &str,
    otp: &str,
    txn: &Value,
) -> (u16, Value) {
    as_partner(
        addr,
        Method::POST,
        "/api/v2/auth/confirmOTP",
        key,
        None,
        Some(json!({ "otp": teeka_crypto::sha256_hex(otp), "txnId": txn })),
    )
    .await
}

/// What a partner (key `key`) reads of the people who consented to it, under consent `token` if
/// any: the members list.
async fn read_members(addr: std::net::SocketAddr, key: &str, token: Option<&str>) -> (u16, Value) {
    as_partner(
        addr,
        Method::GET,
        "/api/v2/appointment/beneficiaries",
        key,
        token,
        None,
    )
    .await
}

async fn as_partner(
    addr: std::net::SocketAddr,
    method: Method,
    path: &str,
    key: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    call_with(addr, method, path, token, &[("x-api-key", key)], body).await
}

#[tokio::test]
async fn a_partner_reaches_a_person_only_through_their_consent() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        let app = spawn_app_with(
            store.clone(),
            no_limits(),
            vault.clone(),
            teeka_tests::generous_identity(),
        )
        .await;
        // A second server with its own pool on the same database: switches and revocations must
        // hold there too, with nothing cached.
        let other_store = prepared_store(&db).await;
        let other = spawn_app_with(
            other_store.clone(),
            no_limits(),
            vault.clone(),
            teeka_tests::generous_identity(),
        )
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let outbox = dir.path().join("sms.jsonl");
        let (citizen_token, reference) = citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        let mobile = "7000000001";

        let payhealth = partner(
            &store,
            "PayHealth",
            "booking,beneficiary_read,availability",
            "name,birth_year,appointments",
            100_000,
        )
        .await;
        let other_app = partner(
            &store,
            "OtherApp",
            "beneficiary_read",
            "name,gender,birth_year",
            100_000,
        )
        .await;

        // Without consent: nothing personal, whatever it sends.
        for token in [None, Some("made-up-token"), Some(citizen_token.as_str())] {
            let (status, body) = read_members(app.addr, &payhealth, token).await;
            assert_eq!(status, 401, "{backend:?}: {body}");
            assert!(
                !body.to_string().contains(&reference),
                "{backend:?}: {body}"
            );
        }
        // A wrong key, and no key with a partner's path: refused.
        let (status, _) = ask_consent(app.addr, "tk_0000000000000000_00", mobile, json!({})).await;
        assert_eq!(status, 401);
        let (status, _) = call(
            app.addr,
            Method::POST,
            "/api/v2/auth/generateOTP",
            None,
            Some(json!({"mobile": mobile})),
        )
        .await;
        assert_eq!(status, 401);
        // Asking for more than the registry allows is refused before any SMS.
        let (status, body) =
            ask_consent(app.addr, &payhealth, mobile, json!({"fields": "mobile"})).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (403, Some("TKAPTN0007")),
            "{body}"
        );

        // The person approves beneficiary reading with name and year of birth only.
        let token = consent(app.addr, &store, &vault, &outbox, &payhealth, mobile,
            json!({"purpose": "Show your family's vaccination plan", "scopes": "beneficiary_read", "fields": "name,birth_year", "days": 7})).await;
        let (_, sms) = last_otp(&store, &vault, &outbox, mobile).await;
        assert!(
            sms.starts_with("PayHealth asks to see your registered members for 7 days"),
            "{sms}"
        );
        // A partner's OTP never becomes a citizen session, nor the reverse.
        let (status, _) = call(
            app.addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            status, 401,
            "{backend:?}: a partner token is no citizen session"
        );

        let (status, list) = read_members(other.addr, &payhealth, Some(&token)).await;
        assert_eq!(status, 200, "{backend:?}: {list}");
        let person = &list["beneficiaries"][0];
        let pairwise = person["beneficiary_reference_id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert_ne!(
            pairwise, reference,
            "{backend:?}: partners see their own id"
        );
        let name = person["name"].as_str().expect("name");
        assert!(
            name.contains('*') && !name.contains("Person"),
            "{backend:?}: masked: {person}"
        );
        assert_eq!(person["birth_year"], "1990");
        let keys: Vec<&str> = person
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["beneficiary_reference_id", "birth_year", "name"],
            "{backend:?}: only approved fields"
        );
        assert!(!list.to_string().contains(mobile) && !list.to_string().contains("0001\""));

        // Another partner's id for the same person is unrelated.
        let other_token = consent(
            app.addr,
            &store,
            &vault,
            &outbox,
            &other_app,
            mobile,
            json!({"days": 1}),
        )
        .await;
        let (_, other_list) = read_members(app.addr, &other_app, Some(&other_token)).await;
        let other_id = other_list["beneficiaries"][0]["beneficiary_reference_id"]
            .as_str()
            .expect("id");
        assert_ne!(other_id, pairwise);
        assert_eq!(other_list["beneficiaries"][0]["gender"], "Male");
        // A token works only with the key of the partner it was issued to.
        let (status, _) = read_members(app.addr, &other_app, Some(&token)).await;
        assert_eq!(status, 401);

        // Outside the consent's scopes: refused, and the ledger says nothing was read.
        let (status, body) = as_partner(app.addr, Method::POST, "/api/v2/appointment/schedule", &payhealth, Some(&token),
            Some(json!({"dose": 1, "session_id": uuid::Uuid::nil(), "slot": "09:00AM-11:00AM", "beneficiaries": [pairwise]}))).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (403, Some("TKAPTN0005")),
            "{backend:?}: {body}"
        );
        // A partner cannot manage consents, even with its token.
        let (status, _) = as_partner(
            app.addr,
            Method::GET,
            "/api/v1/citizen/consents",
            &payhealth,
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 401);

        // The person sees both consents, signed, and revokes PayHealth's: it stops at once,
        // on both servers.
        let (status, consents) = call(
            app.addr,
            Method::GET,
            "/api/v1/citizen/consents",
            Some(&citizen_token),
            None,
        )
        .await;
        assert_eq!(status, 200, "{consents}");
        let list = consents["consents"].as_array().expect("list");
        assert_eq!(list.len(), 2);
        let mine = list
            .iter()
            .find(|c| c["partner"] == "PayHealth")
            .expect("PayHealth's");
        assert_eq!(mine["status"], "active");
        assert_eq!(mine["fields"], json!(["name", "birth_year"]));
        let signature: Vec<u8> =
            hex::decode(mine["signature"].as_str().expect("sig")).expect("hex");
        assert!(teeka_crypto::verify_ed25519(
            &vault.ledger_key().public(),
            mine["artefact"].as_str().expect("artefact").as_bytes(),
            &signature.try_into().expect("64 bytes"),
        ));
        let consent_id = mine["consent_id"].as_str().expect("id").to_owned();
        let (status, _) = call(
            app.addr,
            Method::DELETE,
            &format!("/api/v1/citizen/consents?consent_id={consent_id}"),
            Some(&citizen_token),
            None,
        )
        .await;
        assert_eq!(status, 204);
        for server in [app.addr, other.addr] {
            let (status, _) = read_members(server, &payhealth, Some(&token)).await;
            assert_eq!(status, 401, "{backend:?}: revoked means revoked everywhere");
        }
        let (status, _) = call(
            app.addr,
            Method::DELETE,
            &format!("/api/v1/citizen/consents/{consent_id}"),
            Some(&citizen_token),
            None,
        )
        .await;
        assert_eq!(status, 404, "revoking twice");

        // Kill switch: one scope, then one partner, then all; each in force on the other server
        // at its next request, and explicit to undo.
        let admin = PartnerAdmin {
            store: &store,
            actor: AdminActor::operator(),
        };
        let read = |addr| read_members(addr, &other_app, Some(&other_token));
        assert_eq!(read(other.addr).await.0, 200);
        for (target, code) in [
            ("scope:beneficiary_read", 403),
            ("partner:OtherApp", 403),
            ("all", 403),
        ] {
            let target = if target == "partner:OtherApp" {
                format!("partner:{}", &other_app[3..19])
            } else {
                target.to_owned()
            };
            assert!(
                admin
                    .switch(&target.parse().expect("target"), true, "t")
                    .await
                    .expect("switch")
            );
            let (status, body) = read(other.addr).await;
            assert_eq!(status, code, "{backend:?}: {target}: {body}");
            assert!(
                admin
                    .switch(&target.parse().expect("target"), false, "t")
                    .await
                    .expect("switch")
            );
            assert_eq!(
                read(other.addr).await.0,
                200,
                "{backend:?}: {target} back on"
            );
        }

        // Every partner access names its consent on the ledger.
        let events = store.access_events(0, 1000).await.expect("events");
        let partner_reads: Vec<_> = events
            .iter()
            .filter(|e| e.event.actor_kind == "partner" && e.event.action == "beneficiary.read")
            .collect();
        assert!(partner_reads.len() >= 2, "{backend:?}");
        assert!(
            partner_reads
                .iter()
                .all(|e| e.event.purpose.starts_with("consent "))
        );
        assert!(events.iter().any(|e| e.event.action == "consent.revoke"));
        assert!(
            events
                .iter()
                .filter(|e| e.event.action == "partner.disable")
                .count()
                >= 3
        );

        app.stop().await;
        other.stop().await;
        other_store.close().await;
        store.close().await;
    }
}

/// Every route the router has (it records them as they are added), with every method, from a
/// caller with no grant for the person (nobody, another citizen, a partner without consent),
/// carrying the person's mobile, Aadhaar and reference id in the query and the body: no
/// answer contains anything of theirs, and every path shaped like an identifier lookup answers
/// 410 for everyone.
#[tokio::test]
async fn no_route_answers_an_identifier_with_a_person() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let (owner, reference) = citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        let (stranger, _) = citizen(app.addr, &store, &vault, &outbox, 2, 1985).await;
        let key = partner(
            &store,
            "Prober",
            "booking,beneficiary_read,availability,research",
            "name,birth_year,gender,photo_id,mobile,appointments",
            1_000_000,
        )
        .await;
        // What would give the person away: their masked name, mobile and ID as they see them.
        let (_, own) = call(
            app.addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&owner),
            None,
        )
        .await;
        let me = &own["beneficiaries"][0];
        let markers: Vec<String> = ["name", "mobile_number", "photo_id_number"]
            .iter()
            .map(|f| me[*f].as_str().expect("field").to_owned())
            .collect();
        let mobile = "7000000001";
        let aadhaar = teeka_tests::aadhaar(1);
        let query = format!(
            "mobile={mobile}&aadhaar={aadhaar}&beneficiary_reference_id={reference}&id_number={aadhaar}"
        );
        let body = json!({ "mobile": mobile, "aadhaar": aadhaar, "beneficiary_reference_id": reference,
                           "beneficiaries": [reference], "photo_id_number": aadhaar });

        let state = teeka_web::AppState::new(
            store.clone(),
            no_limits(),
            vault.clone(),
            teeka_tests::generous_identity(),
        );
        let (_, table) = teeka_web::router::build_router_and_table(state);
        let gone: Vec<String> = teeka_web::router::IDENTIFIER_LOOKUPS
            .iter()
            .map(|p| format!("/api{p}"))
            .collect();
        assert!(
            table.paths().len() > 60,
            "{backend:?}: the table has every route"
        );
        let mut requests = 0;
        for path in table.paths() {
            // CoWIN's portal login routes name the mobile an OTP is sent to; they answer only a
            // transaction id, and every other route naming an identifier is a 410.
            let otp_login =
                path.ends_with("/generateMobileOTP") || path.ends_with("/validateMobileOtp");
            assert_eq!(
                teeka_web::partner::looks_like_identifier_lookup(path, None) && !otp_login,
                gone.contains(path),
                "{backend:?}: {path} looks like a lookup"
            );
            let concrete = path
                .replace("{state_id}", "21")
                .replace("{username}", "nobody.here")
                .replace("{alert_id}", &uuid::Uuid::nil().to_string())
                .replace("{centre_id}", "1")
                .replace("{session_id}", &uuid::Uuid::nil().to_string())
                .replace("{partner}", "nobody")
                .replace("{file}", "nokey.json")
                .replace("{consent_id}", &uuid::Uuid::nil().to_string());
            assert!(
                !concrete.contains('{'),
                "{path}: a parameter this test does not fill"
            );
            let target = format!("{concrete}?{query}");
            for method in [Method::GET, Method::POST, Method::DELETE] {
                for (who, token, extra) in [
                    ("nobody", None, None),
                    ("another citizen", Some(stranger.as_str()), None),
                    ("a partner without consent", None, Some(key.as_str())),
                    (
                        "a partner with the person's citizen token",
                        Some(owner.as_str()),
                        Some(key.as_str()),
                    ),
                ] {
                    let headers: Vec<(&str, &str)> =
                        extra.map(|k| ("x-api-key", k)).into_iter().collect();
                    let (status, answer) = call_with(
                        app.addr,
                        method.clone(),
                        &target,
                        token,
                        &headers,
                        Some(body.clone()),
                    )
                    .await;
                    requests += 1;
                    let text = answer.to_string();
                    for marker in &markers {
                        assert!(
                            !text.contains(marker.as_str()),
                            "{backend:?}: {method} {path} as {who} gave away {marker}: {text}"
                        );
                    }
                    assert!(
                        status < 500 || status == 503 && path.ends_with("/readyz"),
                        "{backend:?}: {method} {path} as {who}: {status} {text}"
                    );
                    if gone.contains(path) {
                        assert_eq!(
                            (status, error_code(&answer)),
                            (410, Some("TKAREQ0410")),
                            "{backend:?}: {method} {path}"
                        );
                    }
                }
            }
        }
        // Shapes of CoWIN's old lookups that are not routes at all get the same explanation.
        for path in [
            "/api/v2/beneficiary/searchByMobile?mobile=7000000001",
            &format!("/api/v3/partner/beneficiary?aadhaar={aadhaar}"),
            "/api/v1/desk/findByPhone",
        ] {
            let (status, answer) = call_with(
                app.addr,
                Method::GET,
                path,
                None,
                &[("x-api-key", key.as_str())],
                None,
            )
            .await;
            assert_eq!(
                (status, error_code(&answer)),
                (410, Some("TKAREQ0410")),
                "{backend:?}: {path}"
            );
        }
        eprintln!(
            "{backend:?}: {} routes, {requests} requests, nothing given away",
            table.paths().len()
        );
        app.stop().await;
        store.close().await;
    }
}

/// Inserts `n` more people like the first one registered (same account) with `gender`, each
/// with dose 1 of COVISHIELD at centre 1 on `day` (YYYY-MM-DD).
async fn people_with_doses(db: &TestDb, gender: i32, n: usize, day: &str) {
    for i in 0..n {
        let (uuid, blob) = match db.backend {
            Backend::Sqlite => ("randomblob(16)", "randomblob(32)"),
            Backend::Postgres => ("gen_random_uuid()", "decode(md5(random()::text), 'hex')"),
        };
        raw_execute(
            db,
            &format!(
                "INSERT INTO beneficiaries (reference_id, subject_id, account_id, name_sealed, photo_id_type, photo_id_index, \
                 photo_id_sealed, birth_year, gender, comorbidity, consent_version, created_at) \
                 SELECT '{g}{i:013}', {uuid}, account_id, name_sealed, photo_id_type, {blob}, photo_id_sealed, birth_year, {g}, \
                 comorbidity, consent_version, created_at FROM beneficiaries WHERE reference_id = (SELECT MIN(reference_id) FROM beneficiaries WHERE reference_id NOT LIKE '_0000%');
                 INSERT INTO doses (dose_id, subject_id, dose_number, vaccine_name, given_on, centre_id, revoked) \
                 SELECT {uuid}, subject_id, 1, 'COVISHIELD', '{day}', 1, {f} FROM beneficiaries WHERE reference_id = '{g}{i:013}';",
                g = gender,
                f = if db.backend == Backend::Sqlite { "0" } else { "FALSE" },
            ),
        )
        .await;
    }
}

/// Adverse event reports at centre 1, `n` of each severity, each on a different dose, from one
/// vaccinator.
async fn adverse_events(db: &TestDb, counts: &[(&str, usize)]) {
    let (uuid, staff, bytes, no, yes) = match db.backend {
        Backend::Sqlite => (
            "randomblob(16)",
            "x'00000000000000000000000000000001'",
            "x'00'",
            "0",
            "1",
        ),
        Backend::Postgres => (
            "gen_random_uuid()",
            "'00000000-0000-0000-0000-000000000001'::uuid",
            "'\\x00'::bytea",
            "FALSE",
            "TRUE",
        ),
    };
    raw_execute(
        db,
        &format!(
            "INSERT INTO staff_accounts (staff_id, username, role, scope_kind, scope_id, password_hash, \
             must_change_password, totp_secret_sealed, totp_last_step, failed_logins, locked_until, \
             disabled, created_at) VALUES ({staff}, 'aefi.reporter', 'vaccinator', 'centre', 1, 'x', \
             {yes}, {bytes}, 0, 0, 0, {no}, 0)"
        ),
    )
    .await;
    let mut offset = 0;
    for (severity, n) in counts {
        raw_execute(
            db,
            &format!(
                "INSERT INTO aefi_reports (aefi_id, dose_id, subject_id, staff_id, centre_id, severity, \
                 symptoms, onset_at, notes_sealed, reported_at) \
                 SELECT {uuid}, dose_id, subject_id, {staff}, 1, '{severity}', 'fever', 1700000000000, NULL, \
                 1700000000000 FROM (SELECT dose_id, subject_id FROM doses ORDER BY dose_id LIMIT {n} OFFSET {offset}) d"
            ),
        )
        .await;
        offset += n;
    }
}

/// 40 men, 12 women and 3 others vaccinated in district 395: research exports and public
/// statistics publish 40 and withhold the 3 and, so that it cannot be worked out from the total,
/// the 12; a researcher cannot lower k; the export is on the ledger; a partner without the
/// research scope gets nothing.
#[tokio::test]
async fn aggregates_withhold_small_cells_and_their_complements() {
    for backend in backends() {
        let Setting {
            db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        teeka_tests::centre_and_session(
            &store,
            teeka_app::clock::today_in_india(),
            "COVISHIELD",
            10,
            10,
            18,
        )
        .await;
        people_with_doses(&db, 1, 40, "2026-11-20").await;
        people_with_doses(&db, 2, 12, "2026-11-20").await;
        people_with_doses(&db, 3, 3, "2026-11-21").await;
        adverse_events(&db, &[("minor", 40), ("severe", 12), ("serious", 3)]).await;

        let researcher = partner(&store, "ICMR", "research", "name", 1000).await;
        let booker = partner(&store, "PayHealth", "booking", "name", 1000).await;
        let (status, export) = as_partner(
            app.addr,
            Method::GET,
            "/api/v1/research/aggregates?by=gender&district_id=395&k=3",
            &researcher,
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {export}");
        assert_eq!(export["k"], 10, "a researcher cannot lower k");
        let count = |g: &str| {
            export["cells"]
                .as_array()
                .expect("cells")
                .iter()
                .find(|c| c["gender"] == g)
                .expect("cell")["count"]
                .clone()
        };
        assert_eq!(count("Male"), json!(40));
        assert_eq!(
            count("Others"),
            Value::Null,
            "{backend:?}: primary suppression"
        );
        assert_eq!(
            count("Female"),
            Value::Null,
            "{backend:?}: complementary suppression"
        );
        assert_eq!(export["total"], 55);
        let (status, two_way) = as_partner(
            app.addr,
            Method::GET,
            "/api/v1/research/aggregates?by=gender,date,vaccine,dose,age_band,state",
            &researcher,
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{two_way}");
        assert_eq!(
            two_way["dimensions"],
            json!(["gender", "date", "vaccine", "dose", "age_band", "state"])
        );
        let (status, _) = as_partner(
            app.addr,
            Method::GET,
            "/api/v1/research/aggregates?by=gender",
            &booker,
            None,
            None,
        )
        .await;
        assert_eq!(status, 403, "research is a scope of its own");
        let (status, _) = call(
            app.addr,
            Method::GET,
            "/api/v1/research/aggregates?by=gender",
            None,
            None,
        )
        .await;
        assert_eq!(status, 401);
        let (status, bad) = as_partner(
            app.addr,
            Method::GET,
            "/api/v1/research/aggregates?by=name",
            &researcher,
            None,
            None,
        )
        .await;
        assert_eq!(status, 400, "{bad}");
        let events = store.access_events(0, 10_000).await.expect("events");
        assert_eq!(
            events
                .iter()
                .filter(|e| e.event.action == "research.export")
                .count(),
            2
        );

        // The public figures, up to 21-11-2026: the same suppression; the day's 3 withheld.
        let (status, public) = call(
            app.addr,
            Method::GET,
            "/api/v1/reports/public?state_id=21&district_id=395&date=21-11-2026",
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {public}");
        assert_eq!(public["rounded_to"], 5);
        let v = &public["topBlock"]["vaccination"];
        assert_eq!(v["total"], 55);
        assert_eq!(
            v["today"],
            Value::Null,
            "{backend:?}: 3 on the day: {public}"
        );
        assert_eq!(
            v["by_gender"],
            json!({"Male": 40, "Female": null, "Others": null})
        );
        assert_eq!(v["by_vaccine"], json!({"COVISHIELD": 55}));
        assert_eq!(v["by_dose"], json!({"1": 55}));
        // Adverse events by severity: 3 serious withheld, and the 12 severe with them.
        assert_eq!(
            public["topBlock"]["aefi"],
            json!({"minor": 40, "severe": null, "serious": null}),
            "{backend:?}: {public}"
        );
        let (status, before) = call(
            app.addr,
            Method::GET,
            "/api/v1/reports/public?district_id=395&date=20-11-2026",
            None,
            None,
        )
        .await;
        assert_eq!(status, 200);
        // 52 up to the day before, published as 50: the difference of the two running totals
        // (5) is not the 3 given on the 21st, and no difference of published figures can be,
        // since all are multiples of 5.
        assert_eq!(before["topBlock"]["vaccination"]["total"], 50);
        assert_eq!(before["topBlock"]["vaccination"]["today"], 50);
        assert_ne!(
            v["total"].as_u64().expect("total") - 50,
            3,
            "differencing two days gives the withheld day"
        );
        // The state less its one district: the state's figure is the same rounded count.
        let (_, state) = call(
            app.addr,
            Method::GET,
            "/api/v1/reports/public?state_id=21&date=21-11-2026",
            None,
            None,
        )
        .await;
        assert_eq!(state["topBlock"]["vaccination"]["total"], 55);
        for figure in [
            "total",
            "today",
            "by_gender",
            "by_age",
            "by_dose",
            "by_vaccine",
        ] {
            let published = &state["topBlock"]["vaccination"][figure];
            let counts: Vec<&Value> = match published.as_object() {
                Some(o) => o.values().collect(),
                None => vec![published],
            };
            for n in counts.iter().filter_map(|n| n.as_u64()) {
                assert_eq!(n % 5, 0, "{figure}: {published}");
            }
        }
        let (status, _) = call(
            app.addr,
            Method::GET,
            "/api/v1/reports/public?date=31-02-2026",
            None,
            None,
        )
        .await;
        assert_eq!(status, 400);

        // Quota: the researcher's 1000 a day; a partner registered with 3 gets 429 on the 4th.
        let tiny = partner(&store, "Tiny", "research", "name", 3).await;
        for expected in [200, 200, 200, 429] {
            let (status, _) = as_partner(
                app.addr,
                Method::GET,
                "/api/v1/research/aggregates?by=dose",
                &tiny,
                None,
                None,
            )
            .await;
            assert_eq!(status, expected, "{backend:?}");
        }
        app.stop().await;
        store.close().await;
    }
}

/// The error code of an answer in either shape: CoWIN's (`errorCode`, under `/api`) or Teeka's
/// (`code`, elsewhere).
fn error_code(answer: &Value) -> Option<&str> {
    answer["errorCode"].as_str().or(answer["code"].as_str())
}

/// Reads `path` as a partner with key `key` (and a consent token, if any); the status and code.
async fn partner_status(
    addr: std::net::SocketAddr,
    path: &str,
    key: &str,
    token: Option<&str>,
) -> (u16, Option<String>) {
    let (status, body) = as_partner(addr, Method::GET, path, key, token, None).await;
    (status, error_code(&body).map(str::to_owned))
}

#[tokio::test]
async fn anomalies_throttle_a_partner_raise_an_alert_and_lift_only_when_enabled() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let admin = PartnerAdmin {
            store: &store,
            actor: AdminActor::operator(),
        };
        let anomalies = || async {
            store
                .staff_alerts(1000)
                .await
                .expect("alerts")
                .into_iter()
                .filter(|a| a.kind == "partner.anomaly")
                .map(|a| a.detail)
                .collect::<Vec<_>>()
        };

        // Unusual numbers of distinct people: a partner registered for 2 an hour reads a third.
        let mut wide = NewPartner::with_defaults(
            "WideNet".into(),
            "Testing".into(),
            "beneficiary_read",
            Some("name"),
        )
        .expect("partner");
        wide.people_per_hour = 2;
        let wide = admin.register(&wide, "test").await.expect("register");
        let key = wide.api_key.expose();
        let mut tokens = Vec::new();
        for n in 1..=3 {
            citizen(app.addr, &store, &vault, &outbox, n, 1990).await;
            let mobile = format!("{}", 7_000_000_000 + n);
            tokens.push(
                consent(
                    app.addr,
                    &store,
                    &vault,
                    &outbox,
                    &key,
                    &mobile,
                    names_for_a_day(),
                )
                .await,
            );
        }
        let members = "/api/v2/appointment/beneficiaries";
        // Counted in clock hours: all three reads in one.
        teeka_tests::clear_of_window_end(3_600_000, 120_000).await;
        for token in &tokens[..2] {
            assert_eq!(
                partner_status(app.addr, members, &key, Some(token)).await,
                (200, None),
                "{backend:?}"
            );
        }
        assert_eq!(
            partner_status(app.addr, members, &key, Some(&tokens[2])).await,
            (429, Some("TKAPTN0003".into())),
            "{backend:?}: the third person in an hour"
        );
        // Throttled as a whole, for everyone it holds a consent from, until it is re-enabled.
        assert_eq!(
            partner_status(app.addr, members, &key, Some(&tokens[0]))
                .await
                .0,
            429,
            "{backend:?}"
        );
        let alerts = anomalies().await;
        assert_eq!(alerts.len(), 1, "{backend:?}: {alerts:?}");
        assert!(
            alerts[0].contains("WideNet") && alerts[0].contains("3 distinct people"),
            "{alerts:?}"
        );
        for mobile in 7_000_000_001u64..=7_000_000_003 {
            assert!(!alerts[0].contains(&mobile.to_string()), "no one named");
        }
        admin
            .switch(
                &format!("partner:{}", wide.client_id)
                    .parse()
                    .expect("target"),
                false,
                "test",
            )
            .await
            .expect("enable");
        assert_eq!(
            partner_status(app.addr, members, &key, Some(&tokens[0])).await,
            (200, None),
            "{backend:?}: enabled again, explicitly"
        );

        // A volume spike: more than 100 requests in an hour and 10 times the earlier mean.
        let researcher = partner(&store, "Burst", "research", "name", 100_000).await;
        let mut allowed = 0;
        teeka_tests::clear_of_window_end(3_600_000, 120_000).await;
        loop {
            let (status, code) = partner_status(
                app.addr,
                "/api/v1/research/aggregates?by=dose",
                &researcher,
                None,
            )
            .await;
            if status == 429 {
                assert_eq!(code.as_deref(), Some("TKAPTN0003"));
                break;
            }
            assert_eq!(status, 200, "{backend:?}");
            allowed += 1;
            assert!(allowed <= 100, "{backend:?}: no throttle after {allowed}");
        }
        assert_eq!(allowed, 100, "{backend:?}: the 101st request is the spike");
        let alerts = anomalies().await;
        assert!(
            alerts
                .iter()
                .any(|a| a.contains("Burst") && a.contains("101 requests this hour")),
            "{backend:?}: {alerts:?}"
        );
        let events = store.access_events(0, 100_000).await.expect("events");
        assert!(
            events
                .iter()
                .filter(|e| e.event.action == "partner.throttle")
                .count()
                == 2,
            "{backend:?}: both throttles on the ledger"
        );
        app.stop().await;
        store.close().await;
    }
}

#[tokio::test]
async fn a_partner_downloads_a_certificate_only_within_a_certificate_consent() {
    for backend in backends() {
        let Setting {
            db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let (_, reference) = citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        let mobile = "7000000001";
        // A dose recorded before certificates existed: its certificate is issued on first
        // download.
        let (uuid, no) = match backend {
            Backend::Sqlite => ("randomblob(16)", "0"),
            Backend::Postgres => ("gen_random_uuid()", "FALSE"),
        };
        raw_execute(
            &db,
            &format!(
                "INSERT INTO doses (dose_id, subject_id, dose_number, vaccine_name, given_on, centre_id, revoked) \
                 SELECT {uuid}, subject_id, 1, 'COVISHIELD', '2026-11-20', 1, {no} FROM beneficiaries WHERE reference_id = '{reference}'"
            ),
        )
        .await;
        let key = partner(
            &store,
            "TravelPass",
            "beneficiary_read,certificate,status_check",
            "name,gender,birth_year",
            100_000,
        )
        .await;
        // Every consent here is this person's, to this partner: only what it covers differs.
        let consent_to = |ask| consent(app.addr, &store, &vault, &outbox, &key, mobile, ask);
        let members_only = consent_to(names_for_a_day()).await;
        let (status, list) = read_members(app.addr, &key, Some(&members_only)).await;
        assert_eq!(status, 200, "{list}");
        let pairwise = list["beneficiaries"][0]["beneficiary_reference_id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert_ne!(pairwise, reference);
        let download = |id: &str| {
            format!(
                "/api/v2/registration/certificate/public/download?beneficiary_reference_id={id}"
            )
        };
        // The certificate of the person the partner calls `id`, under consent `token`.
        let certificate = async |id: &str, token: &str| {
            as_partner(
                app.addr,
                Method::GET,
                &download(id),
                &key,
                Some(token),
                None,
            )
            .await
        };
        // A consent that does not cover the certificate: refused as outside its scope.
        let refused = async |token: &str, case: &str| {
            let (status, answer) = certificate(&pairwise, token).await;
            assert_eq!(
                (status, error_code(&answer)),
                (403, Some("TKAPTN0005")),
                "{backend:?}: {case}: {answer}"
            );
        };
        refused(&members_only, "the consent does not cover certificates").await;
        // A certificate shows name, gender and age: a consent to the name alone is not enough.
        let name_only = consent_to(
            json!({"scopes": "beneficiary_read,certificate", "fields": "name", "days": 1}),
        )
        .await;
        refused(&name_only, "a consent to the name alone").await;
        // The person approves certificates too; the partner names them by its own id.
        let with_certificate = consent_to(
            json!({"scopes": "beneficiary_read,certificate", "fields": "name,gender,birth_year", "days": 1}),
        )
        .await;
        let pdf = teeka_loadgen::request(
            app.addr,
            Method::GET,
            &download(&pairwise),
            &[
                ("x-api-key", key.as_str()),
                ("authorization", &format!("Bearer {with_certificate}")),
            ],
            None,
        )
        .await
        .expect("download");
        assert_eq!(pdf.status.as_u16(), 200, "{backend:?}");
        assert!(pdf.body.starts_with(b"%PDF-"));
        let printed = teeka_tests::pdf_text(&pdf.body);
        assert!(
            printed.contains(&pairwise) && !printed.contains(&reference),
            "{backend:?}: the partner's copy names the person by the partner's id"
        );
        // The person's real reference id names nobody to the partner.
        let (status, _) = certificate(&reference, &with_certificate).await;
        assert_ne!(status, 200, "{backend:?}");
        // A status-check consent: a signed 0/1/2 under the partner's id, and nothing else.
        let status_only =
            consent_to(json!({"scopes": "status_check", "fields": "name", "days": 1})).await;
        let path = "/api/v2/registration/certificate/status";
        let (status, answer) =
            as_partner(app.addr, Method::GET, path, &key, Some(&members_only), None).await;
        assert_eq!(status, 403, "{backend:?}: {answer}");
        let (status, answer) =
            as_partner(app.addr, Method::GET, path, &key, Some(&status_only), None).await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        assert_eq!(
            answer["statuses"][0]["status"], 1,
            "one dose of two: {answer}"
        );
        let text = answer.to_string();
        assert!(
            !text.contains(&reference) && !text.contains("Test Person") && !text.contains(mobile)
        );
        assert_eq!(answer["statuses"][0]["beneficiary_reference_id"], pairwise);
        let signed = answer["signed"].as_str().expect("jws");
        let (input, signature) = signed.rsplit_once('.').expect("jws");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: Value = serde_json::from_slice(
            &b64.decode(input.split('.').next().expect("header"))
                .expect("b64"),
        )
        .expect("json");
        let (_, jwks) = call(app.addr, Method::GET, "/.well-known/jwks.json", None, None).await;
        let okp = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("the signing key is published");
        let public: [u8; 32] = b64
            .decode(okp["x"].as_str().expect("x"))
            .expect("b64")
            .try_into()
            .expect("32 bytes");
        let signature: [u8; 64] = b64.decode(signature).expect("b64").try_into().expect("64");
        assert!(teeka_crypto::verify_ed25519(
            &public,
            input.as_bytes(),
            &signature
        ));
        let events = store.access_events(0, 10_000).await.expect("events");
        assert!(
            events
                .iter()
                .any(|e| e.event.action == "certificate.download"
                    && e.event.actor_kind == "partner"
                    && e.event.purpose.starts_with("consent "))
        );
        app.stop().await;
        store.close().await;
    }
}

#[tokio::test]
async fn a_partners_sign_ups_are_counted_by_partner_not_by_its_servers_address() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        // A network may ask for 2 OTPs an hour and fail 2; everything else is generous.
        let mut identity = teeka_tests::generous_identity();
        identity.limits.ip_sends_per_hour = 2;
        identity.limits.ip_failures_per_hour = 2;
        let app = spawn_app_with(store.clone(), no_limits(), vault.clone(), identity).await;
        let key = partner(&store, "PayHealth", "beneficiary_read", "name", 100_000).await;
        // One partner server, one address, five people: every consent OTP goes out.
        let mut last_txn = Value::Null;
        for n in 0..5 {
            let mobile = format!("700000010{n}");
            let (status, sent) = ask_consent(app.addr, &key, &mobile, names_for_a_day()).await;
            assert_eq!(status, 200, "{backend:?}: person {n}: {sent}");
            last_txn = sent["txnId"].clone();
        }
        // Users' typos do not lock the partner's other users out: each is just a wrong OTP.
        for _ in 0..3 {
            let (status, answer) = confirm_consent(app.addr, &key, "000000", &last_txn).await;
            // A wrong OTP (400), never "too many wrong OTPs from this network" (429).
            assert_eq!(status, 400, "{backend:?}: {answer}");
        }
        // Wrong OTPs are not free for a partner either: ten times a network's share an hour
        // (20 here), then refused as too many from here, whoever the person.
        let mut refused_after = None;
        for attempt in 3..30 {
            let mobile = format!("70000002{:02}", attempt);
            let (status, sent) = ask_consent(app.addr, &key, &mobile, names_for_a_day()).await;
            assert_eq!(status, 200, "{backend:?}: {sent}");
            let (status, answer) = confirm_consent(app.addr, &key, "000000", &sent["txnId"]).await;
            if status == 429 {
                assert_eq!(answer["errorCode"], "TKAOTP0007", "{backend:?}: {answer}");
                refused_after = Some(attempt);
                break;
            }
        }
        assert_eq!(
            refused_after,
            Some(20),
            "{backend:?}: the 21st wrong OTP is refused"
        );
        // The partner's sends did not use up the address's share: a citizen there still gets
        // two, and the third is refused as before.
        for (n, expected) in [(0, 200), (1, 200), (2, 429)] {
            let (status, answer) = call(
                app.addr,
                Method::POST,
                "/api/v2/auth/public/generateOTP",
                None,
                Some(json!({ "mobile": format!("710000000{n}") })),
            )
            .await;
            assert_eq!(status, expected, "{backend:?}: citizen {n}: {answer}");
        }
    }
}

#[tokio::test]
async fn the_registry_holds_key_rotation_expiry_tls_binding_and_the_minute_limit() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        // A TLS terminator on this address forwards client certificate fingerprints.
        let config = WebConfig {
            trusted_proxies: vec!["127.0.0.1".parse().expect("ip")],
            ..no_limits()
        };
        let app = spawn_app_with(
            store.clone(),
            config,
            vault.clone(),
            teeka_tests::generous_identity(),
        )
        .await;
        let admin = PartnerAdmin {
            store: &store,
            actor: AdminActor::operator(),
        };
        let register = |changes: &dyn Fn(&mut NewPartner)| {
            let mut p = NewPartner::with_defaults(
                "Registry Test".into(),
                "Testing".into(),
                "beneficiary_read",
                Some("name"),
            )
            .expect("partner");
            changes(&mut p);
            p
        };
        // A request any registered partner may make: ask a person for consent.
        let ask = |key: String, fingerprint: Option<&'static str>| {
            let addr = app.addr;
            async move {
                let mut headers = vec![("x-api-key", key.clone())];
                if let Some(f) = fingerprint {
                    headers.push(("x-client-cert-sha256", f.to_owned()));
                }
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, answer) = call_with(
                    addr,
                    Method::POST,
                    "/api/v2/auth/generateOTP",
                    None,
                    &headers,
                    Some(json!({
                        "mobile": "7000000201", "scopes": "beneficiary_read", "fields": "name", "days": 1,
                    })),
                )
                .await;
                (status, answer["errorCode"].as_str().map(str::to_owned))
            }
        };

        // Rotation: the old key stops at once, the new one works.
        let rotated = admin
            .register(&register(&|_| {}), "test")
            .await
            .expect("register");
        let old_key = rotated.api_key.expose();
        assert_eq!(ask(old_key.clone(), None).await.0, 200, "{backend:?}");
        let new_key = admin
            .rotate(&rotated.client_id, "test")
            .await
            .expect("rotate")
            .expose();
        assert_eq!(ask(old_key, None).await.0, 401, "{backend:?}: old key");
        assert_eq!(ask(new_key, None).await.0, 200, "{backend:?}: new key");

        // Expiry: a registration past its date is refused like a switched-off partner.
        let expired = admin
            .register(
                &register(&|p| p.expires_at_ms = Some(teeka_app::clock::now_ms() - 1)),
                "test",
            )
            .await
            .expect("register")
            .api_key
            .expose();
        assert_eq!(ask(expired, None).await.0, 403, "{backend:?}: expired");

        // TLS binding: the key alone is not enough, nor a wrong certificate.
        let bound = admin
            .register(
                &register(&|p| p.tls_fingerprint = Some("ab".repeat(32))),
                "test",
            )
            .await
            .expect("register")
            .api_key
            .expose();
        assert_eq!(
            ask(bound.clone(), None).await.0,
            401,
            "{backend:?}: no cert"
        );
        let wrong: &'static str = Box::leak("cd".repeat(32).into_boxed_str());
        assert_eq!(ask(bound.clone(), Some(wrong)).await.0, 401, "{backend:?}");
        let right: &'static str = Box::leak("AB:".repeat(32).into_boxed_str());
        assert_eq!(
            ask(bound, Some(right)).await.0,
            200,
            "{backend:?}: bound cert"
        );

        // The per-minute limit: the fourth request in a minute is refused.
        let limited = admin
            .register(&register(&|p| p.requests_per_minute = 3), "test")
            .await
            .expect("register")
            .api_key
            .expose();
        teeka_tests::clear_of_window_end(60_000, 10_000).await;
        for _ in 0..3 {
            assert_eq!(ask(limited.clone(), None).await.0, 200, "{backend:?}");
        }
        assert_eq!(ask(limited, None).await.0, 429, "{backend:?}: fourth");

        // The longest name with every scope still fits the ledger's entry.
        let widest = NewPartner::with_defaults(
            "N".repeat(100),
            "Testing".into(),
            "availability,booking,beneficiary_read,certificate,status_check,research",
            None,
        )
        .expect("partner");
        admin.register(&widest, "test").await.expect("registers");
    }
}

#[tokio::test]
async fn a_consent_otp_never_opens_a_citizen_session_nor_a_citizen_otp_a_consent() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let mobile = "7000000301";
        let key = partner(&store, "PayHealth", "beneficiary_read", "name", 100_000).await;
        // Refused as a bad request of some kind, and above all without a token.
        let opens_nothing = |case: &str, status: u16, answer: &Value| {
            assert!(
                (400..500).contains(&status) && answer.get("token").is_none(),
                "{backend:?}: {case}: {status} {answer}"
            );
        };
        // The partner holds the OTP the person read out for its consent request; at the
        // citizen's confirmOTP it opens nothing.
        let (status, sent) = ask_consent(app.addr, &key, mobile, names_for_a_day()).await;
        assert_eq!(status, 200, "{sent}");
        let (otp, _) = last_otp(&store, &vault, &outbox, mobile).await;
        let (status, answer) = call(
            app.addr,
            Method::POST,
            "/api/v2/auth/public/confirmOTP",
            None,
            Some(json!({ "otp": teeka_crypto::sha256_hex(&otp), "txnId": sent["txnId"] })),
        )
        .await;
        opens_nothing("a consent OTP as a citizen's", status, &answer);
        // A citizen's own OTP, at the partner's confirmOTP, makes no consent.
        let (status, sent) = call(
            app.addr,
            Method::POST,
            "/api/v2/auth/public/generateOTP",
            None,
            Some(json!({ "mobile": mobile })),
        )
        .await;
        assert_eq!(status, 200, "{sent}");
        let (otp, _) = last_otp(&store, &vault, &outbox, mobile).await;
        let (status, answer) = confirm_consent(app.addr, &key, &otp, &sent["txnId"]).await;
        opens_nothing("a citizen's OTP as a consent's", status, &answer);
    }
}

#[tokio::test]
async fn a_partner_finds_books_reschedules_and_cancels_within_a_booking_consent() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let (citizen_token, _) = citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        let mobile = "7000000001";
        // Tomorrow and the day after: same-day booking closes in the afternoon.
        let today = teeka_app::clock::today_in_india().date();
        let day = |n: i64| teeka_domain::CowinDate(today + time::Duration::days(n));
        let first = teeka_tests::session_at(&store, 1, day(1), "COVISHIELD", 10, 10, 18).await;
        let second = teeka_tests::session_at(&store, 1, day(2), "COVISHIELD", 10, 10, 18).await;
        let key = partner(
            &store,
            "PayHealth",
            "booking,beneficiary_read,availability",
            "name,appointments",
            100_000,
        )
        .await;
        let token = consent(
            app.addr,
            &store,
            &vault,
            &outbox,
            &key,
            mobile,
            json!({"scopes": "booking,beneficiary_read,availability", "fields": "name,appointments", "days": 1}),
        )
        .await;
        let partner_call = |method: Method, path: String, body: Option<Value>| {
            let (key, token) = (key.clone(), token.clone());
            async move { as_partner(app.addr, method, &path, &key, Some(&token), body).await }
        };
        // Live availability for the person.
        let (status, calendar) = partner_call(
            Method::GET,
            format!(
                "/api/v2/appointment/sessions/calendarByDistrict?district_id=395&date={}",
                day(1)
            ),
            None,
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {calendar}");
        assert!(!calendar["centers"].as_array().expect("centres").is_empty());
        let (_, list) = read_members(app.addr, &key, Some(&token)).await;
        let pairwise = list["beneficiaries"][0]["beneficiary_reference_id"]
            .as_str()
            .expect("id")
            .to_owned();
        // Book under the partner's own id for the person.
        let (status, booked) = partner_call(
            Method::POST,
            "/api/v2/appointment/schedule".into(),
            Some(json!({ "dose": 1, "session_id": first.to_string(), "slot": "09:00AM-11:00AM", "beneficiaries": [pairwise] })),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {booked}");
        let appointment = booked["appointment_confirmation_no"]
            .as_str()
            .expect("appointment")
            .to_owned();
        let (_, list) = read_members(app.addr, &key, Some(&token)).await;
        assert_eq!(
            list["beneficiaries"][0]["appointments"][0]["session_id"],
            first.to_string(),
            "{backend:?}: {list}"
        );
        // The partner names the appointment by its own id: the person's id for it is another,
        // and means nothing from the partner.
        let (_, own) = call(
            app.addr,
            Method::GET,
            "/api/v2/appointment/beneficiaries",
            Some(&citizen_token),
            None,
        )
        .await;
        let real = own["beneficiaries"][0]["appointments"][0]["appointment_id"]
            .as_str()
            .expect("the person sees the appointment")
            .to_owned();
        assert_ne!(real, appointment, "{backend:?}: a join key across partners");
        assert_eq!(
            list["beneficiaries"][0]["appointments"][0]["appointment_id"], appointment,
            "{backend:?}"
        );
        // The check-in code is the person's alone.
        assert!(own["beneficiaries"][0]["appointments"][0]["secret_code"].is_string());
        assert!(
            list["beneficiaries"][0]["appointments"][0]
                .get("secret_code")
                .is_none(),
            "{backend:?}: {list}"
        );
        let (status, _) = partner_call(
            Method::POST,
            "/api/v2/appointment/cancel".into(),
            Some(json!({ "appointment_id": real, "beneficiariesToCancel": [pairwise] })),
        )
        .await;
        assert_eq!(
            status, 404,
            "{backend:?}: the real id means nothing from the partner"
        );
        // Move it, then cancel it.
        let (status, body) = partner_call(
            Method::POST,
            "/api/v2/appointment/reschedule".into(),
            Some(json!({ "appointment_id": appointment, "session_id": second.to_string(), "slot": "09:00AM-11:00AM" })),
        )
        .await;
        assert_eq!(status, 204, "{backend:?}: {body}");
        assert_eq!(
            (
                dose1_places(&store, first).await,
                dose1_places(&store, second).await
            ),
            (10, 9)
        );
        let (status, body) = partner_call(
            Method::POST,
            "/api/v2/appointment/cancel".into(),
            Some(json!({ "appointment_id": appointment, "beneficiariesToCancel": [pairwise] })),
        )
        .await;
        assert_eq!(status, 204, "{backend:?}: {body}");
        assert_eq!(
            dose1_places(&store, second).await,
            10,
            "{backend:?}: the place is back"
        );
        // Every step is on the ledger as the partner's, naming the consent.
        let events = store.access_events(0, 10_000).await.expect("events");
        for action in [
            "appointment.book",
            "appointment.reschedule",
            "appointment.cancel",
        ] {
            assert!(
                events.iter().any(|e| e.event.action == action
                    && e.event.actor_kind == "partner"
                    && e.event.purpose.starts_with("consent ")),
                "{backend:?}: {action}"
            );
        }
    }
}

#[tokio::test]
async fn a_partners_own_words_stay_with_the_consent_and_out_of_the_ledger() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox,
        } = setting(backend).await;
        let (citizen_token, _) = citizen(app.addr, &store, &vault, &outbox, 1, 1990).await;
        let key = partner(&store, "PayHealth", "beneficiary_read", "name", 100_000).await;
        // The longest purpose a partner may write, with a stranger's number in it.
        let purpose = format!("Call 9876543210 for help. {}", "x".repeat(274));
        assert_eq!(purpose.chars().count(), 300);
        let token = consent(
            app.addr,
            &store,
            &vault,
            &outbox,
            &key,
            "7000000001",
            json!({"purpose": purpose, "scopes": "beneficiary_read", "fields": "name", "days": 1}),
        )
        .await;
        let (status, _) = read_members(app.addr, &key, Some(&token)).await;
        assert_eq!(status, 200, "{backend:?}");
        // The person sees it with the consent; the ledger has the consent's id, not its words.
        let (_, consents) = call(
            app.addr,
            Method::GET,
            "/api/v1/citizen/consents",
            Some(&citizen_token),
            None,
        )
        .await;
        assert!(consents.to_string().contains("9876543210"), "{consents}");
        let events = store.access_events(0, 10_000).await.expect("events");
        assert!(
            events.iter().any(|e| e.event.action == "consent.grant"),
            "{backend:?}"
        );
        assert!(
            events
                .iter()
                .all(|e| !e.event.purpose.contains("9876543210")),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_national_administrator_runs_the_registry_and_the_kill_switch_over_http() {
    for backend in backends() {
        let Setting {
            db: _db,
            store,
            vault,
            app,
            dir: _dir,
            outbox: _outbox,
        } = setting(backend).await;
        let (admin, _) = teeka_tests::signed_in_staff(
            app.addr,
            &store,
            &vault,
            "nation.admin",
            teeka_domain::StaffRole::NationalAdmin,
            None,
        )
        .await;
        let admin_call = |method: Method, path: &'static str, body: Option<Value>| {
            let admin = admin.clone();
            async move { call(app.addr, method, path, Some(&admin), body).await }
        };
        // Register: the key is shown once; the list never shows it or its hash.
        let (status, added) = admin_call(
            Method::POST,
            "/api/v1/admin/partners",
            Some(json!({"name": "StateHealth", "purpose": "State records", "scopes": "beneficiary_read",
                        "fields": "name", "daily_quota": 500, "contact": "ops@state.example"})),
        )
        .await;
        assert_eq!(status, 201, "{backend:?}: {added}");
        let first_key = added["api_key"].as_str().expect("key").to_owned();
        let partner_id = added["partner_id"].as_str().expect("id").to_owned();
        let (_, listed) = admin_call(Method::GET, "/api/v1/admin/partners", None).await;
        let text = listed.to_string();
        assert!(text.contains("StateHealth") && text.contains("ops@state.example"));
        assert!(
            !text.contains(&first_key[first_key.len() - 16..]),
            "{backend:?}"
        );
        assert_eq!(listed["partners"][0]["daily_quota"], 500);
        let ask = async |key: &str| {
            ask_consent(app.addr, key, "7000000401", names_for_a_day())
                .await
                .0
        };
        assert_eq!(ask(&first_key).await, 200, "{backend:?}");
        // Rotate over HTTP: the old key stops at once.
        let rotate = format!("/api/v1/admin/partners/{partner_id}/rotate");
        let (status, rotated) = call(app.addr, Method::POST, &rotate, Some(&admin), None).await;
        assert_eq!(status, 200, "{backend:?}: {rotated}");
        let key = rotated["api_key"].as_str().expect("key").to_owned();
        assert_eq!(ask(&first_key).await, 401, "{backend:?}");
        assert_eq!(ask(&key).await, 200, "{backend:?}");
        // The kill switch over HTTP, for one partner, then every partner; on again explicitly.
        for target in [format!("partner:{partner_id}"), "all".to_owned()] {
            let (status, switched) = admin_call(
                Method::POST,
                "/api/v1/admin/partners/switch",
                Some(json!({"target": target, "off": true})),
            )
            .await;
            assert_eq!(
                (status, &switched["changed"]),
                (200, &json!(true)),
                "{backend:?}"
            );
            assert_eq!(ask(&key).await, 403, "{backend:?}: {target} off");
            let (status, _) = admin_call(
                Method::POST,
                "/api/v1/admin/partners/switch",
                Some(json!({"target": target, "off": false})),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(ask(&key).await, 200, "{backend:?}: {target} on again");
        }
        // Every change is on the ledger, by the administrator.
        let events = store.access_events(0, 10_000).await.expect("events");
        for action in [
            "partner.register",
            "partner.rotate",
            "partner.disable",
            "partner.enable",
        ] {
            assert!(
                events
                    .iter()
                    .any(|e| e.event.action == action && e.event.actor_kind == "staff"),
                "{backend:?}: {action}"
            );
        }
        // An auditor reads the ledger; it may not pull the switch.
        let (auditor, _) = teeka_tests::signed_in_staff(
            app.addr,
            &store,
            &vault,
            "ledger.auditor",
            teeka_domain::StaffRole::Auditor,
            None,
        )
        .await;
        let (status, _) = call(
            app.addr,
            Method::POST,
            "/api/v1/admin/partners/switch",
            Some(&auditor),
            Some(json!({"target": "all", "off": true})),
        )
        .await;
        assert_eq!(status, 403, "{backend:?}");
    }
}
