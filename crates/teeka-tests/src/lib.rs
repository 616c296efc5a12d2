//! Helpers for Teeka's integration tests: a fresh database on each backend (SQLite in a temporary
//! directory; PostgreSQL as a new database in the throwaway cluster that `scripts/test.sh`
//! starts), a real server on port 0, and the shared fixtures' location.
//!
//! PostgreSQL tests need `TEEKA_TEST_POSTGRES_URL`. When `TEEKA_REQUIRE_POSTGRES=1` (the test
//! script sets it) a missing URL fails the run instead of quietly testing SQLite alone.
#![forbid(unsafe_code)]

use http::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use std::path::PathBuf;
use teeka_app::citizen::IdentityConfig;
use teeka_app::outbox::{Notifier, deliver_due};
use teeka_app::vault::{KeySource, Vault};
use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, CowinDate, DistrictId, DoseShare, FeeType, OpeningHours,
    Pincode, SessionPlan, StateId,
};
use teeka_store::Store;
use teeka_web::{AppState, WebConfig, build_router};
use tokio::net::TcpListener;

/// A storage backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The production store.
    Postgres,
}

/// The backends this run must cover.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if std::env::var("TEEKA_TEST_POSTGRES_URL").is_ok() {
        all.push(Backend::Postgres);
    } else if std::env::var("TEEKA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!(
            "TEEKA_REQUIRE_POSTGRES=1 but TEEKA_TEST_POSTGRES_URL is not set: run scripts/test.sh"
        );
    } else {
        eprintln!(
            "note: TEEKA_TEST_POSTGRES_URL not set; PostgreSQL cases skipped (scripts/test.sh runs them)"
        );
    }
    all
}

/// A fresh, empty database; SQLite's directory is removed on drop.
pub struct TestDb {
    /// The URL to open.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    /// The SQLite file's directory (kept alive with the database).
    pub dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates a fresh database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("teeka.db").display());
                TestDb {
                    url,
                    backend,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin =
                    std::env::var("TEEKA_TEST_POSTGRES_URL").expect("TEEKA_TEST_POSTGRES_URL");
                let name = format!("teeka_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to test cluster");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    dir: None,
                }
            }
        }
    }

    /// The SQLite file, for tests that read the raw bytes.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().join("teeka.db"))
    }
}

/// Opens `db`, migrates it and loads master data.
pub async fn prepared_store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.expect("open store");
    teeka_app::master::prepare_store(&store)
        .await
        .expect("migrate and load master data");
    store
}

/// Runs `test` once per backend, each time on a fresh, prepared store.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Backend, Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        eprintln!("-- on {backend:?}");
        test(backend, store.clone()).await;
        store.close().await;
    }
}

/// A Teeka server running in this process on a random loopback port.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its store.
    pub store: Store,
    /// Its state, for tests that look inside (or hold one of its slots).
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// `GET path` with optional headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> teeka_loadgen::HttpResponse {
        teeka_loadgen::request(self.addr, http::Method::GET, path, headers, None)
            .await
            .expect("request reaches the server")
    }

    /// Any method, with a body.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<bytes::Bytes>,
    ) -> teeka_loadgen::HttpResponse {
        teeka_loadgen::request(
            self.addr,
            method,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("request reaches the server")
    }

    /// Stops the server, letting requests in flight finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A vault with fresh keys, for a test.
pub fn test_vault() -> std::sync::Arc<Vault> {
    std::sync::Arc::new(Vault::new(
        teeka_crypto::Keys::generate().expect("keys"),
        KeySource::Fixed,
    ))
}

/// Starts Teeka on `127.0.0.1:0` over `store` with `config`, fresh keys and default identity settings.
pub async fn spawn_app(store: Store, config: WebConfig) -> TestApp {
    spawn_app_with(store, config, test_vault(), IdentityConfig::default()).await
}

/// Starts Teeka on `127.0.0.1:0` with everything given.
pub async fn spawn_app_with(
    store: Store,
    config: WebConfig,
    vault: std::sync::Arc<Vault>,
    identity: IdentityConfig,
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let state = AppState::new(store.clone(), config, vault, identity);
    let router = build_router(state.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        teeka_web::serve(listener, router, shutdown)
            .await
            .expect("server runs");
    });
    TestApp {
        addr,
        store,
        state,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Runs one SQL statement on `db` behind the store's back (to simulate an edit the store never
/// saw, or tampering).
pub async fn raw_execute(db: &TestDb, sql: &str) {
    raw_try_execute(db, sql).await.expect("raw sql");
}

/// As [`raw_execute`], returning the database's refusal instead of panicking.
pub async fn raw_try_execute(db: &TestDb, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .map_err(|e| e.to_string())?;
            let result = sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            conn.close().await.ok();
            result
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url)
                .await
                .map_err(|e| e.to_string())?;
            let result = sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            conn.close().await.ok();
            result
        }
    }
}

