//! Partners: the registry and its kill switch, a partner's API key, the consent a person gives a
//! partner by OTP, what a partner sees of a person (only approved fields, under its own
//! pseudonymous id), and the citizen's list of consents with immediate revocation.
//!
//! There is no lookup by mobile or ID number for a partner, or anyone: a partner reaches a
//! person only by asking that person for an OTP, and then only within the consent.

use crate::access::{CitizenGrant, PartnerGrant};
use crate::citizen::{AppointmentView, Identity, not_found};
use crate::clock::now_ms;
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use std::collections::BTreeSet;
use std::net::IpAddr;
use teeka_domain::partner::{ApiKey, Scope, SharedField, join_set, parse_set};
use teeka_domain::{Gender, Mobile, PhotoIdType};
use teeka_store::Store;
use teeka_store::identity::AccessEventRecord;
use teeka_store::partner::{
    ConsentIssue, ConsentRequestRow, ConsentRow, PartnerRow, SwitchTarget, UsageOutcome, UsageRules,
};
use uuid::Uuid;

/// Ours: the API key is missing, malformed or wrong.
pub const PARTNER_KEY_INVALID: &str = "TKAPTN0001";
/// Ours: this partner is switched off, expired, or every partner is switched off.
pub const PARTNER_SWITCHED_OFF: &str = "TKAPTN0002";
/// Ours: over the partner's rate, quota, or throttled after an anomaly.
pub const PARTNER_LIMIT: &str = "TKAPTN0003";
/// Ours: no such consent on this account (or already revoked).
pub const CONSENT_NOT_FOUND: &str = "TKAPTN0006";
/// Ours: the consent asks for more than the partner is registered for.
pub const CONSENT_TOO_WIDE: &str = "TKAPTN0007";

const DAY_MS: i64 = 86_400_000;

/// Settings for partners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerConfig {
    /// The longest consent a partner may ask for, in days.
    pub consent_max_days: i64,
    /// A spike: an hour's requests above this many times the day's hourly mean …
    pub spike_factor: i64,
    /// … and above this many.
    pub spike_floor: i64,
    /// How long an anomaly throttles a partner.
    pub throttle_ms: i64,
    /// The smallest count research exports and public statistics publish.
    pub suppression_k: u64,
    /// Every published count is a multiple of this (see `teeka_domain::aggregate`).
    pub rounding_base: u64,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        Self {
            consent_max_days: 180,
            spike_factor: 10,
            spike_floor: 100,
            throttle_ms: 3_600_000,
            suppression_k: teeka_domain::aggregate::DEFAULT_K,
            rounding_base: teeka_domain::aggregate::DEFAULT_ROUNDING_BASE,
        }
    }
}

/// A partner that presented a valid API key; not yet a grant to anybody's data.
#[derive(Debug, Clone)]
pub struct PartnerCaller {
    row: PartnerRow,
    scopes: BTreeSet<Scope>,
    fields: BTreeSet<SharedField>,
    off: Vec<String>,
}

impl PartnerCaller {
    /// The partner's id.
    pub fn partner_id(&self) -> Uuid {
        self.row.partner_id
    }

    /// The partner's name.
    pub fn name(&self) -> &str {
        &self.row.name
    }

    /// Fields the registry allows it.
    pub fn allowed_fields(&self) -> &BTreeSet<SharedField> {
        &self.fields
    }

    /// Whether the registry allows `scope` and no switch turns it off.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) && !self.off.contains(&format!("scope:{scope}"))
    }

    /// Refused unless [`Self::may`] `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.may(scope) {
            Ok(())
        } else {
            Err(AppError::refused(
                Refusal::Forbidden,
                crate::access::SCOPE_NOT_ALLOWED,
                format!("This partner may not use {scope}, or it is switched off"),
            ))
        }
    }

    /// Counts one request (for a person's account, when it acts for one) against the partner's
    /// rate, quota and anomaly thresholds.
    pub(crate) async fn count(
        &self,
        store: &Store,
        account_id: Option<Uuid>,
        config: &PartnerConfig,
    ) -> Result<(), AppError> {
        let rules = UsageRules {
            requests_per_minute: i64::from(self.row.requests_per_minute),
            daily_quota: self.row.daily_quota,
            people_per_hour: self.row.people_per_hour,
            spike_factor: config.spike_factor,
            spike_floor: config.spike_floor,
            throttle_ms: config.throttle_ms,
        };
        let limited = |message: &str| {
            Err(AppError::refused(
                Refusal::TooMany,
                PARTNER_LIMIT,
                message.to_owned(),
            ))
        };
        match store
            .note_partner_call(self.row.partner_id, account_id, now_ms(), &rules)
            .await?
        {
            UsageOutcome::Allowed => Ok(()),
            UsageOutcome::TooFast => limited("Over this partner's requests per minute"),
            UsageOutcome::OverQuota => limited("This partner's daily quota is used up"),
            UsageOutcome::Throttled(_) | UsageOutcome::Anomaly(_) => limited(
                "This partner is throttled after unusual activity; an administrator has been alerted",
            ),
        }
    }
}

