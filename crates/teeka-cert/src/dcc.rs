//! EU Digital COVID Certificate (DCC): the decode chain `HC1:` → Base45 → zlib → COSE_Sign1 →
//! CWT → CBOR payload, each step a public function, plus signature, expiry, key-usage and schema
//! checks, the issuer, and the EU revocation-list hashes.

mod cbor_json;
mod schema;
pub mod signer;

use std::io::Read as _;

use ciborium::Value as Cbor;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

pub use cbor_json::{cbor_to_json, json_to_cbor};
pub use schema::validate_schema;

use crate::trust::{SignatureAlgorithm, TrustEntry, TrustList, Unusable, Verdict, X509Info};

/// The format name used in verdicts.
pub const FORMAT: &str = "eu-dcc";
/// The QR context prefix of an EU DCC.
pub const PREFIX: &str = "HC1:";
/// COSE algorithm id of ES256.
pub const COSE_ES256: i64 = -7;
/// COSE algorithm id of PS256.
pub const COSE_PS256: i64 = -37;

const HEADER_ALG: i64 = 1;
const HEADER_KID: i64 = 4;
const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_HCERT: i64 = -260;
const TAG_COSE_SIGN1: u64 = 18;
const TAG_CWT: u64 = 61;

/// Why a DCC step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DccError {
    /// The text does not start with `HC1:`.
    #[error("missing HC1: prefix")]
    Prefix,
    /// The Base45 text is malformed.
    #[error("invalid Base45: {0}")]
    Base45(String),
    /// The zlib stream is broken or absent.
    #[error("zlib inflate failed: {0}")]
    Inflate(String),
    /// The bytes are not a COSE_Sign1 structure.
    #[error("not a COSE_Sign1: {0}")]
    Cose(String),
    /// The COSE payload is not a CWT with an hcert claim.
    #[error("bad CWT: {0}")]
    Cwt(String),
    /// No trusted key has the certificate's kid.
    #[error("no trusted key for kid {0}")]
    UnknownKid(String),
    /// The signature does not verify with any matching key.
    #[error("signature invalid: {0}")]
    Signature(String),
    /// The certificate is not yet valid or has expired.
    #[error("expiry check failed: {0}")]
    Expired(String),
    /// The signer certificate may not sign this certificate type.
    #[error("key usage: {0}")]
    KeyUsage(String),
    /// The payload does not follow the DCC schema.
    #[error("schema: {0}")]
    Schema(String),
    /// Encoding while issuing failed.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// Strips the `HC1:` context prefix.
pub fn unprefix(text: &str) -> Result<&str, DccError> {
    text.trim().strip_prefix(PREFIX).ok_or(DccError::Prefix)
}

/// Decodes Base45 text.
pub fn base45_decode(text: &str) -> Result<Vec<u8>, DccError> {
    base45::decode(text).map_err(|e| DccError::Base45(format!("{e:?}")))
}

/// The most a certificate may inflate to: a QR code holds under 3 KB, and no certificate
/// needs more than this; a deflate bomb stops here.
pub const MAX_INFLATED: u64 = 64 * 1024;

/// Inflates a zlib stream (RFC 1950) in full, refusing more than [`MAX_INFLATED`] bytes.
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DccError> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| DccError::Inflate(e.to_string()))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(DccError::Inflate("inflates to more than 64 KiB".into()));
    }
    Ok(out)
}

/// Compresses with zlib at the best level.
pub fn deflate(raw: &[u8]) -> Result<Vec<u8>, DccError> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(raw)
        .map_err(|e| DccError::Encode(e.to_string()))?;
    encoder
        .finish()
        .map_err(|e| DccError::Encode(e.to_string()))
}

