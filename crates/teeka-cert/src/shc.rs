//! SMART Health Cards: numeric `shc:/` QR decoding, the compact JWS (ES256, raw-DEFLATE payload),
//! payload and FHIR checks, `rid` revocation lists, `.smart-health-card` files, issuer key-set
//! checks, and an issuer with RFC 7638 key ids.

mod fhir;

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

pub use fhir::check_fhir_bundle;

use crate::trust::{self, TrustEntry, TrustList, Unusable, Verdict};

/// The format name used in verdicts.
pub const FORMAT: &str = "shc";
/// The numeric QR prefix.
pub const QR_PREFIX: &str = "shc:/";
/// The VC type every health card carries.
pub const HEALTH_CARD_TYPE: &str = "https://smarthealth.cards#health-card";
/// Timestamps above this are taken to be milliseconds (year 5138 in seconds).
const MILLISECONDS_THRESHOLD: f64 = 1e11;

/// Why an SHC step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShcError {
    /// The numeric QR text is malformed.
    #[error("numeric QR: {0}")]
    Qr(String),
    /// The QR is one chunk of several; reassembly is not supported.
    #[error("chunked QR codes (shc:/n/m/...) are not supported")]
    Chunked,
    /// The compact JWS is malformed.
    #[error("JWS: {0}")]
    Jws(String),
    /// The JWS header is missing or has wrong fields.
    #[error("JWS header: {0}")]
    Header(String),
    /// The payload does not inflate (raw DEFLATE).
    #[error("payload inflate failed: {0}")]
    Inflate(String),
    /// The payload is not valid JSON or lacks required fields.
    #[error("payload: {0}")]
    Payload(String),
    /// The FHIR bundle breaks the SMART Health Cards profile.
    #[error("FHIR bundle: {0}")]
    Fhir(String),
    /// No key of the issuer has the JWS kid.
    #[error("no trusted key of issuer {iss} with kid {kid}")]
    UnknownKey {
        /// The card's issuer.
        iss: String,
        /// The JWS kid.
        kid: String,
    },
    /// The signature does not verify.
    #[error("signature invalid: {0}")]
    Signature(String),
    /// The card is not yet valid, expired, or its signer certificate is out of date.
    #[error("time check failed: {0}")]
    Time(String),
    /// The card is revoked, or the revocation list is unusable.
    #[error("revocation: {0}")]
    Revocation(String),
    /// The issuer key set breaks the SMART Health Cards key rules.
    #[error("key set: {0}")]
    KeySet(String),
    /// Encoding while issuing failed.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// Decodes a single-chunk numeric QR text (`shc:/` then digit pairs, each + 45 = one character).
pub fn decode_numeric(text: &str) -> Result<String, ShcError> {
    let body = text
        .strip_prefix(QR_PREFIX)
        .ok_or_else(|| ShcError::Qr("missing shc:/ prefix".into()))?;
    if body.contains('/') {
        return Err(ShcError::Chunked);
    }
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ShcError::Qr("non-digit characters".into()));
    }
    if body.len() % 2 != 0 {
        return Err(ShcError::Qr("odd number of digits".into()));
    }
    body.as_bytes()
        .chunks(2)
        .map(|pair| {
            let value = (pair[0] - b'0') * 10 + (pair[1] - b'0');
            if value > b'z' - 45 {
                return Err(ShcError::Qr(format!("pair {value} is out of range")));
            }
            Ok(char::from(value + 45))
        })
        .collect()
}

/// Encodes a JWS as numeric QR text.
pub fn encode_numeric(jws: &str) -> String {
    let mut out = String::from(QR_PREFIX);
    for b in jws.bytes() {
        out.push_str(&format!("{:02}", b.saturating_sub(45)));
    }
    out
}

