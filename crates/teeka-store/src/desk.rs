//! Storage for the vaccination desk: the day's roster at a centre, check-in targets and wrong
//! codes, short-lived openings of one person (check-in, walk-in, break-glass), doses recorded
//! exactly once, adverse events, audited corrections, and the per-account signals that anomaly
//! detection counts. Every method that reads or writes personal data appends its access events
//! in the same transaction.

use crate::identity::{BeneficiaryRow, OutboxMessage};
use teeka_domain::CowinDate;
use uuid::Uuid;

/// Which on-site share a walk-in draws on.
pub(crate) fn walkin_sql(dose: i32) -> Option<&'static str> {
    match dose {
        1 => Some(
            "UPDATE sessions SET dose1_walkin = dose1_walkin + 1 WHERE session_id = $1 AND dose1_walkin + 1 <= dose1_onsite",
        ),
        2 => Some(
            "UPDATE sessions SET dose2_walkin = dose2_walkin + 1 WHERE session_id = $1 AND dose2_walkin + 1 <= dose2_onsite",
        ),
        3 => Some(
            "UPDATE sessions SET precaution_walkin = precaution_walkin + 1 WHERE session_id = $1 \
             AND precaution_walkin + 1 <= precaution_onsite",
        ),
        _ => None,
    }
}

/// One person on a centre's roster for a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// CoWIN's reference id.
    pub reference_id: String,
    /// Pseudonymous id.
    pub subject_id: Uuid,
    /// The account (mobile) the person is registered on.
    pub account_id: Uuid,
    /// The appointment.
    pub appointment_id: Uuid,
    /// The slot band.
    pub slot: String,
    /// 1, 2, or 3 for the precaution dose.
    pub dose: i32,
    /// The name, sealed.
    pub name_sealed: Vec<u8>,
    /// Checked in at the desk.
    pub checked_in: bool,
    /// The dose was recorded.
    pub vaccinated: bool,
    /// Locked for the desk after too many wrong codes.
    pub desk_locked: bool,
}

/// What a check-in compares the code against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinTarget {
    /// The appointment.
    pub appointment_id: Uuid,
    /// The booking account.
    pub account_id: Uuid,
    /// The person.
    pub subject_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// 1, 2, or 3.
    pub dose: i32,
    /// The 4-digit code, sealed.
    pub code_sealed: Vec<u8>,
    /// Locked for the desk.
    pub desk_locked: bool,
}

/// A short-lived opening of one person at one centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// Id.
    pub opening_id: Uuid,
    /// Who opened it.
    pub staff_id: Uuid,
    /// Where.
    pub centre_id: i64,
    /// The person.
    pub subject_id: Uuid,
    /// Their reference id.
    pub reference_id: String,
    /// The account they are registered on.
    pub account_id: Uuid,
    /// The appointment checked in, if any.
    pub appointment_id: Option<Uuid>,
    /// The session the dose comes from (check-in and walk-in).
    pub session_id: Option<Uuid>,
    /// 1, 2, or 3 (check-in and walk-in).
    pub dose: Option<i32>,
    /// `checkin`, `walkin` or `breakglass`.
    pub kind: String,
    /// For break-glass: the reason code.
    pub reason_code: Option<String>,
    /// For break-glass: the free text, sealed.
    pub reason_sealed: Option<Vec<u8>>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// A dose was recorded against it.
    pub dosed: bool,
}

/// A walk-in registration at the desk.
#[derive(Debug, Clone)]
pub struct WalkIn {
    /// The new beneficiary (its `account_id` is used only if the mobile has no account yet).
    pub beneficiary: BeneficiaryRow,
    /// The mobile's blind index.
    pub mobile_index: Vec<u8>,
    /// The mobile, sealed (for a new account).
    pub mobile_sealed: Vec<u8>,
    /// Most beneficiaries per mobile.
    pub max_per_account: i64,
    /// The opening to make (its subject, reference and account are filled in here).
    pub opening: Opening,
    /// The SMS telling the mobile's owner about the registration.
    pub sms: Option<OutboxMessage>,
}

/// What became of a walk-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkInOutcome {
    /// Registered and opened.
    Opened,
    /// No such session.
    NoSession,
    /// The session's on-site share for that dose is used up.
    NoShare,
    /// That photo ID is registered already.
    DuplicateId,
    /// The mobile already has its maximum number of beneficiaries.
    AccountFull,
    /// The reference id is taken (the caller draws another).
    ReferenceTaken,
}

