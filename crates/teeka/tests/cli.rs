//! The `teeka` binary as an operator uses it: real processes, real signals, real sockets, on
//! SQLite and PostgreSQL; and three `teeka serve` processes booking into one PostgreSQL.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use teeka_tests::{Backend, TestDb, backends};

const TEEKA: &str = env!("CARGO_BIN_EXE_teeka");

fn teeka(args: &[&str], db: &TestDb, data_dir: &Path) -> Output {
    Command::new(TEEKA)
        .args(args)
        .arg("--database-url")
        .arg(&db.url)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TEEKA_LISTEN")
        .output()
        .expect("teeka runs")
}

/// Runs one of `scripts/` against a server and database with `env`, expects it to succeed and to
/// print every one of `expected`; what it printed.
fn run_walkthrough(
    backend: impl std::fmt::Debug,
    script: &str,
    database_url: &str,
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
    expected: &[&str],
) -> String {
    let path = format!("{}/../../scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(path)
        .arg("--database-url")
        .arg(database_url)
        .arg("--data-dir")
        .arg(data_dir)
        .env("TEEKA", TEEKA)
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    let printed = stdout(&out);
    assert!(
        out.status.success(),
        "{backend:?} {script}: {printed}\n{}",
        stderr(&out)
    );
    for wanted in expected {
        assert!(
            printed.contains(wanted),
            "{backend:?} {script}: no {wanted} in\n{printed}"
        );
    }
    printed
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `teeka serve` child process; killed on drop if still running.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(db: &TestDb, data_dir: &Path, config: Option<&Path>) -> Server {
        let mut cmd = Command::new(TEEKA);
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db.url,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("TEEKA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let mut child = cmd.spawn().expect("teeka serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log_writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == "listening"
                {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_owned());
                }
                log_writer.lock().expect("log").push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server reports where it listens")
            .parse()
            .expect("an address");
        Server { child, addr, log }
    }

    async fn get(&self, path: &str) -> Answer {
        get(self.addr, path).await
    }

    fn terminate(self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.wait_for_exit()
    }

    /// Waits for the process to exit on its own (after a signal sent elsewhere).
    fn wait_for_exit(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().expect("server exits");
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log.lock().expect("log").clone();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response from a running server, body parsed as JSON (`Null` when it is not JSON).
struct Answer {
    status: u16,
    json: Value,
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    let r = teeka_loadgen::request(addr, http::Method::GET, path, &[], None)
        .await
        .expect("request");
    Answer {
        status: r.status.as_u16(),
        json: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    }
}

fn tomorrow() -> String {
    let d = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(5, 30, 0).expect("IST"))
        .date()
        + time::Duration::days(1);
    format!("{:02}-{:02}-{}", d.day(), u8::from(d.month()), d.year())
}

#[tokio::test]
async fn migrate_then_add_a_centre_and_a_session_while_the_server_runs() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("dir");
        let migrated = teeka(&["migrate"], &db, dir.path());
        assert!(
            migrated.status.success(),
            "{backend:?}: {}",
            stderr(&migrated)
        );
        assert!(
            stdout(&migrated).contains("37 states, 756 districts"),
            "{}",
            stdout(&migrated)
        );
        assert!(
            teeka(&["migrate"], &db, dir.path()).status.success(),
            "{backend:?}: migrate twice"
        );

        let config = dir.path().join("teeka.toml");
        std::fs::write(&config, "[cache]\nstaleness_ms = 300\n").expect("config");
        let server = Server::start(&db, dir.path(), Some(&config));

        let added = teeka(
            &[
                "admin",
                "facility",
                "add",
                "--name",
                "PHC Mulund",
                "--state",
                "21",
                "--district",
                "395",
                "--pincode",
                "400080",
                "--lat",
                "19.17",
                "--long",
                "72.95",
                "--block",
                "Ward T",
            ],
            &db,
            dir.path(),
        );
        assert!(added.status.success(), "{backend:?}: {}", stderr(&added));
        let centre_id = stdout(&added).trim().to_owned();
        assert_eq!(centre_id, "1", "{backend:?}: first centre gets id 1");

        let date = tomorrow();
        let path = format!(
            "/api/v2/appointment/sessions/public/calendarByCenter?center_id={centre_id}&date={date}"
        );
        assert_eq!(
            server.get(&path).await.json,
            serde_json::json!({}),
            "{backend:?}: no sessions yet"
        );

        let session = teeka(
            &[
                "admin",
                "session",
                "add",
                "--centre",
                &centre_id,
                "--date",
                &date,
                "--vaccine",
                "covishield",
                "--dose1",
                "10",
                "--dose2",
                "5",
                "--min-age",
                "18",
                "--max-age",
                "44",
                "--onsite",
                "2",
                "--slots",
                "09:00AM-11:00AM,11:00AM-01:00PM",
            ],
            &db,
            dir.path(),
        );
        assert!(
            session.status.success(),
            "{backend:?}: {}",
            stderr(&session)
        );
        let session_id: uuid::Uuid = stdout(&session)
            .trim()
            .parse()
            .expect("prints the new session's UUID");

        tokio::time::sleep(Duration::from_millis(400)).await;
        let seen = server.get(&path).await;
        assert_eq!(seen.status, 200);
        let s = &seen.json["centers"]["sessions"][0];
        assert_eq!(
            s["session_id"],
            session_id.to_string(),
            "{backend:?}: visible within the cache bound"
        );
        assert_eq!(s["available_capacity"], 15);
        assert_eq!(s["vaccine"], "COVISHIELD");
        assert_eq!(s["max_age_limit"], 44);
        assert_eq!(
            s["slots"],
            serde_json::json!(["09:00AM-11:00AM", "11:00AM-01:00PM"])
        );

        let past = teeka(
            &[
                "admin",
                "session",
                "add",
                "--centre",
                &centre_id,
                "--date",
                "01-01-2021",
                "--vaccine",
                "COVAXIN",
                "--dose1",
                "1",
                "--dose2",
                "1",
            ],
            &db,
            dir.path(),
        );
        assert!(
            !past.status.success(),
            "{backend:?}: a past date is refused"
        );
        assert!(stderr(&past).contains("past"), "{}", stderr(&past));

        let (status, log) = server.terminate();
        assert!(
            status.success(),
            "{backend:?}: SIGTERM is a clean exit, got {status:?}"
        );
        assert!(
            log.iter().any(|l| l.contains("stopped cleanly")),
            "{backend:?}: {log:?}"
        );
        for line in &log {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "structured log lines only: {line}"
            );
        }
    }
}

