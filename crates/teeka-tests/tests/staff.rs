//! Staff sign-in over real HTTP on both backends: the second factor is mandatory, a code is
//! never accepted twice, failures slow an account down and then lock it with an alert, a
//! temporary password must be changed first, and the 2023 remedy (force every password to be
//! reset) ends every staff session.

use http::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use teeka_app::staff::{Enrolment, Staff, StaffConfig};
use teeka_domain::StaffRole;
use teeka_store::Store;
use teeka_store::staff::FailurePolicy;
use teeka_tests::{TestDb, backends, prepared_store, test_vault};
use teeka_web::{AppState, WebConfig, build_router};

async fn serve(
    store: Store,
    vault: std::sync::Arc<teeka_app::vault::Vault>,
    staff: StaffConfig,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::with_settings(
        store,
        WebConfig::default(),
        vault,
        Default::default(),
        Default::default(),
        staff,
    );
    tokio::spawn(async move {
        teeka_web::serve(listener, build_router(state), std::future::pending()).await
    });
    addr
}

async fn post(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value, Option<String>) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let r = teeka_loadgen::request(
        addr,
        Method::POST,
        path,
        &headers,
        Some(body.to_string().into()),
    )
    .await
    .expect("request");
    let cookie = r.header("set-cookie").map(str::to_owned);
    (
        r.status.as_u16(),
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        cookie,
    )
}

/// The code the staff member's authenticator shows now.
fn code(e: &Enrolment) -> String {
    teeka_tests::totp_at(e, 0)
}

fn login(name: &str, password: &str, totp: Option<String>) -> Value {
    match totp {
        Some(t) => json!({ "username": name, "password": password, "totp": t }),
        None => json!({ "username": name, "password": password }),
    }
}

#[tokio::test]
async fn second_factor_replay_lockout_password_change_and_force_reset() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = prepared_store(&db).await;
        let vault = test_vault();
        let config = StaffConfig {
            failures: FailurePolicy {
                slow_after: 100,
                lock_after: 5,
            },
            ..StaffConfig::default()
        };
        let staff = Staff {
            store: &store,
            vault: &vault,
            config: &config,
        };
        teeka_tests::session_at(
            &store,
            1,
            teeka_app::clock::today_in_india(),
            "COVISHIELD",
            5,
            5,
            18,
        )
        .await;
        assert!(
            staff
                .create_user("nowhere", StaffRole::Vaccinator, Some(999_999))
                .await
                .is_err(),
            "{backend:?}: a centre that does not exist is refused"
        );
        let vaccinator = staff
            .create_user("asha.v", StaffRole::Vaccinator, Some(1))
            .await
            .expect("create");
        let admin = staff
            .create_user("national", StaffRole::NationalAdmin, None)
            .await
            .expect("create");
        let victim = staff
            .create_user("ravi.v", StaffRole::Vaccinator, Some(1))
            .await
            .expect("create");
        assert!(
            vaccinator
                .otpauth_uri
                .starts_with("otpauth://totp/Teeka:asha.v?secret=")
        );
        assert!(
            staff
                .create_user("asha.v", StaffRole::Vaccinator, Some(1))
                .await
                .is_err(),
            "{backend:?}: usernames are unique"
        );
        assert!(
            staff
                .create_user("x", StaffRole::Vaccinator, None)
                .await
                .is_err(),
            "a centre role needs a centre"
        );
        let addr = serve(store.clone(), vault.clone(), config).await;
        let at = "/api/v1/staff/login";

        // No second factor, a wrong one, a wrong password: one answer.
        let pw = vaccinator.temporary_password.clone();
        for body in [
            login("asha.v", &pw, None),
            login("asha.v", &pw, Some("000000".into())),
            login("asha.v", "wrong password!", Some(code(&vaccinator))),
            login("nobody", &pw, Some(code(&vaccinator))),
        ] {
            let (status, answer, _) = post(addr, at, None, body).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (401, Some("TKASTF0001")),
                "{backend:?}: {answer}"
            );
        }
        let right = login("asha.v", &pw, Some(code(&vaccinator)));
        let (status, answer, cookie) = post(addr, at, None, right.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        assert_eq!(answer["must_change_password"], true);
        let token = answer["token"].as_str().expect("token").to_owned();
        assert!(token.len() >= 22, "at least 128 bits");
        let cookie = cookie.expect("cookie");
        for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(flag), "{backend:?}: {cookie}");
        }
        let (status, _, _) = post(addr, at, None, right).await;
        assert_eq!(
            status, 401,
            "{backend:?}: the same code is never accepted twice"
        );

        // A temporary password allows only a change of password.
        let (status, answer, _) = post(
            addr,
            "/api/v1/admin/staff/end-sessions",
            Some(&token),
            json!({}),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKASTF0004")),
            "{backend:?}"
        );
        let (status, answer, _) = post(
            addr,
            "/api/v1/staff/password",
            Some(&token),
            json!({ "current": pw, "new": "password1234" }),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("TKASTF0003")),
            "{backend:?}: weak"
        );
        let (status, _, _) = post(
            addr,
            "/api/v1/staff/password",
            Some(&token),
            json!({ "current": pw, "new": "tamarind monsoon lantern 42" }),
        )
        .await;
        assert_eq!(status, 204, "{backend:?}");
        // A vaccinator may not use the national remedies.
        let (status, answer, _) = post(
            addr,
            "/api/v1/admin/staff/force-password-reset",
            Some(&token),
            json!({}),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("TKASTF0005")),
            "{backend:?}"
        );

        // Five failures lock the account and raise an alert; then even the right answer is refused.
        for _ in 0..5 {
            let (status, _, _) = post(
                addr,
                at,
                None,
                login("ravi.v", "not it at all", Some(code(&victim))),
            )
            .await;
            assert_eq!(status, 401);
        }
        let (status, answer, _) = post(
            addr,
            at,
            None,
            login("ravi.v", &victim.temporary_password, Some(code(&victim))),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (429, Some("TKASTF0002")),
            "{backend:?}: locked"
        );
        let alerts = store.staff_alerts(10).await.expect("alerts");
        assert!(
            alerts.iter().any(|a| a.kind == "staff.locked"),
            "{backend:?}: an administrator is alerted"
        );

        // The national administrator forces every password to be reset: every session ends.
        let (status, answer, _) = post(
            addr,
            at,
            None,
            login("national", &admin.temporary_password, Some(code(&admin))),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        let admin_token = answer["token"].as_str().expect("token").to_owned();
        let (status, _, _) = post(
            addr,
            "/api/v1/staff/password",
            Some(&admin_token),
            json!({ "current": admin.temporary_password, "new": "saffron kettle orbit 1947" }),
        )
        .await;
        assert_eq!(status, 204);
        let (status, answer, _) = post(
            addr,
            "/api/v1/admin/staff/force-password-reset",
            Some(&admin_token),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {answer}");
        assert_eq!(answer["accounts"], 3);
        for t in [&token, &admin_token] {
            let (status, _, _) = post(addr, "/api/v1/staff/logout", Some(t), json!({})).await;
            assert_eq!(status, 401, "{backend:?}: every staff session ended");
        }
        store.close().await;
    }
}
