//! Error answers. The CoWIN routes answer `{"errorCode","error"}` as CoWIN did; every other route
//! answers `{"code","message"}`. Either way the client sees a safe message and the cause goes to
//! the log, tagged with the request id (crates.io's `AppError` pattern).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use teeka_app::{AppError, Refusal};

/// CoWIN's own code for a missing or misspelt parameter.
pub const MISSING_PARAMETER: &str = "USRRES0001";
/// Ours: a parameter is present but malformed.
pub const INVALID_PARAMETER: &str = "TKAREQ0001";
/// Ours: no such route.
pub const NO_SUCH_ROUTE: &str = "TKAREQ0404";
/// Ours: something failed on our side; the log has the cause under the request id.
pub const INTERNAL: &str = "TKASYS0001";
/// Ours: no valid session (missing, expired, revoked or unknown token).
pub const UNAUTHENTICATED: &str = "TKAAUT0001";
/// Ours: a dependency (the database) is unavailable.
pub const UNAVAILABLE: &str = "TKASYS0002";

#[derive(Serialize)]
struct CowinBody<'a> {
    #[serde(rename = "errorCode")]
    error_code: &'a str,
    error: &'a str,
}

/// An error on a CoWIN-compatible route.
#[derive(Debug)]
pub struct CowinError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<std::time::Duration>,
}

impl CowinError {
    /// The same error with a message that names nobody and states nothing about anyone
    /// (for a partner: the code says what was refused).
    pub fn without_details(mut self) -> Self {
        self.message = format!("Refused ({}); the person can see why in Teeka", self.code);
        self
    }

    /// A 400 for a parameter that is missing.
    pub fn missing(name: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: MISSING_PARAMETER,
            message: format!("Input parameter missing: {name}"),
            retry_after: None,
        }
    }

    /// A 400 for a parameter that is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: INVALID_PARAMETER,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Tells the client when to try again (`Retry-After`, whole seconds, at least 1).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
}

/// The status, code and client-safe message for a use-case error; causes go to the log here.
fn classify(e: AppError) -> (StatusCode, &'static str, String) {
    match e {
        AppError::BadInput(m) => (StatusCode::BAD_REQUEST, INVALID_PARAMETER, m),
        AppError::NotFound(what) => (
            StatusCode::NOT_FOUND,
            NO_SUCH_ROUTE,
            format!("{what} not found"),
        ),
        AppError::Conflict(m) => (StatusCode::CONFLICT, INVALID_PARAMETER, m),
        AppError::Store(cause) => {
            tracing::error!(error = %cause, "storage failure");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
                "Service temporarily unavailable".into(),
            )
        }
        AppError::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "Unauthenticated access!".into(),
        ),
        AppError::Refused {
            kind,
            code,
            message,
        } => {
            let status = match kind {
                Refusal::Invalid => StatusCode::BAD_REQUEST,
                Refusal::NotFound => StatusCode::NOT_FOUND,
                Refusal::Conflict => StatusCode::CONFLICT,
                Refusal::TooMany => StatusCode::TOO_MANY_REQUESTS,
                Refusal::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
                Refusal::Forbidden => StatusCode::FORBIDDEN,
            };
            (status, code, message)
        }
        AppError::Crypto(cause) => {
            tracing::error!(error = %cause, "vault failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL,
                "Internal error".into(),
            )
        }
    }
}

impl From<AppError> for CowinError {
    fn from(e: AppError) -> Self {
        let (status, code, message) = classify(e);
        CowinError::new(status, code, message)
    }
}

impl From<CowinError> for ApiError {
    fn from(e: CowinError) -> Self {
        ApiError::new(e.status, e.code, e.message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let (status, code, message) = classify(e);
        ApiError::new(status, code, message)
    }
}

impl IntoResponse for CowinError {
    fn into_response(self) -> Response {
        let body = CowinBody {
            error_code: self.code,
            error: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[derive(Serialize)]
struct ApiBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// An error on a Teeka-native route.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiBody {
            code: self.code,
            message: &self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}
