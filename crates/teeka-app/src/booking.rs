//! Booking: a citizen books one or several of their own beneficiaries into a session, all or
//! none, after the eligibility rules pass; and cancels, giving the capacity back. Capacity is
//! taken atomically in storage, so no slot is sold twice under any load.

use crate::access::CitizenGrant;
use crate::citizen::{is_reference_id, not_found};
use crate::clock::{IST, now_ms, today_in_india};
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use teeka_store::Store;
use teeka_store::booking::{
    BookingFacts, BookingOutcome, NewBooking, RecordedDose, RescheduleOutcome,
};
use teeka_store::identity::BookingCandidate;
use teeka_store::identity::{OutboxMessage, SealedColumn};
use uuid::Uuid;

/// CoWIN's code: the centre is fully booked for this dose.
pub const CENTRE_FULL: &str = "APPOIN0040";
/// CoWIN's code: the slot is not one of the session's.
pub const INVALID_SLOT: &str = "APPOIN0015";
/// Ours: the session is in the past.
pub const PAST_SESSION: &str = "TKABKG0001";
/// Ours: a person's age is outside the session's limits.
pub const AGE_OUTSIDE_LIMITS: &str = "TKABKG0002";
/// Ours: the dose is out of order (dose 2 before dose 1, another vaccine, precaution too early in the series).
pub const DOSE_ORDER: &str = "TKABKG0003";
/// Ours: the minimum interval since the previous dose has not passed by the session's date.
pub const INTERVAL_NOT_MET: &str = "TKABKG0004";
/// Ours: this person already has a live appointment for this dose.
pub const ALREADY_BOOKED: &str = "TKABKG0005";
/// Ours: online booking for today has closed (cut-off).
pub const BOOKING_CLOSED: &str = "TKABKG0006";
/// Ours: `dose` must be 1, 2 or 3 (precaution).
pub const INVALID_DOSE: &str = "TKABKG0007";
/// Ours: no such session.
pub const NO_SUCH_SESSION: &str = "TKABKG0008";
/// Ours: no such appointment on this account.
pub const NO_SUCH_APPOINTMENT: &str = "TKABKG0009";
/// Ours: this `Idempotency-Key` was used with a different request.
pub const IDEMPOTENCY_KEY_REUSED: &str = "TKABKG0011";
/// Ours: too many booking requests from this account or address.
pub const TOO_MANY_BOOKINGS: &str = "TKABKG0012";

/// Booking settings.
#[derive(Debug, Clone)]
pub struct BookingConfig {
    /// Online booking for a day closes at this minute of that day, IST (CoWIN: 15:00).
    pub same_day_cutoff_minute: u16,
    /// People per booking.
    pub max_people: usize,
    /// When set, a booking or reschedule must carry a proof of work of this many bits (see
    /// [`crate::antibot`]); off by default, for an operator to switch on under attack.
    pub proof_of_work_bits: Option<u8>,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self {
            same_day_cutoff_minute: 15 * 60,
            max_people: 4,
            proof_of_work_bits: None,
        }
    }
}

/// A booking as a client asks for it (CoWIN's `schedule`), not yet checked.
#[derive(Debug, Clone)]
pub struct ScheduleRequest {
    /// 1, 2 or 3 (precaution).
    pub dose: i64,
    /// The session.
    pub session_id: String,
    /// The slot band.
    pub slot: String,
    /// Reference ids.
    pub beneficiaries: Vec<String>,
    /// The client's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
}

impl ScheduleRequest {
    /// What identifies the request behind an idempotency key: a retry must ask for the same.
    fn fingerprint(&self) -> Vec<u8> {
        let mut people = self.beneficiaries.clone();
        people.sort();
        let text = format!(
            "{}\n{}\n{}\n{}",
            self.dose,
            self.session_id.trim(),
            self.slot.trim(),
            people.join(",")
        );
        teeka_crypto::sha256(text.as_bytes()).to_vec()
    }
}

/// An idempotency key as the header may carry it: 1 to 255 visible ASCII characters.
fn checked_key(key: &str) -> Result<&str, AppError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadInput(
            "Idempotency-Key: 1 to 255 visible ASCII characters".into(),
        ));
    }
    Ok(key)
}

