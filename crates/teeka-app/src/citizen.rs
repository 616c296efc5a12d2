//! The citizen's side of identity: OTP login (CoWIN's public and portal flows), sessions, and the
//! beneficiaries registered on a mobile. Nobody learns whether a number or an ID is registered
//! without the OTP: sending an OTP never looks at registrations, and every refusal about someone
//! else's data looks exactly like "does not exist".

use crate::access::CitizenGrant;
use crate::clock::{current_year_in_india, now_ms};
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use std::net::IpAddr;
use std::time::Duration;
use teeka_domain::{BirthYear, Gender, Mobile, PersonName, PhotoId, PhotoIdType};
use teeka_store::Store;
use teeka_store::identity::{
    BeneficiaryRow, NewOtp, OtpAttempt, OtpConfirmOutcome, OtpLimits, OtpSendOutcome,
    OutboxMessage, RegisterOutcome, SealedColumn,
};
use uuid::Uuid;

/// CoWIN's code for a wrong OTP.
pub const INVALID_OTP: &str = "USRAUT0014";
/// Ours: too soon after the last OTP to this mobile.
pub const OTP_COOLDOWN: &str = "TKAOTP0001";
/// Ours: this mobile's OTP allowance (5 an hour, 10 a day) is used up.
pub const OTP_MOBILE_LIMIT: &str = "TKAOTP0002";
/// Ours: this network's OTP allowance is used up.
pub const OTP_IP_LIMIT: &str = "TKAOTP0003";
/// Ours: the OTP expired; ask for a new one.
pub const OTP_EXPIRED: &str = "TKAOTP0004";
/// Ours: the transaction is unknown, used, or void after too many wrong OTPs.
pub const OTP_TXN_INVALID: &str = "TKAOTP0005";
/// Ours: too many wrong OTPs for this mobile today.
pub const OTP_FAILURE_LIMIT: &str = "TKAOTP0006";
/// Ours: too many wrong OTPs from this network this hour (guessing across numbers).
pub const OTP_IP_FAILURE_LIMIT: &str = "TKAOTP0007";
/// Ours: the account already has its maximum number of beneficiaries.
pub const BENEFICIARY_LIMIT: &str = "TKABEN0001";
/// Ours: this photo ID is already registered (we do not say where).
pub const DUPLICATE_PHOTO_ID: &str = "TKABEN0002";
/// Ours: too many duplicate-ID refusals for this account today.
pub const DUPLICATE_LIMIT: &str = "TKABEN0004";
/// Ours: no such beneficiary on this account.
pub const BENEFICIARY_NOT_FOUND: &str = "TKABEN0003";

/// Identity settings.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// How long an OTP is valid (CoWIN: 180 s).
    pub otp_ttl: Duration,
    /// How long a session lives (CoWIN: 15 minutes).
    pub session_ttl: Duration,
    /// Beneficiaries per mobile (CoWIN: 4, later 6).
    pub max_beneficiaries: i64,
    /// OTP limits.
    pub limits: OtpLimits,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            otp_ttl: Duration::from_secs(180),
            session_ttl: Duration::from_secs(15 * 60),
            max_beneficiaries: 4,
            limits: OtpLimits {
                sends_per_hour: 5,
                sends_per_day: 10,
                resend_cooldown_ms: 30_000,
                ip_sends_per_hour: 60,
                failures_per_day: 10,
                wrong_attempts_per_txn: 3,
                ip_failures_per_hour: 30,
            },
        }
    }
}

/// What the identity use cases need.
pub struct Identity<'a> {
    /// Storage.
    pub store: &'a Store,
    /// Keys.
    pub vault: &'a Vault,
    /// Settings.
    pub config: &'a IdentityConfig,
}

/// The OTP SMS, in CoWIN's wording.
pub fn otp_text(otp: &str) -> String {
    format!("Your OTP to register/access Teeka is {otp}. It will be valid for 3 minutes. - Teeka")
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The keyed hash stored for an OTP: bound to its transaction, over the SHA-256 hex the client sends.
fn otp_hash(vault: &Vault, txn_id: Uuid, otp_sha256_hex: &str) -> Vec<u8> {
    let mut material = txn_id.as_bytes().to_vec();
    material.extend_from_slice(otp_sha256_hex.trim().to_ascii_lowercase().as_bytes());
    vault.otp_hash(&material)
}

/// A beneficiary as the citizen sees it: personal data masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeneficiaryView {
    /// CoWIN's reference id.
    pub reference_id: String,
    /// Name, masked.
    pub name_masked: String,
    /// Year of birth.
    pub birth_year: i32,
    /// Gender.
    pub gender: Gender,
    /// Photo ID kind.
    pub photo_id_type: PhotoIdType,
    /// Photo ID number, masked (`XXXXXXXX1234`).
    pub photo_id_masked: String,
    /// Mobile, masked (`******1234`).
    pub mobile_masked: String,
    /// Comorbidity declared.
    pub comorbidity: bool,
    /// Live appointments, each with the 4-digit code the desk will ask for.
    pub appointments: Vec<AppointmentView>,
}