#[tokio::test]
async fn imports_are_all_or_nothing_in_json_and_csv() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("dir");
        let json_file = dir.path().join("centres.json");
        std::fs::write(
            &json_file,
            r#"[
              {"center_id": 700001, "name": "CHC Alibag", "state_id": 21, "district_id": 393, "pincode": 402201,
               "lat": 18.64, "long": 72.87, "block_name": "Alibag"},
              {"center_id": 700002, "name": "Apollo Navi Mumbai", "state_id": 21, "district_id": 392, "pincode": "400614",
               "lat": 19.03, "long": 73.02, "fee_type": "Paid", "fees": "COVISHIELD=780,COVAXIN=1410", "from": "08:00", "to": "20:00"}
            ]"#,
        )
        .expect("write");
        let ok = teeka(&["admin", "facility", "import"], &db, dir.path());
        assert!(!ok.status.success(), "a file is required");
        let ok = Command::new(TEEKA)
            .args(["admin", "facility", "import", "--database-url", &db.url])
            .arg(&json_file)
            .output()
            .expect("runs");
        assert!(ok.status.success(), "{backend:?}: {}", stderr(&ok));

        // A CSV whose second record is in the wrong state: nothing from it is imported.
        let csv_file = dir.path().join("centres.csv");
        let mut f = std::fs::File::create(&csv_file).expect("create");
        writeln!(
            f,
            "center_id,name,state_id,district_id,pincode,lat,long,block_name"
        )
        .expect("write");
        writeln!(f, "700003,PHC Panvel,21,393,410206,18.99,73.11,Panvel").expect("write");
        writeln!(f, "700004,PHC Wrong,9,393,110001,28.6,77.2,Nowhere").expect("write");
        drop(f);
        let bad = Command::new(TEEKA)
            .args(["admin", "facility", "import", "--database-url", &db.url])
            .arg(&csv_file)
            .output()
            .expect("runs");
        assert!(!bad.status.success(), "{backend:?}");
        assert!(
            stderr(&bad).contains("record 2"),
            "{backend:?}: names the record: {}",
            stderr(&bad)
        );

        let sessions_file = dir.path().join("sessions.csv");
        let date = tomorrow();
        std::fs::write(
            &sessions_file,
            format!(
                "center_id,date,vaccine,dose1,dose2,dose1_onsite,min_age,max_age,slots\n\
                 700001,{date},COVISHIELD,20,10,5,45,,\n\
                 700002,{date},COVAXIN,15,15,0,18,44,\"10:00AM-12:00PM,12:00PM-02:00PM\"\n"
            ),
        )
        .expect("write");
        let imported = Command::new(TEEKA)
            .args(["admin", "session", "import", "--database-url", &db.url])
            .arg(&sessions_file)
            .output()
            .expect("runs");
        assert!(
            imported.status.success(),
            "{backend:?}: {}",
            stderr(&imported)
        );
        assert_eq!(
            stdout(&imported).lines().count(),
            2,
            "{backend:?}: one UUID per session"
        );

        let store = teeka_tests::prepared_store(&db).await;
        let counts = store.counts().await.expect("counts");
        assert_eq!(
            (counts.centres, counts.sessions),
            (2, 2),
            "{backend:?}: the bad CSV added nothing"
        );
        let paid = store
            .get_centre(teeka_domain::CentreId(700002))
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(paid.centre.fees.len(), 2);
        assert_eq!(paid.centre.hours.from_minute, 8 * 60);
        store.close().await;
    }
}

/// Starts `teeka demo` on a free port of this machine with `args` (beside the database) and
/// reads what it prints until it says how to stop it; the process, where it listens and the lines
/// it printed. The rest of what it prints is read and dropped, so it never waits on a full pipe.
fn start_demo(db: &TestDb, args: &[&str], stderr: Stdio) -> (Child, SocketAddr, Vec<String>) {
    let mut child = Command::new(TEEKA)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--database-url")
        .arg(&db.url)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("demo starts");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut seen = Vec::new();
    let mut addr = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.strip_prefix("Teeka demo listening on http://") {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
        let done = line.starts_with("Stop with");
        seen.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let addr: SocketAddr = addr
        .expect("prints where it listens")
        .parse()
        .expect("address");
    (child, addr, seen)
}

#[tokio::test]
async fn demo_loads_a_country_and_no_limits_is_loud() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (mut child, addr, seen) = start_demo(
        &db,
        &["--centres-per-district", "2", "--seed", "7", "--no-limits"],
        Stdio::piped(),
    );
    assert!(seen.iter().any(|l| l.contains("1512 centres")), "{seen:?}");
    assert!(
        seen.iter().any(|l| l.contains("calendarByDistrict")),
        "prints what to try: {seen:?}"
    );
    let states = get(addr, "/api/v2/admin/location/states").await;
    assert_eq!(states.json["states"].as_array().map(Vec::len), Some(37));
    for _ in 0..110 {
        assert_eq!(get(addr, "/healthz").await.status, 200);
    }
    for _ in 0..105 {
        let r = get(addr, "/api/v2/admin/location/states").await;
        assert_eq!(r.status, 200, "--no-limits: no 429");
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("exits");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("RATE LIMITS ARE OFF"), "{err}");
}

