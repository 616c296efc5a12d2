//! The whole router: which audience reaches which routes, and the layers around them.

use crate::cowin::{booking, citizen, public};
use crate::error::{ApiError, CowinError, INTERNAL, NO_SUCH_ROUTE};
use crate::middleware::{label_route, limit_public, observe};
use crate::ops;
use crate::staff;
use crate::state::AppState;
use crate::{admin, certificates, desk, ledger, partner};
use axum::Router;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, delete, get, post};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// Every route's path, recorded as it is added, so that a test can enumerate the whole router
/// (axum cannot list its routes).
#[derive(Debug, Default)]
pub struct RouteTable {
    paths: Vec<String>,
    prefix: &'static str,
}

impl RouteTable {
    /// Every path, in the order added.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }
}

/// `Router::route` that also records the path.
trait Recorded {
    fn at(self, table: &mut RouteTable, path: &'static str, route: MethodRouter<AppState>) -> Self;
}

impl Recorded for Router<AppState> {
    fn at(self, table: &mut RouteTable, path: &'static str, route: MethodRouter<AppState>) -> Self {
        table.paths.push(format!("{}{path}", table.prefix));
        self.route(path, route)
    }
}

/// Requests shaped like CoWIN's lookups of a person by an identifier (the doors of 2023): they
/// exist only to say, for every caller, that no such lookup exists.
pub const IDENTIFIER_LOOKUPS: &[&str] = &[
    "/v2/beneficiary/findByMobile",
    "/v2/beneficiary/findByAadhaar",
    "/v2/registration/beneficiary/search",
    "/v2/registration/beneficiary/findByMobile",
    "/v2/appointment/beneficiaries/findByMobile",
    "/v2/registration/certificate/public/search",
    "/v1/beneficiary/search",
];

/// The CoWIN-compatible routes, mounted under `/api`.
fn cowin_routes(state: AppState, t: &mut RouteTable) -> Router<AppState> {
    t.prefix = "/api";
    let mut router = Router::new();
    for &path in IDENTIFIER_LOOKUPS {
        router = router.at(t, path, any(partner::cowin_identifier_lookup_gone));
    }
    router
        .at(t, "/v2/admin/location/states", get(public::states))
        .at(
            t,
            "/v2/admin/location/districts/{state_id}",
            get(public::districts),
        )
        .at(
            t,
            "/v2/appointment/sessions/public/findByPin",
            get(public::find_by_pin),
        )
        .at(
            t,
            "/v2/appointment/sessions/public/findByDistrict",
            get(public::find_by_district),
        )
        .at(
            t,
            "/v2/appointment/sessions/public/calendarByPin",
            get(public::calendar_by_pin),
        )
        .at(
            t,
            "/v2/appointment/sessions/public/calendarByDistrict",
            get(public::calendar_by_district),
        )
        .at(
            t,
            "/v2/appointment/sessions/public/calendarByCenter",
            get(public::calendar_by_center),
        )
        .at(
            t,
            "/v2/appointment/centers/public/findByLatLong",
            get(public::find_by_lat_long),
        )
        .at(
            t,
            "/v2/auth/public/generateOTP",
            post(citizen::public_generate_otp),
        )
        .at(
            t,
            "/v2/auth/public/confirmOTP",
            post(citizen::public_confirm_otp),
        )
        .at(
            t,
            "/v2/auth/generateMobileOTP",
            post(citizen::portal_generate_otp),
        )
        .at(
            t,
            "/v2/auth/validateMobileOtp",
            post(citizen::portal_validate_otp),
        )
        .at(t, "/v2/auth/logout", post(citizen::logout))
        .at(
            t,
            "/v2/registration/beneficiary/idTypes",
            get(citizen::id_types),
        )
        .at(
            t,
            "/v2/registration/beneficiary/genders",
            get(citizen::genders),
        )
        .at(
            t,
            "/v2/registration/beneficiary/new",
            post(citizen::new_beneficiary),
        )
        .at(
            t,
            "/v2/registration/beneficiary/delete",
            post(citizen::delete_beneficiary),
        )
        .at(
            t,
            "/v2/appointment/beneficiaries",
            get(citizen::beneficiaries),
        )
        .at(
            t,
            "/v2/appointment/sessions/calendarByDistrict",
            get(public::live_calendar_by_district),
        )
        .at(
            t,
            "/v2/appointment/sessions/calendarByPin",
            get(public::live_calendar_by_pin),
        )
        .at(
            t,
            "/v2/appointment/sessions/findByDistrict",
            get(public::live_find_by_district),
        )
        .at(
            t,
            "/v2/appointment/sessions/findByPin",
            get(public::live_find_by_pin),
        )
        .at(t, "/v2/auth/generateOTP", post(partner::generate_otp))
        .at(t, "/v2/auth/confirmOTP", post(partner::confirm_otp))
        .at(t, "/v2/appointment/schedule", post(booking::schedule))
        .at(t, "/v2/appointment/reschedule", post(booking::reschedule))
        .at(t, "/v2/appointment/cancel", post(booking::cancel))
        .at(t, "/v2/appointment/challenge", get(booking::challenge))
        .at(
            t,
            "/v2/appointment/appointmentslip/download",
            get(booking::slip),
        )
        .at(
            t,
            "/v2/registration/certificate/public/download",
            get(certificates::download),
        )
        .at(
            t,
            "/v2/registration/certificate/public/qr",
            get(certificates::qr_payloads),
        )
        .at(
            t,
            "/v2/registration/certificate/status",
            get(certificates::status),
        )
        .at(
            t,
            "/v2/registration/certificate/travel",
            post(certificates::set_travel_details).delete(certificates::remove_travel_details),
        )
        .route_layer(axum::middleware::from_fn(label_route))
        .fallback(cowin_not_found)
        .method_not_allowed_fallback(cowin_method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state, limit_public))
}

