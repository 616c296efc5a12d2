//! Query parameters for CoWIN routes: missing ones get CoWIN's `USRRES0001`, malformed ones a
//! clear message naming the parameter, never a framework's plain-text rejection.

use crate::error::CowinError;
use std::str::FromStr;
use teeka_domain::DomainError;

/// A route's query parameters, decoded.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string (absent means empty).
    pub fn parse(raw: Option<&str>) -> Result<Self, CowinError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
            .map(Params)
            .map_err(|_| CowinError::invalid("the query string is malformed"))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// A parameter's text, if present and not blank.
    pub fn optional_text(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    /// A parameter that must be present, as text (the use case judges its form).
    pub fn required_text(&self, name: &str) -> Result<&str, CowinError> {
        self.get(name).ok_or_else(|| CowinError::missing(name))
    }

    /// A parameter that must be present and well-formed.
    pub fn required<T: FromStr<Err = DomainError>>(&self, name: &str) -> Result<T, CowinError> {
        let value = self.get(name).ok_or_else(|| CowinError::missing(name))?;
        value
            .parse()
            .map_err(|e: DomainError| CowinError::invalid(format!("Invalid {name}: {e}")))
    }

    /// A parameter that may be absent but, if present, must be well-formed.
    pub fn optional<T: FromStr<Err = DomainError>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, CowinError> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|e: DomainError| CowinError::invalid(format!("Invalid {name}: {e}")))
            })
            .transpose()
    }

    /// A coordinate parameter (CoWIN's `lat` / `long`).
    pub fn coordinate(&self, name: &str, bound: f64) -> Result<f64, CowinError> {
        let value = self.get(name).ok_or_else(|| CowinError::missing(name))?;
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() <= bound)
            .ok_or_else(|| {
                CowinError::invalid(format!("Invalid {name}: must be a number within ±{bound}"))
            })
    }
}

/// Parses a JSON body into `T`, answering CoWIN's error shape for anything unreadable.
pub fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CowinError> {
    if body.is_empty() {
        return Err(CowinError::invalid("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde's own message can quote the offending value (an ID number, say): say only what
        // kind of problem and where.
        let kind = match e.classify() {
            serde_json::error::Category::Data => "a field has the wrong type or value",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "it is not valid JSON"
            }
            serde_json::error::Category::Io => "it could not be read",
        };
        CowinError::invalid(format!(
            "Invalid JSON body: {kind} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// As [`read_json`], answering in the Teeka-native error shape.
pub fn read_json_api<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, crate::error::ApiError> {
    read_json(body).map_err(crate::error::ApiError::from)
}
