//! The whole router: which audience reaches which routes, and the layers around them.

use crate::cowin::{booking, citizen, public};
use crate::error::{ApiError, CowinError, INTERNAL, NO_SUCH_ROUTE};
use crate::middleware::{label_route, limit_public, observe};
use crate::ops;
use crate::staff;
use crate::state::AppState;
use crate::{admin, desk, ledger};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// The CoWIN-compatible routes, mounted under `/api`.
fn cowin_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v2/admin/location/states", get(public::states))
        .route(
            "/v2/admin/location/districts/{state_id}",
            get(public::districts),
        )
        .route(
            "/v2/appointment/sessions/public/findByPin",
            get(public::find_by_pin),
        )
        .route(
            "/v2/appointment/sessions/public/findByDistrict",
            get(public::find_by_district),
        )
        .route(
            "/v2/appointment/sessions/public/calendarByPin",
            get(public::calendar_by_pin),
        )
        .route(
            "/v2/appointment/sessions/public/calendarByDistrict",
            get(public::calendar_by_district),
        )
        .route(
            "/v2/appointment/sessions/public/calendarByCenter",
            get(public::calendar_by_center),
        )
        .route(
            "/v2/appointment/centers/public/findByLatLong",
            get(public::find_by_lat_long),
        )
        .route(
            "/v2/auth/public/generateOTP",
            post(citizen::public_generate_otp),
        )
        .route(
            "/v2/auth/public/confirmOTP",
            post(citizen::public_confirm_otp),
        )
        .route(
            "/v2/auth/generateMobileOTP",
            post(citizen::portal_generate_otp),
        )
        .route(
            "/v2/auth/validateMobileOtp",
            post(citizen::portal_validate_otp),
        )
        .route("/v2/auth/logout", post(citizen::logout))
        .route(
            "/v2/registration/beneficiary/idTypes",
            get(citizen::id_types),
        )
        .route(
            "/v2/registration/beneficiary/genders",
            get(citizen::genders),
        )
        .route(
            "/v2/registration/beneficiary/new",
            post(citizen::new_beneficiary),
        )
        .route(
            "/v2/registration/beneficiary/delete",
            post(citizen::delete_beneficiary),
        )
        .route("/v2/appointment/beneficiaries", get(citizen::beneficiaries))
        .route(
            "/v2/appointment/sessions/calendarByDistrict",
            get(public::live_calendar_by_district),
        )
        .route(
            "/v2/appointment/sessions/calendarByPin",
            get(public::live_calendar_by_pin),
        )
        .route(
            "/v2/appointment/sessions/findByDistrict",
            get(public::live_find_by_district),
        )
        .route(
            "/v2/appointment/sessions/findByPin",
            get(public::live_find_by_pin),
        )
        .route("/v2/appointment/schedule", post(booking::schedule))
        .route("/v2/appointment/reschedule", post(booking::reschedule))
        .route("/v2/appointment/cancel", post(booking::cancel))
        .route("/v2/appointment/challenge", get(booking::challenge))
        .route(
            "/v2/appointment/appointmentslip/download",
            get(booking::slip),
        )
        .route_layer(axum::middleware::from_fn(label_route))
        .fallback(cowin_not_found)
        .method_not_allowed_fallback(cowin_method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state, limit_public))
}

async fn cowin_not_found() -> CowinError {
    CowinError::new(StatusCode::NOT_FOUND, NO_SUCH_ROUTE, "No such API")
}

async fn cowin_method_not_allowed() -> CowinError {
    CowinError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        NO_SUCH_ROUTE,
        "Method not allowed on this API",
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, NO_SUCH_ROUTE, "no such route")
}

/// A panic is a bug: the client gets a plain 500 in our shape, the log gets the message.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        INTERNAL,
        "internal error",
    )
    .into_response()
}

/// Builds the application router around `state`.
pub fn build_router(state: AppState) -> Router {
    let ops_routes = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route_layer(axum::middleware::from_fn(label_route));
    // Public like a transparency log's (hashes and signatures, no personal data), and the
    // citizen's own access history behind their OTP session.
    let ledger_routes = Router::new()
        .route("/api/v1/ledger/checkpoint", get(ledger::checkpoint))
        .route("/api/v1/ledger/key", get(ledger::key))
        .route("/api/v1/ledger/proof/inclusion", get(ledger::inclusion))
        .route("/api/v1/ledger/proof/consistency", get(ledger::consistency))
        .route(
            "/api/v1/citizen/access-history",
            get(ledger::access_history),
        )
        .route_layer(axum::middleware::from_fn(label_route));
    // Every route here is guarded by `staff::guard`, which looks it up in `staff::STAFF_ROUTES`
    // (the roles allowed on each) and refuses anything the table does not list.
    let staff_routes = Router::new()
        .route("/api/v1/staff/login", post(staff::login))
        .route("/api/v1/staff/password", post(staff::password))
        .route("/api/v1/staff/logout", post(staff::logout))
        .route("/api/v1/staff/me", get(staff::me))
        .route("/api/v1/desk/today", get(desk::today))
        .route("/api/v1/desk/checkin", post(desk::checkin))
        .route("/api/v1/desk/walkin", post(desk::walkin))
        .route("/api/v1/desk/dose", post(desk::dose))
        .route("/api/v1/desk/aefi", post(desk::aefi))
        .route("/api/v1/desk/correction", post(desk::correction))
        .route("/api/v1/desk/break-glass", post(desk::break_glass))
        .route(
            "/api/v1/admin/staff",
            get(admin::list_staff).post(admin::create_staff),
        )
        .route(
            "/api/v1/admin/staff/{username}/disable",
            post(admin::disable_staff),
        )
        .route(
            "/api/v1/admin/staff/{username}/enable",
            post(admin::enable_staff),
        )
        .route(
            "/api/v1/admin/staff/{username}/reset",
            post(admin::reset_staff),
        )
        .route(
            "/api/v1/admin/staff/{username}/unlock",
            post(admin::unlock_staff),
        )
        .route(
            "/api/v1/admin/staff/end-sessions",
            post(staff::end_sessions),
        )
        .route(
            "/api/v1/admin/staff/force-password-reset",
            post(staff::force_password_reset),
        )
        .route("/api/v1/admin/alerts", get(admin::alerts))
        .route(
            "/api/v1/admin/alerts/{alert_id}/review",
            post(admin::review_alert),
        )
        .route("/api/v1/admin/centres", post(admin::add_centre))
        .route("/api/v1/admin/centres/{centre_id}", get(admin::centre))
        .route(
            "/api/v1/admin/centres/{centre_id}/sessions",
            get(admin::centre_sessions),
        )
        .route("/api/v1/admin/sessions", post(admin::add_session))
        .route(
            "/api/v1/admin/sessions/{session_id}/capacity",
            post(admin::set_capacity),
        )
        .route(
            "/api/v1/admin/ledger/breach-report",
            post(ledger::breach_report),
        )
        .route("/api/v1/openapi.json", get(admin::openapi))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            staff::guard,
        ))
        .route_layer(axum::middleware::from_fn(label_route));
    Router::new()
        .merge(staff_routes)
        .merge(ledger_routes)
        .nest("/api", cowin_routes(state.clone()))
        .merge(ops_routes)
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(observe))
        .with_state(state)
}
