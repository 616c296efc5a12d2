//! Offline JSON-LD for CoWIN/DIVOC W3C Verifiable Credentials: expansion with bundled
//! contexts only, conversion to RDF, URDNA2015 canonicalisation, and the 2018 JSON-LD
//! signature suites (`RsaSignature2018`, `Ed25519Signature2018`).
//!
//! Contexts are never fetched: the five documents in `contexts/` are compiled in, and any
//! other context URL is an [`LdError::UnknownContext`].

mod context;
mod expand;
mod proof;
mod rdf;
mod urdna;

use serde_json::{Map, Value};

/// Errors of JSON-LD processing and proof verification.
#[derive(Debug, thiserror::Error)]
pub enum LdError {
    /// A context URL that is not bundled; contexts are never fetched.
    #[error("unknown JSON-LD context {0} (only bundled contexts are available offline)")]
    UnknownContext(String),
    /// A context document or definition that JSON-LD 1.1 rejects.
    #[error("invalid JSON-LD context: {0}")]
    InvalidContext(String),
    /// A document that JSON-LD 1.1 expansion rejects.
    #[error("invalid JSON-LD document: {0}")]
    InvalidDocument(String),
    /// A JSON-LD feature outside the subset implemented here.
    #[error("unsupported JSON-LD feature: {0}")]
    Unsupported(String),
    /// Canonicalisation gave up (pathological blank-node structure).
    #[error("canonicalization failed: {0}")]
    Canonicalization(String),
    /// A missing or malformed proof or JWS.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// The key type does not fit the proof type.
    #[error("verification key type does not match the proof type")]
    KeyMismatch,
    /// A key that could not be decoded.
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

/// A public key that verifies JSON-LD proofs.
#[derive(Clone, Debug)]
pub enum VerificationKey {
    /// RSA key for `RsaSignature2018` (PS256).
    Rsa(rsa::PublicKey),
    /// Ed25519 key for `Ed25519Signature2018` (EdDSA).
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl VerificationKey {
    /// Reads a PEM public key: SPKI (`BEGIN PUBLIC KEY`, RSA or Ed25519) or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`).
    /// Unwrapped single-line bodies (as DIVOC keeps its keys in JS strings) are accepted.
    pub fn from_pem(pem: &str) -> Result<Self, LdError> {
        let rewrapped = rewrap_pem(pem);
        let pem = rewrapped.as_str();
        // One trait (spki `DecodePublicKey`) serves both RSA and Ed25519 SPKI keys.
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        if let Ok(k) = rsa::PublicKey::from_public_key_pem(pem) {
            return Ok(Self::Rsa(k));
        }
        if let Ok(k) = rsa::PublicKey::from_pkcs1_pem(pem) {
            return Ok(Self::Rsa(k));
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(Self::Ed25519)
            .map_err(|e| LdError::InvalidKey(format!("unreadable PEM public key: {e}")))
    }

    /// Reads an Ed25519 key given as `publicKeyBase58` (base58btc, 32 bytes), as in
    /// `Ed25519VerificationKey2018` documents.
    pub fn from_base58_ed25519(b58: &str) -> Result<Self, LdError> {
        let bytes = bs58::decode(b58.trim())
            .into_vec()
            .map_err(|e| LdError::InvalidKey(format!("bad base58: {e}")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| LdError::InvalidKey("Ed25519 public key must be 32 bytes".into()))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self::Ed25519)
            .map_err(|e| LdError::InvalidKey(format!("invalid Ed25519 point: {e}")))
    }
}

/// Re-wraps a PEM body at 64 columns: the strict RFC 7468 parser rejects longer lines, but
/// keys copied from JavaScript or JSON often carry the body on one line.
fn rewrap_pem(pem: &str) -> String {
    let mut out = String::new();
    let mut body = String::new();
    for line in pem.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("-----BEGIN") {
            out.push_str(line);
            out.push('\n');
        } else if line.starts_with("-----END") {
            let chars: Vec<char> = body.chars().collect();
            for chunk in chars.chunks(64) {
                out.extend(chunk);
                out.push('\n');
            }
            body.clear();
            out.push_str(line);
            out.push('\n');
        } else {
            body.push_str(line);
        }
    }
    out
}

/// Context URLs that can be resolved offline.
pub fn bundled_context_urls() -> impl Iterator<Item = &'static str> {
    context::bundled_context_urls()
}

/// URDNA2015 canonical N-Quads of a JSON-LD document, using only the bundled contexts.
///
/// IRIs that are not well formed (for instance containing a space) are dropped from the
/// dataset, as JSON-LD 1.1 toRdf specifies.
pub fn canonicalize(doc: &Value) -> Result<String, LdError> {
    canonicalize_with(doc, false)
}

/// Canonicalisation; with `safe`, anything JSON-LD would silently drop (keys no context
/// defines, ill-formed IRIs) is an error instead, because dropped data is not covered by a
/// signature yet would still be shown to a person checking the certificate.
pub(crate) fn canonicalize_with(doc: &Value, safe: bool) -> Result<String, LdError> {
    let mut dropped = Vec::new();
    let expanded = expand::expand_document(doc, &mut dropped)?;
    let quads = rdf::to_rdf(&expanded, &mut dropped)?;
    dropped.sort();
    dropped.dedup();
    if safe && !dropped.is_empty() {
        return Err(LdError::InvalidDocument(format!(
            "would be dropped from the signed data (undefined term or ill-formed IRI): {}",
            dropped.join(", ")
        )));
    }
    urdna::canonicalize_quads(&quads)
}

/// Verifies the (single) `RsaSignature2018` or `Ed25519Signature2018` proof of a credential.
///
/// Returns `Ok(false)` when the signature does not match; errors mean the credential or its
/// proof could not be processed (unknown context, malformed JWS, key of the wrong type).
///
/// Verification runs in "safe mode": a credential with keys that no context defines, or
/// with IRIs that are not well formed (e.g. an `id` containing a space), is rejected with
/// [`LdError::InvalidDocument`], since JSON-LD would leave that content out of the signed
/// data while a reader would still see it.
pub fn verify_proof(credential: &Value, key: &VerificationKey) -> Result<bool, LdError> {
    proof::verify(credential, key)
}

/// Adds an `Ed25519Signature2018` proof (replacing any existing proof) with proof purpose
/// `assertionMethod`. `created` is an `xsd:dateTime` such as `2021-08-27T10:57:57Z`.
///
/// Like [`verify_proof`], refuses credentials with content that would go unsigned.
pub fn sign_ed25519(
    credential: Value,
    key: &ed25519_dalek::SigningKey,
    verification_method: &str,
    created: &str,
) -> Result<Value, LdError> {
    proof::sign_ed25519(credential, key, verification_method, created)
}

/// A display summary of a vaccination credential: `name`, `gender`, `age` from
/// `credentialSubject`, and `lastDose` (`vaccine`, `date`, `dose`, `totalDoses`) from the last
/// `evidence` entry. National IDs and reference IDs are deliberately left out.
pub fn summarize(credential: &Value) -> Value {
    let mut out = Map::new();
    let subject = credential.get("credentialSubject");
    for field in ["name", "gender", "age"] {
        if let Some(v) = subject.and_then(|s| s.get(field)) {
            out.insert(field.into(), v.clone());
        }
    }
    let last = match credential.get("evidence") {
        Some(Value::Array(items)) => items.last(),
        Some(v @ Value::Object(_)) => Some(v),
        _ => None,
    };
    if let Some(ev) = last {
        let mut dose = Map::new();
        for field in ["vaccine", "date", "dose", "totalDoses"] {
            if let Some(v) = ev.get(field) {
                dose.insert(field.into(), v.clone());
            }
        }
        out.insert("lastDose".into(), Value::Object(dose));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn isomorphic_graphs_canonicalize_identically() {
        let a = json!({
            "@context": {"@vocab": "http://example.org/"},
            "@id": "_:x",
            "knows": {"@id": "_:y", "name": "Bob", "knows": {"@id": "_:x"}},
            "name": "Alice"
        });
        let b = json!({
            "@context": {"@vocab": "http://example.org/"},
            "@id": "_:q",
            "name": "Alice",
            "knows": {"@id": "_:p", "knows": {"@id": "_:q"}, "name": "Bob"}
        });
        let ca = canonicalize(&a).expect("canonicalize a");
        let cb = canonicalize(&b).expect("canonicalize b");
        assert_eq!(ca, cb);
        assert!(ca.contains("_:c14n0"));
        assert_eq!(ca.lines().count(), 4);
    }

    #[test]
    fn symmetric_blank_nodes_need_n_degree_hashing() {
        // A 4-cycle of identical blank nodes: every first-degree hash collides.
        let cycle = |ids: [&str; 4]| {
            json!({
                "@context": {"@vocab": "http://example.org/", "next": {"@type": "@id"}},
                "@graph": [
                    {"@id": ids[0], "next": ids[1]},
                    {"@id": ids[1], "next": ids[2]},
                    {"@id": ids[2], "next": ids[3]},
                    {"@id": ids[3], "next": ids[0]}
                ]
            })
        };
        let a = canonicalize(&cycle(["_:a", "_:b", "_:c", "_:d"])).expect("a");
        let b = canonicalize(&cycle(["_:w", "_:z", "_:x", "_:y"])).expect("b");
        assert_eq!(a, b);
        assert_eq!(a.lines().count(), 4);
        for i in 0..4 {
            assert!(a.contains(&format!("_:c14n{i}")));
        }
    }

    #[test]
    fn matches_pyld_on_symmetric_graphs_and_self_loops() {
        // Expected strings computed with pyld 2 (URDNA2015). The self-loop case pins the
        // legacy rule that a quad counts once per blank-node occurrence.
        let p = "http://ex.org/p";
        let two_cycles = json!([
            {"@id": "_:a", p: {"@id": "_:b"}}, {"@id": "_:b", p: {"@id": "_:c"}},
            {"@id": "_:c", p: {"@id": "_:a"}}, {"@id": "_:d", p: {"@id": "_:e"}},
            {"@id": "_:e", p: {"@id": "_:f"}}, {"@id": "_:f", p: {"@id": "_:d"}}
        ]);
        assert_eq!(
            canonicalize(&two_cycles).expect("two cycles"),
            "_:c14n0 <http://ex.org/p> _:c14n1 .\n_:c14n1 <http://ex.org/p> _:c14n2 .\n\
             _:c14n2 <http://ex.org/p> _:c14n0 .\n_:c14n3 <http://ex.org/p> _:c14n4 .\n\
             _:c14n4 <http://ex.org/p> _:c14n5 .\n_:c14n5 <http://ex.org/p> _:c14n3 .\n"
        );
        let loops = json!([
            {"@id": "_:n0", "http://ex.org/l": "x"},
            {"@id": "_:n1", p: [{"@id": "_:n3"}, {"@id": "_:n1"}]},
            {"@id": "_:n2", p: {"@id": "_:n2"}},
            {"@id": "_:n3", "http://ex.org/l": "y"}
        ]);
        assert_eq!(
            canonicalize(&loops).expect("self loops"),
            "_:c14n0 <http://ex.org/l> \"y\" .\n_:c14n1 <http://ex.org/p> _:c14n1 .\n\
             _:c14n2 <http://ex.org/l> \"x\" .\n_:c14n3 <http://ex.org/p> _:c14n0 .\n\
             _:c14n3 <http://ex.org/p> _:c14n3 .\n"
        );
    }

    #[test]
    fn literals_get_json_ld_datatypes() {
        let doc = json!({
            "@context": {"@vocab": "http://example.org/"},
            "@id": "http://example.org/s",
            "n": 2, "f": 1.5, "b": true, "s": "x"
        });
        let c = canonicalize(&doc).expect("canonicalize");
        assert!(
            c.contains("<http://example.org/n> \"2\"^^<http://www.w3.org/2001/XMLSchema#integer>")
        );
        assert!(c.contains(
            "<http://example.org/f> \"1.5E0\"^^<http://www.w3.org/2001/XMLSchema#double>"
        ));
        assert!(c.contains(
            "<http://example.org/b> \"true\"^^<http://www.w3.org/2001/XMLSchema#boolean>"
        ));
        assert!(c.contains("<http://example.org/s> \"x\" ."));
    }

    #[test]
    fn graph_container_creates_a_named_graph() {
        let doc = json!({
            "@context": "https://w3id.org/security/v2",
            "@id": "http://example.org/doc",
            "proof": {"type": "Ed25519Signature2018", "created": "2021-01-01T00:00:00Z"}
        });
        let c = canonicalize(&doc).expect("canonicalize");
        assert!(c.contains("<http://example.org/doc> <https://w3id.org/security#proof> _:c14n"));
        assert!(c.contains(
            "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#Ed25519Signature2018> _:c14n"
        ));
    }

    #[test]
    fn unknown_context_is_an_error() {
        let doc = json!({"@context": "https://example.org/ctx", "name": "x"});
        assert!(matches!(
            canonicalize(&doc),
            Err(LdError::UnknownContext(_))
        ));
    }
}
