//! The universal verifier: detects what a QR code's text (or a file) holds, a W3C vaccination
//! credential (Teeka's or CoWIN/DIVOC's, as JSON or zipped as CoWIN prints it), an EU DCC
//! (`HC1:`) or a SMART Health Card (`shc:/`, a JWS, or a `.smart-health-card` file), and checks
//! it offline against a trust list, a time and revocation lists. A picture (PNG or JPEG) of the
//! QR code works as well as its text. Nothing is fetched.

use crate::trust::{PublicKey, TrustList, Unusable, Verdict};
use crate::{dcc, ld, shc};
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Read as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The format name of W3C vaccination credentials in verdicts.
pub const W3C_VC: &str = "w3c-vc";

/// Offline revocation lists: hashed credential ids (Teeka's published list) and SMART Health
/// Card CRLs.
#[derive(Debug, Default, Clone)]
pub struct Revocations {
    /// SHA-256 (hex) of revoked credentials' `certificateId`s.
    pub credential_hashes: HashSet<String>,
    /// SMART Health Card revocation lists, by key.
    pub shc_crls: Vec<shc::Crl>,
    /// EU DCC revocation hashes (hex, 16 bytes): of the UCI, of country and UCI, or of the
    /// signature, as the EU's revocation lists give them.
    pub dcc_hashes: HashSet<String>,
}

impl Revocations {
    /// Adds a list from its JSON: Teeka's (`{"revoked": [hex…], "dcc_revoked": [hex…]}`) or an
    /// SHC CRL (`{"kid",
    /// "method": "rid", "ctr", "rids"}`).
    ///
    /// # Errors
    /// When the text is neither.
    pub fn add_json(&mut self, text: &str) -> Result<(), String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(list) = value.get("revoked").and_then(Value::as_array) {
            for hash in list {
                let hash = hash.as_str().ok_or("revoked: hex strings")?;
                self.credential_hashes.insert(hash.to_ascii_lowercase());
            }
            for hash in value
                .get("dcc_revoked")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let hash = hash.as_str().ok_or("dcc_revoked: hex strings")?;
                self.dcc_hashes.insert(hash.to_ascii_lowercase());
            }
            return Ok(());
        }
        if value.get("rids").is_some() {
            self.shc_crls
                .push(shc::parse_crl(text).map_err(|e| e.to_string())?);
            return Ok(());
        }
        Err("neither a Teeka revocation list nor a SMART Health Card CRL".into())
    }
}

/// Verifies whatever `input` holds. `Err` means the input could not be read as any format
/// (the command's exit code 2); `Ok` carries the verdict, valid or not.
///
/// # Errors
/// [`Unusable`] when no format fits.
pub fn verify_any(
    input: &[u8],
    trust: &TrustList,
    revocations: &Revocations,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    if crate::qr_image::is_picture(input) {
        return verify_picture(input, trust, revocations, at);
    }
    if input.starts_with(b"PK\x03\x04") {
        return verify_credential(&unzip_credential(input)?, trust, revocations, at);
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| unusable("any", "neither text nor a zip archive"))?
        .trim_start_matches('\u{feff}')
        .trim();
    if text.starts_with(dcc::PREFIX) {
        let mut verdict = dcc::verify(text, trust, at)?;
        if verdict.valid && dcc_revoked(text, revocations) {
            verdict.valid = false;
            verdict.reason = Some("revoked: the certificate is on the revocation list".into());
        }
        return Ok(verdict);
    }
    if text.starts_with(shc::QR_PREFIX) || text.starts_with("eyJ") {
        return shc::verify(text, trust, crl_for(text, revocations), at);
    }
    if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| unusable("json", &e.to_string()))?;
        if value.get("verifiableCredential").is_some() {
            let first = shc::parse_file(text)
                .ok()
                .and_then(|cards| cards.into_iter().next())
                .unwrap_or_default();
            return shc::verify(text, trust, crl_for(&first, revocations), at);
        }
        return verify_credential(&value, trust, revocations, at);
    }
    // CoWIN's QR codes hold a zip archive; a scanner app may hand it over in base64.
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
        && bytes.starts_with(b"PK\x03\x04")
    {
        return verify_credential(&unzip_credential(&bytes)?, trust, revocations, at);
    }
    Err(unusable(
        "any",
        "not a W3C credential, an EU DCC (HC1:), a SMART Health Card (shc:/) or a CoWIN zip",
    ))
}

