//! Storage for citizen identity: OTP transactions and their limits, accounts, sessions, the
//! beneficiary registry, access events and the SMS outbox. The store holds only sealed bytes and
//! keyed hashes: it never sees a plaintext name, mobile or ID number, and knows no cryptography.
//!
//! Every access event also becomes a Merkle leaf (see [`crate::ledger`]).
//!
//! Every operation is one transaction. Limits are checked and recorded in the transaction that
//! acts on them, under a per-bucket lock, so they hold across app processes sharing the database.
//! Every read or write of a beneficiary's data appends an access event in the same transaction,
//! through [`append_access_event`](SqliteStore::append_access_event): if it fails, the operation fails.

use uuid::Uuid;

/// One access to personal data, as it goes on the ledger: no plaintext personal data, the subject
/// as a pseudonymous id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEventRecord {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// `citizen`, `staff`, `partner` or `system`.
    pub actor_kind: String,
    /// The actor's pseudonymous id (an account id, a staff id).
    pub actor_id: String,
    /// The actor's role.
    pub role: String,
    /// What was done (`beneficiary.register`, `beneficiary.read`, …).
    pub action: String,
    /// Whose data, as the beneficiary's subject id.
    pub subject_id: Option<Uuid>,
    /// Why.
    pub purpose: String,
    /// The request it happened in.
    pub request_id: String,
}

/// A stored access event with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccessEvent {
    /// Gap-free sequence number, from 1.
    pub seq: i64,
    /// The event.
    pub event: AccessEventRecord,
}

/// A message waiting in the outbox; the payload is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Id.
    pub message_id: Uuid,
    /// `sms`.
    pub channel: String,
    /// Template name (`otp`, …).
    pub template: String,
    /// Sealed payload (recipient, text).
    pub payload_sealed: Vec<u8>,
    /// Deliveries tried so far.
    pub attempts: i32,
    /// Not before (unix ms).
    pub next_attempt_at_ms: i64,
    /// Created (unix ms).
    pub created_at_ms: i64,
}

/// The OTP limits a send or confirmation is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpLimits {
    /// Sends per mobile per hour.
    pub sends_per_hour: i64,
    /// Sends per mobile per day.
    pub sends_per_day: i64,
    /// Minimum time between two sends to one mobile.
    pub resend_cooldown_ms: i64,
    /// Sends per client IP per hour.
    pub ip_sends_per_hour: i64,
    /// Failed confirmations per mobile per day.
    pub failures_per_day: i64,
    /// Wrong OTPs per transaction before it is void.
    pub wrong_attempts_per_txn: i32,
    /// Failed confirmations per client IP (or IPv6 /64) per hour, across all mobiles.
    pub ip_failures_per_hour: i64,
}

/// A new OTP transaction to record, with its SMS.
#[derive(Debug, Clone)]
pub struct NewOtp {
    /// Transaction id (the client's `txnId`).
    pub txn_id: Uuid,
    /// Blind index of the mobile.
    pub mobile_index: Vec<u8>,
    /// The mobile, sealed (becomes the account's on first confirmation).
    pub mobile_sealed: Vec<u8>,
    /// Keyed hash of the OTP.
    pub otp_hash: Vec<u8>,
    /// Keyed hash of the client IP.
    pub ip_bucket: Vec<u8>,
    /// Now (unix ms).
    pub now_ms: i64,
    /// Expiry (unix ms).
    pub expires_at_ms: i64,
    /// The SMS carrying the OTP.
    pub sms: OutboxMessage,
    /// A partner's consent request this OTP asks the person to approve (none for a login).
    pub consent_request: Option<crate::partner::ConsentRequestRow>,
}

/// What became of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpSendOutcome {
    /// Recorded and queued.
    Sent,
    /// Too soon after the last send to this mobile.
    Cooldown,
    /// This mobile's hourly or daily limit is used up.
    MobileLimit,
    /// This IP's hourly limit is used up.
    IpLimit,
}

/// An OTP confirmation to check.
#[derive(Debug, Clone)]
pub struct OtpAttempt {
    /// Which transaction.
    pub txn_id: Uuid,
    /// Keyed hash of what the client sent.
    pub otp_hash: Vec<u8>,
    /// Now (unix ms).
    pub now_ms: i64,
    /// Id for the account if this mobile has none yet.
    pub new_account_id: Uuid,
    /// Hash of the session token to issue.
    pub session_token_hash: Vec<u8>,
    /// Keyed hash of the client IP (its failure budget spans every mobile).
    pub ip_bucket: Vec<u8>,
    /// Session expiry (unix ms).
    pub session_expires_at_ms: i64,
    /// For the access event of a new account.
    pub request_id: String,
    /// The consent to record instead of a citizen session, when a partner asked for one.
    pub consent: Option<crate::partner::ConsentIssue>,
}

/// What became of a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpConfirmOutcome {
    /// The OTP was right: a session exists for this account.
    Confirmed {
        /// The account.
        account_id: Uuid,
        /// Whether the account was created now.
        new_account: bool,
    },
    /// Wrong OTP; the transaction is still open.
    Wrong,
    /// Wrong OTP, and that was the last allowed attempt: the transaction is void.
    Voided,
    /// The OTP expired.
    Expired,
    /// Unknown, used or void transaction.
    Invalid,
    /// This mobile has failed too often today.
    TooManyFailures,
    /// This client IP has failed too often this hour, across mobiles (guessing).
    TooManyFailuresFromHere,
}

