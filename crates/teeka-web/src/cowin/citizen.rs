//! CoWIN's citizen routes: OTP login (public and portal variants), logout, reference lists and
//! the beneficiary registry. Every handler that touches personal data takes a [`CitizenGrant`],
//! which only `teeka_app::access` can make.

use super::params::read_json;
use crate::error::CowinError;
use crate::ratelimit::client_ip;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use teeka_app::access::{CitizenGrant, citizen_grant};
use teeka_app::citizen::{Identity, NewBeneficiaryInput};
use teeka_domain::{Gender, Mobile, PhotoIdType};
use uuid::Uuid;

/// The citizen grant, from `Authorization: Bearer <token>`; 401 otherwise.
pub struct Citizen(pub CitizenGrant);

impl FromRequestParts<AppState> for Citizen {
    type Rejection = CowinError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).unwrap_or("");
        Ok(Citizen(citizen_grant(&app.store, token).await?))
    }
}

/// The token of `Authorization: Bearer <token>` (either case of the scheme), if present.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
}

fn identity(app: &AppState) -> Identity<'_> {
    Identity {
        store: &app.store,
        vault: &app.vault,
        config: &app.identity,
    }
}

/// The server's request id for this request (it goes on the ledger).
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&crate::middleware::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The client's IP: the peer, or what a trusted proxy says it forwarded for.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &app.config.trusted_proxies,
        )))
    }
}

#[derive(Deserialize)]
struct GenerateOtp {
    mobile: Option<Value>,
}

#[derive(Deserialize)]
struct ConfirmOtp {
    otp: Option<String>,
    #[serde(rename = "txnId")]
    txn_id: Option<String>,
}

/// A JSON string or number as text (CoWIN clients send both for the same fields).
pub(crate) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn generate(app: &AppState, ip: IpAddr, body: &Bytes) -> Result<Response, CowinError> {
    let input: GenerateOtp = read_json(body)?;
    let mobile = input
        .mobile
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("mobile"))?;
    let mobile: Mobile = mobile
        .parse()
        .map_err(|e| CowinError::invalid(format!("Invalid mobile: {e}")))?;
    let txn_id = identity(app).send_otp(&mobile, ip).await?;
    Ok(axum::Json(json!({ "txnId": txn_id.to_string() })).into_response())
}

/// A confirmation's `{"otp", "txnId"}`, with CoWIN's codes when either is missing.
pub(crate) fn otp_and_txn(body: &Bytes) -> Result<(String, Uuid), CowinError> {
    let input: ConfirmOtp = read_json(body)?;
    let otp = input
        .otp
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| CowinError::new(StatusCode::BAD_REQUEST, "USRAUT0012", "OTP is Required"))?;
    let txn_id = input
        .txn_id
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            CowinError::new(StatusCode::BAD_REQUEST, "USRAUT0013", "txnId is Required")
        })?;
    // A malformed transaction id is just an unknown one.
    Ok((otp, txn_id.trim().parse().unwrap_or_else(|_| Uuid::nil())))
}

async fn confirm(
    app: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
    portal: bool,
) -> Result<Response, CowinError> {
    let (otp, txn_id) = otp_and_txn(body)?;
    let (token, new_account) = identity(app)
        .confirm_otp(txn_id, &otp, ip, &request_id(headers))
        .await?;
    Ok(if portal {
        axum::Json(json!({ "token": token, "isNewAccount": if new_account { "Y" } else { "N" } }))
            .into_response()
    } else {
        axum::Json(json!({ "token": token })).into_response()
    })
}

/// `POST /api/v2/auth/public/generateOTP {"mobile"}` → `{"txnId"}`
pub async fn public_generate_otp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, CowinError> {
    generate(&app, ip, &body).await
}

/// `POST /api/v2/auth/public/confirmOTP {"otp": sha256-hex, "txnId"}` → `{"token"}`
pub async fn public_confirm_otp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    confirm(&app, ip, &headers, &body, false).await
}

/// `POST /api/v2/auth/generateMobileOTP {"mobile","secret"?}` → `{"txnId"}` (`secret` is ignored).
pub async fn portal_generate_otp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, CowinError> {
    generate(&app, ip, &body).await
}

/// `POST /api/v2/auth/validateMobileOtp {"otp","txnId"}` → `{"token","isNewAccount"}`
pub async fn portal_validate_otp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    confirm(&app, ip, &headers, &body, true).await
}