/// A parsed compact JWS.
#[derive(Debug, Clone, PartialEq)]
pub struct Jws {
    /// The decoded header.
    pub header: Json,
    /// The signing input `header.payload` (base64url parts).
    pub signing_input: String,
    /// The payload bytes as carried (DEFLATE-compressed for health cards).
    pub payload: Vec<u8>,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl Jws {
    /// The `kid` header.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Json::as_str)
    }
}

fn b64url(part: &str, what: &str) -> Result<Vec<u8>, ShcError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| ShcError::Jws(format!("{what}: {e}")))
}

/// Parses a compact JWS (three base64url parts).
pub fn parse_jws(text: &str) -> Result<Jws, ShcError> {
    let parts: Vec<&str> = text.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(ShcError::Jws(format!("{} parts, not 3", parts.len())));
    };
    let header_json = serde_json::from_slice(&b64url(header, "header")?)
        .map_err(|e| ShcError::Header(e.to_string()))?;
    Ok(Jws {
        header: header_json,
        signing_input: format!("{header}.{payload}"),
        payload: b64url(payload, "payload")?,
        signature: b64url(signature, "signature")?,
    })
}

/// Checks the health-card header: `zip: DEF`, `alg: ES256`, and a `kid`.
pub fn check_header(header: &Json) -> Result<(), ShcError> {
    let field = |name: &str| header.get(name).and_then(Json::as_str);
    if field("zip") != Some("DEF") {
        return Err(ShcError::Header("zip must be DEF".into()));
    }
    if field("alg") != Some("ES256") {
        return Err(ShcError::Header("alg must be ES256".into()));
    }
    if field("kid").is_none_or(str::is_empty) {
        return Err(ShcError::Header("kid is missing".into()));
    }
    Ok(())
}

/// Inflates a raw DEFLATE stream (RFC 1951, no zlib header), refusing more than 64 KiB: a
/// card's payload is a few kilobytes, and a deflate bomb stops here.
pub fn inflate_raw(compressed: &[u8]) -> Result<Vec<u8>, ShcError> {
    let limit = crate::dcc::MAX_INFLATED;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| ShcError::Inflate(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(ShcError::Inflate("inflates to more than 64 KiB".into()));
    }
    Ok(out)
}

/// Compresses with raw DEFLATE at the best level.
pub fn deflate_raw(raw: &[u8]) -> Result<Vec<u8>, ShcError> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(raw)
        .map_err(|e| ShcError::Encode(e.to_string()))?;
    encoder
        .finish()
        .map_err(|e| ShcError::Encode(e.to_string()))
}

/// Parses the payload JSON strictly: anything after the JSON value, even whitespace, is an
/// error, because health-card payloads are minified and trailing bytes hint at tampering.
pub fn parse_payload(bytes: &[u8]) -> Result<Json, ShcError> {
    if bytes.last().is_some_and(u8::is_ascii_whitespace) {
        return Err(ShcError::Payload(
            "trailing characters after the JSON".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ShcError::Payload(e.to_string()))
}

/// The card's issuer URL.
pub fn issuer_of(payload: &Json) -> Result<&str, ShcError> {
    payload
        .get("iss")
        .and_then(Json::as_str)
        .ok_or_else(|| ShcError::Payload("iss is missing".into()))
}

/// Finds the issuer's key with the JWS kid and verifies the ES256 signature (raw `r || s`).
/// Keys tagged with another issuer are not used.
pub fn verify_jws_signature<'a>(
    jws: &Jws,
    iss: &str,
    trust: &'a TrustList,
) -> Result<&'a TrustEntry, ShcError> {
    let kid = jws.kid().unwrap_or_default();
    let candidates: Vec<&TrustEntry> = trust
        .find_by_kid(kid.as_bytes())
        .into_iter()
        .filter(|e| e.issuer.as_deref().is_none_or(|i| i == iss))
        .collect();
    if candidates.is_empty() {
        return Err(ShcError::UnknownKey {
            iss: iss.into(),
            kid: kid.into(),
        });
    }
    let mut last = String::new();
    for entry in candidates {
        let trust::PublicKey::P256(key) = &entry.key else {
            last = "key is not P-256".into();
            continue;
        };
        match trust::verify_es256(key, jws.signing_input.as_bytes(), &jws.signature) {
            Ok(()) => return Ok(entry),
            Err(e) => last = e.to_string(),
        }
    }
    Err(ShcError::Signature(last))
}