#[test]
fn settings_come_from_flag_then_env_then_file() {
    let dir = tempfile::tempdir().expect("dir");
    let from_file = dir.path().join("from-file");
    let from_flag = dir.path().join("from-flag");
    let config = dir.path().join("teeka.toml");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n", from_file.display().to_string()),
    )
    .expect("config");
    let run = |extra: &[&str], env: Option<&Path>| {
        let mut cmd = Command::new(TEEKA);
        cmd.args(["migrate", "--config"])
            .arg(&config)
            .args(extra)
            .env_remove("TEEKA_DATA_DIR");
        if let Some(env) = env {
            cmd.env("TEEKA_DATA_DIR", env);
        }
        cmd.output().expect("runs")
    };
    assert!(run(&[], None).status.success());
    assert!(
        from_file.join("teeka.db").exists(),
        "the file's data_dir is used"
    );
    let from_env = dir.path().join("from-env");
    assert!(run(&[], Some(&from_env)).status.success());
    assert!(
        from_env.join("teeka.db").exists(),
        "the environment beats the file"
    );
    let flag = from_flag.display().to_string();
    assert!(
        run(&["--data-dir", &flag], Some(&from_env))
            .status
            .success()
    );
    assert!(
        from_flag.join("teeka.db").exists(),
        "the flag beats the environment"
    );

    std::fs::write(&config, "[rate_limit]\npublic_requests = 0\n").expect("config");
    let refused = run(&[], None);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("only `teeka demo --no-limits`"),
        "{}",
        stderr(&refused)
    );
    std::fs::write(&config, "no_such_setting = 1\n").expect("config");
    assert!(
        !run(&[], None).status.success(),
        "unknown keys are refused, not ignored"
    );
}

#[test]
fn production_mode_refuses_the_log_sms_backend_and_invented_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("teeka.toml");
    let run = |args: &[&str]| {
        Command::new(TEEKA)
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("TEEKA_VAULT_KEYS")
            .env_remove("TEEKA_BLIND_INDEX_KEY")
            .env_remove("TEEKA_OTP_KEY")
            .env_remove("TEEKA_LEDGER_SIGNING_KEY")
            .output()
            .expect("runs")
    };
    std::fs::write(&config, "mode = \"production\"\n").expect("config");
    let refused = run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("refused in production"),
        "{}",
        stderr(&refused)
    );

    std::fs::write(&config, "mode = \"production\"\n[sms]\nbackend = \"webhook\"\nwebhook_url = \"http://127.0.0.1:9/sms\"\n")
        .expect("config");
    let no_keys = run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!no_keys.status.success());
    assert!(
        stderr(&no_keys).contains("production mode needs keys"),
        "{}",
        stderr(&no_keys)
    );
    assert!(
        !dir.path().join("keys").exists(),
        "production never creates keys of its own"
    );
}

#[test]
fn keys_rotate_adds_a_key_and_keeps_files_private() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().display().to_string();
    for expected in [
        "sealing key 2 is now current",
        "sealing key 3 is now current",
    ] {
        let out = Command::new(TEEKA)
            .args(["keys", "rotate", "--data-dir", &data])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(expected), "{}", stdout(&out));
    }
    std::fs::write(dir.path().join("keys/rotate.lock"), b"").expect("lock");
    let blocked = Command::new(TEEKA)
        .args(["keys", "rotate", "--data-dir", &data])
        .output()
        .expect("runs");
    assert!(
        !blocked.status.success(),
        "a second rotation waits its turn"
    );
    assert!(
        stderr(&blocked).contains("another key rotation is running"),
        "{}",
        stderr(&blocked)
    );
    std::fs::remove_file(dir.path().join("keys/rotate.lock")).expect("unlock");
    let vault: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("keys/vault.json")).expect("vault"),
    )
    .expect("json");
    assert_eq!(vault["current"], 3);
    assert_eq!(
        vault["keys"].as_object().map(|k| k.len()),
        Some(3),
        "old keys stay, to open old values"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["vault.json", "blind-index.key", "otp.key"] {
            let mode = std::fs::metadata(dir.path().join("keys").join(file))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&db, dir.path(), None);
    let body = br#"{"mobile":"9876543210"}"#;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v2/auth/public/generateOTP HTTP/1.1\r\nHost: teeka\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body[..5]).await.expect("half the body");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The request is half-way through its body when the signal arrives.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(&body[5..])
        .await
        .expect("rest of the body");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight was answered: {answer}"
    );
    assert!(answer.contains("txnId"), "{answer}");
    let (status, log) = server.wait_for_exit();
    assert!(status.success(), "{status:?}");
    assert!(log.iter().any(|l| l.contains("stopped cleanly")), "{log:?}");
}

