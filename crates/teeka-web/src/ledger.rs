//! The access ledger over HTTP: the signed checkpoint, the verifier key, inclusion and
//! consistency proofs (public, like a transparency log's), a citizen's access history (OTP
//! session, own beneficiaries only) and the breach report (auditors and area administrators).

use crate::cowin::citizen::{bearer_token, request_id};
use crate::cowin::params::read_json_api;
use crate::error::{ApiError, INVALID_PARAMETER, UNAUTHENTICATED};
use crate::staff::SignedIn;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use teeka_app::access::citizen_grant;
use teeka_app::ledger::{ReportCaller, ReportQuery};

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One parameter of a query string whose values are plain digits (nothing to decode).
fn param<'a>(query: &'a Option<String>, name: &str) -> Option<&'a str> {
    query
        .as_deref()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn number(query: &Option<String>, name: &'static str) -> Result<u64, ApiError> {
    param(query, name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                INVALID_PARAMETER,
                format!("{name} must be a whole number"),
            )
        })
}

/// `GET /api/v1/ledger/checkpoint`: the newest signed checkpoint (a fresh one when the log grew),
/// as the C2SP signed note in `text/plain`.
pub async fn checkpoint(State(app): State<AppState>) -> Result<Response, ApiError> {
    let cp = app.ledger.checkpoint().await?;
    Ok(no_store(
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            cp.note,
        )
            .into_response(),
    ))
}

/// `GET /api/v1/ledger/key`: the checkpoint key as a C2SP verifier key.
pub async fn key(State(app): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", app.ledger.verifier_key()),
    )
        .into_response()
}

/// `GET /api/v1/ledger/proof/inclusion?seq=&tree_size=` → the leaf hash and its audit path.
pub async fn inclusion(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (seq, size) = (number(&query, "seq")?, number(&query, "tree_size")?);
    let (leaf, proof) = app.ledger.inclusion_proof(seq, size).await?;
    Ok(axum::Json(json!({
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": hex::encode(leaf),
        "proof": hexes(&proof),
    }))
    .into_response())
}

/// `GET /api/v1/ledger/proof/consistency?first=&second=` → the consistency proof.
pub async fn consistency(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (first, second) = (number(&query, "first")?, number(&query, "second")?);
    let proof = app.ledger.consistency_proof(first, second).await?;
    Ok(
        axum::Json(json!({ "first": first, "second": second, "proof": hexes(&proof) }))
            .into_response(),
    )
}

/// `GET /api/v1/citizen/access-history?beneficiary_reference_id=` (citizen token): every access
/// to that person's data, each with its inclusion proof against the checkpoint included.
pub async fn access_history(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let token = bearer_token(&headers).unwrap_or("");
    let grant = citizen_grant(&app.store, token).await.map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "Sign in with an OTP first",
        )
    })?;
    let reference_id = param(&query, "beneficiary_reference_id").unwrap_or("");
    let history = app
        .ledger
        .history(&grant, reference_id, &request_id(&headers))
        .await?;
    let entries: Vec<_> = history
        .entries
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "at": teeka_app::ledger::utc(e.at_ms),
                "actor_kind": e.actor_kind,
                "actor_role": e.actor_role,
                "place": e.place,
                "actor": e.actor_masked,
                "action": e.action,
                "purpose": e.purpose,
                "leaf_hash": hex::encode(e.leaf_hash),
                "inclusion_proof": hexes(&e.inclusion_proof),
            })
        })
        .collect();
    Ok(no_store(
        axum::Json(json!({
            "beneficiary_reference_id": reference_id,
            "checkpoint": history.checkpoint.note,
            "tree_size": history.checkpoint.size,
            "root_hash": hex::encode(history.checkpoint.root),
            "verifier_key": app.ledger.verifier_key(),
            "entries": entries,
        }))
        .into_response(),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    actor: String,
    from: String,
    to: String,
    #[serde(default)]
    notify: bool,
}

fn instant(text: &str, name: &str) -> Result<i64, ApiError> {
    teeka_app::ledger::parse_instant(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            INVALID_PARAMETER,
            format!("{name} must be an RFC 3339 time, such as 2026-11-23T10:00:00+05:30"),
        )
    })
}

/// `POST /api/v1/admin/ledger/breach-report` `{actor, from, to, notify}` → the affected people
/// (reference id, masked mobile), the per-action summary and its CSV.
pub async fn breach_report(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ReportInput = read_json_api(&body)?;
    let query = ReportQuery {
        actor: input.actor,
        from_ms: instant(&input.from, "from")?,
        to_ms: instant(&input.to, "to")?,
        notify: input.notify,
    };
    let report = app
        .ledger
        .breach_report(
            &app.vault,
            ReportCaller::Staff(&grant),
            &query,
            &request_id(&headers),
        )
        .await?;
    let affected: Vec<_> = report
        .affected
        .iter()
        .map(|a| {
            json!({
                "beneficiary_reference_id": a.reference_id,
                "mobile": a.mobile_masked,
                "accesses": a.accesses,
            })
        })
        .collect();
    let by_action: Vec<_> = report
        .by_action
        .iter()
        .map(|(action, (events, people))| json!({"action": action, "accesses": events, "people": people}))
        .collect();
    Ok(no_store(
        (
            StatusCode::OK,
            axum::Json(json!({
                "actor_id": report.actor_id,
                "from": teeka_app::ledger::utc(report.from_ms),
                "to": teeka_app::ledger::utc(report.to_ms),
                "accesses": report.events,
                "affected_count": report.affected.len(),
                "affected": affected,
                "by_action": by_action,
                "notices_queued": report.notices_queued,
                "csv": report.csv(),
            })),
        )
            .into_response(),
    ))
}