/// A dose as the desk records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskDose {
    /// Id.
    pub dose_id: Uuid,
    /// Whose.
    pub subject_id: Uuid,
    /// 1, 2, …
    pub dose_number: i32,
    /// Which vaccine.
    pub vaccine: String,
    /// Which batch.
    pub batch: Option<String>,
    /// The day.
    pub given_on: CowinDate,
    /// Unix ms.
    pub given_at: Option<i64>,
    /// Where.
    pub centre_id: Option<i64>,
    /// Who gave it.
    pub vaccinator_id: Option<Uuid>,
    /// The appointment, if booked.
    pub appointment_id: Option<Uuid>,
    /// Revoked by an audited correction.
    pub revoked: bool,
}

/// What became of a dose record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoseOutcome {
    /// Recorded.
    Recorded,
    /// That dose number is recorded already, or the opening already has its dose.
    AlreadyRecorded,
}

/// An adverse event following immunisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AefiReport {
    /// Id.
    pub aefi_id: Uuid,
    /// Against which dose.
    pub dose_id: Uuid,
    /// Whose.
    pub subject_id: Uuid,
    /// Who reported it.
    pub staff_id: Uuid,
    /// Where.
    pub centre_id: i64,
    /// `minor`, `severe` or `serious`.
    pub severity: String,
    /// Symptom codes, comma-separated.
    pub symptoms: String,
    /// Unix ms.
    pub onset_at: i64,
    /// Clinical notes, sealed.
    pub notes_sealed: Option<Vec<u8>>,
    /// Unix ms.
    pub reported_at: i64,
}

/// An audited correction of a dose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseCorrection {
    /// Id.
    pub correction_id: Uuid,
    /// Which dose.
    pub dose_id: Uuid,
    /// Who.
    pub staff_id: Uuid,
    /// Revoke the dose (else correct it).
    pub revoke: bool,
    /// Why.
    pub reason: String,
    /// New vaccine (a correction).
    pub vaccine: Option<String>,
    /// New batch (a correction).
    pub batch: Option<String>,
    /// Unix ms.
    pub at: i64,
    /// The certificate that replaces the dose's current one (a correction; a revocation
    /// only revokes).
    pub reissue: Option<crate::certificate::CertificateRow>,
}

pub(crate) const OPENING_COLUMNS: &str = "opening_id, staff_id, centre_id, subject_id, reference_id, account_id, appointment_id, \
     session_id, dose, kind, reason_code, reason_sealed, created_at, expires_at, dosed";

pub(crate) const DOSE_COLUMNS: &str = "dose_id, subject_id, dose_number, vaccine_name, batch, given_on, given_at, centre_id, \
     vaccinator_id, appointment_id, revoked";