/// A request to a running server with a JSON body and extra headers; (status, JSON body).
async fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (u16, Value) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let r = teeka_loadgen::request(
        addr,
        http::Method::POST,
        path,
        &all,
        Some(body.to_string().into()),
    )
    .await
    .expect("request");
    (
        r.status.as_u16(),
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn aadhaar(n: u64) -> String {
    let stem = format!("{}", 30_000_000_000 + n);
    let check = teeka_domain::verhoeff::check_digit(&stem).expect("digits");
    format!("{stem}{check}")
}

/// 500 citizens, each behind its own address at a load balancer, book one session with 10
/// online places through three separate `teeka serve` processes on one PostgreSQL: exactly 10
/// bookings, 490 × APPOIN0040, nothing left.
#[tokio::test]
async fn three_server_processes_on_one_postgres_sell_each_place_once() {
    const CITIZENS: u64 = 500;
    for backend in backends() {
        if backend != Backend::Postgres {
            continue;
        }
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("dir");
        assert!(teeka(&["migrate"], &db, dir.path()).status.success());
        let config = dir.path().join("teeka.toml");
        // The servers sit behind a proxy on 127.0.0.1 that names each citizen's address.
        std::fs::write(
            &config,
            "trusted_proxies = [\"127.0.0.1\"]\n[rate_limit]\npublic_requests = 1000000\n",
        )
        .expect("config");
        let servers: Vec<Server> = (0..3)
            .map(|_| Server::start(&db, dir.path(), Some(&config)))
            .collect();
        let centre = teeka(
            &[
                "admin",
                "facility",
                "add",
                "--name",
                "PHC Three",
                "--state",
                "21",
                "--district",
                "395",
                "--pincode",
                "400080",
                "--lat",
                "19.17",
                "--long",
                "72.95",
                "--block",
                "Ward T",
            ],
            &db,
            dir.path(),
        );
        assert!(centre.status.success(), "{}", stderr(&centre));
        let session = teeka(
            &[
                "admin",
                "session",
                "add",
                "--centre",
                stdout(&centre).trim(),
                "--date",
                &tomorrow(),
                "--vaccine",
                "covishield",
                "--dose1",
                "10",
                "--dose2",
                "5",
                "--min-age",
                "18",
                "--onsite",
                "2",
                "--slots",
                "09:00AM-11:00AM",
            ],
            &db,
            dir.path(),
        );
        assert!(session.status.success(), "{}", stderr(&session));
        let session_id = stdout(&session).trim().to_owned();

        let addr_of = |n: u64| servers[(n % 3) as usize].addr;
        let client = |n: u64| format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255 | 1);
        let mobile = |n: u64| format!("{}", 8_000_000_000 + n);
        // Everyone asks for an OTP at once, spread over the three processes.
        let sends: Vec<_> = (0..CITIZENS)
            .map(|n| {
                let (addr, ip, mobile) = (addr_of(n), client(n), mobile(n));
                tokio::spawn(async move {
                    post(
                        addr,
                        "/api/v2/auth/public/generateOTP",
                        &[("x-forwarded-for", &ip)],
                        serde_json::json!({ "mobile": mobile }),
                    )
                    .await
                })
            })
            .collect();
        let mut txns = Vec::new();
        for s in sends {
            let (status, body) = s.await.expect("task");
            assert_eq!(status, 200, "{body}");
            txns.push(body["txnId"].as_str().expect("txn").to_owned());
        }
        // The three processes' outbox workers write development SMS to one file.
        let log = dir.path().join("outbox").join("sms.jsonl");
        let mut otps = std::collections::HashMap::new();
        for _ in 0..120 {
            otps = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter_map(|v| Some((v["to"].as_str()?.to_owned(), v["otp"].as_str()?.to_owned())))
                .collect();
            if otps.len() as u64 >= CITIZENS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            otps.len() as u64,
            CITIZENS,
            "every OTP delivered exactly once"
        );
        let logins: Vec<_> = (0..CITIZENS)
            .map(|n| {
                let (addr, ip) = (addr_of(n + 1), client(n));
                let otp = teeka_crypto::sha256_hex(&otps[&mobile(n)]);
                let txn = txns[n as usize].clone();
                tokio::spawn(async move {
                    let (_, t) = post(addr, "/api/v2/auth/public/confirmOTP", &[("x-forwarded-for", &ip)],
                                      serde_json::json!({ "otp": otp, "txnId": txn })).await;
                    let token = t["token"].as_str().expect("token").to_owned();
                    let auth = format!("Bearer {token}");
                    let (status, reg) = post(
                        addr,
                        "/api/v2/registration/beneficiary/new",
                        &[("x-forwarded-for", &ip), ("authorization", &auth)],
                        serde_json::json!({ "name": "Three Process", "birth_year": "1990", "gender_id": 1,
                            "photo_id_type": 1, "photo_id_number": aadhaar(n), "consent_version": "V1" }),
                    )
                    .await;
                    assert_eq!(status, 200, "{reg}");
                    (auth, reg["beneficiary_reference_id"].as_str().expect("ref").to_owned())
                })
            })
            .collect();
        let mut people = Vec::new();
        for l in logins {
            people.push(l.await.expect("task"));
        }
        // Everyone presses "book" at once; request n goes to process n % 3.
        let bookings: Vec<_> = people
            .into_iter()
            .enumerate()
            .map(|(n, (auth, reference))| {
                let (addr, ip) = (addr_of(n as u64), client(n as u64));
                let body = serde_json::json!({ "dose": 1, "session_id": session_id, "slot": "09:00AM-11:00AM",
                                              "beneficiaries": [reference] });
                tokio::spawn(async move {
                    post(addr, "/api/v2/appointment/schedule",
                         &[("x-forwarded-for", &ip), ("authorization", &auth)], body).await
                })
            })
            .collect();
        let (mut booked, mut full, mut other) = (0, 0, Vec::new());
        for b in bookings {
            match b.await.expect("task") {
                (200, _) => booked += 1,
                (409, body) if body["errorCode"] == "APPOIN0040" => full += 1,
                unexpected => other.push(unexpected),
            }
        }
        assert_eq!((booked, full), (10, 490), "others: {other:?}");
        let store = teeka_store::Store::connect(&db.url).await.expect("store");
        let left = store
            .get_session(session_id.parse().expect("uuid"))
            .await
            .expect("get")
            .expect("session")
            .available;
        assert_eq!(left.dose1, 0, "capacity used exactly");
        store.close().await;
        for server in servers {
            let (status, _) = server.terminate();
            assert!(status.success());
        }
    }
}

