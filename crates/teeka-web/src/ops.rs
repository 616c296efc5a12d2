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

/// `GET /readyz`: the database answers.
pub async fn readyz(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match app.store.ping().await {
        Ok(()) => Ok(axum::Json(
            json!({ "status": "ready", "database": app.store.backend_name() }),
        )),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                "database unavailable",
            ))
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}
