//! JSON-LD 1.1 expansion for the subset used by Verifiable Credentials: embedded, type-scoped
//! and property-scoped contexts, `@id`/`@vocab`/datatype coercion, and `@graph`, `@set` and
//! `@list` containers.

use serde_json::{Map, Value};

use super::LdError;
use super::context::{Context, is_keyword};

/// Bounds recursion on deeply nested input.
const MAX_DEPTH: usize = 64;

/// Expands a JSON-LD document into its expanded form (always an array of node objects).
///
/// Keys that expansion drops because no context defines them are appended to `dropped`, so
/// that signature code can refuse documents whose content would silently go unsigned.
pub(crate) fn expand_document(
    doc: &Value,
    dropped: &mut Vec<String>,
) -> Result<Vec<Value>, LdError> {
    let ctx = Context::default();
    let expanded = expand_element(&ctx, None, doc, 0, dropped)?;
    let expanded = match expanded {
        Value::Null => Vec::new(),
        Value::Object(mut m) if m.len() == 1 && m.contains_key("@graph") => {
            match m.remove("@graph") {
                Some(Value::Array(a)) => a,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            }
        }
        Value::Array(a) => a,
        other => vec![other],
    };
    Ok(expanded)
}

fn as_array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => vec![other],
    }
}

/// Appends `value` (flattening arrays) to the array under `key`.
fn add_value(map: &mut Map<String, Value>, key: &str, value: Value) {
    let entry = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        let old = entry.take();
        *entry = Value::Array(vec![old]);
    }
    if let Value::Array(arr) = entry {
        match value {
            Value::Array(items) => arr.extend(items),
            other => arr.push(other),
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// The expansion algorithm (JSON-LD 1.1 API, section 5.1.2).
fn expand_element(
    active: &Context,
    active_property: Option<&str>,
    element: &Value,
    depth: usize,
    dropped: &mut Vec<String>,
) -> Result<Value, LdError> {
    if depth > MAX_DEPTH {
        return Err(LdError::InvalidDocument("document nesting too deep".into()));
    }
    if element.is_null() {
        return Ok(Value::Null);
    }
    let property_scoped = active_property
        .and_then(|p| active.terms.get(p))
        .and_then(|d| d.context.clone());

    if is_scalar(element) {
        if matches!(active_property, None | Some("@graph")) {
            return Ok(Value::Null);
        }
        let ctx = match &property_scoped {
            Some(local) => active.process(local, true, true, 0)?,
            None => active.clone(),
        };
        return expand_value(&ctx, active_property.unwrap_or_default(), element);
    }

    if let Value::Array(items) = element {
        let container_list = active_property
            .and_then(|p| active.terms.get(p))
            .is_some_and(|d| d.container.iter().any(|c| c == "@list"));
        let mut result = Vec::new();
        for item in items {
            let expanded = expand_element(active, active_property, item, depth + 1, dropped)?;
            if container_list && expanded.is_array() {
                // Lists of lists: keep the nested array as its own list object.
                let mut m = Map::new();
                m.insert("@list".into(), expanded);
                result.push(Value::Object(m));
            } else {
                match expanded {
                    Value::Null => {}
                    Value::Array(a) => result.extend(a),
                    other => result.push(other),
                }
            }
        }
        return Ok(Value::Array(result));
    }

    let Value::Object(obj) = element else {
        return Err(LdError::InvalidDocument("unexpected JSON value".into()));
    };

    let mut active = active.clone();
    // Type-scoped contexts do not propagate into embedded node objects; value objects and
    // bare references keep them.
    if active.previous.is_some() {
        let mut has_value = false;
        let mut only_id = obj.len() == 1;
        for key in obj.keys() {
            let exp = active.expand(key, true);
            match exp.as_deref() {
                Some("@value") => has_value = true,
                Some("@id") => {}
                _ => only_id = false,
            }
        }
        if !has_value
            && !only_id
            && let Some(prev) = active.previous.take()
        {
            active = *prev;
        }
    }
    if let Some(local) = &property_scoped {
        active = active.process(local, true, true, 0)?;
    }
    if let Some(local) = obj.get("@context") {
        active = active.process(local, false, true, 0)?;
    }

    // Type-scoped contexts are looked up in the context as it was before any of them applied.
    let type_scoped = active.clone();
    let mut type_keys: Vec<&String> = obj
        .keys()
        .filter(|k| type_scoped.expand(k, true).as_deref() == Some("@type"))
        .collect();
    type_keys.sort();
    for key in &type_keys {
        let mut terms: Vec<&str> = match &obj[key.as_str()] {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(s) => vec![s.as_str()],
            _ => Vec::new(),
        };
        terms.sort_unstable();
        for term in terms {
            if let Some(local) = type_scoped.terms.get(term).and_then(|d| d.context.as_ref()) {
                active = active.process(local, false, false, 0)?;
            }
        }
    }

    let mut result = Map::new();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for key in keys {
        let value = &obj[key.as_str()];
        if key == "@context" {
            continue;
        }
        let Some(expanded_property) = active.expand(key, true) else {
            dropped.push(key.clone());
            continue;
        };
        if !expanded_property.contains(':') && !is_keyword(&expanded_property) {
            // Terms without an IRI mapping are dropped, as the algorithm specifies.
            dropped.push(key.clone());
            continue;
        }
        if is_keyword(&expanded_property) {
            if active_property == Some("@reverse") {
                return Err(LdError::InvalidDocument("keyword inside @reverse".into()));
            }
            if result.contains_key(&expanded_property)
                && !matches!(expanded_property.as_str(), "@included" | "@type")
            {
                return Err(LdError::InvalidDocument(format!(
                    "colliding keywords: {expanded_property}"
                )));
            }
            let expanded_value = match expanded_property.as_str() {
                "@id" => {
                    let Value::String(s) = value else {
                        return Err(LdError::InvalidDocument("@id must be a string".into()));
                    };
                    match active.expand(s, false) {
                        Some(iri) => Value::String(iri),
                        None => Value::Null,
                    }
                }
                "@type" => {
                    let items: Vec<&Value> = match value {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    let mut out = Vec::new();
                    for item in items {
                        let Value::String(s) = item else {
                            return Err(LdError::InvalidDocument(
                                "@type values must be strings".into(),
                            ));
                        };
                        match type_scoped.expand(s, true) {
                            Some(iri) => out.push(Value::String(iri)),
                            None => dropped.push(format!("@type {s}")),
                        }
                    }
                    let merged = match result.remove("@type") {
                        Some(Value::Array(mut prev)) => {
                            prev.extend(out);
                            prev
                        }
                        Some(prev) => {
                            let mut v = vec![prev];
                            v.extend(out);
                            v
                        }
                        None => out,
                    };
                    Value::Array(merged)
                }
                "@graph" => Value::Array(as_array(expand_element(
                    &active,
                    Some("@graph"),
                    value,
                    depth + 1,
                    dropped,
                )?)),
                "@value" => {
                    if !(is_scalar(value) || value.is_null()) {
                        return Err(LdError::InvalidDocument("invalid @value".into()));
                    }
                    value.clone()
                }
                "@language" => {
                    let Value::String(s) = value else {
                        return Err(LdError::InvalidDocument("invalid @language".into()));
                    };
                    Value::String(s.to_lowercase())
                }
                "@list" => {
                    if matches!(active_property, None | Some("@graph")) {
                        continue;
                    }
                    let v = expand_element(&active, active_property, value, depth + 1, dropped)?;
                    Value::Array(as_array(v))
                }
                "@set" => expand_element(&active, active_property, value, depth + 1, dropped)?,
                other => {
                    return Err(LdError::Unsupported(format!(
                        "keyword {other} in a document"
                    )));
                }
            };
            if expanded_value.is_null() && expanded_property != "@value" {
                continue;
            }
            result.insert(expanded_property, expanded_value);
            continue;
        }

        let def = active.terms.get(key.as_str());
        let container: Vec<String> = def.map(|d| d.container.clone()).unwrap_or_default();
        if def.and_then(|d| d.type_mapping.as_deref()) == Some("@json") {
            return Err(LdError::Unsupported("@json literals".into()));
        }
        if value.is_object()
            && container
                .iter()
                .any(|c| matches!(c.as_str(), "@language" | "@index" | "@id" | "@type"))
        {
            return Err(LdError::Unsupported(format!("map container on {key}")));
        }
        let mut expanded_value = expand_element(&active, Some(key), value, depth + 1, dropped)?;
        if expanded_value.is_null() {
            continue;
        }
        if container.iter().any(|c| c == "@list") && !is_list_object(&expanded_value) {
            let mut m = Map::new();
            m.insert("@list".into(), Value::Array(as_array(expanded_value)));
            expanded_value = Value::Object(m);
        }
        if container.iter().any(|c| c == "@graph")
            && !container.iter().any(|c| c == "@id" || c == "@index")
        {
            let graphs = as_array(expanded_value)
                .into_iter()
                .map(|ev| {
                    let mut m = Map::new();
                    m.insert("@graph".into(), Value::Array(as_array(ev)));
                    Value::Object(m)
                })
                .collect();
            expanded_value = Value::Array(graphs);
        }
        add_value(&mut result, &expanded_property, expanded_value);
    }

    finish_object(result, active_property)
}

fn is_list_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key("@list"))
}

/// Validation and simplification after all entries of a map were expanded.
fn finish_object(
    mut result: Map<String, Value>,
    active_property: Option<&str>,
) -> Result<Value, LdError> {
    if result.contains_key("@value") {
        let allowed = ["@value", "@type", "@language", "@index", "@direction"];
        if result.keys().any(|k| !allowed.contains(&k.as_str()))
            || (result.contains_key("@type") && result.contains_key("@language"))
        {
            return Err(LdError::InvalidDocument("invalid value object".into()));
        }
        match result.get("@value") {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(v) => {
                if !v.is_string() && result.contains_key("@language") {
                    return Err(LdError::InvalidDocument(
                        "language-tagged value must be a string".into(),
                    ));
                }
            }
        }
        if let Some(t) = result.get("@type")
            && !t.as_str().is_some_and(|t| t.contains(':'))
        {
            return Err(LdError::InvalidDocument("invalid typed value".into()));
        }
    } else if let Some(t) = result.get_mut("@type") {
        if !t.is_array() {
            let old = t.take();
            *t = Value::Array(vec![old]);
        }
    } else if result.contains_key("@set") || result.contains_key("@list") {
        if result.len() > 1 {
            return Err(LdError::InvalidDocument(
                "invalid set or list object".into(),
            ));
        }
        if let Some(set) = result.remove("@set") {
            return Ok(set);
        }
    }
    if result.len() == 1 && result.contains_key("@language") {
        return Ok(Value::Null);
    }
    if matches!(active_property, None | Some("@graph"))
        && (result.is_empty()
            || result.contains_key("@value")
            || result.contains_key("@list")
            || (result.len() == 1 && result.contains_key("@id")))
    {
        return Ok(Value::Null);
    }
    Ok(Value::Object(result))
}

/// Value expansion (JSON-LD 1.1 API, section 5.3.2).
fn expand_value(active: &Context, active_property: &str, value: &Value) -> Result<Value, LdError> {
    let type_mapping = active
        .terms
        .get(active_property)
        .and_then(|d| d.type_mapping.clone());
    let mut m = Map::new();
    if let Value::String(s) = value {
        match type_mapping.as_deref() {
            Some("@id") => {
                if let Some(iri) = active.expand(s, false) {
                    m.insert("@id".into(), Value::String(iri));
                }
                return Ok(Value::Object(m));
            }
            Some("@vocab") => {
                if let Some(iri) = active.expand(s, true) {
                    m.insert("@id".into(), Value::String(iri));
                }
                return Ok(Value::Object(m));
            }
            _ => {}
        }
    }
    m.insert("@value".into(), value.clone());
    match type_mapping {
        Some(t) if !matches!(t.as_str(), "@id" | "@vocab" | "@none") => {
            m.insert("@type".into(), Value::String(t));
        }
        _ => {
            if value.is_string()
                && let Some(lang) = &active.language
            {
                m.insert("@language".into(), Value::String(lang.clone()));
            }
        }
    }
    Ok(Value::Object(m))
}
