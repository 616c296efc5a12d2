//! JSON-LD signatures of the 2018 suites (`RsaSignature2018`, `Ed25519Signature2018`) with a
//! detached, unencoded-payload JWS, as DIVOC/CoWIN certificates carry them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{LdError, VerificationKey, canonicalize_with};

/// Context the proof options are canonicalised with (what jsonld-signatures 5/6 did).
const SECURITY_V2: &str = "https://w3id.org/security/v2";

/// The proof suites this module knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Suite {
    Rsa2018,
    Ed25519_2018,
}

impl Suite {
    fn from_type(t: &str) -> Result<Self, LdError> {
        match t {
            "RsaSignature2018" => Ok(Suite::Rsa2018),
            "Ed25519Signature2018" => Ok(Suite::Ed25519_2018),
            other => Err(LdError::Unsupported(format!("proof type {other}"))),
        }
    }

    fn jws_alg(self) -> &'static str {
        match self {
            Suite::Rsa2018 => "PS256",
            Suite::Ed25519_2018 => "EdDSA",
        }
    }
}

/// The bytes that are signed: `ASCII(b64url(header) + ".") || SHA-256(c14n(proof options))
/// || SHA-256(c14n(document without proof))`.
fn signing_input(
    credential: &Value,
    proof: &Map<String, Value>,
    encoded_header: &str,
) -> Result<Vec<u8>, LdError> {
    let mut options = proof.clone();
    for k in ["jws", "signatureValue", "proofValue", "@context"] {
        options.remove(k);
    }
    options.insert("@context".into(), Value::String(SECURITY_V2.into()));
    let c14n_proof = canonicalize_with(&Value::Object(options), true)?;

    let mut document = credential.clone();
    if let Some(obj) = document.as_object_mut() {
        obj.remove("proof");
    }
    let c14n_doc = canonicalize_with(&document, true)?;

    let mut data = Vec::with_capacity(encoded_header.len() + 1 + 64);
    data.extend_from_slice(encoded_header.as_bytes());
    data.push(b'.');
    data.extend_from_slice(&Sha256::digest(c14n_proof.as_bytes()));
    data.extend_from_slice(&Sha256::digest(c14n_doc.as_bytes()));
    Ok(data)
}

/// Picks the single proof object of a credential.
fn single_proof(credential: &Value) -> Result<&Map<String, Value>, LdError> {
    match credential.get("proof") {
        Some(Value::Object(p)) => Ok(p),
        Some(Value::Array(items)) if items.len() == 1 => items[0]
            .as_object()
            .ok_or_else(|| LdError::InvalidProof("proof is not an object".into())),
        Some(Value::Array(_)) => Err(LdError::Unsupported("more than one proof".into())),
        _ => Err(LdError::InvalidProof("credential has no proof".into())),
    }
}

/// See [`super::verify_proof`].
pub(crate) fn verify(credential: &Value, key: &VerificationKey) -> Result<bool, LdError> {
    let proof = single_proof(credential)?;
    let suite = Suite::from_type(
        proof
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| LdError::InvalidProof("proof has no type".into()))?,
    )?;
    let jws = proof
        .get("jws")
        .and_then(Value::as_str)
        .ok_or_else(|| LdError::InvalidProof("proof has no jws".into()))?;
    let mut parts = jws.split('.');
    let (Some(encoded_header), Some(""), Some(encoded_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LdError::InvalidProof("jws is not a detached JWS".into()));
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(encoded_header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| LdError::InvalidProof("jws header is not base64url JSON".into()))?;
    let unencoded = header.get("b64") == Some(&Value::Bool(false))
        && header
            .get("crit")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|v| v == "b64"));
    if !unencoded {
        return Err(LdError::InvalidProof(
            "jws header must have b64: false and crit: [\"b64\"]".into(),
        ));
    }
    if header.get("alg").and_then(Value::as_str) != Some(suite.jws_alg()) {
        return Err(LdError::InvalidProof(format!(
            "jws alg must be {} for this proof type",
            suite.jws_alg()
        )));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(encoded_sig)
        .map_err(|_| LdError::InvalidProof("jws signature is not base64url".into()))?;
    let data = signing_input(credential, proof, encoded_header)?;
    match (suite, key) {
        (Suite::Rsa2018, VerificationKey::Rsa(pk)) => {
            use rsa::signature::Verifier as _;
            // `new` uses the digest size (32 bytes) as the PSS salt length, as PS256 requires.
            let verifier = rsa::pss::VerifyingKey::<Sha256>::new(pk.clone());
            let Ok(sig) = rsa::pss::Signature::try_from(signature.as_slice()) else {
                return Ok(false);
            };
            Ok(verifier.verify(&data, &sig).is_ok())
        }
        (Suite::Ed25519_2018, VerificationKey::Ed25519(vk)) => {
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&signature) else {
                return Ok(false);
            };
            Ok(vk.verify_strict(&data, &sig).is_ok())
        }
        _ => Err(LdError::KeyMismatch),
    }
}

/// See [`super::sign_ed25519`].
pub(crate) fn sign_ed25519(
    mut credential: Value,
    key: &ed25519_dalek::SigningKey,
    verification_method: &str,
    created: &str,
) -> Result<Value, LdError> {
    use ed25519_dalek::Signer as _;
    let Some(obj) = credential.as_object_mut() else {
        return Err(LdError::InvalidDocument(
            "credential is not an object".into(),
        ));
    };
    obj.remove("proof");
    let header = json!({"alg": "EdDSA", "b64": false, "crit": ["b64"]});
    let encoded_header = URL_SAFE_NO_PAD.encode(header.to_string());
    let mut proof = Map::new();
    proof.insert("type".into(), "Ed25519Signature2018".into());
    proof.insert("created".into(), created.into());
    proof.insert("verificationMethod".into(), verification_method.into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    let data = signing_input(&credential, &proof, &encoded_header)?;
    let signature = key.sign(&data);
    let jws = format!(
        "{encoded_header}..{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    );
    proof.insert("jws".into(), Value::String(jws));
    if let Some(obj) = credential.as_object_mut() {
        obj.insert("proof".into(), Value::Object(proof));
    }
    Ok(credential)
}
