//! Checks of the FHIR bundle inside a health card against the SMART Health Cards profile:
//! completed immunizations with one occurrence and a coded vaccine, and minimal `meta`.

use serde_json::Value as Json;

use super::ShcError;

const IAL_SYSTEM: &str = "https://smarthealth.cards/ial";

/// Checks the bundle; errors break the profile, returned strings are warnings about data that
/// should have been minimized.
pub fn check_fhir_bundle(bundle: &Json) -> Result<Vec<String>, ShcError> {
    let entries = bundle
        .get("entry")
        .and_then(Json::as_array)
        .ok_or_else(|| ShcError::Fhir("bundle has no entry array".into()))?;
    let mut warnings = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let resource = entry
            .get("resource")
            .ok_or_else(|| ShcError::Fhir(format!("entry {index} has no resource")))?;
        let kind = resource
            .get("resourceType")
            .and_then(Json::as_str)
            .unwrap_or("");
        check_meta(resource, index, &mut warnings)?;
        if resource.get("id").is_some() {
            warnings.push(format!("entry {index}: resource id should be omitted"));
        }
        if kind == "Immunization" {
            check_immunization(resource, index)?;
        }
    }
    Ok(warnings)
}

fn check_meta(resource: &Json, index: usize, warnings: &mut Vec<String>) -> Result<(), ShcError> {
    let Some(meta) = resource.get("meta") else {
        return Ok(());
    };
    let Some(meta) = meta.as_object() else {
        warnings.push(format!("entry {index}: meta should be omitted"));
        return Ok(());
    };
    if meta.keys().any(|k| k != "security") {
        warnings.push(format!("entry {index}: meta may only hold security"));
    }
    if let Some(security) = meta.get("security") {
        let labels = security.as_array().map(Vec::as_slice).unwrap_or_default();
        let coded = !labels.is_empty()
            && labels
                .iter()
                .all(|s| s.get("code").and_then(Json::as_str).is_some());
        if !coded {
            return Err(ShcError::Fhir(format!(
                "entry {index}: meta.security needs coded labels"
            )));
        }
        if labels
            .iter()
            .any(|s| s.get("system").and_then(Json::as_str) != Some(IAL_SYSTEM))
        {
            warnings.push(format!(
                "entry {index}: meta.security should use system {IAL_SYSTEM}"
            ));
        }
    }
    Ok(())
}

fn check_immunization(resource: &Json, index: usize) -> Result<(), ShcError> {
    if resource.get("status").and_then(Json::as_str) != Some("completed") {
        return Err(ShcError::Fhir(format!(
            "entry {index}: status must be completed"
        )));
    }
    let occurrences = ["occurrenceDateTime", "occurrenceString"]
        .iter()
        .filter(|k| resource.get(**k).is_some())
        .count();
    if occurrences != 1 {
        return Err(ShcError::Fhir(format!(
            "entry {index}: needs exactly one occurrence[x], has {occurrences}"
        )));
    }
    let coded = resource
        .pointer("/vaccineCode/coding")
        .and_then(Json::as_array)
        .is_some_and(|c| !c.is_empty());
    if !coded {
        return Err(ShcError::Fhir(format!(
            "entry {index}: vaccineCode has no coding"
        )));
    }
    Ok(())
}