/// The booking use cases.
pub struct Booking<'a> {
    /// Storage.
    pub store: &'a Store,
    /// Keys.
    pub vault: &'a Vault,
    /// Settings.
    pub config: &'a BookingConfig,
}

/// Why a booking's checks stopped it inside its transaction.
enum BookingStop {
    /// A refusal to give the client.
    Refused(AppError),
    /// A retry of a booking already made: its confirmation number.
    FirstAnswer(String),
}

fn already_booked(reference_id: &str) -> AppError {
    refused(
        Refusal::Conflict,
        ALREADY_BOOKED,
        format!("{reference_id} already has an appointment for this dose"),
    )
}

/// The named people, in the request's order, when every one is among `own` (the account's) and
/// of an age the session takes; anyone else's looks exactly like a missing one.
fn people_of_age(
    own: &[BookingCandidate],
    wanted: &[String],
    plan: &teeka_domain::SessionPlan,
) -> Result<Vec<(String, Uuid)>, AppError> {
    let mut people = Vec::new();
    for reference_id in wanted {
        let row = own
            .iter()
            .find(|b| &b.reference_id == reference_id)
            .ok_or_else(not_found)?;
        let age = plan.date.date().year() - row.birth_year;
        let too_young = age < i32::from(plan.age.min_age);
        let too_old = plan.age.max_age.is_some_and(|max| age > i32::from(max));
        if too_young || too_old {
            return Err(refused(
                Refusal::Invalid,
                AGE_OUTSIDE_LIMITS,
                format!("{reference_id}: age {age} is outside this session's age limits"),
            ));
        }
        people.push((row.reference_id.clone(), row.subject_id));
    }
    Ok(people)
}

/// Dose order, same vaccine, minimum intervals and the precaution interval, from master data,
/// against the people's recorded doses.
fn doses_in_order(
    people: &[(String, Uuid)],
    history: &[RecordedDose],
    vaccines: &[teeka_domain::Vaccine],
    dose: i32,
    plan: &teeka_domain::SessionPlan,
) -> Result<(), AppError> {
    for (reference_id, subject) in people {
        let mine: Vec<_> = history
            .iter()
            .filter(|d| d.subject_id == *subject)
            .collect();
        let first = mine.iter().find(|d| d.dose_number == 1);
        let last = mine.iter().max_by_key(|d| d.dose_number);
        let order = |m: &str| refused(Refusal::Invalid, DOSE_ORDER, format!("{reference_id}: {m}"));
        let interval = |days: u16, since: teeka_domain::CowinDate| -> Result<(), AppError> {
            if (plan.date.date() - since.date()).whole_days() < i64::from(days) {
                return Err(refused(
                    Refusal::Invalid,
                    INTERVAL_NOT_MET,
                    format!(
                        "{reference_id}: at least {days} days must pass after the previous dose"
                    ),
                ));
            }
            Ok(())
        };
        match dose {
            1 if first.is_some() => return Err(order("dose 1 is already recorded")),
            1 => {}
            2 => {
                let Some(first) = first else {
                    return Err(order("dose 2 needs dose 1 recorded first"));
                };
                if mine.iter().any(|d| d.dose_number >= 2) {
                    return Err(order("dose 2 is already recorded"));
                }
                if first.vaccine != plan.vaccine.as_str() {
                    return Err(order("dose 2 must be the same vaccine as dose 1"));
                }
                let rules = vaccines.iter().find(|v| v.name.as_str() == first.vaccine);
                let days = rules
                    .and_then(|v| v.min_interval_days.first().copied())
                    .unwrap_or(0);
                interval(days, first.given_on)?;
            }
            _ => {
                let (Some(first), Some(last)) = (first, last) else {
                    return Err(order("a precaution dose follows the primary series"));
                };
                let rules = vaccines.iter().find(|v| v.name.as_str() == first.vaccine);
                let primary = rules.map_or(2, |v| i32::from(v.primary_doses));
                if last.dose_number < primary {
                    return Err(order("a precaution dose follows the primary series"));
                }
                interval(
                    rules.map_or(182, |v| v.precaution_after_days),
                    last.given_on,
                )?;
            }
        }
    }
    Ok(())
}