/// Checks `X-Api-Key` (and, when the partner is bound to one, the client certificate's
/// fingerprint the TLS terminator forwarded). Every switch is read from the database on every
/// request, so a switch is in force on every process at once.
pub async fn authenticate(
    store: &Store,
    api_key: &str,
    tls_fingerprint: Option<&str>,
) -> Result<PartnerCaller, AppError> {
    let refused = || {
        AppError::refused(
            Refusal::Unauthorized,
            PARTNER_KEY_INVALID,
            "Missing or invalid X-Api-Key",
        )
    };
    let key: ApiKey = api_key.parse().map_err(|_| refused())?;
    let row = store
        .partner_by_client_id(key.client_id())
        .await?
        .ok_or_else(refused)?;
    let presented = teeka_crypto::sha256(key.secret().as_bytes());
    if !teeka_crypto::constant_time_eq(&presented, &row.secret_hash) {
        return Err(refused());
    }
    if let Some(bound) = &row.tls_fingerprint {
        let given = tls_fingerprint.map(normalise_fingerprint);
        if given.as_deref() != Some(bound.as_str()) {
            return Err(refused());
        }
    }
    let off = store.switched_off().await?;
    let now = now_ms();
    if row.disabled || off.iter().any(|s| s == "all") || row.expires_at_ms.is_some_and(|e| e <= now)
    {
        return Err(AppError::refused(
            Refusal::Forbidden,
            PARTNER_SWITCHED_OFF,
            "Partner access is switched off for this partner",
        ));
    }
    Ok(PartnerCaller {
        scopes: parse_set(&row.scopes, "scopes")?,
        fields: parse_set(&row.fields, "fields")?,
        row,
        off,
    })
}

