//! Storage for partners: the registry, the kill switch, consents and the tokens bound to them,
//! and the hourly usage behind quotas and anomaly alerts; and the aggregate counts research and
//! public statistics are made from. Every change is one transaction with its ledger entry.

use uuid::Uuid;

/// A registered partner as stored (the secret only as its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    /// Id.
    pub partner_id: Uuid,
    /// The public half of its API key.
    pub client_id: String,
    /// Name, shown to people asked for consent.
    pub name: String,
    /// What the partner is for.
    pub purpose: String,
    /// Scopes it may ask for (comma-separated).
    pub scopes: String,
    /// Fields it may ask for (comma-separated).
    pub fields: String,
    /// Requests a minute, across processes.
    pub requests_per_minute: i32,
    /// Requests in any 24 hours, across processes.
    pub daily_quota: i64,
    /// Distinct people an hour before the partner is throttled and an alert raised.
    pub people_per_hour: i64,
    /// When its registration ends (unix ms), if it does.
    pub expires_at_ms: Option<i64>,
    /// Who to call.
    pub contact: String,
    /// SHA-256 of the secret.
    pub secret_hash: Vec<u8>,
    /// SHA-256 fingerprint of the client certificate it must present, if bound.
    pub tls_fingerprint: Option<String>,
    /// Switched off by an administrator.
    pub disabled: bool,
    /// Refused until (unix ms), after an anomaly.
    pub throttled_until_ms: i64,
    /// Unix ms.
    pub created_at_ms: i64,
}

/// A partner's request for consent, waiting for the person's OTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequestRow {
    /// The OTP transaction it waits on.
    pub txn_id: Uuid,
    /// Who asks.
    pub partner_id: Uuid,
    /// Why.
    pub purpose: String,
    /// Scopes asked (comma-separated).
    pub scopes: String,
    /// Fields asked (comma-separated).
    pub fields: String,
    /// For how long.
    pub duration_ms: i64,
    /// Unix ms.
    pub created_at_ms: i64,
}

/// A consent to record when the OTP is right: exactly what was asked, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentIssue {
    /// Id.
    pub consent_id: Uuid,
    /// What was asked (the stored request must still say the same).
    pub request: ConsentRequestRow,
    /// Unix ms.
    pub granted_at_ms: i64,
    /// Unix ms.
    pub expires_at_ms: i64,
    /// The signed artefact (JSON).
    pub artefact: String,
    /// Ed25519 over the artefact's bytes.
    pub signature: Vec<u8>,
    /// Hash of the partner token to issue.
    pub token_hash: Vec<u8>,
}

/// A consent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Id.
    pub consent_id: Uuid,
    /// The partner.
    pub partner_id: Uuid,
    /// The partner's name.
    pub partner_name: String,
    /// Whose.
    pub account_id: Uuid,
    /// Why.
    pub purpose: String,
    /// Scopes approved.
    pub scopes: String,
    /// Fields approved.
    pub fields: String,
    /// Unix ms.
    pub granted_at_ms: i64,
    /// Unix ms.
    pub expires_at_ms: i64,
    /// Unix ms, if revoked.
    pub revoked_at_ms: Option<i64>,
    /// The signed artefact.
    pub artefact: String,
    /// Its signature.
    pub signature: Vec<u8>,
}

/// What a kill switch turns off or on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchTarget {
    /// Every partner.
    All,
    /// One scope, for every partner.
    Scope(String),
    /// One partner.
    Partner(Uuid),
}

/// Thresholds for one partner's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRules {
    /// Requests in one minute.
    pub requests_per_minute: i64,
    /// Requests in any 24 hours.
    pub daily_quota: i64,
    /// Distinct people in one hour.
    pub people_per_hour: i64,
    /// A spike: this hour's calls exceed this many times the previous 23 hours' hourly mean …
    pub spike_factor: i64,
    /// … and this many calls.
    pub spike_floor: i64,
    /// How long an anomaly throttles the partner.
    pub throttle_ms: i64,
}