/// A parsed COSE_Sign1 message.
#[derive(Debug, Clone, PartialEq)]
pub struct CoseSign1 {
    /// The protected header exactly as encoded (it is signed as bytes).
    pub protected_bytes: Vec<u8>,
    /// The decoded protected header map.
    pub protected: Vec<(Cbor, Cbor)>,
    /// The unprotected header map.
    pub unprotected: Vec<(Cbor, Cbor)>,
    /// The payload (the CWT claims, CBOR).
    pub payload: Vec<u8>,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl CoseSign1 {
    /// The `alg` header (protected first, then unprotected).
    pub fn alg(&self) -> Option<i64> {
        self.header(HEADER_ALG)
            .and_then(|v| v.as_integer())
            .and_then(|i| i64::try_from(i).ok())
    }

    /// The `kid`: from the protected header when present there, else from the unprotected one.
    pub fn kid(&self) -> Option<Vec<u8>> {
        self.header(HEADER_KID).and_then(|v| v.as_bytes()).cloned()
    }

    fn header(&self, label: i64) -> Option<&Cbor> {
        find_label(&self.protected, label).or_else(|| find_label(&self.unprotected, label))
    }

    /// The COSE `Sig_structure` ("Signature1", protected, empty external AAD, payload) that
    /// the signature covers.
    pub fn sig_structure(&self) -> Result<Vec<u8>, DccError> {
        sig_structure(&self.protected_bytes, &self.payload)
    }
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Result<Vec<u8>, DccError> {
    let value = Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        Cbor::Bytes(protected.to_vec()),
        Cbor::Bytes(Vec::new()),
        Cbor::Bytes(payload.to_vec()),
    ]);
    to_cbor_bytes(&value)
}

fn find_label(map: &[(Cbor, Cbor)], label: i64) -> Option<&Cbor> {
    map.iter()
        .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(label))
        .map(|(_, v)| v)
}

fn to_cbor_bytes(value: &Cbor) -> Result<Vec<u8>, DccError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| DccError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes one CBOR item, refusing trailing bytes.
pub fn decode_cbor(bytes: &[u8]) -> Result<Cbor, String> {
    let mut reader = bytes;
    let value: Cbor = ciborium::from_reader(&mut reader).map_err(|e| e.to_string())?;
    if reader.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} trailing bytes after CBOR", reader.len()))
    }
}

/// Parses a COSE_Sign1 message, tagged (18, optionally inside the CWT tag 61) or untagged.
pub fn parse_cose_sign1(bytes: &[u8]) -> Result<CoseSign1, DccError> {
    let mut value = decode_cbor(bytes).map_err(DccError::Cose)?;
    while let Cbor::Tag(tag, inner) = value {
        if tag != TAG_COSE_SIGN1 && tag != TAG_CWT {
            return Err(DccError::Cose(format!("unexpected tag {tag}")));
        }
        value = *inner;
    }
    let Cbor::Array(items) = value else {
        return Err(DccError::Cose("not an array".into()));
    };
    let [protected, unprotected, payload, signature] = <[Cbor; 4]>::try_from(items)
        .map_err(|items| DccError::Cose(format!("{} elements, not 4", items.len())))?;
    let protected_bytes = into_bytes(protected, "protected header")?;
    let protected = header_map(&protected_bytes)?;
    let Cbor::Map(unprotected) = unprotected else {
        return Err(DccError::Cose("unprotected header is not a map".into()));
    };
    Ok(CoseSign1 {
        protected_bytes,
        protected,
        unprotected,
        payload: into_bytes(payload, "payload")?,
        signature: into_bytes(signature, "signature")?,
    })
}

fn into_bytes(value: Cbor, what: &str) -> Result<Vec<u8>, DccError> {
    match value {
        Cbor::Bytes(b) => Ok(b),
        _ => Err(DccError::Cose(format!("{what} is not a byte string"))),
    }
}

fn header_map(protected: &[u8]) -> Result<Vec<(Cbor, Cbor)>, DccError> {
    if protected.is_empty() {
        return Ok(Vec::new());
    }
    match decode_cbor(protected).map_err(DccError::Cose)? {
        Cbor::Map(map) => Ok(map),
        _ => Err(DccError::Cose("protected header is not a map".into())),
    }
}

/// Maps a COSE algorithm id to a signature algorithm.
pub fn cose_algorithm(alg: i64) -> Option<SignatureAlgorithm> {
    match alg {
        COSE_ES256 => Some(SignatureAlgorithm::Es256),
        COSE_PS256 => Some(SignatureAlgorithm::Ps256),
        _ => None,
    }
}

