//! The vaccination desk: today's appointments at the caller's centre (masked), check-in with the
//! reference id and the person's 4-digit code, walk-in registration against the on-site share,
//! recording the dose exactly once, adverse events, audited corrections, and break-glass. There
//! is no way here to find a person by mobile, ID number or name: the reference id and the code
//! come from the person.

use crate::access::{self, CheckinFailure, CheckinPolicy, PersonGrant, desk_centre};
use crate::anomaly::{self, AnomalyConfig};
use crate::citizen::{BENEFICIARY_LIMIT, DUPLICATE_PHOTO_ID, IdentityConfig, is_reference_id};
use crate::clock::{current_year_in_india, now_ms, today_in_india};
use crate::error::{AppError, Refusal};
use crate::staff::{FORBIDDEN, Staff, StaffGrant};
use crate::vault::Vault;
use teeka_domain::{BirthYear, Gender, Mobile, PersonName, PhotoId, PhotoIdType, StaffRole};
use teeka_store::Store;
use teeka_store::desk::{
    AefiReport, DeskDose, DoseCorrection, DoseOutcome, Opening, WalkIn, WalkInOutcome,
};
use teeka_store::identity::{BeneficiaryRow, OutboxMessage, SealedColumn};
use uuid::Uuid;

/// Ours: the vaccine differs from the session's (or is unknown).
pub const WRONG_VACCINE: &str = "TKADSK0005";
/// Ours: the dose number does not follow the person's recorded doses.
pub const WRONG_DOSE_NUMBER: &str = "TKADSK0006";
/// Ours: this dose is already recorded.
pub const DOSE_ALREADY_RECORDED: &str = "TKADSK0007";
/// Ours: the session's on-site share for this dose is used up.
pub const NO_ONSITE_SHARE: &str = "TKADSK0008";
/// Ours: no such session at your centre today.
pub const NO_SESSION_HERE: &str = "TKADSK0009";
/// Ours: no such valid dose given at your centre.
pub const NO_DOSE_HERE: &str = "TKADSK0010";
/// Ours: the account was suspended by anomaly detection during this request.
pub const SUSPENDED_NOW: &str = crate::staff::SUSPENDED;

/// Desk settings.
#[derive(Debug, Clone, Copy)]
pub struct DeskConfig {
    /// How long a check-in or walk-in keeps the person open for the desk.
    pub checkin_ttl_ms: i64,
    /// Wrong codes per appointment before it locks for the desk.
    pub max_wrong_codes: i32,
    /// How long a break-glass opening lasts.
    pub break_glass_ttl_ms: i64,
    /// Anomaly thresholds.
    pub anomaly: AnomalyConfig,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            checkin_ttl_ms: 2 * 60 * 60 * 1000,
            max_wrong_codes: 5,
            break_glass_ttl_ms: 60 * 60 * 1000,
            anomaly: AnomalyConfig::default(),
        }
    }
}

/// One line of the day's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    /// Reference id.
    pub reference_id: String,
    /// Slot band.
    pub slot: String,
    /// 1, 2, or 3.
    pub dose: i32,
    /// Name, masked.
    pub name_masked: String,
    /// Checked in.
    pub checked_in: bool,
    /// Dose recorded.
    pub vaccinated: bool,
    /// Locked for the desk after wrong codes.
    pub locked: bool,
}

/// A person opened at the desk, masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    /// Reference id.
    pub reference_id: String,
    /// Name, masked.
    pub name_masked: String,
    /// Year of birth.
    pub birth_year: i32,
    /// Gender.
    pub gender: Gender,
    /// Photo ID kind.
    pub photo_id_type: PhotoIdType,
    /// Photo ID, masked.
    pub photo_id_masked: String,
    /// `checkin`, `walkin` or `breakglass`.
    pub opened_by: String,
    /// The dose due (check-in and walk-in).
    pub dose: Option<i32>,
    /// The session's vaccine (check-in and walk-in).
    pub vaccine: Option<String>,
    /// Valid doses recorded so far.
    pub doses_recorded: usize,
    /// The opening ends (unix ms).
    pub open_until_ms: i64,
}

