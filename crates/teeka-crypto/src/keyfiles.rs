//! Key files in a directory: `vault.json` ([`SealingKeyRing::to_json`]), `blind-index.key` (hex)
//! `otp.key` and `ledger-signing.key` (hex), plus the same keys from environment variables.
//!
//! Files are written atomically (a private temp file in the same directory, then a link or
//! rename), so a crash never leaves a half-written key behind, and owner-only (0600 in a 0700
//! directory on unix).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{CryptoError, Ed25519Key, Keys, MacKey, SealingKeyRing};
use crate::random::random_bytes;

/// File holding the sealing key ring as JSON.
const VAULT_FILE: &str = "vault.json";
/// File holding the blind-index MAC key as hex.
const BLIND_INDEX_FILE: &str = "blind-index.key";
/// File holding the OTP MAC key as hex.
const OTP_FILE: &str = "otp.key";
/// File holding the ledger's Ed25519 checkpoint-signing seed as hex.
const LEDGER_FILE: &str = "ledger-signing.key";

/// Environment variable holding the sealing key ring as JSON.
const VAULT_ENV: &str = "TEEKA_VAULT_KEYS";
/// Environment variable holding the blind-index MAC key as hex.
const BLIND_INDEX_ENV: &str = "TEEKA_BLIND_INDEX_KEY";
/// Environment variable holding the OTP MAC key as hex.
const OTP_ENV: &str = "TEEKA_OTP_KEY";
/// Environment variable holding the ledger's checkpoint-signing seed as hex.
const LEDGER_ENV: &str = "TEEKA_LEDGER_SIGNING_KEY";

/// Loads the keys from `dir`, first creating the directory (mode 0700) and any missing file
/// (mode 0600, written atomically) with fresh random keys. Existing files are never overwritten,
/// even when another process creates them at the same moment.
///
/// # Errors
/// [`CryptoError::Io`] when the directory or a file cannot be created or read;
/// [`CryptoError::BadKeyMaterial`] when an existing file is malformed;
/// [`CryptoError::Random`] when the OS random number generator fails.
pub fn load_or_create(dir: &Path) -> Result<Keys, CryptoError> {
    ensure_private_dir(dir)?;
    create_if_missing(dir, VAULT_FILE, || {
        Ok(Zeroizing::new(SealingKeyRing::generate()?.to_json()))
    })?;
    create_if_missing(dir, BLIND_INDEX_FILE, || {
        Ok(Zeroizing::new(MacKey::generate()?.to_hex()))
    })?;
    create_if_missing(dir, OTP_FILE, || {
        Ok(Zeroizing::new(MacKey::generate()?.to_hex()))
    })?;
    create_if_missing(dir, LEDGER_FILE, || {
        Ed25519Key::generate().map(|k| k.to_hex())
    })?;
    // Read back rather than return what was generated: if another process won a race to create
    // a file, its keys (the ones on disk) are the ones to use.
    load(dir)
}

/// Loads the keys from `dir`; a missing file is an error (production installs supply their own
/// keys).
///
/// # Errors
/// [`CryptoError::Io`] when a file is missing or unreadable;
/// [`CryptoError::BadKeyMaterial`] when a file is malformed.
pub fn load(dir: &Path) -> Result<Keys, CryptoError> {
    let sealing = read_key_file(dir, VAULT_FILE, SealingKeyRing::from_json)?;
    let blind_index = read_key_file(dir, BLIND_INDEX_FILE, MacKey::from_hex)?;
    let otp = read_key_file(dir, OTP_FILE, MacKey::from_hex)?;
    let ledger = read_key_file(dir, LEDGER_FILE, Ed25519Key::from_hex)?;
    Ok(Keys {
        sealing,
        blind_index,
        otp,
        ledger,
    })
}

/// Writes the sealing key ring (atomically, 0600), e.g. after rotation, replacing `vault.json`.
///
/// # Errors
/// [`CryptoError::Io`] when the file cannot be written;
/// [`CryptoError::Random`] when the OS random number generator fails (for the temp file name).
pub fn save_sealing(dir: &Path, ring: &SealingKeyRing) -> Result<(), CryptoError> {
    ensure_private_dir(dir)?;
    let contents = Zeroizing::new(ring.to_json());
    let temp = write_temp(dir, VAULT_FILE, &contents)?;
    let target = dir.join(VAULT_FILE);
    if let Err(e) = fs::rename(&temp, &target) {
        let _ = fs::remove_file(&temp);
        return Err(with_path(&target, e).into());
    }
    sync_dir(dir)
}