async fn cowin_not_found(uri: Uri) -> Response {
    if partner::looks_like_identifier_lookup(uri.path(), uri.query()) {
        return partner::cowin_identifier_lookup_gone().await;
    }
    CowinError::new(StatusCode::NOT_FOUND, NO_SUCH_ROUTE, "No such API").into_response()
}

async fn cowin_method_not_allowed() -> CowinError {
    CowinError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        NO_SUCH_ROUTE,
        "Method not allowed on this API",
    )
}

async fn not_found(uri: Uri) -> Response {
    if partner::looks_like_identifier_lookup(uri.path(), uri.query()) {
        return partner::identifier_lookup_gone().await;
    }
    ApiError::new(StatusCode::NOT_FOUND, NO_SUCH_ROUTE, "no such route").into_response()
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
    build_router_and_table(state).0
}

/// Builds the application router around `state`, with the table of every route in it.
pub fn build_router_and_table(state: AppState) -> (Router, RouteTable) {
    let mut table = RouteTable::default();
    let t = &mut table;
    let ops_routes = Router::new()
        .at(t, "/healthz", get(ops::healthz))
        .at(t, "/readyz", get(ops::readyz))
        .at(t, "/metrics", get(ops::metrics))
        .route_layer(axum::middleware::from_fn(label_route));
    // Public like a transparency log's (hashes and signatures, no personal data), and the
    // citizen's own access history behind their OTP session.
    let ledger_routes = Router::new()
        .at(t, "/api/v1/ledger/checkpoint", get(ledger::checkpoint))
        .at(t, "/api/v1/ledger/key", get(ledger::key))
        .at(t, "/api/v1/ledger/proof/inclusion", get(ledger::inclusion))
        .at(
            t,
            "/api/v1/ledger/proof/consistency",
            get(ledger::consistency),
        )
        .at(
            t,
            "/api/v1/citizen/access-history",
            get(ledger::access_history),
        )
        .at(
            t,
            "/api/v1/citizen/consents",
            get(partner::consents).delete(partner::revoke),
        )
        .at(
            t,
            "/api/v1/citizen/consents/{consent_id}",
            delete(partner::revoke_one),
        )
        .at(t, "/api/v1/research/aggregates", get(partner::research))
        // The issuer's public keys, for verifiers.
        .at(t, "/.well-known/jwks.json", get(certificates::jwks))
        .at(
            t,
            "/api/v1/certificates/keys.pem",
            get(certificates::keys_pem),
        )
        .at(
            t,
            "/api/v1/certificates/dsc.pem",
            get(certificates::signer_certificates),
        )
        .route_layer(axum::middleware::from_fn(label_route));
    // Every route here is guarded by `staff::guard`, which looks it up in `staff::STAFF_ROUTES`
    // (the roles allowed on each) and refuses anything the table does not list.
    let staff_routes = Router::new()
        .at(t, "/api/v1/staff/login", post(staff::login))
        .at(t, "/api/v1/staff/password", post(staff::password))
        .at(t, "/api/v1/staff/logout", post(staff::logout))
        .at(t, "/api/v1/staff/me", get(staff::me))
        .at(t, "/api/v1/desk/today", get(desk::today))
        .at(t, "/api/v1/desk/checkin", post(desk::checkin))
        .at(t, "/api/v1/desk/walkin", post(desk::walkin))
        .at(t, "/api/v1/desk/dose", post(desk::dose))
        .at(t, "/api/v1/desk/aefi", post(desk::aefi))
        .at(t, "/api/v1/desk/correction", post(desk::correction))
        .at(t, "/api/v1/desk/break-glass", post(desk::break_glass))
        .at(
            t,
            "/api/v1/admin/staff",
            get(admin::list_staff).post(admin::create_staff),
        )
        .at(
            t,
            "/api/v1/admin/staff/{username}/disable",
            post(admin::disable_staff),
        )
        .at(
            t,
            "/api/v1/admin/staff/{username}/enable",
            post(admin::enable_staff),
        )
        .at(
            t,
            "/api/v1/admin/staff/{username}/reset",
            post(admin::reset_staff),
        )
        .at(
            t,
            "/api/v1/admin/staff/{username}/unlock",
            post(admin::unlock_staff),
        )
        .at(
            t,
            "/api/v1/admin/staff/end-sessions",
            post(staff::end_sessions),
        )
        .at(
            t,
            "/api/v1/admin/staff/force-password-reset",
            post(staff::force_password_reset),
        )
        .at(t, "/api/v1/admin/alerts", get(admin::alerts))
        .at(
            t,
            "/api/v1/admin/alerts/{alert_id}/review",
            post(admin::review_alert),
        )
        .at(t, "/api/v1/admin/centres", post(admin::add_centre))
        .at(t, "/api/v1/admin/centres/{centre_id}", get(admin::centre))
        .at(
            t,
            "/api/v1/admin/centres/{centre_id}/sessions",
            get(admin::centre_sessions),
        )
        .at(t, "/api/v1/admin/sessions", post(admin::add_session))
        .at(
            t,
            "/api/v1/admin/sessions/{session_id}/capacity",
            post(admin::set_capacity),
        )
        .at(
            t,
            "/api/v1/admin/ledger/breach-report",
            post(ledger::breach_report),
        )
        .at(
            t,
            "/api/v1/admin/partners",
            get(partner::list_partners).post(partner::add_partner),
        )
        .at(
            t,
            "/api/v1/admin/partners/{partner}/rotate",
            post(partner::rotate_partner),
        )
        .at(t, "/api/v1/admin/partners/switch", post(partner::switch))
        .at(t, "/api/v1/openapi.json", get(admin::openapi))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            staff::guard,
        ))
        .route_layer(axum::middleware::from_fn(label_route));
    // Public statistics run a count over every dose, the revocation list reads every revoked
    // certificate, and the verifier canonicalises what anyone sends: the public per-IP limit
    // applies, as on the CoWIN routes, and a certificate to verify is a QR code's worth of text
    // or a picture of one (the handler holds text to 16 KiB).
    let report_routes = Router::new()
        .at(t, "/api/v1/reports/public", get(partner::public_reports))
        .at(
            t,
            "/api/v1/certificates/revoked",
            get(certificates::revoked),
        )
        .at(t, "/.well-known/crl/{file}", get(certificates::shc_crl))
        .at(
            t,
            "/api/v1/verify",
            post(certificates::verify).layer(axum::extract::DefaultBodyLimit::max(
                certificates::MAX_PICTURE_BYTES,
            )),
        )
        .route_layer(axum::middleware::from_fn(label_route))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_public,
        ));
    let cowin = cowin_routes(state.clone(), t);
    let router = Router::new()
        .merge(staff_routes)
        .merge(ledger_routes)
        .merge(report_routes)
        .nest("/api", cowin)
        .merge(ops_routes)
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(observe))
        .with_state(state);
    (router, table)
}
