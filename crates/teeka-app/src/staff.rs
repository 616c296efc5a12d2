//! Staff sign-in: accounts created by an administrator with a temporary password and an
//! authenticator enrolment, sign-in with password and TOTP (both always required; a code is
//! never accepted twice), failures that slow the account down and then lock it with an alert,
//! sessions with idle and absolute timeouts, and the remedies of 2023: ending every session and
//! forcing every password to be changed.

use crate::clock::now_ms;
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use teeka_crypto::{password, totp};
use teeka_domain::{CentreId, DistrictId, Jurisdiction, ScopeKind, StaffRole, StateId};
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
/// Ours: the role or jurisdiction does not allow this.
pub const FORBIDDEN: &str = "TKASTF0005";
/// Ours: the account is suspended by anomaly detection until an administrator reviews it.
pub const SUSPENDED: &str = "TKASTF0006";
/// Ours: no such staff account within the caller's jurisdiction.
pub const NO_SUCH_STAFF: &str = "TKASTF0007";

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

/// The role and full jurisdiction path stored with an account (resolved once, at creation).
pub(crate) fn scope_of(row: &StaffRow) -> Result<(StaffRole, Jurisdiction), AppError> {
    let role: StaffRole = row.role.parse()?;
    let corrupt = || AppError::Store(teeka_store::StoreError::corrupt("staff scope"));
    let small = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok()).ok_or_else(corrupt);
    let jurisdiction = match row.scope_kind.as_str() {
        "nation" => Jurisdiction::Nation,
        "state" => Jurisdiction::State(StateId(small(row.scope_state)?)),
        "district" => Jurisdiction::District(
            DistrictId(small(row.scope_district)?),
            StateId(small(row.scope_state)?),
        ),
        "centre" => Jurisdiction::Centre(
            CentreId(row.scope_id.ok_or_else(corrupt)?),
            DistrictId(small(row.scope_district)?),
            StateId(small(row.scope_state)?),
        ),
        _ => return Err(corrupt()),
    };
    Ok((role, jurisdiction))
}

/// Looks up where a scope id lies: the full path of a centre, district or state, or an error
/// naming what does not exist.
pub(crate) async fn resolve_scope(
    store: &Store,
    kind: ScopeKind,
    scope_id: Option<i64>,
) -> Result<Jurisdiction, AppError> {
    let missing = |what: &str| AppError::BadInput(format!("no such {what}"));
    let small = |id: i64, what: &str| i32::try_from(id).map_err(|_| missing(what));
    Ok(match (kind, scope_id) {
        (ScopeKind::Nation, None) => Jurisdiction::Nation,
        (ScopeKind::State, Some(id)) => {
            let id = StateId(small(id, "state")?);
            if !store.list_states().await?.iter().any(|s| s.id == id) {
                return Err(missing("state"));
            }
            Jurisdiction::State(id)
        }
        (ScopeKind::District, Some(id)) => {
            let d = store
                .get_district(DistrictId(small(id, "district")?))
                .await?
                .ok_or_else(|| missing("district"))?;
            Jurisdiction::District(d.id, d.state_id)
        }
        (ScopeKind::Centre, Some(id)) => {
            let c = store
                .get_centre(CentreId(id))
                .await?
                .ok_or_else(|| missing("centre"))?
                .centre;
            Jurisdiction::Centre(c.id, c.district_id, c.state_id)
        }
        (kind, _) => {
            return Err(AppError::BadInput(format!(
                "this role needs {}",
                match kind {
                    ScopeKind::Nation => "no centre, district or state",
                    ScopeKind::State => "a state id",
                    ScopeKind::District => "a district id",
                    ScopeKind::Centre => "a centre id",
                }
            )));
        }
    })
}

/// The stored columns of a jurisdiction: (kind, id, district, state).
fn scope_columns(j: Jurisdiction) -> (&'static str, Option<i64>, Option<i64>, Option<i64>) {
    match j {
        Jurisdiction::Nation => ("nation", None, None, None),
        Jurisdiction::State(s) => ("state", Some(s.0.into()), None, Some(s.0.into())),
        Jurisdiction::District(d, s) => (
            "district",
            Some(d.0.into()),
            Some(d.0.into()),
            Some(s.0.into()),
        ),
        Jurisdiction::Centre(c, d, s) => ("centre", Some(c.0), Some(d.0.into()), Some(s.0.into())),
    }
}

