//! A pragmatic check of the EU DCC JSON schema (1.3.x): the required structure and the field
//! patterns and bounds, without a JSON-schema engine. Like common schema validators, `format`
//! annotations (date, date-time) are not enforced because older schema versions used them loosely.

use serde_json::{Map, Value};

/// Checks `hcert` (the DCC payload as JSON) against the DCC schema rules; the error names the
/// first violation.
pub fn validate_schema(hcert: &Value) -> Result<(), String> {
    let root = hcert.as_object().ok_or("payload is not an object")?;
    check_version(root)?;
    check_name(root.get("nam").ok_or("missing nam")?)?;
    check_dob(root.get("dob").ok_or("missing dob")?)?;
    let groups: Vec<&str> = ["v", "t", "r"]
        .into_iter()
        .filter(|k| root.contains_key(*k))
        .collect();
    let [group] = groups.as_slice() else {
        return Err(format!(
            "exactly one of v, t, r is required, found {}",
            groups.len()
        ));
    };
    let entries = root
        .get(*group)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{group} is not an array"))?;
    if entries.len() != 1 {
        return Err(format!(
            "{group} must hold exactly one entry, has {}",
            entries.len()
        ));
    }
    for entry in entries {
        let entry = entry
            .as_object()
            .ok_or_else(|| format!("{group} entry is not an object"))?;
        check_entry(group, entry)?;
    }
    Ok(())
}

fn check_version(root: &Map<String, Value>) -> Result<(), String> {
    let ver = string(root, "ver")?.ok_or("missing ver")?;
    let parts: Vec<&str> = ver.split('.').collect();
    let semver = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if semver {
        Ok(())
    } else {
        Err(format!("ver {ver:?} is not major.minor.patch"))
    }
}

fn check_name(nam: &Value) -> Result<(), String> {
    let nam = nam.as_object().ok_or("nam is not an object")?;
    if !nam.contains_key("fnt") && !nam.contains_key("gnt") {
        return Err("nam needs fnt or gnt".into());
    }
    for key in ["fn", "gn"] {
        max_len(nam, key, 80)?;
    }
    for key in ["fnt", "gnt"] {
        if let Some(value) = string(nam, key)? {
            let icao = value.bytes().all(|b| b.is_ascii_uppercase() || b == b'<');
            if !icao || value.chars().count() > 80 {
                return Err(format!("nam.{key} {value:?} is not ICAO 9303 text"));
            }
        }
    }
    Ok(())
}

fn check_dob(dob: &Value) -> Result<(), String> {
    let dob = dob.as_str().ok_or("dob is not a string")?;
    if dob.is_empty() || dob_pattern(dob) {
        Ok(())
    } else {
        Err(format!("dob {dob:?} is outside 1900-2099 or malformed"))
    }
}

/// `^((19|20)\d\d(-\d\d){0,2}){0,1}$`
fn dob_pattern(dob: &str) -> bool {
    let bytes = dob.as_bytes();
    if bytes.len() < 4 || !(dob.starts_with("19") || dob.starts_with("20")) {
        return false;
    }
    if !bytes[..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let rest = &dob[4..];
    let parts: Vec<&str> = rest.split('-').skip(1).collect();
    (rest.is_empty() || rest.starts_with('-'))
        && parts.len() <= 2
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn check_entry(group: &str, entry: &Map<String, Value>) -> Result<(), String> {
    let required: &[&str] = match group {
        "v" => &["tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"],
        "t" => &["tg", "tt", "sc", "tr", "co", "is", "ci"],
        _ => &["tg", "fr", "co", "is", "df", "du", "ci"],
    };
    for key in required {
        if !entry.contains_key(*key) {
            return Err(format!("{group} entry lacks {key}"));
        }
    }
    for (key, value) in entry {
        check_field(group, key, value)?;
    }
    Ok(())
}

fn check_field(group: &str, key: &str, value: &Value) -> Result<(), String> {
    match key {
        "dn" | "sd" => match value.as_u64() {
            Some(n) if n >= 1 => Ok(()),
            _ => Err(format!("{group}.{key} must be a positive integer")),
        },
        "co" => {
            let co = value
                .as_str()
                .ok_or_else(|| format!("{group}.co is not a string"))?;
            let run = co.bytes().filter(u8::is_ascii_uppercase).count();
            if run >= 1 {
                Ok(())
            } else {
                Err(format!("{group}.co {co:?} is not a country code"))
            }
        }
        "is" | "ci" | "nm" | "tc" => match value.as_str() {
            Some(s) if s.chars().count() <= 80 => Ok(()),
            _ => Err(format!(
                "{group}.{key} must be text of at most 80 characters"
            )),
        },
        _ => Ok(()),
    }
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn max_len(map: &Map<String, Value>, key: &str, limit: usize) -> Result<(), String> {
    match string(map, key)? {
        Some(s) if s.chars().count() > limit => Err(format!("{key} is longer than {limit}")),
        _ => Ok(()),
    }
}
