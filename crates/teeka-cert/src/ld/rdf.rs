//! Expanded JSON-LD → RDF dataset (node map generation and the JSON-LD 1.1 "Deserialize
//! JSON-LD to RDF" algorithm), plus N-Quads serialisation.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::LdError;

pub(crate) const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
const RDF_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";
const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// An RDF term.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Term {
    Iri(String),
    Blank(String),
    Literal {
        value: String,
        datatype: String,
        language: Option<String>,
    },
}

impl Term {
    pub(crate) fn blank_id(&self) -> Option<&str> {
        match self {
            Term::Blank(id) => Some(id),
            _ => None,
        }
    }
}

/// An RDF quad; `graph` is `None` for the default graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Quad {
    pub subject: Term,
    pub predicate: Term,
    pub object: Term,
    pub graph: Option<Term>,
}

/// Escapes a literal the way URDNA2015 implementations of the JSON-LD 1.1 era do (jsonld.js
/// / rdf-canonize 1.x, pyld): only backslash, tab, newline, carriage return and quote.
fn escape_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// Writes one term in N-Quads syntax.
pub(crate) fn write_term(out: &mut String, t: &Term) {
    match t {
        Term::Iri(iri) => {
            out.push('<');
            out.push_str(iri);
            out.push('>');
        }
        Term::Blank(id) => out.push_str(id),
        Term::Literal {
            value,
            datatype,
            language,
        } => {
            out.push('"');
            out.push_str(&escape_literal(value));
            out.push('"');
            if let Some(lang) = language {
                out.push('@');
                out.push_str(lang);
            } else if datatype != XSD_STRING {
                // Writing to a String cannot fail.
                let _ = write!(out, "^^<{datatype}>");
            }
        }
    }
}

/// Serialises a quad as one N-Quads line, including the final newline.
pub(crate) fn quad_to_nquad(q: &Quad) -> String {
    let mut out = String::new();
    write_term(&mut out, &q.subject);
    out.push(' ');
    write_term(&mut out, &q.predicate);
    out.push(' ');
    write_term(&mut out, &q.object);
    if let Some(g) = &q.graph {
        out.push(' ');
        write_term(&mut out, g);
    }
    out.push_str(" .\n");
    out
}