/// A certificate fingerprint as stored: lowercase hex, no separators.
pub fn normalise_fingerprint(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Who changes the registry: an operator at the command line, or a member of staff.
#[derive(Debug, Clone)]
pub struct AdminActor {
    kind: &'static str,
    id: String,
    role: String,
}

impl AdminActor {
    /// The operator running `teeka admin partners …` on the server.
    pub fn operator() -> Self {
        Self {
            kind: "operator",
            id: "cli".into(),
            role: "operator".into(),
        }
    }

    /// A member of staff (the routes allow national administrators and partner managers).
    pub fn staff(grant: &crate::staff::StaffGrant) -> Self {
        Self {
            kind: "staff",
            id: grant.staff_id().to_string(),
            role: grant.role().as_str().into(),
        }
    }

    fn event(&self, action: &str, purpose: String, request_id: &str) -> AccessEventRecord {
        AccessEventRecord {
            at_ms: now_ms(),
            actor_kind: self.kind.into(),
            actor_id: self.id.clone(),
            role: self.role.clone(),
            action: action.into(),
            subject_id: None,
            purpose,
            request_id: request_id.into(),
        }
    }
}

/// A partner to register, parsed.
#[derive(Debug, Clone)]
pub struct NewPartner {
    /// Name shown to people.
    pub name: String,
    /// What it is for.
    pub purpose: String,
    /// Scopes it may ask for.
    pub scopes: BTreeSet<Scope>,
    /// Fields it may ask for.
    pub fields: BTreeSet<SharedField>,
    /// Requests a minute.
    pub requests_per_minute: i32,
    /// Requests a day.
    pub daily_quota: i64,
    /// Distinct people an hour before an anomaly.
    pub people_per_hour: i64,
    /// Registration ends (unix ms).
    pub expires_at_ms: Option<i64>,
    /// Who to call.
    pub contact: String,
    /// Client certificate fingerprint to bind to.
    pub tls_fingerprint: Option<String>,
}

impl NewPartner {
    /// A partner with the registry's defaults: 600 requests a minute, 100,000 a day, an alert
    /// past 5,000 distinct people an hour, and (unless given) the fields name, year of birth
    /// and appointments.
    pub fn with_defaults(
        name: String,
        purpose: String,
        scopes: &str,
        fields: Option<&str>,
    ) -> Result<Self, AppError> {
        Ok(NewPartner {
            name,
            purpose,
            scopes: parse_set(scopes, "scopes")?,
            fields: match fields {
                Some(f) => parse_set(f, "fields")?,
                None => [
                    SharedField::Name,
                    SharedField::BirthYear,
                    SharedField::Appointments,
                ]
                .into_iter()
                .collect(),
            },
            requests_per_minute: 600,
            daily_quota: 100_000,
            people_per_hour: 5_000,
            expires_at_ms: None,
            contact: String::new(),
            tls_fingerprint: None,
        })
    }

    /// Checks the free-text parts and limits.
    pub fn check(&self) -> Result<(), AppError> {
        let text_ok = |t: &str, max: usize| {
            !t.trim().is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
        };
        if !text_ok(&self.name, 100) {
            return Err(AppError::BadInput(
                "name: 1 to 100 characters, no control characters".into(),
            ));
        }
        if !text_ok(&self.purpose, 300) {
            return Err(AppError::BadInput(
                "purpose: 1 to 300 characters, no control characters".into(),
            ));
        }
        if self.contact.chars().count() > 200 || self.contact.chars().any(char::is_control) {
            return Err(AppError::BadInput("contact: at most 200 characters".into()));
        }
        if self.requests_per_minute < 1 || self.daily_quota < 1 || self.people_per_hour < 1 {
            return Err(AppError::BadInput(
                "rate limits, quotas and thresholds must be at least 1".into(),
            ));
        }
        if let Some(fp) = &self.tls_fingerprint
            && normalise_fingerprint(fp).len() != 64
        {
            return Err(AppError::BadInput(
                "tls_fingerprint: a SHA-256 fingerprint, 64 hex digits".into(),
            ));
        }
        Ok(())
    }
}

/// A partner as registered, with its API key (shown once).
#[derive(Debug, Clone)]
pub struct Registered {
    /// Id.
    pub partner_id: Uuid,
    /// The public half of the key.
    pub client_id: String,
    /// The whole key: show once, never stored.
    pub api_key: ApiKey,
}

fn new_api_key() -> Result<ApiKey, AppError> {
    let client: [u8; 8] =
        teeka_crypto::random_bytes().map_err(|e| AppError::Crypto(e.to_string()))?;
    let secret: [u8; 32] =
        teeka_crypto::random_bytes().map_err(|e| AppError::Crypto(e.to_string()))?;
    Ok(ApiKey::new(hex(&client), hex(&secret))?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The registry's use cases; each change is on the ledger.
pub struct PartnerAdmin<'a> {
    /// Storage.
    pub store: &'a Store,
    /// Who acts.
    pub actor: AdminActor,
}

impl PartnerAdmin<'_> {
    /// Registers a partner; its key, shown once. The secret is a 256-bit random value, so a
    /// plain SHA-256 of it is as strong as a slow hash and costs nothing per request.
    pub async fn register(&self, p: &NewPartner, request_id: &str) -> Result<Registered, AppError> {
        p.check()?;
        for _ in 0..3 {
            let key = new_api_key()?;
            let row = PartnerRow {
                partner_id: Uuid::new_v4(),
                client_id: key.client_id().to_owned(),
                name: p.name.trim().to_owned(),
                purpose: p.purpose.trim().to_owned(),
                scopes: join_set(&p.scopes),
                fields: join_set(&p.fields),
                requests_per_minute: p.requests_per_minute,
                daily_quota: p.daily_quota,
                people_per_hour: p.people_per_hour,
                expires_at_ms: p.expires_at_ms,
                contact: p.contact.trim().to_owned(),
                secret_hash: teeka_crypto::sha256(key.secret().as_bytes()).to_vec(),
                tls_fingerprint: p.tls_fingerprint.as_deref().map(normalise_fingerprint),
                disabled: false,
                throttled_until_ms: 0,
                created_at_ms: now_ms(),
            };
            let event = self.actor.event(
                "partner.register",
                // By id: the name (up to 100 characters) with every scope would overflow an
                // entry's 200 bytes and fail the registration.
                format!("partner {} registered for {}", row.partner_id, row.scopes),
                request_id,
            );
            if self.store.insert_partner(&row, &event).await? {
                return Ok(Registered {
                    partner_id: row.partner_id,
                    client_id: row.client_id,
                    api_key: key,
                });
            }
        }
        Err(AppError::Crypto("could not draw a free client id".into()))
    }

    /// Rotates a partner's key: the old one stops working at once; the new one, shown once.
    pub async fn rotate(&self, partner: &str, request_id: &str) -> Result<ApiKey, AppError> {
        let row = self.find(partner).await?;
        let secret: [u8; 32] =
            teeka_crypto::random_bytes().map_err(|e| AppError::Crypto(e.to_string()))?;
        let key = ApiKey::new(row.client_id.clone(), hex(&secret))?;
        let event = self.actor.event(
            "partner.rotate",
            format!("API key of partner {} rotated", row.partner_id),
            request_id,
        );
        let hash = teeka_crypto::sha256(key.secret().as_bytes());
        if !self
            .store
            .set_partner_secret(row.partner_id, &hash, &event)
            .await?
        {
            return Err(AppError::NotFound("partner"));
        }
        Ok(key)
    }

    /// Turns a switch off (`off`) or explicitly back on; whether anything changed. In force on
    /// every process at the next request.
    pub async fn switch(
        &self,
        target: &SwitchRequest,
        off: bool,
        request_id: &str,
    ) -> Result<bool, AppError> {
        let target = match target {
            SwitchRequest::All => SwitchTarget::All,
            SwitchRequest::Scope(s) => SwitchTarget::Scope(s.as_str().into()),
            SwitchRequest::Partner(p) => SwitchTarget::Partner(self.find(p).await?.partner_id),
        };
        let what = match &target {
            SwitchTarget::All => "every partner".to_owned(),
            SwitchTarget::Scope(s) => format!("scope {s} for every partner"),
            SwitchTarget::Partner(id) => format!("partner {id}"),
        };
        let event = self.actor.event(
            if off {
                "partner.disable"
            } else {
                "partner.enable"
            },
            format!("kill switch: {what} {}", if off { "off" } else { "on" }),
            request_id,
        );
        self.store
            .set_partner_switch(&target, off, now_ms(), &event)
            .await?
            .ok_or(AppError::NotFound("partner"))
    }

    /// Every partner, and the switches turned off.
    pub async fn list(&self) -> Result<(Vec<PartnerRow>, Vec<String>), AppError> {
        Ok((
            self.store.list_partners().await?,
            self.store.switched_off().await?,
        ))
    }

    /// A partner by id or client id.
    async fn find(&self, partner: &str) -> Result<PartnerRow, AppError> {
        let partner = partner.trim();
        self.store
            .list_partners()
            .await?
            .into_iter()
            .find(|p| p.client_id == partner || p.partner_id.to_string() == partner)
            .ok_or(AppError::NotFound("partner"))
    }
}

/// What a kill switch names, as an administrator gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchRequest {
    /// Every partner.
    All,
    /// One scope, for every partner.
    Scope(Scope),
    /// One partner, by id or client id.
    Partner(String),
}

