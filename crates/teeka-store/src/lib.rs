//! Teeka's storage facade: one API over two backends, SQLite (the embedded default) and
//! PostgreSQL (production), chosen by the database URL's scheme. Each backend has its own
//! embedded migrations; both run the same SQL text wherever the dialects agree.
//!
//! Nothing above this crate sees SQL; nothing in it knows HTTP.
#![forbid(unsafe_code)]

pub mod booking;
pub mod certificate;
mod common;
pub mod desk;
mod error;
pub mod identity;
mod migrate;
pub mod partner;
mod postgres;
mod records;
mod sqlite;
pub mod staff;

pub use error::StoreError;
pub use postgres::PgStore;
pub use records::{
    CentreSessions, CentreView, DistrictRecord, DoseCounts, SessionAvailability, StateRecord,
    StoreCounts,
};
pub use sqlite::SqliteStore;

use teeka_domain::{
    Centre, CentreId, CowinDate, DistrictId, Pincode, SessionPlan, StateId, Vaccine, VaccineName,
};
use uuid::Uuid;

/// Which sessions an availability query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionScope {
    /// Every centre of a district.
    District(DistrictId),
    /// Every centre with this PIN code.
    Pincode(Pincode),
    /// One centre.
    Centre(CentreId),
}

/// An availability query: a place, a range of days `[from, until)`, and optionally one vaccine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Where.
    pub scope: SessionScope,
    /// First day, inclusive.
    pub from: CowinDate,
    /// Last day, exclusive.
    pub until: CowinDate,
    /// Only this vaccine, if given.
    pub vaccine: Option<VaccineName>,
}

/// The storage facade. Cheap to clone: it holds connection pools.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded default.
    Sqlite(SqliteStore),
    /// The production store.
    Postgres(PgStore),
}