/// Keys from the environment: `TEEKA_VAULT_KEYS` (the JSON of [`SealingKeyRing::to_json`]),
/// `TEEKA_BLIND_INDEX_KEY`, `TEEKA_OTP_KEY` and `TEEKA_LEDGER_SIGNING_KEY` (hex).
///
/// # Errors
/// [`CryptoError::BadKeyMaterial`] when only some of the four are set, or one is malformed or
/// not UTF-8. `Ok(None)` when none is set.
pub fn from_env() -> Result<Option<Keys>, CryptoError> {
    from_values(
        env_var(VAULT_ENV)?,
        env_var(BLIND_INDEX_ENV)?,
        env_var(OTP_ENV)?,
        env_var(LEDGER_ENV)?,
    )
}

/// The parsing behind [`from_env`], apart so tests need not mutate the process environment.
fn from_values(
    vault: Option<String>,
    blind_index: Option<String>,
    otp: Option<String>,
    ledger: Option<String>,
) -> Result<Option<Keys>, CryptoError> {
    let vault = vault.map(Zeroizing::new);
    let blind_index = blind_index.map(Zeroizing::new);
    let otp = otp.map(Zeroizing::new);
    let ledger = ledger.map(Zeroizing::new);
    match (&vault, &blind_index, &otp, &ledger) {
        (None, None, None, None) => Ok(None),
        (Some(vault), Some(blind_index), Some(otp), Some(ledger)) => Ok(Some(Keys {
            sealing: SealingKeyRing::from_json(vault).map_err(|e| in_source(VAULT_ENV, e))?,
            blind_index: MacKey::from_hex(blind_index)
                .map_err(|e| in_source(BLIND_INDEX_ENV, e))?,
            otp: MacKey::from_hex(otp).map_err(|e| in_source(OTP_ENV, e))?,
            ledger: Ed25519Key::from_hex(ledger).map_err(|e| in_source(LEDGER_ENV, e))?,
        })),
        _ => {
            let missing: Vec<&str> = [
                (VAULT_ENV, vault.is_none()),
                (BLIND_INDEX_ENV, blind_index.is_none()),
                (OTP_ENV, otp.is_none()),
                (LEDGER_ENV, ledger.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, is_missing)| is_missing.then_some(name))
            .collect();
            Err(CryptoError::BadKeyMaterial(format!(
                "{VAULT_ENV}, {BLIND_INDEX_ENV}, {OTP_ENV} and {LEDGER_ENV} must be set together; \
                 missing: {}",
                missing.join(", ")
            )))
        }
    }
}

/// One environment variable: `None` when unset.
fn env_var(name: &str) -> Result<Option<String>, CryptoError> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CryptoError::BadKeyMaterial(format!(
            "{name} is not valid UTF-8"
        ))),
    }
}

/// Prefixes a key-material error with where the material came from (a variable or file).
fn in_source(source: &str, error: CryptoError) -> CryptoError {
    match error {
        CryptoError::BadKeyMaterial(why) => CryptoError::BadKeyMaterial(format!("{source}: {why}")),
        other => other,
    }
}

/// Adds the path to an I/O error, whose own message never says which file it was about.
fn with_path(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Reads and parses one key file, keeping the text out of memory once parsed.
fn read_key_file<T>(
    dir: &Path,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, CryptoError>,
) -> Result<T, CryptoError> {
    let path = dir.join(name);
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(|e| with_path(&path, e))?);
    parse(&text).map_err(|e| in_source(&path.display().to_string(), e))
}

/// Creates `dir` (and missing parents) owner-only if it does not exist; an existing directory's
/// mode is left as the operator set it.
fn ensure_private_dir(dir: &Path) -> Result<(), CryptoError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(|e| with_path(dir, e))?;
        // The umask can only clear bits from the mode asked for; set it outright so a stray
        // umask cannot leave the directory unusable (or, with a lax one, wider than wanted).
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| with_path(dir, e))?;
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(|e| with_path(dir, e))?;
    Ok(())
}

/// Creates `dir/name` with generated contents unless it exists, without ever replacing a file
/// that appears meanwhile.
fn create_if_missing(
    dir: &Path,
    name: &str,
    generate: impl FnOnce() -> Result<Zeroizing<String>, CryptoError>,
) -> Result<(), CryptoError> {
    let target = dir.join(name);
    if target.try_exists().map_err(|e| with_path(&target, e))? {
        return Ok(());
    }
    let contents = generate()?;
    let temp = write_temp(dir, name, &contents)?;
    // A hard link fails if the target exists, unlike rename, which would silently replace keys
    // that a concurrent process has just written (and may already be using).
    let linked = match fs::hard_link(&temp, &target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        // Some filesystems have no hard links; a rename is still atomic, only not race-proof.
        Err(_) => fs::rename(&temp, &target),
    };
    let _ = fs::remove_file(&temp);
    linked.map_err(|e| with_path(&target, e))?;
    sync_dir(dir)
}