impl std::str::FromStr for SwitchRequest {
    type Err = AppError;

    /// `all`, `scope:<scope>` or `partner:<id or client id>`.
    fn from_str(target: &str) -> Result<Self, AppError> {
        let target = target.trim();
        if target == "all" {
            return Ok(SwitchRequest::All);
        }
        if let Some(scope) = target.strip_prefix("scope:") {
            return Ok(SwitchRequest::Scope(scope.parse()?));
        }
        if let Some(p) = target.strip_prefix("partner:") {
            return Ok(SwitchRequest::Partner(p.to_owned()));
        }
        Err(AppError::BadInput(
            "target: all, scope:<scope> or partner:<id>".into(),
        ))
    }
}

/// What a partner asks a person to approve.
#[derive(Debug, Clone)]
pub struct ConsentAsk {
    /// Why (shown in the person's list of consents).
    pub purpose: String,
    /// Scopes.
    pub scopes: BTreeSet<Scope>,
    /// Fields.
    pub fields: BTreeSet<SharedField>,
    /// For how many days.
    pub days: i64,
}

/// The consent's OTP SMS: who asks, for what, for how long. The partner's name comes from the
/// registry, never from the request, so a partner cannot write into people's SMS.
fn consent_text(partner: &str, ask: &ConsentAsk, otp: &str) -> String {
    let what: Vec<&str> = ask.scopes.iter().map(|s| s.plain_words()).collect();
    let fields: Vec<&str> = ask.fields.iter().map(|f| f.as_str()).collect();
    format!(
        "{partner} asks to {} for {} days, seeing: {}. OTP {otp} approves it (valid 3 minutes). Revoke any time in Teeka. - Teeka",
        what.join(", "),
        ask.days,
        fields.join(", ")
    )
}

