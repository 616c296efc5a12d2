//! The public (unauthenticated) CoWIN v2 routes: locations, sessions and centres. Every answer
//! is served from the response cache within its staleness bound.

use super::params::Params;
use super::shapes::{CalendarOneOut, CalendarOut, DistrictsOut, FindOut, NearOut, StatesOut};
use crate::cache::Answer;
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

/// A cached JSON answer, with a `Cache-Control` for what is left of the staleness bound (shared
/// caches never keep it longer than we would) and CORS for the browser-based slot finders that
/// called CoWIN's public API directly.
fn json_answer(app: &AppState, answer: Answer) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], answer.bytes).into_response();
    let headers = response.headers_mut();
    let secs = usize::try_from(answer.fresh_for.as_secs()).unwrap_or(usize::MAX);
    let last = app.public_cache_control.len().saturating_sub(1);
    if let Some(value) = app.public_cache_control.get(secs.min(last)) {
        headers.insert(header::CACHE_CONTROL, value.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Dates a cached answer may be about: a window around today. Other dates are answered fresh
/// each time (still limited per IP), so clients cannot fill the cache with years of empty weeks.
fn cacheable(date: CowinDate) -> bool {
    let today = teeka_app::clock::today_in_india();
    date >= today.plus_days(-30) && date <= today.plus_days(90)
}

/// Answers from the cache, or computes without caching when the date is outside the window.
async fn cached_or_fresh<F, Fut>(
    app: &AppState,
    key: PublicKey,
    date: CowinDate,
    depends_on: Option<DistrictId>,
    compute: F,
) -> Result<Answer, CowinError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, CowinError>>,
{
    if cacheable(date) {
        app.public_cache
            .get_or_compute(key, depends_on, compute)
            .await
    } else {
        Ok(Answer {
            bytes: compute().await?,
            fresh_for: std::time::Duration::ZERO,
        })
    }
}

/// The answer for a district that does not exist: empty, as CoWIN answered, without the
/// database or the cache.
fn known_empty(app: &AppState, scope: &SessionScope, empty: &'static [u8]) -> Option<Response> {
    match scope {
        SessionScope::District(d) if app.district_unknown(*d) => Some(json_answer(
            app,
            Answer {
                bytes: Bytes::from_static(empty),
                fresh_for: app.public_cache.staleness(),
            },
        )),
        _ => None,
    }
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
    state_id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, CowinError> {
    let Ok(Path(state_id)) = state_id else {
        return Err(CowinError::invalid(
            "Invalid state_id: must be a positive whole number",
        ));
    };
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

/// The two kinds of session answer: a week grouped by centre, or one day flat.
#[derive(Clone, Copy)]
enum SessionsShape {
    Calendar,
    Find,
}

impl SessionsShape {
    fn days(self) -> i64 {
        match self {
            SessionsShape::Calendar => availability::CALENDAR_DAYS,
            SessionsShape::Find => 1,
        }
    }

    fn empty(self) -> &'static [u8] {
        match self {
            SessionsShape::Calendar => b"{\"centers\":[]}",
            SessionsShape::Find => b"{\"sessions\":[]}",
        }
    }

    fn key(self, scope: SessionScope, date: CowinDate, vaccine: Option<VaccineName>) -> PublicKey {
        match self {
            SessionsShape::Calendar => PublicKey::Calendar(scope, date, vaccine),
            SessionsShape::Find => PublicKey::Find(scope, date, vaccine),
        }
    }

    fn render(self, rows: &[teeka_store::CentreSessions]) -> Result<Bytes, CowinError> {
        match self {
            SessionsShape::Calendar => to_json(&CalendarOut::new(rows)),
            SessionsShape::Find => to_json(&FindOut::new(rows)),
        }
    }
}

/// `calendarBy*` and `findBy*`: parse, answer unknown districts at once, else cache or compute.
async fn sessions(
    app: AppState,
    raw: Option<String>,
    which: ScopeParam,
    shape: SessionsShape,
) -> Result<Response, CowinError> {
    answer_sessions(app, raw, which, shape, false).await
}

/// The answer itself; `live` skips the cache (the authenticated routes a booking client polls
/// right before booking), and such answers are not to be kept by any cache.
async fn answer_sessions(
    app: AppState,
    raw: Option<String>,
    which: ScopeParam,
    shape: SessionsShape,
    live: bool,
) -> Result<Response, CowinError> {
    let params = Params::parse(raw.as_deref())?;
    let scope = scope(&params, which)?;
    let date: CowinDate = params.required("date")?;
    let vaccine: Option<VaccineName> = params.optional("vaccine")?;
    if let Some(empty) = known_empty(&app, &scope, shape.empty()) {
        return Ok(empty);
    }
    let store = app.store.clone();
    let key = shape.key(scope.clone(), date, vaccine.clone());
    let depends_on = district_of(&scope);
    let compute = || async move {
        let rows = availability::sessions(&store, scope, date, shape.days(), vaccine).await?;
        shape.render(&rows)
    };
    if live {
        let mut response = (
            [(header::CONTENT_TYPE, "application/json")],
            compute().await?,
        )
            .into_response();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(response);
    }
    let answer = cached_or_fresh(&app, key, date, depends_on, compute).await?;
    Ok(json_answer(&app, answer))
}

/// `GET /api/v2/appointment/sessions/calendarByDistrict` (citizen token): uncached.
pub async fn live_calendar_by_district(
    State(app): State<AppState>,
    caller: crate::partner::Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    caller.for_scope(teeka_domain::partner::Scope::Availability)?;
    answer_sessions(app, q, ScopeParam::District, SessionsShape::Calendar, true).await
}

/// `GET /api/v2/appointment/sessions/calendarByPin` (citizen token): uncached.
pub async fn live_calendar_by_pin(
    State(app): State<AppState>,
    caller: crate::partner::Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    caller.for_scope(teeka_domain::partner::Scope::Availability)?;
    answer_sessions(app, q, ScopeParam::Pincode, SessionsShape::Calendar, true).await
}

/// `GET /api/v2/appointment/sessions/findByDistrict` (citizen token): uncached.
pub async fn live_find_by_district(
    State(app): State<AppState>,
    caller: crate::partner::Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    caller.for_scope(teeka_domain::partner::Scope::Availability)?;
    answer_sessions(app, q, ScopeParam::District, SessionsShape::Find, true).await
}

/// `GET /api/v2/appointment/sessions/findByPin` (citizen token): uncached.
pub async fn live_find_by_pin(
    State(app): State<AppState>,
    caller: crate::partner::Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    caller.for_scope(teeka_domain::partner::Scope::Availability)?;
    answer_sessions(app, q, ScopeParam::Pincode, SessionsShape::Find, true).await
}

/// `GET /api/v2/appointment/sessions/public/calendarByDistrict?district_id=&date=[&vaccine=]`
pub async fn calendar_by_district(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    sessions(app, q, ScopeParam::District, SessionsShape::Calendar).await
}

/// `GET /api/v2/appointment/sessions/public/calendarByPin?pincode=&date=[&vaccine=]`
pub async fn calendar_by_pin(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    sessions(app, q, ScopeParam::Pincode, SessionsShape::Calendar).await
}

/// `GET /api/v2/appointment/sessions/public/findByDistrict?district_id=&date=[&vaccine=]`
pub async fn find_by_district(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    sessions(app, q, ScopeParam::District, SessionsShape::Find).await
}

/// `GET /api/v2/appointment/sessions/public/findByPin?pincode=&date=[&vaccine=]`
pub async fn find_by_pin(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, CowinError> {
    sessions(app, q, ScopeParam::Pincode, SessionsShape::Find).await
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