/// Verifies the COSE signature with the trusted keys whose kid matches, trying every match;
/// returns the entry that verified.
pub fn verify_signature<'a>(
    cose: &CoseSign1,
    trust: &'a TrustList,
) -> Result<&'a TrustEntry, DccError> {
    let kid = cose
        .kid()
        .ok_or_else(|| DccError::UnknownKid("(none)".into()))?;
    let alg = cose
        .alg()
        .and_then(cose_algorithm)
        .ok_or_else(|| DccError::Signature(format!("unsupported alg {:?}", cose.alg())))?;
    let candidates = trust.find_by_kid(&kid);
    if candidates.is_empty() {
        return Err(DccError::UnknownKid(hex_string(&kid)));
    }
    let message = cose.sig_structure()?;
    let mut last_error = String::from("no key of a matching type");
    for entry in candidates {
        match entry.key.verify(alg, &message, &cose.signature) {
            Ok(()) => return Ok(entry),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(DccError::Signature(last_error))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CWT claims of a DCC.
#[derive(Debug, Clone, PartialEq)]
pub struct CwtClaims {
    /// Issuer country (claim 1).
    pub iss: Option<String>,
    /// Issued at, seconds since the epoch (claim 6).
    pub iat: Option<i64>,
    /// Expiry, seconds since the epoch (claim 4).
    pub exp: Option<i64>,
    /// The DCC payload (claim -260, key 1), as CBOR.
    pub hcert: Cbor,
}

impl CwtClaims {
    /// The DCC payload as JSON.
    pub fn hcert_json(&self) -> Json {
        cbor_to_json(&self.hcert)
    }
}

/// Parses the CWT claims from a COSE payload.
pub fn parse_cwt(payload: &[u8]) -> Result<CwtClaims, DccError> {
    let Cbor::Map(claims) = decode_cbor(payload).map_err(DccError::Cwt)? else {
        return Err(DccError::Cwt("claims are not a map".into()));
    };
    let Some(Cbor::Map(hcert)) = find_label(&claims, CLAIM_HCERT) else {
        return Err(DccError::Cwt("no hcert (-260) map".into()));
    };
    if hcert.len() != 1 {
        return Err(DccError::Cwt(format!(
            "hcert holds {} entries, not 1",
            hcert.len()
        )));
    }
    let payload = find_label(hcert, 1)
        .ok_or_else(|| DccError::Cwt("hcert has no key 1".into()))?
        .clone();
    Ok(CwtClaims {
        iss: find_label(&claims, CLAIM_ISS)
            .and_then(|v| v.as_text())
            .map(str::to_owned),
        iat: int_claim(&claims, CLAIM_IAT),
        exp: int_claim(&claims, CLAIM_EXP),
        hcert: payload,
    })
}

fn int_claim(claims: &[(Cbor, Cbor)], label: i64) -> Option<i64> {
    match find_label(claims, label)? {
        Cbor::Integer(i) => i64::try_from(*i).ok(),
        #[allow(clippy::cast_possible_truncation)]
        Cbor::Float(f) => Some(f.trunc() as i64),
        _ => None,
    }
}

/// Checks issued-at and expiry against `at`, and, when the signer certificate is known, that
/// both lie within its validity period.
pub fn check_expiration(
    claims: &CwtClaims,
    signer: Option<&X509Info>,
    at: OffsetDateTime,
) -> Result<(), DccError> {
    let iat = claim_time(claims.iat, "iat")?;
    let exp = claim_time(claims.exp, "exp")?;
    if at < iat {
        return Err(DccError::Expired(format!("issued at {iat}, after {at}")));
    }
    if at > exp {
        return Err(DccError::Expired(format!("expired at {exp}")));
    }
    if let Some(cert) = signer
        && (iat < cert.not_before || exp > cert.not_after)
    {
        return Err(DccError::Expired(
            "certificate lifetime exceeds its signer certificate's validity".into(),
        ));
    }
    Ok(())
}

fn claim_time(claim: Option<i64>, name: &str) -> Result<OffsetDateTime, DccError> {
    let secs = claim.ok_or_else(|| DccError::Expired(format!("no {name} claim")))?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| DccError::Expired(format!("{name}: {e}")))
}

/// The type of a DCC, from which group its payload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertType {
    /// Test certificate (`t`).
    Test,
    /// Vaccination certificate (`v`).
    Vaccination,
    /// Recovery certificate (`r`).
    Recovery,
}

impl CertType {
    /// The extended-key-usage OIDs that allow a signer to issue this type.
    pub fn key_usage_oids(self) -> [&'static str; 2] {
        match self {
            Self::Test => ["1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"],
            Self::Vaccination => ["1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"],
            Self::Recovery => ["1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"],
        }
    }
}