fn refused(kind: Refusal, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::refused(kind, code, message)
}

impl Booking<'_> {
    /// Books the grant's beneficiaries into a session; the confirmation number.
    pub async fn schedule(
        &self,
        grant: &CitizenGrant,
        request: &ScheduleRequest,
        request_id: &str,
    ) -> Result<String, AppError> {
        let dose = i32::try_from(request.dose)
            .ok()
            .filter(|d| (1..=3).contains(d))
            .ok_or_else(|| {
                refused(
                    Refusal::Invalid,
                    INVALID_DOSE,
                    "dose must be 1, 2 or 3 (precaution)",
                )
            })?;
        let idempotency = match &request.idempotency_key {
            Some(key) => {
                let key = checked_key(key)?;
                let fingerprint = request.fingerprint();
                if let Some(first) = self.first_answer(grant, key, &fingerprint).await? {
                    return Ok(first);
                }
                Some((key.to_owned(), fingerprint))
            }
            None => None,
        };
        let (session_id, session) = self.open_session(request).await?;
        let plan = &session.plan;
        let vaccines = self.store.list_vaccines().await?;
        let appointment_id = Uuid::new_v4();
        let code = four_digit_code()?;
        let centre = self
            .store
            .get_centre(plan.centre_id)
            .await?
            .map_or_else(String::new, |c| c.centre.name);
        // CoWIN's wording, with the code the desk will ask for.
        let text = format!(
            "Your vaccination appointment is confirmed for {} at {}, {}. Appointment ID {}. \
             Your 4 digit secret code is {code}. - Teeka",
            plan.date,
            centre,
            request.slot.trim(),
            appointment_id
        );
        let sms = self
            .sms_to_holder(grant, "appointment.booked", text)
            .await?;
        let booking = NewBooking {
            appointment_id,
            confirmation_no: appointment_id.to_string(),
            account_id: grant.account_id(),
            session_id,
            slot: request.slot.trim().to_owned(),
            dose,
            code_sealed: self
                .vault
                .seal(code.as_bytes(), &appointment_code_binding(appointment_id))?,
            reference_ids: request.beneficiaries.clone(),
            now_ms: now_ms(),
            sms,
            idempotency,
        };
        // The rules run inside the booking's transaction, on what it read there: the people are
        // the grant's own, their ages fit, a retry gets its first answer, the doses are in order.
        let decide = |facts: &BookingFacts| -> Result<Vec<(String, Uuid)>, BookingStop> {
            let people = people_of_age(&facts.candidates, &request.beneficiaries, plan)
                .map_err(BookingStop::Refused)?;
            if let Some(first) = facts.live.first()
                && first.session_id == session_id
                && facts.live.len() == people.len()
                && facts
                    .live
                    .iter()
                    .all(|l| l.confirmation_no == first.confirmation_no)
            {
                return Err(BookingStop::FirstAnswer(first.confirmation_no.clone()));
            }
            // The first person, in the request's order, who already holds a place for this dose.
            if let Some((reference_id, _)) = people
                .iter()
                .find(|(_, s)| facts.live.iter().any(|l| l.subject_id == *s))
            {
                return Err(BookingStop::Refused(already_booked(reference_id)));
            }
            doses_in_order(&people, &facts.doses, &vaccines, dose, plan)
                .map_err(BookingStop::Refused)?;
            Ok(people)
        };
        let read_event = grant.event(
            "beneficiary.read",
            "eligibility check for a booking",
            request_id,
        );
        let book_event = grant.event(
            "appointment.book",
            "eligibility check and booking by the beneficiary's mobile holder",
            request_id,
        );
        match self
            .store
            .book(&booking, decide, &read_event, &book_event)
            .await?
        {
            BookingOutcome::Stopped(BookingStop::Refused(refusal)) => Err(refusal),
            BookingOutcome::Stopped(BookingStop::FirstAnswer(confirmation)) => Ok(confirmation),
            BookingOutcome::Booked => Ok(booking.confirmation_no),
            BookingOutcome::Full => Err(refused(
                Refusal::Conflict,
                CENTRE_FULL,
                "This centre is completely booked for the selected date. Please try another date or centre.",
            )),
            BookingOutcome::NoSession => Err(refused(
                Refusal::NotFound,
                NO_SUCH_SESSION,
                "No such session",
            )),
            BookingOutcome::AlreadyBooked(reference_id) => Err(already_booked(&reference_id)),
            BookingOutcome::KeyUsed => {
                let (key, fingerprint) = booking.idempotency.unwrap_or_default();
                self.first_answer(grant, &key, &fingerprint)
                    .await?
                    .ok_or_else(|| {
                        AppError::Store(teeka_store::StoreError::Corrupt(
                            "an idempotency key vanished".into(),
                        ))
                    })
            }
        }
    }

    /// The first answer given under an idempotency key, if the key was used; a refusal if it was
    /// used for a different request.
    async fn first_answer(
        &self,
        grant: &CitizenGrant,
        key: &str,
        fingerprint: &[u8],
    ) -> Result<Option<String>, AppError> {
        match self
            .store
            .idempotent_booking(grant.account_id(), key)
            .await?
        {
            None => Ok(None),
            Some((recorded, confirmation)) if recorded == fingerprint => Ok(Some(confirmation)),
            Some(_) => Err(refused(
                Refusal::Unprocessable,
                IDEMPOTENCY_KEY_REUSED,
                "This Idempotency-Key was used for a different booking request",
            )),
        }
    }

    /// The checks a booking and a reschedule share that read no personal data: the people are
    /// named well, the session exists and is open for booking, the slot is the session's.
    async fn open_session(
        &self,
        request: &ScheduleRequest,
    ) -> Result<(Uuid, teeka_store::SessionAvailability), AppError> {
        if request.beneficiaries.is_empty() || request.beneficiaries.len() > self.config.max_people
        {
            return Err(AppError::BadInput(format!(
                "beneficiaries: name 1 to {} people",
                self.config.max_people
            )));
        }
        let mut wanted = request.beneficiaries.clone();
        wanted.sort();
        wanted.dedup();
        if wanted.len() != request.beneficiaries.len() || !wanted.iter().all(|r| is_reference_id(r))
        {
            return Err(not_found());
        }
        let session_id: Uuid = request
            .session_id
            .trim()
            .parse()
            .map_err(|_| refused(Refusal::NotFound, NO_SUCH_SESSION, "No such session"))?;
        let session = self
            .store
            .get_session(session_id)
            .await?
            .ok_or_else(|| refused(Refusal::NotFound, NO_SUCH_SESSION, "No such session"))?;
        let plan = &session.plan;
        if !plan
            .slots
            .iter()
            .any(|s| s.to_string() == request.slot.trim())
        {
            return Err(refused(Refusal::Invalid, INVALID_SLOT, "Invalid slot"));
        }
        let today = today_in_india();
        if plan.date < today {
            return Err(refused(
                Refusal::Invalid,
                PAST_SESSION,
                "This session is in the past",
            ));
        }
        let now_ist = time::OffsetDateTime::now_utc().to_offset(IST);
        let minute_now = u16::from(now_ist.hour()) * 60 + u16::from(now_ist.minute());
        if plan.date == today && minute_now >= self.config.same_day_cutoff_minute {
            return Err(refused(
                Refusal::Invalid,
                BOOKING_CLOSED,
                "Online booking for today has closed; book another day or walk in",
            ));
        }

        Ok((session_id, session))
    }

    /// A reschedule's checks: the session's ([`Self::open_session`]), then the people are the
    /// grant's own and every age is within the new session's limits.
    async fn eligible(
        &self,
        grant: &CitizenGrant,
        request: &ScheduleRequest,
        request_id: &str,
    ) -> Result<(Uuid, teeka_store::SessionAvailability, Vec<(String, Uuid)>), AppError> {
        let (session_id, session) = self.open_session(request).await?;
        // The grant's own beneficiaries only; anyone else's looks exactly like a missing one.
        let event = grant.event(
            "beneficiary.read",
            "eligibility check for a booking",
            request_id,
        );
        let own = self
            .store
            .booking_candidates(grant.account_id(), &request.beneficiaries, &event)
            .await?;
        let people = people_of_age(&own, &request.beneficiaries, &session.plan)?;
        Ok((session_id, session, people))
    }

    /// Dose order, same vaccine, minimum intervals and the precaution interval, from master data.
    async fn check_doses(
        &self,
        people: &[(String, Uuid)],
        dose: i32,
        plan: &teeka_domain::SessionPlan,
    ) -> Result<(), AppError> {
        let subjects: Vec<Uuid> = people.iter().map(|(_, s)| *s).collect();
        let history = self.store.recorded_doses(&subjects).await?;
        let vaccines = self.store.list_vaccines().await?;
        doses_in_order(people, &history, &vaccines, dose, plan)
    }

    /// Moves a live appointment (everyone on it) to another session and slot, after the same
    /// checks as a booking; its id and code stay the same.
    pub async fn reschedule(
        &self,
        grant: &CitizenGrant,
        appointment_id: &str,
        session_id: &str,
        slot: &str,
        request_id: &str,
    ) -> Result<(), AppError> {
        let missing = || {
            refused(
                Refusal::NotFound,
                NO_SUCH_APPOINTMENT,
                "No such appointment",
            )
        };
        let appointment_id: Uuid = appointment_id.trim().parse().map_err(|_| missing())?;
        let booked = self
            .store
            .booked_appointment(grant.account_id(), appointment_id)
            .await?
            .filter(|b| !b.reference_ids.is_empty())
            .ok_or_else(missing)?;
        let request = ScheduleRequest {
            dose: i64::from(booked.dose),
            session_id: session_id.to_owned(),
            slot: slot.to_owned(),
            beneficiaries: booked.reference_ids.clone(),
            idempotency_key: None,
        };
        let (new_session, session, people) = self.eligible(grant, &request, request_id).await?;
        self.check_doses(&people, booked.dose, &session.plan)
            .await?;
        let centre = self
            .store
            .get_centre(session.plan.centre_id)
            .await?
            .map_or_else(String::new, |c| c.centre.name);
        let text = format!(
            "Your vaccination appointment {appointment_id} has been rescheduled to {} at {}, {}. - Teeka",
            session.plan.date,
            centre,
            slot.trim()
        );
        let sms = self
            .sms_to_holder(grant, "appointment.rescheduled", text)
            .await?;
        let event = grant.event(
            "appointment.reschedule",
            "rescheduled by the beneficiary's mobile holder",
            request_id,
        );
        match self
            .store
            .reschedule(
                grant.account_id(),
                appointment_id,
                new_session,
                slot.trim(),
                &event,
                sms.as_ref(),
            )
            .await?
        {
            RescheduleOutcome::Moved => Ok(()),
            RescheduleOutcome::Full => Err(refused(
                Refusal::Conflict,
                CENTRE_FULL,
                "This centre is completely booked for the selected date. Please try another date or centre.",
            )),
            RescheduleOutcome::NotFound => Err(missing()),
        }
    }

    /// Cancels the named people's places; capacity goes back to the session.
    pub async fn cancel(
        &self,
        grant: &CitizenGrant,
        appointment_id: &str,
        people: &[String],
        request_id: &str,
    ) -> Result<(), AppError> {
        let missing = || {
            refused(
                Refusal::NotFound,
                NO_SUCH_APPOINTMENT,
                "No such appointment",
            )
        };
        let appointment_id: Uuid = appointment_id.trim().parse().map_err(|_| missing())?;
        let event = grant.event(
            "appointment.cancel",
            "cancelled by the beneficiary's mobile holder",
            request_id,
        );
        let text =
            format!("Your vaccination appointment {appointment_id} has been cancelled. - Teeka");
        let sms = self
            .sms_to_holder(grant, "appointment.cancelled", text)
            .await?;
        match self
            .store
            .cancel_booking(
                grant.account_id(),
                appointment_id,
                people,
                &event,
                sms.as_ref(),
            )
            .await?
        {
            0 => Err(missing()),
            _ => Ok(()),
        }
    }
}

