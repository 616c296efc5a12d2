//! Teeka's cryptography: sealed (encrypted) database columns, keyed hashes for blind indexes and
//! OTPs, random OTPs and session tokens, staff passwords (argon2id) and authenticator codes
//! (TOTP), the access ledger's Merkle tree and its Ed25519-signed checkpoints, and the key files that hold an installation's secrets.
//!
//! Every secret lives in a type that zeroizes it on drop and whose `Debug` output shows no key
//! material, so keys cannot leak through logs or panic messages.

#![forbid(unsafe_code)]

mod error;
pub mod issuer;
pub mod keyfiles;
mod mac;
pub mod merkle;
pub mod note;
pub mod password;
mod random;
mod seal;
mod signing;
pub mod totp;

pub use error::CryptoError;
pub use mac::{MacKey, constant_time_eq, sha256, sha256_hex};
pub use random::{generate_otp, random_bytes, random_token};
pub use seal::SealingKeyRing;
pub use signing::{Ed25519Key, verify_ed25519};

/// All of an installation's keys.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Encrypts personal data at rest (sealed columns).
    pub sealing: SealingKeyRing,
    /// Keys the blind indexes that let sealed columns be searched by exact value.
    pub blind_index: MacKey,
    /// Keys the hashes under which OTPs are stored.
    pub otp: MacKey,
    /// Signs the access ledger's checkpoints.
    pub ledger: Ed25519Key,
}

impl Keys {
    /// Fresh random keys: one sealing key (id 1) and two independent MAC keys.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            sealing: SealingKeyRing::generate()?,
            blind_index: MacKey::generate()?,
            otp: MacKey::generate()?,
            ledger: Ed25519Key::generate()?,
        })
    }
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_debug_shows_no_key_material() {
        let keys = Keys::generate().unwrap();
        let debug = format!("{keys:?}");
        for (_, hex) in ring_hexes(&keys.sealing) {
            assert!(!debug.contains(&hex), "{debug}");
        }
        assert!(!debug.contains(&keys.blind_index.to_hex()));
        assert!(!debug.contains(&keys.otp.to_hex()));
        // The MAC keys are independent draws, not one key used twice.
        assert_ne!(keys.blind_index.to_hex(), keys.otp.to_hex());
    }

    fn ring_hexes(ring: &SealingKeyRing) -> Vec<(String, String)> {
        let value: serde_json::Value = serde_json::from_str(&ring.to_json()).unwrap();
        value["keys"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, hex)| (id.clone(), hex.as_str().unwrap().to_owned()))
            .collect()
    }
}
