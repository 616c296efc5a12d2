//! The partner face: `X-Api-Key` on CoWIN's protected OTP routes, the [`Caller`] that lets a
//! partner use the citizen routes within a consent, the citizen's consent list, research
//! exports, public statistics, the registry and kill switch for administrators, and the answer
//! to any request shaped like an identifier lookup (410, for every caller).

use crate::cowin::citizen::{ClientIp, bearer_token, request_id, text_of};
use crate::cowin::params::{Params, read_json, read_json_api};
use crate::error::{ApiError, CowinError};
use crate::staff::SignedIn;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use teeka_app::access::{CitizenGrant, PartnerGrant, citizen_grant, partner_grant};
use teeka_app::citizen::Identity;
use teeka_app::partner::{
    AdminActor, ConsentAsk, NewPartner, PartnerAdmin, PartnerCaller, ask_consent, authenticate,
    confirm_consent, list_consents, revoke_consent,
};
use teeka_app::reports::{Dimension, ExportQuery, public_report, research_export};
use teeka_domain::aggregate::Released;
use teeka_domain::partner::{Scope, SharedField, parse_set};
use teeka_domain::{CowinDate, Mobile};
use teeka_store::partner::CountFilter;

/// Ours: this route would look a person up by an identifier; no such route exists.
pub const IDENTIFIER_LOOKUP_GONE: &str = "TKAREQ0410";

fn identity(app: &AppState) -> Identity<'_> {
    Identity {
        store: &app.store,
        vault: &app.vault,
        config: &app.identity,
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client certificate's fingerprint, as a TLS terminator on a trusted proxy forwards it;
/// ignored from anyone else, who could simply write the header.
fn forwarded_fingerprint<'a>(parts: &'a Parts, app: &AppState) -> Option<&'a str> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    if !app.config.trusted_proxies.contains(&peer) {
        return None;
    }
    parts
        .headers
        .get("x-client-cert-sha256")
        .and_then(|v| v.to_str().ok())
}

/// A partner that presented a valid `X-Api-Key` (401 otherwise); no grant to anyone's data.
pub struct Partner(pub PartnerCaller);

impl FromRequestParts<AppState> for Partner {
    type Rejection = CowinError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, CowinError> {
        let key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(Partner(
            authenticate(&app.store, key, forwarded_fingerprint(parts, app)).await?,
        ))
    }
}

/// Who calls a citizen route: the person with their OTP session, or a partner (its
/// `X-Api-Key` and the token of a consent the person approved).
pub enum Caller {
    /// The person.
    Citizen(CitizenGrant),
    /// A partner within a consent (boxed: it carries the consent and the registry row).
    Partner(Box<PartnerGrant>),
}

impl Caller {
    /// The grant to act as the person for `scope`: the person always; a partner only within
    /// its consent, registry and the kill switch.
    pub fn for_scope(&self, scope: Scope) -> Result<CitizenGrant, CowinError> {
        match self {
            Caller::Citizen(grant) => Ok(grant.clone()),
            Caller::Partner(grant) => Ok(grant.for_scope(scope)?),
        }
    }

    /// Reference ids as the caller names people: the person's own, or a partner's pairwise
    /// ids translated within its consent.
    pub async fn references(
        &self,
        app: &AppState,
        ids: Vec<String>,
    ) -> Result<Vec<String>, CowinError> {
        match self {
            Caller::Citizen(_) => Ok(ids),
            Caller::Partner(grant) => {
                Ok(teeka_app::partner::resolve_ids(&app.store, &app.vault, grant, &ids).await?)
            }
        }
    }

    /// The appointment behind the id this caller names it by (a partner uses its own ids).
    pub async fn appointment(&self, app: &AppState, id: String) -> Result<String, CowinError> {
        match self {
            Caller::Citizen(_) => Ok(id),
            Caller::Partner(grant) => Ok(teeka_app::partner::resolve_appointment(
                &app.store, &app.vault, grant, &id,
            )
            .await?),
        }
    }

    /// An appointment's id as this caller sees it: its own, for a partner.
    pub fn shown_appointment(&self, app: &AppState, id: &str) -> String {
        match (self, id.parse::<uuid::Uuid>()) {
            (Caller::Partner(grant), Ok(real)) => teeka_app::partner::pairwise_appointment_id(
                &app.vault,
                grant.caller().partner_id(),
                real,
            )
            .to_string(),
            _ => id.to_owned(),
        }
    }

