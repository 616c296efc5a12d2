//! Randomness from the OS CSPRNG: one-time passwords, session tokens and raw random bytes.

use crate::CryptoError;

/// One million: the number of distinct six-digit OTPs.
const OTP_SPACE: u32 = 1_000_000;

/// The largest multiple of [`OTP_SPACE`] that fits in a `u32`. Draws at or above it are rejected,
/// because folding them in with `%` would make the low OTPs slightly more likely than the high.
const OTP_ACCEPT_BELOW: u32 = (u32::MAX / OTP_SPACE) * OTP_SPACE;

/// Six decimal digits from the OS CSPRNG, uniform (rejection sampling, no modulo bias), as a
/// `String` like `"042917"`.
///
/// # Errors
/// [`CryptoError::Random`] when the OS random number generator fails.
pub fn generate_otp() -> Result<String, CryptoError> {
    loop {
        let draw = u32::from_be_bytes(random_bytes::<4>()?);
        // Fewer than 0.02% of draws are rejected, so this loop practically always ends at once.
        if draw < OTP_ACCEPT_BELOW {
            return Ok(format!("{:06}", draw % OTP_SPACE));
        }
    }
}

/// A session token: 32 random bytes as 64 lowercase hex chars.
///
/// # Errors
/// [`CryptoError::Random`] when the OS random number generator fails.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// `N` random bytes from the OS CSPRNG.
///
/// # Errors
/// [`CryptoError::Random`] when the OS random number generator fails.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

#[cfg(test)]
// A panic is how a test reports failure.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn otp_accept_bound_is_a_multiple_of_the_space_and_fits() {
        assert_eq!(OTP_ACCEPT_BELOW % OTP_SPACE, 0);
        assert!(u64::from(OTP_ACCEPT_BELOW) + u64::from(OTP_SPACE) > u64::from(u32::MAX));
    }

    #[test]
    fn otp_is_six_ascii_digits_and_every_position_sees_every_digit() {
        let mut seen = [[0u32; 10]; 6];
        for _ in 0..20_000 {
            let otp = generate_otp().unwrap();
            assert_eq!(otp.len(), 6, "{otp}");
            for (position, byte) in otp.bytes().enumerate() {
                assert!(byte.is_ascii_digit(), "{otp}");
                seen[position][usize::from(byte - b'0')] += 1;
            }
        }
        for (position, counts) in seen.iter().enumerate() {
            for (digit, &count) in counts.iter().enumerate() {
                // Expected 2,000 each; a fair source falls outside 1,600..2,400 with negligible
                // probability, a broken one (e.g. a stuck digit) lands far outside it.
                assert!(
                    (1_600..=2_400).contains(&count),
                    "position {position} digit {digit} seen {count} times"
                );
            }
        }
    }

    #[test]
    fn token_is_64_lowercase_hex_and_unique() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert_ne!(a, b);
    }

    #[test]
    fn random_bytes_fills_the_array() {
        let a = random_bytes::<32>().unwrap();
        let b = random_bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
        assert_eq!(random_bytes::<0>().unwrap(), [0u8; 0]);
    }
}