/// Writes `contents` to a new owner-only temp file next to `name` and flushes it to disk.
fn write_temp(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, CryptoError> {
    let suffix = hex::encode(random_bytes::<8>()?);
    let temp = dir.join(format!(".{name}.{suffix}.tmp"));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As for the directory: do not let the umask decide the final mode.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(with_path(&temp, e).into());
    }
    Ok(temp)
}

/// Flushes a directory entry change (a new or renamed file) so it survives a crash.
fn sync_dir(dir: &Path) -> Result<(), CryptoError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// File holding the certificate issuer's key ring as JSON.
const ISSUER_FILE: &str = "issuer-keys.json";

/// Loads the issuer key ring from `dir`, creating it (one fresh generation, made at
/// `created_ms`) if it is missing, never replacing one another process has just written.
///
/// # Errors
/// [`CryptoError::Io`], [`CryptoError::BadKeyMaterial`] or [`CryptoError::Random`].
pub fn load_or_create_issuer(
    dir: &Path,
    created_ms: i64,
) -> Result<crate::issuer::IssuerKeyRing, CryptoError> {
    ensure_private_dir(dir)?;
    create_if_missing(dir, ISSUER_FILE, || {
        Ok(crate::issuer::IssuerKeyRing::generate(created_ms)?.to_json())
    })?;
    read_key_file(dir, ISSUER_FILE, crate::issuer::IssuerKeyRing::from_json)
}

/// Loads the issuer key ring from `dir`; a missing file is an error (production).
///
/// # Errors
/// [`CryptoError::Io`] or [`CryptoError::BadKeyMaterial`].
pub fn load_issuer(dir: &Path) -> Result<crate::issuer::IssuerKeyRing, CryptoError> {
    read_key_file(dir, ISSUER_FILE, crate::issuer::IssuerKeyRing::from_json)
}

