//! The vaccination desk's routes (`/api/v1/desk/…`): JSON in, JSON out, our error shape. The
//! guard has already checked the session and the role; the use cases check the centre and the
//! person's code.

use crate::cowin::citizen::request_id;
use crate::cowin::params::read_json_api;
use crate::error::ApiError;
use crate::staff::SignedIn;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use teeka_app::desk::{
    AefiInput, BreakGlassInput, CorrectionInput, Desk, DoseInput, PersonView, WalkInInput,
};
use teeka_app::staff::Staff;

fn desk(app: &AppState) -> Desk<'_> {
    Desk {
        store: &app.store,
        vault: &app.vault,
        identity: &app.identity,
        config: &app.desk,
        issuer: &app.issuer,
    }
}

fn private(body: serde_json::Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    response
}

fn person_json(p: &PersonView) -> serde_json::Value {
    json!({
        "beneficiary_reference_id": p.reference_id,
        "name": p.name_masked,
        "birth_year": p.birth_year.to_string(),
        "gender": p.gender.cowin_name(),
        "photo_id_type": p.photo_id_type.cowin_name(),
        "photo_id_number": p.photo_id_masked,
        "opened_by": p.opened_by,
        "dose": p.dose,
        "vaccine": p.vaccine,
        "doses_recorded": p.doses_recorded,
        "open_until_ms": p.open_until_ms,
    })
}

/// `GET /api/v1/desk/today` → `{"appointments":[{"beneficiary_reference_id","slot","dose","name",…}]}`
pub async fn today(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lines = desk(&app).today(&grant, &request_id(&headers)).await?;
    let appointments: Vec<_> = lines
        .iter()
        .map(|l| {
            json!({
                "beneficiary_reference_id": l.reference_id,
                "slot": l.slot,
                "dose": l.dose,
                "name": l.name_masked,
                "checked_in": l.checked_in,
                "vaccinated": l.vaccinated,
                "locked": l.locked,
            })
        })
        .collect();
    Ok(private(json!({ "appointments": appointments })))
}

#[derive(Deserialize)]
struct Checkin {
    beneficiary_reference_id: String,
    code: String,
}

/// `POST /api/v1/desk/checkin {"beneficiary_reference_id","code"}` → the person, masked.
pub async fn checkin(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: Checkin = read_json_api(&body)?;
    let person = desk(&app)
        .check_in(
            &grant,
            &c.beneficiary_reference_id,
            &c.code,
            &request_id(&headers),
        )
        .await?;
    Ok(private(person_json(&person)))
}

#[derive(Deserialize)]
struct WalkInBody {
    mobile: String,
    name: String,
    birth_year: i64,
    gender_id: i64,
    photo_id_type: i64,
    photo_id_number: String,
    #[serde(default)]
    comorbidity: bool,
    session_id: String,
}

/// `POST /api/v1/desk/walkin {…}` → the new person, masked, opened for the desk.
pub async fn walkin(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let w: WalkInBody = read_json_api(&body)?;
    let input = WalkInInput {
        mobile: w.mobile,
        name: w.name,
        birth_year: w.birth_year,
        gender_id: w.gender_id,
        photo_id_type: w.photo_id_type,
        photo_id_number: w.photo_id_number,
        comorbidity: w.comorbidity,
        session_id: w.session_id,
    };
    let person = desk(&app)
        .walk_in(&grant, &input, &request_id(&headers))
        .await?;
    Ok(private(person_json(&person)))
}

#[derive(Deserialize)]
struct DoseBody {
    beneficiary_reference_id: String,
    vaccine: String,
    batch: String,
    dose_number: i32,
}

/// `POST /api/v1/desk/dose {"beneficiary_reference_id","vaccine","batch","dose_number"}` →
/// the dose recorded (with its id, for adverse events and corrections).
pub async fn dose(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let d: DoseBody = read_json_api(&body)?;
    let input = DoseInput {
        reference_id: d.beneficiary_reference_id,
        vaccine: d.vaccine,
        batch: d.batch,
        dose_number: d.dose_number,
    };
    let dose = desk(&app)
        .record_dose(&grant, &input, &request_id(&headers))
        .await?;
    Ok(private(json!({
        "dose_id": dose.dose_id,
        "beneficiary_reference_id": dose.reference_id,
        "dose_number": dose.dose_number,
        "vaccine": dose.vaccine,
        "batch": dose.batch,
        "given_at_ms": dose.given_at_ms,
        "vaccinator": dose.vaccinator,
    })))
}

#[derive(Deserialize)]
struct AefiBody {
    dose_id: String,
    severity: String,
    symptoms: Vec<String>,
    onset_minutes_after_dose: i64,
    notes: Option<String>,
}

/// `POST /api/v1/desk/aefi {"dose_id","severity","symptoms","onset_minutes_after_dose","notes"?}`
/// → `{"aefi_id"}`.
pub async fn aefi(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let a: AefiBody = read_json_api(&body)?;
    let input = AefiInput {
        dose_id: a.dose_id,
        severity: a.severity,
        symptoms: a.symptoms,
        onset_minutes_after_dose: a.onset_minutes_after_dose,
        notes: a.notes,
    };
    let id = desk(&app)
        .report_aefi(&grant, &input, &request_id(&headers))
        .await?;
    Ok(private(json!({ "aefi_id": id })))
}

#[derive(Deserialize)]
struct CorrectionBody {
    dose_id: String,
    #[serde(default)]
    revoke: bool,
    vaccine: Option<String>,
    batch: Option<String>,
    reason: String,
}

/// `POST /api/v1/desk/correction {"dose_id","revoke"?,"vaccine"?,"batch"?,"reason"}` → 204.
pub async fn correction(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: CorrectionBody = read_json_api(&body)?;
    let input = CorrectionInput {
        dose_id: c.dose_id,
        revoke: c.revoke,
        vaccine: c.vaccine,
        batch: c.batch,
        reason: c.reason,
    };
    desk(&app)
        .correct_dose(&grant, &input, &request_id(&headers))
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct BreakGlassBody {
    beneficiary_reference_id: String,
    reason_code: String,
    reason_text: String,
    totp: String,
}

/// `POST /api/v1/desk/break-glass {"beneficiary_reference_id","reason_code","reason_text","totp"}`
/// → the person, masked, opened for 60 minutes.
pub async fn break_glass(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: BreakGlassBody = read_json_api(&body)?;
    let input = BreakGlassInput {
        reference_id: b.beneficiary_reference_id,
        reason_code: b.reason_code,
        reason_text: b.reason_text,
        totp: b.totp,
    };
    let accounts = Staff {
        store: &app.store,
        vault: &app.vault,
        config: &app.staff,
    };
    let person = desk(&app)
        .break_glass(&grant, &accounts, &input, &request_id(&headers))
        .await?;
    Ok(private(person_json(&person)))
}
