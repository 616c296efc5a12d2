//! The one error type of this crate.

/// Why a cryptographic operation or a key load failed.
///
/// Messages never include key material or plaintext, so they are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A sealed value is too short or has an unknown format version (or a plaintext is too large
    /// to seal, which cannot happen below 256 GiB).
    #[error("sealed value is malformed")]
    Malformed,
    /// A sealed value names a key id that is not in the key ring.
    #[error("sealed value uses unknown key id {0}")]
    UnknownKey(u32),
    /// Authentication failed: the sealed value was altered, or opened with the wrong context or key.
    #[error("sealed value failed authentication")]
    Decrypt,
    /// Reading or writing a key file failed.
    #[error("key file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// Key material (a key file or environment variable) is malformed or inconsistent.
    #[error("bad key material: {0}")]
    BadKeyMaterial(String),
    /// The operating system's random number generator failed.
    #[error("the OS random number generator failed")]
    Random,
    /// Password hashing failed (bad parameters or salt).
    #[error("password hashing failed: {0}")]
    Password(String),
}
