//! The certificate issuer's keys: each generation is an Ed25519 key (W3C credentials,
//! `Ed25519Signature2018`) and a P-256 key (EU DCC and SMART Health Cards, ES256), under one key
//! id. Rotation adds a generation and makes it current; old generations stay in the ring so the
//! certificates they signed keep verifying, and their public halves stay published.

use crate::{CryptoError, Ed25519Key};
use p256::ecdsa::SigningKey as P256Key;
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// One generation of issuer keys.
#[derive(Clone)]
pub struct IssuerKey {
    /// Its id (`t` and 12 hex digits of the SHA-256 of the Ed25519 public key), printed in every
    /// certificate it signs.
    pub kid: String,
    /// Signs W3C credentials.
    pub ed25519: Ed25519Key,
    /// Signs EU DCCs and SMART Health Cards.
    pub p256: P256Key,
    /// When it was made (unix ms).
    pub created_ms: i64,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKey({}, {:?})", self.kid, self.ed25519)
    }
}

impl IssuerKey {
    /// A fresh generation made at `created_ms`.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn generate(created_ms: i64) -> Result<Self, CryptoError> {
        let ed25519 = Ed25519Key::generate()?;
        let p256 = loop {
            let mut scalar = Zeroizing::new([0u8; 32]);
            getrandom::fill(scalar.as_mut()).map_err(|_| CryptoError::Random)?;
            // Out of range (above the group order, or zero) is astronomically rare: draw again.
            if let Ok(key) = P256Key::from_slice(scalar.as_ref()) {
                break key;
            }
        };
        Ok(Self {
            kid: kid_of(&ed25519.public()),
            ed25519,
            p256,
            created_ms,
        })
    }

    /// The uncompressed P-256 public point's coordinates (x, y), 32 bytes each.
    #[must_use]
    pub fn p256_public_xy(&self) -> ([u8; 32], [u8; 32]) {
        let point = self.p256.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // An uncompressed SEC1 point is 0x04 || x || y.
        if bytes.len() == 65 {
            x.copy_from_slice(&bytes[1..33]);
            y.copy_from_slice(&bytes[33..65]);
        }
        (x, y)
    }
}

/// The key id of an issuer generation, from its Ed25519 public key.
#[must_use]
pub fn kid_of(ed25519_public: &[u8; 32]) -> String {
    format!("t{}", &hex::encode(crate::sha256(ed25519_public))[..12])
}

/// Every generation, the last one current.
#[derive(Clone, Debug)]
pub struct IssuerKeyRing {
    keys: Vec<IssuerKey>,
}

impl IssuerKeyRing {
    /// A ring of one fresh generation.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn generate(created_ms: i64) -> Result<Self, CryptoError> {
        Ok(Self {
            keys: vec![IssuerKey::generate(created_ms)?],
        })
    }

    /// The generation new certificates are signed with.
    #[must_use]
    pub fn current(&self) -> &IssuerKey {
        // A ring is never empty: it is made with one key and only ever grows.
        &self.keys[self.keys.len() - 1]
    }

    /// The generation with id `kid`, current or retired.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&IssuerKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every generation, oldest first.
    #[must_use]
    pub fn all(&self) -> &[IssuerKey] {
        &self.keys
    }

    /// Adds a fresh generation and makes it current; its id.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn rotate(&mut self, created_ms: i64) -> Result<String, CryptoError> {
        let key = IssuerKey::generate(created_ms)?;
        let kid = key.kid.clone();
        self.keys.push(key);
        Ok(kid)
    }

    /// The ring as the key file holds it (private: the file is owner-only).
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "kid": k.kid,
                    "ed25519": k.ed25519.to_hex().as_str(),
                    "p256": hex::encode(k.p256.to_bytes()),
                    "created_ms": k.created_ms,
                })
            })
            .collect();
        Zeroizing::new(json!({ "keys": keys }).to_string())
    }

    /// Parses [`IssuerKeyRing::to_json`].
    ///
    /// # Errors
    /// [`CryptoError::BadKeyMaterial`] when the text is not such a ring.
    pub fn from_json(text: &str) -> Result<Self, CryptoError> {
        let bad = |why: &str| CryptoError::BadKeyMaterial(format!("issuer keys: {why}"));
        let value: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
        let mut keys = Vec::new();
        for entry in value["keys"].as_array().ok_or_else(|| bad("no keys"))? {
            let ed25519 = Ed25519Key::from_hex(entry["ed25519"].as_str().unwrap_or_default())?;
            let scalar = Zeroizing::new(
                hex::decode(entry["p256"].as_str().unwrap_or_default())
                    .map_err(|_| bad("p256 is not hex"))?,
            );
            let p256 = P256Key::from_slice(&scalar).map_err(|_| bad("p256 is not a key"))?;
            let kid = kid_of(&ed25519.public());
            if entry["kid"].as_str() != Some(kid.as_str()) {
                return Err(bad("a kid does not match its key"));
            }
            keys.push(IssuerKey {
                kid,
                ed25519,
                p256,
                created_ms: entry["created_ms"].as_i64().unwrap_or(0),
            });
        }
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        Ok(Self { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_round_trips_and_rotation_keeps_old_keys() {
        let mut ring = IssuerKeyRing::generate(1).expect("ring");
        let first = ring.current().kid.clone();
        let second = ring.rotate(2).expect("rotate");
        assert_ne!(first, second);
        assert_eq!(ring.current().kid, second);
        let back = IssuerKeyRing::from_json(&ring.to_json()).expect("parse");
        assert_eq!(back.all().len(), 2);
        assert!(back.get(&first).is_some());
        assert_eq!(
            back.current().ed25519.public(),
            ring.current().ed25519.public()
        );
        assert_eq!(
            back.current().p256_public_xy(),
            ring.current().p256_public_xy()
        );
        assert!(!format!("{ring:?}").contains(ring.current().ed25519.to_hex().as_str()));
    }

    #[test]
    fn a_tampered_kid_is_refused() {
        let ring = IssuerKeyRing::generate(1).expect("ring");
        let text = ring.to_json().replace(&ring.current().kid, "t000000000000");
        assert!(IssuerKeyRing::from_json(&text).is_err());
    }
}