/// A recorded dose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseView {
    /// Id (for adverse events and corrections).
    pub dose_id: Uuid,
    /// Reference id.
    pub reference_id: String,
    /// 1, 2, …
    pub dose_number: i32,
    /// Vaccine.
    pub vaccine: String,
    /// Batch.
    pub batch: String,
    /// When (unix ms).
    pub given_at_ms: i64,
    /// Who gave it.
    pub vaccinator: String,
}

/// A walk-in as the desk types it in from the photo ID.
#[derive(Debug, Clone)]
pub struct WalkInInput {
    /// The person's (or family's) mobile.
    pub mobile: String,
    /// Name as on the ID.
    pub name: String,
    /// Year of birth.
    pub birth_year: i64,
    /// CoWIN gender id.
    pub gender_id: i64,
    /// CoWIN photo ID kind.
    pub photo_id_type: i64,
    /// The ID number.
    pub photo_id_number: String,
    /// Declared comorbidity.
    pub comorbidity: bool,
    /// Today's session at the centre.
    pub session_id: String,
}

/// A dose to record.
#[derive(Debug, Clone)]
pub struct DoseInput {
    /// Who (checked in at the caller's centre).
    pub reference_id: String,
    /// Which vaccine.
    pub vaccine: String,
    /// Which batch (from the vial).
    pub batch: String,
    /// Which dose number.
    pub dose_number: i32,
}

/// An adverse event to record.
#[derive(Debug, Clone)]
pub struct AefiInput {
    /// Against which dose.
    pub dose_id: String,
    /// `minor`, `severe` or `serious`.
    pub severity: String,
    /// Symptom codes.
    pub symptoms: Vec<String>,
    /// Minutes after the dose the symptoms began.
    pub onset_minutes_after_dose: i64,
    /// Clinical notes (sealed at rest).
    pub notes: Option<String>,
}

/// An audited correction.
#[derive(Debug, Clone)]
pub struct CorrectionInput {
    /// Which dose.
    pub dose_id: String,
    /// Revoke it (recorded in error) instead of correcting it.
    pub revoke: bool,
    /// The right vaccine.
    pub vaccine: Option<String>,
    /// The right batch.
    pub batch: Option<String>,
    /// Why (kept with the correction).
    pub reason: String,
}

/// A break-glass request.
#[derive(Debug, Clone)]
pub struct BreakGlassInput {
    /// The one person.
    pub reference_id: String,
    /// One of [`BREAK_GLASS_REASONS`].
    pub reason_code: String,
    /// What happened (sealed at rest).
    pub reason_text: String,
    /// A fresh authenticator code.
    pub totp: String,
}

/// The reasons break-glass accepts.
pub const BREAK_GLASS_REASONS: [&str; 4] = [
    "medical_emergency",
    "adverse_event_follow_up",
    "code_unavailable",
    "system_failure",
];

/// Symptom codes an adverse-event report accepts.
pub const AEFI_SYMPTOMS: [&str; 12] = [
    "fever",
    "headache",
    "injection_site_pain",
    "injection_site_swelling",
    "fatigue",
    "nausea",
    "dizziness",
    "syncope",
    "rash",
    "allergic_reaction",
    "anaphylaxis",
    "seizure",
];

fn refused(kind: Refusal, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::refused(kind, code, message)
}

fn require(staff: &StaffGrant, roles: &[StaffRole]) -> Result<(), AppError> {
    if roles.contains(&staff.role()) {
        Ok(())
    } else {
        Err(refused(
            Refusal::Forbidden,
            FORBIDDEN,
            "Your role may not do this",
        ))
    }
}

fn suspended_now() -> AppError {
    refused(
        Refusal::Forbidden,
        SUSPENDED_NOW,
        "This account has been suspended pending an administrator's review",
    )
}

