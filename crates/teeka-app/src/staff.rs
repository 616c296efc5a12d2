//! Staff sign-in: accounts created by an administrator with a temporary password and an
//! authenticator enrolment, sign-in with password and TOTP (both always required; a code is
//! never accepted twice), failures that slow the account down and then lock it with an alert,
//! sessions with idle and absolute timeouts, and the remedies of 2023: ending every session and
//! forcing every password to be changed.

use crate::clock::now_ms;
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use teeka_crypto::{password, totp};
use teeka_domain::{Jurisdiction, ScopeKind, StaffRole};
use teeka_store::Store;
use teeka_store::staff::{FailurePolicy, SessionsToEnd, StaffRow};
use uuid::Uuid;

/// Ours: wrong username, password or authenticator code (one answer for all three).
pub const BAD_CREDENTIALS: &str = "TKASTF0001";
/// Ours: the account is locked or slowed down after failures, or disabled.
pub const ACCOUNT_LOCKED: &str = "TKASTF0002";
/// Ours: the new password does not meet the policy.
pub const WEAK_PASSWORD: &str = "TKASTF0003";
/// Ours: the password must be changed before anything else.
pub const MUST_CHANGE_PASSWORD: &str = "TKASTF0004";

/// Staff sign-in settings.
#[derive(Debug, Clone, Copy)]
pub struct StaffConfig {
    /// Failures before slowing down and before locking.
    pub failures: FailurePolicy,
    /// A session ends after this long without a request.
    pub idle_timeout_ms: i64,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout_ms: i64,
}

impl Default for StaffConfig {
    fn default() -> Self {
        Self {
            failures: FailurePolicy {
                slow_after: 3,
                lock_after: 10,
            },
            idle_timeout_ms: 30 * 60 * 1000,
            absolute_timeout_ms: 12 * 60 * 60 * 1000,
        }
    }
}

/// What an administrator hands a new member of staff (once).
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The account.
    pub staff_id: Uuid,
    /// To be changed at first sign-in.
    pub temporary_password: String,
    /// For the authenticator app.
    pub otpauth_uri: String,
    /// The raw TOTP secret (for tests and for printing as text).
    pub totp_secret: Vec<u8>,
}

/// A signed-in member of staff: who, in what role, where. Only this module makes one.
#[derive(Debug, Clone)]
pub struct StaffGrant {
    staff_id: Uuid,
    username: String,
    role: StaffRole,
    jurisdiction: Jurisdiction,
    token_hash: [u8; 32],
    must_change_password: bool,
}

impl StaffGrant {
    /// The account.
    pub fn staff_id(&self) -> Uuid {
        self.staff_id
    }
    /// The sign-in name.
    pub fn username(&self) -> &str {
        &self.username
    }
    /// The role.
    pub fn role(&self) -> StaffRole {
        self.role
    }
    /// Where it may act.
    pub fn jurisdiction(&self) -> Jurisdiction {
        self.jurisdiction
    }
    /// Whether only a password change is allowed.
    pub fn must_change_password(&self) -> bool {
        self.must_change_password
    }
}

fn staff_secret_binding(staff_id: Uuid) -> Vec<u8> {
    let mut aad = b"staff.totp\0".to_vec();
    aad.extend_from_slice(staff_id.as_bytes());
    aad
}

fn scope_of(row: &StaffRow) -> Result<(StaffRole, Jurisdiction), AppError> {
    let role: StaffRole = row.role.parse()?;
    let id = row.scope_id.unwrap_or_default();
    let jurisdiction = match row.scope_kind.as_str() {
        "nation" => Jurisdiction::Nation,
        "state" => Jurisdiction::State(teeka_domain::StateId(i32::try_from(id).unwrap_or(-1))),
        "district" => Jurisdiction::District(
            teeka_domain::DistrictId(i32::try_from(id).unwrap_or(-1)),
            teeka_domain::StateId(-1),
        ),
        _ => Jurisdiction::Centre(
            teeka_domain::CentreId(id),
            teeka_domain::DistrictId(-1),
            teeka_domain::StateId(-1),
        ),
    };
    Ok((role, jurisdiction))
}