    /// A booking refusal as this caller may read it. The person gets the whole message; a
    /// partner gets the code only, since messages name people by reference id and can state
    /// an age the consent may not cover.
    pub fn shield(&self, e: teeka_app::AppError) -> CowinError {
        let e = CowinError::from(e);
        match self {
            Caller::Citizen(_) => e,
            Caller::Partner(_) => e.without_details(),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = CowinError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, CowinError> {
        let token = bearer_token(&parts.headers).unwrap_or("").to_owned();
        if parts.headers.contains_key("x-api-key") {
            let Partner(caller) = Partner::from_request_parts(parts, app).await?;
            return Ok(Caller::Partner(Box::new(
                partner_grant(&app.store, &caller, &token, &app.partner).await?,
            )));
        }
        Ok(Caller::Citizen(citizen_grant(&app.store, &token).await?))
    }
}

#[derive(Deserialize)]
struct PartnerOtp {
    mobile: Option<Value>,
    purpose: Option<String>,
    scopes: Option<String>,
    fields: Option<String>,
    days: Option<i64>,
}

/// `POST /api/v2/auth/generateOTP {"mobile", "purpose"?, "scopes"?, "fields"?, "days"?}` with
/// `X-Api-Key` → `{"txnId"}`. The OTP goes to the person, naming the partner and what it asks;
/// left out, scopes, fields and purpose are the partner's registered ones (never `research`),
/// and days is 30.
pub async fn generate_otp(
    State(app): State<AppState>,
    Partner(caller): Partner,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, CowinError> {
    let input: PartnerOtp = read_json(&body)?;
    let mobile: Mobile = input
        .mobile
        .as_ref()
        .and_then(text_of)
        .ok_or_else(|| CowinError::missing("mobile"))?
        .parse()
        .map_err(|e| CowinError::invalid(format!("Invalid mobile: {e}")))?;
    let scopes: BTreeSet<Scope> = match &input.scopes {
        Some(s) => parse_set(s, "scopes").map_err(|e| CowinError::invalid(e.to_string()))?,
        None => Scope::ALL
            .into_iter()
            .filter(|s| *s != Scope::Research && caller.may(*s))
            .collect(),
    };
    let fields: BTreeSet<SharedField> = match &input.fields {
        Some(f) => parse_set(f, "fields").map_err(|e| CowinError::invalid(e.to_string()))?,
        None => caller.allowed_fields().clone(),
    };
    if scopes.is_empty() {
        return Err(CowinError::invalid("scopes: this partner may ask for none"));
    }
    let ask = ConsentAsk {
        purpose: input.purpose.unwrap_or_default(),
        scopes,
        fields,
        days: input.days.unwrap_or(30),
    };
    let ask = if ask.purpose.trim().is_empty() {
        ConsentAsk {
            purpose: caller_purpose(&app, &caller).await?,
            ..ask
        }
    } else {
        ask
    };
    let txn_id = ask_consent(&identity(&app), &caller, &mobile, &ask, ip, &app.partner).await?;
    Ok(no_store(
        axum::Json(json!({ "txnId": txn_id.to_string() })).into_response(),
    ))
}

async fn caller_purpose(app: &AppState, caller: &PartnerCaller) -> Result<String, CowinError> {
    Ok(app
        .store
        .list_partners()
        .await
        .map_err(teeka_app::AppError::from)?
        .into_iter()
        .find(|p| p.partner_id == caller.partner_id())
        .map(|p| p.purpose)
        .unwrap_or_default())
}

/// `POST /api/v2/auth/confirmOTP {"otp" (SHA-256 hex), "txnId"}` with `X-Api-Key` →
/// `{"token", "isNewAccount"}`: a token bound to this partner, the person and the consent.
pub async fn confirm_otp(
    State(app): State<AppState>,
    Partner(caller): Partner,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, CowinError> {
    let (otp, txn_id) = crate::cowin::citizen::otp_and_txn(&body)?;
    let (token, new_account) = confirm_consent(
        &identity(&app),
        &caller,
        txn_id,
        &otp,
        ip,
        &request_id(&headers),
        &app.partner,
    )
    .await?;
    Ok(no_store(
        axum::Json(json!({ "token": token, "isNewAccount": if new_account { "Y" } else { "N" } }))
            .into_response(),
    ))
}

/// The beneficiaries as a partner sees them: its own ids, only the approved fields.
pub async fn shared_beneficiaries(
    app: &AppState,
    grant: &PartnerGrant,
    headers: &HeaderMap,
) -> Result<Response, CowinError> {
    let list =
        teeka_app::partner::shared_beneficiaries(&identity(app), grant, &request_id(headers))
            .await?;
    let beneficiaries: Vec<Value> = list
        .iter()
        .map(|b| {
            let mut o = serde_json::Map::new();
            o.insert("beneficiary_reference_id".into(), json!(b.beneficiary_id));
            if let Some(name) = &b.name_masked {
                o.insert("name".into(), json!(name));
            }
            if let Some(year) = b.birth_year {
                o.insert("birth_year".into(), json!(year.to_string()));
            }
            if let Some(gender) = b.gender {
                o.insert("gender".into(), json!(gender.cowin_name()));
            }
            if let Some((kind, number)) = &b.photo_id {
                o.insert("photo_id_type".into(), json!(kind.cowin_name()));
                o.insert("photo_id_number".into(), json!(number));
            }
            if let Some(mobile) = &b.mobile_masked {
                o.insert("mobile_number".into(), json!(mobile));
            }
            if let Some(appointments) = &b.appointments {
                let list: Vec<Value> = appointments
                    .iter()
                    .map(crate::cowin::citizen::appointment_json)
                    .collect();
                o.insert("appointments".into(), json!(list));
            }
            Value::Object(o)
        })
        .collect();
    Ok(no_store(
        axum::Json(json!({ "beneficiaries": beneficiaries, "consent_id": grant.consent_id() }))
            .into_response(),
    ))
}

/// The person's own session (a partner's token is refused here).
pub struct Person(pub CitizenGrant);

impl FromRequestParts<AppState> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).unwrap_or("");
        Ok(Person(citizen_grant(&app.store, token).await?))
    }
}

/// `GET /api/v1/citizen/consents` (the person's own token) → `{"consents":[…]}`: every consent
/// given, active or not, with its signed artefact.
pub async fn consents(
    State(app): State<AppState>,
    Person(grant): Person,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list = list_consents(&app.store, &grant, &request_id(&headers)).await?;
    let consents: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({
                "consent_id": c.consent_id,
                "partner": c.partner,
                "purpose": c.purpose,
                "scopes": c.scopes,
                "fields": c.fields,
                "granted_at_ms": c.granted_at_ms,
                "expires_at_ms": c.expires_at_ms,
                "revoked_at_ms": c.revoked_at_ms,
                "status": c.status,
                "artefact": c.artefact,
                "signature": c.signature,
            })
        })
        .collect();
    Ok(no_store(
        axum::Json(json!({ "consents": consents })).into_response(),
    ))
}

