//! JSON-LD 1.1 context processing (active contexts, term definitions, IRI expansion) with a
//! loader that only knows the context documents bundled into this crate.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::LdError;

/// The bundled context documents, by URL. Several URLs share a document because DIVOC
/// deployments published the same vaccination context under different hosts.
const BUNDLED: &[(&str, &str)] = &[
    (
        "https://www.w3.org/2018/credentials/v1",
        include_str!("../../contexts/W32018CredentialsV1.json"),
    ),
    (
        "https://cowin.gov.in/credentials/vaccination/v1",
        include_str!("../../contexts/DIVOCVaccinationContextV1.json"),
    ),
    (
        "https://divoc.dev/credentials/vaccination/v1",
        include_str!("../../contexts/DIVOCVaccinationContextV1.json"),
    ),
    (
        "https://cowin.gov.in/credentials/vaccination/v2",
        include_str!("../../contexts/DIVOCVaccinationContextV2.json"),
    ),
    (
        "https://divoc.prod/vaccine/credentials/vaccination/v1",
        include_str!("../../contexts/DIVOCVaccinationContextV2.json"),
    ),
    (
        "https://w3id.org/security/v1",
        include_str!("../../contexts/security-v1.jsonld"),
    ),
    (
        "https://w3id.org/security/v2",
        include_str!("../../contexts/security-v2.jsonld"),
    ),
];

/// Context URLs this crate can resolve offline.
pub fn bundled_context_urls() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|(url, _)| *url)
}

/// Bounds recursion through remote and scoped contexts; the bundled documents nest only a
/// few levels, so hitting this means a cycle or a hostile document.
const MAX_CONTEXT_DEPTH: usize = 32;

/// Returns the `@context` value of a bundled context document.
fn load_context(url: &str) -> Result<Value, LdError> {
    let text = BUNDLED
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(_, t)| *t)
        .ok_or_else(|| LdError::UnknownContext(url.to_string()))?;
    let mut doc: Value = serde_json::from_str(text)
        .map_err(|e| LdError::InvalidContext(format!("bundled context {url}: {e}")))?;
    doc.get_mut("@context")
        .map(Value::take)
        .ok_or_else(|| LdError::InvalidContext(format!("{url} has no @context")))
}

/// One term definition of an active context.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TermDef {
    /// Expanded IRI or keyword; `None` for a term explicitly mapped to null.
    pub iri: Option<String>,
    /// `@type` coercion (`@id`, `@vocab`, `@none`, `@json` or a datatype IRI).
    pub type_mapping: Option<String>,
    /// `@container` values, e.g. `@graph`, `@set`, `@list`.
    pub container: Vec<String>,
    /// Scoped context (raw), applied for property values or nodes typed with the term.
    pub context: Option<Value>,
    /// Whether the term may be used as the prefix of a compact IRI.
    pub prefix: bool,
    /// Protected terms cannot be redefined except by property-scoped contexts.
    pub protected: bool,
}

impl TermDef {
    /// Equality ignoring `protected`, as the protected-redefinition check requires.
    fn same_as(&self, other: &TermDef) -> bool {
        self.iri == other.iri
            && self.type_mapping == other.type_mapping
            && self.container == other.container
            && self.context == other.context
            && self.prefix == other.prefix
    }
}

/// An active context.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    /// Shared between the many copies a document's expansion makes of its contexts, copied
    /// only when one is changed.
    pub terms: std::sync::Arc<BTreeMap<String, TermDef>>,
    pub vocab: Option<String>,
    /// Default language of plain string values.
    pub language: Option<String>,
    /// The context to revert to when entering a new node object (type-scoped contexts do
    /// not propagate).
    pub previous: Option<Box<Context>>,
}

/// JSON-LD keywords.
pub(crate) fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "@base"
            | "@container"
            | "@context"
            | "@default"
            | "@direction"
            | "@embed"
            | "@explicit"
            | "@first"
            | "@graph"
            | "@id"
            | "@import"
            | "@included"
            | "@index"
            | "@json"
            | "@language"
            | "@list"
            | "@nest"
            | "@none"
            | "@omitDefault"
            | "@prefix"
            | "@preserve"
            | "@propagate"
            | "@protected"
            | "@requireAll"
            | "@reverse"
            | "@set"
            | "@type"
            | "@value"
            | "@version"
            | "@vocab"
    )
}

/// `@` followed only by ASCII letters: reserved for future keywords and ignored.
fn has_keyword_form(s: &str) -> bool {
    s.len() > 1 && s.starts_with('@') && s[1..].bytes().all(|b| b.is_ascii_alphabetic())
}

