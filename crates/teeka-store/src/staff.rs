//! Storage for staff accounts, their sessions and administrators' alerts. Every method that acts
//! on a decision (a failed sign-in, a successful one, ending sessions) does it in one
//! transaction, so several processes sharing the database count failures and refuse replayed
//! codes together.

use uuid::Uuid;

/// A staff account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// Id.
    pub staff_id: Uuid,
    /// Sign-in name.
    pub username: String,
    /// Role name (`teeka_domain::StaffRole`).
    pub role: String,
    /// `centre`, `district`, `state` or `nation`.
    pub scope_kind: String,
    /// The centre, district or state id (none for the nation).
    pub scope_id: Option<i64>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Set by an administrator's reset or at creation: only a password change is allowed.
    pub must_change_password: bool,
    /// The TOTP secret, sealed.
    pub totp_secret_sealed: Vec<u8>,
    /// The last TOTP step accepted.
    pub totp_last_step: i64,
    /// Failed sign-ins since the last success.
    pub failed_logins: i32,
    /// Unix ms until which sign-in is refused (`i64::MAX`: until an administrator unlocks).
    pub locked_until: i64,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Unix ms.
    pub created_at: i64,
}

/// How failures slow an account down and then lock it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// From this many failures, each further one locks the account for a doubling pause
    /// (1 s, 2 s, 4 s, … at most 15 minutes).
    pub slow_after: i32,
    /// At this many failures the account is locked until an administrator unlocks it, and an
    /// alert is raised.
    pub lock_after: i32,
}

/// A staff session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSessionRow {
    /// The account.
    pub account: StaffRow,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub last_seen_at: i64,
}

/// An alert for administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAlert {
    /// Id.
    pub alert_id: Uuid,
    /// Whose account, if any.
    pub staff_id: Option<Uuid>,
    /// What happened (`staff.locked`, …).
    pub kind: String,
    /// Details (no personal data).
    pub detail: String,
    /// Unix ms.
    pub created_at: i64,
}

const STAFF_COLUMNS: &str = "staff_id, username, role, scope_kind, scope_id, password_hash, must_change_password, \
     totp_secret_sealed, totp_last_step, failed_logins, locked_until, disabled, created_at";

pub(crate) fn staff_select(condition: &str) -> String {
    format!("SELECT {STAFF_COLUMNS} FROM staff_accounts WHERE {condition}")
}

pub(crate) fn staff_from_row<R>(r: &R) -> Result<StaffRow, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> Uuid: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StaffRow {
        staff_id: r.try_get(0)?,
        username: r.try_get(1)?,
        role: r.try_get(2)?,
        scope_kind: r.try_get(3)?,
        scope_id: r.try_get(4)?,
        password_hash: r.try_get(5)?,
        must_change_password: r.try_get(6)?,
        totp_secret_sealed: r.try_get(7)?,
        totp_last_step: r.try_get(8)?,
        failed_logins: r.try_get(9)?,
        locked_until: r.try_get(10)?,
        disabled: r.try_get(11)?,
        created_at: r.try_get(12)?,
    })
}