/// `../shared/fixtures` beside the project root (or `TEEKA_FIXTURES`).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("TEEKA_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

/// Reads and parses a JSON fixture.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    let path = fixtures_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Runs one of poppler's tools (`pdftoppm`, `pdftotext`) on `pdf`; its standard output, or the
/// file it wrote at `<dir>/out.<extension>`.
fn poppler(tool: &str, pdf: &[u8], args: &[&str], output: Option<&str>) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).expect("write pdf");
    let out_prefix = dir.path().join("out");
    let mut command = std::process::Command::new(tool);
    command.args(args).arg(&input);
    match output {
        Some(_) => command.arg(&out_prefix),
        None => command.arg("-"),
    };
    let run = command.output().unwrap_or_else(|e| {
        panic!("{tool} not found ({e}): install poppler-utils, or run scripts/test.sh, which does")
    });
    assert!(
        run.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    match output {
        Some(extension) => {
            std::fs::read(out_prefix.with_extension(extension)).expect("rendered page")
        }
        None => run.stdout,
    }
}

/// The first page of a PDF as a real renderer draws it (poppler's `pdftoppm`), as a PNG at
/// `dpi`: what a screen shows or a printer prints, for reading its QR code back.
pub fn pdf_page_png(pdf: &[u8], dpi: u32) -> Vec<u8> {
    poppler(
        "pdftoppm",
        pdf,
        &["-png", "-singlefile", "-r", &dpi.to_string()],
        Some("png"),
    )
}

/// The text of a PDF as a reader extracts it (poppler's `pdftotext`): what copy, search and
/// screen readers get.
pub fn pdf_text(pdf: &[u8]) -> String {
    String::from_utf8(poppler("pdftotext", pdf, &["-enc", "UTF-8"], None)).expect("UTF-8 text")
}

/// One JSON request; (status, body as JSON or null).
pub async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    payload: Option<Value>,
) -> (u16, Value) {
    call_with(addr, method, path, token, &[], payload).await
}

