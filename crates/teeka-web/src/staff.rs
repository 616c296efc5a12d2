//! Staff routes (`/api/v1/staff/…`) and the staff administration remedies
//! (`/api/v1/admin/staff/…`). A signed-in member of staff is a [`StaffGrant`], from a bearer
//! token (API clients) or the `teeka_staff` cookie (the browser: Secure, HttpOnly,
//! SameSite=Strict). Until a temporary or reset password is changed, only `password` and
//! `logout` accept the grant.

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
use teeka_domain::StaffRole;
use teeka_store::staff::SessionsToEnd;

/// Ours: the role may not use this route.
pub const FORBIDDEN: &str = "TKASTF0005";

const COOKIE: &str = "teeka_staff";

fn staff(app: &AppState) -> Staff<'_> {
    Staff {
        store: &app.store,
        vault: &app.vault,
        config: &app.staff,
    }
}

fn token_from(parts: &Parts) -> String {
    if let Some(bearer) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    {
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

/// Any live staff session, even one that must change its password first.
pub struct AnyStaff(pub StaffGrant);

impl FromRequestParts<AppState> for AnyStaff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        Ok(AnyStaff(staff(app).grant(&token_from(parts)).await?))
    }
}

/// A staff session that may work (its password is not awaiting a change).
pub struct ActiveStaff(pub StaffGrant);

impl FromRequestParts<AppState> for ActiveStaff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let AnyStaff(grant) = AnyStaff::from_request_parts(parts, app).await?;
        if grant.must_change_password() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                MUST_CHANGE_PASSWORD,
                "Change your password first (POST /api/v1/staff/password)",
            ));
        }
        Ok(ActiveStaff(grant))
    }
}

fn require(grant: &StaffGrant, allowed: &[StaffRole]) -> Result<(), ApiError> {
    if allowed.contains(&grant.role()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            FORBIDDEN,
            "Your role may not do this",
        ))
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
    AnyStaff(grant): AnyStaff,
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
    AnyStaff(grant): AnyStaff,
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
    ActiveStaff(grant): ActiveStaff,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&grant, &[StaffRole::NationalAdmin])?;
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
    ActiveStaff(grant): ActiveStaff,
) -> Result<Response, ApiError> {
    require(&grant, &[StaffRole::NationalAdmin])?;
    let (accounts, sessions) = app
        .store
        .force_staff_password_reset()
        .await
        .map_err(teeka_app::AppError::from)?;
    tracing::warn!(by = %grant.staff_id(), accounts, sessions, "forced password reset for all staff");
    Ok(axum::Json(json!({ "accounts": accounts, "sessions_ended": sessions })).into_response())
}