/// One of an account's beneficiaries as a booking's eligibility check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingCandidate {
    /// CoWIN's 14-digit `beneficiary_reference_id`.
    pub reference_id: String,
    /// The person's pseudonymous id.
    pub subject_id: Uuid,
    /// Year of birth (the only date of birth Teeka keeps).
    pub birth_year: i32,
}

/// A beneficiary as stored: personal data sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeneficiaryRow {
    /// CoWIN's 14-digit `beneficiary_reference_id`.
    pub reference_id: String,
    /// Pseudonymous id for the ledger.
    pub subject_id: Uuid,
    /// The account (mobile) it is registered on.
    pub account_id: Uuid,
    /// Sealed name.
    pub name_sealed: Vec<u8>,
    /// Photo ID kind (CoWIN id).
    pub photo_id_type: i32,
    /// Blind index of the photo ID (unique nationwide).
    pub photo_id_index: Vec<u8>,
    /// Sealed photo ID number.
    pub photo_id_sealed: Vec<u8>,
    /// Year of birth.
    pub birth_year: i32,
    /// Gender (CoWIN id).
    pub gender: i32,
    /// Comorbidity declared.
    pub comorbidity: bool,
    /// Consent text version accepted.
    pub consent_version: String,
    /// Registered (unix ms).
    pub created_at_ms: i64,
}

/// What became of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Registered.
    Registered,
    /// The account already has its maximum number of beneficiaries.
    AccountFull,
    /// That photo ID is registered already (on whichever account).
    DuplicateId,
    /// The reference id is taken (the caller draws another).
    ReferenceTaken,
    /// This account was refused too many duplicate IDs today: probing IDs is not allowed.
    TooManyDuplicates,
}

/// Duplicate-ID refusals an account may receive per day before registration is paused for it.
pub const DUPLICATE_REFUSALS_PER_DAY: i64 = 5;

/// Registrations, deletions and refusals an account may make per day.
pub const REGISTRY_CHANGES_PER_DAY: i64 = 12;

/// The columns [`BeneficiaryRow`] is decoded from, in order.
pub(crate) const BENEFICIARY_COLUMNS: &str = "reference_id, subject_id, account_id, name_sealed, photo_id_type, \
     photo_id_index, photo_id_sealed, birth_year, gender, comorbidity, consent_version, created_at";

/// Columns that hold sealed data, for key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `accounts.mobile_sealed`.
    AccountMobile,
    /// `otp_transactions.mobile_sealed`.
    OtpMobile,
    /// `beneficiaries.name_sealed`.
    BeneficiaryName,
    /// `beneficiaries.photo_id_sealed`.
    BeneficiaryPhotoId,
    /// `outbox.payload_sealed`.
    OutboxPayload,
    /// `travel_details.details_sealed`.
    TravelDetails,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [SealedColumn; 6] = [
        SealedColumn::AccountMobile,
        SealedColumn::OtpMobile,
        SealedColumn::BeneficiaryName,
        SealedColumn::BeneficiaryPhotoId,
        SealedColumn::OutboxPayload,
        SealedColumn::TravelDetails,
    ];

    /// The associated data a value of this column is sealed under: the column and its owner (the
    /// mobile's blind index, the beneficiary's subject id, the message id). A sealed value copied to
    /// another column or another person's row does not open.
    pub fn bound_to(self, owner: &[u8]) -> Vec<u8> {
        let column: &[u8] = match self {
            SealedColumn::AccountMobile | SealedColumn::OtpMobile => b"mobile",
            SealedColumn::BeneficiaryName => b"beneficiary.name",
            SealedColumn::BeneficiaryPhotoId => b"beneficiary.photo_id",
            SealedColumn::OutboxPayload => b"outbox.payload",
            SealedColumn::TravelDetails => b"travel_details",
        };
        let mut aad = column.to_vec();
        aad.push(0);
        aad.extend_from_slice(owner);
        aad
    }

    /// (select rows whose value does not start with `$1` (length `$3`), at most `$2`;
    /// compare-and-swap one value: key `$1`, old `$2`, new `$3`), and whether the key is a UUID.
    pub(crate) fn sql(self) -> (&'static str, &'static str, bool) {
        match self {
            SealedColumn::AccountMobile => (
                "SELECT account_id, mobile_sealed, mobile_index FROM accounts WHERE substr(mobile_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE accounts SET mobile_sealed = $3 WHERE account_id = $1 AND mobile_sealed = $2",
                true,
            ),
            SealedColumn::OtpMobile => (
                "SELECT txn_id, mobile_sealed, mobile_index FROM otp_transactions WHERE substr(mobile_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE otp_transactions SET mobile_sealed = $3 WHERE txn_id = $1 AND mobile_sealed = $2",
                true,
            ),
            SealedColumn::BeneficiaryName => (
                "SELECT reference_id, name_sealed, subject_id FROM beneficiaries WHERE substr(name_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE beneficiaries SET name_sealed = $3 WHERE reference_id = $1 AND name_sealed = $2",
                false,
            ),
            SealedColumn::BeneficiaryPhotoId => (
                "SELECT reference_id, photo_id_sealed, subject_id FROM beneficiaries WHERE substr(photo_id_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE beneficiaries SET photo_id_sealed = $3 WHERE reference_id = $1 AND photo_id_sealed = $2",
                false,
            ),
            SealedColumn::OutboxPayload => (
                "SELECT message_id, payload_sealed, message_id FROM outbox WHERE substr(payload_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE outbox SET payload_sealed = $3 WHERE message_id = $1 AND payload_sealed = $2",
                true,
            ),
            SealedColumn::TravelDetails => (
                "SELECT subject_id, details_sealed, subject_id FROM travel_details WHERE substr(details_sealed, 1, $3) <> $1 LIMIT $2",
                "UPDATE travel_details SET details_sealed = $3 WHERE subject_id = $1 AND details_sealed = $2",
                true,
            ),
        }
    }
}