/// The desk walk-through (`scripts/desk-walkthrough.sh`) with curl against `teeka serve`, from an
/// account `teeka admin create-user` makes: sign in, enrol the authenticator, list, check in,
/// record the dose, report an adverse event.
#[tokio::test]
async fn the_desk_walkthrough_runs_with_curl_from_a_cli_created_account() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("dir");
        assert!(teeka(&["migrate"], &db, dir.path()).status.success());
        let config = dir.path().join("teeka.toml");
        // Same-day booking stays open (almost) all day, so the test runs at any hour.
        std::fs::write(&config, "[booking]\nsame_day_cutoff = \"23:58\"\n").expect("config");
        let server = Server::start(&db, dir.path(), Some(&config));
        let centre = teeka(
            &[
                "admin",
                "facility",
                "add",
                "--name",
                "PHC Desk",
                "--state",
                "21",
                "--district",
                "395",
                "--pincode",
                "400080",
                "--lat",
                "19.17",
                "--long",
                "72.95",
                "--block",
                "Ward T",
            ],
            &db,
            dir.path(),
        );
        assert!(centre.status.success(), "{}", stderr(&centre));
        let centre = stdout(&centre).trim().to_owned();
        // Clear of midnight in India and of the 23:58 cut-off for the walk-through's length.
        teeka_tests::today_in_india_with_margin(8).await;
        let today = {
            let d = time::OffsetDateTime::now_utc()
                .to_offset(time::UtcOffset::from_hms(5, 30, 0).expect("IST"))
                .date();
            format!("{:02}-{:02}-{}", d.day(), u8::from(d.month()), d.year())
        };
        let session = teeka(
            &[
                "admin",
                "session",
                "add",
                "--centre",
                &centre,
                "--date",
                &today,
                "--vaccine",
                "covishield",
                "--dose1",
                "10",
                "--dose2",
                "5",
                "--min-age",
                "18",
                "--slots",
                "09:00AM-11:00AM",
            ],
            &db,
            dir.path(),
        );
        assert!(session.status.success(), "{}", stderr(&session));
        let session_id = stdout(&session).trim().to_owned();

        // A citizen books today's session and reads the code from their list.
        let mobile = "9123456780";
        let log = dir.path().join("outbox").join("sms.jsonl");
        let (token, reference) = citizen_with_member(
            server.addr,
            &log,
            mobile,
            serde_json::json!({ "name": "Desk Person", "birth_year": "1975", "gender_id": 2, "photo_id_type": 1,
                                "photo_id_number": aadhaar(777), "consent_version": "V1" }),
        )
        .await;
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str())];
        let (status, booked) = post(
            server.addr,
            "/api/v2/appointment/schedule",
            &auth,
            serde_json::json!({ "dose": 1, "session_id": session_id, "slot": "09:00AM-11:00AM", "beneficiaries": [reference] }),
        )
        .await;
        assert_eq!(status, 200, "{booked}");
        let list = teeka_loadgen::request(
            server.addr,
            http::Method::GET,
            "/api/v2/appointment/beneficiaries",
            &auth,
            None,
        )
        .await
        .expect("list");
        let list: Value = serde_json::from_slice(&list.body).expect("json");
        let code = list["beneficiaries"][0]["appointments"][0]["secret_code"]
            .as_str()
            .expect("code")
            .to_owned();

        let base = format!("http://{}", server.addr);
        // Every walk-through runs against this server's database and data folder.
        let walkthrough = |script, env: &[(&str, &str)], expected: &[&str]| {
            run_walkthrough(backend, script, &db.url, dir.path(), env, expected)
        };
        let printed = walkthrough(
            "desk-walkthrough.sh",
            &[
                ("BASE", base.as_str()),
                ("DESK_USER", "desk.walk"),
                ("CENTRE", centre.as_str()),
                ("REFERENCE_ID", reference.as_str()),
                ("CODE", code.as_str()),
            ],
            &[
                "\"must_change_password\":true",
                "\"role\":\"vaccinator\"",
                "\"appointments\":[{",
                "\"opened_by\":\"checkin\"",
                "\"dose_id\":",
                "\"aefi_id\":",
                "walk-through complete",
            ],
        );
        assert!(
            !printed.contains("Desk Person"),
            "{backend:?}: names are masked"
        );

        // The ledger walk-through on what the desk just did: witness, proofs, the citizen's
        // history, the auditor's breach report, the witness again, verify against its copy.
        let state = dir.path().join("witness.json");
        let state_path = state.display().to_string();
        let affected = format!("\"beneficiary_reference_id\":\"{reference}\"");
        let printed = walkthrough(
            "ledger-walkthrough.sh",
            &[
                ("BASE", base.as_str()),
                ("TOKEN", token.as_str()),
                ("REFERENCE_ID", reference.as_str()),
                ("ACTOR", "desk.walk"),
                ("STATE", state_path.as_str()),
            ],
            &[
                // The witness, twice, and the public checkpoint with its signature line.
                "{\"consistent\":true,\"origin\":\"teeka.local/access-ledger\",\"tree_size\":",
                "teeka.local/access-ledger\n",
                "\u{2014} teeka.local/access-ledger ",
                "\"proof\":[",
                // The citizen sees the vaccinator's check-in and dose, each with a proof.
                "\"action\":\"desk.checkin\"",
                "\"action\":\"desk.dose\"",
                "\"actor_role\":\"vaccinator\"",
                // The auditor's report names the person the desk touched, with a notice queued.
                "\"affected_count\":1",
                &affected,
                // Verified against the witness's cosigned copy.
                "\"outside_checkpoint\": true",
                "\"problems\": []",
                "\"affected_count\": 1",
                "walk-through complete",
            ],
        );
        assert!(
            !printed.contains("Desk Person") && !printed.contains(mobile),
            "{backend:?}: no name or whole mobile in the ledger's answers"
        );
        let witness: Value =
            serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
        assert!(
            witness["checkpoint"]
                .as_str()
                .is_some_and(|c| c.matches("\u{2014} ").count() == 2),
            "{backend:?}: the witness keeps a cosigned checkpoint: {witness}"
        );

        // The certificate walk-through on the dose the desk recorded: the PDF rendered by a
        // viewer, its picture checked by `teeka verify`, a tampered card refused, the EU DCC.
        let work = dir.path().join("certificates");
        let work_path = work.display().to_string();
        let printed = walkthrough(
            "certificate-walkthrough.sh",
            &[
                ("BASE", base.as_str()),
                ("TOKEN", token.as_str()),
                ("REFERENCE_ID", reference.as_str()),
                ("DATE_OF_BIRTH", "1975-04-01"),
                ("WORK", work_path.as_str()),
            ],
            &[
                // Each verification must exit 0 for the script to go on; these are its verdicts.
                "\"format\":\"w3c-vc\"",
                "\"format\":\"shc\"",
                "tampered card refused",
                "\"format\":\"eu-dcc\"",
                "walk-through complete",
            ],
        );
        assert!(
            !printed.contains(mobile),
            "{backend:?}: no mobile in what the verifier prints"
        );

        // The partner walk-through: a partner made by the CLI, the same citizen's consent by
        // OTP, the kill switch from the CLI, revocation by the citizen.
        let outbox = log.display().to_string();
        let printed = walkthrough(
            "partner-walkthrough.sh",
            &[
                ("BASE", base.as_str()),
                ("TOKEN", token.as_str()),
                ("MOBILE", mobile),
                ("OUTBOX", outbox.as_str()),
            ],
            &[
                "PayHealth asks to see your registered members for 7 days",
                "\"beneficiary_reference_id\":",
                "\"TKAPTN0005\"",
                "\"status\":\"active\"",
                "every partner switched off",
                "\"TKAPTN0002\"",
                "every partner switched on",
                "\"TKAPTN0004\"",
                "\"TKAREQ0410\"",
                "\"topBlock\":",
                "walk-through complete",
            ],
        );
        assert!(
            !printed.contains(&reference)
                && !printed.contains(mobile)
                && !printed.contains("Desk Person"),
            "{backend:?}: the partner sees its own ids and masked names only"
        );
        drop(server);
    }
}