/// Calls the same method on whichever backend the store holds.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens the store named by `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The backend's name, for logs and the readiness probe.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Applies every embedded migration not yet applied; safe to run from several processes.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let applied = dispatch!(self, s => s.migrate().await)?;
        // Events recorded before the ledger had leaves get theirs before anything appends.
        self.backfill_ledger_leaves().await?;
        Ok(applied)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    /// Inserts or updates states.
    pub async fn upsert_states(&self, states: &[StateRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_states(states).await)
    }

    /// Inserts or updates districts.
    pub async fn upsert_districts(&self, districts: &[DistrictRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_districts(districts).await)
    }

    /// Inserts or updates vaccines.
    pub async fn upsert_vaccines(&self, vaccines: &[Vaccine]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_vaccines(vaccines).await)
    }

    /// Records which district PIN codes belong to (master data for lookups and validation).
    pub async fn upsert_pincodes(&self, pins: &[(Pincode, DistrictId)]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_pincodes(pins).await)
    }

    /// All states, by name (CoWIN's order).
    pub async fn list_states(&self) -> Result<Vec<StateRecord>, StoreError> {
        dispatch!(self, s => s.list_states().await)
    }

    /// The districts of a state, by name (CoWIN's order); empty for an unknown state.
    pub async fn list_districts(&self, state: StateId) -> Result<Vec<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.list_districts(state).await)
    }

    /// Every district in the country, by id.
    pub async fn list_all_districts(&self) -> Result<Vec<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.list_all_districts().await)
    }

    /// One district, if it exists.
    pub async fn get_district(&self, id: DistrictId) -> Result<Option<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.get_district(id).await)
    }

    /// All vaccines, by name.
    pub async fn list_vaccines(&self) -> Result<Vec<Vaccine>, StoreError> {
        dispatch!(self, s => s.list_vaccines().await)
    }

    /// Inserts centres in one transaction: all or none. Blocks and PIN codes are recorded as
    /// master data on the way. A duplicate id fails the whole batch with [`StoreError::Duplicate`].
    pub async fn insert_centres(&self, centres: &[Centre]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_centres(centres).await)
    }

    /// Inserts one centre, giving it the next free id; returns that id.
    pub async fn insert_centre_with_next_id(
        &self,
        centre: &Centre,
    ) -> Result<CentreId, StoreError> {
        dispatch!(self, s => s.insert_centre_with_next_id(centre).await)
    }

    /// One centre with its state and district names.
    pub async fn get_centre(&self, id: CentreId) -> Result<Option<CentreView>, StoreError> {
        dispatch!(self, s => s.get_centre(id).await)
    }

    /// Inserts sessions in one transaction: all or none.
    pub async fn insert_sessions(&self, sessions: &[SessionPlan]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_sessions(sessions).await)
    }

    /// One session with what is left of its online capacity.
    pub async fn get_session(&self, id: Uuid) -> Result<Option<SessionAvailability>, StoreError> {
        dispatch!(self, s => s.get_session(id).await)
    }

    /// Sessions matching `query`, grouped by centre (centres by id, sessions by date).
    pub async fn find_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<CentreSessions>, StoreError> {
        dispatch!(self, s => s.find_sessions(query).await)
    }

    /// Centres whose coordinates fall within `delta` degrees of (`lat`, `long`), at most `limit`
    /// of them, nearest first (by an equirectangular approximation; the caller refines).
    pub async fn centres_in_box(
        &self,
        lat: f64,
        long: f64,
        delta: f64,
        limit: i64,
    ) -> Result<Vec<CentreView>, StoreError> {
        dispatch!(self, s => s.centres_in_box(lat, long, delta, limit).await)
    }

    /// Every district's availability change counter: a district whose counter moved has new
    /// centres, sessions or bookings since it was last read.
    pub async fn availability_changes(&self) -> Result<Vec<(DistrictId, i64)>, StoreError> {
        dispatch!(self, s => s.availability_changes().await)
    }

    /// Records an OTP send if the limits allow it, and queues its SMS.
    pub async fn otp_send(
        &self,
        otp: &identity::NewOtp,
        limits: &identity::OtpLimits,
    ) -> Result<identity::OtpSendOutcome, StoreError> {
        dispatch!(self, s => s.otp_send(otp, limits).await)
    }

    /// Checks an OTP; when right, opens a session (creating the account on first login).
    pub async fn otp_confirm(
        &self,
        attempt: &identity::OtpAttempt,
        limits: &identity::OtpLimits,
    ) -> Result<identity::OtpConfirmOutcome, StoreError> {
        dispatch!(self, s => s.otp_confirm(attempt, limits).await)
    }

    /// The account behind a live session.
    pub async fn session_account(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<Uuid>, StoreError> {
        dispatch!(self, s => s.session_account(token_hash, now_ms).await)
    }

    /// Revokes one session.
    pub async fn revoke_session(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        dispatch!(self, s => s.revoke_session(token_hash).await)
    }

    /// The account's sealed mobile and its blind index.
    pub async fn account_mobile_sealed(
        &self,
        account_id: Uuid,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        dispatch!(self, s => s.account_mobile_sealed(account_id).await)
    }

    /// Registers a beneficiary with its access event.
    pub async fn register_beneficiary(
        &self,
        b: &identity::BeneficiaryRow,
        max_per_account: i64,
        event: &identity::AccessEventRecord,
    ) -> Result<identity::RegisterOutcome, StoreError> {
        dispatch!(self, s => s.register_beneficiary(b, max_per_account, event).await)
    }

    /// An account's beneficiaries, one access event per beneficiary read.
    pub async fn read_beneficiaries(
        &self,
        account_id: Uuid,
        event: &identity::AccessEventRecord,
    ) -> Result<(Vec<identity::BeneficiaryRow>, Option<(Vec<u8>, Vec<u8>)>), StoreError> {
        dispatch!(self, s => s.read_beneficiaries(account_id, event).await)
    }

    /// The named people among an account's beneficiaries, for a booking's eligibility check;
    /// one access event per person found.
    pub async fn booking_candidates(
        &self,
        account_id: Uuid,
        reference_ids: &[String],
        event: &identity::AccessEventRecord,
    ) -> Result<Vec<identity::BookingCandidate>, StoreError> {
        dispatch!(self, s => s.booking_candidates(account_id, reference_ids, event).await)
    }

    /// Deletes one of an account's beneficiaries with its access event.
    pub async fn delete_beneficiary(
        &self,
        account_id: Uuid,
        reference_id: &str,
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_beneficiary(account_id, reference_id, event).await)
    }

    /// Access events after `after_seq`, in order.
    pub async fn access_events(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<identity::StoredAccessEvent>, StoreError> {
        dispatch!(self, s => s.access_events(after_seq, limit).await)
    }

    /// Outbox messages due now.
    pub async fn due_outbox(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<identity::OutboxMessage>, StoreError> {
        dispatch!(self, s => s.due_outbox(now_ms, limit).await)
    }

    /// Claims a due outbox message for one delivery attempt.
    pub async fn claim_outbox(
        &self,
        message_id: Uuid,
        seen_next_attempt_ms: i64,
        retry_at_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.claim_outbox(message_id, seen_next_attempt_ms, retry_at_ms).await)
    }

    /// Marks an outbox message delivered.
    pub async fn mark_outbox_sent(&self, message_id: Uuid, now_ms: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.mark_outbox_sent(message_id, now_ms).await)
    }

    /// Deletes expired rate events, finished OTP transactions and delivered messages.
    pub async fn prune_expired(&self, before_ms: i64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.prune_expired(before_ms).await)
    }

    /// Sealed values not starting with `prefix`, for key rotation.
    pub async fn sealed_not_prefixed(
        &self,
        column: identity::SealedColumn,
        prefix: &[u8],
        limit: i64,
    ) -> Result<Vec<identity::SealedValue>, StoreError> {
        dispatch!(self, s => s.sealed_not_prefixed(column, prefix, limit).await)
    }

    /// Replaces a sealed value if unchanged since read.
    pub async fn replace_sealed(
        &self,
        column: identity::SealedColumn,
        key: &identity::RowKey,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.replace_sealed(column, key, old, new).await)
    }

    /// Books the people a request names into a session, all or none, in one transaction that
    /// reads what `decide` (the caller's rules) needs, lets it decide, and books.
    pub async fn book<S: Send>(
        &self,
        b: &booking::NewBooking,
        decide: impl FnOnce(&booking::BookingFacts) -> Result<Vec<(String, Uuid)>, S> + Send,
        read_event: &identity::AccessEventRecord,
        book_event: &identity::AccessEventRecord,
    ) -> Result<booking::BookingOutcome<S>, StoreError> {
        dispatch!(self, s => s.book(b, decide, read_event, book_event).await)
    }

    /// Cancels people's places on an appointment, giving capacity back.
    pub async fn cancel_booking(
        &self,
        account_id: Uuid,
        appointment_id: Uuid,
        reference_ids: &[String],
        event: &identity::AccessEventRecord,
        sms: Option<&identity::OutboxMessage>,
    ) -> Result<u32, StoreError> {
        dispatch!(self, s => s.cancel_booking(account_id, appointment_id, reference_ids, event, sms).await)
    }

    /// The answer recorded for an account's idempotency key: (request hash, confirmation number).
    pub async fn idempotent_booking(
        &self,
        account_id: Uuid,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        dispatch!(self, s => s.idempotent_booking(account_id, key).await)
    }

    /// One of the account's live appointments.
    pub async fn booked_appointment(
        &self,
        account_id: Uuid,
        appointment_id: Uuid,
    ) -> Result<Option<booking::BookedAppointment>, StoreError> {
        dispatch!(self, s => s.booked_appointment(account_id, appointment_id).await)
    }

    /// Moves a live appointment to another session and slot.
    pub async fn reschedule(
        &self,
        account_id: Uuid,
        appointment_id: Uuid,
        new_session: Uuid,
        new_slot: &str,
        event: &identity::AccessEventRecord,
        sms: Option<&identity::OutboxMessage>,
    ) -> Result<booking::RescheduleOutcome, StoreError> {
        dispatch!(self, s => s.reschedule(account_id, appointment_id, new_session, new_slot, event, sms).await)
    }

    /// The live appointments of an account's beneficiaries.
    pub async fn live_appointments(
        &self,
        account_id: Uuid,
    ) -> Result<Vec<booking::LiveAppointment>, StoreError> {
        dispatch!(self, s => s.live_appointments(account_id).await)
    }

    /// Doses recorded for these people.
    pub async fn recorded_doses(
        &self,
        subjects: &[Uuid],
    ) -> Result<Vec<booking::RecordedDose>, StoreError> {
        dispatch!(self, s => s.recorded_doses(subjects).await)
    }

    /// Records a dose.
    pub async fn record_dose(&self, dose: &booking::RecordedDose) -> Result<(), StoreError> {
        dispatch!(self, s => s.record_dose(dose).await)
    }

    /// Creates a staff account.
    pub async fn insert_staff(&self, s: &staff::StaffRow) -> Result<(), StoreError> {
        dispatch!(self, st => st.insert_staff(s).await)
    }

    /// A staff account by sign-in name.
    pub async fn staff_by_username(
        &self,
        username: &str,
    ) -> Result<Option<staff::StaffRow>, StoreError> {
        dispatch!(self, s => s.staff_by_username(username).await)
    }

    /// Counts a failed sign-in, slowing down and then locking the account; the failures so far.
    pub async fn note_staff_failure(
        &self,
        staff_id: Uuid,
        now_ms: i64,
        policy: staff::FailurePolicy,
    ) -> Result<i32, StoreError> {
        dispatch!(self, s => s.note_staff_failure(staff_id, now_ms, policy).await)
    }

    /// Records a sign-in at a TOTP step and opens a session; false when the step was used.
    pub async fn staff_signed_in(
        &self,
        staff_id: Uuid,
        step: i64,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.staff_signed_in(staff_id, step, token_hash, now_ms).await)
    }

    /// A live staff session and its account.
    pub async fn staff_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<staff::StaffSessionRow>, StoreError> {
        dispatch!(self, s => s.staff_session(token_hash).await)
    }

    /// Marks a staff session as seen now.
    pub async fn touch_staff_session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.touch_staff_session(token_hash, now_ms).await)
    }

    /// Ends staff sessions; how many.
    pub async fn end_staff_sessions(
        &self,
        which: staff::SessionsToEnd<'_>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.end_staff_sessions(which).await)
    }

    /// Forces a password change on every staff account and ends every staff session.
    pub async fn force_staff_password_reset(&self) -> Result<(u64, u64), StoreError> {
        dispatch!(self, s => s.force_staff_password_reset().await)
    }

    /// Sets a staff password, ending the account's other sessions.
    pub async fn set_staff_password(
        &self,
        staff_id: Uuid,
        hash: &str,
        keep: &[u8],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.set_staff_password(staff_id, hash, keep).await)
    }

    /// Clears a staff account's lock; whether it exists.
    pub async fn unlock_staff(&self, staff_id: Uuid) -> Result<bool, StoreError> {
        dispatch!(self, s => s.unlock_staff(staff_id).await)
    }

    /// Staff alerts, newest first.
    pub async fn staff_alerts(&self, limit: i64) -> Result<Vec<staff::StaffAlert>, StoreError> {
        dispatch!(self, s => s.staff_alerts(limit).await)
    }

    /// A centre's roster for a day, one access event per person listed.
    pub async fn desk_roster(
        &self,
        centre_id: i64,
        date: CowinDate,
        event: &identity::AccessEventRecord,
    ) -> Result<Vec<desk::RosterEntry>, StoreError> {
        dispatch!(self, s => s.desk_roster(centre_id, date, event).await)
    }

    /// The live appointment a reference id holds at a centre on a day.
    pub async fn checkin_target(
        &self,
        reference_id: &str,
        centre_id: i64,
        date: CowinDate,
    ) -> Result<Option<desk::CheckinTarget>, StoreError> {
        dispatch!(self, s => s.checkin_target(reference_id, centre_id, date).await)
    }

    /// Counts a wrong code, locking the appointment at `max_wrong`; (wrong so far, locked).
    pub async fn note_wrong_code(
        &self,
        appointment_id: Uuid,
        staff_id: Uuid,
        now_ms: i64,
        max_wrong: i32,
    ) -> Result<(i32, bool), StoreError> {
        dispatch!(self, s => s.note_wrong_code(appointment_id, staff_id, now_ms, max_wrong).await)
    }

    /// Records an anomaly signal against a staff account.
    pub async fn note_staff_signal(
        &self,
        staff_id: Uuid,
        kind: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.note_staff_signal(staff_id, kind, at).await)
    }

    /// The (subject, account) behind a reference id.
    pub async fn subject_of_reference(
        &self,
        reference_id: &str,
    ) -> Result<Option<(Uuid, Uuid)>, StoreError> {
        dispatch!(self, s => s.subject_of_reference(reference_id).await)
    }

    /// Opens one person at the desk with its access event (and alert).
    pub async fn open_person(
        &self,
        opening: &desk::Opening,
        event: &identity::AccessEventRecord,
        alert: Option<(&str, &str)>,
    ) -> Result<Option<identity::BeneficiaryRow>, StoreError> {
        dispatch!(self, s => s.open_person(opening, event, alert).await)
    }

    /// The newest unexpired opening of a reference id at a centre.
    pub async fn live_opening(
        &self,
        centre_id: i64,
        reference_id: &str,
        now_ms: i64,
    ) -> Result<Option<desk::Opening>, StoreError> {
        dispatch!(self, s => s.live_opening(centre_id, reference_id, now_ms).await)
    }

    /// Registers and opens a walk-in against the on-site share.
    pub async fn walk_in(
        &self,
        w: &desk::WalkIn,
        event: &identity::AccessEventRecord,
    ) -> Result<desk::WalkInOutcome, StoreError> {
        dispatch!(self, s => s.walk_in(w, event).await)
    }

    /// Records a dose against an opening, exactly once.
    pub async fn record_desk_dose(
        &self,
        d: &desk::DeskDose,
        opening_id: Uuid,
        certificate: &certificate::CertificateRow,
        event: &identity::AccessEventRecord,
    ) -> Result<desk::DoseOutcome, StoreError> {
        dispatch!(self, s => s.record_desk_dose(d, opening_id, certificate, event).await)
    }

    /// Every certificate of these people, live and revoked, oldest first.
    pub async fn certificates_of(
        &self,
        subject_ids: &[Uuid],
    ) -> Result<Vec<certificate::CertificateRow>, StoreError> {
        dispatch!(self, s => s.certificates_of(subject_ids).await)
    }

    /// Issues a certificate for a dose without a live one; the live certificate either way.
    pub async fn ensure_certificate(
        &self,
        c: &certificate::CertificateRow,
    ) -> Result<certificate::CertificateRow, StoreError> {
        dispatch!(self, s => s.ensure_certificate(c).await)
    }

    /// A person's valid doses, in dose order.
    pub async fn valid_doses_of(
        &self,
        subject_id: Uuid,
    ) -> Result<Vec<desk::DeskDose>, StoreError> {
        dispatch!(self, s => s.valid_doses_of(subject_id).await)
    }

    /// Issues many certificates in one transaction.
    pub async fn insert_certificates(
        &self,
        rows: &[certificate::CertificateRow],
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_certificates(rows).await)
    }

    /// Keeps a person's sealed travel details (replacing earlier ones), with its access event.
    pub async fn put_travel_details(
        &self,
        subject_id: Uuid,
        details_sealed: &[u8],
        event: &identity::AccessEventRecord,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.put_travel_details(subject_id, details_sealed, event).await)
    }

    /// Removes a person's travel details, with its access event; whether there were any.
    pub async fn delete_travel_details(
        &self,
        subject_id: Uuid,
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_travel_details(subject_id, event).await)
    }

    /// A person's sealed travel details, if any, with `event` on the ledger when there are.
    pub async fn read_travel_details(
        &self,
        subject_id: Uuid,
        event: &identity::AccessEventRecord,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self, s => s.read_travel_details(subject_id, event).await)
    }

    /// Revoked certificates' ids with when they were revoked.
    pub async fn revoked_certificates(&self) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, s => s.revoked_certificates().await)
    }

    /// One dose by id.
    pub async fn desk_dose(&self, dose_id: Uuid) -> Result<Option<desk::DeskDose>, StoreError> {
        dispatch!(self, s => s.desk_dose(dose_id).await)
    }

    /// Records an adverse event.
    pub async fn insert_aefi(
        &self,
        a: &desk::AefiReport,
        event: &identity::AccessEventRecord,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_aefi(a, event).await)
    }

    /// Adverse events recorded against a dose.
    pub async fn aefi_count(&self, dose_id: Uuid) -> Result<i64, StoreError> {
        dispatch!(self, s => s.aefi_count(dose_id).await)
    }

    /// Corrects or revokes a valid dose, audited; false when it is not valid.
    pub async fn correct_dose(
        &self,
        c: &desk::DoseCorrection,
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.correct_dose(c, event).await)
    }

    /// Corrections a dose has had.
    pub async fn dose_correction_count(&self, dose_id: Uuid) -> Result<i64, StoreError> {
        dispatch!(self, s => s.dose_correction_count(dose_id).await)
    }

    /// Consumes a TOTP step; false when used already.
    pub async fn use_totp_step(&self, staff_id: Uuid, step: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.use_totp_step(staff_id, step).await)
    }

    /// A staff account's anomaly signals since a time, by kind (and `opened`).
    pub async fn staff_signal_counts(
        &self,
        staff_id: Uuid,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, s => s.staff_signal_counts(staff_id, since_ms).await)
    }

    /// Per account: openings in a window with no dose recorded.
    pub async fn undosed_openings(
        &self,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<(Uuid, i64)>, StoreError> {
        dispatch!(self, s => s.undosed_openings(from_ms, until_ms).await)
    }

    /// Sets a session's online and on-site shares (never below what is booked).
    pub async fn set_session_capacity(
        &self,
        session_id: Uuid,
        online: [i32; 3],
        onsite: [i32; 3],
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_session_capacity(session_id, online, onsite).await)
    }

    /// Staff alerts within a state and/or district, newest first.
    pub async fn staff_alerts_within(
        &self,
        state: Option<i64>,
        district: Option<i64>,
        limit: i64,
    ) -> Result<Vec<staff::StaffAlert>, StoreError> {
        dispatch!(self, s => s.staff_alerts_within(state, district, limit).await)
    }

    /// Marks a staff alert reviewed.
    pub async fn review_staff_alert(&self, alert_id: Uuid) -> Result<bool, StoreError> {
        dispatch!(self, s => s.review_staff_alert(alert_id).await)
    }

    /// A staff account by id.
    pub async fn staff_by_id(&self, staff_id: Uuid) -> Result<Option<staff::StaffRow>, StoreError> {
        dispatch!(self, s => s.staff_by_id(staff_id).await)
    }

    /// Staff accounts within a state and/or district, by username.
    pub async fn list_staff(
        &self,
        state: Option<i64>,
        district: Option<i64>,
    ) -> Result<Vec<staff::StaffRow>, StoreError> {
        dispatch!(self, s => s.list_staff(state, district).await)
    }

    /// Disables or re-enables a staff account.
    pub async fn set_staff_disabled(
        &self,
        staff_id: Uuid,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_staff_disabled(staff_id, disabled).await)
    }

    /// Resets a staff account's password and authenticator, ending its sessions.
    pub async fn reset_staff_credentials(
        &self,
        staff_id: Uuid,
        password_hash: &str,
        totp_secret_sealed: &[u8],
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.reset_staff_credentials(staff_id, password_hash, totp_secret_sealed).await)
    }

    /// Suspends a staff account with an alert; false when already suspended.
    pub async fn suspend_staff(
        &self,
        staff_id: Uuid,
        kind: &str,
        detail: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.suspend_staff(staff_id, kind, detail, now_ms).await)
    }

    /// Lifts a staff account's suspension and lock.
    pub async fn reinstate_staff(&self, staff_id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.reinstate_staff(staff_id, now_ms).await)
    }

    /// How many rows the main tables hold.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        dispatch!(self, s => s.counts().await)
    }
}