/// An absolute IRI in the loose sense JSON-LD processors use during expansion: a scheme
/// followed by a colon.
pub(crate) fn is_absolute_iri(s: &str) -> bool {
    let Some(colon) = s.find(':') else {
        return false;
    };
    let scheme = &s[..colon];
    let mut bytes = scheme.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// A URI gen-delim character: only terms whose IRI ends in one may act as prefixes in 1.1.
fn ends_with_gen_delim(s: &str) -> bool {
    matches!(
        s.chars().last(),
        Some(':' | '/' | '?' | '#' | '[' | ']' | '@')
    )
}

/// State shared by the term definitions of one local context object being processed.
struct LocalDefs<'a> {
    local: &'a Map<String, Value>,
    defined: HashMap<String, bool>,
    protected_default: bool,
    override_protected: bool,
    depth: usize,
}

impl Context {
    /// Processes `local` (a context value: URL string, object, null, or an array of those)
    /// against this active context and returns the new active context.
    pub(crate) fn process(
        &self,
        local: &Value,
        override_protected: bool,
        propagate: bool,
        depth: usize,
    ) -> Result<Context, LdError> {
        if depth > MAX_CONTEXT_DEPTH {
            return Err(LdError::InvalidContext("context nesting too deep".into()));
        }
        let mut result = self.clone();
        let propagate = match local.get("@propagate") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(LdError::InvalidContext("@propagate must be boolean".into())),
            None => propagate,
        };
        if !propagate && result.previous.is_none() {
            result.previous = Some(Box::new(self.clone()));
        }
        let items: Vec<&Value> = match local {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            match item {
                Value::Null => {
                    if !override_protected && result.terms.values().any(|t| t.protected) {
                        return Err(LdError::InvalidContext(
                            "invalid context nullification of protected terms".into(),
                        ));
                    }
                    let previous = if propagate {
                        None
                    } else {
                        Some(Box::new(result.clone()))
                    };
                    result = Context {
                        previous,
                        ..Context::default()
                    };
                }
                Value::String(url) => {
                    let loaded = load_context(url)?;
                    result = result.process(&loaded, false, true, depth + 1)?;
                }
                Value::Object(obj) => {
                    result.process_object(obj, override_protected, depth)?;
                }
                _ => return Err(LdError::InvalidContext("invalid local context".into())),
            }
        }
        Ok(result)
    }

    fn process_object(
        &mut self,
        obj: &Map<String, Value>,
        override_protected: bool,
        depth: usize,
    ) -> Result<(), LdError> {
        if let Some(v) = obj.get("@version")
            && v.as_f64() != Some(1.1)
        {
            return Err(LdError::InvalidContext(format!("invalid @version {v}")));
        }
        match obj.get("@language") {
            None => {}
            Some(Value::Null) => self.language = None,
            Some(Value::String(l)) => self.language = Some(l.to_lowercase()),
            Some(_) => return Err(LdError::InvalidContext("invalid @language".into())),
        }
        for unsupported in ["@import", "@direction"] {
            if obj.contains_key(unsupported) {
                return Err(LdError::Unsupported(format!("{unsupported} in a context")));
            }
        }
        // Relative IRIs are never resolved (no document base), so @base has no effect.
        if let Some(v) = obj.get("@vocab") {
            match v {
                Value::Null => self.vocab = None,
                Value::String(s) => {
                    let iri = self
                        .expand(s, true)
                        .ok_or_else(|| LdError::InvalidContext("invalid @vocab".into()))?;
                    if !(is_absolute_iri(&iri) || iri.starts_with("_:") || iri.is_empty()) {
                        return Err(LdError::InvalidContext(format!("invalid @vocab {iri}")));
                    }
                    self.vocab = Some(iri);
                }
                _ => return Err(LdError::InvalidContext("invalid @vocab".into())),
            }
        }
        let protected_default = match obj.get("@protected") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(LdError::InvalidContext("@protected must be boolean".into())),
            None => false,
        };
        let mut defs = LocalDefs {
            local: obj,
            defined: HashMap::new(),
            protected_default,
            override_protected,
            depth,
        };
        for key in obj.keys() {
            if matches!(
                key.as_str(),
                "@base"
                    | "@direction"
                    | "@import"
                    | "@language"
                    | "@propagate"
                    | "@protected"
                    | "@version"
                    | "@vocab"
            ) {
                continue;
            }
            self.create_term(key, &mut defs)?;
        }
        Ok(())
    }

    fn create_term(&mut self, term: &str, defs: &mut LocalDefs<'_>) -> Result<(), LdError> {
        match defs.defined.get(term) {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(LdError::InvalidContext(format!(
                    "cyclic IRI mapping: {term}"
                )));
            }
            None => {}
        }
        if term.is_empty() {
            return Err(LdError::InvalidContext("empty term".into()));
        }
        defs.defined.insert(term.to_string(), false);
        let value = defs.local.get(term).cloned().unwrap_or(Value::Null);
        if is_keyword(term) {
            return Err(LdError::InvalidContext(format!(
                "keyword redefinition: {term}"
            )));
        }
        if has_keyword_form(term) {
            defs.defined.insert(term.to_string(), true);
            return Ok(());
        }
        let previous = std::sync::Arc::make_mut(&mut self.terms).remove(term);
        let simple_term = value.is_string();
        let value = match value {
            Value::Null => {
                let mut m = Map::new();
                m.insert("@id".into(), Value::Null);
                m
            }
            Value::String(s) => {
                let mut m = Map::new();
                m.insert("@id".into(), Value::String(s));
                m
            }
            Value::Object(m) => m,
            _ => {
                return Err(LdError::InvalidContext(format!(
                    "invalid term definition for {term}"
                )));
            }
        };
        let protected = match value.get("@protected") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(LdError::InvalidContext("@protected must be boolean".into())),
            None => defs.protected_default,
        };
        let mut def = TermDef {
            iri: None,
            type_mapping: None,
            container: Vec::new(),
            context: None,
            prefix: false,
            protected,
        };
        for key in value.keys() {
            if !matches!(
                key.as_str(),
                "@id" | "@type" | "@container" | "@context" | "@protected" | "@prefix"
            ) {
                return Err(LdError::Unsupported(format!(
                    "{key} in the definition of term {term}"
                )));
            }
        }
        if let Some(t) = value.get("@type") {
            let Value::String(t) = t else {
                return Err(LdError::InvalidContext(format!("invalid @type for {term}")));
            };
            let t = self
                .expand_iri(t, true, defs)?
                .ok_or_else(|| LdError::InvalidContext(format!("invalid @type for {term}")))?;
            if !(matches!(t.as_str(), "@id" | "@vocab" | "@none" | "@json") || is_absolute_iri(&t))
            {
                return Err(LdError::InvalidContext(format!(
                    "invalid type mapping {t} for {term}"
                )));
            }
            def.type_mapping = Some(t);
        }
        match value.get("@id") {
            Some(Value::Null) => def.iri = None,
            Some(Value::String(id)) if id != term => {
                if !is_keyword(id) && has_keyword_form(id) {
                    // Reserved keyword form: the term is ignored, like an undefined term.
                    defs.defined.insert(term.to_string(), true);
                    return Ok(());
                }
                let iri = self
                    .expand_iri(id, true, defs)?
                    .ok_or_else(|| LdError::InvalidContext(format!("invalid IRI for {term}")))?;
                if !(is_keyword(&iri) || is_absolute_iri(&iri) || iri.starts_with("_:")) {
                    return Err(LdError::InvalidContext(format!(
                        "invalid IRI mapping {iri} for {term}"
                    )));
                }
                if iri == "@context" {
                    return Err(LdError::InvalidContext("invalid keyword alias".into()));
                }
                let inner_colon = term
                    .char_indices()
                    .skip(1)
                    .any(|(i, c)| c == ':' && i + 1 < term.len());
                if inner_colon || term.contains('/') {
                    defs.defined.insert(term.to_string(), true);
                    let own = self.expand_iri(term, true, defs)?;
                    if own.as_deref() != Some(iri.as_str()) {
                        return Err(LdError::InvalidContext(format!(
                            "term {term} looks like an IRI but maps elsewhere"
                        )));
                    }
                }
                if !term.contains(':') && !term.contains('/') && simple_term {
                    def.prefix = ends_with_gen_delim(&iri) || iri.starts_with("_:");
                }
                def.iri = Some(iri);
            }
            Some(Value::String(_)) | None => {
                def.iri = Some(self.iri_for_undefined_id(term, defs)?);
            }
            Some(_) => {
                return Err(LdError::InvalidContext(format!("invalid @id for {term}")));
            }
        }
        if let Some(c) = value.get("@container") {
            let list: Vec<&Value> = match c {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for c in list {
                match c.as_str() {
                    Some(
                        s
                        @ ("@graph" | "@set" | "@list" | "@index" | "@id" | "@type" | "@language"),
                    ) => def.container.push(s.to_string()),
                    _ => {
                        return Err(LdError::InvalidContext(format!(
                            "invalid container mapping for {term}"
                        )));
                    }
                }
            }
        }
        if let Some(ctx) = value.get("@context") {
            // Validate the scoped context now so errors surface at definition time.
            self.process(ctx, true, true, defs.depth + 1)?;
            def.context = Some(ctx.clone());
        }
        if let Some(p) = value.get("@prefix") {
            let Value::Bool(p) = p else {
                return Err(LdError::InvalidContext("@prefix must be boolean".into()));
            };
            if term.contains(':') || term.contains('/') {
                return Err(LdError::InvalidContext("invalid term definition".into()));
            }
            def.prefix = *p;
        }
        if let Some(prev) = previous
            && prev.protected
            && !defs.override_protected
        {
            if !prev.same_as(&def) {
                return Err(LdError::InvalidContext(format!(
                    "protected term redefinition: {term}"
                )));
            }
            def = prev;
        }
        std::sync::Arc::make_mut(&mut self.terms).insert(term.to_string(), def);
        defs.defined.insert(term.to_string(), true);
        Ok(())
    }

    /// IRI mapping of a term whose definition has no `@id` (or maps to itself).
    fn iri_for_undefined_id(
        &mut self,
        term: &str,
        defs: &mut LocalDefs<'_>,
    ) -> Result<String, LdError> {
        if let Some(colon) = term
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == ':')
            .map(|x| x.0)
        {
            let (prefix, suffix) = (&term[..colon], &term[colon + 1..]);
            if defs.local.contains_key(prefix) {
                self.create_term(prefix, defs)?;
            }
            if let Some(p) = self.terms.get(prefix).and_then(|d| d.iri.as_ref()) {
                return Ok(format!("{p}{suffix}"));
            }
            return Ok(term.to_string());
        }
        if term.contains('/') {
            return Err(LdError::InvalidContext(format!(
                "relative term {term} needs a base IRI"
            )));
        }
        if term == "@type" {
            return Ok("@type".into());
        }
        self.vocab
            .as_ref()
            .map(|v| format!("{v}{term}"))
            .ok_or_else(|| LdError::InvalidContext(format!("no IRI mapping for {term}")))
    }

    /// IRI expansion while a local context is being processed: terms of `defs` that the
    /// value depends on are defined first.
    fn expand_iri(
        &mut self,
        value: &str,
        vocab: bool,
        defs: &mut LocalDefs<'_>,
    ) -> Result<Option<String>, LdError> {
        if defs.local.contains_key(value) && defs.defined.get(value) != Some(&true) {
            self.create_term(value, defs)?;
        }
        if let Some(colon) = value.find(':') {
            let prefix = &value[..colon];
            if defs.local.contains_key(prefix) && defs.defined.get(prefix) != Some(&true) {
                self.create_term(prefix, defs)?;
            }
        }
        Ok(self.expand(value, vocab))
    }

    /// IRI expansion against this active context. Returns `None` when the value maps to
    /// null (or has a keyword form). Relative IRIs are returned unchanged: there is no base
    /// IRI, and relative IRIs are dropped when converting to RDF.
    pub(crate) fn expand(&self, value: &str, vocab: bool) -> Option<String> {
        if is_keyword(value) {
            return Some(value.to_string());
        }
        if has_keyword_form(value) {
            return None;
        }
        if let Some(def) = self.terms.get(value) {
            if let Some(iri) = &def.iri
                && is_keyword(iri)
            {
                return Some(iri.clone());
            }
            if vocab {
                return def.iri.clone();
            }
        }
        if let Some(colon) = value.find(':') {
            let (prefix, suffix) = (&value[..colon], &value[colon + 1..]);
            if prefix == "_" || suffix.starts_with("//") {
                return Some(value.to_string());
            }
            // JSON-LD 1.1: only terms flagged as prefixes (IRI ending in a gen-delim) form
            // compact IRIs; anything else with a scheme is already an absolute IRI.
            if let Some(def) = self.terms.get(prefix)
                && def.prefix
                && let Some(iri) = &def.iri
            {
                return Some(format!("{iri}{suffix}"));
            }
            if is_absolute_iri(value) {
                return Some(value.to_string());
            }
        }
        if vocab && let Some(v) = &self.vocab {
            return Some(format!("{v}{value}"));
        }
        Some(value.to_string())
    }
}
