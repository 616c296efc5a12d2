//! CoWIN's booking routes for a logged-in citizen: schedule, reschedule, cancel, the appointment
//! slip, and the proof-of-work challenge. Every booking request passes the per-account and
//! per-IP booking limits first, and the proof of work when an operator has switched it on.

use super::citizen::{Citizen, ClientIp, request_id, text_of};
use super::params::{Params, read_json};
use crate::error::CowinError;
use crate::partner::Caller;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::IpAddr;
use teeka_app::access::CitizenGrant;
use teeka_app::antibot;
use teeka_app::booking::{Booking, ScheduleRequest, TOO_MANY_BOOKINGS};
use teeka_domain::partner::Scope;

fn booking(app: &AppState) -> Booking<'_> {
    Booking {
        store: &app.store,
        vault: &app.vault,
        config: &app.booking,
    }
}

/// Counts a booking request against the account's and the address's limits; 429 with
/// `Retry-After` when either is spent.
fn within_booking_limits(
    app: &AppState,
    grant: &CitizenGrant,
    ip: IpAddr,
) -> Result<(), CowinError> {
    let over_account = app
        .booking_account_limiter
        .as_ref()
        .and_then(|l| l.check_key(grant.account_id()).err());
    let over = over_account.or_else(|| {
        app.booking_ip_limiter
            .as_ref()
            .and_then(|l| l.check(ip).err())
    });
    match over {
        None => Ok(()),
        Some(wait) => {
            metrics::counter!("teeka_booking_limited_total").increment(1);
            Err(CowinError::new(
                StatusCode::TOO_MANY_REQUESTS,
                TOO_MANY_BOOKINGS,
                "Too many booking requests; please try again later",
            )
            .retry_after(wait))
        }
    }
}

/// The proof of work, when the operator has switched it on.
fn proof_of_work(
    app: &AppState,
    grant: &CitizenGrant,
    captcha: Option<&Value>,
) -> Result<(), CowinError> {
    if let Some(bits) = app.booking.proof_of_work_bits {
        let proof = captcha.and_then(text_of);
        antibot::verify(&app.vault, grant.account_id(), bits, proof.as_deref())?;
    }
    Ok(())
}

/// The `Idempotency-Key` header, if sent (unreadable bytes count as a malformed key).
fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned())
}

/// `GET /api/v2/appointment/challenge` → `{"required", "challenge"?, "difficulty"?, "expires_at_ms"?}`:
/// a proof-of-work challenge for this account, when the operator requires one.
pub async fn challenge(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
) -> Result<Response, CowinError> {
    let body = match app.booking.proof_of_work_bits {
        None => json!({ "required": false }),
        Some(bits) => {
            let c = antibot::issue(&app.vault, grant.account_id(), bits);
            json!({
                "required": true,
                "challenge": c.challenge,
                "difficulty": c.difficulty,
                "expires_at_ms": c.expires_at_ms,
                "algorithm": "sha256(challenge + \":\" + nonce) has `difficulty` leading zero bits; send captcha = challenge + \":\" + nonce",
            })
        }
    };
    Ok(axum::Json(body).into_response())
}

#[derive(Deserialize)]
struct Schedule {
    dose: Option<Value>,
    session_id: Option<String>,
    slot: Option<String>,
    beneficiaries: Option<Vec<Value>>,
    captcha: Option<Value>,
}

/// `POST /api/v2/appointment/schedule {dose, session_id, slot, beneficiaries[], center_id?, captcha?}`
/// → `{"appointment_confirmation_no"}`. `center_id` is accepted and not needed; `captcha` carries
/// the proof of work when one is required. An `Idempotency-Key` header makes a retry safe.
pub async fn schedule(
    State(app): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let grant = caller.for_scope(Scope::Booking)?;
    within_booking_limits(&app, &grant, ip)?;
    let s: Schedule = read_json(&body)?;
    proof_of_work(&app, &grant, s.captcha.as_ref())?;
    let dose = s
        .dose
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("dose"))?
        .parse::<i64>()
        .map_err(|_| CowinError::invalid("Invalid dose: must be 1, 2 or 3"))?;
    let people = caller
        .references(
            &app,
            s.beneficiaries
                .ok_or_else(|| CowinError::missing("beneficiaries"))?
                .iter()
                .filter_map(text_of)
                .collect(),
        )
        .await?;
    let request = ScheduleRequest {
        dose,
        session_id: s
            .session_id
            .ok_or_else(|| CowinError::missing("session_id"))?,
        slot: s.slot.ok_or_else(|| CowinError::missing("slot"))?,
        beneficiaries: people,
        idempotency_key: idempotency_key(&headers),
    };
    let confirmation = booking(&app)
        .schedule(&grant, &request, &request_id(&headers))
        .await
        .map_err(|e| caller.shield(e))?;
    let shown = caller.shown_appointment(&app, &confirmation);
    Ok(axum::Json(json!({ "appointment_confirmation_no": shown })).into_response())
}

#[derive(Deserialize)]
struct Reschedule {
    appointment_id: Option<String>,
    session_id: Option<String>,
    slot: Option<String>,
    captcha: Option<Value>,
}

/// `POST /api/v2/appointment/reschedule {appointment_id, session_id, slot, captcha?}` → 204
pub async fn reschedule(
    State(app): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let grant = caller.for_scope(Scope::Booking)?;
    within_booking_limits(&app, &grant, ip)?;
    let r: Reschedule = read_json(&body)?;
    proof_of_work(&app, &grant, r.captcha.as_ref())?;
    let appointment_id = caller
        .appointment(
            &app,
            r.appointment_id
                .ok_or_else(|| CowinError::missing("appointment_id"))?,
        )
        .await?;
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
        .await
        .map_err(|e| caller.shield(e))?;
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
    caller: Caller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let grant = caller.for_scope(Scope::Booking)?;
    within_booking_limits(&app, &grant, ip)?;
    let c: Cancel = read_json(&body)?;
    let appointment_id = caller
        .appointment(
            &app,
            c.appointment_id
                .ok_or_else(|| CowinError::missing("appointment_id"))?,
        )
        .await?;
    let people = caller
        .references(
            &app,
            c.beneficiaries_to_cancel
                .ok_or_else(|| CowinError::missing("beneficiariesToCancel"))?
                .iter()
                .filter_map(text_of)
                .collect(),
        )
        .await?;
    booking(&app)
        .cancel(&grant, &appointment_id, &people, &request_id(&headers))
        .await
        .map_err(|e| caller.shield(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v2/appointment/appointmentslip/download?appointment_id=` → the slip as PDF.
pub async fn slip(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    // The slip prints the person's reference id and year of birth: it is the person's own
    // document, never a partner's.
    let Caller::Citizen(grant) = caller else {
        return Err(CowinError::new(
            StatusCode::FORBIDDEN,
            teeka_app::access::SCOPE_NOT_ALLOWED,
            "The appointment slip is for the person only",
        ));
    };
    let params = Params::parse(query.as_deref())?;
    let appointment_id = params.required_text("appointment_id")?;
    let pdf = booking(&app)
        .slip(&grant, appointment_id, &request_id(&headers))
        .await?;
    let mut response = ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response();
    // The slip exists, so the id parsed; the file name uses its canonical form, never the
    // client's spelling of it.
    let canonical = appointment_id
        .trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let disposition = format!("attachment; filename=\"appointment-{canonical}.pdf\"");
    let h = response.headers_mut();
    // Personal data: never kept by a shared cache or the browser's.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
