//! Operations endpoints: liveness, readiness (the database answers), Prometheus metrics.

use crate::error::{ApiError, UNAVAILABLE};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers. Probes arrive often and from outside, so the answer
/// comes from a check at most a second old: a flood of probes cannot occupy the connection pool.
pub async fn readyz(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let recent = *app.last_readiness.lock().unwrap_or_else(|p| p.into_inner());
    let ready = match recent {
        Some((at, ready)) if at.elapsed() < std::time::Duration::from_secs(1) => ready,
        _ => {
            let ready = match app.store.ping().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "readiness check failed");
                    false
                }
            };
            *app.last_readiness.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((std::time::Instant::now(), ready));
            ready
        }
    };
    if ready {
        Ok(axum::Json(
            json!({ "status": "ready", "database": app.store.backend_name() }),
        ))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            UNAVAILABLE,
            "database unavailable",
        ))
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}
