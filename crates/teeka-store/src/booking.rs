//! Storage for booking: the capacity decrement, appointments, cancellations and recorded doses.
//!
//! A booking is one transaction that starts with a conditional decrement of the session's online
//! capacity (`UPDATE … WHERE booked + n <= online`): on PostgreSQL the row lock, on SQLite the
//! single writer, make it atomic, so no slot is ever sold twice however many processes book at
//! once. Everything after it (the appointment, one live appointment per person per dose, the
//! access events, the district's change counter) is in the same transaction: all or nothing.

use teeka_domain::CowinDate;
use uuid::Uuid;

/// Which capacity a dose draws on.
pub(crate) fn capacity_sql(dose: i32) -> Option<(&'static str, &'static str)> {
    match dose {
        1 => Some((
            "UPDATE sessions SET dose1_booked = dose1_booked + $2 WHERE session_id = $1 AND dose1_booked + $2 <= dose1_online",
            "UPDATE sessions SET dose1_booked = dose1_booked - $2 WHERE session_id = $1",
        )),
        2 => Some((
            "UPDATE sessions SET dose2_booked = dose2_booked + $2 WHERE session_id = $1 AND dose2_booked + $2 <= dose2_online",
            "UPDATE sessions SET dose2_booked = dose2_booked - $2 WHERE session_id = $1",
        )),
        3 => Some((
            "UPDATE sessions SET precaution_booked = precaution_booked + $2 WHERE session_id = $1 \
             AND precaution_booked + $2 <= precaution_online",
            "UPDATE sessions SET precaution_booked = precaution_booked - $2 WHERE session_id = $1",
        )),
        _ => None,
    }
}

/// A booking to make.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Id.
    pub appointment_id: Uuid,
    /// What the citizen is shown (CoWIN's `appointment_confirmation_no`).
    pub confirmation_no: String,
    /// The booking account.
    pub account_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The slot band, as the session lists it.
    pub slot: String,
    /// 1, 2, or 3 for the precaution dose.
    pub dose: i32,
    /// The 4-digit code, sealed (shown to the citizen, never to staff listings).
    pub code_sealed: Vec<u8>,
    /// Who, as the request names them (beneficiary reference ids); the booking's checks, run
    /// inside its transaction, turn them into people.
    pub reference_ids: Vec<String>,
    /// Now (unix ms).
    pub now_ms: i64,
    /// The confirmation SMS, queued in the same transaction.
    pub sms: Option<crate::identity::OutboxMessage>,
    /// The client's `Idempotency-Key` and the hash of the request it came with, recorded in the
    /// same transaction.
    pub idempotency: Option<(String, Vec<u8>)>,
}

/// What a booking's checks need to know of the people it names, read inside the booking's own
/// transaction, so the checks and the booking see the same rows and one access event per person
/// covers both the read and the write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingFacts {
    /// The named people that are the account's own (anyone else's is simply absent).
    pub candidates: Vec<crate::identity::BookingCandidate>,
    /// Their recorded doses (not revoked).
    pub doses: Vec<RecordedDose>,
    /// Their live appointments for this booking's dose.
    pub live: Vec<LiveBooking>,
}

/// A person's live appointment for a dose, as a booking's checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveBooking {
    /// Whose.
    pub subject_id: Uuid,
    /// Its confirmation number.
    pub confirmation_no: String,
    /// Its session.
    pub session_id: Uuid,
}

/// What became of a booking; `S` is what the caller's checks stopped it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingOutcome<S> {
    /// The caller's checks stopped the booking (a refusal, or the first answer to a retry); the
    /// people read were logged as read.
    Stopped(S),
    /// Booked.
    Booked,
    /// Not enough online capacity left for everyone in the booking.
    Full,
    /// No such session.
    NoSession,
    /// This person already has a live appointment for this dose.
    AlreadyBooked(String),
    /// The idempotency key was recorded meanwhile (a concurrent retry won); read its answer.
    KeyUsed,
}

/// What a reschedule needs to know of the appointment it moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedAppointment {
    /// The session it is in now.
    pub session_id: Uuid,
    /// Which dose.
    pub dose: i32,
    /// Who is still booked on it.
    pub reference_ids: Vec<String>,
}

/// What became of a reschedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescheduleOutcome {
    /// Moved.
    Moved,
    /// The new session has no room for everyone.
    Full,
    /// No such live appointment on this account.
    NotFound,
}

