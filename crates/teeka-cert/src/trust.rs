//! The trust list: issuer public keys (P-256, RSA, Ed25519) loaded from PEM, JWK/JWKS, X.509
//! signer certificates or base58 keys, looked up by key id, plus the signature primitives and the
//! verdict type shared by the certificate formats.

mod verdict;
mod x509;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::pkcs8::DecodePublicKey as _;
use sha2::{Digest as _, Sha256};

pub use verdict::{Unusable, Verdict};
pub use x509::X509Info;

/// Why a key could not be loaded or a signature did not verify.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The key material could not be read or parsed.
    #[error("cannot read key: {0}")]
    BadKey(String),
    /// The key's type, curve or algorithm is not one we support.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// The signature is malformed or does not match the message and key.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// Reading a key file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that could not be read.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The family of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// ECDSA over NIST P-256.
    P256,
    /// RSA (used with PSS or PKCS#1 v1.5).
    Rsa,
    /// Ed25519 (EdDSA).
    Ed25519,
}

/// A signature algorithm, as named by JOSE/COSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA P-256 with SHA-256; the signature is raw `r || s` (64 bytes).
    Es256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    Ps256,
    /// Ed25519.
    EdDsa,
}

/// A public key of one of the supported families.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// A P-256 ECDSA verifying key.
    P256(p256::ecdsa::VerifyingKey),
    /// An RSA public key.
    Rsa(rsa::PublicKey),
    /// An Ed25519 verifying key.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The key's family.
    pub fn family(&self) -> KeyFamily {
        match self {
            Self::P256(_) => KeyFamily::P256,
            Self::Rsa(_) => KeyFamily::Rsa,
            Self::Ed25519(_) => KeyFamily::Ed25519,
        }
    }

    /// Parses a DER SubjectPublicKeyInfo of any supported family.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, TrustError> {
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(Self::P256(key));
        }
        if let Ok(key) = <rsa::PublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(der) {
            return Ok(Self::Rsa(key));
        }
        if let Ok(key) =
            <ed25519_dalek::VerifyingKey as ed25519_dalek::pkcs8::DecodePublicKey>::from_public_key_der(der)
        {
            return Ok(Self::Ed25519(key));
        }
        Err(TrustError::Unsupported(
            "public key is not P-256, RSA or Ed25519".into(),
        ))
    }

    /// Verifies `sig` over `msg` with `alg`, which must suit the key's family.
    pub fn verify(
        &self,
        alg: SignatureAlgorithm,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), TrustError> {
        match (self, alg) {
            (Self::P256(key), SignatureAlgorithm::Es256) => verify_es256(key, msg, sig),
            (Self::Rsa(key), SignatureAlgorithm::Ps256) => verify_ps256(key, msg, sig),
            (Self::Ed25519(key), SignatureAlgorithm::EdDsa) => verify_ed25519(key, msg, sig),
            (key, alg) => Err(TrustError::BadSignature(format!(
                "algorithm {alg:?} does not fit a {:?} key",
                key.family()
            ))),
        }
    }
}