fn refused(kind: Refusal, code: &'static str, message: &str) -> AppError {
    AppError::refused(kind, code, message)
}

fn bad_credentials() -> AppError {
    refused(
        Refusal::Unauthorized,
        BAD_CREDENTIALS,
        "Wrong username, password or authenticator code",
    )
}

/// The staff use cases.
pub struct Staff<'a> {
    /// Storage.
    pub store: &'a Store,
    /// Keys.
    pub vault: &'a Vault,
    /// Settings.
    pub config: &'a StaffConfig,
}

impl Staff<'_> {
    /// Creates an account (the CLI's `admin create-user`): a temporary password that must be
    /// changed at first sign-in, and a fresh TOTP secret to enrol.
    pub async fn create_user(
        &self,
        username: &str,
        role: StaffRole,
        scope_id: Option<i64>,
    ) -> Result<Enrolment, AppError> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
        {
            return Err(AppError::BadInput(
                "username: 1 to 64 letters, digits, '.', '_', '-' or '@'".into(),
            ));
        }
        let kind = role.scope_kind();
        let scope_kind = match (kind, scope_id) {
            (ScopeKind::Nation, None) => "nation",
            (ScopeKind::State, Some(_)) => "state",
            (ScopeKind::District, Some(_)) => "district",
            (ScopeKind::Centre, Some(_)) => "centre",
            _ => {
                return Err(AppError::BadInput(format!(
                    "role {role} needs {}",
                    match kind {
                        ScopeKind::Nation => "no --centre, --district or --state",
                        ScopeKind::State => "--state ID",
                        ScopeKind::District => "--district ID",
                        ScopeKind::Centre => "--centre ID",
                    }
                )));
            }
        };
        let crypto = |e: teeka_crypto::CryptoError| AppError::Crypto(e.to_string());
        // 20 random bytes as base32: 32 characters, about 160 bits, far above the policy.
        let temporary_password = totp::base32(&teeka_crypto::random_bytes::<20>().map_err(crypto)?);
        let secret = teeka_crypto::random_bytes::<20>().map_err(crypto)?.to_vec();
        let staff_id = Uuid::new_v4();
        let row = StaffRow {
            staff_id,
            username: username.to_owned(),
            role: role.as_str().to_owned(),
            scope_kind: scope_kind.to_owned(),
            scope_id,
            password_hash: password::hash_password(&temporary_password).map_err(crypto)?,
            must_change_password: true,
            totp_secret_sealed: self.vault.seal(&secret, &staff_secret_binding(staff_id))?,
            totp_last_step: 0,
            failed_logins: 0,
            locked_until: 0,
            disabled: false,
            created_at: now_ms(),
        };
        self.store.insert_staff(&row).await.map_err(|e| match e {
            teeka_store::StoreError::Duplicate(_) => {
                AppError::Conflict("that username is taken".into())
            }
            other => other.into(),
        })?;
        Ok(Enrolment {
            staff_id,
            temporary_password,
            otpauth_uri: totp::enrolment_uri("Teeka", username, &secret),
            totp_secret: secret,
        })
    }

    /// Signs in with password and authenticator code; (session token, must change password).
    pub async fn login(
        &self,
        username: &str,
        password_given: &str,
        code: &str,
    ) -> Result<(String, bool), AppError> {
        let now = now_ms();
        let Some(row) = self.store.staff_by_username(username.trim()).await? else {
            // The same work as for a real account, so timing does not tell who exists.
            let _ = password::verify_password(password_given, DUMMY_HASH);
            return Err(bad_credentials());
        };
        if row.disabled || row.locked_until > now {
            return Err(refused(
                Refusal::TooMany,
                ACCOUNT_LOCKED,
                "This account is locked after failed sign-ins or disabled; try later or ask an administrator",
            ));
        }
        let password_ok = password_given.len() <= password::MAX_LENGTH * 4
            && password::verify_password(password_given, &row.password_hash);
        let secret = self
            .vault
            .open_unchecked(&row.totp_secret_sealed, &staff_secret_binding(row.staff_id))?;
        let unix = u64::try_from(now / 1000).unwrap_or_default();
        let step = totp::matching_step(&secret, code, unix);
        let signed_in = match (password_ok, step) {
            (true, Some(step)) => {
                let token =
                    teeka_crypto::random_token().map_err(|e| AppError::Crypto(e.to_string()))?;
                let hash = teeka_crypto::sha256(token.as_bytes());
                let fresh = self
                    .store
                    .staff_signed_in(
                        row.staff_id,
                        i64::try_from(step).unwrap_or(i64::MAX),
                        &hash,
                        now,
                    )
                    .await?;
                fresh.then_some(token)
            }
            _ => None,
        };
        match signed_in {
            Some(token) => Ok((token, row.must_change_password)),
            None => {
                let failures = self
                    .store
                    .note_staff_failure(row.staff_id, now, self.config.failures)
                    .await?;
                if failures == self.config.failures.lock_after {
                    tracing::warn!(staff_id = %row.staff_id, failures, "staff account locked after failed sign-ins");
                }
                Err(bad_credentials())
            }
        }
    }

    /// The grant for a session token, if the session is live; its idle clock restarts.
    pub async fn grant(&self, token: &str) -> Result<StaffGrant, AppError> {
        let token = token.trim();
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::Unauthenticated);
        }
        let hash = teeka_crypto::sha256(token.as_bytes());
        let session = self
            .store
            .staff_session(&hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = now_ms();
        let account = &session.account;
        if account.disabled
            || now - session.last_seen_at > self.config.idle_timeout_ms
            || now - session.created_at > self.config.absolute_timeout_ms
        {
            return Err(AppError::Unauthenticated);
        }
        // Written at most once a minute per session: the idle clock needs no finer grain.
        if now - session.last_seen_at > 60_000 {
            self.store.touch_staff_session(&hash, now).await?;
        }
        let (role, jurisdiction) = scope_of(account)?;
        Ok(StaffGrant {
            staff_id: account.staff_id,
            username: account.username.clone(),
            role,
            jurisdiction,
            token_hash: hash,
            must_change_password: account.must_change_password,
        })
    }

    /// Changes the grant holder's password; their other sessions end.
    pub async fn change_password(
        &self,
        grant: &StaffGrant,
        current: &str,
        new: &str,
    ) -> Result<(), AppError> {
        let row = self
            .store
            .staff_by_username(&grant.username)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if current.len() > password::MAX_LENGTH * 4
            || !password::verify_password(current, &row.password_hash)
        {
            return Err(bad_credentials());
        }
        if let Some(problem) = password::password_problem(new, &grant.username) {
            return Err(AppError::refused(
                Refusal::Invalid,
                WEAK_PASSWORD,
                format!("The new password {problem}"),
            ));
        }
        if new == current {
            return Err(refused(
                Refusal::Invalid,
                WEAK_PASSWORD,
                "The new password must differ from the current one",
            ));
        }
        let hash = password::hash_password(new).map_err(|e| AppError::Crypto(e.to_string()))?;
        self.store
            .set_staff_password(grant.staff_id, &hash, &grant.token_hash)
            .await?;
        Ok(())
    }

    /// Ends the grant's session.
    pub async fn logout(&self, grant: &StaffGrant) -> Result<(), AppError> {
        self.store
            .end_staff_sessions(SessionsToEnd::One(&grant.token_hash))
            .await?;
        Ok(())
    }
}

/// A valid argon2id hash of a random password nobody knows, verified against when the username
/// does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
