//! Access grants: the only way to personal data. A grant is a value that only this module can
//! construct, and every function that reveals or changes a beneficiary's personal data takes one,
//! so code that returns personal data without a grant does not compile.
//!
//! The citizen's grant is an OTP-verified session, covering the beneficiaries registered on that
//! mobile. Staff never hold a grant by signing in: a member of staff at a centre gets a
//! [`PersonGrant`] for one person only by checking them in with the 4-digit code of their
//! appointment at that centre today, by registering them as a walk-in, or by break-glass (a
//! reason, a fresh authenticator code, 60 minutes, an alert). A [`RosterGrant`] lets the desk
//! show the masked names of the people booked at its own centre today. A [`NotificationGrant`]
//! reads the mobiles of the people a breach report found, to tell them.
//!
//! A partner holds a [`PartnerGrant`] only with a live consent the person approved by OTP,
//! presented with the partner's own API key; it acts as the person only through
//! [`PartnerGrant::for_scope`], which checks the scope against the consent, the registry and the
//! kill switch, and stamps every ledger entry with the partner and the consent.

use crate::clock::{now_ms, today_in_india};
use crate::partner::{PartnerCaller, PartnerConfig};
use crate::staff::StaffGrant;
use crate::vault::Vault;
use crate::{AppError, Refusal};
use std::collections::BTreeSet;
use teeka_domain::partner::{Scope, SharedField, parse_set};
use teeka_domain::{Jurisdiction, StaffRole};
use teeka_store::Store;
use teeka_store::desk::{Opening, RosterEntry, WalkIn, WalkInOutcome};
use teeka_store::identity::{AccessEventRecord, BeneficiaryRow};
use teeka_store::partner::ConsentRow;
use uuid::Uuid;

/// Permission to act on the personal data of the beneficiaries of one account, earned with an OTP.
#[derive(Debug, Clone)]
pub struct CitizenGrant {
    account_id: Uuid,
    token_hash: [u8; 32],
    /// Set when a partner acts for the person under a consent.
    on_behalf: Option<OnBehalf>,
}

/// A partner acting for a person, as its ledger entries name it: by its id and the consent's.
/// The consent's purpose is the partner's own free text, so it stays with the consent (which
/// the person sees) and out of the append-only ledger, where text a partner wrote (a mobile
/// number, say) could never be removed.
#[derive(Debug, Clone)]
struct OnBehalf {
    partner_id: Uuid,
    consent_id: Uuid,
}

impl CitizenGrant {
    /// The account the grant covers.
    pub fn account_id(&self) -> Uuid {
        self.account_id
    }

    /// The session's token hash (for logout).
    pub(crate) fn token_hash(&self) -> &[u8; 32] {
        &self.token_hash
    }

    /// The partner acting on the person's behalf, if one is.
    pub fn partner_id(&self) -> Option<Uuid> {
        self.on_behalf.as_ref().map(|p| p.partner_id)
    }

    /// Whether the person acts themselves (not a partner on their behalf).
    pub fn is_the_person(&self) -> bool {
        self.on_behalf.is_none()
    }

    /// An access event by this citizen, or by the partner acting for them (naming the consent).
    pub(crate) fn event(&self, action: &str, purpose: &str, request_id: &str) -> AccessEventRecord {
        if let Some(p) = &self.on_behalf {
            return AccessEventRecord {
                at_ms: now_ms(),
                actor_kind: "partner".into(),
                actor_id: p.partner_id.to_string(),
                role: "partner".into(),
                action: action.into(),
                subject_id: None,
                purpose: format!("consent {}: {purpose}", p.consent_id),
                request_id: request_id.into(),
            };
        }
        AccessEventRecord {
            at_ms: now_ms(),
            actor_kind: "citizen".into(),
            actor_id: self.account_id.to_string(),
            role: "citizen".into(),
            action: action.into(),
            subject_id: None,
            purpose: purpose.into(),
            request_id: request_id.into(),
        }
    }
}

/// Marker trait for every kind of grant: what [`crate::vault::Vault::open`] demands.
pub trait Grant: sealed::Sealed {
    /// Whether the grant covers data belonging to `owner` (an account id) and, for data of one
    /// person, `subject` (their pseudonymous id).
    fn covers(&self, owner: Uuid, subject: Option<Uuid>) -> bool;
}

