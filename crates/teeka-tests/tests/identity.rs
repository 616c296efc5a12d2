//! Citizen identity over real HTTP on both backends: OTP login and every limit, sessions,
//! the beneficiary registry behind grants, access events, key rotation, and a raw look at the
//! database files proving no name, mobile or ID number is stored in the clear.

use http::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teeka_app::citizen::IdentityConfig;
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::vault::Vault;
use teeka_store::Store;
use teeka_store::identity::OtpLimits;
use teeka_tests::{Backend, TestApp, TestDb, backends, prepared_store, spawn_app_with, test_vault};
use teeka_web::WebConfig;

fn no_limits() -> WebConfig {
    WebConfig {
        public_rate_limit: None,
        ..WebConfig::default()
    }
}

/// A valid Aadhaar number from an 11-digit stem.
fn aadhaar(stem: &str) -> String {
    let check = teeka_domain::verhoeff::check_digit(stem).expect("digits");
    format!("{stem}{check}")
}

fn sha256_hex(text: &str) -> String {
    teeka_crypto::sha256_hex(text)
}

/// The SHA-256 of an OTP that is certainly not `otp`.
fn wrong_answer(otp: &str) -> String {
    sha256_hex(if otp == "000000" { "111111" } else { "000000" })
}

fn body(r: &teeka_loadgen::HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// A server and the means to read the OTPs it sends.
struct Harness {
    app: TestApp,
    store: Store,
    vault: Arc<Vault>,
    outbox: tempfile::TempDir,
}

impl Harness {
    async fn new(store: Store, identity: IdentityConfig) -> Harness {
        Harness::with_vault(store, identity, test_vault()).await
    }

    /// Processes of one deployment share their keys.
    async fn with_vault(store: Store, identity: IdentityConfig, vault: Arc<Vault>) -> Harness {
        let app = spawn_app_with(store.clone(), no_limits(), vault.clone(), identity).await;
        Harness {
            app,
            store,
            vault,
            outbox: tempfile::tempdir().expect("dir"),
        }
    }

    async fn post(
        &self,
        path: &str,
        payload: Value,
        token: Option<&str>,
    ) -> teeka_loadgen::HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        teeka_loadgen::request(
            self.app.addr,
            Method::POST,
            path,
            &headers,
            Some(payload.to_string().into()),
        )
        .await
        .expect("request")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> teeka_loadgen::HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.app.get(path, &headers).await
    }

    /// Delivers the outbox through the development log backend and returns the last OTP sent to `mobile`.
    async fn last_otp(&self, mobile: &str) -> String {
        let notifier = Notifier::log_in(self.outbox.path());
        deliver_due(&self.store, &self.vault, &notifier)
            .await
            .expect("deliver");
        let text = std::fs::read_to_string(self.outbox.path().join("outbox/sms.jsonl"))
            .expect("outbox file");
        let line = text
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
            .find(|v| v["to"] == mobile)
            .expect("an SMS to this mobile");
        assert_eq!(line["template"], "otp");
        assert!(
            line["text"]
                .as_str()
                .expect("text")
                .contains("It will be valid for 3 minutes")
        );
        line["otp"].as_str().expect("otp").to_owned()
    }

    async fn send(&self, mobile: &str) -> teeka_loadgen::HttpResponse {
        self.post(
            "/api/v2/auth/public/generateOTP",
            json!({ "mobile": mobile }),
            None,
        )
        .await
    }

    async fn login(&self, mobile: &str) -> String {
        let r = self.send(mobile).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let txn = body(&r)["txnId"].as_str().expect("txnId").to_owned();
        let otp = self.last_otp(mobile).await;
        let r = self
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": sha256_hex(&otp), "txnId": txn }),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        body(&r)["token"].as_str().expect("token").to_owned()
    }

    async fn register(&self, token: &str, name: &str, id: &str) -> teeka_loadgen::HttpResponse {
        self.post(
            "/api/v2/registration/beneficiary/new",
            json!({
                "name": name, "birth_year": "1980", "gender_id": 2, "photo_id_type": 1,
                "photo_id_number": id, "comorbidity_ind": "N", "consent_version": "V1"
            }),
            Some(token),
        )
        .await
    }
}

async fn for_each_backend<F, Fut>(identity: IdentityConfig, test: F)
where
    F: Fn(Backend, Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let h = Harness::new(store.clone(), identity.clone()).await;
        test(backend, h).await;
        store.close().await;
    }
}

