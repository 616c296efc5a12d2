//! Administration routes (`/api/v1/admin/…`): staff accounts, alerts, centres, session plans and
//! capacity, each within the caller's jurisdiction (the use cases check it). Enrolment secrets
//! are shown once, in the answer that creates or resets them, and never cached.

use crate::cowin::params::read_json_api;
use crate::error::ApiError;
use crate::staff::SignedIn;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use teeka_app::admin::{FacilityInput, SessionInput};
use teeka_app::staff::{Enrolment, Staff};
use teeka_app::staff_admin::Administration;
use teeka_domain::StaffRole;

fn admin(app: &AppState) -> Administration<'_> {
    Administration {
        accounts: Staff {
            store: &app.store,
            vault: &app.vault,
            config: &app.staff,
        },
    }
}

fn private(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn enrolment_json(username: &str, e: &Enrolment) -> serde_json::Value {
    json!({
        "username": username,
        "temporary_password": e.temporary_password,
        "otpauth_uri": e.otpauth_uri,
        "must_change_password": true,
    })
}

/// `GET /api/v1/admin/staff` → `{"staff":[…]}`.
pub async fn list_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
) -> Result<Response, ApiError> {
    let staff = admin(&app).list_staff(&grant).await?;
    let staff: Vec<_> = staff
        .iter()
        .map(|s| {
            json!({
                "username": s.username,
                "role": s.role,
                "scope_kind": s.scope_kind,
                "scope_id": s.scope_id,
                "disabled": s.disabled,
                "locked": s.locked,
                "suspended": s.suspended,
                "must_change_password": s.must_change_password,
            })
        })
        .collect();
    Ok(private(StatusCode::OK, json!({ "staff": staff })))
}

#[derive(Deserialize)]
struct NewStaff {
    username: String,
    role: String,
    scope_id: Option<i64>,
}

/// `POST /api/v1/admin/staff {"username","role","scope_id"?}` → 201 with the one-time
/// enrolment (temporary password and `otpauth://` URI).
pub async fn create_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let n: NewStaff = read_json_api(&body)?;
    let role: StaffRole = n.role.parse().map_err(teeka_app::AppError::from)?;
    let e = admin(&app)
        .create_staff(&grant, &n.username, role, n.scope_id)
        .await?;
    Ok(private(
        StatusCode::CREATED,
        enrolment_json(n.username.trim(), &e),
    ))
}

/// `POST /api/v1/admin/staff/{username}/disable` → 204.
pub async fn disable_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    admin(&app).set_disabled(&grant, &username, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/staff/{username}/enable` → 204.
pub async fn enable_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    admin(&app).set_disabled(&grant, &username, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/staff/{username}/reset` → the new one-time enrolment.
pub async fn reset_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let e = admin(&app).reset(&grant, &username).await?;
    Ok(private(StatusCode::OK, enrolment_json(username.trim(), &e)))
}

/// `POST /api/v1/admin/staff/{username}/unlock` → 204 (lock and suspension lifted).
pub async fn unlock_staff(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    admin(&app).unlock(&grant, &username).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/admin/alerts` → `{"alerts":[…]}`.
pub async fn alerts(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
) -> Result<Response, ApiError> {
    let alerts = admin(&app).alerts(&grant).await?;
    let alerts: Vec<_> = alerts
        .iter()
        .map(|a| {
            json!({
                "alert_id": a.alert_id,
                "staff_id": a.staff_id,
                "kind": a.kind,
                "detail": a.detail,
                "created_at_ms": a.created_at,
                "district_id": a.district_id,
                "state_id": a.state_id,
                "reviewed": a.reviewed,
            })
        })
        .collect();
    Ok(private(StatusCode::OK, json!({ "alerts": alerts })))
}

/// `POST /api/v1/admin/alerts/{alert_id}/review` → 204.
pub async fn review_alert(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(alert_id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&app).review_alert(&grant, &alert_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/centres {…}` → 201 `{"center_id"}`.
pub async fn add_centre(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: FacilityInput = read_json_api(&body)?;
    let id = admin(&app).add_centre(&grant, &input).await?;
    Ok(private(StatusCode::CREATED, json!({ "center_id": id })))
}

fn centre_id(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| teeka_app::AppError::NotFound("centre").into())
}

/// `GET /api/v1/admin/centres/{centre_id}` → the centre.
pub async fn centre(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = admin(&app).centre(&grant, centre_id(&id)?).await?;
    let c = &v.centre;
    Ok(private(
        StatusCode::OK,
        json!({
            "center_id": c.id.0,
            "name": c.name,
            "address": c.address,
            "state_name": v.state_name,
            "district_name": v.district_name,
            "block_name": c.block_name,
            "pincode": c.pincode.to_string(),
        }),
    ))
}

/// `GET /api/v1/admin/centres/{centre_id}/sessions` → `{"sessions":[…]}` with booked counts.
pub async fn centre_sessions(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sessions = admin(&app).sessions(&grant, centre_id(&id)?).await?;
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            let c = &s.plan.capacity;
            json!({
                "session_id": s.plan.id,
                "date": s.plan.date.to_string(),
                "vaccine": s.plan.vaccine.as_str(),
                "online": [c.dose1.online, c.dose2.online, c.precaution.online],
                "onsite": [c.dose1.onsite, c.dose2.onsite, c.precaution.onsite],
                "available_online": [s.available.dose1, s.available.dose2, s.available.precaution],
            })
        })
        .collect();
    Ok(private(StatusCode::OK, json!({ "sessions": sessions })))
}

/// `POST /api/v1/admin/sessions {…}` → 201 `{"session_id"}`.
pub async fn add_session(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: SessionInput = read_json_api(&body)?;
    let id = admin(&app).add_session(&grant, &input).await?;
    Ok(private(StatusCode::CREATED, json!({ "session_id": id })))
}

#[derive(Deserialize)]
struct CapacityBody {
    online: [u32; 3],
    onsite: [u32; 3],
}

/// `POST /api/v1/admin/sessions/{session_id}/capacity {"online":[d1,d2,p],"onsite":[d1,d2,p]}` → 204.
pub async fn set_capacity(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: CapacityBody = read_json_api(&body)?;
    admin(&app)
        .set_capacity(&grant, &id, c.online, c.onsite)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/openapi.json`: the staff, desk and administration API, generated from the
/// route table the guard enforces.
pub async fn openapi() -> Response {
    axum::Json(crate::openapi::document()).into_response()
}