/// A live appointment as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentView {
    /// The appointment (CoWIN's `appointment_id`).
    pub appointment_id: Uuid,
    /// The session.
    pub session_id: Uuid,
    /// The centre.
    pub centre_id: i64,
    /// The centre's name.
    pub centre_name: String,
    /// The day.
    pub date: teeka_domain::CowinDate,
    /// The slot band.
    pub slot: String,
    /// Which dose.
    pub dose: i32,
    /// The 4-digit code (shown to the citizen only; never in any staff listing).
    pub code: String,
}

/// A registration as a client sends it (CoWIN's `beneficiary/new`), not yet parsed.
#[derive(Debug, Clone)]
pub struct NewBeneficiaryInput {
    /// Name as on the ID.
    pub name: String,
    /// Year of birth.
    pub birth_year: i64,
    /// CoWIN gender id.
    pub gender_id: i64,
    /// CoWIN photo ID type id.
    pub photo_id_type: i64,
    /// The ID number.
    pub photo_id_number: String,
    /// Comorbidity declared ("Y"/"N" in CoWIN).
    pub comorbidity: bool,
    /// Consent text version.
    pub consent_version: String,
}

impl Identity<'_> {
    /// Sends an OTP to `mobile`. The answer depends only on the limits, never on whether the
    /// number is registered, and does the same work either way.
    pub async fn send_otp(&self, mobile: &Mobile, client_ip: IpAddr) -> Result<Uuid, AppError> {
        self.send_otp_with(mobile, client_ip, otp_text, None).await
    }

    /// Where an OTP request is counted, and under which limits. A citizen's by their network,
    /// under the per-IP limits. A partner's by the partner: its server asks for many people
    /// from one address, so the per-IP limits would cap every partner at a household's share
    /// and let one user's typos lock all of them out. Its sends are bounded by its own quotas
    /// and anomaly rules instead; its wrong OTPs by ten times a network's share an hour, so a
    /// leaked partner key cannot guess OTPs at the rate of its quota. The per-mobile limits
    /// protect each person from everyone alike.
    fn counted_as(&self, client_ip: IpAddr, partner: Option<Uuid>) -> (Vec<u8>, OtpLimits) {
        match partner {
            None => (
                self.vault
                    .blind_index(b"client_ip", ip_bucket(client_ip).as_bytes()),
                self.config.limits,
            ),
            Some(partner) => (
                self.vault.blind_index(b"partner", partner.as_bytes()),
                OtpLimits {
                    ip_sends_per_hour: i64::MAX,
                    ip_failures_per_hour: self
                        .config
                        .limits
                        .ip_failures_per_hour
                        .saturating_mul(10),
                    ..self.config.limits
                },
            ),
        }
    }

    /// Sends an OTP whose SMS reads `text(otp)`; with a partner's consent request, the OTP
    /// approves that request (and nothing else).
    pub(crate) async fn send_otp_with(
        &self,
        mobile: &Mobile,
        client_ip: IpAddr,
        text: impl Fn(&str) -> String,
        consent_request: Option<teeka_store::partner::ConsentRequestRow>,
    ) -> Result<Uuid, AppError> {
        let now = now_ms();
        let txn_id = Uuid::new_v4();
        let otp = teeka_crypto::generate_otp().map_err(|e| AppError::Crypto(e.to_string()))?;
        let payload = serde_json::json!({
            "to": mobile.as_str(),
            "template": "otp",
            "text": text(&otp),
            "otp": otp,
        });
        let (counted_as, limits) =
            self.counted_as(client_ip, consent_request.as_ref().map(|r| r.partner_id));
        let message_id = Uuid::new_v4();
        let mobile_index = self
            .vault
            .blind_index(b"mobile", mobile.as_str().as_bytes());
        let sms = OutboxMessage {
            message_id,
            channel: "sms".into(),
            template: "otp".into(),
            payload_sealed: self.vault.seal(
                payload.to_string().as_bytes(),
                &SealedColumn::OutboxPayload.bound_to(message_id.as_bytes()),
            )?,
            attempts: 0,
            next_attempt_at_ms: now,
            created_at_ms: now,
        };
        let new = NewOtp {
            txn_id,
            mobile_sealed: self.vault.seal(
                mobile.as_str().as_bytes(),
                &SealedColumn::AccountMobile.bound_to(&mobile_index),
            )?,
            mobile_index,
            otp_hash: otp_hash(self.vault, txn_id, &teeka_crypto::sha256_hex(&otp)),
            ip_bucket: counted_as,
            now_ms: now,
            expires_at_ms: now + millis(self.config.otp_ttl),
            sms,
            consent_request: consent_request.map(|mut r| {
                r.txn_id = txn_id;
                r
            }),
        };
        match self.store.otp_send(&new, &limits).await? {
            OtpSendOutcome::Sent => Ok(txn_id),
            OtpSendOutcome::Cooldown => Err(AppError::refused(
                Refusal::TooMany,
                OTP_COOLDOWN,
                "An OTP was sent moments ago; wait before asking for another",
            )),
            OtpSendOutcome::MobileLimit => Err(AppError::refused(
                Refusal::TooMany,
                OTP_MOBILE_LIMIT,
                "Too many OTPs for this mobile number; try again later",
            )),
            OtpSendOutcome::IpLimit => Err(AppError::refused(
                Refusal::TooMany,
                OTP_IP_LIMIT,
                "Too many OTPs from this network; try again later",
            )),
        }
    }

    /// Confirms an OTP (the client sends its SHA-256 hex); a session token on success, and
    /// whether the account is new.
    pub async fn confirm_otp(
        &self,
        txn_id: Uuid,
        otp_sha256_hex: &str,
        client_ip: IpAddr,
        request_id: &str,
    ) -> Result<(String, bool), AppError> {
        let token = teeka_crypto::random_token().map_err(|e| AppError::Crypto(e.to_string()))?;
        self.confirm_otp_with(txn_id, otp_sha256_hex, client_ip, request_id, token, None)
            .await
    }

    /// Confirms an OTP, issuing `token`: a citizen session, or, with `consent`, the partner
    /// token of that consent (the transaction must be the partner's request for it).
    pub(crate) async fn confirm_otp_with(
        &self,
        txn_id: Uuid,
        otp_sha256_hex: &str,
        client_ip: IpAddr,
        request_id: &str,
        token: String,
        consent: Option<teeka_store::partner::ConsentIssue>,
    ) -> Result<(String, bool), AppError> {
        let hex = otp_sha256_hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::refused(
                Refusal::Invalid,
                INVALID_OTP,
                "Invalid OTP",
            ));
        }
        let now = now_ms();
        let (counted_as, limits) =
            self.counted_as(client_ip, consent.as_ref().map(|c| c.request.partner_id));
        let attempt = OtpAttempt {
            txn_id,
            otp_hash: otp_hash(self.vault, txn_id, hex),
            now_ms: now,
            new_account_id: Uuid::new_v4(),
            session_token_hash: teeka_crypto::sha256(token.as_bytes()).to_vec(),
            ip_bucket: counted_as,
            session_expires_at_ms: now + millis(self.config.session_ttl),
            request_id: request_id.to_owned(),
            consent,
        };
        match self.store.otp_confirm(&attempt, &limits).await? {
            OtpConfirmOutcome::Confirmed { new_account, .. } => Ok((token, new_account)),
            OtpConfirmOutcome::Wrong => Err(AppError::refused(
                Refusal::Invalid,
                INVALID_OTP,
                "Invalid OTP",
            )),
            OtpConfirmOutcome::Voided => Err(AppError::refused(
                Refusal::Invalid,
                OTP_TXN_INVALID,
                "Invalid OTP; too many attempts, ask for a new OTP",
            )),
            OtpConfirmOutcome::Expired => Err(AppError::refused(
                Refusal::Invalid,
                OTP_EXPIRED,
                "OTP expired; ask for a new OTP",
            )),
            OtpConfirmOutcome::Invalid => Err(AppError::refused(
                Refusal::Invalid,
                OTP_TXN_INVALID,
                "Unknown or already used transaction; ask for a new OTP",
            )),
            OtpConfirmOutcome::TooManyFailuresFromHere => Err(AppError::refused(
                Refusal::TooMany,
                OTP_IP_FAILURE_LIMIT,
                "Too many wrong OTPs from this network; try again later",
            )),
            OtpConfirmOutcome::TooManyFailures => Err(AppError::refused(
                Refusal::TooMany,
                OTP_FAILURE_LIMIT,
                "Too many wrong OTPs for this mobile number today",
            )),
        }
    }

    /// Ends the grant's session.
    pub async fn logout(&self, grant: &CitizenGrant) -> Result<(), AppError> {
        self.store.revoke_session(grant.token_hash()).await?;
        Ok(())
    }

    /// Registers a beneficiary on the grant's account; its 14-digit reference id.
    pub async fn register(
        &self,
        grant: &CitizenGrant,
        input: &NewBeneficiaryInput,
        request_id: &str,
    ) -> Result<String, AppError> {
        let name: PersonName = input.name.parse()?;
        let birth_year = BirthYear::parse_in(input.birth_year, current_year_in_india())?;
        let gender = Gender::from_cowin_id(input.gender_id)?;
        let kind = PhotoIdType::from_cowin_id(input.photo_id_type)?;
        let photo_id = PhotoId::parse(kind, &input.photo_id_number)?;
        let consent_version = input.consent_version.trim();
        if consent_version.is_empty() || consent_version.len() > 20 {
            return Err(AppError::BadInput(
                "consent_version: the version of the consent text accepted is required".into(),
            ));
        }
        // One ID number registers one person nationwide, whatever its kind was declared as.
        let photo_id_index = self
            .vault
            .blind_index(b"photo_id", photo_id.number().as_bytes());
        // Sealed values are bound to their person: copied onto someone else's row, they do not open.
        let subject_id = Uuid::new_v4();
        let name_sealed = self.vault.seal(
            name.as_str().as_bytes(),
            &SealedColumn::BeneficiaryName.bound_to(subject_id.as_bytes()),
        )?;
        let photo_id_sealed = self.vault.seal(
            photo_id.number().as_bytes(),
            &SealedColumn::BeneficiaryPhotoId.bound_to(subject_id.as_bytes()),
        )?;
        for _ in 0..5 {
            let row = BeneficiaryRow {
                reference_id: new_reference_id()?,
                subject_id,
                account_id: grant.account_id(),
                name_sealed: name_sealed.clone(),
                photo_id_type: i32::from(kind.cowin_id()),
                photo_id_index: photo_id_index.clone(),
                photo_id_sealed: photo_id_sealed.clone(),
                birth_year: i32::from(birth_year.get()),
                gender: i32::from(gender.cowin_id()),
                comorbidity: input.comorbidity,
                consent_version: consent_version.to_owned(),
                created_at_ms: now_ms(),
            };
            let event = grant.event(
                "beneficiary.register",
                "registration by the beneficiary's mobile holder",
                request_id,
            );
            let mut event = event;
            event.subject_id = Some(row.subject_id);
            match self
                .store
                .register_beneficiary(&row, self.config.max_beneficiaries, &event)
                .await?
            {
                RegisterOutcome::Registered => return Ok(row.reference_id),
                RegisterOutcome::AccountFull => {
                    return Err(AppError::refused(
                        Refusal::Conflict,
                        BENEFICIARY_LIMIT,
                        format!(
                            "A mobile number can register at most {} people",
                            self.config.max_beneficiaries
                        ),
                    ));
                }
                RegisterOutcome::DuplicateId => {
                    return Err(AppError::refused(
                        Refusal::Conflict,
                        DUPLICATE_PHOTO_ID,
                        "This photo ID is already registered",
                    ));
                }
                RegisterOutcome::TooManyDuplicates => {
                    return Err(AppError::refused(
                        Refusal::TooMany,
                        DUPLICATE_LIMIT,
                        "Too many registrations refused today; try again tomorrow",
                    ));
                }
                RegisterOutcome::ReferenceTaken => continue,
            }
        }
        Err(AppError::Crypto(
            "could not draw a free reference id".into(),
        ))
    }

    /// The grant's beneficiaries, masked; each read is on the ledger.
    pub async fn beneficiaries(
        &self,
        grant: &CitizenGrant,
        request_id: &str,
    ) -> Result<Vec<BeneficiaryView>, AppError> {
        let event = grant.event(
            "beneficiary.read",
            "the beneficiary's mobile holder viewed their registrations",
            request_id,
        );
        own_beneficiaries(self.store, self.vault, grant, &event).await
    }

    /// Deletes one of the grant's beneficiaries. Someone else's beneficiary and a reference id
    /// that does not exist get the same answer.
    pub async fn delete(
        &self,
        grant: &CitizenGrant,
        reference_id: &str,
        request_id: &str,
    ) -> Result<(), AppError> {
        let event = grant.event(
            "beneficiary.delete",
            "deleted by the beneficiary's mobile holder",
            request_id,
        );
        if is_reference_id(reference_id)
            && self
                .store
                .delete_beneficiary(grant.account_id(), reference_id, &event)
                .await?
        {
            Ok(())
        } else {
            Err(not_found())
        }
    }
}