/// A live appointment as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAppointment {
    /// Who.
    pub reference_id: String,
    /// The appointment.
    pub appointment_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The centre.
    pub centre_id: i64,
    /// The centre's name.
    pub centre_name: String,
    /// The day.
    pub date: CowinDate,
    /// The slot band.
    pub slot: String,
    /// Which dose.
    pub dose: i32,
    /// The 4-digit code, sealed.
    pub code_sealed: Vec<u8>,
}

/// A dose the desk recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDose {
    /// Whose.
    pub subject_id: Uuid,
    /// 1, 2, … (precaution doses follow the primary series).
    pub dose_number: i32,
    /// Which vaccine.
    pub vaccine: String,
    /// When.
    pub given_on: CowinDate,
}

/// Stamps the booking methods onto a backend (see `common.rs` for why a macro).
macro_rules! booking_store_methods {
    ($db:ty) => {
        /// The district a session's centre is in (whose change counter a booking bumps).
        async fn district_of_session(
            tx: &mut sqlx::Transaction<'static, $db>,
            session: uuid::Uuid,
        ) -> Result<teeka_domain::DistrictId, $crate::StoreError> {
            use sqlx::Row;
            let district: i32 = sqlx::query(
                "SELECT c.district_id FROM sessions s JOIN centres c ON c.centre_id = s.centre_id WHERE s.session_id = $1",
            )
            .bind(session)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
            Ok(teeka_domain::DistrictId(district))
        }

        /// What a booking's checks need of the named people, read in the booking's transaction
        /// in one statement: each of the account's own among them with its live appointment for
        /// the dose (at most one, an index keeps it so) and its recorded doses.
        async fn booking_facts(
            tx: &mut sqlx::Transaction<'static, $db>,
            account_id: uuid::Uuid,
            reference_ids: &[String],
            dose: i32,
        ) -> Result<$crate::booking::BookingFacts, $crate::StoreError> {
            use sqlx::Row;
            let mut facts = $crate::booking::BookingFacts::default();
            if reference_ids.is_empty() {
                return Ok(facts);
            }
            // Only numbered placeholders are formatted into the text; every value is bound.
            let placeholders: Vec<String> = (0..reference_ids.len()).map(|i| format!("${}", i + 5)).collect();
            let sql = format!(
                "SELECT b.reference_id, b.subject_id, b.birth_year, a.confirmation_no, a.session_id, \
                 d.dose_number, d.vaccine_name, d.given_on FROM beneficiaries b \
                 LEFT JOIN appointment_beneficiaries ab ON ab.subject_id = b.subject_id AND ab.dose = $2 AND ab.live = $3 \
                 LEFT JOIN appointments a ON a.appointment_id = ab.appointment_id \
                 LEFT JOIN doses d ON d.subject_id = b.subject_id AND d.revoked = $4 \
                 WHERE b.account_id = $1 AND b.reference_id IN ({}) ORDER BY b.reference_id, d.dose_number",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(dose).bind(true).bind(false);
            for reference_id in reference_ids {
                query = query.bind(reference_id);
            }
            for row in query.fetch_all(&mut **tx).await? {
                let subject_id: uuid::Uuid = row.try_get(1)?;
                if facts.candidates.last().is_none_or(|c| c.subject_id != subject_id) {
                    facts.candidates.push($crate::identity::BookingCandidate {
                        reference_id: row.try_get(0)?,
                        subject_id,
                        birth_year: row.try_get(2)?,
                    });
                    let confirmation: Option<String> = row.try_get(3)?;
                    let session: Option<uuid::Uuid> = row.try_get(4)?;
                    if let (Some(confirmation_no), Some(session_id)) = (confirmation, session) {
                        facts.live.push($crate::booking::LiveBooking { subject_id, confirmation_no, session_id });
                    }
                }
                let dose_number: Option<i32> = row.try_get(5)?;
                if let Some(dose_number) = dose_number {
                    facts.doses.push($crate::booking::RecordedDose {
                        subject_id,
                        dose_number,
                        vaccine: row.try_get(6)?,
                        given_on: teeka_domain::CowinDate(row.try_get(7)?),
                    });
                }
            }
            Ok(facts)
        }

        /// Logs the people a booking read, when it stopped before booking them.
        async fn log_booking_reads(
            tx: &mut sqlx::Transaction<'static, $db>,
            facts: &$crate::booking::BookingFacts,
            event: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            for candidate in &facts.candidates {
                let mut e = event.clone();
                e.subject_id = Some(candidate.subject_id);
                Self::append_access_event(tx, &e).await?;
            }
            Ok(())
        }

        /// Books the people `b` names into the session, all or none, in one transaction: it reads
        /// what the checks need (`booking_facts`), lets `decide` (the caller's rules, pure) turn
        /// the request into people or stop it, then books them with one `book_event` per person,
        /// which covers the read as well. A booking that stops after the read logs each person
        /// read with `read_event` instead: in the same transaction when nothing was written yet,
        /// else (the person booked concurrently) in its own, before the answer goes out.
        pub async fn book<S: Send>(
            &self,
            b: &$crate::booking::NewBooking,
            decide: impl FnOnce(&$crate::booking::BookingFacts) -> Result<Vec<(String, uuid::Uuid)>, S> + Send,
            read_event: &$crate::identity::AccessEventRecord,
            book_event: &$crate::identity::AccessEventRecord,
        ) -> Result<$crate::booking::BookingOutcome<S>, $crate::StoreError> {
            use $crate::booking::BookingOutcome;
            let Some((take, _)) = $crate::booking::capacity_sql(b.dose) else {
                return Ok(BookingOutcome::NoSession);
            };
            let mut tx = self.begin_write().await?;
            let facts = Self::booking_facts(&mut tx, b.account_id, &b.reference_ids, b.dose).await?;
            let people = match decide(&facts) {
                Ok(people) => people,
                Err(stop) => {
                    Self::log_booking_reads(&mut tx, &facts, read_event).await?;
                    tx.commit().await?;
                    return Ok(BookingOutcome::Stopped(stop));
                }
            };
            // The rules book exactly the people read, so one entry per person covers the read.
            let read: std::collections::BTreeSet<uuid::Uuid> = facts.candidates.iter().map(|c| c.subject_id).collect();
            let booked: std::collections::BTreeSet<uuid::Uuid> = people.iter().map(|(_, s)| *s).collect();
            if people.is_empty() || read != booked || booked.len() != people.len() {
                return Err($crate::StoreError::corrupt("a booking's rules must book exactly the people it read"));
            }
            let n = i32::try_from(people.len()).map_err($crate::StoreError::corrupt)?;
            // Capacity first: a session that is full (or gone) stops the booking before anything
            // is written, so the read is logged in this transaction.
            let taken = sqlx::query(take).bind(b.session_id).bind(n).execute(&mut *tx).await?.rows_affected();
            if taken != 1 {
                let exists = sqlx::query("SELECT 1 FROM sessions WHERE session_id = $1")
                    .bind(b.session_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                Self::log_booking_reads(&mut tx, &facts, read_event).await?;
                tx.commit().await?;
                return Ok(if exists { BookingOutcome::Full } else { BookingOutcome::NoSession });
            }
            // Then the key: a concurrent retry with the same key waits here for this one (the
            // primary key), finds the key taken, gives the capacity back and reads the first
            // answer; its read is logged in its own transaction too.
            if let Some((key, hash)) = &b.idempotency {
                let recorded = sqlx::query(
                    "INSERT INTO idempotency_keys (account_id, idem_key, request_hash, confirmation_no, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(b.account_id)
                .bind(key)
                .bind(hash)
                .bind(&b.confirmation_no)
                .bind(b.now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if recorded != 1 {
                    let (_, give_back) = $crate::booking::capacity_sql(b.dose).ok_or_else(|| $crate::StoreError::corrupt("dose"))?;
                    sqlx::query(give_back).bind(b.session_id).bind(n).execute(&mut *tx).await?;
                    Self::log_booking_reads(&mut tx, &facts, read_event).await?;
                    tx.commit().await?;
                    return Ok(BookingOutcome::KeyUsed);
                }
            }
            sqlx::query(
                "INSERT INTO appointments (appointment_id, confirmation_no, account_id, session_id, slot, dose, \
                 code_sealed, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', $8)",
            )
            .bind(b.appointment_id)
            .bind(&b.confirmation_no)
            .bind(b.account_id)
            .bind(b.session_id)
            .bind(&b.slot)
            .bind(b.dose)
            .bind(&b.code_sealed)
            .bind(b.now_ms)
            .execute(&mut *tx)
            .await?;
            for (reference_id, subject_id) in &people {
                let inserted = sqlx::query(
                    "INSERT INTO appointment_beneficiaries (appointment_id, reference_id, subject_id, dose, live) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(b.appointment_id)
                .bind(reference_id)
                .bind(*subject_id)
                .bind(b.dose)
                .bind(true)
                .execute(&mut *tx)
                .await;
                match inserted.map_err($crate::StoreError::from) {
                    Ok(_) => {}
                    // Only the person's own row means "already booked".
                    Err($crate::StoreError::Duplicate(message))
                        if message.contains("appointment_beneficiaries") || message.contains("one_live_appointment_per_dose") =>
                    {
                        tx.rollback().await?;
                        self.log_reads_after_rollback(&facts, read_event).await?;
                        return Ok(BookingOutcome::AlreadyBooked(reference_id.clone()));
                    }
                    Err(other) => return Err(other),
                }
            }
            let district = Self::district_of_session(&mut tx, b.session_id).await?;
            Self::note_availability_change(&mut tx, [district]).await?;
            Self::append_entries_with_sms(&mut tx, book_event, people.iter().map(|(_, s)| *s), b.sms.as_ref()).await?;
            tx.commit().await?;
            Ok(BookingOutcome::Booked)
        }

        /// The last writes of a booking, cancellation or reschedule, after the district counters
        /// (the lock order every writer keeps: sessions, district counters, ledger): `event` once
        /// per person, the last entry riding with the SMS in one call (one round trip fewer),
        /// since the ledger's lock is held from the first entry to the commit.
        async fn append_entries_with_sms(
            tx: &mut sqlx::Transaction<'static, $db>,
            event: &$crate::identity::AccessEventRecord,
            subjects: impl IntoIterator<Item = uuid::Uuid>,
            sms: Option<&$crate::identity::OutboxMessage>,
        ) -> Result<(), $crate::StoreError> {
            let mut entries: Vec<_> = subjects
                .into_iter()
                .map(|subject| {
                    let mut e = event.clone();
                    e.subject_id = Some(subject);
                    e
                })
                .collect();
            let beside_sms = sms.and_then(|sms| entries.pop().map(|e| (sms, e)));
            for e in &entries {
                Self::append_access_event(tx, e).await?;
            }
            match (beside_sms, sms) {
                (Some((sms, e)), _) => Self::insert_outbox_and_append(tx, sms, &e).await,
                (None, Some(sms)) => Self::insert_outbox(tx, sms).await,
                (None, None) => Ok(()),
            }
        }

        /// Logs a booking's read in a transaction of its own, after the booking's was rolled
        /// back: the one lost race that aborts a transaction (on PostgreSQL), a person booked
        /// by a concurrent request between the read and the insert. The entry is written
        /// before the refusal goes out; a savepoint would cost every booking two round trips
        /// for a race this rare.
        async fn log_reads_after_rollback(
            &self,
            facts: &$crate::booking::BookingFacts,
            read_event: &$crate::identity::AccessEventRecord,
        ) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            Self::log_booking_reads(&mut tx, facts, read_event).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Cancels the named people's places on one of the account's appointments and gives their
        /// capacity back, in one transaction; how many were cancelled (0: no such appointment on
        /// this account, or nobody live on it).
        pub async fn cancel_booking(
            &self,
            account_id: uuid::Uuid,
            appointment_id: uuid::Uuid,
            reference_ids: &[String],
            event: &$crate::identity::AccessEventRecord,
            sms: Option<&$crate::identity::OutboxMessage>,
        ) -> Result<u32, $crate::StoreError> {
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let row = sqlx::query("SELECT session_id, dose FROM appointments WHERE appointment_id = $1 AND account_id = $2 AND state = 'booked'")
                .bind(appointment_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(0);
            };
            let session_id: uuid::Uuid = row.try_get(0)?;
            let dose: i32 = row.try_get(1)?;
            // Lock order, the same in every booking write: appointment and session rows, then
            // the district counters, then the ledger (`append_entries_with_sms`), so two
            // writers cannot wait on each other on PostgreSQL.
            let mut subjects = Vec::new();
            for reference_id in reference_ids {
                let subject: Option<uuid::Uuid> = sqlx::query(
                    "UPDATE appointment_beneficiaries SET live = $3 WHERE appointment_id = $1 AND reference_id = $2 \
                     AND live = $4 RETURNING subject_id",
                )
                .bind(appointment_id)
                .bind(reference_id)
                .bind(false)
                .bind(true)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
                subjects.extend(subject);
            }
            if subjects.is_empty() {
                tx.rollback().await?;
                return Ok(0);
            }
            let cancelled = u32::try_from(subjects.len()).map_err($crate::StoreError::corrupt)?;
            let (_, give_back) = $crate::booking::capacity_sql(dose).ok_or_else(|| $crate::StoreError::corrupt("dose"))?;
            sqlx::query(give_back)
                .bind(session_id)
                .bind(i32::try_from(cancelled).map_err($crate::StoreError::corrupt)?)
                .execute(&mut *tx)
                .await?;
            let live: i64 = sqlx::query("SELECT COUNT(*) FROM appointment_beneficiaries WHERE appointment_id = $1 AND live = $2")
                .bind(appointment_id)
                .bind(true)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if live == 0 {
                sqlx::query("UPDATE appointments SET state = 'cancelled' WHERE appointment_id = $1")
                    .bind(appointment_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let district = Self::district_of_session(&mut tx, session_id).await?;
            Self::note_availability_change(&mut tx, [district]).await?;
            Self::append_entries_with_sms(&mut tx, event, subjects, sms).await?;
            tx.commit().await?;
            Ok(cancelled)
        }

        /// The answer recorded for an account's idempotency key: (request hash, confirmation number).
        pub async fn idempotent_booking(
            &self,
            account_id: uuid::Uuid,
            key: &str,
        ) -> Result<Option<(Vec<u8>, String)>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT request_hash, confirmation_no FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2")
                .bind(account_id)
                .bind(key)
                .fetch_optional(self.reader())
                .await?;
            Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
        }

        /// One of the account's live appointments: its session, dose and the people still on it.
        pub async fn booked_appointment(
            &self,
            account_id: uuid::Uuid,
            appointment_id: uuid::Uuid,
        ) -> Result<Option<$crate::booking::BookedAppointment>, $crate::StoreError> {
            use sqlx::Row;
            let row = sqlx::query("SELECT session_id, dose FROM appointments WHERE appointment_id = $1 AND account_id = $2 AND state = 'booked'")
                .bind(appointment_id)
                .bind(account_id)
                .fetch_optional(self.reader())
                .await?;
            let Some(row) = row else { return Ok(None) };
            let people = sqlx::query("SELECT reference_id FROM appointment_beneficiaries WHERE appointment_id = $1 AND live = $2 ORDER BY reference_id")
                .bind(appointment_id)
                .bind(true)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<Vec<String>, _>>()?;
            Ok(Some($crate::booking::BookedAppointment { session_id: row.try_get(0)?, dose: row.try_get(1)?, reference_ids: people }))
        }

        /// Moves a live appointment (everyone on it) to another session and slot, in one
        /// transaction: the new places are taken first, then the old ones given back.
        pub async fn reschedule(
            &self,
            account_id: uuid::Uuid,
            appointment_id: uuid::Uuid,
            new_session: uuid::Uuid,
            new_slot: &str,
            event: &$crate::identity::AccessEventRecord,
            sms: Option<&$crate::identity::OutboxMessage>,
        ) -> Result<$crate::booking::RescheduleOutcome, $crate::StoreError> {
            use $crate::booking::RescheduleOutcome;
            use sqlx::Row;
            let mut tx = self.begin_write().await?;
            let row = sqlx::query("SELECT session_id, dose FROM appointments WHERE appointment_id = $1 AND account_id = $2 AND state = 'booked'")
                .bind(appointment_id)
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(RescheduleOutcome::NotFound);
            };
            let old_session: uuid::Uuid = row.try_get(0)?;
            let dose: i32 = row.try_get(1)?;
            let subjects: Vec<uuid::Uuid> = sqlx::query("SELECT subject_id FROM appointment_beneficiaries WHERE appointment_id = $1 AND live = $2")
                .bind(appointment_id)
                .bind(true)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let n = i32::try_from(subjects.len()).map_err($crate::StoreError::corrupt)?;
            let (take, give_back) = $crate::booking::capacity_sql(dose).ok_or_else(|| $crate::StoreError::corrupt("dose"))?;
            // A new slot in the same session moves no capacity. Both session rows are locked in
            // id order first, so two reschedules crossing A→B and B→A cannot deadlock.
            if new_session != old_session {
                let mut both = [old_session, new_session];
                both.sort();
                for session in both {
                    sqlx::query("UPDATE sessions SET dose1_booked = dose1_booked WHERE session_id = $1")
                        .bind(session)
                        .execute(&mut *tx)
                        .await?;
                }
                if sqlx::query(take).bind(new_session).bind(n).execute(&mut *tx).await?.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(RescheduleOutcome::Full);
                }
                sqlx::query(give_back).bind(old_session).bind(n).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE appointments SET session_id = $2, slot = $3 WHERE appointment_id = $1")
                .bind(appointment_id)
                .bind(new_session)
                .bind(new_slot)
                .execute(&mut *tx)
                .await?;
            let mut districts = Vec::new();
            for session in [old_session, new_session] {
                let district = Self::district_of_session(&mut tx, session).await?;
                districts.push(district);
            }
            Self::note_availability_change(&mut tx, districts).await?;
            Self::append_entries_with_sms(&mut tx, event, subjects, sms).await?;
            tx.commit().await?;
            Ok(RescheduleOutcome::Moved)
        }

        /// The live appointments of an account's beneficiaries.
        pub async fn live_appointments(&self, account_id: uuid::Uuid) -> Result<Vec<$crate::booking::LiveAppointment>, $crate::StoreError> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT ab.reference_id, a.appointment_id, a.session_id, s.centre_id, c.centre_name, s.session_date, \
                 a.slot, a.dose, a.code_sealed FROM appointments a \
                 JOIN appointment_beneficiaries ab ON ab.appointment_id = a.appointment_id \
                 JOIN sessions s ON s.session_id = a.session_id JOIN centres c ON c.centre_id = s.centre_id \
                 WHERE a.account_id = $1 AND ab.live = $2 ORDER BY s.session_date, ab.reference_id",
            )
            .bind(account_id)
            .bind(true)
            .fetch_all(self.reader())
            .await?;
            rows.iter()
                .map(|r| {
                    Ok($crate::booking::LiveAppointment {
                        reference_id: r.try_get(0)?,
                        appointment_id: r.try_get(1)?,
                        session_id: r.try_get(2)?,
                        centre_id: r.try_get(3)?,
                        centre_name: r.try_get(4)?,
                        date: teeka_domain::CowinDate(r.try_get(5)?),
                        slot: r.try_get(6)?,
                        dose: r.try_get(7)?,
                        code_sealed: r.try_get(8)?,
                    })
                })
                .collect()
        }

        /// Doses recorded for these people.
        pub async fn recorded_doses(&self, subjects: &[uuid::Uuid]) -> Result<Vec<$crate::booking::RecordedDose>, $crate::StoreError> {
            use sqlx::Row;
            let mut out = Vec::new();
            for subject in subjects {
                let rows = sqlx::query("SELECT dose_number, vaccine_name, given_on FROM doses WHERE subject_id = $1 AND revoked = $2 ORDER BY dose_number")
                    .bind(subject)
                    .bind(false)
                    .fetch_all(self.reader())
                    .await?;
                for r in rows {
                    out.push($crate::booking::RecordedDose {
                        subject_id: *subject,
                        dose_number: r.try_get(0)?,
                        vaccine: r.try_get(1)?,
                        given_on: teeka_domain::CowinDate(r.try_get(2)?),
                    });
                }
            }
            Ok(out)
        }

        /// Records a dose (the vaccination desk's write; tests use it to set up dose histories).
        pub async fn record_dose(&self, dose: &$crate::booking::RecordedDose) -> Result<(), $crate::StoreError> {
            let mut tx = self.begin_write().await?;
            sqlx::query("INSERT INTO doses (dose_id, subject_id, dose_number, vaccine_name, given_on) VALUES ($1, $2, $3, $4, $5)")
                .bind(uuid::Uuid::new_v4())
                .bind(dose.subject_id)
                .bind(dose.dose_number)
                .bind(&dose.vaccine)
                .bind(dose.given_on.date())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    };
}

pub(crate) use booking_store_methods;