pub mod ledger;

/// Partners, consents, the kill switch, usage, and the counts aggregates are made from.
impl Store {
    /// Registers a partner with its ledger entry; false when the client id is taken.
    pub async fn insert_partner(
        &self,
        p: &partner::PartnerRow,
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.insert_partner(p, event).await)
    }

    /// The partner with this client id.
    pub async fn partner_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<partner::PartnerRow>, StoreError> {
        dispatch!(self, s => s.partner_by_client_id(client_id).await)
    }

    /// Every partner.
    pub async fn list_partners(&self) -> Result<Vec<partner::PartnerRow>, StoreError> {
        dispatch!(self, s => s.list_partners().await)
    }

    /// The switches turned off (`all`, `scope:<name>`).
    pub async fn switched_off(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, s => s.switched_off().await)
    }

    /// Replaces a partner's secret, with its ledger entry.
    pub async fn set_partner_secret(
        &self,
        partner_id: Uuid,
        secret_hash: &[u8],
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_partner_secret(partner_id, secret_hash, event).await)
    }

    /// Turns a kill switch off or on, with its ledger entry; whether it changed (`None`: no
    /// such partner).
    pub async fn set_partner_switch(
        &self,
        target: &partner::SwitchTarget,
        off: bool,
        now_ms: i64,
        event: &identity::AccessEventRecord,
    ) -> Result<Option<bool>, StoreError> {
        dispatch!(self, s => s.set_partner_switch(target, off, now_ms, event).await)
    }

    /// The consent request waiting on an OTP transaction.
    pub async fn consent_request(
        &self,
        txn_id: Uuid,
    ) -> Result<Option<partner::ConsentRequestRow>, StoreError> {
        dispatch!(self, s => s.consent_request(txn_id).await)
    }

    /// The live consent behind a partner's token.
    pub async fn partner_consent(
        &self,
        token_hash: &[u8],
        partner_id: Uuid,
        now_ms: i64,
    ) -> Result<Option<partner::ConsentRow>, StoreError> {
        dispatch!(self, s => s.partner_consent(token_hash, partner_id, now_ms).await)
    }

    /// Reference and subject ids of an account's beneficiaries.
    pub async fn account_subjects(
        &self,
        account_id: Uuid,
    ) -> Result<Vec<(String, Uuid)>, StoreError> {
        dispatch!(self, s => s.account_subjects(account_id).await)
    }

    /// An account's consents, the read on the ledger.
    pub async fn consents_of(
        &self,
        account_id: Uuid,
        event: &identity::AccessEventRecord,
    ) -> Result<Vec<partner::ConsentRow>, StoreError> {
        dispatch!(self, s => s.consents_of(account_id, event).await)
    }

    /// Revokes a consent and its tokens, with the ledger entry.
    pub async fn revoke_consent(
        &self,
        account_id: Uuid,
        consent_id: Uuid,
        now_ms: i64,
        event: &identity::AccessEventRecord,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.revoke_consent(account_id, consent_id, now_ms, event).await)
    }

    /// Counts a partner request against its quota and anomaly thresholds.
    pub async fn note_partner_call(
        &self,
        partner_id: Uuid,
        account_id: Option<Uuid>,
        now_ms: i64,
        rules: &partner::UsageRules,
    ) -> Result<partner::UsageOutcome, StoreError> {
        dispatch!(self, s => s.note_partner_call(partner_id, account_id, now_ms, rules).await)
    }

    /// Valid doses, grouped finely; with `export`, its ledger entry in the same transaction.
    pub async fn dose_counts(
        &self,
        filter: &partner::CountFilter,
        export: Option<&identity::AccessEventRecord>,
    ) -> Result<Vec<partner::DoseCountRow>, StoreError> {
        dispatch!(self, s => s.dose_counts(filter, export).await)
    }

    /// Adverse-event reports by severity.
    pub async fn aefi_counts(
        &self,
        filter: &partner::CountFilter,
        until_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, s => s.aefi_counts(filter, until_ms).await)
    }
}