/// One JSON request with extra headers; (status, body as JSON or null).
pub async fn call_with(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    payload: Option<Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    headers.extend_from_slice(extra);
    let r = teeka_loadgen::request(
        addr,
        method,
        path,
        &headers,
        payload.map(|p| p.to_string().into()),
    )
    .await
    .expect("request");
    (
        r.status.as_u16(),
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// A valid (Verhoeff-checked) Aadhaar number, distinct per `n`.
pub fn aadhaar(n: u64) -> String {
    let stem = format!("{}", 20_000_000_000 + n);
    let check = teeka_domain::verhoeff::check_digit(&stem).expect("digits");
    format!("{stem}{check}")
}

/// Logs a citizen in (reading the OTP from the development outbox) and registers one person;
/// (token, reference id).
pub async fn citizen(
    addr: SocketAddr,
    store: &Store,
    vault: &Vault,
    outbox: &std::path::Path,
    n: u64,
    birth_year: i32,
) -> (String, String) {
    let mobile = format!("{}", 7_000_000_000 + n);
    let (_, sent) = call(
        addr,
        Method::POST,
        "/api/v2/auth/public/generateOTP",
        None,
        Some(json!({ "mobile": mobile })),
    )
    .await;
    let txn = sent["txnId"].as_str().expect("txn").to_owned();
    deliver_due(store, vault, &Notifier::Log(outbox.to_path_buf()))
        .await
        .expect("deliver");
    let text = std::fs::read_to_string(outbox).expect("outbox");
    let otp = text
        .lines()
        .rev()
        .map(|l| serde_json::from_str::<Value>(l).expect("line"))
        .find(|v| v["to"] == mobile.as_str())
        .expect("sms")["otp"]
        .as_str()
        .expect("otp")
        .to_owned();
    let (_, token) = call(
        addr,
        Method::POST,
        "/api/v2/auth/public/confirmOTP",
        None,
        Some(json!({ "otp": teeka_crypto::sha256_hex(&otp), "txnId": txn })),
    )
    .await;
    let token = token["token"].as_str().expect("token").to_owned();
    let (status, reg) = call(
        addr,
        Method::POST,
        "/api/v2/registration/beneficiary/new",
        Some(&token),
        Some(json!({ "name": "Test Person", "birth_year": birth_year.to_string(), "gender_id": 1, "photo_id_type": 1,
                     "photo_id_number": aadhaar(n), "consent_version": "V1" })),
    )
    .await;
    assert_eq!(status, 200, "{reg}");
    (
        token,
        reg["beneficiary_reference_id"]
            .as_str()
            .expect("ref")
            .to_owned(),
    )
}

/// A session at centre 1 (created on first use), 5 on-site places per dose; its id.
pub async fn centre_and_session(
    store: &Store,
    date: CowinDate,
    vaccine: &str,
    dose1: u32,
    dose2: u32,
    min_age: u8,
) -> uuid::Uuid {
    session_at(store, 1, date, vaccine, dose1, dose2, min_age).await
}

/// The authenticator code of an enrolment at now plus `offset_secs`, as the staff's app shows it.
pub fn totp_at(e: &teeka_app::staff::Enrolment, offset_secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let at = now
        .checked_add_signed(offset_secs)
        .expect("a time after 1970");
    teeka_crypto::totp::code_at(&e.totp_secret, at)
}

/// Creates a staff account (as the CLI does) and signs it in over HTTP with its temporary
/// password and an authenticator code, then changes the password; (bearer token, enrolment).
pub async fn signed_in_staff(
    addr: SocketAddr,
    store: &Store,
    vault: &Vault,
    username: &str,
    role: teeka_domain::StaffRole,
    scope: Option<i64>,
) -> (String, teeka_app::staff::Enrolment) {
    let (token, e, _) = signed_in_staff_with_code(addr, store, vault, username, role, scope).await;
    (token, e)
}

/// As [`signed_in_staff`], also giving the authenticator code the sign-in spent, for tests that
/// show it cannot be used again.
pub async fn signed_in_staff_with_code(
    addr: SocketAddr,
    store: &Store,
    vault: &Vault,
    username: &str,
    role: teeka_domain::StaffRole,
    scope: Option<i64>,
) -> (String, teeka_app::staff::Enrolment, String) {
    let config = teeka_app::staff::StaffConfig::default();
    let staff = teeka_app::staff::Staff {
        store,
        vault,
        config: &config,
    };
    let e = staff
        .create_user(username, role, scope)
        .await
        .expect("create");
    let sign_in_code = totp_at(&e, 0);
    let (status, answer) = call(
        addr,
        http::Method::POST,
        "/api/v1/staff/login",
        None,
        Some(serde_json::json!({ "username": username, "password": e.temporary_password, "totp": sign_in_code })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["token"].as_str().expect("token").to_owned();
    let (status, answer) = call(
        addr,
        http::Method::POST,
        "/api/v1/staff/password",
        Some(&token),
        Some(serde_json::json!({ "current": e.temporary_password, "new": "monsoon tamarind lantern 1947" })),
    )
    .await;
    assert_eq!(status, 204, "{answer}");
    (token, e, sign_in_code)
}

/// Today in India, after waiting out midnight (IST) when fewer than `minutes` of the day are left:
/// a test that books a session for today would otherwise find it in the past if the day turned
/// while it ran.
pub async fn today_in_india_with_margin(minutes: u16) -> teeka_domain::CowinDate {
    let left = 24 * 60 - teeka_app::anomaly::minute_now_in_india();
    if left <= minutes {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(left) * 60 + 1)).await;
    }
    teeka_app::clock::today_in_india()
}

/// Waits, when less than `margin_ms` is left of the current clock-aligned window of `period_ms`
/// (the partner limits count whole clock minutes and hours), until the next window begins, so a
/// test that counts requests against a limit does not straddle two windows.
pub async fn clear_of_window_end(period_ms: i64, margin_ms: i64) {
    let left = period_ms - teeka_app::clock::now_ms().rem_euclid(period_ms);
    if left < margin_ms {
        let wait = u64::try_from(left).unwrap_or(0) + 20;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

/// The online first-dose places a session has left.
pub async fn dose1_places(store: &Store, session: uuid::Uuid) -> u32 {
    store
        .get_session(session)
        .await
        .expect("get")
        .expect("session")
        .available
        .dose1
}

/// A session at centre `centre` (created in district 395, state 21 on first use), 5 on-site
/// places per dose; its id.
pub async fn session_at(
    store: &Store,
    centre: i64,
    date: CowinDate,
    vaccine: &str,
    dose1: u32,
    dose2: u32,
    min_age: u8,
) -> uuid::Uuid {
    if store
        .get_centre(CentreId(centre))
        .await
        .expect("get")
        .is_none()
    {
        store
            .insert_centres(&[Centre {
                id: CentreId(centre),
                name: "PHC Booking".into(),
                address: String::new(),
                state_id: StateId(21),
                district_id: DistrictId(395),
                block_name: "Ward".into(),
                pincode: Pincode::try_from(400001).expect("pin"),
                lat: 19.0,
                long: 72.8,
                fee_type: FeeType::Free,
                fees: Vec::new(),
                hours: OpeningHours {
                    from_minute: 540,
                    to_minute: 1020,
                },
            }])
            .await
            .expect("centre");
    }
    let id = uuid::Uuid::new_v4();
    store
        .insert_sessions(&[SessionPlan {
            id,
            centre_id: CentreId(centre),
            date,
            vaccine: vaccine.parse().expect("vaccine"),
            age: AgeLimits::new(min_age, None).expect("age"),
            capacity: Capacity {
                dose1: DoseShare {
                    online: dose1,
                    onsite: 5,
                },
                dose2: DoseShare {
                    online: dose2,
                    onsite: 5,
                },
                precaution: DoseShare {
                    online: 5,
                    onsite: 5,
                },
            },
            slots: vec!["09:00AM-11:00AM".parse().expect("slot")],
        }])
        .await
        .expect("session");
    id
}

/// Identity settings with OTP limits out of a test's way (no resend cooldown, a thousand sends),
/// keeping three wrong attempts per transaction.
pub fn generous_identity() -> teeka_app::citizen::IdentityConfig {
    teeka_app::citizen::IdentityConfig {
        limits: teeka_store::identity::OtpLimits {
            sends_per_hour: 1000,
            sends_per_day: 1000,
            resend_cooldown_ms: 0,
            ip_sends_per_hour: 1000,
            failures_per_day: 1000,
            wrong_attempts_per_txn: 3,
            ip_failures_per_hour: 1000,
        },
        ..teeka_app::citizen::IdentityConfig::default()
    }
}
