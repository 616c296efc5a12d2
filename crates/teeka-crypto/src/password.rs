//! Staff passwords: argon2id at OWASP's minimum cost (m = 19,456 KiB, t = 2, p = 1), stored as
//! PHC strings so the cost can rise later without breaking old hashes; and the policy a new
//! password must meet (12 to 128 characters, zxcvbn score at least 3, not built from the
//! username).

use crate::CryptoError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (argon2 would take more, but a cap bounds the work per attempt).
pub const MAX_LENGTH: usize = 128;

fn hasher() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(19_456, 2, 1, None)
        .map_err(|e| CryptoError::Password(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt; a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    let salt_bytes = crate::random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| CryptoError::Password(format!("salt: {e}")))?;
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| CryptoError::Password(format!("argon2: {e}")))?
        .to_string())
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a new password is refused; the message is safe to show.
pub fn password_problem(password: &str, username: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if length > MAX_LENGTH {
        return Some(format!("must be at most {MAX_LENGTH} characters"));
    }
    let score: u8 = zxcvbn::zxcvbn(password, &[username, "teeka", "cowin", "vaccine"])
        .score()
        .into();
    if score < 3 {
        return Some("is too easy to guess: use a longer passphrase of unrelated words".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse battery staple").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapl", &phc));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(
            phc,
            hash_password("correct horse battery staple").expect("hash"),
            "salted"
        );
    }

    #[test]
    fn weak_short_and_long_passwords_are_refused() {
        assert!(password_problem("short", "asha").is_some());
        assert!(password_problem("password1234", "asha").is_some(), "common");
        assert!(
            password_problem("asha.vaccinator1", "asha.vaccinator").is_some(),
            "the username"
        );
        assert!(password_problem(&"x".repeat(129), "asha").is_some());
        assert!(password_problem("tamarind monsoon lantern 42", "asha").is_none());
    }
}
