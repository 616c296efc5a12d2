//! The one error type of the domain: what was wrong with an input, in words a client can read.

/// Why a value could not be parsed into a domain type. The message names the field and the
/// expected form, never echoes more than the offending field's own value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value did not have the expected form.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field or parameter that was wrong.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
}

impl DomainError {
    /// Builds an [`DomainError::Invalid`] for `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid { field, .. } => field,
        }
    }
}