/// A well-formed absolute IRI for RDF purposes: scheme, colon, and none of the characters
/// N-Quads forbids inside `<...>`. Ill-formed IRIs (e.g. containing spaces) are dropped from
/// the dataset, as JSON-LD 1.1 toRdf requires.
fn is_well_formed_iri(s: &str) -> bool {
    super::context::is_absolute_iri(s)
        && !s
            .chars()
            .any(|c| c <= ' ' || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\'))
}

fn node_term(id: &str) -> Option<Term> {
    if id.starts_with("_:") {
        Some(Term::Blank(id.to_string()))
    } else if is_well_formed_iri(id) {
        Some(Term::Iri(id.to_string()))
    } else {
        None
    }
}

/// Issues `_:b0`, `_:b1`, … for node map generation, relabelling input blank nodes
/// consistently.
#[derive(Default)]
struct BlankIssuer {
    counter: usize,
    issued: HashMap<String, String>,
}

impl BlankIssuer {
    fn fresh(&mut self) -> String {
        let id = format!("_:b{}", self.counter);
        self.counter += 1;
        id
    }

    fn relabel(&mut self, existing: &str) -> String {
        if let Some(id) = self.issued.get(existing) {
            return id.clone();
        }
        let id = self.fresh();
        self.issued.insert(existing.to_string(), id.clone());
        id
    }
}

type Graphs = BTreeMap<String, BTreeMap<String, Map<String, Value>>>;

#[derive(Default)]
struct NodeMapper {
    graphs: Graphs,
    blank: BlankIssuer,
    /// IRIs left out of the dataset because they are not well formed.
    dropped: Vec<String>,
}

fn push_unique(arr: &mut Vec<Value>, v: Value) {
    if !arr.contains(&v) {
        arr.push(v);
    }
}

impl NodeMapper {
    /// [`node_term`], remembering what was dropped.
    fn node_term(&mut self, id: &str) -> Option<Term> {
        let t = node_term(id);
        if t.is_none() {
            self.dropped.push(id.to_string());
        }
        t
    }

    fn subject_values(
        &mut self,
        graph: &str,
        subject: Option<&str>,
        property: Option<&str>,
    ) -> Option<&mut Vec<Value>> {
        let (subject, property) = (subject?, property?);
        let node = self.graphs.get_mut(graph)?.get_mut(subject)?;
        let entry = node
            .entry(property.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        entry.as_array_mut()
    }

    fn add(
        &mut self,
        graph: &str,
        subject: Option<&str>,
        property: Option<&str>,
        value: Value,
        unique: bool,
    ) {
        if let Some(values) = self.subject_values(graph, subject, property) {
            if unique {
                push_unique(values, value);
            } else {
                values.push(value);
            }
        }
    }

    /// Node map generation (JSON-LD 1.1 API, section 7.2.2), without `@reverse` and
    /// `@included`, which credentials do not use.
    fn visit(
        &mut self,
        element: &Value,
        graph: &str,
        subject: Option<&str>,
        property: Option<&str>,
        mut list: Option<&mut Vec<Value>>,
    ) -> Result<(), LdError> {
        let obj = match element {
            Value::Array(items) => {
                for item in items {
                    self.visit(item, graph, subject, property, list.as_deref_mut())?;
                }
                return Ok(());
            }
            Value::Object(obj) => obj,
            _ => {
                return Err(LdError::InvalidDocument(
                    "expanded document holds a bare scalar".into(),
                ));
            }
        };
        self.graphs.entry(graph.to_string()).or_default();
        let mut element = obj.clone();
        if let Some(Value::Array(types)) = element.get_mut("@type") {
            for t in types.iter_mut() {
                if let Some(s) = t.as_str()
                    && s.starts_with("_:")
                {
                    *t = Value::String(self.blank.relabel(s));
                }
            }
        }
        if element.contains_key("@value") {
            match list {
                Some(l) => l.push(Value::Object(element)),
                None => self.add(graph, subject, property, Value::Object(element), true),
            }
            return Ok(());
        }
        if let Some(items) = element.get("@list") {
            let mut inner = Vec::new();
            self.visit(items, graph, subject, property, Some(&mut inner))?;
            let mut result = Map::new();
            result.insert("@list".into(), Value::Array(inner));
            match list {
                Some(l) => l.push(Value::Object(result)),
                None => self.add(graph, subject, property, Value::Object(result), false),
            }
            return Ok(());
        }
        for unsupported in ["@reverse", "@included"] {
            if element.contains_key(unsupported) {
                return Err(LdError::Unsupported(format!("{unsupported} in a document")));
            }
        }
        let id = match element.get("@id") {
            Some(Value::String(s)) if s.starts_with("_:") => self.blank.relabel(s),
            Some(Value::String(s)) => s.clone(),
            _ => self.blank.fresh(),
        };
        if let Some(g) = self.graphs.get_mut(graph) {
            g.entry(id.clone()).or_insert_with(|| {
                let mut m = Map::new();
                m.insert("@id".into(), Value::String(id.clone()));
                m
            });
        }
        if property.is_some() {
            let mut reference = Map::new();
            reference.insert("@id".into(), Value::String(id.clone()));
            match list {
                Some(l) => l.push(Value::Object(reference)),
                None => self.add(graph, subject, property, Value::Object(reference), true),
            }
        }
        if let Some(Value::Array(types)) = element.get("@type") {
            for t in types {
                self.add(graph, Some(&id), Some("@type"), t.clone(), true);
            }
        }
        if let Some(inner) = element.get("@graph") {
            self.graphs.entry(id.clone()).or_default();
            self.visit(inner, &id, None, None, None)?;
        }
        for (prop, value) in &element {
            if prop.starts_with('@') {
                continue;
            }
            let prop = if prop.starts_with("_:") {
                self.blank.relabel(prop)
            } else {
                prop.clone()
            };
            // Properties with no values still exist in the node map.
            let _ = self.subject_values(graph, Some(&id), Some(&prop));
            self.visit(value, graph, Some(&id), Some(&prop), None)?;
        }
        Ok(())
    }

    fn object_to_rdf(
        &mut self,
        item: &Value,
        graph: &Option<Term>,
        quads: &mut Vec<Quad>,
    ) -> Option<Term> {
        let obj = item.as_object()?;
        if let Some(Value::String(id)) = obj.get("@id")
            && !obj.contains_key("@value")
        {
            return self.node_term(id);
        }
        if let Some(Value::Array(items)) = obj.get("@list") {
            return Some(self.list_to_rdf(items, graph, quads));
        }
        let value = obj.get("@value")?;
        let datatype = obj.get("@type").and_then(Value::as_str).map(str::to_string);
        let language = obj
            .get("@language")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (lexical, datatype) = match value {
            Value::Bool(b) => (
                b.to_string(),
                datatype.unwrap_or_else(|| XSD_BOOLEAN.into()),
            ),
            Value::Number(n) => number_literal(n, datatype),
            Value::String(s) => {
                let dt = match (&datatype, &language) {
                    (Some(dt), _) => dt.clone(),
                    (None, Some(_)) => RDF_LANG_STRING.into(),
                    (None, None) => XSD_STRING.into(),
                };
                (s.clone(), dt)
            }
            _ => return None,
        };
        if !is_well_formed_iri(&datatype) {
            self.dropped.push(datatype);
            return None;
        }
        Some(Term::Literal {
            value: lexical,
            datatype,
            language,
        })
    }

    fn list_to_rdf(
        &mut self,
        items: &[Value],
        graph: &Option<Term>,
        quads: &mut Vec<Quad>,
    ) -> Term {
        if items.is_empty() {
            return Term::Iri(RDF_NIL.into());
        }
        let nodes: Vec<String> = items.iter().map(|_| self.blank.fresh()).collect();
        for (i, item) in items.iter().enumerate() {
            let subject = Term::Blank(nodes[i].clone());
            if let Some(object) = self.object_to_rdf(item, graph, quads) {
                quads.push(Quad {
                    subject: subject.clone(),
                    predicate: Term::Iri(RDF_FIRST.into()),
                    object,
                    graph: graph.clone(),
                });
            }
            let rest = nodes
                .get(i + 1)
                .map_or_else(|| Term::Iri(RDF_NIL.into()), |n| Term::Blank(n.clone()));
            quads.push(Quad {
                subject,
                predicate: Term::Iri(RDF_REST.into()),
                object: rest,
                graph: graph.clone(),
            });
        }
        Term::Blank(nodes[0].clone())
    }
}

/// The lexical form and datatype of a native JSON number, following JSON-LD 1.1 toRdf:
/// integral values below 10^21 are `xsd:integer`, everything else canonical `xsd:double`.
fn number_literal(n: &serde_json::Number, datatype: Option<String>) -> (String, String) {
    let wants_double = datatype.as_deref() == Some(XSD_DOUBLE);
    if !wants_double {
        if let Some(i) = n.as_i64() {
            return (
                i.to_string(),
                datatype.unwrap_or_else(|| XSD_INTEGER.into()),
            );
        }
        if let Some(u) = n.as_u64() {
            return (
                u.to_string(),
                datatype.unwrap_or_else(|| XSD_INTEGER.into()),
            );
        }
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if !wants_double && f.fract() == 0.0 && f.abs() < 1e21 {
        return (
            format!("{f:.0}"),
            datatype.unwrap_or_else(|| XSD_INTEGER.into()),
        );
    }
    (
        canonical_double(f),
        datatype.unwrap_or_else(|| XSD_DOUBLE.into()),
    )
}

/// Canonical `xsd:double` as JSON-LD processors write it (`1.1E0`, `5.0E0`, `1.0E21`).
fn canonical_double(f: f64) -> String {
    let s = format!("{f:.15e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let mantissa = if mantissa.contains('.') {
        let trimmed = mantissa.trim_end_matches('0');
        if trimmed.ends_with('.') {
            format!("{trimmed}0")
        } else {
            trimmed.to_string()
        }
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

/// Converts an expanded JSON-LD document to an RDF dataset. Ill-formed IRIs (and what hangs
/// off them) are left out, as JSON-LD 1.1 specifies; they are appended to `dropped`.
pub(crate) fn to_rdf(expanded: &[Value], dropped: &mut Vec<String>) -> Result<Vec<Quad>, LdError> {
    let mut mapper = NodeMapper::default();
    mapper.graphs.entry("@default".to_string()).or_default();
    for item in expanded {
        mapper.visit(item, "@default", None, None, None)?;
    }
    let graphs = std::mem::take(&mut mapper.graphs);
    let mut quads = Vec::new();
    for (graph_name, graph) in &graphs {
        let graph_term = if graph_name == "@default" {
            None
        } else {
            match mapper.node_term(graph_name) {
                Some(t) => Some(t),
                None => continue,
            }
        };
        for (subject, node) in graph {
            let Some(subject_term) = mapper.node_term(subject) else {
                continue;
            };
            for (property, values) in node {
                let Value::Array(values) = values else {
                    continue;
                };
                if property == "@type" {
                    for t in values {
                        if let Some(object) = t.as_str().and_then(|t| mapper.node_term(t)) {
                            quads.push(Quad {
                                subject: subject_term.clone(),
                                predicate: Term::Iri(RDF_TYPE.into()),
                                object,
                                graph: graph_term.clone(),
                            });
                        }
                    }
                    continue;
                }
                if property.starts_with('@') {
                    continue;
                }
                if property.starts_with("_:") || !is_well_formed_iri(property) {
                    mapper.dropped.push(property.clone());
                    continue;
                }
                for item in values {
                    let mut list_quads = Vec::new();
                    if let Some(object) = mapper.object_to_rdf(item, &graph_term, &mut list_quads) {
                        quads.push(Quad {
                            subject: subject_term.clone(),
                            predicate: Term::Iri(property.clone()),
                            object,
                            graph: graph_term.clone(),
                        });
                    }
                    quads.extend(list_quads);
                }
            }
        }
    }
    dropped.append(&mut mapper.dropped);
    Ok(quads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_are_canonical() {
        assert_eq!(canonical_double(1.1), "1.1E0");
        assert_eq!(canonical_double(5.0), "5.0E0");
        assert_eq!(canonical_double(1e21), "1.0E21");
        assert_eq!(canonical_double(-0.00125), "-1.25E-3");
    }

    #[test]
    fn literals_are_escaped() {
        let q = Quad {
            subject: Term::Blank("_:a".into()),
            predicate: Term::Iri("http://x/p".into()),
            object: Term::Literal {
                value: "a\"b\\c\nd".into(),
                datatype: XSD_STRING.into(),
                language: None,
            },
            graph: None,
        };
        assert_eq!(
            quad_to_nquad(&q),
            "_:a <http://x/p> \"a\\\"b\\\\c\\nd\" .\n"
        );
    }
}