/// Whether an EU DCC is on the hashed revocation list (by UCI, country and UCI, or signature).
fn dcc_revoked(text: &str, revocations: &Revocations) -> bool {
    if revocations.dcc_hashes.is_empty() {
        return false;
    }
    let Ok((cose, claims)) = dcc::decode(text) else {
        return false;
    };
    let hex = |bytes: [u8; 16]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let hcert = claims.hcert_json();
    let mut hashes = vec![hex(dcc::revocation_hash_signature(&cose))];
    if let Some(uci) = dcc::uci(&hcert) {
        hashes.push(hex(dcc::revocation_hash_uci(uci)));
        if let Some(country) = claims.iss.as_deref() {
            hashes.push(hex(dcc::revocation_hash_country_uci(country, uci)));
        }
    }
    hashes.iter().any(|h| revocations.dcc_hashes.contains(h))
}

/// Verifies the QR code in a picture (PNG or JPEG): the first code that reads as a certificate
/// is the one judged. A SMART Health Card whose digits are not in a numeric QR segment is
/// refused, as its specification requires.
fn verify_picture(
    picture: &[u8],
    trust: &TrustList,
    revocations: &Revocations,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    let codes = crate::qr_image::decode_qr_codes(picture)
        .map_err(|e| unusable("picture", &e.to_string()))?;
    verify_decoded_codes(codes, trust, revocations, at)
}

/// Verifies the codes already read from a picture (by [`crate::qr_image::decode_qr_codes`],
/// perhaps in another process): the first that reads as a certificate is the one judged.
///
/// # Errors
/// [`Unusable`] when no code holds a certificate.
pub fn verify_decoded_codes(
    codes: Vec<crate::qr_image::DecodedQr>,
    trust: &TrustList,
    revocations: &Revocations,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    let mut first_problem = None;
    for code in codes {
        // A picture of a picture is no certificate.
        if crate::qr_image::is_picture(&code.content) {
            continue;
        }
        match verify_any(&code.content, trust, revocations, at) {
            Ok(mut verdict) => {
                if code.content.starts_with(shc::QR_PREFIX.as_bytes())
                    && !code.digits_are_numeric_after(shc::QR_PREFIX.len())
                {
                    verdict.valid = false;
                    verdict.reason = Some(
                        "a SMART Health Card QR code must hold its digits in a numeric segment"
                            .into(),
                    );
                } else if let Some(smallest) = code.smallest_version_for_shc(code.ecc_level)
                    && smallest < code.version
                {
                    verdict.warnings.push(format!(
                        "QR version {} is larger than the {smallest} the card needs",
                        code.version
                    ));
                }
                return Ok(verdict);
            }
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| unusable("picture", "the QR code holds no certificate")))
}

/// The SMART Health Card CRL for the key that signed `card` (a QR text or a JWS), if one was
/// given.
fn crl_for<'a>(card: &str, revocations: &'a Revocations) -> Option<&'a shc::Crl> {
    let kid = shc::decode(card)
        .ok()
        .and_then(|(jws, _)| jws.kid().map(str::to_owned))?;
    revocations.shc_crls.iter().find(|c| c.kid == kid)
}

fn unusable(format: &'static str, reason: &str) -> Unusable {
    Unusable {
        format,
        reason: reason.to_owned(),
    }
}