/// `POST /api/v2/auth/logout` (bearer): ends the session.
pub async fn logout(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
) -> Result<Response, CowinError> {
    identity(&app).logout(&grant).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v2/registration/beneficiary/idTypes`
pub async fn id_types() -> Response {
    let types: Vec<Value> = PhotoIdType::ALL
        .iter()
        .map(|t| json!({ "id": t.cowin_id(), "type": t.cowin_name() }))
        .collect();
    axum::Json(json!({ "types": types, "ttl": 24 })).into_response()
}

/// `GET /api/v2/registration/beneficiary/genders`
pub async fn genders() -> Response {
    let genders: Vec<Value> = Gender::ALL
        .iter()
        .map(|g| json!({ "id": g.cowin_id(), "gender": g.cowin_name() }))
        .collect();
    axum::Json(json!({ "genders": genders, "ttl": 24 })).into_response()
}

#[derive(Deserialize)]
struct NewBeneficiary {
    name: Option<String>,
    birth_year: Option<Value>,
    gender_id: Option<Value>,
    photo_id_type: Option<Value>,
    photo_id_number: Option<String>,
    comorbidity_ind: Option<String>,
    consent_version: Option<String>,
}

fn required_number(v: Option<&Value>, name: &str) -> Result<i64, CowinError> {
    let text = v
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing(name))?;
    text.trim()
        .parse()
        .map_err(|_| CowinError::invalid(format!("Invalid {name}: must be a number")))
}

/// `POST /api/v2/registration/beneficiary/new` → `{"beneficiary_reference_id"}`
pub async fn new_beneficiary(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let b: NewBeneficiary = read_json(&body)?;
    let input = NewBeneficiaryInput {
        name: b.name.ok_or_else(|| CowinError::missing("name"))?,
        birth_year: required_number(b.birth_year.as_ref(), "birth_year")?,
        gender_id: required_number(b.gender_id.as_ref(), "gender_id")?,
        photo_id_type: required_number(b.photo_id_type.as_ref(), "photo_id_type")?,
        photo_id_number: b
            .photo_id_number
            .ok_or_else(|| CowinError::missing("photo_id_number"))?,
        comorbidity: match b.comorbidity_ind.as_deref().map(str::trim) {
            None | Some("N") | Some("n") => false,
            Some("Y") | Some("y") => true,
            Some(_) => {
                return Err(CowinError::invalid(
                    "Invalid comorbidity_ind: must be Y or N",
                ));
            }
        },
        consent_version: b
            .consent_version
            .ok_or_else(|| CowinError::missing("consent_version"))?,
    };
    let reference_id = identity(&app)
        .register(&grant, &input, &request_id(&headers))
        .await?;
    Ok(axum::Json(json!({ "beneficiary_reference_id": reference_id })).into_response())
}

#[derive(Deserialize)]
struct DeleteBeneficiary {
    beneficiary_reference_id: Option<Value>,
}

/// `POST /api/v2/registration/beneficiary/delete {"beneficiary_reference_id"}` → 204
pub async fn delete_beneficiary(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let d: DeleteBeneficiary = read_json(&body)?;
    let reference_id = d
        .beneficiary_reference_id
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("beneficiary_reference_id"))?;
    identity(&app)
        .delete(&grant, reference_id.trim(), &request_id(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v2/appointment/beneficiaries`: CoWIN's beneficiary shape, personal data masked. A
/// partner (scope `beneficiary_read`) gets its own ids and only the fields the person approved.
pub async fn beneficiaries(
    State(app): State<AppState>,
    caller: crate::partner::Caller,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    let grant = match caller {
        crate::partner::Caller::Partner(grant) => {
            return crate::partner::shared_beneficiaries(&app, &grant, &headers).await;
        }
        crate::partner::Caller::Citizen(grant) => grant,
    };
    let list = identity(&app)
        .beneficiaries(&grant, &request_id(&headers))
        .await?;
    let beneficiaries: Vec<Value> = list
        .iter()
        .map(|b| {
            json!({
                "beneficiary_reference_id": b.reference_id,
                "name": b.name_masked,
                "birth_year": b.birth_year.to_string(),
                "gender": b.gender.cowin_name(),
                "mobile_number": b.mobile_masked,
                "photo_id_type": b.photo_id_type.cowin_name(),
                "photo_id_number": b.photo_id_masked,
                "comorbidity_ind": if b.comorbidity { "Y" } else { "N" },
                "vaccination_status": "Not Vaccinated",
                "vaccine": "",
                "dose1_date": "",
                "dose2_date": "",
                "appointments": b.appointments.iter().map(appointment_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "beneficiaries": beneficiaries })).into_response())
}

/// A live appointment in CoWIN's beneficiary shape (with the code the desk asks for, when the
/// viewer may see it: the person, not a partner).
pub(crate) fn appointment_json(a: &teeka_app::citizen::AppointmentView) -> Value {
    let mut out = json!({
        "appointment_id": a.appointment_id.to_string(),
        "session_id": a.session_id.to_string(),
        "center_id": a.centre_id,
        "name": a.centre_name,
        "date": a.date.to_string(),
        "slot": a.slot,
        "dose": a.dose,
    });
    if !a.code.is_empty() {
        out["secret_code"] = json!(a.code);
    }
    out
}