/// A citizen signs in with the OTP the server texts to `mobile` (its first, read from the SMS
/// log `outbox`) and registers `member`; their token and the member's reference id.
async fn citizen_with_member(
    addr: SocketAddr,
    outbox: &Path,
    mobile: &str,
    member: Value,
) -> (String, String) {
    let (status, sent) = post(
        addr,
        "/api/v2/auth/public/generateOTP",
        &[],
        serde_json::json!({ "mobile": mobile }),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let txn = sent["txnId"].as_str().expect("txn");
    let otp = teeka_crypto::sha256_hex(&nth_otp(outbox, mobile, 1).await);
    let (status, session) = post(
        addr,
        "/api/v2/auth/public/confirmOTP",
        &[],
        serde_json::json!({ "otp": otp, "txnId": txn }),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    let bearer = format!("Bearer {token}");
    let (status, reg) = post(
        addr,
        "/api/v2/registration/beneficiary/new",
        &[("authorization", bearer.as_str())],
        member,
    )
    .await;
    assert_eq!(status, 200, "{reg}");
    let reference = reg["beneficiary_reference_id"]
        .as_str()
        .expect("ref")
        .to_owned();
    (token, reference)
}

/// `teeka demo` as a newcomer starts it (limits on), with a partner made by the CLI beside it:
/// the partner walk-through with curl works there as on `teeka serve`.
#[tokio::test]
async fn the_partner_walkthrough_runs_on_the_demo_with_a_cli_made_partner() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().display().to_string();
    let (mut child, addr, _) = start_demo(
        &db,
        &["--centres-per-district", "1", "--data-dir", &data],
        Stdio::null(),
    );
    // A citizen of the demo signs in with an OTP and registers a member.
    let mobile = "9123456781";
    let log = dir.path().join("outbox").join("sms.jsonl");
    let (token, _) = citizen_with_member(
        addr,
        &log,
        mobile,
        serde_json::json!({ "name": "Demo Person", "birth_year": "1980", "gender_id": 1, "photo_id_type": 1,
                            "photo_id_number": aadhaar(778), "consent_version": "V1" }),
    )
    .await;
    let base = format!("http://{addr}");
    let outbox = log.display().to_string();
    let printed = run_walkthrough(
        "demo",
        "partner-walkthrough.sh",
        &db.url,
        dir.path(),
        &[
            ("BASE", base.as_str()),
            ("TOKEN", token.as_str()),
            ("MOBILE", mobile),
            ("OUTBOX", outbox.as_str()),
        ],
        &[
            "PayHealth asks to see your registered members for 7 days",
            "\"beneficiary_reference_id\":",
            "every partner switched off",
            "every partner switched on",
            "\"TKAPTN0004\"",
            "\"topBlock\":",
            "walk-through complete",
        ],
    );
    assert!(!printed.contains("Demo Person") && !printed.contains(mobile));
    let _ = child.kill();
    let _ = child.wait();
}

/// A request with headers and an optional JSON body; the status and the body as JSON.
async fn call(
    addr: SocketAddr,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let r = teeka_loadgen::request(addr, method, path, &all, body.map(|b| b.to_string().into()))
        .await
        .expect("request");
    (
        r.status.as_u16(),
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// Waits (up to 30 s) for the `nth` OTP SMS to `mobile` (counting from 1) in the development SMS
/// log.
async fn nth_otp(log: &Path, mobile: &str, nth: usize) -> String {
    for _ in 0..300 {
        let otps: Vec<String> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["to"] == mobile)
            .filter_map(|v| v["otp"].as_str().map(str::to_owned))
            .collect();
        if let Some(otp) = otps.get(nth - 1) {
            return otp.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("OTP {nth} to {mobile} never delivered");
}

/// Calls `path` on every server at once, again and again, until each answers `status`; how long
/// that took from `since`.
async fn until_every_server_answers(
    servers: &[Server],
    path: &str,
    headers: &[(&str, &str)],
    status: u16,
    since: std::time::Instant,
) -> Duration {
    let mut done = vec![false; servers.len()];
    while done.iter().any(|d| !d) {
        for (i, server) in servers.iter().enumerate() {
            if !done[i] {
                done[i] = call(server.addr, http::Method::GET, path, headers, None)
                    .await
                    .0
                    == status;
            }
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{path}: not every server answers {status}"
        );
    }
    since.elapsed()
}

#[tokio::test]
async fn kill_switch_and_revocation_hold_on_three_server_processes_within_a_second() {
    for backend in backends() {
        if backend != Backend::Postgres {
            continue;
        }
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().expect("dir");
        assert!(teeka(&["migrate"], &db, dir.path()).status.success());
        let config = dir.path().join("teeka.toml");
        std::fs::write(&config, "[rate_limit]\npublic_requests = 1000000\n").expect("config");
        let servers: Vec<Server> = (0..3)
            .map(|_| Server::start(&db, dir.path(), Some(&config)))
            .collect();
        let log = dir.path().join("outbox").join("sms.jsonl");
        let created = teeka(
            &[
                "admin",
                "partners",
                "add",
                "--name",
                "ThreeWay",
                "--scopes",
                "beneficiary_read",
                "--fields",
                "name",
            ],
            &db,
            dir.path(),
        );
        assert!(created.status.success(), "{}", stderr(&created));
        let printed = stdout(&created);
        let line = |label: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .expect(label)
                .trim()
                .to_owned()
        };
        let (key, client) = (line("api key:"), line("client id:"));

        // The person approves the partner's ask on one process; the token works on all three.
        let mobile = "7000000042";
        let (status, asked) = call(
            servers[0].addr,
            http::Method::POST,
            "/api/v2/auth/generateOTP",
            &[("x-api-key", &key)],
            Some(serde_json::json!({"mobile": mobile, "scopes": "beneficiary_read", "fields": "name", "days": 1})),
        )
        .await;
        assert_eq!(status, 200, "{asked}");
        let otp = teeka_crypto::sha256_hex(&nth_otp(&log, mobile, 1).await);
        let (status, confirmed) = call(
            servers[1].addr,
            http::Method::POST,
            "/api/v2/auth/confirmOTP",
            &[("x-api-key", &key)],
            Some(serde_json::json!({"otp": otp, "txnId": asked["txnId"]})),
        )
        .await;
        assert_eq!(status, 200, "{confirmed}");
        let bearer = format!("Bearer {}", confirmed["token"].as_str().expect("token"));
        let as_partner = [
            ("x-api-key", key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        let members = "/api/v2/appointment/beneficiaries";
        let start = std::time::Instant::now();
        until_every_server_answers(&servers, members, &as_partner, 200, start).await;

        // Each switch, pulled from the CLI (a fourth process), holds on all three processes
        // within a second of the command returning; and back on only when re-enabled.
        let partner_target = format!("--partner={client}");
        for target in ["--all", partner_target.as_str(), "--scope=beneficiary_read"] {
            let (flag, value) = target.split_once('=').unwrap_or((target, ""));
            let mut args = vec!["admin", "partners", "disable", flag];
            if !value.is_empty() {
                args.push(value);
            }
            let off = teeka(&args, &db, dir.path());
            assert!(off.status.success(), "{target}: {}", stderr(&off));
            let took = until_every_server_answers(
                &servers,
                members,
                &as_partner,
                403,
                std::time::Instant::now(),
            )
            .await;
            eprintln!("disable {target}: in force on 3 processes after {took:?}");
            assert!(took <= Duration::from_secs(1), "{target}: {took:?}");
            // Nothing turns it back on by itself.
            tokio::time::sleep(Duration::from_millis(300)).await;
            until_every_server_answers(
                &servers,
                members,
                &as_partner,
                403,
                std::time::Instant::now(),
            )
            .await;
            args[2] = "enable";
            let on = teeka(&args, &db, dir.path());
            assert!(on.status.success(), "{target}: {}", stderr(&on));
            until_every_server_answers(
                &servers,
                members,
                &as_partner,
                200,
                std::time::Instant::now(),
            )
            .await;
        }

        // The person signs in (one OTP per 30 s per mobile: wait for the next), lists the consent
        // on one process and revokes it on another; the partner's token ends on all three.
        let sent = loop {
            let (status, sent) = call(
                servers[2].addr,
                http::Method::POST,
                "/api/v2/auth/public/generateOTP",
                &[],
                Some(serde_json::json!({"mobile": mobile})),
            )
            .await;
            if status == 200 {
                break sent;
            }
            assert_eq!(sent["errorCode"], "TKAOTP0001", "{sent}");
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let otp = teeka_crypto::sha256_hex(&nth_otp(&log, mobile, 2).await);
        let (status, session) = call(
            servers[0].addr,
            http::Method::POST,
            "/api/v2/auth/public/confirmOTP",
            &[],
            Some(serde_json::json!({"otp": otp, "txnId": sent["txnId"]})),
        )
        .await;
        assert_eq!(status, 200, "{session}");
        let citizen = format!("Bearer {}", session["token"].as_str().expect("token"));
        let (status, consents) = call(
            servers[1].addr,
            http::Method::GET,
            "/api/v1/citizen/consents",
            &[("authorization", &citizen)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{consents}");
        let consent_id = consents["consents"][0]["consent_id"]
            .as_str()
            .expect("consent id")
            .to_owned();
        let (status, _) = call(
            servers[2].addr,
            http::Method::DELETE,
            &format!("/api/v1/citizen/consents/{consent_id}"),
            &[("authorization", &citizen)],
            None,
        )
        .await;
        assert_eq!(status, 204);
        let took = until_every_server_answers(
            &servers,
            members,
            &as_partner,
            401,
            std::time::Instant::now(),
        )
        .await;
        eprintln!("revocation: in force on 3 processes after {took:?}");
        assert!(took <= Duration::from_secs(1), "{took:?}");
    }
}

/// A file of the shared fixtures (beside the repository; never copied into it).
fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/certificates")
        .join(path)
}

/// Runs `teeka verify` with `args`; its exit code and the JSON it printed.
fn verify(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let out = Command::new(TEEKA)
        .arg("verify")
        .args(args)
        .output()
        .expect("teeka runs");
    let printed = stdout(&out);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(printed.trim()).unwrap_or(Value::Null),
    )
}

#[test]
fn teeka_verify_agrees_with_the_real_vectors_and_exits_0_1_2() {
    let dir = tempfile::tempdir().expect("dir");
    let os = |p: &Path| p.as_os_str().to_owned();
    let trust = std::ffi::OsString::from("--trust");
    let at = std::ffi::OsString::from("--at");
    // CoWIN/DIVOC credentials: Ed25519 and RSA (PS256), and one altered after signing.
    for (vector, key, code) in [
        (
            "ed25519sig2018_divocdev_valid.json",
            "dev_ed25519_key.json",
            0,
        ),
        ("rsa2018_divocdev_valid.json", "dev_rsa_public.pem", 0),
        ("rsa2018_cowin_v1_valid.json", "dev_rsa_public.pem", 0),
        (
            "rsa2018_divocdev_tampered_subject_id_invalid.json",
            "dev_rsa_public.pem",
            1,
        ),
    ] {
        let (exit, verdict) = verify(&[
            &trust,
            &os(&fixture(&format!("divoc/vectors/{key}"))),
            &os(&fixture(&format!("divoc/vectors/{vector}"))),
        ]);
        assert_eq!(exit, code, "{vector}: {verdict}");
        assert_eq!(verdict["format"], "w3c-vc", "{vector}");
        assert!(
            !verdict.to_string().contains("2342343334"),
            "no national ID printed"
        );
    }
    // SMART Health Cards (and pictures of them) with their issuer's keys at the upstream tests'
    // time.
    let verify_shc = |file: &str| {
        verify(&[
            &trust,
            &os(&fixture("shc/issuer/.well-known/jwks.json")),
            &at,
            "2022-05-31T00:00:00Z".as_ref(),
            &os(&fixture(&format!("shc/{file}"))),
        ])
    };
    // The JWS, the numeric QR, the file.
    for card in [
        "examples/example-00-d-jws.txt",
        "examples/example-00-f-qr-code-numeric-value-0.txt",
        "examples/example-01-e-file.smart-health-card",
    ] {
        let (exit, verdict) = verify_shc(card);
        assert_eq!(
            (exit, verdict["format"].as_str()),
            (0, Some("shc")),
            "{card}: {verdict}"
        );
    }
    // EU DCCs with their signer certificate at their validation clock.
    for (case, code) in [("CO1", 0), ("CO3", 0), ("CO5", 1), ("CO17", 1), ("CO22", 1)] {
        let raw: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("eu-dcc/common/{case}.json"))).expect("case"),
        )
        .expect("json");
        let qr = dir.path().join(format!("{case}.txt"));
        std::fs::write(&qr, raw["PREFIX"].as_str().expect("prefix")).expect("write");
        let signer = dir.path().join(format!("{case}.cer"));
        std::fs::write(
            &signer,
            raw["TESTCTX"]["CERTIFICATE"].as_str().expect("cert"),
        )
        .expect("write");
        let (exit, verdict) = verify(&[
            &trust,
            &os(&signer),
            &at,
            raw["TESTCTX"]["VALIDATIONCLOCK"]
                .as_str()
                .expect("clock")
                .as_ref(),
            &os(&qr),
        ]);
        assert_eq!(
            (exit, verdict["format"].as_str()),
            (code, Some("eu-dcc")),
            "{case}: {verdict}"
        );
        if code == 1 {
            assert!(verdict["reason"].is_string(), "{case}: {verdict}");
        }
    }
    // Pictures of QR codes (PNG): a card with a warning (valid), one whose digits are not in a
    // numeric segment (invalid).
    for (picture, code) in [
        ("negative/test-example-00-g-qr-code-inflated-to-v22.png", 0),
        (
            "negative/test-example-00-g-qr-code-0-single_qr_segment.png",
            1,
        ),
    ] {
        let (exit, verdict) = verify_shc(picture);
        assert_eq!(exit, code, "{picture}: {verdict}");
    }
    // Not a certificate, and a broken image: unusable.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello").expect("write");
    let png = dir.path().join("qr.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n").expect("write");
    for path in [&junk, &png] {
        let (exit, verdict) = verify(&[&os(path)]);
        assert_eq!(exit, 2, "{verdict}");
        assert_eq!(verdict["valid"], false);
    }
    // A valid card with no trusted key: invalid, not unusable.
    let (exit, _) = verify(&[&os(&fixture(
        "divoc/vectors/ed25519sig2018_divocdev_valid.json",
    ))]);
    assert_eq!(exit, 1);
}

#[test]
fn keys_rotate_issuer_adds_a_generation_and_keeps_the_old_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().display().to_string();
    for _ in 0..2 {
        let out = Command::new(TEEKA)
            .args(["keys", "rotate", "--issuer", "--data-dir", &data])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        assert!(printed.contains("is now current"), "{printed}");
    }
    let ring: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("keys/issuer-keys.json")).expect("ring"),
    )
    .expect("json");
    let kids: std::collections::HashSet<&str> = ring["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid"))
        .collect();
    assert_eq!(kids.len(), 3, "created, then two rotations: {ring}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/issuer-keys.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");
    }
}