/// The credential JSON inside a CoWIN QR code's zip archive (its first file).
fn unzip_credential(zip: &[u8]) -> Result<Value, Unusable> {
    let bad = |why: &str| unusable(W3C_VC, &format!("zip: {why}"));
    let u16_at = |at: usize| {
        zip.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |at: usize| {
        zip.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let method = u16_at(8).ok_or_else(|| bad("truncated header"))?;
    let compressed = u32_at(18).ok_or_else(|| bad("truncated header"))?;
    let name_len = u16_at(26).ok_or_else(|| bad("truncated header"))?;
    let extra_len = u16_at(28).ok_or_else(|| bad("truncated header"))?;
    let start = 30 + name_len + extra_len;
    let data = zip
        .get(start..start.saturating_add(compressed))
        .ok_or_else(|| bad("truncated file"))?;
    let mut json = Vec::new();
    match method {
        0 => json.extend_from_slice(data),
        8 => {
            flate2::read::DeflateDecoder::new(data)
                .take(1 << 20)
                .read_to_end(&mut json)
                .map_err(|e| bad(&e.to_string()))?;
        }
        _ => return Err(bad("unsupported compression")),
    }
    serde_json::from_slice(&json).map_err(|e| bad(&format!("not JSON: {e}")))
}

/// The keys of `trust` a JSON-LD proof may be checked with: those whose kid is the proof's
/// verification method (or its fragment) first, then every other Ed25519 and RSA key; a key
/// bound to an issuer only for that issuer's credentials.
fn ld_candidates(
    trust: &TrustList,
    method: &str,
    issuer: Option<&str>,
) -> Vec<ld::VerificationKey> {
    let fragment = method.rsplit('#').next().unwrap_or(method);
    let mut named = Vec::new();
    let mut others = Vec::new();
    for entry in trust.entries() {
        if let Some(bound) = &entry.issuer
            && Some(bound.trim_end_matches('/')) != issuer
        {
            continue;
        }
        let key = match &entry.key {
            PublicKey::Ed25519(k) => ld::VerificationKey::Ed25519(*k),
            PublicKey::Rsa(k) => ld::VerificationKey::Rsa(k.clone()),
            PublicKey::P256(_) => continue,
        };
        let kid = entry.kid.as_deref().map(String::from_utf8_lossy);
        if kid.is_some_and(|k| k == method || k == fragment) {
            named.push(key);
        } else {
            others.push(key);
        }
    }
    named.extend(others);
    named
}

fn time_of(value: Option<&Value>) -> Option<OffsetDateTime> {
    value
        .and_then(Value::as_str)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// Checks a W3C vaccination credential: its JSON-LD proof against the trust list, its
/// issuance and expiration dates at `at`, and the revocation list.
///
/// # Errors
/// [`Unusable`] when it is not a credential with a proof.
pub fn verify_credential(
    credential: &Value,
    trust: &TrustList,
    revocations: &Revocations,
    at: OffsetDateTime,
) -> Result<Verdict, Unusable> {
    let proof = credential
        .get("proof")
        .ok_or_else(|| unusable(W3C_VC, "JSON without a proof is not a credential"))?;
    let issuer = match credential.get("issuer") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let subject = ld::summarize(credential);
    let method = proof
        .get("verificationMethod")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // A key bound to an issuer signs only that issuer's credentials.
    let bound_issuer = issuer
        .as_deref()
        .map(|i| i.trim_end_matches('/').to_owned());
    let mut reason = shape_problem(credential)
        .map(str::to_owned)
        .or_else(|| Some("no trusted key verifies the signature".to_owned()));
    let candidates = if reason.as_deref() == Some("no trusted key verifies the signature") {
        ld_candidates(trust, method, bound_issuer.as_deref())
    } else {
        Vec::new()
    };
    for key in candidates {
        match ld::verify_proof(credential, &key) {
            Ok(true) => {
                reason = None;
                break;
            }
            Ok(false) | Err(ld::LdError::KeyMismatch) => {}
            Err(e) => {
                reason = Some(e.to_string());
                break;
            }
        }
    }
    if reason.is_none() {
        if time_of(credential.get("issuanceDate")).is_some_and(|t| t > at) {
            reason = Some("not valid yet (issued after the time checked)".into());
        } else if time_of(credential.get("expirationDate")).is_some_and(|t| t <= at) {
            reason = Some("expired".into());
        }
    }
    if reason.is_none() && swapped_doses(credential) {
        reason = Some(
            "dose is above totalDoses: the two share one signed predicate, so they were swapped"
                .into(),
        );
    }
    if reason.is_none() && is_revoked(credential, revocations) {
        reason = Some("revoked: the certificate id is on the revocation list".into());
    }
    Ok(Verdict::new(W3C_VC, issuer, subject, reason))
}

/// The evidence entries, whether written as an array or as one object.
fn evidence(credential: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match credential.get("evidence") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// Why the credential's JSON cannot be trusted to say what its signature covers, if it cannot.
/// The checks below read plain JSON, so every key they read must be a plain term (not a
/// compact IRI or keyword form) and every value a plain string or number: JSON-LD would sign
/// `{"@value": "…"}` or `cred:expirationDate` the same, and the checks would miss them.
fn shape_problem(credential: &Value) -> Option<&'static str> {
    fn odd_keys(map: &serde_json::Map<String, Value>) -> bool {
        map.iter().any(|(k, v)| {
            (k.contains(':') || (k.starts_with('@') && k != "@context"))
                || v.as_object().is_some_and(|o| o.contains_key("@value"))
        })
    }
    let top = credential.as_object()?;
    let subject = credential
        .get("credentialSubject")
        .and_then(Value::as_object);
    if odd_keys(top)
        || subject.is_some_and(odd_keys)
        || evidence(credential).into_iter().any(odd_keys)
    {
        return Some(
            "keys must be the context's plain terms and values plain (no @value, no compact IRIs)",
        );
    }
    None
}

/// `dose` and `totalDoses` map to one predicate (`schema:doseValue`), so a signature cannot tell
/// them apart; a dose above the total is the sign of a swap (Teeka counts precaution doses in
/// the total).
fn swapped_doses(credential: &Value) -> bool {
    let number = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    evidence(credential).into_iter().any(|e| {
        matches!(
            (number(e.get("dose")), number(e.get("totalDoses"))),
            (Some(dose), Some(total)) if dose > total
        )
    })
}

/// Whether any id the credential's signature covers is on the list. `certificateId`, `batch`,
/// `vaccine` and `manufacturer` all map to `schema:id`, so their values can be swapped without
/// breaking the signature: every one of them is checked, and the evidence's and subject's `id`
/// (Teeka's end in the certificate id).
fn is_revoked(credential: &Value, revocations: &Revocations) -> bool {
    if revocations.credential_hashes.is_empty() {
        return false;
    }
    let mut candidates: Vec<&str> = Vec::new();
    for e in evidence(credential) {
        for key in ["certificateId", "batch", "vaccine", "manufacturer", "id"] {
            if let Some(v) = e.get(key).and_then(Value::as_str) {
                candidates.push(v);
                candidates.push(v.rsplit('/').next().unwrap_or(v));
            }
        }
    }
    if let Some(id) = credential
        .get("credentialSubject")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
    {
        candidates.push(id.rsplit('/').next().unwrap_or(id));
    }
    candidates
        .into_iter()
        .any(|id| revocations.credential_hashes.contains(&sha2_hex(id)))
}

fn sha2_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A verdict as the command and the web call print it.
#[must_use]
pub fn verdict_json(v: &Verdict) -> Value {
    let mut out = serde_json::json!({
        "valid": v.valid,
        "format": v.format,
        "issuer": v.issuer,
        "subject": v.subject,
    });
    if let Some(reason) = &v.reason {
        out["reason"] = Value::String(reason.clone());
    }
    if !v.warnings.is_empty() {
        out["warnings"] = serde_json::json!(v.warnings);
    }
    out
}