/// Checks the JWS payload: `iss`, `nbf` (seconds), optional `exp`, the VC types and the FHIR
/// bundle. Returns warnings for defects that do not invalidate the card.
pub fn check_payload(payload: &Json, at: OffsetDateTime) -> Result<Vec<String>, ShcError> {
    let mut warnings = Vec::new();
    let iss = issuer_of(payload)?;
    if iss.ends_with('/') {
        return Err(ShcError::Payload("iss must not end with /".into()));
    }
    if !iss.starts_with("https://") {
        return Err(ShcError::Payload("iss must be an https URL".into()));
    }
    check_times(payload, at, &mut warnings)?;
    let vc = payload
        .get("vc")
        .ok_or_else(|| ShcError::Payload("vc is missing".into()))?;
    let bundle = vc
        .pointer("/credentialSubject/fhirBundle")
        .filter(|b| b.get("resourceType").and_then(Json::as_str) == Some("Bundle"))
        .ok_or_else(|| ShcError::Payload("vc.credentialSubject.fhirBundle is missing".into()))?;
    check_vc_types(vc, bundle, &mut warnings)?;
    warnings.extend(check_fhir_bundle(bundle)?);
    Ok(warnings)
}

fn check_times(
    payload: &Json,
    at: OffsetDateTime,
    warnings: &mut Vec<String>,
) -> Result<(), ShcError> {
    #[allow(clippy::cast_precision_loss)]
    let now = at.unix_timestamp() as f64;
    let nbf = payload
        .get("nbf")
        .and_then(Json::as_f64)
        .ok_or_else(|| ShcError::Payload("nbf is missing".into()))?;
    if nbf > MILLISECONDS_THRESHOLD {
        return Err(ShcError::Time("nbf is in milliseconds, not seconds".into()));
    }
    if nbf > now {
        // Spec examples are issued after the time their own test suites validate at, so a
        // future nbf is reported rather than fatal; real clock skew looks the same.
        warnings.push("nbf lies after the validation time".into());
    }
    if let Some(exp) = payload.get("exp").and_then(Json::as_f64) {
        if exp > MILLISECONDS_THRESHOLD {
            warnings.push("exp is in milliseconds, not seconds".into());
        } else if exp < now {
            return Err(ShcError::Time("card has expired".into()));
        }
    }
    Ok(())
}

fn check_vc_types(vc: &Json, bundle: &Json, warnings: &mut Vec<String>) -> Result<(), ShcError> {
    let types: Vec<&str> = vc
        .get("type")
        .and_then(Json::as_array)
        .map(|t| t.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if !types.contains(&HEALTH_CARD_TYPE) {
        return Err(ShcError::Payload(format!(
            "vc.type lacks {HEALTH_CARD_TYPE}"
        )));
    }
    let has_resource = |kind: &str| {
        bundle
            .get("entry")
            .and_then(Json::as_array)
            .is_some_and(|e| {
                e.iter().any(|x| {
                    x.pointer("/resource/resourceType").and_then(Json::as_str) == Some(kind)
                })
            })
    };
    for (resource, vc_type) in [
        ("Immunization", "https://smarthealth.cards#immunization"),
        ("Observation", "https://smarthealth.cards#laboratory"),
    ] {
        if has_resource(resource) && !types.contains(&vc_type) {
            warnings.push(format!("vc.type lacks {vc_type}"));
        }
    }
    let known = [
        HEALTH_CARD_TYPE,
        "https://smarthealth.cards#immunization",
        "https://smarthealth.cards#laboratory",
        "https://smarthealth.cards#covid19",
    ];
    for extra in types.iter().filter(|t| !known.contains(t)) {
        warnings.push(format!("vc.type has an unneeded type {extra}"));
    }
    Ok(())
}

/// An SHC revocation list (method `rid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// The key the list applies to.
    pub kid: String,
    /// The list's counter; must equal the key's `crlVersion`.
    pub ctr: u64,
    /// Revoked rids, each with an optional cut-off time (cards with nbf before it are revoked).
    pub rids: Vec<(String, Option<i64>)>,
}