impl Grant for CitizenGrant {
    fn covers(&self, owner: Uuid, _subject: Option<Uuid>) -> bool {
        self.account_id == owner
    }
}

/// Permission for staff at one centre to act on one person for a short while.
#[derive(Debug, Clone)]
pub struct PersonGrant {
    opening: Opening,
    /// Who acts with the grant now (not necessarily who opened the person).
    actor: Uuid,
    role: StaffRole,
}

impl PersonGrant {
    /// The opening behind the grant (its kind, session, dose and expiry).
    pub fn opening(&self) -> &Opening {
        &self.opening
    }

    /// An access event by the member of staff holding the grant, about its person.
    pub(crate) fn event(&self, action: &str, purpose: &str, request_id: &str) -> AccessEventRecord {
        staff_event(self.actor, self.role, action, purpose, request_id)
    }
}

impl Grant for PersonGrant {
    fn covers(&self, owner: Uuid, subject: Option<Uuid>) -> bool {
        // One person: data of the account as a whole (the mobile) is not covered.
        owner == self.opening.account_id && subject == Some(self.opening.subject_id)
    }
}

/// Permission to show the masked names of the people booked at one centre on one day.
#[derive(Debug, Clone)]
pub struct RosterGrant {
    subjects: Vec<(Uuid, Uuid)>,
}

impl Grant for RosterGrant {
    fn covers(&self, owner: Uuid, subject: Option<Uuid>) -> bool {
        subject.is_some_and(|s| self.subjects.contains(&(owner, s)))
    }
}

/// Permission to read the mobiles of the accounts of people a breach report found, only to tell
/// them (the Digital Personal Data Protection Act's duty to notify each affected person).
#[derive(Debug, Clone)]
pub struct NotificationGrant {
    accounts: Vec<Uuid>,
}

impl Grant for NotificationGrant {
    fn covers(&self, owner: Uuid, _subject: Option<Uuid>) -> bool {
        self.accounts.contains(&owner)
    }
}

/// Mints the grant to notify the accounts of people a breach report lists: the people come from
/// the ledger (the events of one actor), never from an identifier anyone typed.
pub(crate) fn breach_notification(
    people: &[teeka_store::ledger::AffectedPerson],
) -> NotificationGrant {
    NotificationGrant {
        accounts: people.iter().map(|p| p.account_id).collect(),
    }
}

mod sealed {
    /// Nobody outside this module can declare a new kind of grant.
    pub trait Sealed {}
    impl Sealed for super::CitizenGrant {}
    impl Sealed for super::PersonGrant {}
    impl Sealed for super::RosterGrant {}
    impl Sealed for super::NotificationGrant {}
    impl Sealed for super::PartnerGrant {}
}

/// An access event by a member of staff.
pub(crate) fn staff_event(
    staff_id: Uuid,
    role: StaffRole,
    action: &str,
    purpose: &str,
    request_id: &str,
) -> AccessEventRecord {
    AccessEventRecord {
        at_ms: now_ms(),
        actor_kind: "staff".into(),
        actor_id: staff_id.to_string(),
        role: role.as_str().into(),
        action: action.into(),
        subject_id: None,
        purpose: purpose.into(),
        request_id: request_id.into(),
    }
}

/// Ours: no appointment for that reference id at this centre today, or the wrong code (one
/// answer, so the desk learns nothing about people booked elsewhere).
pub const NO_CHECKIN: &str = "TKADSK0001";
/// Ours: the appointment is locked for the desk after too many wrong codes.
pub const CHECKIN_LOCKED: &str = "TKADSK0002";
/// Ours: the person is not checked in at this centre (or the check-in expired).
pub const NOT_PRESENT: &str = "TKADSK0003";
/// Ours: break-glass refused (the authenticator code is wrong or was used before).
pub const BREAK_GLASS_REFUSED: &str = "TKADSK0004";

fn no_checkin() -> AppError {
    AppError::refused(
        Refusal::NotFound,
        NO_CHECKIN,
        "No appointment with that reference id and code at this centre today",
    )
}