/// `DELETE /api/v1/citizen/consents?consent_id=` (or `/api/v1/citizen/consents/{consent_id}`)
/// → 204: revoked, and the partner's token stops working at once.
pub async fn revoke(
    State(app): State<AppState>,
    Person(grant): Person,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let id = params.required_text("consent_id")?;
    revoke_consent(&app.store, &grant, id, &request_id(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v1/citizen/consents/{consent_id}` → 204.
pub async fn revoke_one(
    State(app): State<AppState>,
    Person(grant): Person,
    Path(consent_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    revoke_consent(&app.store, &grant, &consent_id, &request_id(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn released(r: Released) -> Value {
    r.count().map_or(Value::Null, |n| json!(n))
}

fn place_filter(params: &Params) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let number = |name: &'static str| -> Result<Option<i64>, ApiError> {
        match params.optional_text(name) {
            None => Ok(None),
            Some(t) => t.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::from(CowinError::invalid(format!("{name}: a whole number")))
            }),
        }
    };
    Ok((number("state_id")?, number("district_id")?))
}

/// `GET /api/v1/research/aggregates?by=state,age_band,…[&state_id=][&district_id=][&until=DD-MM-YYYY][&k=]`
/// with `X-Api-Key` (scope `research`) → counts, small cells withheld (`null`); on the ledger.
pub async fn research(
    State(app): State<AppState>,
    Partner(caller): Partner,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let by = Dimension::parse_list(params.required_text("by")?)?;
    let (state_id, district_id) = place_filter(&params)?;
    let until = params.optional::<CowinDate>("until")?.map(|d| {
        let d = d.date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    });
    let k = match params.optional_text("k") {
        None => None,
        Some(t) => Some(
            t.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::from(CowinError::invalid("k: a whole number")))?,
        ),
    };
    let export = research_export(
        &app.store,
        &caller,
        &ExportQuery {
            by,
            filter: CountFilter {
                state_id,
                district_id,
                until,
            },
            k,
        },
        &app.partner,
        &request_id(&headers),
    )
    .await?;
    let cells: Vec<Value> = export
        .cells
        .iter()
        .map(|(key, count)| {
            let mut o = serde_json::Map::new();
            for (name, value) in export.dimensions.iter().zip(key) {
                o.insert((*name).into(), json!(value));
            }
            o.insert("count".into(), released(*count));
            Value::Object(o)
        })
        .collect();
    let withheld = export
        .cells
        .iter()
        .filter(|(_, c)| *c == Released::Withheld)
        .count();
    Ok(no_store(
        axum::Json(json!({
            "k": export.k,
            "rounded_to": export.rounding,
            "dimensions": export.dimensions,
            "total": released(export.total),
            "withheld_cells": withheld,
            "cells": cells,
        }))
        .into_response(),
    ))
}

fn released_map(m: &std::collections::BTreeMap<String, Released>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), released(*v))).collect())
}

/// `GET /api/v1/reports/public?state_id=&district_id=&date=DD-MM-YYYY` → the public dashboard's
/// figures up to the day: totals, the day's, by dose, vaccine, gender and age band, and adverse
/// events by severity. Aggregates only, small counts withheld (`null`).
pub async fn public_reports(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let place = place_filter(&params)?;
    let date = params.optional::<CowinDate>("date")?;
    let r = public_report(&app.store, place, date, &app.partner).await?;
    let mut response = axum::Json(json!({
        "date": r.date.to_string(),
        "state_id": place.0,
        "district_id": place.1,
        "k": r.k,
        "rounded_to": r.rounding,
        "topBlock": {
            "vaccination": {
                "total": released(r.total),
                "today": released(r.today),
                "by_dose": released_map(&r.by_dose),
                "by_vaccine": released_map(&r.by_vaccine),
                "by_gender": released_map(&r.by_gender),
                "by_age": released_map(&r.by_age),
            },
            "aefi": released_map(&r.aefi),
        },
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(response)
}

/// Why an identifier lookup is answered 410, for every caller.
const NO_IDENTIFIER_LOOKUPS: &str = "Teeka has no lookup of people by mobile, Aadhaar or any other ID, for any caller. \
     A person's data is reached only through their own OTP: a partner asks the person \
     (POST /api/v2/auth/generateOTP with X-Api-Key) and acts within the consent they approve.";

/// Any request outside `/api` shaped like an identifier lookup: 410 for every caller, saying
/// why, in Teeka's error shape.
pub async fn identifier_lookup_gone() -> Response {
    ApiError::new(
        StatusCode::GONE,
        IDENTIFIER_LOOKUP_GONE,
        NO_IDENTIFIER_LOOKUPS,
    )
    .into_response()
}

/// The same 410 on the CoWIN routes, in CoWIN's `{"errorCode","error"}` shape.
pub async fn cowin_identifier_lookup_gone() -> Response {
    CowinError::new(
        StatusCode::GONE,
        IDENTIFIER_LOOKUP_GONE,
        NO_IDENTIFIER_LOOKUPS,
    )
    .into_response()
}

/// Whether a request is shaped like an identifier lookup: a path segment naming an identifier
/// (`findByMobile`, `aadhaar`, `phone`) or a search, or a query parameter carrying an
/// identifier.
pub fn looks_like_identifier_lookup(path: &str, query: Option<&str>) -> bool {
    const IDENTIFIERS: &[&str] = &["mobile", "aadhaar", "aadhar", "phone", "idnumber"];
    const PARAMS: &[&str] = &[
        "mobile",
        "aadhaar",
        "aadhar",
        "phone",
        "id_number",
        "photo_id_number",
        "uid",
    ];
    let segment_is_lookup = |segment: &str| {
        let s = segment.to_ascii_lowercase();
        s.starts_with("search")
            || s.starts_with("lookup")
            || IDENTIFIERS.iter().any(|w| s.contains(w))
    };
    path.split('/').any(segment_is_lookup)
        || query.is_some_and(|q| {
            q.split('&').any(|pair| {
                let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
                PARAMS.contains(&name.as_str())
            })
        })
}

#[derive(Deserialize)]
struct NewPartnerBody {
    name: String,
    purpose: String,
    scopes: String,
    fields: Option<String>,
    requests_per_minute: Option<i32>,
    daily_quota: Option<i64>,
    people_per_hour: Option<i64>,
    expires_at_ms: Option<i64>,
    contact: Option<String>,
    tls_fingerprint: Option<String>,
}

/// A partner as administrators see it (never its secret or hash).
pub fn partner_json(p: &teeka_store::partner::PartnerRow) -> Value {
    json!({
        "partner_id": p.partner_id,
        "client_id": p.client_id,
        "name": p.name,
        "purpose": p.purpose,
        "scopes": p.scopes.split(',').collect::<Vec<_>>(),
        "fields": p.fields.split(',').collect::<Vec<_>>(),
        "requests_per_minute": p.requests_per_minute,
        "daily_quota": p.daily_quota,
        "people_per_hour": p.people_per_hour,
        "expires_at_ms": p.expires_at_ms,
        "contact": p.contact,
        "tls_bound": p.tls_fingerprint.is_some(),
        "disabled": p.disabled,
        "throttled_until_ms": p.throttled_until_ms,
    })
}

/// `GET /api/v1/admin/partners` → `{"partners":[…], "switched_off":[…]}`.
pub async fn list_partners(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
) -> Result<Response, ApiError> {
    let admin = PartnerAdmin {
        store: &app.store,
        actor: AdminActor::staff(&grant),
    };
    let (partners, off) = admin.list().await?;
    let partners: Vec<Value> = partners.iter().map(partner_json).collect();
    Ok(no_store(
        axum::Json(json!({ "partners": partners, "switched_off": off })).into_response(),
    ))
}

/// `POST /api/v1/admin/partners {name, purpose, scopes, fields?, …}` → 201 with the API key,
/// shown this once.
pub async fn add_partner(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: NewPartnerBody = read_json_api(&body)?;
    let mut p = NewPartner::with_defaults(b.name, b.purpose, &b.scopes, b.fields.as_deref())?;
    p.requests_per_minute = b.requests_per_minute.unwrap_or(p.requests_per_minute);
    p.daily_quota = b.daily_quota.unwrap_or(p.daily_quota);
    p.people_per_hour = b.people_per_hour.unwrap_or(p.people_per_hour);
    p.expires_at_ms = b.expires_at_ms;
    p.contact = b.contact.unwrap_or_default();
    p.tls_fingerprint = b.tls_fingerprint;
    let admin = PartnerAdmin {
        store: &app.store,
        actor: AdminActor::staff(&grant),
    };
    let r = admin.register(&p, &request_id(&headers)).await?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            axum::Json(json!({
                "partner_id": r.partner_id,
                "client_id": r.client_id,
                "api_key": r.api_key.expose(),
            })),
        )
            .into_response(),
    ))
}

/// `POST /api/v1/admin/partners/{partner}/rotate` → the new API key (the old one stops at once).
pub async fn rotate_partner(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    Path(partner): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let admin = PartnerAdmin {
        store: &app.store,
        actor: AdminActor::staff(&grant),
    };
    let key = admin.rotate(&partner, &request_id(&headers)).await?;
    Ok(no_store(
        axum::Json(json!({ "api_key": key.expose() })).into_response(),
    ))
}

#[derive(Deserialize)]
struct SwitchBody {
    target: String,
    off: bool,
}

/// `POST /api/v1/admin/partners/switch {"target": "all" | "scope:S" | "partner:ID", "off": bool}`
/// → `{"changed"}`: the kill switch, in force on every process at the next request.
pub async fn switch(
    State(app): State<AppState>,
    SignedIn(grant): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: SwitchBody = read_json_api(&body)?;
    let admin = PartnerAdmin {
        store: &app.store,
        actor: AdminActor::staff(&grant),
    };
    let changed = admin
        .switch(&b.target.parse()?, b.off, &request_id(&headers))
        .await?;
    Ok(no_store(
        axum::Json(json!({ "changed": changed })).into_response(),
    ))
}