/// Parses and checks a CRL: method `rid`, base64url rids, no rid listed twice.
pub fn parse_crl(json_text: &str) -> Result<Crl, ShcError> {
    let value: Json =
        serde_json::from_str(json_text).map_err(|e| ShcError::Revocation(e.to_string()))?;
    if value.get("method").and_then(Json::as_str) != Some("rid") {
        return Err(ShcError::Revocation("method must be rid".into()));
    }
    let ctr = value
        .get("ctr")
        .and_then(Json::as_u64)
        .ok_or_else(|| ShcError::Revocation("ctr is missing".into()))?;
    let mut rids: Vec<(String, Option<i64>)> = Vec::new();
    for item in value
        .get("rids")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let text = item
            .as_str()
            .ok_or_else(|| ShcError::Revocation("rid is not a string".into()))?;
        let entry = parse_rid_entry(text)?;
        if rids.iter().any(|(rid, _)| *rid == entry.0) {
            return Err(ShcError::Revocation(format!(
                "rid {} listed twice",
                entry.0
            )));
        }
        rids.push(entry);
    }
    Ok(Crl {
        kid: value
            .get("kid")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .into(),
        ctr,
        rids,
    })
}

fn parse_rid_entry(text: &str) -> Result<(String, Option<i64>), ShcError> {
    let (rid, cutoff) = match text.split_once('.') {
        Some((rid, t)) => {
            let t = t
                .parse::<i64>()
                .map_err(|_| ShcError::Revocation(format!("bad timestamp in {text:?}")))?;
            (rid, Some(t))
        }
        None => (text, None),
    };
    let base64url = rid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if rid.is_empty() || !base64url {
        return Err(ShcError::Revocation(format!(
            "rid {rid:?} is not base64url"
        )));
    }
    Ok((rid.into(), cutoff))
}

/// Checks the card against the CRL of its signing key.
pub fn check_revocation(payload: &Json, key: &TrustEntry, crl: &Crl) -> Result<(), ShcError> {
    if key.crl_version.is_some_and(|v| v != crl.ctr) {
        return Err(ShcError::Revocation(format!(
            "key crlVersion {:?} does not match CRL ctr {}",
            key.crl_version, crl.ctr
        )));
    }
    let Some(rid) = payload.pointer("/vc/rid").and_then(Json::as_str) else {
        return Ok(());
    };
    let nbf = payload
        .get("nbf")
        .and_then(Json::as_f64)
        .unwrap_or_default();
    #[allow(clippy::cast_precision_loss)]
    let revoked = crl
        .rids
        .iter()
        .any(|(r, cutoff)| r == rid && cutoff.is_none_or(|t| nbf < t as f64));
    if revoked {
        Err(ShcError::Revocation(format!("rid {rid} is revoked")))
    } else {
        Ok(())
    }
}

/// Decodes any single-card input (numeric QR or compact JWS) to its JWS and payload.
pub fn decode(text: &str) -> Result<(Jws, Json), ShcError> {
    let jws_text = if text.starts_with("shc:") {
        decode_numeric(text)?
    } else {
        text.to_owned()
    };
    let jws = parse_jws(&jws_text)?;
    check_header(&jws.header)?;
    let payload = parse_payload(&inflate_raw(&jws.payload)?)?;
    Ok((jws, payload))
}