/// Stamps the desk methods onto a backend (see `common.rs` for why a macro).
macro_rules! desk_store_methods {
    ($db:ty) => {
        fn decode_opening(r: &<$db as sqlx::Database>::Row) -> Result<$crate::desk::Opening, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::desk::Opening {
                opening_id: r.try_get(0)?,
                staff_id: r.try_get(1)?,
                centre_id: r.try_get(2)?,
                subject_id: r.try_get(3)?,
                reference_id: r.try_get(4)?,
                account_id: r.try_get(5)?,
                appointment_id: r.try_get(6)?,
                session_id: r.try_get(7)?,
                dose: r.try_get(8)?,
                kind: r.try_get(9)?,
                reason_code: r.try_get(10)?,
                reason_sealed: r.try_get(11)?,
                created_at: r.try_get(12)?,
                expires_at: r.try_get(13)?,
                dosed: r.try_get(14)?,
            })
        }

        fn decode_desk_dose(r: &<$db as sqlx::Database>::Row) -> Result<$crate::desk::DeskDose, $crate::StoreError> {
            use sqlx::Row;
            Ok($crate::desk::DeskDose {
                dose_id: r.try_get(0)?,
                subject_id: r.try_get(1)?,
                dose_number: r.try_get(2)?,
                vaccine: r.try_get(3)?,
                batch: r.try_get(4)?,
                given_on: teeka_domain::CowinDate(r.try_get(5)?),
                given_at: r.try_get(6)?,
                centre_id: r.try_get(7)?,
                vaccinator_id: r.try_get(8)?,
                appointment_id: r.try_get(9)?,
                revoked: r.try_get(10)?,
            })
        }

        async fn insert_opening(
            tx: &mut sqlx::Transaction<'static, $db>,
            o: &$crate::desk::Opening,
        ) -> Result<(), $crate::StoreError> {
            let sql = format!(
                "INSERT INTO desk_openings ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                $crate::desk::OPENING_COLUMNS
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(o.opening_id)
                .bind(o.staff_id)
                .bind(o.centre_id)
                .bind(o.subject_id)
                .bind(&o.reference_id)
                .bind(o.account_id)
                .bind(o.appointment_id)
                .bind(o.session_id)
                .bind(o.dose)
                .bind(&o.kind)
                .bind(&o.reason_code)
                .bind(&o.reason_sealed)
                .bind(o.created_at)
                .bind(o.expires_at)
                .bind(o.dosed)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_signal(
            tx: &mut sqlx::Transaction<'static, $db>,
            staff_id: uuid::Uuid,
            kind: &str,
            at: i64,
        ) -> Result<(), $crate::StoreError> {
            sqlx::query("INSERT INTO staff_signals (staff_id, kind, at) VALUES ($1, $2, $3)")
                .bind(staff_id)
                .bind(kind)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// The live appointments at a centre on a day, with one access event per person listed
        /// (the names are personal data, even sealed), in one transaction.
        pub async fn desk_roster(
            &self,
            centre_id: i64,
            date: teeka_domain::CowinDate,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<Vec<$crate::desk::RosterEntry>, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(
                "SELECT ab.reference_id, ab.subject_id, a.account_id, a.appointment_id, a.slot, a.dose, b.name_sealed, \
                 EXISTS (SELECT 1 FROM desk_openings o WHERE o.appointment_id = a.appointment_id AND o.subject_id = ab.subject_id), \
                 EXISTS (SELECT 1 FROM desk_openings o WHERE o.appointment_id = a.appointment_id AND o.subject_id = ab.subject_id AND o.dosed = $3), \
                 a.desk_locked \
                 FROM appointments a JOIN appointment_beneficiaries ab ON ab.appointment_id = a.appointment_id \
                 JOIN sessions s ON s.session_id = a.session_id JOIN beneficiaries b ON b.subject_id = ab.subject_id \
                 WHERE s.centre_id = $1 AND s.session_date = $2 AND ab.live = $3 ORDER BY a.slot, ab.reference_id",
            )
            .bind(centre_id)
            .bind(date.date())
            .bind(true)
            .fetch_all(&mut *tx)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let entry = $crate::desk::RosterEntry {
                    reference_id: r.try_get(0)?,
                    subject_id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    appointment_id: r.try_get(3)?,
                    slot: r.try_get(4)?,
                    dose: r.try_get(5)?,
                    name_sealed: r.try_get(6)?,
                    checked_in: r.try_get(7)?,
                    vaccinated: r.try_get(8)?,
                    desk_locked: r.try_get(9)?,
                };
                let mut e = event.clone();
                e.subject_id = Some(entry.subject_id);
                Self::append_access_event(&mut tx, &e).await?;
                out.push(entry);
            }
            tx.commit().await?;
            Ok(out)
        }

        /// The live appointment a reference id holds at a centre on a day, if any and not yet
        /// vaccinated.
        pub async fn checkin_target(
            &self,
            reference_id: &str,
            centre_id: i64,
            date: teeka_domain::CowinDate,
        ) -> Result<Option<$crate::desk::CheckinTarget>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT a.appointment_id, a.account_id, ab.subject_id, a.session_id, a.dose, a.code_sealed, a.desk_locked \
                 FROM appointment_beneficiaries ab JOIN appointments a ON a.appointment_id = ab.appointment_id \
                 JOIN sessions s ON s.session_id = a.session_id \
                 WHERE ab.reference_id = $1 AND ab.live = $2 AND s.centre_id = $3 AND s.session_date = $4 \
                 AND NOT EXISTS (SELECT 1 FROM desk_openings o WHERE o.appointment_id = a.appointment_id \
                 AND o.subject_id = ab.subject_id AND o.dosed = $2)",
            )
            .bind(reference_id)
            .bind(true)
            .bind(centre_id)
            .bind(date.date())
            .fetch_optional(self.reader())
            .await?;
            row.map(|r| {
                Ok($crate::desk::CheckinTarget {
                    appointment_id: r.try_get(0)?,
                    account_id: r.try_get(1)?,
                    subject_id: r.try_get(2)?,
                    session_id: r.try_get(3)?,
                    dose: r.try_get(4)?,
                    code_sealed: r.try_get(5)?,
                    desk_locked: r.try_get(6)?,
                })
            })
            .transpose()
        }

        /// Counts a wrong code against an appointment and a signal against the account; at
        /// `max_wrong` the appointment is locked for the desk and an alert raised, in one
        /// transaction. (wrong codes so far, whether it is locked now).
        pub async fn note_wrong_code(
            &self,
            appointment_id: uuid::Uuid,
            staff_id: uuid::Uuid,
            now_ms: i64,
            max_wrong: i32,
        ) -> Result<(i32, bool), $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let wrong: i32 = sqlx::query("UPDATE appointments SET wrong_codes = wrong_codes + 1 WHERE appointment_id = $1 RETURNING wrong_codes")
                .bind(appointment_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if wrong >= max_wrong {
                let newly = sqlx::query("UPDATE appointments SET desk_locked = $2 WHERE appointment_id = $1 AND desk_locked = $3")
                    .bind(appointment_id)
                    .bind(true)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if newly == 1 {
                    Self::insert_alert(
                        &mut tx,
                        staff_id,
                        "desk.appointment_locked",
                        &format!("{wrong} wrong codes for appointment {appointment_id}; locked for the desk"),
                        now_ms,
                    )
                    .await?;
                }
            }
            Self::insert_signal(&mut tx, staff_id, "wrong_code", now_ms).await?;
            tx.commit().await?;
            Ok((wrong, wrong >= max_wrong))
        }

        /// Records a signal against an account (an attempt outside its centre, activity at odd
        /// hours, …).
        pub async fn note_staff_signal(&self, staff_id: uuid::Uuid, kind: &str, at: i64) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            Self::insert_signal(&mut tx, staff_id, kind, at).await?;
            tx.commit().await?;
            Ok(())
        }

        /// The pseudonymous ids (subject, account) behind a reference id: no personal data.
        pub async fn subject_of_reference(&self, reference_id: &str) -> Result<Option<(uuid::Uuid, uuid::Uuid)>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT subject_id, account_id FROM beneficiaries WHERE reference_id = $1")
                .bind(reference_id)
                .fetch_optional(self.reader())
                .await?;
            Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
        }

        /// Opens one person at the desk: the opening, its access event and (break-glass) its
        /// alert, in one transaction; the person's record, or none if they no longer exist.
        pub async fn open_person(
            &self,
            opening: &$crate::desk::Opening,
            event: &$crate::identity::AccessEventRecord,
            alert: Option<(&str, &str)>,
        ) -> Result<Option<$crate::identity::BeneficiaryRow>, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            // Decided again inside the transaction: a suspension or a lock that landed after the
            // caller's checks still stops the opening.
            let suspended: bool = sqlx::query("SELECT suspended FROM staff_accounts WHERE staff_id = $1")
                .bind(opening.staff_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let locked = match opening.appointment_id {
                Some(id) => sqlx::query("SELECT desk_locked FROM appointments WHERE appointment_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<bool, _>(0)?,
                None => false,
            };
            if suspended || locked {
                tx.rollback().await?;
                return Ok(None);
            }
            let sql = format!(
                "SELECT {} FROM beneficiaries WHERE subject_id = $1",
                $crate::identity::BENEFICIARY_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(opening.subject_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(None);
            };
            let person = Self::decode_beneficiary(&row)?;
            Self::insert_opening(&mut tx, opening).await?;
            let mut e = event.clone();
            e.subject_id = Some(opening.subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            if let Some((kind, detail)) = alert {
                Self::insert_alert(&mut tx, opening.staff_id, kind, detail, opening.created_at).await?;
            }
            tx.commit().await?;
            Ok(Some(person))
        }

        /// The newest unexpired opening of a reference id at a centre.
        pub async fn live_opening(
            &self,
            centre_id: i64,
            reference_id: &str,
            now_ms: i64,
        ) -> Result<Option<$crate::desk::Opening>, $crate::StoreError> {
            let sql = format!(
                "SELECT {} FROM desk_openings WHERE centre_id = $1 AND reference_id = $2 AND expires_at > $3 \
                 ORDER BY created_at DESC LIMIT 1",
                $crate::desk::OPENING_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(centre_id)
                .bind(reference_id)
                .bind(now_ms)
                .fetch_optional(self.reader())
                .await?;
            row.as_ref().map(Self::decode_opening).transpose()
        }

        /// Registers a walk-in against the session's on-site share and opens them, all or
        /// nothing. A duplicate photo ID is refused before any share is taken, and the refusal
        /// goes in the holder's access history.
        pub async fn walk_in(
            &self,
            w: &$crate::desk::WalkIn,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<$crate::desk::WalkInOutcome, $crate::StoreError> {
            use $crate::desk::WalkInOutcome;
            use sqlx::Row;
            let Some(take) = w.opening.dose.and_then($crate::desk::walkin_sql) else {
                return Ok(WalkInOutcome::NoSession);
            };
            let now = w.opening.created_at;
            let mut tx = self.begin_write().await?;
            let holder: Option<uuid::Uuid> = sqlx::query("SELECT subject_id FROM beneficiaries WHERE photo_id_index = $1")
                .bind(&w.beneficiary.photo_id_index)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(holder) = holder {
                let mut e = event.clone();
                e.action = "desk.walkin_duplicate_refused".into();
                e.purpose = "a desk tried to register this photo ID again".into();
                e.subject_id = Some(holder);
                Self::append_access_event(&mut tx, &e).await?;
                Self::insert_signal(&mut tx, w.opening.staff_id, "duplicate_id", now).await?;
                tx.commit().await?;
                return Ok(WalkInOutcome::DuplicateId);
            }
            let taken = sqlx::query(take).bind(w.opening.session_id).execute(&mut *tx).await?.rows_affected();
            if taken != 1 {
                let exists = sqlx::query("SELECT 1 FROM sessions WHERE session_id = $1")
                    .bind(w.opening.session_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                tx.rollback().await?;
                return Ok(if exists { WalkInOutcome::NoShare } else { WalkInOutcome::NoSession });
            }
            let existing: Option<uuid::Uuid> = sqlx::query("SELECT account_id FROM accounts WHERE mobile_index = $1")
                .bind(&w.mobile_index)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let account_id = match existing {
                Some(id) => id,
                None => {
                    sqlx::query("INSERT INTO accounts (account_id, mobile_index, mobile_sealed, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(w.beneficiary.account_id)
                        .bind(&w.mobile_index)
                        .bind(&w.mobile_sealed)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    w.beneficiary.account_id
                }
            };
            // The same lock as online registration, so the two cannot both take the last place.
            Self::lock_bucket(&mut tx, account_id.as_bytes()).await?;
            let count: i64 = sqlx::query("SELECT COUNT(*) FROM beneficiaries WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if count >= w.max_per_account {
                tx.rollback().await?;
                return Ok(WalkInOutcome::AccountFull);
            }
            let b = &w.beneficiary;
            if let Err(refused) = Self::insert_beneficiary(&mut tx, b, account_id).await? {
                tx.rollback().await?;
                return Ok(match refused {
                    $crate::identity::RegisterOutcome::DuplicateId => WalkInOutcome::DuplicateId,
                    _ => WalkInOutcome::ReferenceTaken,
                });
            }
            let mut opening = w.opening.clone();
            opening.subject_id = b.subject_id;
            opening.reference_id = b.reference_id.clone();
            opening.account_id = account_id;
            Self::insert_opening(&mut tx, &opening).await?;
            let mut e = event.clone();
            e.subject_id = Some(b.subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            if let Some(sms) = &w.sms {
                Self::insert_outbox(&mut tx, sms).await?;
            }
            tx.commit().await?;
            Ok(WalkInOutcome::Opened)
        }

        /// Records a dose against an opening, exactly once: a second record for the same opening
        /// or the same person and dose number changes nothing. With its access event.
        pub async fn record_desk_dose(
            &self,
            d: &$crate::desk::DeskDose,
            opening_id: uuid::Uuid,
            certificate: &$crate::certificate::CertificateRow,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<$crate::desk::DoseOutcome, $crate::StoreError> {
            use $crate::desk::DoseOutcome;
            let mut tx = self.begin_write().await?;
            let claimed = sqlx::query("UPDATE desk_openings SET dosed = $2 WHERE opening_id = $1 AND dosed = $3")
                .bind(opening_id)
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if claimed != 1 {
                tx.rollback().await?;
                return Ok(DoseOutcome::AlreadyRecorded);
            }
            let inserted = sqlx::query(
                "INSERT INTO doses (dose_id, subject_id, dose_number, vaccine_name, given_on, given_at, batch, centre_id, \
                 vaccinator_id, appointment_id, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(d.dose_id)
            .bind(d.subject_id)
            .bind(d.dose_number)
            .bind(&d.vaccine)
            .bind(d.given_on.date())
            .bind(d.given_at)
            .bind(&d.batch)
            .bind(d.centre_id)
            .bind(d.vaccinator_id)
            .bind(d.appointment_id)
            .bind(false)
            .execute(&mut *tx)
            .await
            .map_err($crate::StoreError::from);
            match inserted {
                Ok(_) => {}
                Err($crate::StoreError::Duplicate(_)) => {
                    tx.rollback().await?;
                    return Ok(DoseOutcome::AlreadyRecorded);
                }
                Err(other) => return Err(other),
            }
            Self::insert_certificate_in(&mut tx, certificate).await?;
            let mut e = event.clone();
            e.subject_id = Some(d.subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(DoseOutcome::Recorded)
        }

        /// One dose by id.
        pub async fn desk_dose(&self, dose_id: uuid::Uuid) -> Result<Option<$crate::desk::DeskDose>, $crate::StoreError> {
            let sql = format!("SELECT {} FROM doses WHERE dose_id = $1", $crate::desk::DOSE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dose_id).fetch_optional(self.reader()).await?;
            row.as_ref().map(Self::decode_desk_dose).transpose()
        }

        /// Records an adverse event with its access event.
        pub async fn insert_aefi(
            &self,
            a: &$crate::desk::AefiReport,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO aefi_reports (aefi_id, dose_id, subject_id, staff_id, centre_id, severity, symptoms, onset_at, \
                 notes_sealed, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.aefi_id)
            .bind(a.dose_id)
            .bind(a.subject_id)
            .bind(a.staff_id)
            .bind(a.centre_id)
            .bind(&a.severity)
            .bind(&a.symptoms)
            .bind(a.onset_at)
            .bind(&a.notes_sealed)
            .bind(a.reported_at)
            .execute(&mut *tx)
            .await?;
            let mut e = event.clone();
            e.subject_id = Some(a.subject_id);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(())
        }

        /// How many adverse events are recorded against a dose.
        pub async fn aefi_count(&self, dose_id: uuid::Uuid) -> Result<i64, $crate::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query("SELECT COUNT(*) FROM aefi_reports WHERE dose_id = $1")
                .bind(dose_id)
                .fetch_one(self.reader())
                .await?
                .try_get(0)?)
        }

        /// Corrects or revokes a valid dose, keeping the before and after in the corrections
        /// table, with its access event, in one transaction; false when the dose is not valid.
        pub async fn correct_dose(
            &self,
            c: &$crate::desk::DoseCorrection,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<bool, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let row = sqlx::query("SELECT subject_id, vaccine_name, batch FROM doses WHERE dose_id = $1 AND revoked = $2")
                .bind(c.dose_id)
                .bind(false)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(false);
            };
            let subject: uuid::Uuid = row.try_get(0)?;
            let before_vaccine: String = row.try_get(1)?;
            let before_batch: Option<String> = row.try_get(2)?;
            let (after_vaccine, after_batch) = if c.revoke {
                sqlx::query("UPDATE doses SET revoked = $2 WHERE dose_id = $1")
                    .bind(c.dose_id)
                    .bind(true)
                    .execute(&mut *tx)
                    .await?;
                (None, None)
            } else {
                let vaccine = c.vaccine.clone().unwrap_or_else(|| before_vaccine.clone());
                let batch = c.batch.clone().or_else(|| before_batch.clone());
                sqlx::query("UPDATE doses SET vaccine_name = $2, batch = $3 WHERE dose_id = $1")
                    .bind(c.dose_id)
                    .bind(&vaccine)
                    .bind(&batch)
                    .execute(&mut *tx)
                    .await?;
                (Some(vaccine), batch)
            };
            Self::revoke_certificates_of_dose_in(&mut tx, c.dose_id, c.at).await?;
            if let (false, Some(new)) = (c.revoke, &c.reissue) {
                Self::insert_certificate_in(&mut tx, new).await?;
            }
            sqlx::query(
                "INSERT INTO dose_corrections (correction_id, dose_id, staff_id, action, reason, before_vaccine, before_batch, \
                 after_vaccine, after_batch, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(c.correction_id)
            .bind(c.dose_id)
            .bind(c.staff_id)
            .bind(if c.revoke { "revoke" } else { "correct" })
            .bind(&c.reason)
            .bind(&before_vaccine)
            .bind(&before_batch)
            .bind(&after_vaccine)
            .bind(&after_batch)
            .bind(c.at)
            .execute(&mut *tx)
            .await?;
            let mut e = event.clone();
            e.subject_id = Some(subject);
            Self::append_access_event(&mut tx, &e).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// How many corrections a dose has had.
        pub async fn dose_correction_count(&self, dose_id: uuid::Uuid) -> Result<i64, $crate::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query("SELECT COUNT(*) FROM dose_corrections WHERE dose_id = $1")
                .bind(dose_id)
                .fetch_one(self.reader())
                .await?
                .try_get(0)?)
        }

        /// Consumes a TOTP step for an account (a fresh code for break-glass); false when that
        /// step or a later one was used already.
        pub async fn use_totp_step(&self, staff_id: uuid::Uuid, step: i64) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query("UPDATE staff_accounts SET totp_last_step = $2 WHERE staff_id = $1 AND totp_last_step < $2")
                .bind(staff_id)
                .bind(step)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        }

        /// An account's signals since a time, by kind, plus `opened` (distinct people opened).
        pub async fn staff_signal_counts(
            &self,
            staff_id: uuid::Uuid,
            since_ms: i64,
        ) -> Result<Vec<(String, i64)>, $crate::StoreError> {
            use sqlx::Row;
            let reviewed: i64 = sqlx::query("SELECT COALESCE(MAX(at), 0) FROM staff_signals WHERE staff_id = $1 AND kind = $2")
                .bind(staff_id)
                .bind("reinstated")
                .fetch_one(self.reader())
                .await?
                .try_get(0)?;
            // Counting starts afresh after an administrator's review.
            let since_ms = since_ms.max(reviewed + 1);
            let mut out: Vec<(String, i64)> = sqlx::query("SELECT kind, COUNT(*) FROM staff_signals WHERE staff_id = $1 AND at >= $2 GROUP BY kind")
                .bind(staff_id)
                .bind(since_ms)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, _>>()?;
            let opened: i64 = sqlx::query("SELECT COUNT(DISTINCT subject_id) FROM desk_openings WHERE staff_id = $1 AND created_at >= $2")
                .bind(staff_id)
                .bind(since_ms)
                .fetch_one(self.reader())
                .await?
                .try_get(0)?;
            out.push(("opened".into(), opened));
            Ok(out)
        }

        /// Sets a session's shares (online, on-site) for dose 1, dose 2 and precaution; a share
        /// below what is already booked is refused by the table's checks. False when there is no
        /// such session or an on-site share would fall below the walk-ins already registered.
        pub async fn set_session_capacity(
            &self,
            session_id: uuid::Uuid,
            online: [i32; 3],
            onsite: [i32; 3],
        ) -> Result<bool, $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE sessions SET dose1_online = $2, dose2_online = $3, precaution_online = $4, \
                 dose1_onsite = $5, dose2_onsite = $6, precaution_onsite = $7 WHERE session_id = $1 \
                 AND dose1_walkin <= $5 AND dose2_walkin <= $6 AND precaution_walkin <= $7",
            )
            .bind(session_id)
            .bind(online[0])
            .bind(online[1])
            .bind(online[2])
            .bind(onsite[0])
            .bind(onsite[1])
            .bind(onsite[2])
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            let district = Self::district_of_session(&mut tx, session_id).await?;
            Self::note_availability_change(&mut tx, [district]).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Per account: openings made in `[from, until)` with no dose recorded against them.
        pub async fn undosed_openings(&self, from_ms: i64, until_ms: i64) -> Result<Vec<(uuid::Uuid, i64)>, $crate::StoreError> {
            use sqlx::Row;
            Ok(sqlx::query(
                "SELECT staff_id, COUNT(*) FROM desk_openings o WHERE dosed = $1 AND created_at >= $2 AND created_at < $3 \
                 AND created_at > COALESCE((SELECT MAX(at) FROM staff_signals s WHERE s.staff_id = o.staff_id AND s.kind = $4), 0) \
                 GROUP BY staff_id",
            )
            .bind(false)
            .bind(from_ms)
            .bind(until_ms)
            .bind("reinstated")
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, _>>()?)
        }
    };
}

pub(crate) use desk_store_methods;