/// The (state, district) filter that selects what lies within a jurisdiction, for listings.
pub(crate) fn listing_filter(j: Jurisdiction) -> (Option<i64>, Option<i64>) {
    match j {
        Jurisdiction::Nation => (None, None),
        Jurisdiction::State(s) => (Some(s.0.into()), None),
        Jurisdiction::District(d, s) | Jurisdiction::Centre(_, d, s) => {
            (Some(s.0.into()), Some(d.0.into()))
        }
    }
}

fn suspended() -> AppError {
    refused(
        Refusal::Forbidden,
        SUSPENDED,
        "This account is suspended pending an administrator's review",
    )
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
        let jurisdiction = resolve_scope(self.store, role.scope_kind(), scope_id).await?;
        let (scope_kind, scope_id, scope_district, scope_state) = scope_columns(jurisdiction);
        let staff_id = Uuid::new_v4();
        let (temporary_password, secret, password_hash, totp_secret_sealed) =
            self.fresh_credentials(staff_id)?;
        let row = StaffRow {
            staff_id,
            username: username.to_owned(),
            role: role.as_str().to_owned(),
            scope_kind: scope_kind.to_owned(),
            scope_id,
            password_hash,
            must_change_password: true,
            totp_secret_sealed,
            totp_last_step: 0,
            failed_logins: 0,
            locked_until: 0,
            disabled: false,
            created_at: now_ms(),
            scope_district,
            scope_state,
            suspended: false,
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

    /// A temporary password and an authenticator secret: (password, secret, password hash,
    /// sealed secret).
    fn fresh_credentials(
        &self,
        staff_id: Uuid,
    ) -> Result<(String, Vec<u8>, String, Vec<u8>), AppError> {
        let crypto = |e: teeka_crypto::CryptoError| AppError::Crypto(e.to_string());
        // 20 random bytes as base32: 32 characters, about 160 bits, far above the policy.
        let temporary_password = totp::base32(&teeka_crypto::random_bytes::<20>().map_err(crypto)?);
        let secret = teeka_crypto::random_bytes::<20>().map_err(crypto)?.to_vec();
        let hash = password::hash_password(&temporary_password).map_err(crypto)?;
        let sealed = self.vault.seal(&secret, &staff_secret_binding(staff_id))?;
        Ok((temporary_password, secret, hash, sealed))
    }

    /// Gives an account a new temporary password and a new authenticator secret (an
    /// administrator's reset): every session ends and the enrolment is shown once.
    pub async fn reset_user(&self, row: &StaffRow) -> Result<Enrolment, AppError> {
        let (temporary_password, secret, hash, sealed) = self.fresh_credentials(row.staff_id)?;
        if !self
            .store
            .reset_staff_credentials(row.staff_id, &hash, &sealed)
            .await?
        {
            return Err(AppError::NotFound("staff account"));
        }
        Ok(Enrolment {
            staff_id: row.staff_id,
            temporary_password,
            otpauth_uri: totp::enrolment_uri("Teeka", &row.username, &secret),
            totp_secret: secret,
        })
    }

    /// Checks a fresh authenticator code for a signed-in account (break-glass asks for one):
    /// right, and never accepted before.
    pub async fn fresh_totp(&self, grant: &StaffGrant, code: &str) -> Result<bool, AppError> {
        let row = self
            .store
            .staff_by_id(grant.staff_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let secret = self
            .vault
            .open_unchecked(&row.totp_secret_sealed, &staff_secret_binding(row.staff_id))?;
        let unix = u64::try_from(now_ms() / 1000).unwrap_or_default();
        let fresh = match totp::matching_step(&secret, code, unix) {
            Some(step) => {
                self.store
                    .use_totp_step(row.staff_id, i64::try_from(step).unwrap_or(i64::MAX))
                    .await?
            }
            None => false,
        };
        if !fresh {
            // A stolen session must not become a way to guess codes: a wrong one counts as a
            // failed sign-in (slow-down, then lock with an alert).
            self.store
                .note_staff_failure(row.staff_id, now_ms(), self.config.failures)
                .await?;
        }
        Ok(fresh)
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
        if row.suspended {
            // Only after the password, so a suspension tells nothing to a guesser.
            if password::verify_password(password_given, &row.password_hash) {
                return Err(suspended());
            }
            return Err(bad_credentials());
        }
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
        if account.suspended {
            return Err(suspended());
        }
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
