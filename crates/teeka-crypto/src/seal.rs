//! The sealing key ring: authenticated encryption (XChaCha20-Poly1305) of values at rest, with
//! key ids in every sealed value so keys can be rotated without re-encrypting old data first.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;
use crate::mac::decode_key_hex;
use crate::random::random_bytes;

/// The only sealed format so far; a new one gets a new byte so old values stay readable.
const FORMAT_V1: u8 = 0x01;
/// Length of an XChaCha20 nonce: long enough that random nonces never collide in practice.
const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag appended to the ciphertext.
const TAG_LEN: usize = 16;
/// Version byte ‖ key id ‖ nonce.
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// A sealed empty plaintext; anything shorter cannot be a sealed value.
const MIN_SEALED_LEN: usize = HEADER_LEN + TAG_LEN;

/// A 32-byte sealing key, wiped from memory when dropped.
type SecretKey = Zeroizing<[u8; 32]>;

/// AEAD key ring: XChaCha20-Poly1305 with 24-byte random nonces. Keys are 32 bytes, ids are `u32`.
///
/// New values are sealed under the current key; values sealed under any key still in the ring
/// open. `Debug` shows only the key ids.
#[derive(Clone)]
pub struct SealingKeyRing {
    keys: BTreeMap<u32, SecretKey>,
    current: u32,
}