const ALL_DCC_OIDS: [&str; 6] = [
    "1.3.6.1.4.1.1847.2021.1.1",
    "1.3.6.1.4.1.0.1847.2021.1.1",
    "1.3.6.1.4.1.1847.2021.1.2",
    "1.3.6.1.4.1.0.1847.2021.1.2",
    "1.3.6.1.4.1.1847.2021.1.3",
    "1.3.6.1.4.1.0.1847.2021.1.3",
];

/// The certificate type of a payload; exactly one of `v`, `t`, `r` must be present.
pub fn certificate_type(hcert: &Json) -> Result<CertType, DccError> {
    let present: Vec<CertType> = [
        ("v", CertType::Vaccination),
        ("t", CertType::Test),
        ("r", CertType::Recovery),
    ]
    .into_iter()
    .filter(|(k, _)| hcert.get(*k).is_some())
    .map(|(_, t)| t)
    .collect();
    match present.as_slice() {
        [one] => Ok(*one),
        _ => Err(DccError::Schema(format!(
            "{} certificate groups, expected exactly one",
            present.len()
        ))),
    }
}

/// Checks that the signer certificate may sign this type: when it carries any DCC key-usage
/// OID, it must carry the one for the payload's type; with none, every type is allowed.
pub fn check_key_usage(hcert: &Json, signer: Option<&X509Info>) -> Result<(), DccError> {
    let cert_type = certificate_type(hcert).map_err(|e| DccError::KeyUsage(e.to_string()))?;
    let Some(signer) = signer else {
        return Ok(());
    };
    let has = |oid: &str| signer.extended_key_usage.iter().any(|o| o == oid);
    if !ALL_DCC_OIDS.iter().any(|oid| has(oid)) {
        return Ok(());
    }
    if cert_type.key_usage_oids().iter().any(|oid| has(oid)) {
        Ok(())
    } else {
        Err(DccError::KeyUsage(format!(
            "signer may not sign {cert_type:?} certificates"
        )))
    }
}

/// The chain from QR text to COSE bytes: unprefix, Base45, inflate. Data that is not
/// compressed but is plainly a COSE message is accepted, as deployed verifiers do.
pub fn decode_to_cose_bytes(text: &str) -> Result<Vec<u8>, DccError> {
    let compressed = base45_decode(unprefix(text)?)?;
    match inflate(&compressed) {
        Ok(raw) => Ok(raw),
        Err(_) if matches!(compressed.first(), Some(0xD2 | 0x84 | 0xD8)) => Ok(compressed),
        Err(e) => Err(e),
    }
}

/// Decodes a DCC QR text to its COSE message and CWT claims without verifying it.
pub fn decode(text: &str) -> Result<(CoseSign1, CwtClaims), DccError> {
    let cose = parse_cose_sign1(&decode_to_cose_bytes(text)?)?;
    let claims = parse_cwt(&cose.payload)?;
    Ok((cose, claims))
}

/// Verifies a DCC QR text: decode, signature (key by kid), expiry at `at`, key usage, schema.
/// Undecodable input is `Unusable`; a decodable certificate yields a verdict.
pub fn verify(text: &str, trust: &TrustList, at: OffsetDateTime) -> Result<Verdict, Unusable> {
    let (cose, claims) = decode(text).map_err(|e| Unusable {
        format: FORMAT,
        reason: e.to_string(),
    })?;
    let hcert = claims.hcert_json();
    let reason = run_checks(&cose, &claims, &hcert, trust, at)
        .err()
        .map(|e| e.to_string());
    Ok(Verdict::new(
        FORMAT,
        claims.iss.clone(),
        subject_summary(&hcert),
        reason,
    ))
}

fn run_checks(
    cose: &CoseSign1,
    claims: &CwtClaims,
    hcert: &Json,
    trust: &TrustList,
    at: OffsetDateTime,
) -> Result<(), DccError> {
    let signer = verify_signature(cose, trust)?;
    check_expiration(claims, signer.x509.as_ref(), at)?;
    validate_schema(hcert).map_err(DccError::Schema)?;
    check_key_usage(hcert, signer.x509.as_ref())
}

