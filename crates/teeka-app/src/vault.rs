//! The personal-data vault: seals names, mobiles and ID numbers before they reach storage, makes
//! the keyed hashes that stand in for them in lookups, and opens sealed values for holders of an
//! access grant. Keys live in a versioned key ring; a value sealed under an unknown key id makes
//! the vault reload its keys once (another process may have rotated them).

use crate::AppError;
use crate::access::Grant;
use std::path::PathBuf;
use std::sync::RwLock;
use teeka_crypto::{CryptoError, Keys, SealingKeyRing};

/// Where the keys came from, so that they can be reloaded after a rotation.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Files in a directory (`<data-dir>/keys`).
    Directory(PathBuf),
    /// The environment (`TEEKA_VAULT_KEYS`, …): rotation means restarting with new values.
    Environment,
    /// Given directly (tests).
    Fixed,
}

/// The vault.
pub struct Vault {
    keys: RwLock<Keys>,
    source: KeySource,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn crypto(e: CryptoError) -> AppError {
    AppError::Crypto(e.to_string())
}

impl Vault {
    /// A vault over `keys`.
    pub fn new(keys: Keys, source: KeySource) -> Self {
        Self {
            keys: RwLock::new(keys),
            source,
        }
    }

    /// Development and demo: keys from `dir`, created (0600) on first run.
    pub fn load_or_create(dir: PathBuf) -> Result<Self, AppError> {
        let keys = teeka_crypto::keyfiles::load_or_create(&dir).map_err(crypto)?;
        Ok(Self::new(keys, KeySource::Directory(dir)))
    }

    /// Production: keys from the environment if set, else from `dir`, which must already hold
    /// them (a production server never invents its own keys).
    pub fn load_existing(dir: PathBuf) -> Result<Self, AppError> {
        if let Some(keys) = teeka_crypto::keyfiles::from_env().map_err(crypto)? {
            return Ok(Self::new(keys, KeySource::Environment));
        }
        let keys = teeka_crypto::keyfiles::load(&dir).map_err(crypto)?;
        Ok(Self::new(keys, KeySource::Directory(dir)))
    }

    /// The key that signs the ledger's checkpoints.
    pub fn ledger_key(&self) -> teeka_crypto::Ed25519Key {
        self.read().ledger.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Seals `plaintext` under the current key, bound to `context` (the column it belongs in).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, AppError> {
        self.read().sealing.seal(plaintext, context).map_err(crypto)
    }

    /// The blind index of a value: a keyed hash under the blind-index key, per `domain`.
    pub fn blind_index(&self, domain: &[u8], value: &[u8]) -> Vec<u8> {
        self.read().blind_index.mac(domain, value).to_vec()
    }

    /// A keyed hash under the OTP key.
    pub fn otp_hash(&self, value: &[u8]) -> Vec<u8> {
        self.read().otp.mac(b"otp", value).to_vec()
    }

    /// A keyed tag for a short-lived server challenge (under the OTP key, in its own domain), so
    /// any process holding the keys can check a challenge another issued, with nothing stored.
    pub fn challenge_tag(&self, value: &[u8]) -> [u8; 32] {
        self.read().otp.mac(b"pow.challenge", value)
    }

    /// Opens a sealed value belonging to `owner` (the account it is registered on); needs a
    /// grant that covers that owner, so a grant for one account cannot open another's data.
    pub fn open(
        &self,
        grant: &impl Grant,
        owner: uuid::Uuid,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        self.open_for(grant, owner, None, sealed, context)
    }

    /// Opens a sealed value of one person (`subject`, registered on `owner`); needs a grant that
    /// covers that person.
    pub fn open_person(
        &self,
        grant: &impl Grant,
        owner: uuid::Uuid,
        subject: uuid::Uuid,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        self.open_for(grant, owner, Some(subject), sealed, context)
    }

    fn open_for(
        &self,
        grant: &impl Grant,
        owner: uuid::Uuid,
        subject: Option<uuid::Uuid>,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        if !grant.covers(owner, subject) {
            return Err(crate::citizen::not_found());
        }
        self.open_unchecked(sealed, context)
    }

    /// Opens without a grant: only for the system's own delivery and rotation paths in this crate.
    pub(crate) fn open_unchecked(
        &self,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        match self.read().sealing.open(sealed, context) {
            Err(CryptoError::UnknownKey(_)) => {}
            other => return other.map_err(crypto),
        }
        self.reload()?;
        self.read().sealing.open(sealed, context).map_err(crypto)
    }

    /// Re-reads the sealing keys from their directory (after another process rotated them).
    pub fn reload(&self) -> Result<(), AppError> {
        if let KeySource::Directory(dir) = &self.source {
            let fresh = teeka_crypto::keyfiles::load(dir).map_err(crypto)?;
            self.keys.write().unwrap_or_else(|p| p.into_inner()).sealing = fresh.sealing;
        }
        Ok(())
    }

    /// The current sealing key ring (for rotation).
    pub(crate) fn sealing_ring(&self) -> SealingKeyRing {
        self.read().sealing.clone()
    }

    /// Installs a new sealing key ring (for rotation).
    pub(crate) fn install_ring(&self, ring: SealingKeyRing) {
        self.keys.write().unwrap_or_else(|p| p.into_inner()).sealing = ring;
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }
}