impl SealingKeyRing {
    /// A ring with one random key, id 1, which is current.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        keys.insert(1, Zeroizing::new(random_bytes::<32>()?));
        Ok(Self { keys, current: 1 })
    }

    /// A copy of this ring plus a new random key with id = highest id + 1, which becomes current.
    /// Old keys stay so that existing sealed values still open.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails;
    /// [`CryptoError::BadKeyMaterial`] when the ring already holds key id `u32::MAX`.
    pub fn with_new_key(&self) -> Result<Self, CryptoError> {
        let highest = self.keys.keys().next_back().copied().unwrap_or(0);
        let id = highest
            .checked_add(1)
            .ok_or_else(|| CryptoError::BadKeyMaterial("no key id left after u32::MAX".into()))?;
        let mut ring = self.clone();
        ring.keys.insert(id, Zeroizing::new(random_bytes::<32>()?));
        ring.current = id;
        Ok(ring)
    }

    /// The id of the key new values are sealed under.
    #[must_use]
    pub fn current_id(&self) -> u32 {
        self.current
    }

    /// All key ids in the ring, ascending.
    #[must_use]
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Encrypts `plaintext` under the current key with a fresh random nonce.
    ///
    /// Format: byte 0x01 (format version) ‖ key id (u32 big-endian) ‖ 24-byte nonce ‖
    /// ciphertext‖tag. `context` is bound as associated data (e.g. `b"beneficiary.name"`), so a
    /// ciphertext moved to another column fails to open.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.cipher(self.current)?;
        let nonce = random_bytes::<NONCE_LEN>()?;
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            // Only a plaintext of 256 GiB or more makes encryption fail.
            .map_err(|_| CryptoError::Malformed)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&self.current.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts a value made by [`SealingKeyRing::seal`] with the same `context`.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for a value too short or of an unknown format version;
    /// [`CryptoError::UnknownKey`] when its key id is not in the ring;
    /// [`CryptoError::Decrypt`] when it was altered or `context` differs.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key_id = Self::key_id_of(sealed)?;
        let cipher = self.cipher(key_id)?;
        let (nonce, ciphertext) = sealed[1 + 4..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// The id of the key a sealed value was sealed under, read from its header without
    /// decrypting (e.g. to find values still under an old key during rotation).
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for a value too short or of an unknown format version.
    pub fn key_id_of(sealed: &[u8]) -> Result<u32, CryptoError> {
        if sealed.len() < MIN_SEALED_LEN || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Malformed);
        }
        let id: [u8; 4] = sealed[1..5]
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(u32::from_be_bytes(id))
    }

    /// The ring as JSON, the format of `vault.json` and `TEEKA_VAULT_KEYS`:
    /// `{"current":2,"keys":{"1":"<64 hex>","2":"<64 hex>"}}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let keys: serde_json::Map<String, serde_json::Value> = self
            .keys
            .iter()
            .map(|(id, key)| (id.to_string(), hex::encode(&key[..]).into()))
            .collect();
        serde_json::json!({ "current": self.current, "keys": keys }).to_string()
    }

    /// Parses a ring written by [`SealingKeyRing::to_json`].
    ///
    /// # Errors
    /// [`CryptoError::BadKeyMaterial`] when the JSON does not have that shape, the ring is
    /// empty, the current key is missing or a key is not 32 bytes of hex.
    pub fn from_json(text: &str) -> Result<Self, CryptoError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RingFile {
            current: u32,
            keys: BTreeMap<u32, String>,
        }

        // serde_json's message could quote part of the input, i.e. key material: keep only the
        // position.
        let mut file: RingFile = serde_json::from_str(text).map_err(|e| {
            CryptoError::BadKeyMaterial(format!(
                "key ring JSON is invalid (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let parsed = Self::from_parts(file.current, &file.keys);
        for hex in file.keys.values_mut() {
            hex.zeroize();
        }
        parsed
    }

    /// Builds and validates a ring from parsed JSON fields.
    fn from_parts(current: u32, hex_keys: &BTreeMap<u32, String>) -> Result<Self, CryptoError> {
        let mut keys = BTreeMap::new();
        for (&id, hex) in hex_keys {
            let key = decode_key_hex(hex).map_err(|e| match e {
                CryptoError::BadKeyMaterial(why) => {
                    CryptoError::BadKeyMaterial(format!("key ring key {id}: {why}"))
                }
                other => other,
            })?;
            keys.insert(id, key);
        }
        if !keys.contains_key(&current) {
            return Err(CryptoError::BadKeyMaterial(format!(
                "key ring's current key {current} is not among its keys"
            )));
        }
        Ok(Self { keys, current })
    }

    /// The AEAD instance for one key of the ring; it wipes its copy of the key when dropped.
    fn cipher(&self, key_id: u32) -> Result<XChaCha20Poly1305, CryptoError> {
        let key = self
            .keys
            .get(&key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        Ok(XChaCha20Poly1305::new((&**key).into()))
    }
}

impl fmt::Debug for SealingKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKeyRing")
            .field("current", &self.current)
            .field("key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CONTEXT: &[u8] = b"beneficiary.name";

    #[test]
    fn seal_open_round_trip() {
        let ring = SealingKeyRing::generate().unwrap();
        assert_eq!(ring.current_id(), 1);
        assert_eq!(ring.key_ids(), vec![1]);
        for plaintext in [&b""[..], b"Asha Devi", &[0xffu8; 1000][..]] {
            let sealed = ring.seal(plaintext, CONTEXT).unwrap();
            assert_eq!(sealed.len(), MIN_SEALED_LEN + plaintext.len());
            assert_eq!(sealed[0], FORMAT_V1);
            assert_eq!(SealingKeyRing::key_id_of(&sealed).unwrap(), 1);
            assert_eq!(ring.open(&sealed, CONTEXT).unwrap(), plaintext);
        }
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let ring = SealingKeyRing::generate().unwrap();
        let a = ring.seal(b"same", CONTEXT).unwrap();
        let b = ring.seal(b"same", CONTEXT).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_context_fails() {
        let ring = SealingKeyRing::generate().unwrap();
        let sealed = ring.seal(b"Asha Devi", CONTEXT).unwrap();
        assert!(matches!(
            ring.open(&sealed, b"beneficiary.mobile"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(ring.open(&sealed, b""), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn any_flipped_bit_fails() {
        let ring = SealingKeyRing::generate().unwrap();
        let sealed = ring.seal(b"Asha Devi", CONTEXT).unwrap();
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut tampered = sealed.clone();
                tampered[byte] ^= 1 << bit;
                assert!(
                    ring.open(&tampered, CONTEXT).is_err(),
                    "flip of byte {byte} bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn truncated_input_is_malformed() {
        let ring = SealingKeyRing::generate().unwrap();
        let sealed = ring.seal(b"", CONTEXT).unwrap();
        for len in 0..sealed.len() {
            assert!(matches!(
                ring.open(&sealed[..len], CONTEXT),
                Err(CryptoError::Malformed)
            ));
            assert!(matches!(
                SealingKeyRing::key_id_of(&sealed[..len]),
                Err(CryptoError::Malformed)
            ));
        }
        let mut other_version = sealed.clone();
        other_version[0] = 0x02;
        assert!(matches!(
            ring.open(&other_version, CONTEXT),
            Err(CryptoError::Malformed)
        ));
        // A longer value cut short is not malformed by length but fails authentication.
        let long = ring.seal(b"Asha Devi", CONTEXT).unwrap();
        assert!(matches!(
            ring.open(&long[..long.len() - 1], CONTEXT),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn unknown_key_id_is_reported() {
        let ring = SealingKeyRing::generate().unwrap();
        let mut sealed = ring.seal(b"Asha Devi", CONTEXT).unwrap();
        sealed[1..5].copy_from_slice(&7u32.to_be_bytes());
        assert!(matches!(
            ring.open(&sealed, CONTEXT),
            Err(CryptoError::UnknownKey(7))
        ));
    }

    #[test]
    fn rotation_seals_under_new_key_and_old_values_still_open() {
        let ring = SealingKeyRing::generate().unwrap();
        let old = ring.seal(b"before rotation", CONTEXT).unwrap();
        let rotated = ring.with_new_key().unwrap();
        assert_eq!(rotated.current_id(), 2);
        assert_eq!(rotated.key_ids(), vec![1, 2]);
        // The original ring is untouched.
        assert_eq!(ring.key_ids(), vec![1]);

        let new = rotated.seal(b"after rotation", CONTEXT).unwrap();
        assert_eq!(SealingKeyRing::key_id_of(&new).unwrap(), 2);
        assert_eq!(rotated.open(&old, CONTEXT).unwrap(), b"before rotation");
        assert_eq!(rotated.open(&new, CONTEXT).unwrap(), b"after rotation");
        assert!(matches!(
            ring.open(&new, CONTEXT),
            Err(CryptoError::UnknownKey(2))
        ));

        // Ids follow the highest, not the current, key.
        let third = rotated.with_new_key().unwrap();
        assert_eq!(third.current_id(), 3);
    }

    #[test]
    fn json_round_trip_keeps_behaviour() {
        let ring = SealingKeyRing::generate().unwrap().with_new_key().unwrap();
        let old = ring.seal(b"x", CONTEXT).unwrap();
        let json = ring.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["current"], 2);
        let keys = value["keys"].as_object().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            keys.values()
                .all(|k| k.as_str().is_some_and(|h| h.len() == 64))
        );

        let back = SealingKeyRing::from_json(&json).unwrap();
        assert_eq!(back.current_id(), 2);
        assert_eq!(back.key_ids(), vec![1, 2]);
        assert_eq!(back.to_json(), json);
        assert_eq!(back.open(&old, CONTEXT).unwrap(), b"x");
        let new = back.seal(b"y", CONTEXT).unwrap();
        assert_eq!(ring.open(&new, CONTEXT).unwrap(), b"y");
    }

    #[test]
    fn from_json_rejects_bad_rings() {
        let key = "11".repeat(32);
        let ok = format!(r#"{{"current":1,"keys":{{"1":"{key}"}}}}"#);
        assert!(SealingKeyRing::from_json(&ok).is_ok());

        let bad = [
            format!(r#"{{"current":2,"keys":{{"1":"{key}"}}}}"#),
            r#"{"current":1,"keys":{}}"#.to_owned(),
            format!(r#"{{"current":1,"keys":{{"1":"{}"}}}}"#, "11".repeat(31)),
            format!(r#"{{"current":1,"keys":{{"1":"{}"}}}}"#, "11".repeat(33)),
            format!(r#"{{"current":1,"keys":{{"1":"{}zz"}}}}"#, "11".repeat(31)),
            format!(r#"{{"current":1,"keys":{{"x":"{key}"}}}}"#),
            format!(r#"{{"current":1,"keys":{{"1":"{key}"}},"extra":true}}"#),
            "not json".to_owned(),
        ];
        for text in &bad {
            let err = SealingKeyRing::from_json(text).unwrap_err();
            assert!(matches!(err, CryptoError::BadKeyMaterial(_)), "{text}");
            assert!(!err.to_string().contains(&"11".repeat(8)), "{err}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ring = SealingKeyRing::generate().unwrap().with_new_key().unwrap();
        let debug = format!("{ring:?}");
        let value: serde_json::Value = serde_json::from_str(&ring.to_json()).unwrap();
        for hex in value["keys"].as_object().unwrap().values() {
            assert!(!debug.contains(hex.as_str().unwrap()), "{debug}");
        }
        assert!(debug.contains("key_ids"), "{debug}");
    }
}
