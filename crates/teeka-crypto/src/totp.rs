//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30-second
//! steps, the step before and after accepted for clock drift. The caller learns which step
//! matched, so it can refuse a code it has already accepted (a replay) by remembering the last
//! accepted step per account.

use hmac::{Hmac, KeyInit, Mac};

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;

/// The HOTP value of `secret` at `counter`, as `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    let value = u64::from(binary) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The step a unix time falls in.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The 6-digit code for `secret` at `unix_seconds`.
pub fn code_at(secret: &[u8], unix_seconds: u64) -> String {
    hotp(secret, step_at(unix_seconds), DIGITS)
}

/// The step whose code `code` is, among the current step and one either side; `None` if none.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| {
            crate::constant_time_eq(hotp(secret, *step, DIGITS).as_bytes(), code.as_bytes())
        })
}

/// RFC 4648 base32 without padding, as authenticator apps expect the secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (padding, spaces and case ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !b" =".contains(c)) {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The secret in an `otpauth://` enrolment URI.
pub fn secret_from_uri(uri: &str) -> Option<Vec<u8>> {
    let query = uri.strip_prefix("otpauth://totp/")?.split_once('?')?.1;
    let secret = query.split('&').find_map(|kv| kv.strip_prefix("secret="))?;
    base32_decode(secret)
}

/// The `otpauth://` enrolment URI for an authenticator app.
pub fn enrolment_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(hotp(secret, step_at(time), 8), expected, "t = {time}");
        }
    }

    /// RFC 4226 appendix D.
    #[test]
    fn rfc_4226_test_vectors() {
        let secret = b"12345678901234567890";
        let expected = ["755224", "287082", "359152", "969429", "338314"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *code);
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_no_more() {
        let secret = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = code_at(secret, t);
        assert_eq!(matching_step(secret, &code, t), Some(step_at(t)));
        assert_eq!(matching_step(secret, &code, t + 30), Some(step_at(t)));
        assert_eq!(matching_step(secret, &code, t - 30), Some(step_at(t)));
        assert_eq!(matching_step(secret, &code, t + 90), None);
        assert_eq!(matching_step(secret, "12345", t), None);
        assert_eq!(matching_step(secret, "abcdef", t), None);
    }

    #[test]
    fn base32_round_trips_and_the_uri_gives_back_its_secret() {
        for len in 0..25u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(11))
                .collect();
            assert_eq!(base32_decode(&base32(&bytes)), Some(bytes.clone()));
            let uri = enrolment_uri("Teeka", "a.b", &bytes);
            assert_eq!(secret_from_uri(&uri), Some(bytes));
        }
        assert_eq!(base32_decode("MZXW6==="), Some(b"foo".to_vec()));
        assert_eq!(base32_decode("MZ1W6"), None);
    }

    #[test]
    fn base32_and_the_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = enrolment_uri("Teeka", "asha vaccinator", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Teeka:asha%20vaccinator?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Teeka&algorithm=SHA1&digits=6&period=30"
        );
    }
}