/// The centre a desk member of staff works at; `None` for other roles.
pub(crate) fn desk_centre(staff: &StaffGrant) -> Option<i64> {
    match staff.jurisdiction() {
        Jurisdiction::Centre(c, _, _) => Some(c.0),
        _ => None,
    }
}

/// What a check-in needs besides the staff member.
pub(crate) struct CheckinPolicy {
    /// How long the person stays open.
    pub ttl_ms: i64,
    /// Wrong codes before the appointment locks.
    pub max_wrong_codes: i32,
}

/// Checks a person in: their live appointment at the staff member's centre today and its
/// 4-digit code. A wrong code counts against the appointment (and the account); a person booked
/// elsewhere, or not at all, looks exactly like a wrong code.
pub(crate) async fn check_in(
    store: &Store,
    vault: &Vault,
    staff: &StaffGrant,
    reference_id: &str,
    code: &str,
    policy: &CheckinPolicy,
    request_id: &str,
) -> Result<(PersonGrant, BeneficiaryRow), CheckinFailure> {
    let centre = desk_centre(staff).ok_or(CheckinFailure::Refused(no_checkin()))?;
    let now = now_ms();
    let Some(target) = store
        .checkin_target(reference_id, centre, today_in_india())
        .await
        .map_err(|e| CheckinFailure::Refused(e.into()))?
    else {
        return Err(CheckinFailure::NotHere);
    };
    if target.desk_locked {
        return Err(CheckinFailure::Refused(AppError::refused(
            Refusal::TooMany,
            CHECKIN_LOCKED,
            "This appointment is locked for the desk after too many wrong codes; an administrator has been alerted",
        )));
    }
    let expected = vault
        .open_unchecked(
            &target.code_sealed,
            &crate::booking::appointment_code_binding(target.appointment_id),
        )
        .map_err(CheckinFailure::Refused)?;
    let given = code.trim().as_bytes();
    if !teeka_crypto::constant_time_eq(&expected, given) {
        let (_, locked) = store
            .note_wrong_code(
                target.appointment_id,
                staff.staff_id(),
                now,
                policy.max_wrong_codes,
            )
            .await
            .map_err(|e| CheckinFailure::Refused(e.into()))?;
        return Err(CheckinFailure::WrongCode { locked });
    }
    let opening = Opening {
        opening_id: Uuid::new_v4(),
        staff_id: staff.staff_id(),
        centre_id: centre,
        subject_id: target.subject_id,
        reference_id: reference_id.to_owned(),
        account_id: target.account_id,
        appointment_id: Some(target.appointment_id),
        session_id: Some(target.session_id),
        dose: Some(target.dose),
        kind: "checkin".into(),
        reason_code: None,
        reason_sealed: None,
        created_at: now,
        expires_at: now + policy.ttl_ms,
        dosed: false,
    };
    let event = staff_event(
        staff.staff_id(),
        staff.role(),
        "desk.checkin",
        "check-in with the appointment code for vaccination",
        request_id,
    );
    let person = store
        .open_person(&opening, &event, None)
        .await
        .map_err(|e| CheckinFailure::Refused(e.into()))?
        .ok_or(CheckinFailure::NotHere)?;
    Ok((
        PersonGrant {
            opening,
            actor: staff.staff_id(),
            role: staff.role(),
        },
        person,
    ))
}

/// Why a check-in failed.
pub(crate) enum CheckinFailure {
    /// Nobody by that reference id is booked at this centre today.
    NotHere,
    /// The code is wrong; whether the appointment is now locked.
    WrongCode {
        /// Locked after this attempt.
        locked: bool,
    },
    /// Refused for another reason, or failed.
    Refused(AppError),
}

impl CheckinFailure {
    /// The error the caller sees: "not here" and "wrong code" look the same.
    pub(crate) fn into_error(self) -> AppError {
        match self {
            CheckinFailure::NotHere | CheckinFailure::WrongCode { locked: false } => no_checkin(),
            CheckinFailure::WrongCode { locked: true } => AppError::refused(
                Refusal::TooMany,
                CHECKIN_LOCKED,
                "Too many wrong codes: this appointment is now locked for the desk and an administrator has been alerted",
            ),
            CheckinFailure::Refused(e) => e,
        }
    }
}

