//! The public (unauthenticated) CoWIN v2 routes: locations, sessions and centres. Every answer
//! is served from the response cache within its staleness bound.

use super::params::Params;
use super::shapes::{CalendarOneOut, CalendarOut, DistrictsOut, FindOut, NearOut, StatesOut};
use crate::error::CowinError;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use teeka_app::{AppError, availability};
use teeka_domain::{CentreId, CowinDate, DistrictId, Pincode, StateId, VaccineName};
use teeka_store::SessionScope;

/// What a cached public answer is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// The state list.
    States,
    /// A state's districts.
    Districts(StateId),
    /// A week of sessions, grouped by centre.
    Calendar(SessionScope, CowinDate, Option<VaccineName>),
    /// One centre's week, as one object.
    CalendarOne(CentreId, CowinDate, Option<VaccineName>),
    /// One day of sessions, flat.
    Find(SessionScope, CowinDate, Option<VaccineName>),
    /// Centres near a point, rounded to about 10 m.
    Near(i64, i64),
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Bytes, CowinError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "serialising a public answer");
        CowinError::from(AppError::BadInput("answer could not be encoded".into()))
    })
}

/// A cached JSON answer, with a `Cache-Control` matching the staleness bound and CORS for the
/// browser-based slot finders that called CoWIN's public API directly.
fn json_answer(app: &AppState, body: Bytes) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let max_age = app.public_cache.staleness().as_secs();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /api/v2/admin/location/states`
pub async fn states(State(app): State<AppState>) -> Result<Response, CowinError> {
    let store = app.store.clone();
    let body = app
        .public_cache
        .get_or_compute(PublicKey::States, None, || async move {
            let states = store.list_states().await.map_err(AppError::from)?;
            to_json(&StatesOut::new(&states))
        })
        .await?;
    Ok(json_answer(&app, body))
}

/// `GET /api/v2/admin/location/districts/{state_id}`
pub async fn districts(
    State(app): State<AppState>,
    Path(state_id): Path<String>,
) -> Result<Response, CowinError> {
    let state: StateId = state_id
        .parse()
        .map_err(|e| CowinError::invalid(format!("Invalid state_id: {e}")))?;
    let store = app.store.clone();
    let body = app
        .public_cache
        .get_or_compute(PublicKey::Districts(state), None, || async move {
            let districts = store.list_districts(state).await.map_err(AppError::from)?;
            to_json(&DistrictsOut::new(&districts))
        })
        .await?;
    Ok(json_answer(&app, body))
}

/// Which parameter names a scope, and how to read it.
#[derive(Clone, Copy)]
enum ScopeParam {
    District,
    Pincode,
}

fn scope(params: &Params, which: ScopeParam) -> Result<SessionScope, CowinError> {
    Ok(match which {
        ScopeParam::District => {
            availability::district(params.required::<DistrictId>("district_id")?)
        }
        ScopeParam::Pincode => availability::pincode(params.required::<Pincode>("pincode")?),
    })
}

/// The district an answer depends on, when it is about exactly one (PIN codes can span districts,
/// so their answers live by the time bound alone).
fn district_of(scope: &SessionScope) -> Option<DistrictId> {
    match scope {
        SessionScope::District(d) => Some(*d),
        SessionScope::Pincode(_) | SessionScope::Centre(_) => None,
    }
}

async fn calendar(
    app: AppState,
    raw: Option<String>,
    which: ScopeParam,
) -> Result<Response, CowinError> {
    let params = Params::parse(raw.as_deref())?;
    let scope = scope(&params, which)?;
    let date: CowinDate = params.required("date")?;
    let vaccine: Option<VaccineName> = params.optional("vaccine")?;
    let store = app.store.clone();
    let key = PublicKey::Calendar(scope.clone(), date, vaccine.clone());
    let body = app
        .public_cache
        .get_or_compute(key, district_of(&scope), || async move {
            let rows =
                availability::sessions(&store, scope, date, availability::CALENDAR_DAYS, vaccine)
                    .await?;
            to_json(&CalendarOut::new(&rows))
        })
        .await?;
    Ok(json_answer(&app, body))
}

async fn find(
    app: AppState,
    raw: Option<String>,
    which: ScopeParam,
) -> Result<Response, CowinError> {
    let params = Params::parse(raw.as_deref())?;
    let scope = scope(&params, which)?;
    let date: CowinDate = params.required("date")?;
    let vaccine: Option<VaccineName> = params.optional("vaccine")?;
    let store = app.store.clone();
    let key = PublicKey::Find(scope.clone(), date, vaccine.clone());
    let body = app
        .public_cache
        .get_or_compute(key, district_of(&scope), || async move {
            let rows = availability::sessions(&store, scope, date, 1, vaccine).await?;
            to_json(&FindOut::new(&rows))
        })
        .await?;
    Ok(json_answer(&app, body))
}

/// `GET /api/v2/appointment/sessions/public/calendarByDistrict?district_id=&date=[&vaccine=]`
pub async fn calendar_by_district(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    calendar(app, q, ScopeParam::District).await
}

/// `GET /api/v2/appointment/sessions/public/calendarByPin?pincode=&date=[&vaccine=]`
pub async fn calendar_by_pin(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    calendar(app, q, ScopeParam::Pincode).await
}

/// `GET /api/v2/appointment/sessions/public/findByDistrict?district_id=&date=[&vaccine=]`
pub async fn find_by_district(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    find(app, q, ScopeParam::District).await
}

/// `GET /api/v2/appointment/sessions/public/findByPin?pincode=&date=[&vaccine=]`
pub async fn find_by_pin(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    find(app, q, ScopeParam::Pincode).await
}

/// `GET /api/v2/appointment/sessions/public/calendarByCenter?center_id=&date=[&vaccine=]`:
/// one object under `centers`, or `{}` when the centre has no sessions that week (as CoWIN did).
pub async fn calendar_by_center(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    let params = Params::parse(q.as_deref())?;
    let centre: CentreId = params.required("center_id")?;
    let date: CowinDate = params.required("date")?;
    let vaccine: Option<VaccineName> = params.optional("vaccine")?;
    let store = app.store.clone();
    let key = PublicKey::CalendarOne(centre, date, vaccine.clone());
    let body = app
        .public_cache
        .get_or_compute(key, None, || async move {
            let rows = availability::sessions(
                &store,
                availability::centre(centre),
                date,
                availability::CALENDAR_DAYS,
                vaccine,
            )
            .await?;
            match rows.first() {
                Some(one) => to_json(&CalendarOneOut::new(one)),
                None => Ok(Bytes::from_static(b"{}")),
            }
        })
        .await?;
    Ok(json_answer(&app, body))
}

/// `GET /api/v2/appointment/centers/public/findByLatLong?lat=&long=`
pub async fn find_by_lat_long(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    let params = Params::parse(q.as_deref())?;
    let lat = params.coordinate("lat", 90.0)?;
    let long = params.coordinate("long", 180.0)?;
    let store = app.store.clone();
    let key = PublicKey::Near((lat * 1e4).round() as i64, (long * 1e4).round() as i64);
    let body = app
        .public_cache
        .get_or_compute(key, None, || async move {
            let centres = availability::centres_near(&store, lat, long).await?;
            to_json(&NearOut::new(&centres))
        })
        .await?;
    Ok(json_answer(&app, body))
}