/// The desk use cases.
pub struct Desk<'a> {
    /// Storage.
    pub store: &'a Store,
    /// Keys.
    pub vault: &'a Vault,
    /// Identity settings (beneficiaries per mobile).
    pub identity: &'a IdentityConfig,
    /// Desk settings.
    pub config: &'a DeskConfig,
    /// Signs the certificate each recorded dose gets.
    pub issuer: &'a crate::certificates::Issuer,
}

impl Desk<'_> {
    /// After every desk action: the odd-hours signal, then the thresholds. An account that
    /// crossed one is refused the answer of the request that crossed it.
    async fn watch(&self, staff: &StaffGrant) -> Result<(), AppError> {
        anomaly::note_action(self.store, staff.staff_id(), &self.config.anomaly).await?;
        if anomaly::watch(self.store, staff.staff_id(), &self.config.anomaly).await? {
            return Err(suspended_now());
        }
        Ok(())
    }

    /// Today's appointments at the caller's centre: reference id, slot and masked name.
    pub async fn today(
        &self,
        staff: &StaffGrant,
        request_id: &str,
    ) -> Result<Vec<RosterLine>, AppError> {
        let (grant, entries) = access::roster(self.store, staff, request_id).await?;
        self.watch(staff).await?;
        entries
            .iter()
            .map(|e| {
                let name = self.vault.open_person(
                    &grant,
                    e.account_id,
                    e.subject_id,
                    &e.name_sealed,
                    &SealedColumn::BeneficiaryName.bound_to(e.subject_id.as_bytes()),
                )?;
                let name: PersonName = String::from_utf8_lossy(&name).parse()?;
                Ok(RosterLine {
                    reference_id: e.reference_id.clone(),
                    slot: e.slot.clone(),
                    dose: e.dose,
                    name_masked: name.masked(),
                    checked_in: e.checked_in,
                    vaccinated: e.vaccinated,
                    locked: e.desk_locked,
                })
            })
            .collect()
    }

    /// Checks a person in with their reference id and 4-digit code.
    pub async fn check_in(
        &self,
        staff: &StaffGrant,
        reference_id: &str,
        code: &str,
        request_id: &str,
    ) -> Result<PersonView, AppError> {
        let reference_id = reference_id.trim();
        let policy = CheckinPolicy {
            ttl_ms: self.config.checkin_ttl_ms,
            max_wrong_codes: self.config.max_wrong_codes,
        };
        let result = if is_reference_id(reference_id) {
            access::check_in(
                self.store,
                self.vault,
                staff,
                reference_id,
                code,
                &policy,
                request_id,
            )
            .await
        } else {
            Err(CheckinFailure::NotHere)
        };
        if let Err(CheckinFailure::NotHere) = &result {
            self.store
                .note_staff_signal(staff.staff_id(), "outside_centre", now_ms())
                .await?;
        }
        self.watch(staff).await?;
        let (grant, person) = result.map_err(CheckinFailure::into_error)?;
        self.view(&grant, &person).await
    }

    /// A person opened at the desk, masked.
    async fn view(
        &self,
        grant: &PersonGrant,
        person: &BeneficiaryRow,
    ) -> Result<PersonView, AppError> {
        let o = grant.opening();
        let name = self.vault.open_person(
            grant,
            person.account_id,
            person.subject_id,
            &person.name_sealed,
            &SealedColumn::BeneficiaryName.bound_to(person.subject_id.as_bytes()),
        )?;
        let name: PersonName = String::from_utf8_lossy(&name).parse()?;
        let kind = PhotoIdType::from_cowin_id(i64::from(person.photo_id_type))?;
        let number = self.vault.open_person(
            grant,
            person.account_id,
            person.subject_id,
            &person.photo_id_sealed,
            &SealedColumn::BeneficiaryPhotoId.bound_to(person.subject_id.as_bytes()),
        )?;
        let photo_id = PhotoId::parse(kind, &String::from_utf8_lossy(&number))?;
        let vaccine = match o.session_id {
            Some(id) => self
                .store
                .get_session(id)
                .await?
                .map(|s| s.plan.vaccine.as_str().to_owned()),
            None => None,
        };
        let doses = self.store.recorded_doses(&[person.subject_id]).await?;
        Ok(PersonView {
            reference_id: person.reference_id.clone(),
            name_masked: name.masked(),
            birth_year: person.birth_year,
            gender: Gender::from_cowin_id(i64::from(person.gender))?,
            photo_id_type: kind,
            photo_id_masked: photo_id.masked(),
            opened_by: o.kind.clone(),
            dose: o.dose,
            vaccine,
            doses_recorded: doses.len(),
            open_until_ms: o.expires_at,
        })
    }

    /// Registers a walk-in (first dose) against today's session's on-site share and opens them.
    /// Deduplicated by photo ID like online registration; the mobile's holder is told by SMS.
    pub async fn walk_in(
        &self,
        staff: &StaffGrant,
        input: &WalkInInput,
        request_id: &str,
    ) -> Result<PersonView, AppError> {
        let centre = desk_centre(staff).ok_or_else(|| {
            refused(
                Refusal::Forbidden,
                FORBIDDEN,
                "Only staff of a centre register walk-ins",
            )
        })?;
        let mobile: Mobile = input.mobile.parse()?;
        let name: PersonName = input.name.parse()?;
        let birth_year = BirthYear::parse_in(input.birth_year, current_year_in_india())?;
        let gender = Gender::from_cowin_id(input.gender_id)?;
        let kind = PhotoIdType::from_cowin_id(input.photo_id_type)?;
        let photo_id = PhotoId::parse(kind, &input.photo_id_number)?;
        let no_session = || {
            refused(
                Refusal::NotFound,
                NO_SESSION_HERE,
                "No such session at your centre today",
            )
        };
        let session_id: Uuid = input.session_id.trim().parse().map_err(|_| no_session())?;
        let session = self
            .store
            .get_session(session_id)
            .await?
            .ok_or_else(no_session)?;
        let plan = &session.plan;
        if plan.centre_id.0 != centre || plan.date != today_in_india() {
            return Err(no_session());
        }
        let age = plan.date.date().year() - i32::from(birth_year.get());
        if age < i32::from(plan.age.min_age) || plan.age.max_age.is_some_and(|m| age > i32::from(m))
        {
            return Err(refused(
                Refusal::Invalid,
                crate::booking::AGE_OUTSIDE_LIMITS,
                format!("age {age} is outside this session's age limits"),
            ));
        }
        let mobile_index = self
            .vault
            .blind_index(b"mobile", mobile.as_str().as_bytes());
        let subject_id = Uuid::new_v4();
        let new_account = Uuid::new_v4();
        let now = now_ms();
        let sms = self.walk_in_sms(&mobile, &name, plan.centre_id.0, now)?;
        let mut last = WalkInOutcome::ReferenceTaken;
        for _ in 0..5 {
            let reference_id = crate::citizen::new_reference_id()?;
            let w = WalkIn {
                beneficiary: BeneficiaryRow {
                    reference_id: reference_id.clone(),
                    subject_id,
                    account_id: new_account,
                    name_sealed: self.vault.seal(
                        name.as_str().as_bytes(),
                        &SealedColumn::BeneficiaryName.bound_to(subject_id.as_bytes()),
                    )?,
                    photo_id_type: i32::from(kind.cowin_id()),
                    photo_id_index: self
                        .vault
                        .blind_index(b"photo_id", photo_id.number().as_bytes()),
                    photo_id_sealed: self.vault.seal(
                        photo_id.number().as_bytes(),
                        &SealedColumn::BeneficiaryPhotoId.bound_to(subject_id.as_bytes()),
                    )?,
                    birth_year: i32::from(birth_year.get()),
                    gender: i32::from(gender.cowin_id()),
                    comorbidity: input.comorbidity,
                    consent_version: "desk-1".into(),
                    created_at_ms: now,
                },
                mobile_index: mobile_index.clone(),
                mobile_sealed: self.vault.seal(
                    mobile.as_str().as_bytes(),
                    &SealedColumn::AccountMobile.bound_to(&mobile_index),
                )?,
                max_per_account: self.identity.max_beneficiaries,
                opening: Opening {
                    opening_id: Uuid::new_v4(),
                    staff_id: staff.staff_id(),
                    centre_id: centre,
                    subject_id,
                    reference_id,
                    account_id: new_account,
                    appointment_id: None,
                    session_id: Some(session_id),
                    dose: Some(1),
                    kind: "walkin".into(),
                    reason_code: None,
                    reason_sealed: None,
                    created_at: now,
                    expires_at: now + self.config.checkin_ttl_ms,
                    dosed: false,
                },
                sms: sms.clone(),
            };
            let (outcome, grant) = access::walk_in(self.store, staff, &w, request_id).await?;
            self.watch(staff).await?;
            match (outcome, grant) {
                (WalkInOutcome::Opened, Some(_)) => {
                    // The mobile may already have had an account: the stored opening says which.
                    let mut person = w.beneficiary.clone();
                    let grant = access::present(self.store, staff, &person.reference_id).await?;
                    person.account_id = grant.opening().account_id;
                    return self.view(&grant, &person).await;
                }
                (WalkInOutcome::ReferenceTaken, _) => last = WalkInOutcome::ReferenceTaken,
                (other, _) => {
                    last = other;
                    break;
                }
            }
        }
        Err(match last {
            WalkInOutcome::NoSession => no_session(),
            WalkInOutcome::NoShare => refused(
                Refusal::Conflict,
                NO_ONSITE_SHARE,
                "This session's on-site share for the first dose is used up",
            ),
            WalkInOutcome::DuplicateId => refused(
                Refusal::Conflict,
                DUPLICATE_PHOTO_ID,
                "This photo ID is already registered: the person checks in with their reference id and appointment code",
            ),
            WalkInOutcome::AccountFull => refused(
                Refusal::Conflict,
                BENEFICIARY_LIMIT,
                "This mobile already has its maximum number of beneficiaries",
            ),
            _ => AppError::Conflict("could not allocate a reference id; try again".into()),
        })
    }

    /// The SMS that tells a mobile's holder someone was registered on it at a centre.
    fn walk_in_sms(
        &self,
        mobile: &Mobile,
        name: &PersonName,
        centre: i64,
        now: i64,
    ) -> Result<Option<OutboxMessage>, AppError> {
        let message_id = Uuid::new_v4();
        let payload = serde_json::json!({
            "to": mobile.as_str(),
            "template": "walkin",
            "text": format!(
                "{} was registered for vaccination on your mobile at centre {centre}. If this was not you, tell the centre. - Teeka",
                name.masked()
            ),
        });
        Ok(Some(OutboxMessage {
            message_id,
            channel: "sms".into(),
            template: "walkin".into(),
            payload_sealed: self.vault.seal(
                payload.to_string().as_bytes(),
                &SealedColumn::OutboxPayload.bound_to(message_id.as_bytes()),
            )?,
            attempts: 0,
            next_attempt_at_ms: now,
            created_at_ms: now,
        }))
    }

    /// Records the dose for a person checked in at the caller's centre, exactly once.
    pub async fn record_dose(
        &self,
        staff: &StaffGrant,
        input: &DoseInput,
        request_id: &str,
    ) -> Result<DoseView, AppError> {
        require(staff, &[StaffRole::Vaccinator])?;
        let grant = access::present(self.store, staff, input.reference_id.trim()).await?;
        let o = grant.opening().clone();
        let already = || {
            refused(
                Refusal::Conflict,
                DOSE_ALREADY_RECORDED,
                "This dose is already recorded",
            )
        };
        if o.dosed {
            // A retry after the dose was recorded: say so, before the dose-number rule would.
            return Err(already());
        }
        let vaccine = input.vaccine.trim().to_ascii_uppercase();
        let expected_vaccine = match o.session_id {
            Some(id) => self
                .store
                .get_session(id)
                .await?
                .map(|s| s.plan.vaccine.as_str().to_owned()),
            None => None,
        };
        let vaccines = self.store.list_vaccines().await?;
        let primary_doses = vaccines
            .iter()
            .find(|v| v.name.as_str() == vaccine)
            .map(|v| v.primary_doses);
        let known = primary_doses.is_some();
        if !known || expected_vaccine.as_ref().is_some_and(|v| *v != vaccine) {
            return Err(refused(
                Refusal::Unprocessable,
                WRONG_VACCINE,
                format!(
                    "vaccine: expected {}",
                    expected_vaccine.as_deref().unwrap_or("a known vaccine")
                ),
            ));
        }
        let batch = input.batch.trim();
        if batch.is_empty()
            || batch.len() > 32
            || !batch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-/".contains(&b))
        {
            return Err(AppError::BadInput(
                "batch: 1 to 32 letters, digits, '-' or '/'".into(),
            ));
        }
        let history = self.store.recorded_doses(&[o.subject_id]).await?;
        let next = i32::try_from(history.len())
            .unwrap_or(i32::MAX)
            .saturating_add(1);
        let first_vaccine = history
            .iter()
            .find(|d| d.dose_number == 1)
            .map(|d| d.vaccine.clone());
        if o.kind == "breakglass" {
            // Break-glass is for reading in an emergency; a dose needs a check-in or a walk-in,
            // which tie it to a session and its capacity.
            return Err(refused(
                Refusal::Conflict,
                access::NOT_PRESENT,
                "Record doses after a check-in or walk-in, not on a break-glass opening",
            ));
        }
        let due_matches = match o.dose {
            Some(1) => next == 1,
            Some(2) => next == 2,
            // A precaution dose follows a primary series of one or two doses.
            Some(3) => next == 2 || next == 3,
            _ => false,
        };
        if input.dose_number != next || !due_matches {
            return Err(refused(
                Refusal::Conflict,
                WRONG_DOSE_NUMBER,
                format!(
                    "dose_number: {} doses are recorded, so this is dose {next}",
                    history.len()
                ),
            ));
        }
        if next == 2 && first_vaccine.is_some_and(|v| v != vaccine) {
            return Err(refused(
                Refusal::Unprocessable,
                WRONG_VACCINE,
                "vaccine: dose 2 must be the same vaccine as dose 1",
            ));
        }
        let now = now_ms();
        let dose = DeskDose {
            dose_id: Uuid::new_v4(),
            subject_id: o.subject_id,
            dose_number: next,
            vaccine: vaccine.clone(),
            batch: Some(batch.to_owned()),
            given_on: today_in_india(),
            given_at: Some(now),
            centre_id: Some(o.centre_id),
            vaccinator_id: Some(staff.staff_id()),
            appointment_id: o.appointment_id,
            revoked: false,
        };
        let event = grant.event("desk.dose", "recording the dose given", request_id);
        // The certificate is issued with the dose, in its transaction: a dose on record always
        // has one.
        let certificate = self
            .issuer
            .new_certificate(&dose, primary_doses.unwrap_or(2), now)?;
        match self
            .store
            .record_desk_dose(&dose, o.opening_id, &certificate, &event)
            .await?
        {
            DoseOutcome::Recorded => {}
            DoseOutcome::AlreadyRecorded => {
                return Err(refused(
                    Refusal::Conflict,
                    DOSE_ALREADY_RECORDED,
                    "This dose is already recorded",
                ));
            }
        }
        self.watch(staff).await?;
        Ok(DoseView {
            dose_id: dose.dose_id,
            reference_id: o.reference_id,
            dose_number: next,
            vaccine,
            batch: batch.to_owned(),
            given_at_ms: now,
            vaccinator: staff.username().to_owned(),
        })
    }

    /// A valid dose given at the caller's centre.
    async fn dose_here(&self, staff: &StaffGrant, dose_id: &str) -> Result<DeskDose, AppError> {
        let missing = || {
            refused(
                Refusal::NotFound,
                NO_DOSE_HERE,
                "No such dose given at your centre",
            )
        };
        let dose_id: Uuid = dose_id.trim().parse().map_err(|_| missing())?;
        let centre = desk_centre(staff).ok_or_else(missing)?;
        let dose = self.store.desk_dose(dose_id).await?.ok_or_else(missing)?;
        if dose.revoked || dose.centre_id != Some(centre) {
            return Err(missing());
        }
        Ok(dose)
    }

    /// Records an adverse event against a dose given at the caller's centre; its id.
    pub async fn report_aefi(
        &self,
        staff: &StaffGrant,
        input: &AefiInput,
        request_id: &str,
    ) -> Result<Uuid, AppError> {
        require(staff, &[StaffRole::Vaccinator, StaffRole::CentreAdmin])?;
        let dose = self.dose_here(staff, &input.dose_id).await?;
        let severity = input.severity.trim().to_ascii_lowercase();
        if !["minor", "severe", "serious"].contains(&severity.as_str()) {
            return Err(AppError::BadInput(
                "severity: minor, severe or serious".into(),
            ));
        }
        if input.symptoms.is_empty() || input.symptoms.len() > AEFI_SYMPTOMS.len() {
            return Err(AppError::BadInput(
                "symptoms: name at least one symptom code".into(),
            ));
        }
        let mut symptoms = Vec::new();
        for s in &input.symptoms {
            let s = s.trim().to_ascii_lowercase();
            if !AEFI_SYMPTOMS.contains(&s.as_str()) {
                return Err(AppError::BadInput(format!(
                    "symptoms: unknown code; use one of {}",
                    AEFI_SYMPTOMS.join(", ")
                )));
            }
            if !symptoms.contains(&s) {
                symptoms.push(s);
            }
        }
        if !(0..=60 * 24 * 42).contains(&input.onset_minutes_after_dose) {
            return Err(AppError::BadInput(
                "onset_minutes_after_dose: 0 to 60480 (six weeks)".into(),
            ));
        }
        let aefi_id = Uuid::new_v4();
        let notes_sealed = match input.notes.as_deref().map(str::trim) {
            Some(n) if n.chars().count() > 1000 => {
                return Err(AppError::BadInput("notes: at most 1000 characters".into()));
            }
            Some(n) if !n.is_empty() => {
                let mut aad = b"aefi.notes\0".to_vec();
                aad.extend_from_slice(aefi_id.as_bytes());
                Some(self.vault.seal(n.as_bytes(), &aad)?)
            }
            _ => None,
        };
        let given_at = dose.given_at.unwrap_or_else(now_ms);
        let report = AefiReport {
            aefi_id,
            dose_id: dose.dose_id,
            subject_id: dose.subject_id,
            staff_id: staff.staff_id(),
            centre_id: dose.centre_id.unwrap_or_default(),
            severity,
            symptoms: symptoms.join(","),
            onset_at: given_at + input.onset_minutes_after_dose * 60_000,
            notes_sealed,
            reported_at: now_ms(),
        };
        let event = access::staff_event(
            staff.staff_id(),
            staff.role(),
            "desk.aefi",
            "adverse event following immunisation",
            request_id,
        );
        self.store.insert_aefi(&report, &event).await?;
        self.watch(staff).await?;
        Ok(aefi_id)
    }

    /// Corrects or revokes a dose given at the caller's centre (centre administrator), keeping
    /// the before and after with the reason.
    pub async fn correct_dose(
        &self,
        staff: &StaffGrant,
        input: &CorrectionInput,
        request_id: &str,
    ) -> Result<(), AppError> {
        require(staff, &[StaffRole::CentreAdmin])?;
        let dose = self.dose_here(staff, &input.dose_id).await?;
        let reason = input.reason.trim();
        if reason.chars().count() < 10 || reason.chars().count() > 500 {
            return Err(AppError::BadInput("reason: 10 to 500 characters".into()));
        }
        let vaccine = input
            .vaccine
            .as_deref()
            .map(|v| v.trim().to_ascii_uppercase());
        if let Some(v) = &vaccine
            && !self
                .store
                .list_vaccines()
                .await?
                .iter()
                .any(|k| k.name.as_str() == v)
        {
            return Err(refused(
                Refusal::Unprocessable,
                WRONG_VACCINE,
                "vaccine: not a known vaccine",
            ));
        }
        let batch = input.batch.as_deref().map(str::trim).map(str::to_owned);
        if let Some(b) = &batch
            && (b.is_empty()
                || b.len() > 32
                || !b
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-/".contains(&c)))
        {
            return Err(AppError::BadInput(
                "batch: 1 to 32 letters, digits, '-' or '/'".into(),
            ));
        }
        if !input.revoke && vaccine.is_none() && batch.is_none() {
            return Err(AppError::BadInput(
                "a correction names the right vaccine or batch, or revokes the dose".into(),
            ));
        }
        let now = now_ms();
        // A corrected dose gets a new certificate (the old one is revoked in the same
        // transaction); a revoked dose only loses its certificate.
        let reissue = if input.revoke {
            None
        } else {
            let corrected = DeskDose {
                vaccine: vaccine.clone().unwrap_or_else(|| dose.vaccine.clone()),
                ..dose.clone()
            };
            let primary = self
                .store
                .list_vaccines()
                .await?
                .iter()
                .find(|v| v.name.as_str() == corrected.vaccine)
                .map_or(2, |v| v.primary_doses);
            Some(self.issuer.new_certificate(&corrected, primary, now)?)
        };
        let correction = DoseCorrection {
            correction_id: Uuid::new_v4(),
            dose_id: dose.dose_id,
            staff_id: staff.staff_id(),
            revoke: input.revoke,
            reason: reason.to_owned(),
            vaccine,
            batch,
            at: now,
            reissue,
        };
        let event = access::staff_event(
            staff.staff_id(),
            staff.role(),
            if input.revoke {
                "desk.dose_revoked"
            } else {
                "desk.dose_corrected"
            },
            "audited correction of a recorded dose",
            request_id,
        );
        if !self.store.correct_dose(&correction, &event).await? {
            return Err(refused(
                Refusal::NotFound,
                NO_DOSE_HERE,
                "No such dose given at your centre",
            ));
        }
        self.watch(staff).await?;
        Ok(())
    }

    /// Break-glass: one person by reference id, with a reason and a fresh authenticator code,
    /// for 60 minutes; the district administrators are alerted and it is in the person's
    /// access history.
    pub async fn break_glass(
        &self,
        staff: &StaffGrant,
        accounts: &Staff<'_>,
        input: &BreakGlassInput,
        request_id: &str,
    ) -> Result<PersonView, AppError> {
        require(
            staff,
            &[
                StaffRole::Vaccinator,
                StaffRole::Verifier,
                StaffRole::CentreAdmin,
            ],
        )?;
        let reason_code = input.reason_code.trim();
        if !BREAK_GLASS_REASONS.contains(&reason_code) {
            return Err(AppError::BadInput(format!(
                "reason_code: one of {}",
                BREAK_GLASS_REASONS.join(", ")
            )));
        }
        let text = input.reason_text.trim();
        if text.chars().count() < 10 || text.chars().count() > 500 {
            return Err(AppError::BadInput(
                "reason_text: 10 to 500 characters".into(),
            ));
        }
        let reference_id = input.reference_id.trim();
        if !is_reference_id(reference_id) {
            return Err(crate::citizen::not_found());
        }
        let fresh = accounts.fresh_totp(staff, &input.totp).await?;
        let opening_id = Uuid::new_v4();
        let mut aad = b"breakglass.reason\0".to_vec();
        aad.extend_from_slice(opening_id.as_bytes());
        let sealed = self.vault.seal(text.as_bytes(), &aad)?;
        let opened = access::break_glass(
            self.store,
            staff,
            fresh,
            reference_id,
            reason_code,
            sealed,
            opening_id,
            self.config.break_glass_ttl_ms,
            request_id,
        )
        .await;
        self.watch(staff).await?;
        let (grant, person) = opened?;
        tracing::warn!(staff_id = %staff.staff_id(), reason_code, "break-glass opening");
        self.view(&grant, &person).await
    }
}
