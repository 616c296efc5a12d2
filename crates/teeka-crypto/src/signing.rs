//! Ed25519 signing keys (RFC 8032): the ledger's checkpoint key and a witness's cosigning key.

use crate::CryptoError;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// An Ed25519 private key. `Debug` shows only the public half.
#[derive(Clone)]
pub struct Ed25519Key {
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Key(public {})", hex::encode(self.public()))
    }
}

impl Ed25519Key {
    /// A fresh random key.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the OS random number generator fails.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key from its 32-byte seed in hex (the key file's form).
    ///
    /// # Errors
    /// [`CryptoError::BadKeyMaterial`] when the text is not 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim()).map_err(|_| CryptoError::BadKeyMaterial("not hex".into()))?,
        );
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKeyMaterial("an Ed25519 seed is 32 bytes".into()))?;
        let seed = Zeroizing::new(seed);
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The seed in hex, for the key file.
    #[must_use]
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.to_bytes()))
    }

    /// The 32-byte public key.
    #[must_use]
    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The key itself, for signature formats built elsewhere (JSON-LD proofs).
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Verifies an Ed25519 signature (strictly: no malleable or small-order encodings).
#[must_use]
pub fn verify_ed25519(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok()
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1: empty message.
        let key = Ed25519Key::from_hex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        assert_eq!(
            hex::encode(key.public()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"");
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(verify_ed25519(&key.public(), b"", &sig));
        assert!(!verify_ed25519(&key.public(), b"x", &sig));
        assert!(!format!("{key:?}").contains("9d61b19d"));
    }
}