/// What became of counting one partner request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageOutcome {
    /// Within every limit.
    Allowed,
    /// The daily quota is used up.
    OverQuota,
    /// Over the requests-a-minute limit.
    TooFast,
    /// Throttled (after an anomaly) until this time.
    Throttled(i64),
    /// This request crossed an anomaly threshold: throttled now, an alert raised.
    Anomaly(String),
}

/// Dose counts grouped finely enough for any aggregate: one row per combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseCountRow {
    /// The centre's state (`-1` when the dose has no centre).
    pub state_id: i64,
    /// The centre's district (`-1` when the dose has no centre).
    pub district_id: i64,
    /// The person's year of birth.
    pub birth_year: i64,
    /// CoWIN gender id.
    pub gender: i64,
    /// The vaccine.
    pub vaccine: String,
    /// Which dose.
    pub dose_number: i64,
    /// `YYYY-MM-DD`.
    pub given_on: String,
    /// How many.
    pub count: i64,
}

/// Which doses an aggregate counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountFilter {
    /// Only this state.
    pub state_id: Option<i64>,
    /// Only this district.
    pub district_id: Option<i64>,
    /// Only doses given on or before this day (`YYYY-MM-DD`).
    pub until: Option<String>,
}

pub(crate) const PARTNER_COLUMNS: &str = "partner_id, client_id, name, purpose, scopes, fields, \
     requests_per_minute, daily_quota, people_per_hour, expires_at, contact, secret_hash, \
     tls_fingerprint, disabled, throttled_until, created_at";

pub(crate) const CONSENT_COLUMNS: &str = "c.consent_id, c.partner_id, p.name, c.account_id, c.purpose, \
     c.scopes, c.fields, c.granted_at, c.expires_at, c.revoked_at, c.artefact, c.signature";

pub(crate) const HOUR_MS: i64 = 3_600_000;

