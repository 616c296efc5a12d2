//! CBOR ↔ JSON conversion for DCC payloads (the `hcert` claim is JSON data carried as CBOR).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ciborium::Value as Cbor;
use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Converts a CBOR value to JSON: integer map keys become strings, byte strings become base64,
/// date tags (0: text, 1: epoch seconds) become RFC 3339 text.
pub fn cbor_to_json(value: &Cbor) -> Json {
    match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(*b),
        Cbor::Integer(i) => integer_to_json(i128::from(*i)),
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Cbor::Text(t) => Json::String(t.clone()),
        Cbor::Bytes(b) => Json::String(STANDARD.encode(b)),
        Cbor::Array(items) => Json::Array(items.iter().map(cbor_to_json).collect()),
        Cbor::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (map_key(k), cbor_to_json(v)))
                .collect(),
        ),
        Cbor::Tag(1, inner) => epoch_to_json(inner),
        Cbor::Tag(_, inner) => cbor_to_json(inner),
        _ => Json::Null,
    }
}

fn integer_to_json(i: i128) -> Json {
    if let Ok(v) = i64::try_from(i) {
        Json::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Json::from(v)
    } else {
        Json::String(i.to_string())
    }
}

fn epoch_to_json(inner: &Cbor) -> Json {
    let secs = match inner {
        Cbor::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        #[allow(clippy::cast_possible_truncation)]
        Cbor::Float(f) => Some(f.trunc() as i64),
        _ => None,
    };
    secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or_else(|| cbor_to_json(inner), Json::String)
}

fn map_key(key: &Cbor) -> String {
    match key {
        Cbor::Text(t) => t.clone(),
        Cbor::Integer(i) => i128::from(*i).to_string(),
        other => cbor_to_json(other).to_string(),
    }
}

/// Converts JSON to CBOR (integers stay integers; objects become text-keyed maps).
pub fn json_to_cbor(value: &Json) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cbor::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Cbor::Integer(u.into())
            } else {
                Cbor::Float(n.as_f64().unwrap_or_default())
            }
        }
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Array(items) => Cbor::Array(items.iter().map(json_to_cbor).collect()),
        Json::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), json_to_cbor(v)))
                .collect(),
        ),
    }
}