/// Verifies an ES256 signature given as raw `r || s` (exactly 64 bytes; DER is refused).
pub fn verify_es256(
    key: &p256::ecdsa::VerifyingKey,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TrustError> {
    use p256::ecdsa::signature::Verifier as _;
    if sig.len() != 64 {
        return Err(TrustError::BadSignature(format!(
            "ES256 signature must be 64 bytes, got {}",
            sig.len()
        )));
    }
    let sig = p256::ecdsa::Signature::from_slice(sig)
        .map_err(|e| TrustError::BadSignature(e.to_string()))?;
    key.verify(msg, &sig)
        .map_err(|e| TrustError::BadSignature(e.to_string()))
}

/// Verifies an RSASSA-PSS signature (SHA-256, MGF1-SHA-256, salt length 32).
pub fn verify_ps256(key: &rsa::PublicKey, msg: &[u8], sig: &[u8]) -> Result<(), TrustError> {
    use rsa::signature::Verifier as _;
    let sig =
        rsa::pss::Signature::try_from(sig).map_err(|e| TrustError::BadSignature(e.to_string()))?;
    rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new_with_salt_len(key.clone(), 32)
        .verify(msg, &sig)
        .map_err(|e| TrustError::BadSignature(e.to_string()))
}

/// Verifies an Ed25519 signature (64 bytes).
pub fn verify_ed25519(
    key: &ed25519_dalek::VerifyingKey,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TrustError> {
    let sig = ed25519_dalek::Signature::from_slice(sig)
        .map_err(|e| TrustError::BadSignature(e.to_string()))?;
    key.verify_strict(msg, &sig)
        .map_err(|e| TrustError::BadSignature(e.to_string()))
}

/// One trusted key with what is known about it.
#[derive(Debug, Clone)]
pub struct TrustEntry {
    /// Key id bytes (a JWK `kid` as UTF-8, or an EU DCC 8-byte kid), when known.
    pub kid: Option<Vec<u8>>,
    /// The public key.
    pub key: PublicKey,
    /// Signer-certificate details, when the key came from an X.509 certificate.
    pub x509: Option<X509Info>,
    /// The issuer this key belongs to (e.g. an SHC `iss` URL), when known.
    pub issuer: Option<String>,
    /// The JWK `crlVersion` (SMART Health Cards revocation), when given.
    pub crl_version: Option<u64>,
    /// The JWK `alg`, when given.
    pub jwk_alg: Option<String>,
}

impl TrustEntry {
    /// An entry with only a key.
    pub fn new(key: PublicKey) -> Self {
        Self {
            kid: None,
            key,
            x509: None,
            issuer: None,
            crl_version: None,
            jwk_alg: None,
        }
    }

    /// The key family.
    pub fn family(&self) -> KeyFamily {
        self.key.family()
    }
}

/// A set of trusted public keys.
#[derive(Debug, Clone, Default)]
pub struct TrustList {
    entries: Vec<TrustEntry>,
}

impl TrustList {
    /// An empty trust list.
    pub fn new() -> Self {
        Self::default()
    }

    /// All entries.
    pub fn entries(&self) -> &[TrustEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a ready-made entry.
    pub fn add_entry(&mut self, entry: TrustEntry) {
        self.entries.push(entry);
    }

    /// All entries whose kid equals `kid` (the EU rule: try every match).
    pub fn find_by_kid(&self, kid: &[u8]) -> Vec<&TrustEntry> {
        self.entries
            .iter()
            .filter(|e| e.kid.as_deref() == Some(kid))
            .collect()
    }

    /// Loads a key file, detecting PEM, JWK/JWKS, base58 key JSON, DER or base64 DER by content.
    /// Returns how many keys were added.
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<usize, TrustError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| TrustError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.load_bytes(&bytes, None)
    }

    /// Loads keys from bytes in any supported format; `issuer` tags JWKS keys with their issuer.
    pub fn load_bytes(&mut self, bytes: &[u8], issuer: Option<&str>) -> Result<usize, TrustError> {
        if bytes.first() == Some(&0x30) {
            self.add_x509_der(bytes)?;
            return Ok(1);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| TrustError::BadKey("neither DER nor UTF-8 text".into()))?
            .trim();
        if text.starts_with("-----BEGIN") {
            self.add_pem(text)
        } else if text.starts_with('{') {
            self.add_json(text, issuer)
        } else {
            self.add_x509_base64(text)?;
            Ok(1)
        }
    }

    /// Adds every key of a PEM text (PUBLIC KEY, CERTIFICATE, RSA PUBLIC KEY blocks).
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, TrustError> {
        let blocks = pem_blocks(pem)?;
        let mut added = 0;
        for (label, der) in blocks {
            match label.as_str() {
                "CERTIFICATE" => self.add_x509_der(&der)?,
                "PUBLIC KEY" => self.add_entry(TrustEntry::new(PublicKey::from_spki_der(&der)?)),
                "RSA PUBLIC KEY" => {
                    let key =
                        <rsa::PublicKey as rsa::pkcs1::DecodeRsaPublicKey>::from_pkcs1_der(&der)
                            .map_err(|e| TrustError::BadKey(e.to_string()))?;
                    self.add_entry(TrustEntry::new(PublicKey::Rsa(key)));
                }
                _ => continue,
            }
            added += 1;
        }
        if added == 0 {
            return Err(TrustError::BadKey("no public key in PEM".into()));
        }
        Ok(added)
    }

    /// Adds keys from JSON: a JWKS (`keys`), a single JWK (`kty`), or a verification-method
    /// object with `publicKeyBase58` (Ed25519) or `publicKeyPem`.
    pub fn add_json(&mut self, json: &str, issuer: Option<&str>) -> Result<usize, TrustError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| TrustError::BadKey(e.to_string()))?;
        if value.get("keys").is_some() {
            return self.add_jwks(&value, issuer);
        }
        if value.get("kty").is_some() {
            self.add_jwk(&value, issuer)?;
            return Ok(1);
        }
        if let Some(b58) = value.get("publicKeyBase58").and_then(|v| v.as_str()) {
            let kid = value.get("id").and_then(|v| v.as_str());
            self.add_ed25519_base58(b58, kid)?;
            return Ok(1);
        }
        if let Some(pem) = value.get("publicKeyPem").and_then(|v| v.as_str()) {
            return self.add_pem(pem);
        }
        Err(TrustError::BadKey("JSON holds no known key form".into()))
    }

    /// Adds every key of a JWKS (`{"keys":[...]}`); keys of unsupported types are an error.
    pub fn add_jwks(
        &mut self,
        jwks: &serde_json::Value,
        issuer: Option<&str>,
    ) -> Result<usize, TrustError> {
        let keys = jwks
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| TrustError::BadKey("JWKS has no keys array".into()))?;
        for jwk in keys {
            self.add_jwk(jwk, issuer)?;
        }
        Ok(keys.len())
    }

    /// Adds one JWK (EC P-256, RSA, or OKP Ed25519). A key with an X.509 chain (`x5c`) is also
    /// findable by its leaf certificate's EU DCC kid.
    pub fn add_jwk(
        &mut self,
        jwk: &serde_json::Value,
        issuer: Option<&str>,
    ) -> Result<(), TrustError> {
        let key = jwk_public_key(jwk)?;
        let mut entry = TrustEntry::new(key);
        entry.kid = jwk_str(jwk, "kid").map(|k| k.as_bytes().to_vec());
        entry.issuer = issuer.map(str::to_owned);
        entry.crl_version = jwk.get("crlVersion").and_then(|v| v.as_u64());
        entry.jwk_alg = jwk_str(jwk, "alg").map(str::to_owned);
        if let Some(leaf) = jwk
            .get("x5c")
            .and_then(|c| c.as_array())
            .and_then(|c| c.first())
            .and_then(|c| c.as_str())
        {
            let der = STANDARD
                .decode(leaf)
                .map_err(|e| TrustError::BadKey(format!("x5c: {e}")))?;
            entry.x509 = Some(X509Info::from_der(&der)?);
            // An EU DCC names its signer by the certificate's own kid, not the JWK's.
            let mut by_certificate = entry.clone();
            by_certificate.kid = Some(dcc_kid(&der).to_vec());
            self.add_entry(by_certificate);
        }
        self.add_entry(entry);
        Ok(())
    }

    /// Adds an X.509 signer certificate (DER); the kid is the EU DCC kid (first 8 bytes of the
    /// certificate's SHA-256).
    pub fn add_x509_der(&mut self, der: &[u8]) -> Result<(), TrustError> {
        let info = X509Info::from_der(der)?;
        let key = PublicKey::from_spki_der(&info.spki_der)?;
        let mut entry = TrustEntry::new(key);
        entry.kid = Some(dcc_kid(der).to_vec());
        entry.x509 = Some(info);
        self.add_entry(entry);
        Ok(())
    }

    /// Adds an X.509 signer certificate given as base64 DER (the EU gateway form).
    pub fn add_x509_base64(&mut self, b64: &str) -> Result<(), TrustError> {
        let cleaned: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(cleaned)
            .map_err(|e| TrustError::BadKey(format!("base64 certificate: {e}")))?;
        self.add_x509_der(&der)
    }

    /// Adds a raw Ed25519 public key given in base58 (`publicKeyBase58`).
    pub fn add_ed25519_base58(&mut self, b58: &str, kid: Option<&str>) -> Result<(), TrustError> {
        let raw = bs58::decode(b58)
            .into_vec()
            .map_err(|e| TrustError::BadKey(format!("base58: {e}")))?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| TrustError::BadKey("Ed25519 key must be 32 bytes".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|e| TrustError::BadKey(e.to_string()))?;
        let mut entry = TrustEntry::new(PublicKey::Ed25519(key));
        entry.kid = kid.map(|k| k.as_bytes().to_vec());
        self.add_entry(entry);
        Ok(())
    }

    /// Adds a P-256 key with a kid, e.g. the issuer's own key after signing.
    pub fn add_p256(&mut self, key: p256::ecdsa::VerifyingKey, kid: &[u8], issuer: Option<&str>) {
        let mut entry = TrustEntry::new(PublicKey::P256(key));
        entry.kid = Some(kid.to_vec());
        entry.issuer = issuer.map(str::to_owned);
        self.add_entry(entry);
    }
}

