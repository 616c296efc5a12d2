//! The use-case error: a client-safe classification plus the cause, which is logged, not shown.

use teeka_domain::DomainError;
use teeka_store::StoreError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's input was wrong; the message is safe to show.
    #[error("{0}")]
    BadInput(String),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input conflicts with stored data (a duplicate id, say); the message is safe to show.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed; the cause is for the log only.
    #[error("storage failure")]
    Store(#[source] StoreError),
    /// No valid session: missing, expired, revoked or unknown token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A rule refused the request; `code` and `message` are for the client.
    #[error("{code}: {message}")]
    Refused {
        /// What kind of refusal, which decides the HTTP status.
        kind: Refusal,
        /// The documented error code.
        code: &'static str,
        /// A message safe to show.
        message: String,
    },
    /// Key material or a sealed value is unusable; the cause is for the log only.
    #[error("vault failure: {0}")]
    Crypto(String),
}

/// Kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong or unusable input (400).
    Invalid,
    /// Not found, or not the caller's to see (404).
    NotFound,
    /// Conflicts with what exists (409).
    Conflict,
    /// Well-formed but unusable with what the server holds (422), such as an idempotency key
    /// reused for a different request.
    Unprocessable,
    /// Over a limit (429).
    TooMany,
    /// Credentials refused (401).
    Unauthorized,
    /// Signed in, but not allowed (403).
    Forbidden,
}

impl AppError {
    /// A refusal with its documented code.
    pub fn refused(kind: Refusal, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Refused {
            kind,
            code,
            message: message.into(),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::BadInput(e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => {
                AppError::Conflict("a record with that id already exists".into())
            }
            StoreError::MissingReference(_) => AppError::BadInput(
                "refers to a centre, district or vaccine that does not exist".into(),
            ),
            StoreError::Constraint(_) => {
                AppError::BadInput("a value is out of its allowed range".into())
            }
            other => AppError::Store(other),
        }
    }
}