/// Replaces the issuer key ring in `dir` (atomically, owner-only), e.g. after a rotation.
///
/// # Errors
/// [`CryptoError::Io`] or [`CryptoError::Random`].
pub fn save_issuer(dir: &Path, ring: &crate::issuer::IssuerKeyRing) -> Result<(), CryptoError> {
    ensure_private_dir(dir)?;
    let temp = write_temp(dir, ISSUER_FILE, &ring.to_json())?;
    let target = dir.join(ISSUER_FILE);
    if let Err(e) = fs::rename(&temp, &target) {
        let _ = fs::remove_file(&temp);
        return Err(with_path(&target, e).into());
    }
    sync_dir(dir)
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CONTEXT: &[u8] = b"beneficiary.name";

    /// Asserts two key sets are the same keys, by behaviour rather than by their hex.
    fn assert_same_keys(a: &Keys, b: &Keys) {
        let sealed = a.sealing.seal(b"Asha Devi", CONTEXT).unwrap();
        assert_eq!(b.sealing.open(&sealed, CONTEXT).unwrap(), b"Asha Devi");
        let sealed = b.sealing.seal(b"Ravi", CONTEXT).unwrap();
        assert_eq!(a.sealing.open(&sealed, CONTEXT).unwrap(), b"Ravi");
        assert_eq!(a.sealing.key_ids(), b.sealing.key_ids());
        assert_eq!(a.sealing.current_id(), b.sealing.current_id());
        assert_eq!(
            a.blind_index.mac(b"mobile", b"9876543210"),
            b.blind_index.mac(b"mobile", b"9876543210")
        );
        assert_eq!(a.otp.mac(b"otp", b"042917"), b.otp.mac(b"otp", b"042917"));
        assert_eq!(a.ledger.public(), b.ledger.public());
    }

    #[test]
    fn load_or_create_creates_private_files_and_then_reuses_them() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("keys");
        let first = load_or_create(&dir).unwrap();
        for name in [VAULT_FILE, BLIND_INDEX_FILE, OTP_FILE, LEDGER_FILE] {
            assert!(dir.join(name).is_file(), "{name} missing");
        }
        // No temp files are left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 4);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            for name in [VAULT_FILE, BLIND_INDEX_FILE, OTP_FILE, LEDGER_FILE] {
                assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
            }
        }

        let second = load_or_create(&dir).unwrap();
        assert_same_keys(&first, &second);
        assert_same_keys(&first, &load(&dir).unwrap());
        // The two MAC keys are independent.
        assert_ne!(first.blind_index.to_hex(), first.otp.to_hex());
    }

    #[test]
    fn load_or_create_fills_in_only_missing_files() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let first = load_or_create(dir).unwrap();
        fs::remove_file(dir.join(OTP_FILE)).unwrap();
        let second = load_or_create(dir).unwrap();
        assert_eq!(first.blind_index.to_hex(), second.blind_index.to_hex());
        assert_eq!(first.sealing.to_json(), second.sealing.to_json());
        assert_ne!(first.otp.to_hex(), second.otp.to_hex());
    }

    #[test]
    fn save_sealing_persists_rotation() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let keys = load_or_create(dir).unwrap();
        let old = keys.sealing.seal(b"old", CONTEXT).unwrap();
        let rotated = keys.sealing.with_new_key().unwrap();
        save_sealing(dir, &rotated).unwrap();

        let reloaded = load(dir).unwrap();
        assert_eq!(reloaded.sealing.current_id(), 2);
        assert_eq!(reloaded.sealing.key_ids(), vec![1, 2]);
        assert_eq!(reloaded.sealing.open(&old, CONTEXT).unwrap(), b"old");
        let new = reloaded.sealing.seal(b"new", CONTEXT).unwrap();
        assert_eq!(SealingKeyRing::key_id_of(&new).unwrap(), 2);
        assert_eq!(rotated.open(&new, CONTEXT).unwrap(), b"new");
        // The MAC keys are untouched by a sealing save.
        assert_eq!(reloaded.otp.to_hex(), keys.otp.to_hex());
        assert_eq!(fs::read_dir(dir).unwrap().count(), 4);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(VAULT_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn load_requires_every_file() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        match load(dir) {
            Err(CryptoError::Io(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::NotFound);
                assert!(e.to_string().contains(VAULT_FILE), "{e}");
            }
            other => panic!("expected a NotFound error, got {other:?}"),
        }
        load_or_create(dir).unwrap();
        fs::remove_file(dir.join(BLIND_INDEX_FILE)).unwrap();
        assert!(matches!(load(dir), Err(CryptoError::Io(_))));
    }

    #[test]
    fn load_reports_malformed_files_by_name() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        load_or_create(dir).unwrap();
        fs::write(dir.join(OTP_FILE), "abc\n").unwrap();
        match load(dir) {
            Err(CryptoError::BadKeyMaterial(why)) => assert!(why.contains(OTP_FILE), "{why}"),
            other => panic!("expected BadKeyMaterial, got {other:?}"),
        }
    }

    #[test]
    fn env_values_none_set_is_none() {
        assert!(from_values(None, None, None, None).unwrap().is_none());
    }

    #[test]
    fn env_values_all_set_parse() {
        let keys = Keys::generate().unwrap();
        let parsed = from_values(
            Some(keys.sealing.to_json()),
            Some(keys.blind_index.to_hex()),
            Some(format!("{}\n", keys.otp.to_hex())),
            Some(keys.ledger.to_hex().to_string()),
        )
        .unwrap()
        .unwrap();
        assert_same_keys(&keys, &parsed);
    }

    #[test]
    fn env_values_partial_or_malformed_are_errors() {
        let keys = Keys::generate().unwrap();
        let vault = || Some(keys.sealing.to_json());
        let blind = || Some(keys.blind_index.to_hex());
        let otp = || Some(keys.otp.to_hex());
        let ledger = || Some(keys.ledger.to_hex().to_string());

        match from_values(vault(), None, otp(), ledger()) {
            Err(CryptoError::BadKeyMaterial(why)) => {
                assert!(why.contains("missing: TEEKA_BLIND_INDEX_KEY"), "{why}");
            }
            other => panic!("expected BadKeyMaterial, got {other:?}"),
        }
        assert!(from_values(None, blind(), None, None).is_err());
        assert!(from_values(vault(), blind(), otp(), None).is_err());

        let cases = [
            (Some("{}".to_owned()), blind(), otp(), VAULT_ENV),
            (vault(), Some("00".repeat(31)), otp(), BLIND_INDEX_ENV),
            (vault(), blind(), Some(String::new()), OTP_ENV),
        ];
        for (v, b, o, culprit) in cases {
            match from_values(v, b, o, ledger()) {
                Err(CryptoError::BadKeyMaterial(why)) => assert!(why.contains(culprit), "{why}"),
                other => panic!("expected BadKeyMaterial naming {culprit}, got {other:?}"),
            }
        }
    }
}
