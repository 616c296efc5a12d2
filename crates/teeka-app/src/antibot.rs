//! The optional proof of work an operator can switch on for booking under attack: the server
//! hands out a signed, short-lived challenge bound to the account, and a booking must carry a
//! nonce whose SHA-256 over the challenge has enough leading zero bits. A person's browser
//! spends a second on it without noticing; a bot pressing "book" for thousands of accounts pays
//! that second for every one of them.
//!
//! The challenge is stateless (an expiry and a keyed tag), so any process holding the keys can
//! check one another issued. CoWIN's `captcha` field carries the answer, as `challenge:nonce`.

use crate::clock::now_ms;
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use uuid::Uuid;

/// Ours: the booking needs a proof of work (missing, expired, forged or too weak).
pub const PROOF_OF_WORK_REQUIRED: &str = "TKABKG0010";

/// How long a challenge may be answered.
pub const CHALLENGE_LIFETIME_MS: i64 = 120_000;

/// A challenge as the client receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The text to hash with a nonce: `v1.<expiry ms>.<tag hex>`.
    pub challenge: String,
    /// Leading zero bits the hash must have.
    pub difficulty: u8,
    /// Unix ms after which the challenge is refused.
    pub expires_at_ms: i64,
}

fn tag(vault: &Vault, account_id: Uuid, expires_at_ms: i64) -> String {
    let mut material = account_id.as_bytes().to_vec();
    material.extend_from_slice(&expires_at_ms.to_be_bytes());
    let full = vault.challenge_tag(&material);
    full[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh challenge for `account_id` at `difficulty` bits.
pub fn issue(vault: &Vault, account_id: Uuid, difficulty: u8) -> Challenge {
    let expires_at_ms = now_ms() + CHALLENGE_LIFETIME_MS;
    Challenge {
        challenge: format!(
            "v1.{expires_at_ms}.{}",
            tag(vault, account_id, expires_at_ms)
        ),
        difficulty,
        expires_at_ms,
    }
}

/// Leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// What a client does: the first nonce (as decimal text) that meets the difficulty.
pub fn solve(challenge: &str, difficulty: u8) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|nonce| {
            let hash = teeka_crypto::sha256(format!("{challenge}:{nonce}").as_bytes());
            leading_zero_bits(&hash) >= u32::from(difficulty)
        })
        .unwrap_or_default()
}

/// Checks `proof` (`challenge:nonce`, from the `captcha` field) for `account_id`.
pub fn verify(
    vault: &Vault,
    account_id: Uuid,
    difficulty: u8,
    proof: Option<&str>,
) -> Result<(), AppError> {
    let refuse = |why: &str| {
        AppError::refused(
            Refusal::Invalid,
            PROOF_OF_WORK_REQUIRED,
            format!(
                "{why}: fetch a challenge from /api/v2/appointment/challenge and send `challenge:nonce` as captcha"
            ),
        )
    };
    let proof = proof
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.len() <= 200);
    let Some((challenge, nonce)) = proof.and_then(|p| p.rsplit_once(':')) else {
        return Err(refuse("A proof of work is required"));
    };
    let mut parts = challenge.split('.');
    let (Some("v1"), Some(expiry), Some(given_tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse("Malformed proof of work"));
    };
    let expires_at_ms: i64 = expiry
        .parse()
        .map_err(|_| refuse("Malformed proof of work"))?;
    let expected = tag(vault, account_id, expires_at_ms);
    if !teeka_crypto::constant_time_eq(expected.as_bytes(), given_tag.as_bytes()) {
        return Err(refuse("This challenge was not issued to this account"));
    }
    if now_ms() > expires_at_ms {
        return Err(refuse("The challenge has expired"));
    }
    let hash = teeka_crypto::sha256(format!("{challenge}:{nonce}").as_bytes());
    if leading_zero_bits(&hash) < u32::from(difficulty) {
        return Err(refuse("The proof of work is too weak"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(
            teeka_crypto::Keys::generate().expect("keys"),
            crate::vault::KeySource::Environment,
        )
    }

    #[test]
    fn a_solved_challenge_passes_and_everything_else_is_refused() {
        let vault = vault();
        let account = Uuid::new_v4();
        let c = issue(&vault, account, 8);
        let nonce = solve(&c.challenge, 8);
        let proof = format!("{}:{nonce}", c.challenge);
        assert!(verify(&vault, account, 8, Some(&proof)).is_ok());
        let refused = |p: Option<&str>, who: Uuid| {
            matches!(
                verify(&vault, who, 8, p),
                Err(AppError::Refused {
                    code: PROOF_OF_WORK_REQUIRED,
                    ..
                })
            )
        };
        assert!(refused(None, account), "missing");
        assert!(
            refused(Some(&proof), Uuid::new_v4()),
            "another account's challenge"
        );
        assert!(refused(Some("v1.1.00:1"), account), "forged");
        let weak = (0u64..)
            .map(|n| n.to_string())
            .find(|n| {
                leading_zero_bits(&teeka_crypto::sha256(
                    format!("{}:{n}", c.challenge).as_bytes(),
                )) < 8
            })
            .expect("a weak nonce");
        assert!(
            refused(Some(&format!("{}:{weak}", c.challenge)), account),
            "too weak"
        );
        let expired_at = now_ms() - 1;
        let expired = format!("v1.{expired_at}.{}", tag(&vault, account, expired_at));
        let nonce = solve(&expired, 8);
        assert!(
            refused(Some(&format!("{expired}:{nonce}")), account),
            "expired"
        );
    }

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0x0f]), 12);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}
