//! Access grants: the only way to personal data. A grant is a value that only this module can
//! construct, and every function that reveals or changes a beneficiary's personal data takes one,
//! so code that returns personal data without a grant does not compile.
//!
//! Today's grant is the citizen's: an OTP-verified session, covering the beneficiaries registered
//! on that mobile. Staff grants (a check-in with the person's code) and partner grants (a consent
//! the person approved by OTP) join here.

use crate::AppError;
use crate::clock::now_ms;
use teeka_store::Store;
use teeka_store::identity::AccessEventRecord;
use uuid::Uuid;

/// Permission to act on the personal data of the beneficiaries of one account, earned with an OTP.
#[derive(Debug, Clone)]
pub struct CitizenGrant {
    account_id: Uuid,
    token_hash: [u8; 32],
}

impl CitizenGrant {
    /// The account the grant covers.
    pub fn account_id(&self) -> Uuid {
        self.account_id
    }

    /// The session's token hash (for logout).
    pub(crate) fn token_hash(&self) -> &[u8; 32] {
        &self.token_hash
    }

    /// An access event by this citizen.
    pub(crate) fn event(&self, action: &str, purpose: &str, request_id: &str) -> AccessEventRecord {
        AccessEventRecord {
            at_ms: now_ms(),
            actor_kind: "citizen".into(),
            actor_id: self.account_id.to_string(),
            role: "citizen".into(),
            action: action.into(),
            subject_id: None,
            purpose: purpose.into(),
            request_id: request_id.into(),
        }
    }
}

/// Marker trait for every kind of grant: what [`crate::vault::Vault::open`] demands.
pub trait Grant: sealed::Sealed {
    /// Whether the grant covers data belonging to `owner` (an account id).
    fn covers(&self, owner: Uuid) -> bool;
}

impl Grant for CitizenGrant {
    fn covers(&self, owner: Uuid) -> bool {
        self.account_id == owner
    }
}

mod sealed {
    /// Nobody outside this module can declare a new kind of grant.
    pub trait Sealed {}
    impl Sealed for super::CitizenGrant {}
}

/// Checks a citizen's bearer token; the grant for its account, or `Unauthenticated`.
pub async fn citizen_grant(store: &Store, token: &str) -> Result<CitizenGrant, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let token_hash = teeka_crypto::sha256(token.as_bytes());
    match store.session_account(&token_hash, now_ms()).await? {
        Some(account_id) => Ok(CitizenGrant {
            account_id,
            token_hash,
        }),
        None => Err(AppError::Unauthenticated),
    }
}