/// Sends the person the OTP that approves `ask` for `caller`; the transaction id.
pub async fn ask_consent(
    identity: &Identity<'_>,
    caller: &PartnerCaller,
    mobile: &Mobile,
    ask: &ConsentAsk,
    client_ip: IpAddr,
    config: &PartnerConfig,
) -> Result<Uuid, AppError> {
    caller.count(identity.store, None, config).await?;
    let purpose = ask.purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 300 || purpose.chars().any(char::is_control)
    {
        return Err(AppError::BadInput(
            "purpose: 1 to 300 characters, no control characters".into(),
        ));
    }
    if !(1..=config.consent_max_days).contains(&ask.days) {
        return Err(AppError::BadInput(format!(
            "days: from 1 to {}",
            config.consent_max_days
        )));
    }
    if ask.scopes.contains(&Scope::Research) {
        return Err(AppError::BadInput(
            "scopes: research is aggregates only and needs no person's consent".into(),
        ));
    }
    if let Some(scope) = ask.scopes.iter().find(|s| !caller.may(**s)) {
        return Err(AppError::refused(
            Refusal::Forbidden,
            CONSENT_TOO_WIDE,
            format!("This partner may not ask for {scope}, or it is switched off"),
        ));
    }
    if let Some(field) = ask.fields.iter().find(|f| !caller.fields.contains(f)) {
        return Err(AppError::refused(
            Refusal::Forbidden,
            CONSENT_TOO_WIDE,
            format!("This partner may not ask for the field {field}"),
        ));
    }
    let request = ConsentRequestRow {
        txn_id: Uuid::nil(),
        partner_id: caller.partner_id(),
        purpose: purpose.to_owned(),
        scopes: join_set(&ask.scopes),
        fields: join_set(&ask.fields),
        duration_ms: ask.days * DAY_MS,
        created_at_ms: now_ms(),
    };
    let name = caller.name().to_owned();
    let ask = ask.clone();
    identity
        .send_otp_with(
            mobile,
            client_ip,
            move |otp| consent_text(&name, &ask, otp),
            Some(request),
        )
        .await
}

/// Confirms the person's OTP for `caller`'s consent request: the consent is signed and stored,
/// and the partner gets a token bound to it; whether the account is new.
pub async fn confirm_consent(
    identity: &Identity<'_>,
    caller: &PartnerCaller,
    txn_id: Uuid,
    otp_sha256_hex: &str,
    client_ip: IpAddr,
    request_id: &str,
    config: &PartnerConfig,
) -> Result<(String, bool), AppError> {
    caller.count(identity.store, None, config).await?;
    let unknown = || {
        AppError::refused(
            Refusal::Invalid,
            crate::citizen::OTP_TXN_INVALID,
            "Unknown or already used transaction; ask for a new OTP",
        )
    };
    let request = identity
        .store
        .consent_request(txn_id)
        .await?
        .filter(|r| r.partner_id == caller.partner_id())
        .ok_or_else(unknown)?;
    // A scope switched off (or dropped from the registry) since the ask is not granted.
    for scope in parse_set::<Scope>(&request.scopes, "scopes")? {
        caller.require(scope)?;
    }
    let consent_id = Uuid::new_v4();
    let granted_at = now_ms();
    let expires_at = granted_at + request.duration_ms;
    let artefact = serde_json::json!({
        "type": "TeekaConsent",
        "version": 1,
        "consent_id": consent_id,
        "partner": { "id": caller.partner_id(), "name": caller.name() },
        "purpose": request.purpose,
        "scopes": request.scopes.split(',').collect::<Vec<_>>(),
        "fields": request.fields.split(',').collect::<Vec<_>>(),
        "granted_at_ms": granted_at,
        "expires_at_ms": expires_at,
        "approved_by": "otp",
        "otp_transaction": txn_id,
    })
    .to_string();
    let signature = identity
        .vault
        .ledger_key()
        .sign(artefact.as_bytes())
        .to_vec();
    let token = teeka_crypto::random_token().map_err(|e| AppError::Crypto(e.to_string()))?;
    let issue = ConsentIssue {
        consent_id,
        request,
        granted_at_ms: granted_at,
        expires_at_ms: expires_at,
        artefact,
        signature,
        token_hash: teeka_crypto::sha256(token.as_bytes()).to_vec(),
    };
    identity
        .confirm_otp_with(
            txn_id,
            otp_sha256_hex,
            client_ip,
            request_id,
            token,
            Some(issue),
        )
        .await
}

