//! Staff routes (`/api/v1/staff/…`), the table of every staff, desk and administration route
//! with the roles allowed on each, and the guard that enforces it. A signed-in member of staff
//! is a [`StaffGrant`], from a bearer token (API clients) or the `teeka_staff` cookie (the
//! browser: Secure, HttpOnly, SameSite=Strict). Until a temporary or reset password is changed,
//! only `password`, `logout` and `me` accept the grant.

use crate::cowin::params::read_json_api;
use crate::error::{ApiError, UNAUTHENTICATED};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use teeka_app::staff::{MUST_CHANGE_PASSWORD, Staff, StaffGrant};
use teeka_domain::{Jurisdiction, StaffRole};
use teeka_store::staff::SessionsToEnd;

/// Ours: the role may not use this route.
pub const FORBIDDEN: &str = teeka_app::staff::FORBIDDEN;

const COOKIE: &str = "teeka_staff";

/// Who may call a staff route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, the API description).
    Public,
    /// Any live staff session, even one that must change its password first.
    AnySession,
    /// A session whose password is current, in one of these roles.
    Roles(&'static [StaffRole]),
}

/// A staff route: what it is, who may call it, and what it takes (for the OpenAPI document).
#[derive(Debug, Clone, Copy)]
pub struct StaffRoute {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path as the router matches it (`{param}` for path parameters).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line for the API description.
    pub summary: &'static str,
    /// An example request body (JSON), if it takes one.
    pub example: Option<&'static str>,
}

use StaffRole::{CentreAdmin, DistrictAdmin, NationalAdmin, StateAdmin, Vaccinator, Verifier};

const ADMINS: &[StaffRole] = &[CentreAdmin, DistrictAdmin, StateAdmin, NationalAdmin];
const AREA_ADMINS: &[StaffRole] = &[DistrictAdmin, StateAdmin, NationalAdmin];
const DESK: &[StaffRole] = &[Vaccinator, Verifier];
/// Who may run a breach report: the auditor and administrators of an area (within it).
const REPORTERS: &[StaffRole] = &[StaffRole::Auditor, DistrictAdmin, StateAdmin, NationalAdmin];
/// Who keeps the partner registry and its kill switch.
const PARTNER_KEEPERS: &[StaffRole] = &[NationalAdmin, StaffRole::PartnerManager];