/// A sealed value found for re-sealing: its row, the value, and the owner it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// The row.
    pub key: RowKey,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
    /// What the value is bound to (see [`SealedColumn::bound_to`]).
    pub owner: Vec<u8>,
}

/// A row's key in a sealed column's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// A UUID primary key.
    Uuid(Uuid),
    /// A text primary key.
    Text(String),
}

/// Queues one message in the outbox (six parameters).
pub(crate) const INSERT_OUTBOX: &str = "INSERT INTO outbox (message_id, channel, template, payload_sealed, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 0, $5, $6)";

/// Stamps the identity methods onto a backend (see `common.rs` for why a macro).
macro_rules! identity_store_methods {
    ($db:ty) => {
        /// Appends one access event in `tx`: the one function every personal-data access goes through.
        /// Sequence numbers are gap-free: the next is taken under the ledger lock (SQLite: from
        /// the last leaf, under the single writer's lock; PostgreSQL: from the head row, whose
        /// update is the lock). Leaves are never pruned, so either is the log's length even after
        /// retention.
        /// The leaf and the event row go in one statement, since each round trip to the database
        /// lengthens every booking's hold on the write lock.
        pub(crate) async fn append_access_event(
            tx: &mut sqlx::Transaction<'static, $db>,
            e: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            if $crate::ledger::ledger_skipped_for_baseline() {
                return Ok(());
            }
            $crate::ledger::check_bounded(e)?;
            // The statement takes the ledger's lock itself (SQLite: the writer's; PostgreSQL:
            // the head row's).
            Self::bind_access_event(sqlx::query(Self::APPEND_ACCESS_EVENT), e)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Binds an access event as the next nine parameters, in the order of the ledger's
        /// append (at, actor kind, actor id, role, action, subject, purpose, request id, leaf).
        fn bind_access_event<'q>(
            q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            e: &$crate::identity::AccessEventRecord,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            q.bind(e.at_ms)
                .bind(e.actor_kind.clone())
                .bind(e.actor_id.clone())
                .bind(e.role.clone())
                .bind(e.action.clone())
                .bind(e.subject_id)
                .bind(e.purpose.clone())
                .bind(e.request_id.clone())
                .bind($crate::ledger::leaf_hash(e).to_vec())
        }

        /// Runs `statement` (parameters `$1` to `$params`, bound by `bind`) with `e` on the
        /// ledger, in one call, so the ledger adds no round trip to a hot path: on SQLite the
        /// entry goes first in the call (the statements of one call share their numbered
        /// parameters); on PostgreSQL it rides in the statement's own `WITH` clause (see each
        /// backend's `statement_with_entry`). Either way the statement and the entry stand or
        /// fall together, and the ledger's lock is held from here to the commit.
        pub(crate) async fn execute_and_append(
            tx: &mut sqlx::Transaction<'static, $db>,
            statement: &'static str,
            params: usize,
            bind: impl FnOnce(
                sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>,
            ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>,
            e: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            if $crate::ledger::ledger_skipped_for_baseline() {
                bind(sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())))
                    .execute(&mut **tx)
                    .await?;
                return Ok(());
            }
            $crate::ledger::check_bounded(e)?;
            // One plain INSERT, UPDATE or DELETE using exactly its parameters, or nothing: more
            // would not fit beside the entry, and unbound numbers would silently bind NULL.
            let uses_its_parameters = statement.contains(&format!("${params}"))
                && !statement.contains(&format!("${}", params + 1));
            let plain = ["INSERT ", "UPDATE ", "DELETE "].iter().any(|verb| statement.starts_with(verb))
                && !statement.contains(';')
                && !statement.contains("--")
                && !statement.contains("/*");
            if !plain || !uses_its_parameters {
                return Err($crate::StoreError::corrupt("a statement beside a ledger entry must be one plain INSERT, UPDATE or DELETE using exactly its parameters"));
            }
            let sql = Self::statement_with_entry(statement, params + 1);
            Self::bind_access_event(bind(sqlx::query(sqlx::AssertSqlSafe(sql))), e)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn count_rate_events(
            tx: &mut sqlx::Transaction<'static, $db>,
            kind: &str,
            bucket: &[u8],
            since_ms: i64,
        ) -> Result<i64, $crate::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query("SELECT COUNT(*) FROM rate_events WHERE kind = $1 AND bucket = $2 AND at >= $3")
                .bind(kind)
                .bind(bucket)
                .bind(since_ms)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?)
        }

        async fn record_rate_event(
            tx: &mut sqlx::Transaction<'static, $db>,
            kind: &str,
            bucket: &[u8],
            at_ms: i64,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query("INSERT INTO rate_events (kind, bucket, at) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(bucket)
                .bind(at_ms)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_outbox(
            tx: &mut sqlx::Transaction<'static, $db>,
            m: &$crate::identity::OutboxMessage,
        ) -> Result<(), $crate::StoreError> {
            Self::bind_outbox(sqlx::query($crate::identity::INSERT_OUTBOX), m.clone())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Queues a message with an access event beside it, in one call.
        pub(crate) async fn insert_outbox_and_append(
            tx: &mut sqlx::Transaction<'static, $db>,
            m: &$crate::identity::OutboxMessage,
            e: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            let m = m.clone();
            Self::execute_and_append(tx, $crate::identity::INSERT_OUTBOX, 6, move |q| Self::bind_outbox(q, m), e).await
        }

        /// Binds a message as [`INSERT_OUTBOX`](crate::identity::INSERT_OUTBOX)'s parameters.
        fn bind_outbox<'q>(
            q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            m: $crate::identity::OutboxMessage,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            q.bind(m.message_id)
                .bind(m.channel)
                .bind(m.template)
                .bind(m.payload_sealed)
                .bind(m.next_attempt_at_ms)
                .bind(m.created_at_ms)
        }

        /// Records an OTP send if every limit allows it, and queues its SMS, in one transaction.
        pub async fn otp_send(
            &self,
            otp: &$crate::identity::NewOtp,
            limits: &$crate::identity::OtpLimits,
        ) -> Result<$crate::identity::OtpSendOutcome, $crate::StoreError> {
            use $crate::identity::OtpSendOutcome;
            use sqlx::Row;
            const HOUR: i64 = 3_600_000;
            let mut tx = self.begin_write().await?;
            Self::lock_bucket(&mut tx, &otp.mobile_index).await?;
            Self::lock_bucket(&mut tx, &otp.ip_bucket).await?;
            let last: Option<i64> = sqlx::query("SELECT MAX(at) FROM rate_events WHERE kind = 'otp_send' AND bucket = $1")
                .bind(&otp.mobile_index)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            // `now_ms` was read before this transaction waited for its lock, so a send committed
            // meanwhile can look newer than now: treat that as no time elapsed, not negative time.
            let outcome = if last.is_some_and(|at| (otp.now_ms - at).max(0) < limits.resend_cooldown_ms) {
                OtpSendOutcome::Cooldown
            } else if Self::count_rate_events(&mut tx, "otp_send", &otp.mobile_index, otp.now_ms - HOUR).await?
                >= limits.sends_per_hour
                || Self::count_rate_events(&mut tx, "otp_send", &otp.mobile_index, otp.now_ms - 24 * HOUR).await?
                    >= limits.sends_per_day
            {
                OtpSendOutcome::MobileLimit
            } else if Self::count_rate_events(&mut tx, "otp_send_ip", &otp.ip_bucket, otp.now_ms - HOUR).await?
                >= limits.ip_sends_per_hour
            {
                OtpSendOutcome::IpLimit
            } else {
                OtpSendOutcome::Sent
            };
            if outcome != OtpSendOutcome::Sent {
                tx.rollback().await?;
                return Ok(outcome);
            }
            // A new OTP supersedes the mobile's open ones.
            sqlx::query("UPDATE otp_transactions SET state = 'void' WHERE mobile_index = $1 AND state = 'open'")
                .bind(&otp.mobile_index)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO otp_transactions (txn_id, mobile_index, mobile_sealed, otp_hash, expires_at, state, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 'open', $6)",
            )
            .bind(otp.txn_id)
            .bind(&otp.mobile_index)
            .bind(&otp.mobile_sealed)
            .bind(&otp.otp_hash)
            .bind(otp.expires_at_ms)
            .bind(otp.now_ms)
            .execute(&mut *tx)
            .await?;
            if let Some(r) = &otp.consent_request {
                sqlx::query(
                    "INSERT INTO consent_requests (txn_id, partner_id, purpose, scopes, fields, duration_ms, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(otp.txn_id)
                .bind(r.partner_id)
                .bind(&r.purpose)
                .bind(&r.scopes)
                .bind(&r.fields)
                .bind(r.duration_ms)
                .bind(r.created_at_ms)
                .execute(&mut *tx)
                .await?;
            }
            Self::record_rate_event(&mut tx, "otp_send", &otp.mobile_index, otp.now_ms).await?;
            Self::record_rate_event(&mut tx, "otp_send_ip", &otp.ip_bucket, otp.now_ms).await?;
            Self::insert_outbox(&mut tx, &otp.sms).await?;
            tx.commit().await?;
            Ok(OtpSendOutcome::Sent)
        }

        /// Checks an OTP and, when right, opens a session (creating the account on first login),
        /// all in one transaction. Wrong answers count against the transaction and the mobile.
        pub async fn otp_confirm(
            &self,
            attempt: &$crate::identity::OtpAttempt,
            limits: &$crate::identity::OtpLimits,
        ) -> Result<$crate::identity::OtpConfirmOutcome, $crate::StoreError> {
            use $crate::identity::OtpConfirmOutcome;
            use sqlx::Row;
            const DAY: i64 = 86_400_000;
            const HOUR: i64 = 3_600_000;
            let mut tx = self.begin_write().await?;
            // Confirmations of one transaction take turns, and every change below is conditional
            // on the transaction still being open: concurrent confirms cannot both succeed, nor
            // exceed the wrong-attempt limit, nor revive a used or superseded transaction.
            // Lock order everywhere: transaction, then mobile, then IP (sends take mobile then IP),
            // so no two operations can each hold what the other waits for.
            Self::lock_bucket(&mut tx, attempt.txn_id.as_bytes()).await?;
            let row = sqlx::query(
                "SELECT mobile_index, mobile_sealed, otp_hash, expires_at, state \
                 FROM otp_transactions WHERE txn_id = $1",
            )
            .bind(attempt.txn_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                Self::lock_bucket(&mut tx, &attempt.ip_bucket).await?;
                let ip_failures =
                    Self::count_rate_events(&mut tx, "otp_fail_ip", &attempt.ip_bucket, attempt.now_ms - HOUR).await?;
                if ip_failures >= limits.ip_failures_per_hour {
                    tx.rollback().await?;
                    return Ok(OtpConfirmOutcome::TooManyFailuresFromHere);
                }
                Self::record_rate_event(&mut tx, "otp_fail_ip", &attempt.ip_bucket, attempt.now_ms).await?;
                tx.commit().await?;
                return Ok(OtpConfirmOutcome::Invalid);
            };
            let mobile_index: Vec<u8> = row.try_get(0)?;
            let mobile_sealed: Vec<u8> = row.try_get(1)?;
            let otp_hash: Vec<u8> = row.try_get(2)?;
            let expires_at: i64 = row.try_get(3)?;
            let state: String = row.try_get(4)?;
            Self::lock_bucket(&mut tx, &mobile_index).await?;
            Self::lock_bucket(&mut tx, &attempt.ip_bucket).await?;
            if Self::count_rate_events(&mut tx, "otp_fail_ip", &attempt.ip_bucket, attempt.now_ms - HOUR).await?
                >= limits.ip_failures_per_hour
            {
                tx.rollback().await?;
                return Ok(OtpConfirmOutcome::TooManyFailuresFromHere);
            }
            if Self::count_rate_events(&mut tx, "otp_fail", &mobile_index, attempt.now_ms - DAY).await?
                >= limits.failures_per_day
            {
                tx.rollback().await?;
                return Ok(OtpConfirmOutcome::TooManyFailures);
            }
            if state != "open" {
                tx.rollback().await?;
                return Ok(OtpConfirmOutcome::Invalid);
            }
            if attempt.now_ms >= expires_at {
                sqlx::query("UPDATE otp_transactions SET state = 'void' WHERE txn_id = $1 AND state = 'open'")
                    .bind(attempt.txn_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(OtpConfirmOutcome::Expired);
            }
            if !$crate::identity::same_bytes(&otp_hash, &attempt.otp_hash) {
                let counted = sqlx::query(
                    "UPDATE otp_transactions SET wrong_attempts = wrong_attempts + 1, \
                     state = CASE WHEN wrong_attempts + 1 >= $2 THEN 'void' ELSE state END \
                     WHERE txn_id = $1 AND state = 'open' RETURNING state",
                )
                .bind(attempt.txn_id)
                .bind(limits.wrong_attempts_per_txn)
                .fetch_optional(&mut *tx)
                .await?;
                Self::record_rate_event(&mut tx, "otp_fail", &mobile_index, attempt.now_ms).await?;
                Self::record_rate_event(&mut tx, "otp_fail_ip", &attempt.ip_bucket, attempt.now_ms).await?;
                tx.commit().await?;
                return Ok(match counted {
                    Some(r) if r.try_get::<String, _>(0)? == "open" => OtpConfirmOutcome::Wrong,
                    Some(_) => OtpConfirmOutcome::Voided,
                    None => OtpConfirmOutcome::Invalid,
                });
            }
            let used = sqlx::query("UPDATE otp_transactions SET state = 'used' WHERE txn_id = $1 AND state = 'open'")
                .bind(attempt.txn_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if used != 1 {
                tx.rollback().await?;
                return Ok(OtpConfirmOutcome::Invalid);
            }
            let existing: Option<uuid::Uuid> = sqlx::query("SELECT account_id FROM accounts WHERE mobile_index = $1")
                .bind(&mobile_index)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let (account_id, new_account) = match existing {
                Some(id) => (id, false),
                None => {
                    sqlx::query("INSERT INTO accounts (account_id, mobile_index, mobile_sealed, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(attempt.new_account_id)
                        .bind(&mobile_index)
                        .bind(&mobile_sealed)
                        .bind(attempt.now_ms)
                        .execute(&mut *tx)
                        .await?;
                    Self::append_access_event(
                        &mut tx,
                        &$crate::identity::AccessEventRecord {
                            at_ms: attempt.now_ms,
                            actor_kind: "citizen".into(),
                            actor_id: attempt.new_account_id.to_string(),
                            role: "citizen".into(),
                            action: "account.create".into(),
                            subject_id: None,
                            purpose: "mobile verified by OTP".into(),
                            request_id: attempt.request_id.clone(),
                        },
                    )
                    .await?;
                    (attempt.new_account_id, true)
                }
            };
            // A partner's OTP yields its consent and token, never a citizen session; a citizen's
            // login cannot redeem a partner's OTP (nor the reverse).
            if !Self::settle_consent(&mut tx, attempt.txn_id, attempt.consent.as_ref(), account_id, &attempt.request_id).await? {
                tx.rollback().await?;
                return Ok(OtpConfirmOutcome::Invalid);
            }
            if attempt.consent.is_none() {
                sqlx::query("INSERT INTO citizen_sessions (token_hash, account_id, expires_at, revoked, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&attempt.session_token_hash)
                    .bind(account_id)
                    .bind(attempt.session_expires_at_ms)
                    .bind(false)
                    .bind(attempt.now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(OtpConfirmOutcome::Confirmed { account_id, new_account })
        }

        /// The account behind a live session token hash.
        pub async fn session_account(&self, token_hash: &[u8], now_ms: i64) -> Result<Option<uuid::Uuid>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT account_id FROM citizen_sessions WHERE token_hash = $1 AND revoked = $2 AND expires_at > $3")
                .bind(token_hash)
                .bind(false)
                .bind(now_ms)
                .fetch_optional(self.reader())
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        }

        /// Revokes one session; true when it existed and was live.
        pub async fn revoke_session(&self, token_hash: &[u8]) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query("UPDATE citizen_sessions SET revoked = $2 WHERE token_hash = $1 AND revoked = $3")
                .bind(token_hash)
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(done > 0)
        }

        /// The account's sealed mobile and its blind index (what the seal is bound to).
        pub async fn account_mobile_sealed(
            &self,
            account_id: uuid::Uuid,
        ) -> Result<Option<(Vec<u8>, Vec<u8>)>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT mobile_sealed, mobile_index FROM accounts WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(self.reader())
                .await?;
            Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
        }

        fn decode_beneficiary(r: &<$db as sqlx::Database>::Row) -> Result<$crate::identity::BeneficiaryRow, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::identity::BeneficiaryRow {
                reference_id: r.try_get(0)?,
                subject_id: r.try_get(1)?,
                account_id: r.try_get(2)?,
                name_sealed: r.try_get(3)?,
                photo_id_type: r.try_get(4)?,
                photo_id_index: r.try_get(5)?,
                photo_id_sealed: r.try_get(6)?,
                birth_year: r.try_get(7)?,
                gender: r.try_get(8)?,
                comorbidity: r.try_get(9)?,
                consent_version: r.try_get(10)?,
                created_at_ms: r.try_get(11)?,
            })
        }

        /// Inserts a beneficiary on `account_id` in `tx`; a duplicate photo ID or reference id is
        /// the refusal (the caller rolls back), anything else an error. Online registration and
        /// the desk's walk-ins both insert through here.
        pub(crate) async fn insert_beneficiary(
            tx: &mut sqlx::Transaction<'static, $db>,
            b: &$crate::identity::BeneficiaryRow,
            account_id: uuid::Uuid,
        ) -> Result<Result<(), $crate::identity::RegisterOutcome>, $crate::StoreError> {
            use $crate::identity::RegisterOutcome;
            let inserted = sqlx::query(
                "INSERT INTO beneficiaries (reference_id, subject_id, account_id, name_sealed, photo_id_type, \
                 photo_id_index, photo_id_sealed, birth_year, gender, comorbidity, consent_version, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&b.reference_id)
            .bind(b.subject_id)
            .bind(account_id)
            .bind(&b.name_sealed)
            .bind(b.photo_id_type)
            .bind(&b.photo_id_index)
            .bind(&b.photo_id_sealed)
            .bind(b.birth_year)
            .bind(b.gender)
            .bind(b.comorbidity)
            .bind(&b.consent_version)
            .bind(b.created_at_ms)
            .execute(&mut **tx)
            .await;
            match inserted.map_err($crate::StoreError::from) {
                Ok(_) => Ok(Ok(())),
                Err($crate::StoreError::Duplicate(message)) => Ok(Err(if message.contains("photo_id_index") {
                    RegisterOutcome::DuplicateId
                } else {
                    RegisterOutcome::ReferenceTaken
                })),
                Err(other) => Err(other),
            }
        }

        /// Registers a beneficiary on an account, if the account has room and the photo ID is new,
        /// with its access event, in one transaction.
        pub async fn register_beneficiary(
            &self,
            b: &$crate::identity::BeneficiaryRow,
            max_per_account: i64,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<$crate::identity::RegisterOutcome, $crate::StoreError> {
            use $crate::identity::RegisterOutcome;
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            Self::lock_bucket(&mut tx, b.account_id.as_bytes()).await?;
            let count: i64 = sqlx::query("SELECT COUNT(*) FROM beneficiaries WHERE account_id = $1")
                .bind(b.account_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if count >= max_per_account {
                tx.rollback().await?;
                return Ok(RegisterOutcome::AccountFull);
            }
            // "Already registered" tells a logged-in caller something about an ID that is not
            // theirs; a few honest mistakes a day are allowed, an enumeration is not.
            const DAY: i64 = 86_400_000;
            let refusals = Self::count_rate_events(&mut tx, "duplicate_id", b.account_id.as_bytes(), b.created_at_ms - DAY).await?;
            // Registering and deleting in a loop would probe IDs through the successes instead:
            // every change to the registry counts toward a daily allowance too.
            let changes = Self::count_rate_events(&mut tx, "registry_change", b.account_id.as_bytes(), b.created_at_ms - DAY).await?;
            if refusals >= $crate::identity::DUPLICATE_REFUSALS_PER_DAY || changes >= $crate::identity::REGISTRY_CHANGES_PER_DAY {
                tx.rollback().await?;
                return Ok(RegisterOutcome::TooManyDuplicates);
            }
            let holder: Option<uuid::Uuid> = sqlx::query("SELECT subject_id FROM beneficiaries WHERE photo_id_index = $1")
                .bind(&b.photo_id_index)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            Self::record_rate_event(&mut tx, "registry_change", b.account_id.as_bytes(), b.created_at_ms).await?;
            if let Some(holder) = holder {
                Self::record_rate_event(&mut tx, "duplicate_id", b.account_id.as_bytes(), b.created_at_ms).await?;
                // The refusal revealed something about the holder's ID: it goes in their history.
                let mut e = event.clone();
                e.action = "beneficiary.duplicate_refused".into();
                e.purpose = "another mobile tried to register this photo ID".into();
                e.subject_id = Some(holder);
                Self::append_access_event(&mut tx, &e).await?;
                tx.commit().await?;
                return Ok(RegisterOutcome::DuplicateId);
            }
            if let Err(refused) = Self::insert_beneficiary(&mut tx, b, b.account_id).await? {
                tx.rollback().await?;
                return Ok(refused);
            }
            Self::append_access_event(&mut tx, event).await?;
            tx.commit().await?;
            Ok(RegisterOutcome::Registered)
        }

        /// An account's beneficiaries, with one access event per beneficiary read (the event's
        /// subject is filled in per row), in one transaction.
        pub async fn read_beneficiaries(
            &self,
            account_id: uuid::Uuid,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<(Vec<$crate::identity::BeneficiaryRow>, Option<(Vec<u8>, Vec<u8>)>), $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let mobile: Option<(Vec<u8>, Vec<u8>)> =
                sqlx::query("SELECT mobile_sealed, mobile_index FROM accounts WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                    .transpose()?;
            let sql = format!(
                "SELECT {} FROM beneficiaries WHERE account_id = $1 ORDER BY created_at, reference_id",
                $crate::identity::BENEFICIARY_COLUMNS
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
            let rows = rows.iter().map(Self::decode_beneficiary).collect::<Result<Vec<_>, _>>()?;
            for b in &rows {
                let mut e = event.clone();
                e.subject_id = Some(b.subject_id);
                Self::append_access_event(&mut tx, &e).await?;
            }
            tx.commit().await?;
            Ok((rows, mobile))
        }

        /// The named people among an account's beneficiaries, as a booking's eligibility check
        /// needs them (reference id, subject, birth year), with one access event per person
        /// found, in one transaction. Only the people named are read, so only they are logged.
        pub async fn booking_candidates(
            &self,
            account_id: uuid::Uuid,
            reference_ids: &[String],
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<Vec<$crate::identity::BookingCandidate>, $crate::StoreError> {
            use sqlx::Row;
            if reference_ids.is_empty() {
                return Ok(Vec::new());
            }
            // Only numbered placeholders are formatted into the text; every value is bound.
            let placeholders: Vec<String> = (0..reference_ids.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT reference_id, subject_id, birth_year FROM beneficiaries \
                 WHERE account_id = $1 AND reference_id IN ({}) ORDER BY reference_id",
                placeholders.join(", ")
            );
            let mut tx = self.begin_write().await?;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id);
            for reference_id in reference_ids {
                query = query.bind(reference_id);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                let candidate = $crate::identity::BookingCandidate {
                    reference_id: row.try_get(0)?,
                    subject_id: row.try_get(1)?,
                    birth_year: row.try_get(2)?,
                };
                let mut e = event.clone();
                e.subject_id = Some(candidate.subject_id);
                Self::append_access_event(&mut tx, &e).await?;
                found.push(candidate);
            }
            tx.commit().await?;
            Ok(found)
        }

        /// Deletes one of an account's beneficiaries with its access event; false when the
        /// account has no such beneficiary (whether or not it exists elsewhere).
        pub async fn delete_beneficiary(
            &self,
            account_id: uuid::Uuid,
            reference_id: &str,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let subject: Option<uuid::Uuid> = sqlx::query(
                "DELETE FROM beneficiaries WHERE reference_id = $1 AND account_id = $2 RETURNING subject_id",
            )
            .bind(reference_id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            let Some(subject) = subject else {
                tx.rollback().await?;
                return Ok(false);
            };
            let mut e = event.clone();
            e.subject_id = Some(subject);
            Self::record_rate_event(&mut tx, "registry_change", account_id.as_bytes(), event.at_ms).await?;
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Access events in sequence order, from `after_seq` (exclusive), at most `limit`.
        pub async fn access_events(&self, after_seq: i64, limit: i64) -> Result<Vec<$crate::identity::StoredAccessEvent>, $crate::StoreError> {
            let rows = sqlx::query(
                "SELECT seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id \
                 FROM access_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after_seq)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
            rows.iter().map(Self::event_row).collect()
        }

        /// Outbox messages due now, oldest first.
        pub async fn due_outbox(&self, now_ms: i64, limit: i64) -> Result<Vec<$crate::identity::OutboxMessage>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT message_id, channel, template, payload_sealed, attempts, next_attempt_at, created_at \
                 FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY created_at LIMIT $2",
            )
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
            rows.iter()
                .map(|r| {
                    Ok($crate::identity::OutboxMessage {
                        message_id: r.try_get(0)?,
                        channel: r.try_get(1)?,
                        template: r.try_get(2)?,
                        payload_sealed: r.try_get(3)?,
                        attempts: r.try_get(4)?,
                        next_attempt_at_ms: r.try_get(5)?,
                        created_at_ms: r.try_get(6)?,
                    })
                })
                .collect()
        }

        /// Claims a due message for delivery: pushes its next attempt to `retry_at_ms` and counts
        /// the attempt, unless another process claimed it first (then false).
        pub async fn claim_outbox(&self, message_id: uuid::Uuid, seen_next_attempt_ms: i64, retry_at_ms: i64) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3 \
                 WHERE message_id = $1 AND next_attempt_at = $2 AND sent_at IS NULL",
            )
            .bind(message_id)
            .bind(seen_next_attempt_ms)
            .bind(retry_at_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        }

        /// Marks a message delivered.
        pub async fn mark_outbox_sent(&self, message_id: uuid::Uuid, now_ms: i64) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE outbox SET sent_at = $2 WHERE message_id = $1")
                .bind(message_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        /// Deletes what no longer serves a purpose before `before_ms`: rate events (they count
        /// toward no limit any more), finished OTP transactions (they hold a sealed mobile) and
        /// delivered or dropped messages (they hold a sealed mobile and OTP). Keeping less is
        /// part of keeping it safe.
        pub async fn prune_expired(&self, before_ms: i64) -> Result<u64, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let mut n = sqlx::query("DELETE FROM rate_events WHERE at < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            n += sqlx::query("DELETE FROM otp_transactions WHERE created_at < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            n += sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // A client retries within minutes; after the pruning age a key is only a record.
            n += sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n)
        }

        /// Up to `limit` values of `column` that do not start with `prefix` (not sealed under the
        /// current key), with their row keys.
        pub async fn sealed_not_prefixed(
            &self,
            column: $crate::identity::SealedColumn,
            prefix: &[u8],
            limit: i64,
        ) -> Result<Vec<$crate::identity::SealedValue>, $crate::StoreError> {
            use sqlx::Row;
            let (select, _, uuid_key) = column.sql();
            let rows = sqlx::query(select)
                .bind(prefix)
                .bind(limit)
                .bind(i32::try_from(prefix.len()).map_err($crate::StoreError::corrupt)?)
                .fetch_all(self.reader())
                .await?;
            rows.iter()
                .map(|r| {
                    let key = if uuid_key {
                        $crate::identity::RowKey::Uuid(r.try_get(0)?)
                    } else {
                        $crate::identity::RowKey::Text(r.try_get(0)?)
                    };
                    let owner = match column {
                        $crate::identity::SealedColumn::AccountMobile | $crate::identity::SealedColumn::OtpMobile => {
                            r.try_get::<Vec<u8>, _>(2)?
                        }
                        _ => r.try_get::<uuid::Uuid, _>(2)?.as_bytes().to_vec(),
                    };
                    Ok($crate::identity::SealedValue { key, sealed: r.try_get(1)?, owner })
                })
                .collect()
        }

        /// Replaces one sealed value if it is still `old`; false when it changed meanwhile.
        pub async fn replace_sealed(
            &self,
            column: $crate::identity::SealedColumn,
            key: &$crate::identity::RowKey,
            old: &[u8],
            new: &[u8],
        ) -> Result<bool, $crate::StoreError> {
            let (_, update, _) = column.sql();
            let mut tx = self.begin_write().await?;
            let q = match key {
                $crate::identity::RowKey::Uuid(id) => sqlx::query(update).bind(*id),
                $crate::identity::RowKey::Text(text) => sqlx::query(update).bind(text.clone()),
            };
            let n = q.bind(old).bind(new).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        }
    };
}

pub(crate) use identity_store_methods;

/// Byte equality that does not stop at the first difference (the values are keyed hashes, so
/// timing reveals little, but there is no reason to offer even that).
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