/// Registers a walk-in and opens them: the grant comes only with a new registration.
pub(crate) async fn walk_in(
    store: &Store,
    staff: &StaffGrant,
    w: &WalkIn,
    request_id: &str,
) -> Result<(WalkInOutcome, Option<PersonGrant>), AppError> {
    let event = staff_event(
        staff.staff_id(),
        staff.role(),
        "desk.walkin",
        "walk-in registration at the centre, with the photo ID shown",
        request_id,
    );
    let outcome = store.walk_in(w, &event).await?;
    let grant = (outcome == WalkInOutcome::Opened).then(|| {
        let mut opening = w.opening.clone();
        opening.subject_id = w.beneficiary.subject_id;
        opening.reference_id = w.beneficiary.reference_id.clone();
        PersonGrant {
            opening,
            actor: staff.staff_id(),
            role: staff.role(),
        }
    });
    Ok((outcome, grant))
}

/// The grant for a person already opened at the staff member's centre (checked in, walked in
/// or opened by break-glass) and not yet expired.
pub(crate) async fn present(
    store: &Store,
    staff: &StaffGrant,
    reference_id: &str,
) -> Result<PersonGrant, AppError> {
    let absent = || {
        AppError::refused(
            Refusal::NotFound,
            NOT_PRESENT,
            "This person is not checked in at your centre (or the check-in expired)",
        )
    };
    let centre = desk_centre(staff).ok_or_else(absent)?;
    let opening = store
        .live_opening(centre, reference_id, now_ms())
        .await?
        .ok_or_else(absent)?;
    Ok(PersonGrant {
        opening,
        actor: staff.staff_id(),
        role: staff.role(),
    })
}

/// Break-glass: one person by reference id, with a reason and a fresh authenticator code, for
/// `ttl_ms`; the district's administrators are alerted at once and the opening is in the
/// person's access history.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn break_glass(
    store: &Store,
    staff: &StaffGrant,
    fresh_totp: bool,
    reference_id: &str,
    reason_code: &str,
    reason_sealed: Vec<u8>,
    opening_id: Uuid,
    ttl_ms: i64,
    request_id: &str,
) -> Result<(PersonGrant, BeneficiaryRow), AppError> {
    if !fresh_totp {
        return Err(AppError::refused(
            Refusal::Unauthorized,
            BREAK_GLASS_REFUSED,
            "Break-glass needs a fresh authenticator code",
        ));
    }
    let centre = desk_centre(staff).ok_or_else(no_checkin)?;
    let (subject_id, account_id) = store
        .subject_of_reference(reference_id)
        .await?
        .ok_or_else(crate::citizen::not_found)?;
    let now = now_ms();
    let opening = Opening {
        opening_id,
        staff_id: staff.staff_id(),
        centre_id: centre,
        subject_id,
        reference_id: reference_id.to_owned(),
        account_id,
        appointment_id: None,
        session_id: None,
        dose: None,
        kind: "breakglass".into(),
        reason_code: Some(reason_code.to_owned()),
        reason_sealed: Some(reason_sealed),
        created_at: now,
        expires_at: now + ttl_ms,
        dosed: false,
    };
    let event = staff_event(
        staff.staff_id(),
        staff.role(),
        "desk.break_glass",
        &format!("break-glass: {reason_code}"),
        request_id,
    );
    let detail = format!(
        "break-glass by {} at centre {centre} for one person (reason {reason_code}); opening {opening_id}",
        staff.username()
    );
    let person = store
        .open_person(&opening, &event, Some(("desk.break_glass", &detail)))
        .await?
        .ok_or_else(crate::citizen::not_found)?;
    Ok((
        PersonGrant {
            opening,
            actor: staff.staff_id(),
            role: staff.role(),
        },
        person,
    ))
}

/// The day's roster at the staff member's centre, with the grant to show its masked names;
/// one access event per person listed.
pub(crate) async fn roster(
    store: &Store,
    staff: &StaffGrant,
    request_id: &str,
) -> Result<(RosterGrant, Vec<RosterEntry>), AppError> {
    let centre = desk_centre(staff).ok_or_else(|| {
        AppError::refused(
            Refusal::Forbidden,
            crate::staff::FORBIDDEN,
            "Only staff of a centre have a roster",
        )
    })?;
    let event = staff_event(
        staff.staff_id(),
        staff.role(),
        "desk.roster",
        "today's appointments at the centre",
        request_id,
    );
    let entries = store.desk_roster(centre, today_in_india(), &event).await?;
    let subjects = entries
        .iter()
        .map(|e| (e.account_id, e.subject_id))
        .collect();
    Ok((RosterGrant { subjects }, entries))
}

