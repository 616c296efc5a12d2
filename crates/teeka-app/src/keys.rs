//! Key rotation: a new sealing key becomes current, then every sealed value is re-sealed under it
//! in batches, each a compare-and-swap, so a running server keeps working throughout (it reloads
//! the key ring when it meets a value sealed under a key it does not know yet).

use crate::AppError;
use crate::vault::{KeySource, Vault};
use teeka_crypto::SealingKeyRing;
use teeka_store::Store;
use teeka_store::identity::SealedColumn;

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// The new current key id.
    pub key_id: u32,
    /// Values re-sealed.
    pub resealed: u64,
}

/// A lock file held for the length of a rotation, removed when dropped.
struct RotationLock(std::path::PathBuf);

impl RotationLock {
    fn take(dir: &std::path::Path) -> Result<Self, AppError> {
        let path = dir.join("rotate.lock");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|_| {
                AppError::BadInput(format!(
                    "another key rotation is running (if none is, remove {})",
                    path.display()
                ))
            })?;
        Ok(Self(path))
    }
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The header every value sealed under `key_id` starts with (format version, key id).
fn header(key_id: u32) -> Vec<u8> {
    let mut h = vec![1u8];
    h.extend_from_slice(&key_id.to_be_bytes());
    h
}

/// Adds a new sealing key, saves the ring, and re-seals everything under it, `batch` at a time.
pub async fn rotate(store: &Store, vault: &Vault, batch: i64) -> Result<RotationReport, AppError> {
    let KeySource::Directory(dir) = vault.source().clone() else {
        return Err(AppError::BadInput(
            "keys come from the environment: rotate by supplying a new TEEKA_VAULT_KEYS and restarting".into(),
        ));
    };
    // One rotation at a time: two would each add a different "next" key and one would be lost.
    let _lock = RotationLock::take(&dir)?;
    // Build on the ring as it is on disk now, not as this process last read it: another
    // rotation may have added a key since.
    vault.reload()?;
    let ring = vault
        .sealing_ring()
        .with_new_key()
        .map_err(|e| AppError::Crypto(e.to_string()))?;
    teeka_crypto::keyfiles::save_sealing(&dir, &ring)
        .map_err(|e| AppError::Crypto(e.to_string()))?;
    vault.install_ring(ring.clone());
    let resealed = reseal_all(store, vault, &ring, batch).await?;
    Ok(RotationReport {
        key_id: ring.current_id(),
        resealed,
    })
}

/// Re-seals every value not under the ring's current key.
pub async fn reseal_all(
    store: &Store,
    vault: &Vault,
    ring: &SealingKeyRing,
    batch: i64,
) -> Result<u64, AppError> {
    let prefix = header(ring.current_id());
    let mut resealed = 0;
    for column in SealedColumn::ALL {
        loop {
            let rows = store
                .sealed_not_prefixed(column, &prefix, batch.max(1))
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut progressed = false;
            for found in rows {
                let aad = column.bound_to(&found.owner);
                let plain = vault.open_unchecked(&found.sealed, &aad)?;
                let new = ring
                    .seal(&plain, &aad)
                    .map_err(|e| AppError::Crypto(e.to_string()))?;
                if store
                    .replace_sealed(column, &found.key, &found.sealed, &new)
                    .await?
                {
                    resealed += 1;
                    progressed = true;
                }
            }
            // Every value changed under us (a concurrent writer): the next page picks them up.
            if !progressed {
                tokio::task::yield_now().await;
            }
        }
    }
    Ok(resealed)
}