/// The EU DCC key id of a signer certificate: the first 8 bytes of SHA-256 over its DER.
pub fn dcc_kid(cert_der: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(cert_der);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

fn jwk_str<'a>(jwk: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(|v| v.as_str())
}

fn jwk_bytes(jwk: &serde_json::Value, name: &str) -> Result<Vec<u8>, TrustError> {
    let text = jwk_str(jwk, name).ok_or_else(|| TrustError::BadKey(format!("JWK lacks {name}")))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| TrustError::BadKey(format!("JWK {name}: {e}")))
}

/// The public key of a JWK (EC P-256, RSA, OKP Ed25519).
pub fn jwk_public_key(jwk: &serde_json::Value) -> Result<PublicKey, TrustError> {
    match (jwk_str(jwk, "kty"), jwk_str(jwk, "crv")) {
        (Some("EC"), Some("P-256")) => {
            let mut sec1 = vec![0x04];
            sec1.extend(fixed_32(&jwk_bytes(jwk, "x")?)?);
            sec1.extend(fixed_32(&jwk_bytes(jwk, "y")?)?);
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map_err(|e| TrustError::BadKey(e.to_string()))?;
            Ok(PublicKey::P256(key))
        }
        (Some("OKP"), Some("Ed25519")) => {
            let raw: [u8; 32] = jwk_bytes(jwk, "x")?
                .try_into()
                .map_err(|_| TrustError::BadKey("Ed25519 x must be 32 bytes".into()))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map_err(|e| TrustError::BadKey(e.to_string()))?;
            Ok(PublicKey::Ed25519(key))
        }
        (Some("RSA"), _) => {
            let n = rsa::BoxedUint::from_be_slice_vartime(&jwk_bytes(jwk, "n")?);
            let e = rsa::BoxedUint::from_be_slice_vartime(&jwk_bytes(jwk, "e")?);
            let key = rsa::PublicKey::new(n, e).map_err(|e| TrustError::BadKey(e.to_string()))?;
            Ok(PublicKey::Rsa(key))
        }
        (kty, crv) => Err(TrustError::Unsupported(format!(
            "JWK kty {kty:?} crv {crv:?}"
        ))),
    }
}

fn fixed_32(bytes: &[u8]) -> Result<[u8; 32], TrustError> {
    bytes
        .try_into()
        .map_err(|_| TrustError::BadKey("P-256 coordinate must be 32 bytes".into()))
}

/// Splits a PEM text into (label, DER) blocks.
fn pem_blocks(pem: &str) -> Result<Vec<(String, Vec<u8>)>, TrustError> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in pem.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_owned(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, body)) = current.take() {
                let der = STANDARD
                    .decode(body)
                    .map_err(|e| TrustError::BadKey(format!("PEM {label}: {e}")))?;
                blocks.push((label, der));
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    Ok(blocks)
}
