//! Certificate routes: the PDF download on CoWIN's route and the QR payloads (the person, or a
//! partner within a `certificate` consent); the issuer's public keys (JWKS and PEM) and the
//! signed revocation list, public and cacheable; and the universal verifier as a web call.

use crate::cowin::citizen::{Citizen, request_id, text_of};
use crate::cowin::params::{Params, read_json};
use crate::error::{ApiError, CowinError};
use crate::partner::Caller;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use teeka_app::certificates::{
    IssuedCertificate, certificates_for, issuer_jwks, issuer_pem, issuer_trust, revocation_list,
};
use teeka_cert::verify::{verdict_json, verify_any};
use teeka_domain::partner::Scope;

/// The caller's certificates for `beneficiary_reference_id` (a partner names the person by its
/// own id).
async fn certificates_of_caller(
    app: &AppState,
    caller: &Caller,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Vec<IssuedCertificate>, CowinError> {
    let grant = caller.for_scope(Scope::Certificate)?;
    if let Caller::Partner(p) = caller {
        // The certificate shows the person's name, gender and age: a consent must cover them.
        use teeka_domain::partner::SharedField;
        if ![
            SharedField::Name,
            SharedField::Gender,
            SharedField::BirthYear,
        ]
        .iter()
        .all(|f| p.fields().contains(f))
        {
            return Err(CowinError::new(
                StatusCode::FORBIDDEN,
                teeka_app::access::SCOPE_NOT_ALLOWED,
                "A certificate shows the person's name, gender and age: the consent must \
                 include name, gender and birth_year",
            ));
        }
    }
    let params = Params::parse(query)?;
    let named = params.required_text("beneficiary_reference_id")?.to_owned();
    let reference = caller
        .references(app, vec![named.clone()])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(certificates_for(
        &app.store,
        &app.vault,
        &app.issuer,
        &grant,
        &reference,
        // A partner's copy names the person by the partner's own id for them.
        match caller {
            Caller::Citizen(_) => &reference,
            Caller::Partner(_) => named.trim(),
        },
        &request_id(headers),
    )
    .await?)
}

fn private(mut response: Response) -> Response {
    // Personal data: never kept by a shared cache or the browser's.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// `GET /api/v2/registration/certificate/public/download?beneficiary_reference_id=` (CoWIN's
/// route) → the latest certificate as PDF, with its QR code.
pub async fn download(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    let all = certificates_of_caller(&app, &caller, query.as_deref(), &headers).await?;
    let Some(latest) = all.last() else {
        return Err(CowinError::new(
            StatusCode::NOT_FOUND,
            teeka_app::certificates::NO_CERTIFICATE,
            "No certificate for that beneficiary on this account",
        ));
    };
    let pdf = latest.pdf()?;
    let disposition = format!(
        "attachment; filename=\"certificate-{}.pdf\"",
        latest.row.certificate_id
    );
    let mut response = private(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `GET /api/v2/registration/certificate/public/qr?beneficiary_reference_id=` → every live
/// certificate with its QR payloads: the signed W3C credential, the SMART Health Card, and the
/// EU DCC when the person gave travel details (`null` otherwise).
pub async fn qr_payloads(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    let all = certificates_of_caller(&app, &caller, query.as_deref(), &headers).await?;
    let certificates: Vec<Value> = all
        .iter()
        .map(|c| {
            json!({
                "certificate_id": c.row.certificate_id,
                "kind": c.row.kind,
                "dose": c.facts.dose,
                "vaccine": c.facts.vaccine,
                "kid": c.row.kid,
                "credential": c.credential,
                "shc": c.shc,
                "eu_dcc": c.dcc,
            })
        })
        .collect();
    Ok(private(
        axum::Json(json!({ "certificates": certificates })).into_response(),
    ))
}

/// A traveller's details for the EU certificate, as sent.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TravelDetailsBody {
    beneficiary_reference_id: Option<Value>,
    surname: Option<String>,
    #[serde(default)]
    given_names: Option<String>,
    date_of_birth: Option<String>,
}

/// `POST /api/v2/registration/certificate/travel {beneficiary_reference_id, surname,
/// given_names, date_of_birth}` (the person's own token) → 204; from then on the person's
/// certificates also come as EU DCCs (`eu_dcc` in the QR payloads).
pub async fn set_travel_details(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let b: TravelDetailsBody = read_json(&body)?;
    let reference = b
        .beneficiary_reference_id
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("beneficiary_reference_id"))?;
    let surname = b.surname.ok_or_else(|| CowinError::missing("surname"))?;
    let date_of_birth = b
        .date_of_birth
        .ok_or_else(|| CowinError::missing("date_of_birth"))?;
    teeka_app::certificates::set_travel_details(
        &app.store,
        &app.vault,
        &grant,
        &reference,
        (
            &surname,
            b.given_names.as_deref().unwrap_or_default(),
            &date_of_birth,
        ),
        &request_id(&headers),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v2/registration/certificate/travel?beneficiary_reference_id=` → 204 (404 when
/// the person is not on this account).
pub async fn remove_travel_details(
    State(app): State<AppState>,
    Citizen(grant): Citizen,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    let params = Params::parse(query.as_deref())?;
    let reference = params.required_text("beneficiary_reference_id")?.to_owned();
    teeka_app::certificates::remove_travel_details(
        &app.store,
        &grant,
        &reference,
        &request_id(&headers),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v2/registration/certificate/status` (CoWIN's KYC-VS) → each member's status,
/// 0 not, 1 partially, 2 fully vaccinated, and the same list signed (`signed`: a compact JWS,
/// EdDSA, verifiable with `/.well-known/jwks.json`). A partner needs a `status_check` consent,
/// and sees its own ids only (as in the certificates it downloads).
pub async fn status(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, CowinError> {
    let grant = caller.for_scope(Scope::StatusCheck)?;
    let (statuses, signed) = teeka_app::certificates::vaccination_status(
        &app.store,
        &app.vault,
        &app.issuer,
        &grant,
        &request_id(&headers),
    )
    .await?;
    let list: Vec<Value> = statuses
        .iter()
        .map(|(id, s)| json!({ "beneficiary_reference_id": id, "status": s }))
        .collect();
    Ok(private(
        axum::Json(json!({ "statuses": list, "signed": signed })).into_response(),
    ))
}

fn public_cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /.well-known/jwks.json` → the issuer's public keys, current and retired.
pub async fn jwks(State(app): State<AppState>) -> Response {
    public_cacheable(axum::Json(issuer_jwks(&app.issuer)).into_response())
}

/// `GET /api/v1/certificates/keys.pem` → the same keys as PEM (SPKI), each preceded by a
/// comment line naming its kid.
pub async fn keys_pem(State(app): State<AppState>) -> Response {
    public_cacheable(
        (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            issuer_pem(&app.issuer),
        )
            .into_response(),
    )
}

/// `GET /api/v1/certificates/dsc.pem` → every key generation's EU DCC signer certificate
/// (X.509, PEM), as an EU trust list holds them.
pub async fn signer_certificates(State(app): State<AppState>) -> Response {
    public_cacheable(
        (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            teeka_app::certificates::issuer_signer_certificates_pem(&app.issuer),
        )
            .into_response(),
    )
}

/// `GET /api/v1/certificates/revoked` → the signed list of revoked certificates (hashed ids).
pub async fn revoked(State(app): State<AppState>) -> Result<Response, ApiError> {
    let list = revocation_list(&app.store, &app.issuer).await?;
    Ok(public_cacheable(axum::Json(list).into_response()))
}

/// `GET /.well-known/crl/{kid}.json` → the SMART Health Card revocation list for a key.
pub async fn shc_crl(
    State(app): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let kid = file.strip_suffix(".json").unwrap_or(&file);
    match teeka_app::certificates::shc_crl(&app.store, &app.issuer, kid).await? {
        Some(crl) => Ok(public_cacheable(axum::Json(crl).into_response())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            crate::error::NO_SUCH_ROUTE,
            "no such key",
        )),
    }
}

/// The most a certificate's text may weigh at the web verifier: a QR code holds under 3 KiB.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The most a picture of a QR code may weigh at the web verifier.
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;

/// `POST /api/v1/verify` with a QR code's text (or a PNG or JPEG picture of it) as the body → the verifier's verdict, against
/// this issuer's keys and revocation list: 200 with `valid` true or false, 422 when the input is
/// no certificate at all.
pub async fn verify(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let picture = teeka_cert::qr_image::is_picture(&body);
    if !picture && body.len() > MAX_TEXT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            UNUSABLE_CERTIFICATE,
            "a QR code's text is at most 16 KiB; send a picture of the code (PNG or JPEG) or its text",
        ));
    }
    let trust = issuer_trust(&app.issuer);
    let revocations = teeka_app::certificates::issuer_revocations(&app.store, &app.issuer).await?;
    // A picture takes the one picture slot, held until its decoding ends (a blocking task is
    // not cut short by the request timeout, and a crafted picture can keep the QR reader busy
    // for long): pictures wait their turn, and text verification and every other request keep
    // the rest of the machine.
    let slot = if picture {
        Some(app.picture_slot.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::error::UNAVAILABLE,
                "another picture is being read; try again shortly, or send the QR code's text",
            )
        })?)
    } else {
        None
    };
    let codes = match (&app.config.picture_reader, picture) {
        (crate::config::PictureReader::ChildProcess { program, limit }, true) => {
            Some(read_picture_in_child(program, *limit, &body).await?)
        }
        _ => None,
    };
    // Canonicalisation is CPU work: off the async workers, so a burst of verifications does not
    // stall every other request.
    let checked = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let now = time::OffsetDateTime::now_utc();
        match codes {
            Some(codes) => {
                teeka_cert::verify::verify_decoded_codes(codes, &trust, &revocations, now)
            }
            None => verify_any(&body, &trust, &revocations, now),
        }
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "verifier task failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error::INTERNAL,
            "internal error",
        )
    })?;
    match checked {
        Ok(verdict) => Ok(axum::Json(verdict_json(&verdict)).into_response()),
        Err(unusable) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UNUSABLE_CERTIFICATE,
            unusable.to_string(),
        )),
    }
}

/// The QR codes in `picture`, read by `program read-qr` in a child process that is killed after
/// `limit` (the reader cannot be stopped any other way).
async fn read_picture_in_child(
    program: &std::path::Path,
    limit: std::time::Duration,
    picture: &[u8],
) -> Result<Vec<teeka_cert::qr_image::DecodedQr>, ApiError> {
    use tokio::io::AsyncWriteExt;
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "{what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error::INTERNAL,
            "internal error",
        )
    };
    let mut child = tokio::process::Command::new(program)
        .arg("read-qr")
        // The child parses pictures from anyone: it gets none of the server's keys or settings.
        .env_clear()
        .env("TEEKA_LOG_FORMAT", "text")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed("the picture reader did not start", &e))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| failed("the picture reader has no input", &"stdin"))?;
    let input = picture.to_vec();
    let feed = tokio::spawn(async move {
        // A reader that stops early closes its input; that is its answer's business.
        let _ = stdin.write_all(&input).await;
    });
    let finished = tokio::time::timeout(limit, child.wait_with_output()).await;
    feed.abort();
    let output = match finished {
        Ok(output) => output.map_err(|e| failed("the picture reader failed", &e))?,
        // Dropping the child's future kills it (`kill_on_drop`).
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                UNUSABLE_CERTIFICATE,
                format!(
                    "the picture took longer than {} s to search for a QR code; send one cropped to the code, or its text",
                    limit.as_secs()
                ),
            ));
        }
    };
    #[derive(serde::Deserialize)]
    struct Answer {
        codes: Option<Vec<teeka_cert::qr_image::DecodedQr>>,
        error: Option<String>,
    }
    // A reader that crashed (an abort, a stack overflow, out of memory) was beaten by the
    // picture: the caller's input, not a fault of ours.
    let answer: Answer = match serde_json::from_slice(&output.stdout) {
        Ok(answer) if output.status.success() => answer,
        _ => {
            tracing::warn!(status = %output.status, "the picture reader stopped without an answer");
            Answer {
                codes: None,
                error: Some("the picture could not be read".into()),
            }
        }
    };
    match (answer.codes, answer.error) {
        (Some(codes), _) => Ok(codes),
        (None, reason) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            UNUSABLE_CERTIFICATE,
            // Worded as the in-process reader's refusal is.
            teeka_cert::trust::Unusable {
                format: "picture",
                reason: reason.unwrap_or_else(|| "no readable QR code in the picture".into()),
            }
            .to_string(),
        )),
    }
}

/// Ours: the body is not a certificate in any format the verifier reads.
pub const UNUSABLE_CERTIFICATE: &str = "TKACRT0002";