/// A square greyscale PNG of `side` pixels a side, `depth` bits a pixel, from `pixels` (rows of
/// packed samples).
fn greyscale_png(side: u32, depth: png::BitDepth, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(depth);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(pixels).expect("png data");
    writer.finish().expect("png end");
    out
}

/// A PNG of black-and-white noise, one bit a pixel: it keeps the QR reader busy for many minutes.
fn noise_png(side: u32) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    let bytes = (side / 8 * side) as usize;
    let pixels: Vec<u8> = (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    greyscale_png(side, png::BitDepth::One, &pixels)
}

#[tokio::test]
async fn the_web_verifier_stops_a_picture_that_keeps_the_qr_reader_busy() {
    // Nothing is stored, so one backend shows it.
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("dir");
    assert!(teeka(&["migrate"], &db, dir.path()).status.success());
    let server = Server::start(&db, dir.path(), None);
    let send = |picture: Vec<u8>| {
        teeka_loadgen::request(
            server.addr,
            http::Method::POST,
            "/api/v1/verify",
            &[("content-type", "image/png")],
            Some(picture.into()),
        )
    };
    let noise = noise_png(2048);
    assert!(noise.len() < 2 * 1024 * 1024, "{}", noise.len());
    let started = std::time::Instant::now();
    let answer = send(noise).await.expect("verify");
    let took = started.elapsed();
    let body: Value = serde_json::from_slice(&answer.body).expect("json");
    assert_eq!(
        (answer.status.as_u16(), body["code"].as_str()),
        (422, Some("TKACRT0002")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("longer than 5 s")),
        "{body}"
    );
    assert!(took < Duration::from_secs(15), "stopped after {took:?}");
    // The reader was stopped and its slot is free: the next picture is read (a SMART Health
    // Card from another issuer: read, judged, not trusted here).
    let card = std::fs::read(fixture(
        "shc/negative/test-example-00-g-qr-code-inflated-to-v22.png",
    ))
    .expect("fixture");
    let answer = send(card).await.expect("verify");
    let verdict: Value = serde_json::from_slice(&answer.body).expect("json");
    assert_eq!(answer.status.as_u16(), 200, "{verdict}");
    assert_eq!(verdict["format"], "shc", "{verdict}");
    assert_eq!(verdict["valid"], false, "{verdict}");
    // A picture with no code says so, from the child as from the in-process reader.
    let blank = greyscale_png(64, png::BitDepth::Eight, &[255; 64 * 64]);
    let answer = send(blank).await.expect("verify");
    let body: Value = serde_json::from_slice(&answer.body).expect("json");
    assert_eq!(answer.status.as_u16(), 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("no readable QR code")),
        "{body}"
    );
    drop(server);
}