/// Every staff and administration route, and who may call it. The router's guard looks each
/// request up here: a route missing from this table is refused to everyone (deny by default),
/// and the OpenAPI document is generated from it, so the two cannot drift apart.
pub const STAFF_ROUTES: &[StaffRoute] = &[
    StaffRoute {
        method: "POST",
        path: "/api/v1/staff/login",
        access: Access::Public,
        summary: "Sign in with password and authenticator code",
        example: Some(r#"{"username":"asha.v","password":"…","totp":"123456"}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/staff/password",
        access: Access::AnySession,
        summary: "Change the password (required after a temporary one)",
        example: Some(r#"{"current":"…","new":"…"}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/staff/logout",
        access: Access::AnySession,
        summary: "End this session",
        example: None,
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/staff/me",
        access: Access::AnySession,
        summary: "Who am I: username, role and jurisdiction",
        example: None,
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/desk/today",
        access: Access::Roles(&[Vaccinator, Verifier, CentreAdmin]),
        summary: "Today's appointments at my centre (reference id, slot, masked name)",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/checkin",
        access: Access::Roles(DESK),
        summary: "Check a person in with their reference id and 4-digit code",
        example: Some(r#"{"beneficiary_reference_id":"12345678901234","code":"1234"}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/walkin",
        access: Access::Roles(DESK),
        summary: "Register a walk-in against today's on-site share",
        example: Some(
            r#"{"mobile":"9876543210","name":"Asha Devi","birth_year":1980,"gender_id":2,"photo_id_type":1,"photo_id_number":"…","session_id":"…"}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/dose",
        access: Access::Roles(&[Vaccinator]),
        summary: "Record the dose for a checked-in person, exactly once",
        example: Some(
            r#"{"beneficiary_reference_id":"12345678901234","vaccine":"COVISHIELD","batch":"4121Z025","dose_number":1}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/aefi",
        access: Access::Roles(&[Vaccinator, CentreAdmin]),
        summary: "Report an adverse event following immunisation against a dose",
        example: Some(
            r#"{"dose_id":"…","severity":"minor","symptoms":["fever"],"onset_minutes_after_dose":20}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/correction",
        access: Access::Roles(&[CentreAdmin]),
        summary: "Correct or revoke a wrongly recorded dose (audited)",
        example: Some(
            r#"{"dose_id":"…","revoke":false,"batch":"4121Z026","reason":"batch number mistyped at the desk"}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/desk/break-glass",
        access: Access::Roles(&[Vaccinator, Verifier, CentreAdmin]),
        summary: "Emergency opening of one person: reason, fresh authenticator code, 60 minutes, alert",
        example: Some(
            r#"{"beneficiary_reference_id":"12345678901234","reason_code":"medical_emergency","reason_text":"…","totp":"123456"}"#,
        ),
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/admin/staff",
        access: Access::Roles(ADMINS),
        summary: "Staff accounts I may manage",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff",
        access: Access::Roles(ADMINS),
        summary: "Create a staff account (a role below mine, within my jurisdiction)",
        example: Some(r#"{"username":"ravi.v","role":"vaccinator","scope_id":1}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/{username}/disable",
        access: Access::Roles(ADMINS),
        summary: "Disable an account (its sessions end)",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/{username}/enable",
        access: Access::Roles(ADMINS),
        summary: "Re-enable an account",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/{username}/reset",
        access: Access::Roles(ADMINS),
        summary: "New temporary password and authenticator enrolment",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/{username}/unlock",
        access: Access::Roles(ADMINS),
        summary: "Lift a sign-in lock or an anomaly suspension after review",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/end-sessions",
        access: Access::Roles(&[NationalAdmin]),
        summary: "End every session of one account, or of everyone",
        example: Some(r#"{"username":"ravi.v"}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/staff/force-password-reset",
        access: Access::Roles(&[NationalAdmin]),
        summary: "Every member of staff must change their password; every session ends",
        example: None,
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/admin/alerts",
        access: Access::Roles(AREA_ADMINS),
        summary: "Alerts within my jurisdiction",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/alerts/{alert_id}/review",
        access: Access::Roles(AREA_ADMINS),
        summary: "Mark an alert reviewed",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/centres",
        access: Access::Roles(AREA_ADMINS),
        summary: "Add a centre in my district or state",
        example: Some(
            r#"{"name":"PHC Rampur","address":"…","state_id":1,"district_id":1,"block_name":"Rampur","pincode":"110001","lat":28.6,"long":77.2}"#,
        ),
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/admin/centres/{centre_id}",
        access: Access::Roles(ADMINS),
        summary: "A centre within my jurisdiction",
        example: None,
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/admin/centres/{centre_id}/sessions",
        access: Access::Roles(ADMINS),
        summary: "The centre's sessions of the next 30 days",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/sessions",
        access: Access::Roles(ADMINS),
        summary: "Plan a session at a centre within my jurisdiction",
        example: Some(
            r#"{"center_id":1,"date":"24-11-2026","vaccine":"COVISHIELD","dose1":50,"dose2":50,"dose1_onsite":10}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/sessions/{session_id}/capacity",
        access: Access::Roles(ADMINS),
        summary: "Change a session's online and on-site shares",
        example: Some(r#"{"online":[50,50,0],"onsite":[10,10,0]}"#),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/ledger/breach-report",
        access: Access::Roles(REPORTERS),
        summary: "Breach report: everyone whose data one actor touched in a window; notify: true queues an SMS to each",
        example: Some(
            r#"{"actor":"asha.v","from":"2026-11-20T00:00:00+05:30","to":"2026-11-23T00:00:00+05:30","notify":false}"#,
        ),
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/admin/partners",
        access: Access::Roles(PARTNER_KEEPERS),
        summary: "Registered partners and the kill switches turned off",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/partners",
        access: Access::Roles(PARTNER_KEEPERS),
        summary: "Register a partner; its API key is shown once",
        example: Some(
            r#"{"name":"PayHealth","purpose":"Book vaccinations for app users","scopes":"booking,beneficiary_read","fields":"name,birth_year,appointments","daily_quota":100000}"#,
        ),
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/partners/{partner}/rotate",
        access: Access::Roles(PARTNER_KEEPERS),
        summary: "Rotate a partner's API key (the old one stops at once)",
        example: None,
    },
    StaffRoute {
        method: "POST",
        path: "/api/v1/admin/partners/switch",
        access: Access::Roles(PARTNER_KEEPERS),
        summary: "Kill switch: turn every partner, one scope or one partner off (or explicitly back on)",
        example: Some(r#"{"target":"all","off":true}"#),
    },
    StaffRoute {
        method: "GET",
        path: "/api/v1/openapi.json",
        access: Access::Public,
        summary: "This API's OpenAPI description",
        example: None,
    },
];

fn staff(app: &AppState) -> Staff<'_> {
    Staff {
        store: &app.store,
        vault: &app.vault,
        config: &app.staff,
    }
}

fn token_from(parts: &Parts) -> String {
    if let Some(bearer) = crate::cowin::citizen::bearer_token(&parts.headers) {
        return bearer.to_owned();
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, FORBIDDEN, message)
}

/// The guard in front of every staff route: finds the route in [`STAFF_ROUTES`] (refusing
/// what is not there), checks the session and the role, and hands the grant to the handler.
pub async fn guard(
    State(app): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let Some(route) = STAFF_ROUTES
        .iter()
        .find(|r| r.path == path && r.method == parts.method.as_str())
    else {
        return forbidden("This route is not open to any role").into_response();
    };
    if route.access != Access::Public {
        let grant = match staff(&app).grant(&token_from(&parts)).await {
            Ok(grant) => grant,
            Err(e) => return ApiError::from(e).into_response(),
        };
        if let Access::Roles(roles) = route.access {
            if grant.must_change_password() {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    MUST_CHANGE_PASSWORD,
                    "Change your password first (POST /api/v1/staff/password)",
                )
                .into_response();
            }
            if !roles.contains(&grant.role()) {
                return forbidden("Your role may not do this").into_response();
            }
        }
        parts.extensions.insert(grant);
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

/// The signed-in member of staff the guard let through.
pub struct SignedIn(pub StaffGrant);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _app: &AppState) -> Result<Self, ApiError> {
        // Only the guard puts a grant here; a route it did not guard has none.
        parts
            .extensions
            .get::<StaffGrant>()
            .cloned()
            .map(SignedIn)
            .ok_or_else(|| forbidden("This route is not open to any role"))
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
    totp: Option<String>,
}

/// `POST /api/v1/staff/login {"username","password","totp"}` → `{"token","must_change_password"}`
/// and the session cookie.
pub async fn login(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let l: Login = read_json_api(&body)?;
    let (token, must_change) = staff(&app)
        .login(&l.username, &l.password, l.totp.as_deref().unwrap_or(""))
        .await?;
    let cookie = format!("{COOKIE}={token}; Path=/api/v1; Secure; HttpOnly; SameSite=Strict");
    let mut response =
        axum::Json(json!({ "token": token, "must_change_password": must_change })).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/v1/staff/password {"current","new"}` → 204
pub async fn password(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p: PasswordChange = read_json_api(&body)?;
    staff(&app)
        .change_password(&grant, &p.current, &p.new)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/staff/logout` → 204, and the cookie cleared.
pub async fn logout(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
) -> Result<Response, ApiError> {
    staff(&app).logout(&grant).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "teeka_staff=; Path=/api/v1; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct EndSessions {
    username: Option<String>,
}

/// `POST /api/v1/admin/staff/end-sessions {"username"?}` (national administrator) →
/// `{"ended"}`: every session of one account, or of everyone.
pub async fn end_sessions(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let e: EndSessions = read_json_api(&body)?;
    let ended = match e.username {
        Some(name) => {
            let account = app
                .store
                .staff_by_username(name.trim())
                .await
                .map_err(teeka_app::AppError::from)?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        UNAUTHENTICATED,
                        "No such staff account",
                    )
                })?;
            app.store
                .end_staff_sessions(SessionsToEnd::OfAccount(account.staff_id))
                .await
        }
        None => app.store.end_staff_sessions(SessionsToEnd::Everyone).await,
    }
    .map_err(teeka_app::AppError::from)?;
    tracing::warn!(by = %grant.staff_id(), ended, "staff sessions ended by an administrator");
    Ok(axum::Json(json!({ "ended": ended })).into_response())
}

/// `POST /api/v1/admin/staff/force-password-reset` (national administrator) →
/// `{"accounts","sessions_ended"}`: every member of staff must change their password at next
/// sign-in, and every staff session ends now, the caller's included.
pub async fn force_password_reset(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
) -> Result<Response, ApiError> {
    let (accounts, sessions) = app
        .store
        .force_staff_password_reset()
        .await
        .map_err(teeka_app::AppError::from)?;
    tracing::warn!(by = %grant.staff_id(), accounts, sessions, "forced password reset for all staff");
    Ok(axum::Json(json!({ "accounts": accounts, "sessions_ended": sessions })).into_response())
}

/// `GET /api/v1/staff/me` → `{"username","role","scope","must_change_password"}`.
pub async fn me(SignedIn(grant): SignedIn) -> Response {
    let scope = match grant.jurisdiction() {
        Jurisdiction::Centre(c, d, s) => {
            json!({"centre_id": c.0, "district_id": d.0, "state_id": s.0})
        }
        Jurisdiction::District(d, s) => json!({"district_id": d.0, "state_id": s.0}),
        Jurisdiction::State(s) => json!({"state_id": s.0}),
        Jurisdiction::Nation => json!({}),
    };
    axum::Json(json!({
        "username": grant.username(),
        "role": grant.role().as_str(),
        "scope": scope,
        "must_change_password": grant.must_change_password(),
    }))
    .into_response()
}