/// The one answer for "not yours" and "does not exist".
pub fn not_found() -> AppError {
    AppError::refused(
        Refusal::NotFound,
        BENEFICIARY_NOT_FOUND,
        "No such beneficiary",
    )
}

/// CoWIN's reference ids are 14 digits.
pub fn is_reference_id(text: &str) -> bool {
    text.len() == 14 && text.bytes().all(|b| b.is_ascii_digit())
}

/// A random 14-digit reference id (first digit not zero).
pub(crate) fn new_reference_id() -> Result<String, AppError> {
    let bytes: [u8; 8] =
        teeka_crypto::random_bytes().map_err(|e| AppError::Crypto(e.to_string()))?;
    let n = u64::from_le_bytes(bytes) % 90_000_000_000_000 + 10_000_000_000_000;
    Ok(n.to_string())
}

/// The bucket an IP's limit is counted in: the address for IPv4, the /64 for IPv6 (one
/// subscriber usually holds a whole /64, so counting single addresses would be no limit at all).
pub fn ip_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The grant's beneficiaries, masked, with their live appointments; the read is on the ledger
/// as `event` says.
pub(crate) async fn own_beneficiaries(
    store: &Store,
    vault: &Vault,
    grant: &CitizenGrant,
    event: &teeka_store::identity::AccessEventRecord,
) -> Result<Vec<BeneficiaryView>, AppError> {
    let owner = grant.account_id();
    let (rows, mobile_sealed) = store.read_beneficiaries(owner, event).await?;

    let mut appointments = Vec::new();
    for a in store.live_appointments(owner).await? {
        let code = vault.open(
            grant,
            owner,
            &a.code_sealed,
            &crate::booking::appointment_code_binding(a.appointment_id),
        )?;
        appointments.push((
            a.reference_id.clone(),
            AppointmentView {
                appointment_id: a.appointment_id,
                session_id: a.session_id,
                centre_id: a.centre_id,
                centre_name: a.centre_name,
                date: a.date,
                slot: a.slot,
                dose: a.dose,
                code: String::from_utf8_lossy(&code).into_owned(),
            },
        ));
    }
    let mobile_masked = match mobile_sealed {
        Some((sealed, mobile_index)) => {
            let raw = vault.open(
                grant,
                owner,
                &sealed,
                &SealedColumn::AccountMobile.bound_to(&mobile_index),
            )?;
            let mobile: Mobile = String::from_utf8_lossy(&raw).parse()?;
            mobile.masked()
        }
        None => "**********".into(),
    };
    rows.iter()
        .map(|row| {
            let name = vault.open(
                grant,
                row.account_id,
                &row.name_sealed,
                &SealedColumn::BeneficiaryName.bound_to(row.subject_id.as_bytes()),
            )?;
            let name: PersonName = String::from_utf8_lossy(&name).parse()?;
            let kind = PhotoIdType::from_cowin_id(i64::from(row.photo_id_type))?;
            let number = vault.open(
                grant,
                row.account_id,
                &row.photo_id_sealed,
                &SealedColumn::BeneficiaryPhotoId.bound_to(row.subject_id.as_bytes()),
            )?;
            let photo_id = PhotoId::parse(kind, &String::from_utf8_lossy(&number))?;
            Ok(BeneficiaryView {
                reference_id: row.reference_id.clone(),
                name_masked: name.masked(),
                birth_year: row.birth_year,
                gender: Gender::from_cowin_id(i64::from(row.gender))?,
                photo_id_type: kind,
                photo_id_masked: photo_id.masked(),
                mobile_masked: mobile_masked.clone(),
                comorbidity: row.comorbidity,
                appointments: appointments
                    .iter()
                    .filter(|(reference, _)| *reference == row.reference_id)
                    .map(|(_, a)| a.clone())
                    .collect(),
            })
        })
        .collect()
}