macro_rules! partner_store_methods {
    ($db:ty) => {
        fn partner_from_row(r: &<$db as sqlx::Database>::Row) -> Result<$crate::partner::PartnerRow, sqlx::Error> {
            use sqlx::Row;
            Ok($crate::partner::PartnerRow {
                partner_id: r.try_get(0)?,
                client_id: r.try_get(1)?,
                name: r.try_get(2)?,
                purpose: r.try_get(3)?,
                scopes: r.try_get(4)?,
                fields: r.try_get(5)?,
                requests_per_minute: r.try_get(6)?,
                daily_quota: r.try_get(7)?,
                people_per_hour: r.try_get(8)?,
                expires_at_ms: r.try_get(9)?,
                contact: r.try_get(10)?,
                secret_hash: r.try_get(11)?,
                tls_fingerprint: r.try_get(12)?,
                disabled: r.try_get(13)?,
                throttled_until_ms: r.try_get(14)?,
                created_at_ms: r.try_get(15)?,
            })
        }

        fn consent_from_row(r: &<$db as sqlx::Database>::Row) -> Result<$crate::partner::ConsentRow, sqlx::Error> {
            use sqlx::Row;
            Ok($crate::partner::ConsentRow {
                consent_id: r.try_get(0)?,
                partner_id: r.try_get(1)?,
                partner_name: r.try_get(2)?,
                account_id: r.try_get(3)?,
                purpose: r.try_get(4)?,
                scopes: r.try_get(5)?,
                fields: r.try_get(6)?,
                granted_at_ms: r.try_get(7)?,
                expires_at_ms: r.try_get(8)?,
                revoked_at_ms: r.try_get(9)?,
                artefact: r.try_get(10)?,
                signature: r.try_get(11)?,
            })
        }

        /// Registers a partner, with its ledger entry; false when the client id is taken.
        pub async fn insert_partner(
            &self,
            p: &$crate::partner::PartnerRow,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO partners ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (client_id) DO NOTHING",
                $crate::partner::PARTNER_COLUMNS
            )))
            .bind(p.partner_id)
            .bind(&p.client_id)
            .bind(&p.name)
            .bind(&p.purpose)
            .bind(&p.scopes)
            .bind(&p.fields)
            .bind(p.requests_per_minute)
            .bind(p.daily_quota)
            .bind(p.people_per_hour)
            .bind(p.expires_at_ms)
            .bind(&p.contact)
            .bind(&p.secret_hash)
            .bind(&p.tls_fingerprint)
            .bind(p.disabled)
            .bind(p.throttled_until_ms)
            .bind(p.created_at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// The partner with this client id.
        pub async fn partner_by_client_id(
            &self,
            client_id: &str,
        ) -> Result<Option<$crate::partner::PartnerRow>, $crate::StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM partners WHERE client_id = $1",
                $crate::partner::PARTNER_COLUMNS
            )))
            .bind(client_id)
            .fetch_optional(self.reader())
            .await?;
            Ok(row.as_ref().map(Self::partner_from_row).transpose()?)
        }

        /// Every partner, oldest first.
        pub async fn list_partners(&self) -> Result<Vec<$crate::partner::PartnerRow>, $crate::StoreError> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM partners ORDER BY created_at, client_id",
                $crate::partner::PARTNER_COLUMNS
            )))
            .fetch_all(self.reader())
            .await?;
            Ok(rows.iter().map(Self::partner_from_row).collect::<Result<_, _>>()?)
        }

        /// The switches turned off: `all` and `scope:<name>`.
        pub async fn switched_off(&self) -> Result<Vec<String>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT target FROM partner_switches ORDER BY target")
                .fetch_all(self.reader())
                .await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
        }

        /// Replaces a partner's secret (rotation), with its ledger entry; false when no such partner.
        pub async fn set_partner_secret(
            &self,
            partner_id: uuid::Uuid,
            secret_hash: &[u8],
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query("UPDATE partners SET secret_hash = $2 WHERE partner_id = $1")
                .bind(partner_id)
                .bind(secret_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Turns a switch off (`off`) or back on, with its ledger entry. Whether anything changed
        /// (`None`: no such partner). Turning a partner back on also lifts an anomaly's throttle
        /// and restarts the anomaly windows (this hour's distinct people and requests), or the
        /// next request would trip the same alarm the administrator has just looked at; the day's
        /// quota loses at most that hour's count.
        pub async fn set_partner_switch(
            &self,
            target: &$crate::partner::SwitchTarget,
            off: bool,
            now_ms: i64,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<Option<bool>, $crate::StoreError> {
            use $crate::partner::SwitchTarget;
            let mut tx = self.begin_write().await?;
            let changed = match target {
                SwitchTarget::Partner(id) => {
                    let exists = sqlx::query("SELECT 1 FROM partners WHERE partner_id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    let sql = if off {
                        "UPDATE partners SET disabled = $2 WHERE partner_id = $1 AND disabled <> $2"
                    } else {
                        "UPDATE partners SET disabled = $2, throttled_until = 0 \
                         WHERE partner_id = $1 AND (disabled <> $2 OR throttled_until > 0)"
                    };
                    let changed = sqlx::query(sql)
                        .bind(id)
                        .bind(off)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    // Only when this turned the partner back on (it was off or throttled): a
                    // press of "on" for a partner already on must not hand it a fresh hour.
                    if !off && changed > 0 {
                        sqlx::query("DELETE FROM partner_people WHERE partner_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM partner_usage WHERE partner_id = $1 AND hour >= $2")
                            .bind(id)
                            .bind(now_ms.div_euclid($crate::partner::HOUR_MS))
                            .execute(&mut *tx)
                            .await?;
                    }
                    changed
                }
                SwitchTarget::All | SwitchTarget::Scope(_) => {
                    let key = match target {
                        SwitchTarget::Scope(s) => format!("scope:{s}"),
                        _ => "all".to_owned(),
                    };
                    let q = if off {
                        sqlx::query("INSERT INTO partner_switches (target, changed_at) VALUES ($1, $2) ON CONFLICT (target) DO NOTHING")
                            .bind(key)
                            .bind(now_ms)
                    } else {
                        sqlx::query("DELETE FROM partner_switches WHERE target = $1").bind(key)
                    };
                    q.execute(&mut *tx).await?.rows_affected()
                }
            };
            // Recorded even when nothing changed: an administrator pressed it.
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(Some(changed > 0))
        }

        /// The consent request waiting on an OTP transaction.
        pub async fn consent_request(
            &self,
            txn_id: uuid::Uuid,
        ) -> Result<Option<$crate::partner::ConsentRequestRow>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT txn_id, partner_id, purpose, scopes, fields, duration_ms, created_at \
                 FROM consent_requests WHERE txn_id = $1",
            )
            .bind(txn_id)
            .fetch_optional(self.reader())
            .await?;
            row.map(|r| {
                Ok($crate::partner::ConsentRequestRow {
                    txn_id: r.try_get(0)?,
                    partner_id: r.try_get(1)?,
                    purpose: r.try_get(2)?,
                    scopes: r.try_get(3)?,
                    fields: r.try_get(4)?,
                    duration_ms: r.try_get(5)?,
                    created_at_ms: r.try_get(6)?,
                })
            })
            .transpose()
        }

        /// In an OTP confirmation: checks the transaction's consent request against what is to
        /// be issued (a citizen's login must have none; a partner's must be this very request),
        /// and records the consent and its token. False: refuse the confirmation.
        async fn settle_consent(
            tx: &mut sqlx::Transaction<'static, $db>,
            txn_id: uuid::Uuid,
            issue: Option<&$crate::partner::ConsentIssue>,
            account_id: uuid::Uuid,
            request_id: &str,
        ) -> Result<bool, $crate::StoreError> {
            use sqlx::Row;
            let stored = sqlx::query(
                "SELECT partner_id, purpose, scopes, fields, duration_ms FROM consent_requests WHERE txn_id = $1",
            )
            .bind(txn_id)
            .fetch_optional(&mut **tx)
            .await?;
            let (issue, stored) = match (issue, stored) {
                (None, None) => return Ok(true),
                (Some(issue), Some(stored)) => (issue, stored),
                _ => return Ok(false),
            };
            let r = &issue.request;
            let same = stored.try_get::<uuid::Uuid, _>(0)? == r.partner_id
                && stored.try_get::<String, _>(1)? == r.purpose
                && stored.try_get::<String, _>(2)? == r.scopes
                && stored.try_get::<String, _>(3)? == r.fields
                && stored.try_get::<i64, _>(4)? == r.duration_ms;
            if !same {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO consents (consent_id, partner_id, account_id, purpose, scopes, fields, \
                 granted_at, expires_at, revoked_at, artefact, signature) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
            )
            .bind(issue.consent_id)
            .bind(r.partner_id)
            .bind(account_id)
            .bind(&r.purpose)
            .bind(&r.scopes)
            .bind(&r.fields)
            .bind(issue.granted_at_ms)
            .bind(issue.expires_at_ms)
            .bind(&issue.artefact)
            .bind(&issue.signature)
            .execute(&mut **tx)
            .await?;
            sqlx::query("INSERT INTO partner_tokens (token_hash, consent_id, expires_at) VALUES ($1, $2, $3)")
                .bind(&issue.token_hash)
                .bind(issue.consent_id)
                .bind(issue.expires_at_ms)
                .execute(&mut **tx)
                .await?;
            Self::append_access_event(
                tx,
                &$crate::identity::AccessEventRecord {
                    at_ms: issue.granted_at_ms,
                    actor_kind: "citizen".into(),
                    actor_id: account_id.to_string(),
                    role: "citizen".into(),
                    action: "consent.grant".into(),
                    subject_id: None,
                    // The partner's free-text purpose stays with the consent, out of the
                    // append-only ledger (and a long one no longer overflows an entry's 200
                    // bytes and fails the approval); the scopes are a fixed vocabulary.
                    purpose: format!(
                        "consent {} to partner {}: {}",
                        issue.consent_id, r.partner_id, r.scopes
                    ),
                    request_id: request_id.to_owned(),
                },
            )
            .await?;
            Ok(true)
        }

        /// The live consent behind a partner token presented by `partner_id`: not revoked, not
        /// expired, the token not expired.
        pub async fn partner_consent(
            &self,
            token_hash: &[u8],
            partner_id: uuid::Uuid,
            now_ms: i64,
        ) -> Result<Option<$crate::partner::ConsentRow>, $crate::StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM partner_tokens t JOIN consents c ON c.consent_id = t.consent_id \
                 JOIN partners p ON p.partner_id = c.partner_id \
                 WHERE t.token_hash = $1 AND c.partner_id = $2 AND t.expires_at > $3 \
                 AND c.expires_at > $3 AND c.revoked_at IS NULL",
                $crate::partner::CONSENT_COLUMNS
            )))
            .bind(token_hash)
            .bind(partner_id)
            .bind(now_ms)
            .fetch_optional(self.reader())
            .await?;
            Ok(row.as_ref().map(Self::consent_from_row).transpose()?)
        }

        /// The reference and subject ids of an account's beneficiaries (identifiers inside an
        /// account a grant already covers; no personal data).
        pub async fn account_subjects(
            &self,
            account_id: uuid::Uuid,
        ) -> Result<Vec<(String, uuid::Uuid)>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT reference_id, subject_id FROM beneficiaries WHERE account_id = $1 ORDER BY created_at, reference_id")
                .bind(account_id)
                .fetch_all(self.reader())
                .await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?)
        }

        /// Every consent an account gave, newest first; the read is on the ledger.
        pub async fn consents_of(
            &self,
            account_id: uuid::Uuid,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<Vec<$crate::partner::ConsentRow>, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM consents c JOIN partners p ON p.partner_id = c.partner_id \
                 WHERE c.account_id = $1 ORDER BY c.granted_at DESC, c.consent_id",
                $crate::partner::CONSENT_COLUMNS
            )))
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(rows.iter().map(Self::consent_from_row).collect::<Result<_, _>>()?)
        }

        /// Revokes one of an account's consents and ends its tokens at once, with the ledger
        /// entry; false when it is not the account's or already revoked.
        pub async fn revoke_consent(
            &self,
            account_id: uuid::Uuid,
            consent_id: uuid::Uuid,
            now_ms: i64,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query(
                "UPDATE consents SET revoked_at = $3 WHERE consent_id = $1 AND account_id = $2 AND revoked_at IS NULL",
            )
            .bind(consent_id)
            .bind(account_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM partner_tokens WHERE consent_id = $1")
                .bind(consent_id)
                .execute(&mut *tx)
                .await?;
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Counts one partner request (for `account_id`, when it acts for a person) against its
        /// quota and anomaly thresholds, in one transaction under the partner's row lock. An
        /// anomaly throttles the partner, raises an alert for national administrators and goes
        /// on the ledger, together.
        pub async fn note_partner_call(
            &self,
            partner_id: uuid::Uuid,
            account_id: Option<uuid::Uuid>,
            now_ms: i64,
            rules: &$crate::partner::UsageRules,
        ) -> Result<$crate::partner::UsageOutcome, $crate::StoreError> {
            use sqlx::Row;
            use $crate::partner::UsageOutcome;
            let hour = now_ms.div_euclid($crate::partner::HOUR_MS);
            let mut tx = self.begin_write().await?;
            let Some(row) = sqlx::query(
                "UPDATE partners SET throttled_until = throttled_until WHERE partner_id = $1 RETURNING throttled_until, name",
            )
            .bind(partner_id)
            .fetch_optional(&mut *tx)
            .await?
            else {
                tx.rollback().await?;
                return Ok(UsageOutcome::OverQuota);
            };
            let throttled_until: i64 = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            if throttled_until > now_ms {
                tx.rollback().await?;
                return Ok(UsageOutcome::Throttled(throttled_until));
            }
            let minute = now_ms.div_euclid(60_000);
            // Old buckets go as new ones fill, so the tables stay a few rows per partner.
            sqlx::query("DELETE FROM partner_minutes WHERE partner_id = $1 AND minute < $2")
                .bind(partner_id)
                .bind(minute - 1)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM partner_usage WHERE partner_id = $1 AND hour < $2")
                .bind(partner_id)
                .bind(hour - 48)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM partner_people WHERE partner_id = $1 AND hour < $2")
                .bind(partner_id)
                .bind(hour)
                .execute(&mut *tx)
                .await?;
            let this_minute = sqlx::query(
                "INSERT INTO partner_minutes (partner_id, minute, calls) VALUES ($1, $2, 1) \
                 ON CONFLICT (partner_id, minute) DO UPDATE SET calls = partner_minutes.calls + 1 RETURNING calls",
            )
            .bind(partner_id)
            .bind(minute)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>(0)?;
            if this_minute > rules.requests_per_minute {
                // The count stays: hammering does not buy a fresh minute.
                tx.commit().await?;
                return Ok(UsageOutcome::TooFast);
            }
            let window = sqlx::query(
                "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN hour = $2 THEN calls ELSE 0 END), 0) AS BIGINT) \
                 FROM partner_usage WHERE partner_id = $1 AND hour > $3",
            )
            .bind(partner_id)
            .bind(hour)
            .bind(hour - 24)
            .fetch_one(&mut *tx)
            .await?;
            let day_calls: i64 = window.try_get(0)?;
            let hour_calls: i64 = window.try_get(1)?;
            if day_calls >= rules.daily_quota {
                tx.rollback().await?;
                return Ok(UsageOutcome::OverQuota);
            }
            sqlx::query(
                "INSERT INTO partner_usage (partner_id, hour, calls) VALUES ($1, $2, 1) \
                 ON CONFLICT (partner_id, hour) DO UPDATE SET calls = partner_usage.calls + 1",
            )
            .bind(partner_id)
            .bind(hour)
            .execute(&mut *tx)
            .await?;
            let mut people = 0;
            if let Some(account) = account_id {
                sqlx::query("INSERT INTO partner_people (partner_id, hour, account_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(partner_id)
                    .bind(hour)
                    .bind(account)
                    .execute(&mut *tx)
                    .await?;
                people = sqlx::query("SELECT COUNT(*) FROM partner_people WHERE partner_id = $1 AND hour = $2")
                    .bind(partner_id)
                    .bind(hour)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<i64, _>(0)?;
            }
            let hour_calls = hour_calls + 1;
            let earlier_mean = (day_calls + 1 - hour_calls) / 23;
            let anomaly = if people > rules.people_per_hour {
                Some(format!("{people} distinct people this hour (limit {})", rules.people_per_hour))
            } else if hour_calls > rules.spike_floor && hour_calls > rules.spike_factor * earlier_mean.max(1) {
                Some(format!("{hour_calls} requests this hour against an hourly mean of {earlier_mean}"))
            } else {
                None
            };
            let Some(why) = anomaly else {
                tx.commit().await?;
                return Ok(UsageOutcome::Allowed);
            };
            sqlx::query("UPDATE partners SET throttled_until = $2 WHERE partner_id = $1")
                .bind(partner_id)
                .bind(now_ms + rules.throttle_ms)
                .execute(&mut *tx)
                .await?;
            let detail = format!("partner {name} ({partner_id}) throttled: {why}");
            sqlx::query(
                "INSERT INTO staff_alerts (alert_id, staff_id, kind, detail, created_at, district_id, state_id, reviewed) \
                 VALUES ($1, NULL, 'partner.anomaly', $2, $3, NULL, NULL, $4)",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(&detail)
            .bind(now_ms)
            .bind(false)
            .execute(&mut *tx)
            .await?;
            Self::append_access_event(
                &mut tx,
                &$crate::identity::AccessEventRecord {
                    at_ms: now_ms,
                    actor_kind: "system".into(),
                    actor_id: "anomaly".into(),
                    role: "system".into(),
                    action: "partner.throttle".into(),
                    subject_id: None,
                    // By id: a partner's name (up to 100 characters) would overflow an entry's
                    // 200 bytes and roll the throttle back.
                    purpose: format!("partner {partner_id} throttled: {why}"),
                    request_id: String::new(),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(UsageOutcome::Anomaly(detail))
        }

        fn dose_count_query(
            filter: &$crate::partner::CountFilter,
        ) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments> {
            sqlx::query(
                "SELECT CAST(COALESCE(c.state_id, -1) AS BIGINT), CAST(COALESCE(c.district_id, -1) AS BIGINT), \
                 CAST(b.birth_year AS BIGINT), CAST(b.gender AS BIGINT), d.vaccine_name, CAST(d.dose_number AS BIGINT), \
                 CAST(d.given_on AS TEXT), COUNT(*) \
                 FROM doses d JOIN beneficiaries b ON b.subject_id = d.subject_id \
                 LEFT JOIN centres c ON c.centre_id = d.centre_id \
                 WHERE d.revoked = $1 \
                 AND ($2 IS NULL OR c.state_id = $2) AND ($3 IS NULL OR c.district_id = $3) \
                 AND ($4 IS NULL OR CAST(d.given_on AS TEXT) <= $4) \
                 GROUP BY 1, 2, 3, 4, 5, 6, 7",
            )
            .bind(false)
            .bind(filter.state_id)
            .bind(filter.district_id)
            .bind(filter.until.as_deref())
        }

        /// Valid doses grouped by place, year of birth, gender, vaccine, dose and day. With
        /// `export`, the read and its ledger entry are one transaction (a research export).
        pub async fn dose_counts(
            &self,
            filter: &$crate::partner::CountFilter,
            export: Option<&$crate::identity::AccessEventRecord>,
        ) -> Result<Vec<$crate::partner::DoseCountRow>, $crate::StoreError> {
            use sqlx::Row;
            let rows = match export {
                None => Self::dose_count_query(filter).fetch_all(self.reader()).await?,
                Some(event) => {
                    let mut tx = self.begin_write().await?;
                    let rows = Self::dose_count_query(filter).fetch_all(&mut *tx).await?;
                    Self::append_access_event(&mut tx, event).await?;
                    tx.commit().await?;
                    rows
                }
            };
            Ok(rows
                .iter()
                .map(|r| {
                    Ok($crate::partner::DoseCountRow {
                        state_id: r.try_get(0)?,
                        district_id: r.try_get(1)?,
                        birth_year: r.try_get(2)?,
                        gender: r.try_get(3)?,
                        vaccine: r.try_get(4)?,
                        dose_number: r.try_get(5)?,
                        given_on: r.try_get(6)?,
                        count: r.try_get(7)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?)
        }

        /// Adverse-event reports by severity, in the same place and time as [`Self::dose_counts`].
        pub async fn aefi_counts(
            &self,
            filter: &$crate::partner::CountFilter,
            until_ms: Option<i64>,
        ) -> Result<Vec<(String, i64)>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT a.severity, COUNT(*) FROM aefi_reports a LEFT JOIN centres c ON c.centre_id = a.centre_id \
                 WHERE ($1 IS NULL OR c.state_id = $1) AND ($2 IS NULL OR c.district_id = $2) \
                 AND ($3 IS NULL OR a.onset_at < $3) GROUP BY a.severity ORDER BY a.severity",
            )
            .bind(filter.state_id)
            .bind(filter.district_id)
            .bind(until_ms)
            .fetch_all(self.reader())
            .await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?)
        }
    };
}

pub(crate) use partner_store_methods;
