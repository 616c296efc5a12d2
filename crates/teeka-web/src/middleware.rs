//! What every request passes through: a request id (on the response and on every log line of
//! the request), security headers, metrics, and the public per-IP limit.

use crate::ratelimit::client_ip;
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

/// The longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The header carrying the request id.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route template a response came from, copied out of routing for the outer middleware.
#[derive(Clone, Copy)]
struct RouteLabel(&'static str);

/// Route templates as `'static` strings for metric labels, so that recording a request allocates
/// nothing. Only matched templates are interned, and the router has a fixed number of them.
fn intern_route(route: &str) -> &'static str {
    static ROUTES: OnceLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> =
        OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(known) = routes.read().unwrap_or_else(|p| p.into_inner()).get(route) {
        return known;
    }
    let mut write = routes.write().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = write.get(route) {
        return known;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    write.insert(leaked);
    leaked
}

/// A status code as a `'static` label.
fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        429 => "429",
        500 => "500",
        503 => "503",
        _ if status.is_success() => "2xx",
        _ if status.is_client_error() => "4xx",
        _ => "5xx",
    }
}

/// Per-process prefix + counter: unique, cheap (no syscall per request), and not a clock.
fn next_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Security headers for an API that serves JSON only.
fn apply_security_headers(response: &mut Response) {
    let h = response.headers_mut();
    // Browsers must not guess a type other than the one we declare.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nothing we serve is meant to be framed (clickjacking).
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // JSON needs no scripts, styles or frames; if a response is ever rendered, it can load nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    // Our URLs can carry parameters; never hand them to another site as a referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Behind TLS, browsers should never fall back to plain HTTP (ignored over plain HTTP).
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    // Answers are not to be kept by shared caches unless a route says otherwise.
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// The outermost layer: id, span, security headers, metrics, and a log line for failures.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Always ours: request ids go on the access ledger, so a client must not choose them.
    let request_id = next_request_id();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    let method = request.method().clone();
    // The path only, never the query: query strings may one day carry things that are not ours to log.
    let path = request.uri().path().to_owned();
    // The span carries only the id (every log line of the request gets it); method and path go on
    // the completion line. Each span field is formatted on every request, so fields cost.
    let span = tracing::info_span!("request", request_id = %request_id);
    // No request may hold a connection (and a database connection) forever.
    let mut response =
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request).instrument(span.clone()))
            .await
        {
            Ok(response) => response,
            Err(_) => {
                span.in_scope(|| tracing::error!(%method, %path, "request timed out"));
                crate::error::ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    crate::error::UNAVAILABLE,
                    "the request took too long",
                )
                .into_response()
            }
        };

    let status = response.status();
    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0);
    let labels = [("route", route), ("status", status_label(status))];
    metrics::counter!("teeka_http_requests_total", &labels).increment(1);
    metrics::histogram!("teeka_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(
                %method,
                %path,
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "request failed"
            );
        } else {
            tracing::debug!(
                %method,
                %path,
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "request"
            );
        }
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    apply_security_headers(&mut response);
    response
}

/// Runs inside routing: copies the matched route template onto the response for [`observe`].
pub async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| intern_route(m.as_str()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// The public API's per-IP limit; 429 `{"error":"Too Many Requests"}` as CoWIN's edge answered.
pub async fn limit_public(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &app.public_limiter {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let ip = client_ip(peer, request.headers(), &app.config.trusted_proxies);
        if let Err(retry_after) = limiter.check(ip) {
            metrics::counter!("teeka_rate_limited_total").increment(1);
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({ "error": "Too Many Requests" })),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    }
    next.run(request).await
}
