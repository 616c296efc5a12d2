//! The outcome shared by every certificate format: a verdict for input that could be decoded,
//! or an `Unusable` error for input that could not.

/// The result of verifying a decodable certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether every check passed.
    pub valid: bool,
    /// The format: `"eu-dcc"` or `"shc"`.
    pub format: &'static str,
    /// The issuer (EU: the CWT issuer country; SHC: the `iss` URL), when known.
    pub issuer: Option<String>,
    /// A small summary of the holder: name as given, date of birth, last dose date and number.
    /// National identifiers are never copied here.
    pub subject: serde_json::Value,
    /// Why the certificate is invalid (the first failed check), when it is.
    pub reason: Option<String>,
    /// Defects that do not make the certificate invalid.
    pub warnings: Vec<String>,
}

impl Verdict {
    /// A verdict that is valid unless `reason` is given.
    pub fn new(
        format: &'static str,
        issuer: Option<String>,
        subject: serde_json::Value,
        reason: Option<String>,
    ) -> Self {
        Self {
            valid: reason.is_none(),
            format,
            issuer,
            subject,
            reason,
            warnings: Vec::new(),
        }
    }
}

/// Input that cannot be decoded into a certificate of the format at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable {format} input: {reason}")]
pub struct Unusable {
    /// The format that was attempted.
    pub format: &'static str,
    /// What went wrong while decoding.
    pub reason: String,
}
