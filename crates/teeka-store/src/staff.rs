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
    /// The district of the account's centre or district (none for state and nation scopes).
    pub scope_district: Option<i64>,
    /// The state of the account's centre, district or state (none for the nation).
    pub scope_state: Option<i64>,
    /// Suspended by anomaly detection until an administrator reinstates it.
    pub suspended: bool,
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
    /// The district whose administrators it is for (none: state or national level).
    pub district_id: Option<i64>,
    /// The state whose administrators it is for (none: national level).
    pub state_id: Option<i64>,
    /// An administrator has reviewed it.
    pub reviewed: bool,
}

const STAFF_COLUMNS: &str = "staff_id, username, role, scope_kind, scope_id, password_hash, must_change_password, \
     totp_secret_sealed, totp_last_step, failed_logins, locked_until, disabled, created_at, scope_district, scope_state, suspended";

const ALERT_COLUMNS: &str =
    "alert_id, staff_id, kind, detail, created_at, district_id, state_id, reviewed";

pub(crate) fn alert_select(condition: &str) -> String {
    format!(
        "SELECT {ALERT_COLUMNS} FROM staff_alerts WHERE {condition} ORDER BY created_at DESC LIMIT $1"
    )
}

pub(crate) fn alert_from_row<R>(r: &R) -> Result<StaffAlert, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> Uuid: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Uuid>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StaffAlert {
        alert_id: r.try_get(0)?,
        staff_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        detail: r.try_get(3)?,
        created_at: r.try_get(4)?,
        district_id: r.try_get(5)?,
        state_id: r.try_get(6)?,
        reviewed: r.try_get(7)?,
    })
}

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
        scope_district: r.try_get(13)?,
        scope_state: r.try_get(14)?,
        suspended: r.try_get(15)?,
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
                 must_change_password, totp_secret_sealed, totp_last_step, failed_logins, locked_until, disabled, created_at, \
                 scope_district, scope_state, suspended) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
            .bind(s.scope_district)
            .bind(s.scope_state)
            .bind(s.suspended)
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
                Self::insert_alert(
                    &mut tx,
                    staff_id,
                    "staff.locked",
                    &format!("{failures} failed sign-ins in a row; locked until an administrator unlocks it"),
                    now_ms,
                )
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
            let sql = $crate::staff::alert_select("1 = 1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(self.reader()).await?;
            Ok(rows.iter().map($crate::staff::alert_from_row).collect::<Result<_, _>>()?)
        }

        /// Alerts within a state and/or district (none: everywhere), newest first.
        pub async fn staff_alerts_within(
            &self,
            state: Option<i64>,
            district: Option<i64>,
            limit: i64,
        ) -> Result<Vec<$crate::staff::StaffAlert>, $crate::StoreError> {
            let sql = $crate::staff::alert_select(
                "($2 IS NULL OR state_id = $2) AND ($3 IS NULL OR district_id = $3)",
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .bind(state)
                .bind(district)
                .fetch_all(self.reader())
                .await?;
            Ok(rows.iter().map($crate::staff::alert_from_row).collect::<Result<_, _>>()?)
        }

        /// Marks an alert reviewed; whether it existed.
        pub async fn review_staff_alert(&self, alert_id: uuid::Uuid) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_alerts SET reviewed = $2 WHERE alert_id = $1")
                .bind(alert_id)
                .bind(true)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        }

        /// Inserts an alert about an account in `tx`, addressed to the administrators of the
        /// account's district and state.
        pub(crate) async fn insert_alert(
            tx: &mut sqlx::Transaction<'static, $db>,
            staff_id: uuid::Uuid,
            kind: &str,
            detail: &str,
            now_ms: i64,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query(
                "INSERT INTO staff_alerts (alert_id, staff_id, kind, detail, created_at, district_id, state_id, reviewed) \
                 SELECT $1, staff_id, $3, $4, $5, scope_district, scope_state, $6 FROM staff_accounts WHERE staff_id = $2",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(staff_id)
            .bind(kind)
            .bind(detail)
            .bind(now_ms)
            .bind(false)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// A staff account by id.
        pub async fn staff_by_id(&self, staff_id: uuid::Uuid) -> Result<Option<$crate::staff::StaffRow>, $crate::StoreError> {
            let sql = $crate::staff::staff_select("staff_id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(staff_id).fetch_optional(self.reader()).await?;
            Ok(row.map(|r| $crate::staff::staff_from_row(&r)).transpose()?)
        }

        /// Staff accounts within a state and/or district (none: everywhere), by username.
        pub async fn list_staff(
            &self,
            state: Option<i64>,
            district: Option<i64>,
        ) -> Result<Vec<$crate::staff::StaffRow>, $crate::StoreError> {
            let sql = $crate::staff::staff_select(
                "($1 IS NULL OR scope_state = $1) AND ($2 IS NULL OR scope_district = $2) ORDER BY username",
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state).bind(district).fetch_all(self.reader()).await?;
            Ok(rows.iter().map($crate::staff::staff_from_row).collect::<Result<_, _>>()?)
        }

        /// Disables or re-enables an account; disabling ends its sessions. Whether it exists.
        pub async fn set_staff_disabled(&self, staff_id: uuid::Uuid, disabled: bool) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_accounts SET disabled = $2 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(disabled)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if disabled {
                sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE staff_id = $2")
                    .bind(true)
                    .bind(staff_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        }

        /// Resets an account's credentials: a temporary password that must be changed, a new
        /// authenticator secret, the counters cleared and every session ended. Whether it exists.
        pub async fn reset_staff_credentials(
            &self,
            staff_id: uuid::Uuid,
            password_hash: &str,
            totp_secret_sealed: &[u8],
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE staff_accounts SET password_hash = $2, must_change_password = $3, totp_secret_sealed = $4, \
                 totp_last_step = 0, failed_logins = 0, locked_until = 0 WHERE staff_id = $1",
            )
            .bind(staff_id)
            .bind(password_hash)
            .bind(true)
            .bind(totp_secret_sealed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE staff_id = $2")
                .bind(true)
                .bind(staff_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        }

        /// Suspends an account (anomaly detection), ends its sessions and raises an alert, in one
        /// transaction; false when it was already suspended (no second alert).
        pub async fn suspend_staff(
            &self,
            staff_id: uuid::Uuid,
            kind: &str,
            detail: &str,
            now_ms: i64,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_accounts SET suspended = $2 WHERE staff_id = $1 AND suspended = $3")
                .bind(staff_id)
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("UPDATE staff_sessions SET revoked = $1 WHERE staff_id = $2")
                .bind(true)
                .bind(staff_id)
                .execute(&mut *tx)
                .await?;
            Self::insert_alert(&mut tx, staff_id, kind, detail, now_ms).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Lifts a suspension and a lock after an administrator's review; whether it exists.
        pub async fn reinstate_staff(&self, staff_id: uuid::Uuid, now_ms: i64) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_accounts SET suspended = $2, failed_logins = 0, locked_until = 0 WHERE staff_id = $1")
                .bind(staff_id)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Anomaly counts start afresh after a review (see `staff_signal_counts`).
            if n == 1 {
                sqlx::query("INSERT INTO staff_signals (staff_id, kind, at) VALUES ($1, $2, $3)")
                    .bind(staff_id)
                    .bind("reinstated")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
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