/// Stamps the staff methods onto a backend (see `common.rs` for why a macro).
macro_rules! staff_store_methods {
    ($db:ty) => {
        /// Creates a staff account.
        pub async fn insert_staff(&self, s: &$crate::staff::StaffRow) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO staff_accounts (staff_id, username, role, scope_kind, scope_id, password_hash, \
                 must_change_password, totp_secret_sealed, totp_last_step, failed_logins, locked_until, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(s.staff_id)
            .bind(&s.username)
            .bind(&s.role)
            .bind(&s.scope_kind)
            .bind(s.scope_id)
            .bind(&s.password_hash)
            .bind(s.must_change_password)
            .bind(&s.totp_secret_sealed)
            .bind(s.totp_last_step)
            .bind(s.failed_logins)
            .bind(s.locked_until)
            .bind(s.disabled)
            .bind(s.created_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        /// A staff account by sign-in name.
        pub async fn staff_by_username(&self, username: &str) -> Result<Option<$crate::staff::StaffRow>, $crate::StoreError> {
            let sql = $crate::staff::staff_select("username = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(self.reader()).await?;
            Ok(row.map(|r| $crate::staff::staff_from_row(&r)).transpose()?)
        }

        /// Counts a failed sign-in; slows the account down, then locks it and raises an alert,
        /// as `policy` says. The failures so far.
        pub async fn note_staff_failure(
            &self,
            staff_id: uuid::Uuid,
            now_ms: i64,
            policy: $crate::staff::FailurePolicy,
        ) -> Result<i32, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let failures: i32 = sqlx::query("UPDATE staff_accounts SET failed_logins = failed_logins + 1 WHERE staff_id = $1 RETURNING failed_logins")
                .bind(staff_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let until = if failures >= policy.lock_after {
                i64::MAX
            } else if failures >= policy.slow_after {
                let pause = 1000i64 << (failures - policy.slow_after).min(10);
                now_ms.saturating_add(pause.min(15 * 60 * 1000))
            } else {
                0
            };
            sqlx::query("UPDATE staff_accounts SET locked_until = $2 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(until)
                .execute(&mut *tx)
                .await?;
            if failures == policy.lock_after {
                sqlx::query("INSERT INTO staff_alerts (alert_id, staff_id, kind, detail, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(uuid::Uuid::new_v4())
                    .bind(staff_id)
                    .bind("staff.locked")
                    .bind(format!("{failures} failed sign-ins in a row; locked until an administrator unlocks it"))
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(failures)
        }

        /// Records a successful sign-in at TOTP step `step` and opens a session, in one
        /// transaction; false (nothing written) when that step or a later one was already used.
        pub async fn staff_signed_in(
            &self,
            staff_id: uuid::Uuid,
            step: i64,
            token_hash: &[u8],
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let fresh = sqlx::query(
                "UPDATE staff_accounts SET totp_last_step = $2, failed_logins = 0, locked_until = 0 \
                 WHERE staff_id = $1 AND totp_last_step < $2",
            )
            .bind(staff_id)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if fresh != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("INSERT INTO staff_sessions (token_hash, staff_id, created_at, last_seen_at, revoked) VALUES ($1, $2, $3, $3, $4)")
                .bind(token_hash)
                .bind(staff_id)
                .bind(now_ms)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        /// A live (not revoked) session and its account.
        pub async fn staff_session(&self, token_hash: &[u8]) -> Result<Option<$crate::staff::StaffSessionRow>, $crate::StoreError> {
            use sqlx::Row;
            let cols = $crate::staff::staff_select("staff_id = (SELECT staff_id FROM staff_sessions WHERE token_hash = $1 AND revoked = $2)");
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(cols)).bind(token_hash).bind(false).fetch_optional(self.reader()).await? else {
                return Ok(None);
            };
            let account = $crate::staff::staff_from_row(&row)?;
            let times = sqlx::query("SELECT created_at, last_seen_at FROM staff_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(self.reader())
                .await?;
            Ok(Some($crate::staff::StaffSessionRow { account, created_at: times.try_get(0)?, last_seen_at: times.try_get(1)? }))
        }

        /// Marks a session as seen now.
        pub async fn touch_staff_session(&self, token_hash: &[u8], now_ms: i64) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        /// Ends sessions: one (by token hash), every session of one account, or everyone's.
        /// How many ended.
        pub async fn end_staff_sessions(&self, which: $crate::staff::SessionsToEnd<'_>) -> Result<u64, $crate::StoreError> {
            use $crate::staff::SessionsToEnd;
            let mut tx = self.begin_write().await?;
            let done = match which {
                SessionsToEnd::One(hash) => sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE token_hash = $2 AND revoked = $3")
                    .bind(true).bind(hash).bind(false).execute(&mut *tx).await?,
                SessionsToEnd::OfAccount(id) => sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE staff_id = $2 AND revoked = $3")
                    .bind(true).bind(id).bind(false).execute(&mut *tx).await?,
                SessionsToEnd::Everyone => sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE revoked = $2")
                    .bind(true).bind(false).execute(&mut *tx).await?,
            }
            .rows_affected();
            tx.commit().await?;
            Ok(done)
        }

        /// Makes every staff account change its password at next sign-in and ends every staff
        /// session, in one transaction (the remedy of 2023); (accounts, sessions).
        pub async fn force_staff_password_reset(&self) -> Result<(u64, u64), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let accounts = sqlx::query("UPDATE staff_accounts SET must_change_password = $1")
                .bind(true)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let sessions = sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE revoked = $2")
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok((accounts, sessions))
        }

        /// Sets a new password hash and clears the must-change flag; other sessions of the
        /// account end, the one making the change (`keep`) stays.
        pub async fn set_staff_password(&self, staff_id: uuid::Uuid, hash: &str, keep: &[u8]) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE staff_accounts SET password_hash = $2, must_change_password = $3 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(hash)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE staff_id = $2 AND token_hash <> $3")
                .bind(true)
                .bind(staff_id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        /// Clears an account's lock and failure count; whether it exists.
        pub async fn unlock_staff(&self, staff_id: uuid::Uuid) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_accounts SET failed_logins = 0, locked_until = 0 WHERE staff_id = $1")
                .bind(staff_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        }

        /// Alerts, newest first.
        pub async fn staff_alerts(&self, limit: i64) -> Result<Vec<$crate::staff::StaffAlert>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT alert_id, staff_id, kind, detail, created_at FROM staff_alerts ORDER BY created_at DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
            rows.iter()
                .map(|r| Ok($crate::staff::StaffAlert { alert_id: r.try_get(0)?, staff_id: r.try_get(1)?, kind: r.try_get(2)?, detail: r.try_get(3)?, created_at: r.try_get(4)? }))
                .collect()
        }
    };
}

pub(crate) use staff_store_methods;

/// Which sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum SessionsToEnd<'a> {
    /// One, by its token hash (logout).
    One(&'a [u8]),
    /// Every session of one account.
    OfAccount(Uuid),
    /// Every staff session.
    Everyone,
}