fn code(r: &teeka_loadgen::HttpResponse) -> String {
    body(r)["errorCode"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn the_booking_clients_flow_register_four_refuse_the_fifth_list_masked() {
    for_each_backend(teeka_tests::generous_identity(), |backend, h| async move {
        // The portal variant, as the popular booking clients call it (secret accepted and ignored).
        let r = h
            .post(
                "/api/v2/auth/generateMobileOTP",
                json!({ "mobile": "9876543210", "secret": "U2FsdGVkX1+" }),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{backend:?}: {}", r.text());
        let txn = body(&r)["txnId"].as_str().expect("txn").to_owned();
        let otp = h.last_otp("9876543210").await;
        assert_eq!(otp.len(), 6);
        let r = h
            .post(
                "/api/v2/auth/validateMobileOtp",
                json!({ "otp": sha256_hex(&otp), "txnId": txn }),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{backend:?}: {}", r.text());
        assert_eq!(body(&r)["isNewAccount"], "Y");
        let token = body(&r)["token"].as_str().expect("token").to_owned();

        let types = body(
            &h.get("/api/v2/registration/beneficiary/idTypes", None)
                .await,
        );
        assert_eq!(types["types"].as_array().map(Vec::len), Some(11));
        let genders = body(
            &h.get("/api/v2/registration/beneficiary/genders", None)
                .await,
        );
        assert_eq!(genders["genders"][0], json!({"id": 1, "gender": "Male"}));

        let ids: Vec<String> = [
            "23456789012",
            "34567890123",
            "45678901234",
            "56789012345",
            "67890123456",
        ]
        .iter()
        .map(|s| aadhaar(s))
        .collect();
        let mut refs = Vec::new();
        for (i, id) in ids.iter().take(4).enumerate() {
            let r = h
                .register(
                    &token,
                    &format!("Sunita Devi {}", ["A", "B", "C", "D"][i]),
                    id,
                )
                .await;
            assert_eq!(r.status, 200, "{backend:?}: {}", r.text());
            let reference = body(&r)["beneficiary_reference_id"]
                .as_str()
                .expect("ref")
                .to_owned();
            assert!(reference.len() == 14 && reference.bytes().all(|b| b.is_ascii_digit()));
            refs.push(reference);
        }
        let fifth = h.register(&token, "Fifth Person", &ids[4]).await;
        assert_eq!(
            (fifth.status.as_u16(), code(&fifth)),
            (409, "TKABEN0001".to_owned()),
            "{backend:?}"
        );

        let list = body(
            &h.get("/api/v2/appointment/beneficiaries", Some(&token))
                .await,
        );
        let people = list["beneficiaries"].as_array().expect("list");
        assert_eq!(people.len(), 4, "{backend:?}");
        // Two registrations in the same millisecond list in either order.
        let mut shown: Vec<&str> = people
            .iter()
            .filter_map(|p| p["photo_id_number"].as_str())
            .collect();
        shown.sort_unstable();
        let mut expected: Vec<String> = ids[..4]
            .iter()
            .map(|id| format!("XXXXXXXX{}", &id[8..]))
            .collect();
        expected.sort_unstable();
        assert_eq!(shown, expected, "{backend:?}");
        for p in people {
            assert_eq!(p["mobile_number"], "******3210");
            assert_eq!(p["name"], "S***", "{backend:?}: names are masked too");
            assert_eq!(p["birth_year"], "1980");
            assert_eq!(p["gender"], "Female");
            assert_eq!(p["photo_id_type"], "Aadhaar Card");
            assert!(
                refs.contains(
                    &p["beneficiary_reference_id"]
                        .as_str()
                        .expect("ref")
                        .to_owned()
                )
            );
        }
        let text = serde_json::to_string(&list).expect("json");
        assert!(
            !text.contains("9876543210") && !text.contains("Sunita") && !text.contains(&ids[0]),
            "{backend:?}"
        );

        // Every read and write of a beneficiary is on the ledger, pseudonymously.
        let events = h.store.access_events(0, 100).await.expect("events");
        let actions: Vec<&str> = events.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "beneficiary.register")
                .count(),
            4,
            "{backend:?}"
        );
        assert_eq!(
            actions.iter().filter(|a| **a == "beneficiary.read").count(),
            4,
            "{backend:?}: one per person listed"
        );
        assert_eq!(
            actions.iter().filter(|a| **a == "account.create").count(),
            1
        );
        assert!(
            events.windows(2).all(|w| w[1].seq == w[0].seq + 1),
            "{backend:?}: gap-free sequence"
        );
        assert!(events.iter().all(|e| !e.event.request_id.is_empty()));
        let ledger = format!("{events:?}");
        assert!(
            !ledger.contains("9876543210") && !ledger.contains("Sunita"),
            "{backend:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn otps_are_single_use_three_strikes_and_expire() {
    for_each_backend(teeka_tests::generous_identity(), |backend, h| async move {
        let confirm = |txn: String, otp_hex: String| {
            let h = &h;
            async move {
                h.post(
                    "/api/v2/auth/public/confirmOTP",
                    json!({ "otp": otp_hex, "txnId": txn }),
                    None,
                )
                .await
            }
        };
        // Single use.
        let txn = body(&h.send("9000000001").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = h.last_otp("9000000001").await;
        assert_eq!(confirm(txn.clone(), sha256_hex(&otp)).await.status, 200);
        let again = confirm(txn, sha256_hex(&otp)).await;
        assert_eq!(
            (again.status.as_u16(), code(&again)),
            (400, "TKAOTP0005".into()),
            "{backend:?}: single use"
        );

        // Three wrong attempts void the transaction, even for the right OTP afterwards.
        let txn = body(&h.send("9000000002").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = h.last_otp("9000000002").await;
        let wrong = wrong_answer(&otp);
        for attempt in 1..=3 {
            let r = confirm(txn.clone(), wrong.clone()).await;
            let expected = if attempt < 3 {
                "USRAUT0014"
            } else {
                "TKAOTP0005"
            };
            assert_eq!(
                (r.status.as_u16(), code(&r)),
                (400, expected.to_owned()),
                "{backend:?}: attempt {attempt}"
            );
        }
        let late = confirm(txn, sha256_hex(&otp)).await;
        assert_eq!(
            code(&late),
            "TKAOTP0005",
            "{backend:?}: void after three strikes"
        );

        // Expiry, on a second process of the deployment whose OTPs last a moment (the attempts
        // above keep the default lifetime, so a slow machine cannot expire them midway).
        let short = Harness::with_vault(
            h.store.clone(),
            IdentityConfig {
                otp_ttl: Duration::from_millis(1),
                ..teeka_tests::generous_identity()
            },
            h.vault.clone(),
        )
        .await;
        let txn = body(&short.send("9000000003").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = short.last_otp("9000000003").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let expired = short
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": sha256_hex(&otp), "txnId": txn }),
                None,
            )
            .await;
        assert_eq!(code(&expired), "TKAOTP0004", "{backend:?}");

        // Missing fields get CoWIN's codes; a plain (unhashed) OTP is just invalid.
        let r = h
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "txnId": "x" }),
                None,
            )
            .await;
        assert_eq!(code(&r), "USRAUT0012");
        let r = h
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": "123456" }),
                None,
            )
            .await;
        assert_eq!(code(&r), "USRAUT0013");
        let r = h
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": "123456", "txnId": "nope" }),
                None,
            )
            .await;
        assert_eq!(code(&r), "USRAUT0014");
        let r = h
            .post(
                "/api/v2/auth/public/generateOTP",
                json!({ "mobile": "12345" }),
                None,
            )
            .await;
        assert_eq!((r.status.as_u16(), code(&r)), (400, "TKAREQ0001".into()));
        assert!(
            !r.text().contains("12345"),
            "the rejected number is not echoed"
        );
        let r = h
            .post("/api/v2/auth/public/generateOTP", json!({}), None)
            .await;
        assert_eq!(code(&r), "USRRES0001");
        let r = h
            .post("/api/v2/auth/public/generateOTP", json!("garbage"), None)
            .await;
        assert_eq!(r.status.as_u16(), 400);
    })
    .await;
}

#[tokio::test]
async fn send_limits_hold_per_mobile_per_ip_and_across_two_processes() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        // Cool-down.
        let h = Harness::new(store.clone(), IdentityConfig::default()).await;
        assert_eq!(h.send("9100000001").await.status, 200);
        let r = h.send("9100000001").await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (429, "TKAOTP0001".into()),
            "{backend:?}: resend cool-down"
        );

        // Five an hour, counted across two server processes sharing the database.
        let limits = OtpLimits {
            resend_cooldown_ms: 0,
            ..teeka_tests::generous_identity().limits
        };
        let hourly = IdentityConfig {
            limits: OtpLimits {
                sends_per_hour: 5,
                ..limits
            },
            ..teeka_tests::generous_identity()
        };
        let a = Harness::new(store.clone(), hourly.clone()).await;
        let b = Harness::with_vault(
            Store::connect(&db.url)
                .await
                .expect("second process's store"),
            hourly,
            a.vault.clone(),
        )
        .await;
        for i in 0..5 {
            let server = if i % 2 == 0 { &a } else { &b };
            assert_eq!(
                server.send("9100000002").await.status,
                200,
                "{backend:?}: send {}",
                i + 1
            );
        }
        for server in [&a, &b] {
            let r = server.send("9100000002").await;
            assert_eq!(
                (r.status.as_u16(), code(&r)),
                (429, "TKAOTP0002".into()),
                "{backend:?}: sixth in the hour"
            );
        }
        // Concurrent sends from both processes never exceed the limit.
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let addr = if i % 2 == 0 { a.app.addr } else { b.app.addr };
                tokio::spawn(async move {
                    teeka_loadgen::request(
                        addr,
                        Method::POST,
                        "/api/v2/auth/public/generateOTP",
                        &[("content-type", "application/json")],
                        Some(json!({ "mobile": "9100000009" }).to_string().into()),
                    )
                    .await
                    .expect("request")
                    .status
                    .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.expect("task"));
        }
        let ok = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(
            ok, 5,
            "{backend:?}: exactly five of twelve concurrent sends pass: {statuses:?}"
        );

        // Ten a day.
        let daily = IdentityConfig {
            limits: OtpLimits {
                sends_per_day: 10,
                ..limits
            },
            ..teeka_tests::generous_identity()
        };
        let d = Harness::new(store.clone(), daily).await;
        for _ in 0..10 {
            assert_eq!(d.send("9100000003").await.status, 200);
        }
        assert_eq!(
            code(&d.send("9100000003").await),
            "TKAOTP0002",
            "{backend:?}: eleventh in the day"
        );

        // Per IP, beside per mobile: both buckets must pass.
        let per_ip = IdentityConfig {
            limits: OtpLimits {
                ip_sends_per_hour: 3,
                ..limits
            },
            ..teeka_tests::generous_identity()
        };
        let p = Harness::new(store.clone(), per_ip).await;
        for m in ["9200000001", "9200000002", "9200000003"] {
            assert_eq!(p.send(m).await.status, 200);
        }
        let r = p.send("9200000004").await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (429, "TKAOTP0003".into()),
            "{backend:?}: per-IP bucket"
        );

        // Ten failed confirmations a day per mobile, then even the right OTP is refused.
        let fails = IdentityConfig {
            limits: OtpLimits {
                wrong_attempts_per_txn: 100,
                failures_per_day: 10,
                ..limits
            },
            ..teeka_tests::generous_identity()
        };
        let f = Harness::new(store.clone(), fails).await;
        let txn = body(&f.send("9300000001").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = f.last_otp("9300000001").await;
        let wrong = wrong_answer(&otp);
        for _ in 0..10 {
            let r = f
                .post(
                    "/api/v2/auth/public/confirmOTP",
                    json!({ "otp": wrong, "txnId": txn }),
                    None,
                )
                .await;
            assert_eq!(code(&r), "USRAUT0014");
        }
        let r = f
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": sha256_hex(&otp), "txnId": txn }),
                None,
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (429, "TKAOTP0006".into()),
            "{backend:?}: daily failure limit"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn generate_otp_answers_alike_whether_or_not_a_number_is_registered() {
    for_each_backend(teeka_tests::generous_identity(), |backend, h| async move {
        let token = h.login("9400000001").await;
        assert_eq!(
            h.register(&token, "Registered Person", &aadhaar("78901234567"))
                .await
                .status,
            200
        );
        let mut timings = [Vec::new(), Vec::new()];
        let mut shapes = Vec::new();
        for round in 0..20 {
            for (i, mobile) in ["9400000001", "9400000002"].iter().enumerate() {
                let started = Instant::now();
                let r = h.send(mobile).await;
                timings[i].push(started.elapsed());
                if round == 0 {
                    let keys: Vec<String> = body(&r)
                        .as_object()
                        .expect("object")
                        .keys()
                        .cloned()
                        .collect();
                    shapes.push((r.status.as_u16(), keys, r.body.len()));
                }
            }
        }
        assert_eq!(
            shapes[0], shapes[1],
            "{backend:?}: same status, fields and length"
        );
        // The fastest of each: scheduling noise on a shared machine only ever adds time, so the
        // minimum shows the work each answer costs.
        let fastest = |v: &Vec<Duration>| *v.iter().min().expect("20 timings");
        let (registered, unknown) = (fastest(&timings[0]), fastest(&timings[1]));
        let (lo, hi) = if registered < unknown {
            (registered, unknown)
        } else {
            (unknown, registered)
        };
        assert!(
            hi <= lo * 2 + Duration::from_millis(5),
            "{backend:?}: fastest {registered:?} vs {unknown:?} differ beyond noise"
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_log_out_and_refuse_strangers() {
    let identity = IdentityConfig {
        // Long enough for a slow machine's first requests, short enough to wait out.
        session_ttl: Duration::from_secs(3),
        ..teeka_tests::generous_identity()
    };
    for_each_backend(identity, |backend, h| async move {
        let token = h.login("9500000001").await;
        assert_eq!(
            h.get("/api/v2/appointment/beneficiaries", Some(&token))
                .await
                .status,
            200
        );
        for bad in [None, Some("not-a-token"), Some("")] {
            let r = h.get("/api/v2/appointment/beneficiaries", bad).await;
            assert_eq!(
                (r.status.as_u16(), code(&r)),
                (401, "TKAAUT0001".into()),
                "{backend:?}: {bad:?}"
            );
            assert_eq!(body(&r)["error"], "Unauthenticated access!");
        }
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let r = h
            .get("/api/v2/appointment/beneficiaries", Some(&token))
            .await;
        assert_eq!(
            r.status.as_u16(),
            401,
            "{backend:?}: expired after its lifetime"
        );

        let token = h.login("9500000001").await;
        assert_eq!(
            h.post("/api/v2/auth/logout", json!({}), Some(&token))
                .await
                .status
                .as_u16(),
            204
        );
        let r = h
            .get("/api/v2/appointment/beneficiaries", Some(&token))
            .await;
        assert_eq!(r.status.as_u16(), 401, "{backend:?}: revoked by logout");
    })
    .await;
}

#[tokio::test]
async fn other_peoples_beneficiaries_look_exactly_like_missing_ones() {
    for_each_backend(teeka_tests::generous_identity(), |backend, h| async move {
        let alice = h.login("9600000001").await;
        let mallory = h.login("9600000002").await;
        let id = aadhaar("89012345678");
        let r = h.register(&alice, "Alice Fernandes", &id).await;
        let alices = body(&r)["beneficiary_reference_id"].as_str().expect("ref").to_owned();

        let theirs = h.post("/api/v2/registration/beneficiary/delete", json!({ "beneficiary_reference_id": alices }), Some(&mallory)).await;
        let nobody = h
            .post("/api/v2/registration/beneficiary/delete", json!({ "beneficiary_reference_id": "12345678901234" }), Some(&mallory))
            .await;
        assert_eq!(theirs.status.as_u16(), 404, "{backend:?}");
        assert_eq!((theirs.status, theirs.body.clone()), (nobody.status, nobody.body.clone()), "{backend:?}: indistinguishable");
        let mallorys = body(&h.get("/api/v2/appointment/beneficiaries", Some(&mallory)).await);
        assert_eq!(mallorys["beneficiaries"], json!([]), "{backend:?}");

        // The same ID on another mobile is refused without saying where it is registered.
        let dup = h.register(&mallory, "Alice Fernandes", &id).await;
        assert_eq!((dup.status.as_u16(), code(&dup)), (409, "TKABEN0002".into()), "{backend:?}");
        assert!(!dup.text().contains("9600000001") && !dup.text().contains("0001"), "{backend:?}: no hint of the holder");
        let spaced = h.register(&mallory, "Alice F", &format!("{} {} {}", &id[..4], &id[4..8], &id[8..])).await;
        assert_eq!(code(&spaced), "TKABEN0002", "{backend:?}: the same number however it is written");

        // Probing IDs from one account stops after a few refusals a day.
        let registered = ["51111111111", "62222222222", "73333333333"];
        for (mobile, stem) in ["9610000001", "9610000002", "9610000003"].iter().zip(registered) {
            let other = h.login(mobile).await;
            assert_eq!(h.register(&other, "Someone Else", &aadhaar(stem)).await.status, 200);
        }
        let probe = h.login("9600000003").await;
        let mut codes = Vec::new();
        for stem in registered.iter().chain(&registered) {
            codes.push(code(&h.register(&probe, "Prober", &aadhaar(stem)).await));
        }
        assert_eq!(codes[..3], ["TKABEN0002", "TKABEN0002", "TKABEN0002"], "{backend:?}");
        assert_eq!(codes[5], "TKABEN0004", "{backend:?}: the sixth probe is refused as probing");
        let events = h.store.access_events(0, 1000).await.expect("events");
        assert_eq!(
            events.iter().filter(|e| e.event.action == "beneficiary.duplicate_refused").count(),
            7,
            "{backend:?}: each refusal is in the holder's history (Mallory's two and the five probes)"
        );
        let fresh = h.register(&probe, "Prober", &aadhaar("81234567890")).await;
        assert_eq!(code(&fresh), "TKABEN0004", "{backend:?}: paused for the day, even for a new ID");

        // Bad input: clear messages, nothing written.
        let bad_checksum = format!("{}{}", &id[..11], (id.as_bytes()[11] - b'0' + 1) % 10);
        let r = h.register(&mallory, "Someone", &bad_checksum).await;
        assert_eq!((r.status.as_u16(), code(&r)), (400, "TKAREQ0001".into()));
        assert!(!r.text().contains(&bad_checksum));
        let r = h
            .post("/api/v2/registration/beneficiary/new", json!({ "name": "X", "birth_year": "1850", "gender_id": 1,
                "photo_id_type": 1, "photo_id_number": aadhaar("90123456789"), "consent_version": "V1" }), Some(&mallory))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{backend:?}: implausible birth year");
        let r = h
            .post("/api/v2/registration/beneficiary/new", json!({ "name": "X", "birth_year": "1990", "gender_id": 9,
                "photo_id_type": 1, "photo_id_number": aadhaar("90123456789"), "consent_version": "V1" }), Some(&mallory))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{backend:?}: unknown gender");
        assert_eq!(body(&h.get("/api/v2/appointment/beneficiaries", Some(&mallory)).await)["beneficiaries"], json!([]));

        // Alice deletes her own; the ID is free again.
        let r = h.post("/api/v2/registration/beneficiary/delete", json!({ "beneficiary_reference_id": alices }), Some(&alice)).await;
        assert_eq!(r.status.as_u16(), 204, "{backend:?}");
        assert_eq!(h.register(&mallory, "Alice Fernandes", &id).await.status, 200, "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn keys_rotate_while_serving_and_nothing_is_stored_in_the_clear() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let key_dir = tempfile::tempdir().expect("dir");
        let server_vault =
            Arc::new(Vault::load_or_create(key_dir.path().join("keys")).expect("keys"));
        let app = spawn_app_with(
            store.clone(),
            no_limits(),
            server_vault.clone(),
            teeka_tests::generous_identity(),
        )
        .await;
        let h = Harness {
            app,
            store: store.clone(),
            vault: server_vault.clone(),
            outbox: tempfile::tempdir().expect("dir"),
        };

        let people = [
            ("9700000001", "Kavita Raghunathan", aadhaar("23571113171")),
            ("9700000002", "Joseph Thekkekara", aadhaar("29313741434")),
        ];
        let mut tokens = Vec::new();
        for (mobile, name, id) in &people {
            let token = h.login(mobile).await;
            assert_eq!(h.register(&token, name, id).await.status, 200);
            tokens.push(token);
        }

        // Another process (the CLI) rotates with its own vault over the same key files.
        let cli_vault = Vault::load_or_create(key_dir.path().join("keys")).expect("keys");
        let report = teeka_app::keys::rotate(&store, &cli_vault, 1)
            .await
            .expect("rotate");
        assert_eq!(report.key_id, 2, "{backend:?}");
        assert!(
            report.resealed >= 6,
            "{backend:?}: 2 mobiles, 2 names, 2 IDs and more, got {}",
            report.resealed
        );
        for column in teeka_store::identity::SealedColumn::ALL {
            let left = store
                .sealed_not_prefixed(column, &[1, 0, 0, 0, 2], 10)
                .await
                .expect("scan");
            assert!(
                left.is_empty(),
                "{backend:?}: {column:?} still has values under the old key"
            );
        }
        // The running server, which never heard of key 2, still reads everything.
        for (token, (_, _, id)) in tokens.iter().zip(&people) {
            let list = body(
                &h.get("/api/v2/appointment/beneficiaries", Some(token))
                    .await,
            );
            assert_eq!(
                list["beneficiaries"][0]["photo_id_number"],
                format!("XXXXXXXX{}", &id[8..]),
                "{backend:?}"
            );
        }

        // A raw look at the database: no name, mobile or ID number in the clear.
        let raw: Vec<u8> = match backend {
            Backend::Sqlite => {
                store.close().await;
                let path = db.sqlite_path().expect("sqlite file");
                let mut bytes = std::fs::read(&path).expect("db file");
                for suffix in ["-wal", "-shm"] {
                    if let Ok(more) = std::fs::read(format!("{}{suffix}", path.display())) {
                        bytes.extend(more);
                    }
                }
                bytes
            }
            Backend::Postgres => {
                let pg_dump = std::env::var("TEEKA_PG_BIN")
                    .map_or("pg_dump".to_owned(), |b| format!("{b}/pg_dump"));
                let out = std::process::Command::new(pg_dump)
                    .arg(&db.url)
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                store.close().await;
                out.stdout
            }
        };
        assert!(raw.len() > 10_000, "{backend:?}: the dump has content");
        let haystack = String::from_utf8_lossy(&raw);
        for (mobile, name, id) in &people {
            for secret in [
                mobile.to_string(),
                name.to_string(),
                id.clone(),
                name.split(' ').next().expect("first").to_owned(),
            ] {
                assert!(
                    !haystack.contains(&secret),
                    "{backend:?}: {secret:?} found in the raw database"
                );
                // pg_dump prints byte columns as hex: look for that spelling too.
                let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
                assert!(
                    !haystack.contains(&hex),
                    "{backend:?}: {secret:?} found hex-encoded in the raw database"
                );
            }
        }
        // Sanity check that the scan would have found plaintext: master data is stored in the clear.
        assert!(haystack.contains("Maharashtra"), "{backend:?}");
    }
}

#[tokio::test]
async fn a_gateway_outage_delays_sms_but_loses_none() {
    use axum::routing::post;
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let h = Harness::new(store.clone(), teeka_tests::generous_identity()).await;
        assert_eq!(h.send("9800000001").await.status, 200);

        // The gateway's port is reserved but nothing listens yet: delivery fails and is retried.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let notifier = Notifier::Webhook(format!("http://{addr}/sms").parse().expect("uri"));
        assert_eq!(
            deliver_due(&store, &h.vault, &notifier)
                .await
                .expect("pass"),
            0,
            "{backend:?}: gateway down"
        );
        let waiting = store.due_outbox(i64::MAX, 10).await.expect("outbox");
        assert_eq!(waiting.len(), 1, "{backend:?}: still queued");
        assert_eq!(
            waiting[0].attempts, 1,
            "{backend:?}: the failed attempt is counted"
        );
        assert!(
            store
                .due_outbox(teeka_app::clock::now_ms(), 10)
                .await
                .expect("outbox")
                .is_empty(),
            "{backend:?}: backing off"
        );

        // The gateway comes up; the retry delivers the message, once.
        let received = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
        let sink = received.clone();
        let gateway = axum::Router::new().route(
            "/sms",
            post(move |body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .expect("lock")
                        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("rebind the gateway port");
        let server = tokio::spawn(async move { axum::serve(listener, gateway).await });
        // Make the message due now instead of waiting out the backoff.
        let m = &waiting[0];
        assert!(
            store
                .claim_outbox(m.message_id, m.next_attempt_at_ms, 0)
                .await
                .expect("reschedule")
        );
        assert_eq!(
            deliver_due(&store, &h.vault, &notifier)
                .await
                .expect("pass"),
            1,
            "{backend:?}"
        );
        assert_eq!(
            deliver_due(&store, &h.vault, &notifier)
                .await
                .expect("pass"),
            0,
            "{backend:?}: not twice"
        );
        let got = received.lock().expect("lock").clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["to"], "9800000001");
        assert_eq!(got[0]["template"], "otp");
        assert_eq!(got[0]["otp"].as_str().map(str::len), Some(6));
        server.abort();

        // A day later, nothing of it is kept: no OTP transaction, no delivered message.
        let pruned = store
            .prune_expired(teeka_app::clock::now_ms() + 86_400_000)
            .await
            .expect("prune");
        assert!(
            pruned >= 4,
            "{backend:?}: the transaction, the message and its two rate events ({pruned})"
        );
        assert!(
            store
                .due_outbox(i64::MAX, 10)
                .await
                .expect("outbox")
                .is_empty()
        );
        store.close().await;
    }
}

#[tokio::test]
async fn concurrent_confirms_cannot_share_an_otp_or_exceed_three_strikes() {
    for_each_backend(teeka_tests::generous_identity(), |backend, h| async move {
        let addr = h.app.addr;
        let fire = |payload: Value, n: usize| async move {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let body = payload.to_string();
                    tokio::spawn(async move {
                        teeka_loadgen::request(
                            addr,
                            Method::POST,
                            "/api/v2/auth/public/confirmOTP",
                            &[("content-type", "application/json")],
                            Some(body.into()),
                        )
                        .await
                        .expect("request")
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("task"));
            }
            out
        };
        // Eight simultaneous right answers: exactly one session.
        let txn = body(&h.send("9900000001").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = h.last_otp("9900000001").await;
        let answers = fire(json!({ "otp": sha256_hex(&otp), "txnId": txn }), 8).await;
        let tokens = answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(tokens, 1, "{backend:?}: one OTP, one session");

        // Ten simultaneous wrong answers: three are counted, then the transaction is void, and the
        // right answer afterwards is refused.
        let txn = body(&h.send("9900000002").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = h.last_otp("9900000002").await;
        let wrong = wrong_answer(&otp);
        let answers = fire(json!({ "otp": wrong, "txnId": txn }), 10).await;
        let codes: Vec<String> = answers.iter().map(code).collect();
        assert_eq!(
            codes.iter().filter(|c| *c == "USRAUT0014").count(),
            2,
            "{backend:?}: {codes:?}"
        );
        assert!(
            codes.iter().all(|c| c == "USRAUT0014" || c == "TKAOTP0005"),
            "{backend:?}: {codes:?}"
        );
        let late = fire(json!({ "otp": sha256_hex(&otp), "txnId": txn }), 1).await;
        assert_eq!(code(&late[0]), "TKAOTP0005", "{backend:?}: void stays void");

        // Sends and confirms for one mobile from one network at once: locks are always taken in
        // the same order, so none of them deadlocks (which would surface as a 5xx).
        let txn = body(&h.send("9900000003").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let mixed: Vec<_> = (0..16)
            .map(|i| {
                let (path, payload) = if i % 2 == 0 {
                    (
                        "/api/v2/auth/public/generateOTP",
                        json!({ "mobile": "9900000003" }),
                    )
                } else {
                    (
                        "/api/v2/auth/public/confirmOTP",
                        json!({ "otp": sha256_hex("000000"), "txnId": txn }),
                    )
                };
                let body = payload.to_string();
                tokio::spawn(async move {
                    teeka_loadgen::request(
                        addr,
                        Method::POST,
                        path,
                        &[("content-type", "application/json")],
                        Some(body.into()),
                    )
                    .await
                    .expect("request")
                    .status
                    .as_u16()
                })
            })
            .collect();
        for t in mixed {
            let status = t.await.expect("task");
            assert!(status < 500, "{backend:?}: {status}");
        }
    })
    .await;
}

#[tokio::test]
async fn guessing_across_numbers_is_limited_per_network_and_errors_echo_nothing() {
    let identity = IdentityConfig {
        limits: OtpLimits {
            ip_failures_per_hour: 5,
            ..teeka_tests::generous_identity().limits
        },
        ..teeka_tests::generous_identity()
    };
    for_each_backend(identity, |backend, h| async move {
        for n in 0..5 {
            let txn = body(&h.send(&format!("98000000{n:02}")).await)["txnId"]
                .as_str()
                .expect("txn")
                .to_owned();
            let r = h
                .post(
                    "/api/v2/auth/public/confirmOTP",
                    json!({ "otp": sha256_hex("999999x"), "txnId": txn }),
                    None,
                )
                .await;
            assert_eq!(code(&r), "USRAUT0014", "{backend:?}");
        }
        let txn = body(&h.send("9800000099").await)["txnId"]
            .as_str()
            .expect("txn")
            .to_owned();
        let otp = h.last_otp("9800000099").await;
        let r = h
            .post(
                "/api/v2/auth/public/confirmOTP",
                json!({ "otp": sha256_hex(&otp), "txnId": txn }),
                None,
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (429, "TKAOTP0007".into()),
            "{backend:?}: this network guessed too often"
        );

        // A number where a string belongs: the error says where, never what.
        let token = {
            let h2 = Harness::with_vault(
                h.store.clone(),
                teeka_tests::generous_identity(),
                h.vault.clone(),
            )
            .await;
            h2.login("9800000100").await
        };
        let r = h
            .post(
                "/api/v2/registration/beneficiary/new",
                json!({ "name": "A", "birth_year": "1990", "gender_id": 1,
                "photo_id_type": 1, "photo_id_number": 234567890124_u64, "consent_version": "V1" }),
                Some(&token),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{backend:?}");
        assert!(
            !r.text().contains("234567890124"),
            "{backend:?}: {}",
            r.text()
        );
    })
    .await;
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_persons_row_does_not_open() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let h = Harness::new(store.clone(), teeka_tests::generous_identity()).await;
        let asha = h.login("9990000001").await;
        let ravi = h.login("9990000002").await;
        assert_eq!(
            h.register(&asha, "Asha Kulkarni", &aadhaar("24681357913"))
                .await
                .status,
            200
        );
        let r = h
            .register(&ravi, "Ravi Shankar", &aadhaar("35792468013"))
            .await;
        let ravis = body(&r)["beneficiary_reference_id"]
            .as_str()
            .expect("ref")
            .to_owned();
        // Someone with write access to the database copies Ravi's sealed name onto Asha's row.
        teeka_tests::raw_execute(
            &db,
            &format!(
                "UPDATE beneficiaries SET name_sealed = (SELECT name_sealed FROM beneficiaries WHERE reference_id = '{ravis}') \
                 WHERE reference_id <> '{ravis}'"
            ),
        )
        .await;
        let r = h
            .get("/api/v2/appointment/beneficiaries", Some(&asha))
            .await;
        assert_eq!(
            r.status.as_u16(),
            500,
            "{backend:?}: tampering is detected, not served: {}",
            r.text()
        );
        assert!(
            !r.text().contains("R***") && !r.text().contains("Ravi"),
            "{backend:?}"
        );
        assert_eq!(
            body(
                &h.get("/api/v2/appointment/beneficiaries", Some(&ravi))
                    .await
            )["beneficiaries"][0]["name"],
            "R***",
            "{backend:?}: the untouched row still reads"
        );
        store.close().await;
    }
}