/// A small holder summary: names as given, date of birth, and the last dose or event.
pub fn subject_summary(hcert: &Json) -> Json {
    let nam = hcert.get("nam").cloned().unwrap_or(Json::Null);
    let mut summary = json!({
        "name": {
            "family": nam.get("fn").or_else(|| nam.get("fnt")),
            "given": nam.get("gn").or_else(|| nam.get("gnt")),
        },
        "dob": hcert.get("dob"),
    });
    if let Some(v) = last_entry(hcert, "v") {
        summary["type"] = json!("vaccination");
        summary["last_dose"] =
            json!({ "date": v.get("dt"), "number": v.get("dn"), "of": v.get("sd") });
    } else if let Some(t) = last_entry(hcert, "t") {
        summary["type"] = json!("test");
        summary["test"] = json!({ "sampled": t.get("sc"), "result": t.get("tr") });
    } else if let Some(r) = last_entry(hcert, "r") {
        summary["type"] = json!("recovery");
        summary["recovery"] = json!({ "from": r.get("df"), "until": r.get("du") });
    }
    summary
}

fn last_entry<'a>(hcert: &'a Json, group: &str) -> Option<&'a Json> {
    hcert
        .get(group)
        .and_then(Json::as_array)
        .and_then(|a| a.last())
}

/// Issues a DCC: the payload JSON signed as COSE_Sign1 ES256 (kid in the protected header),
/// zlib-compressed and Base45-encoded behind `HC1:`.
pub fn issue_dcc(
    payload_json: &Json,
    issuer_country: &str,
    iat: i64,
    exp: i64,
    signing_key: &p256::ecdsa::SigningKey,
    kid: &[u8],
) -> Result<String, DccError> {
    use p256::ecdsa::signature::Signer as _;
    let protected = to_cbor_bytes(&Cbor::Map(vec![
        (
            Cbor::Integer(HEADER_ALG.into()),
            Cbor::Integer(COSE_ES256.into()),
        ),
        (Cbor::Integer(HEADER_KID.into()), Cbor::Bytes(kid.to_vec())),
    ]))?;
    let claims = Cbor::Map(vec![
        (
            Cbor::Integer(CLAIM_ISS.into()),
            Cbor::Text(issuer_country.into()),
        ),
        (Cbor::Integer(CLAIM_IAT.into()), Cbor::Integer(iat.into())),
        (Cbor::Integer(CLAIM_EXP.into()), Cbor::Integer(exp.into())),
        (
            Cbor::Integer(CLAIM_HCERT.into()),
            Cbor::Map(vec![(Cbor::Integer(1.into()), json_to_cbor(payload_json))]),
        ),
    ]);
    let payload = to_cbor_bytes(&claims)?;
    let signature: p256::ecdsa::Signature = signing_key.sign(&sig_structure(&protected, &payload)?);
    let message = Cbor::Tag(
        TAG_COSE_SIGN1,
        Box::new(Cbor::Array(vec![
            Cbor::Bytes(protected),
            Cbor::Map(Vec::new()),
            Cbor::Bytes(payload),
            Cbor::Bytes(signature.to_bytes().to_vec()),
        ])),
    );
    let compressed = deflate(&to_cbor_bytes(&message)?)?;
    Ok(format!("{PREFIX}{}", base45::encode(&compressed)))
}

/// EU revocation hash of the UCI: the first 16 bytes of SHA-256 over the `ci` string.
pub fn revocation_hash_uci(uci: &str) -> [u8; 16] {
    first_16(&Sha256::digest(uci.as_bytes()))
}

/// EU revocation hash of issuer country + UCI: SHA-256 over `iss` followed by `ci`.
pub fn revocation_hash_country_uci(country: &str, uci: &str) -> [u8; 16] {
    first_16(&Sha256::digest(format!("{country}{uci}").as_bytes()))
}

/// EU revocation hash of the signature: SHA-256 over the COSE signature bytes, for ES256 only
/// its first half (`r`), for other algorithms the whole signature.
pub fn revocation_hash_signature(cose: &CoseSign1) -> [u8; 16] {
    let sig = if cose.alg() == Some(COSE_ES256) {
        &cose.signature[..cose.signature.len() / 2]
    } else {
        &cose.signature[..]
    };
    first_16(&Sha256::digest(sig))
}

fn first_16(digest: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The UCI (`ci`) of the payload's certificate entry.
pub fn uci(hcert: &Json) -> Option<&str> {
    ["v", "t", "r"]
        .into_iter()
        .find_map(|g| last_entry(hcert, g))
        .and_then(|e| e.get("ci"))
        .and_then(Json::as_str)
}