impl Booking<'_> {
    /// The appointment slip of one of the grant's live appointments, as PDF: centre, date, slot,
    /// the people on it (masked) and the 4-digit code. The read is on the ledger.
    pub async fn slip(
        &self,
        grant: &CitizenGrant,
        appointment_id: &str,
        request_id: &str,
    ) -> Result<Vec<u8>, AppError> {
        let missing = || {
            refused(
                Refusal::NotFound,
                NO_SUCH_APPOINTMENT,
                "No such appointment",
            )
        };
        let appointment_id: Uuid = appointment_id.trim().parse().map_err(|_| missing())?;
        // Another account's appointment looks exactly like a missing one, before anything is read.
        if self
            .store
            .booked_appointment(grant.account_id(), appointment_id)
            .await?
            .is_none_or(|b| b.reference_ids.is_empty())
        {
            return Err(missing());
        }
        let event = grant.event(
            "appointment.slip",
            "the beneficiary's mobile holder downloaded the appointment slip",
            request_id,
        );
        let people =
            crate::citizen::own_beneficiaries(self.store, self.vault, grant, &event).await?;
        let on_it: Vec<_> = people
            .iter()
            .filter_map(|p| {
                p.appointments
                    .iter()
                    .find(|a| a.appointment_id == appointment_id)
                    .map(|a| (p, a))
            })
            .collect();
        let Some((_, appointment)) = on_it.first() else {
            return Err(missing());
        };
        let session = self
            .store
            .get_session(appointment.session_id)
            .await?
            .ok_or_else(missing)?;
        let centre = self
            .store
            .get_centre(session.plan.centre_id)
            .await?
            .ok_or_else(missing)?;
        let c = &centre.centre;
        let slip = teeka_cert::AppointmentSlip {
            appointment_id: appointment_id.to_string(),
            centre_name: c.name.clone(),
            centre_address: vec![
                c.address.clone(),
                format!("{}, {}", c.block_name, centre.district_name),
                format!("{} {}", centre.state_name, c.pincode),
            ],
            date: appointment.date.to_string(),
            slot: appointment.slot.clone(),
            dose: match appointment.dose {
                1 => "Dose 1".into(),
                2 => "Dose 2".into(),
                _ => "Precaution dose".into(),
            },
            vaccine: session.plan.vaccine.as_str().to_owned(),
            fee_type: c.fee_type.as_str().to_owned(),
            people: on_it
                .iter()
                .map(|(p, _)| teeka_cert::SlipPerson {
                    reference_id: p.reference_id.clone(),
                    name_masked: p.name_masked.clone(),
                    birth_year: p.birth_year,
                    gender: p.gender.cowin_name().to_owned(),
                    photo_id: format!("{} {}", p.photo_id_type.cowin_name(), p.photo_id_masked),
                })
                .collect(),
            code: appointment.code.clone(),
        };
        Ok(teeka_cert::render_slip(&slip))
    }

    /// An SMS to the grant holder's own mobile, sealed for the outbox.
    async fn sms_to_holder(
        &self,
        grant: &CitizenGrant,
        template: &str,
        text: String,
    ) -> Result<Option<OutboxMessage>, AppError> {
        let Some((sealed, index)) = self.store.account_mobile_sealed(grant.account_id()).await?
        else {
            return Ok(None);
        };
        let mobile = self.vault.open(
            grant,
            grant.account_id(),
            &sealed,
            &SealedColumn::AccountMobile.bound_to(&index),
        )?;
        let message_id = Uuid::new_v4();
        let payload = serde_json::json!({
            "to": String::from_utf8_lossy(&mobile),
            "template": template,
            "text": text,
        });
        let now = now_ms();
        Ok(Some(OutboxMessage {
            message_id,
            channel: "sms".into(),
            template: template.into(),
            payload_sealed: self.vault.seal(
                payload.to_string().as_bytes(),
                &SealedColumn::OutboxPayload.bound_to(message_id.as_bytes()),
            )?,
            attempts: 0,
            next_attempt_at_ms: now,
            created_at_ms: now,
        }))
    }
}

/// The associated data an appointment's code is sealed under.
pub fn appointment_code_binding(appointment_id: Uuid) -> Vec<u8> {
    let mut aad = b"appointment.code\0".to_vec();
    aad.extend_from_slice(appointment_id.as_bytes());
    aad
}

/// A random 4-digit code (uniform, from the OS CSPRNG).
fn four_digit_code() -> Result<String, AppError> {
    let otp = teeka_crypto::generate_otp().map_err(|e| AppError::Crypto(e.to_string()))?;
    Ok(otp[..4].to_owned())
}