/// The JWS texts of a `.smart-health-card` file (`{"verifiableCredential":[...]}`).
pub fn parse_file(json_text: &str) -> Result<Vec<String>, ShcError> {
    let value: Json =
        serde_json::from_str(json_text).map_err(|e| ShcError::Payload(e.to_string()))?;
    let list = value
        .get("verifiableCredential")
        .and_then(Json::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ShcError::Payload("verifiableCredential is missing or empty".into()))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ShcError::Payload("verifiableCredential entry is not text".into()))
        })
        .collect()
}

/// Verifies a numeric QR text, a compact JWS, or a `.smart-health-card` file (every card in
/// it must verify; the first failing verdict is returned). `crl` is the signing key's CRL.
pub fn verify(
    text: &str,
    trust: &TrustList,
    crl: Option<&Crl>,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    if text.starts_with('{') {
        let cards = parse_file(text).map_err(unusable)?;
        let mut verdicts = Vec::new();
        for card in &cards {
            verdicts.push(verify_card(card, trust, crl, at)?);
        }
        let first_bad = verdicts.iter().position(|v| !v.valid).unwrap_or(0);
        return Ok(verdicts.swap_remove(first_bad));
    }
    verify_card(text, trust, crl, at)
}

fn unusable(e: ShcError) -> Unusable {
    Unusable {
        format: FORMAT,
        reason: e.to_string(),
    }
}

fn verify_card(
    text: &str,
    trust: &TrustList,
    crl: Option<&Crl>,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    let (jws, payload) = decode(text).map_err(unusable)?;
    let issuer = payload.get("iss").and_then(Json::as_str).map(str::to_owned);
    let subject = subject_summary(&payload);
    let outcome = run_checks(&jws, &payload, trust, crl, at);
    let (reason, warnings) = match outcome {
        Ok(warnings) => (None, warnings),
        Err(e) => (Some(e.to_string()), Vec::new()),
    };
    let mut verdict = Verdict::new(FORMAT, issuer, subject, reason);
    verdict.warnings = warnings;
    Ok(verdict)
}

fn run_checks(
    jws: &Jws,
    payload: &Json,
    trust: &TrustList,
    crl: Option<&Crl>,
    at: OffsetDateTime,
) -> Result<Vec<String>, ShcError> {
    let iss = issuer_of(payload)?;
    let key = verify_jws_signature(jws, iss, trust)?;
    if let Some(cert) = &key.x509
        && !cert.is_valid_at(at)
    {
        return Err(ShcError::Time("signer certificate is not valid now".into()));
    }
    let warnings = check_payload(payload, at)?;
    if let Some(crl) = crl.filter(|c| c.kid.is_empty() || Some(c.kid.as_str()) == jws.kid()) {
        check_revocation(payload, key, crl)?;
    }
    Ok(warnings)
}

/// A small holder summary: the patient's name as given, birth date, and the last dose.
pub fn subject_summary(payload: &Json) -> Json {
    let entries: Vec<&Json> = payload
        .pointer("/vc/credentialSubject/fhirBundle/entry")
        .and_then(Json::as_array)
        .map(|e| e.iter().filter_map(|x| x.get("resource")).collect())
        .unwrap_or_default();
    let of_type = |kind: &'static str| {
        entries
            .iter()
            .copied()
            .filter(move |r| r.get("resourceType").and_then(Json::as_str) == Some(kind))
    };
    let patient = of_type("Patient").next();
    let name = patient.and_then(|p| p.pointer("/name/0"));
    let doses: Vec<&Json> = of_type("Immunization").collect();
    let last = doses.last();
    json!({
        "name": {
            "family": name.and_then(|n| n.get("family")),
            "given": name.and_then(|n| n.get("given")),
        },
        "dob": patient.and_then(|p| p.get("birthDate")),
        "last_dose": last.map(|d| json!({
            "date": d.get("occurrenceDateTime").or_else(|| d.get("occurrenceString")),
            "number": doses.len(),
            "vaccine": d.pointer("/vaccineCode/coding/0/code"),
        })),
    })
}