/// A person as a partner sees them: its own pseudonymous id, and only the approved fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedBeneficiary {
    /// This partner's id for the person (another partner's differs).
    pub beneficiary_id: String,
    /// Name, masked.
    pub name_masked: Option<String>,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Photo ID kind and masked number.
    pub photo_id: Option<(PhotoIdType, String)>,
    /// Mobile, masked.
    pub mobile_masked: Option<String>,
    /// Live appointments.
    pub appointments: Option<Vec<AppointmentView>>,
}

/// The partner's pseudonymous id for a person: a keyed hash of the partner and the person's
/// reference id, shaped like a reference id so CoWIN clients take it. Only this server can
/// compute it, and two partners' ids for one person are unrelated.
pub fn pairwise_id(vault: &Vault, partner_id: Uuid, reference_id: &str) -> String {
    let mac = vault.blind_index(
        b"pairwise",
        format!("{partner_id}:{reference_id}").as_bytes(),
    );
    let mut first = [0u8; 8];
    first.copy_from_slice(&mac[..8]);
    (u64::from_le_bytes(first) % 90_000_000_000_000 + 10_000_000_000_000).to_string()
}

/// A partner's own id for an appointment: like [`pairwise_id`] for people, so that two
/// partners booking for one person cannot join their records by the appointment.
pub fn pairwise_appointment_id(vault: &Vault, partner_id: Uuid, appointment_id: Uuid) -> Uuid {
    let mac = vault.blind_index(
        b"pairwise-appointment",
        format!("{partner_id}:{appointment_id}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&mac[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The appointment behind a partner's id for it, among the consent's account's live ones. An
/// id that is none of them comes back as the nil id, which the booking use cases answer as an
/// appointment that does not exist, as for anyone.
pub async fn resolve_appointment(
    store: &Store,
    vault: &Vault,
    grant: &PartnerGrant,
    shown: &str,
) -> Result<String, AppError> {
    let partner = grant.caller().partner_id();
    let shown = shown.trim().to_ascii_lowercase();
    Ok(store
        .live_appointments(grant.account_id())
        .await?
        .into_iter()
        .map(|a| a.appointment_id)
        .find(|id| pairwise_appointment_id(vault, partner, *id).to_string() == shown)
        .unwrap_or(Uuid::nil())
        .to_string())
}

/// The person's beneficiaries as the partner may see them; the read is on the ledger with the
/// consent.
pub async fn shared_beneficiaries(
    identity: &Identity<'_>,
    grant: &PartnerGrant,
    request_id: &str,
) -> Result<Vec<SharedBeneficiary>, AppError> {
    let person = grant.for_scope(Scope::BeneficiaryRead)?;
    let fields = grant.fields();
    let has = |f: SharedField| fields.contains(&f);
    let list = identity.beneficiaries(&person, request_id).await?;
    let partner = grant.caller().partner_id();
    Ok(list
        .into_iter()
        .map(|b| SharedBeneficiary {
            beneficiary_id: pairwise_id(identity.vault, partner, &b.reference_id),
            name_masked: has(SharedField::Name).then_some(b.name_masked),
            birth_year: has(SharedField::BirthYear).then_some(b.birth_year),
            gender: has(SharedField::Gender).then_some(b.gender),
            photo_id: has(SharedField::PhotoId).then_some((b.photo_id_type, b.photo_id_masked)),
            mobile_masked: has(SharedField::Mobile).then_some(b.mobile_masked),
            appointments: has(SharedField::Appointments).then(|| {
                b.appointments
                    .into_iter()
                    .map(|a| AppointmentView {
                        appointment_id: pairwise_appointment_id(
                            identity.vault,
                            partner,
                            a.appointment_id,
                        ),
                        // The check-in code is the person's (their SMS has it): shown to every
                        // partner, it would be one more key joining partners' records.
                        code: String::new(),
                        ..a
                    })
                    .collect()
            }),
        })
        .collect())
}

/// The reference ids behind a partner's pseudonymous ids, within the consent's account; an id
/// that is not one of the account's people is "no such beneficiary".
pub async fn resolve_ids(
    store: &Store,
    vault: &Vault,
    grant: &PartnerGrant,
    ids: &[String],
) -> Result<Vec<String>, AppError> {
    let partner = grant.caller().partner_id();
    let people = store.account_subjects(grant.account_id()).await?;
    ids.iter()
        .map(|id| {
            people
                .iter()
                .find(|(reference, _)| pairwise_id(vault, partner, reference) == id.trim())
                .map(|(reference, _)| reference.clone())
                .ok_or_else(not_found)
        })
        .collect()
}

/// A consent as its person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    /// Id.
    pub consent_id: Uuid,
    /// The partner's name.
    pub partner: String,
    /// Why.
    pub purpose: String,
    /// Scopes approved.
    pub scopes: Vec<String>,
    /// Fields approved.
    pub fields: Vec<String>,
    /// Unix ms.
    pub granted_at_ms: i64,
    /// Unix ms.
    pub expires_at_ms: i64,
    /// Unix ms, if revoked.
    pub revoked_at_ms: Option<i64>,
    /// `active`, `revoked` or `expired`.
    pub status: &'static str,
    /// The signed artefact.
    pub artefact: String,
    /// Its Ed25519 signature (hex), verifiable with the ledger key.
    pub signature: String,
}

impl ConsentView {
    fn of(c: ConsentRow, now: i64) -> Self {
        let status = if c.revoked_at_ms.is_some() {
            "revoked"
        } else if c.expires_at_ms <= now {
            "expired"
        } else {
            "active"
        };
        Self {
            consent_id: c.consent_id,
            partner: c.partner_name,
            purpose: c.purpose,
            scopes: c.scopes.split(',').map(str::to_owned).collect(),
            fields: c.fields.split(',').map(str::to_owned).collect(),
            granted_at_ms: c.granted_at_ms,
            expires_at_ms: c.expires_at_ms,
            revoked_at_ms: c.revoked_at_ms,
            status,
            artefact: c.artefact,
            signature: hex(&c.signature),
        }
    }
}

fn only_the_person(grant: &CitizenGrant) -> Result<(), AppError> {
    if grant.is_the_person() {
        Ok(())
    } else {
        Err(AppError::refused(
            Refusal::Forbidden,
            crate::access::SCOPE_NOT_ALLOWED,
            "Only the person manages their consents",
        ))
    }
}

/// Every consent the person gave, newest first; the read is on the ledger.
pub async fn list_consents(
    store: &Store,
    grant: &CitizenGrant,
    request_id: &str,
) -> Result<Vec<ConsentView>, AppError> {
    only_the_person(grant)?;
    let event = grant.event(
        "consent.read",
        "the person viewed the consents they gave",
        request_id,
    );
    let now = now_ms();
    Ok(store
        .consents_of(grant.account_id(), &event)
        .await?
        .into_iter()
        .map(|c| ConsentView::of(c, now))
        .collect())
}

/// Revokes one of the person's consents: the partner's token stops working at once.
pub async fn revoke_consent(
    store: &Store,
    grant: &CitizenGrant,
    consent_id: &str,
    request_id: &str,
) -> Result<(), AppError> {
    only_the_person(grant)?;
    let missing = || {
        AppError::refused(
            Refusal::NotFound,
            CONSENT_NOT_FOUND,
            "No such active consent",
        )
    };
    let consent_id: Uuid = consent_id.trim().parse().map_err(|_| missing())?;
    let event = grant.event(
        "consent.revoke",
        &format!("the person revoked consent {consent_id}"),
        request_id,
    );
    if store
        .revoke_consent(grant.account_id(), consent_id, now_ms(), &event)
        .await?
    {
        Ok(())
    } else {
        Err(missing())
    }
}
