//! CoWIN's booking routes for a logged-in citizen: schedule and cancel.

use super::citizen::{Citizen, request_id, text_of};
use super::params::read_json;
use crate::error::CowinError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use teeka_app::booking::{Booking, ScheduleRequest};

fn booking(app: &AppState) -> Booking<'_> {
    Booking {
        store: &app.store,
        vault: &app.vault,
        config: &app.booking,
    }
}

#[derive(Deserialize)]
struct Schedule {
    dose: Option<Value>,
    session_id: Option<String>,
    slot: Option<String>,
    beneficiaries: Option<Vec<Value>>,
}

/// `POST /api/v2/appointment/schedule {dose, session_id, slot, beneficiaries[], center_id?, captcha?}`
/// → `{"appointment_confirmation_no"}` (`center_id` and `captcha` are accepted and not needed).
pub async fn schedule(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let s: Schedule = read_json(&body)?;
    let dose = s
        .dose
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("dose"))?
        .parse::<i64>()
        .map_err(|_| CowinError::invalid("Invalid dose: must be 1, 2 or 3"))?;
    let request = ScheduleRequest {
        dose,
        session_id: s
            .session_id
            .ok_or_else(|| CowinError::missing("session_id"))?,
        slot: s.slot.ok_or_else(|| CowinError::missing("slot"))?,
        beneficiaries: s
            .beneficiaries
            .ok_or_else(|| CowinError::missing("beneficiaries"))?
            .iter()
            .filter_map(text_of)
            .collect(),
    };
    let confirmation = booking(&app)
        .schedule(&grant, &request, &request_id(&headers))
        .await?;
    Ok(axum::Json(json!({ "appointment_confirmation_no": confirmation })).into_response())
}

#[derive(Deserialize)]
struct Reschedule {
    appointment_id: Option<String>,
    session_id: Option<String>,
    slot: Option<String>,
}

/// `POST /api/v2/appointment/reschedule {appointment_id, session_id, slot}` → 204
pub async fn reschedule(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let r: Reschedule = read_json(&body)?;
    let appointment_id = r
        .appointment_id
        .ok_or_else(|| CowinError::missing("appointment_id"))?;
    let session_id = r
        .session_id
        .ok_or_else(|| CowinError::missing("session_id"))?;
    let slot = r.slot.ok_or_else(|| CowinError::missing("slot"))?;
    booking(&app)
        .reschedule(
            &grant,
            &appointment_id,
            &session_id,
            &slot,
            &request_id(&headers),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct Cancel {
    appointment_id: Option<String>,
    #[serde(rename = "beneficiariesToCancel")]
    beneficiaries_to_cancel: Option<Vec<Value>>,
}

/// `POST /api/v2/appointment/cancel {appointment_id, beneficiariesToCancel[]}` → 204
pub async fn cancel(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let c: Cancel = read_json(&body)?;
    let appointment_id = c
        .appointment_id
        .ok_or_else(|| CowinError::missing("appointment_id"))?;
    let people: Vec<String> = c
        .beneficiaries_to_cancel
        .ok_or_else(|| CowinError::missing("beneficiariesToCancel"))?
        .iter()
        .filter_map(text_of)
        .collect();
    booking(&app)
        .cancel(&grant, &appointment_id, &people, &request_id(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