/// The RFC 7638 thumbprint of a P-256 key: base64url SHA-256 of
/// `{"crv":"P-256","kty":"EC","x":…,"y":…}`, the SHC `kid`.
pub fn jwk_thumbprint(key: &p256::ecdsa::VerifyingKey) -> String {
    let (x, y) = coordinates(key);
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn coordinates(key: &p256::ecdsa::VerifyingKey) -> (String, String) {
    let point = key.to_sec1_bytes();
    // Uncompressed SEC1: 0x04 || x (32) || y (32).
    let x = point.get(1..33).unwrap_or_default();
    let y = point.get(33..65).unwrap_or_default();
    (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
}

/// The public JWK an SHC issuer publishes for `key` (kid = thumbprint).
pub fn public_jwk(key: &p256::ecdsa::VerifyingKey) -> Json {
    let (x, y) = coordinates(key);
    json!({
        "kty": "EC", "kid": jwk_thumbprint(key), "use": "sig", "alg": "ES256",
        "crv": "P-256", "x": x, "y": y,
    })
}

/// Checks an issuer key set against the SHC key rules: EC P-256, `alg` ES256, `use` sig, `kid`
/// equal to the thumbprint, and an `x5c` leaf whose subjectAltName URI is the issuer.
pub fn check_issuer_key_set(jwks: &Json, issuer: &str) -> Result<(), ShcError> {
    let keys = jwks
        .get("keys")
        .and_then(Json::as_array)
        .ok_or_else(|| ShcError::KeySet("no keys array".into()))?;
    for jwk in keys {
        check_issuer_key(jwk, issuer)?;
    }
    Ok(())
}

fn check_issuer_key(jwk: &Json, issuer: &str) -> Result<(), ShcError> {
    let field = |name: &str| jwk.get(name).and_then(Json::as_str);
    for (name, want) in [
        ("kty", "EC"),
        ("crv", "P-256"),
        ("alg", "ES256"),
        ("use", "sig"),
    ] {
        if field(name) != Some(want) {
            return Err(ShcError::KeySet(format!("{name} must be {want}")));
        }
    }
    let key = match trust::jwk_public_key(jwk) {
        Ok(trust::PublicKey::P256(key)) => key,
        Ok(_) => return Err(ShcError::KeySet("not a P-256 key".into())),
        Err(e) => return Err(ShcError::KeySet(e.to_string())),
    };
    if field("kid") != Some(jwk_thumbprint(&key).as_str()) {
        return Err(ShcError::KeySet(
            "kid is not the RFC 7638 thumbprint".into(),
        ));
    }
    if jwk.get("x5c").is_some() {
        let mut list = TrustList::new();
        list.add_jwk(jwk, Some(issuer))
            .map_err(|e| ShcError::KeySet(e.to_string()))?;
        let sans = list
            .entries()
            .first()
            .and_then(|e| e.x509.as_ref())
            .map(|c| c.san_uris.clone())
            .unwrap_or_default();
        if !sans.iter().any(|s| s == issuer) {
            return Err(ShcError::KeySet(format!(
                "x5c leaf subjectAltName does not name {issuer}"
            )));
        }
    }
    Ok(())
}

/// Issues a health card: the payload (minified JSON) raw-DEFLATEd, signed ES256 with header
/// `{"zip":"DEF","alg":"ES256","kid":…}`. Returns the compact JWS and its numeric QR text.
pub fn issue_shc(
    payload_json: &Json,
    key: &p256::ecdsa::SigningKey,
    kid: &str,
) -> Result<(String, String), ShcError> {
    use p256::ecdsa::signature::Signer as _;
    let header = json!({"zip": "DEF", "alg": "ES256", "kid": kid});
    let header = serde_json::to_vec(&header).map_err(|e| ShcError::Encode(e.to_string()))?;
    let payload = serde_json::to_vec(payload_json).map_err(|e| ShcError::Encode(e.to_string()))?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(deflate_raw(&payload)?)
    );
    let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
    let jws = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    );
    let qr = encode_numeric(&jws);
    Ok((jws, qr))
}