/// Checks a citizen's bearer token; the grant for its account, or `Unauthenticated`.
pub async fn citizen_grant(store: &Store, token: &str) -> Result<CitizenGrant, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let token_hash = teeka_crypto::sha256(token.as_bytes());
    match store.session_account(&token_hash, now_ms()).await? {
        Some(account_id) => Ok(CitizenGrant {
            account_id,
            token_hash,
            on_behalf: None,
        }),
        None => Err(AppError::Unauthenticated),
    }
}

/// Ours: the partner's token is missing, expired, revoked, or not this partner's.
pub const PARTNER_TOKEN_INVALID: &str = "TKAPTN0004";
/// Ours: the consent (or the partner's registration, or the kill switch) does not allow this.
pub const SCOPE_NOT_ALLOWED: &str = "TKAPTN0005";

/// Permission for one partner to act for one person, within one consent the person approved by
/// OTP: only the approved scopes and fields, until the consent ends or is revoked.
#[derive(Debug, Clone)]
pub struct PartnerGrant {
    caller: PartnerCaller,
    consent: ConsentRow,
    scopes: BTreeSet<Scope>,
    fields: BTreeSet<SharedField>,
    token_hash: [u8; 32],
}

impl Grant for PartnerGrant {
    fn covers(&self, owner: Uuid, _subject: Option<Uuid>) -> bool {
        self.consent.account_id == owner
    }
}

impl PartnerGrant {
    /// The partner.
    pub fn caller(&self) -> &PartnerCaller {
        &self.caller
    }

    /// The consent.
    pub fn consent_id(&self) -> Uuid {
        self.consent.consent_id
    }

    /// The account the consent covers.
    pub(crate) fn account_id(&self) -> Uuid {
        self.consent.account_id
    }

    /// The fields the person approved (and the registry still allows).
    pub fn fields(&self) -> &BTreeSet<SharedField> {
        &self.fields
    }

    /// Acts as the person for `scope`: refused unless the consent approved it, the partner's
    /// registration still allows it, and no kill switch covers it.
    pub fn for_scope(&self, scope: Scope) -> Result<CitizenGrant, AppError> {
        if !self.scopes.contains(&scope) || !self.caller.may(scope) {
            return Err(AppError::refused(
                Refusal::Forbidden,
                SCOPE_NOT_ALLOWED,
                format!("This consent does not allow {scope}, or it is switched off"),
            ));
        }
        Ok(CitizenGrant {
            account_id: self.consent.account_id,
            token_hash: self.token_hash,
            on_behalf: Some(OnBehalf {
                partner_id: self.consent.partner_id,
                consent_id: self.consent.consent_id,
            }),
        })
    }
}

/// Checks a partner's bearer token: the grant of its live consent, counted against the
/// partner's quota and anomaly thresholds.
pub async fn partner_grant(
    store: &Store,
    caller: &PartnerCaller,
    token: &str,
    config: &PartnerConfig,
) -> Result<PartnerGrant, AppError> {
    let invalid = || {
        AppError::refused(
            Refusal::Unauthorized,
            PARTNER_TOKEN_INVALID,
            "The token is missing, expired or revoked; ask the person to approve again",
        )
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(invalid());
    }
    let token_hash = teeka_crypto::sha256(token.as_bytes());
    let consent = store
        .partner_consent(&token_hash, caller.partner_id(), now_ms())
        .await?
        .ok_or_else(invalid)?;
    caller
        .count(store, Some(consent.account_id), config)
        .await?;
    let scopes = parse_set(&consent.scopes, "scopes")?;
    let fields = parse_set::<SharedField>(&consent.fields, "fields")?
        .intersection(caller.allowed_fields())
        .copied()
        .collect();
    Ok(PartnerGrant {
        caller: caller.clone(),
        consent,
        scopes,
        fields,
        token_hash,
    })
}
