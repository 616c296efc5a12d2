//! Certificates: one per valid dose, issued in the dose's own transaction with the issuer's
//! current key generation, and revoked (with a replacement) by a dose correction. The signed
//! documents (the W3C credential, the SMART Health Card, the PDF) are rebuilt on download from
//! the dose and the person, behind the person's own grant, and the read is on the ledger.

use crate::access::CitizenGrant;
use crate::error::{AppError, Refusal};
use crate::vault::Vault;
use serde_json::{Value, json};
use std::sync::Arc;
use teeka_cert::certificate::{CertificateFacts, DccHolder};
use teeka_crypto::issuer::{IssuerKey, IssuerKeyRing};
use teeka_domain::travel::{TravelDetails, icao_transliteration};
use teeka_domain::{CentreId, Gender, PersonName};
use teeka_store::Store;
use teeka_store::certificate::CertificateRow;
use teeka_store::desk::DeskDose;
use teeka_store::identity::SealedColumn;
use time::format_description::well_known::Rfc3339;

/// Ours: no certificate for that beneficiary on this account (none recorded, or not yours).
pub const NO_CERTIFICATE: &str = "TKACRT0001";

/// What a certificate certifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// Part of the primary series is done.
    Provisional,
    /// The primary series is complete.
    Final,
    /// A precaution (booster) dose.
    Precaution,
}

impl CertificateKind {
    /// The kind for dose `dose_number` of a vaccine with `primary_doses` in its series.
    #[must_use]
    pub fn for_dose(dose_number: i32, primary_doses: u8) -> Self {
        let primary = i32::from(primary_doses.max(1));
        if dose_number > primary {
            CertificateKind::Precaution
        } else if dose_number == primary {
            CertificateKind::Final
        } else {
            CertificateKind::Provisional
        }
    }

    /// Its stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateKind::Provisional => "provisional",
            CertificateKind::Final => "final",
            CertificateKind::Precaution => "precaution",
        }
    }
}

/// How long a key generation's EU signer certificate is valid from the generation's creation.
const SIGNER_VALIDITY_SECS: i64 = 5 * 365 * 86_400;

/// The issuer: its key ring and the origin named in every certificate.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// Every key generation; the last signs new certificates.
    pub keys: Arc<IssuerKeyRing>,
    /// E.g. `https://teeka.local`.
    pub origin: String,
    /// Each generation's EU DCC signer certificate (DER), by kid: made once, since every
    /// JWKS request and every EU certificate needs one.
    signers: Arc<Vec<(String, Vec<u8>)>>,
}

impl Issuer {
    /// An issuer named after the ledger's origin line's host (`teeka.local/access-ledger` →
    /// `https://teeka.local`).
    #[must_use]
    pub fn new(keys: IssuerKeyRing, ledger_origin: &str) -> Self {
        let host = ledger_origin.split('/').next().unwrap_or("teeka.local");
        // A generation's Document Signer Certificate: self-signed, valid for five years from the
        // generation's creation, the same bytes every time. Encoding fails only for a key the
        // ring could not hold; such a generation simply signs no EU certificates.
        let signers = keys
            .all()
            .iter()
            .filter_map(|k| {
                teeka_cert::dcc::signer::signer_certificate(
                    &k.p256,
                    &k.kid,
                    k.created_ms.div_euclid(1000),
                    SIGNER_VALIDITY_SECS,
                )
                .ok()
                .map(|der| (k.kid.clone(), der))
            })
            .collect();
        Self {
            keys: Arc::new(keys),
            origin: format!("https://{host}"),
            signers: Arc::new(signers),
        }
    }

    /// A key generation's EU DCC Document Signer Certificate (DER).
    #[must_use]
    pub fn signer_certificate(&self, kid: &str) -> Option<&[u8]> {
        self.signers
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, der)| der.as_slice())
    }

    /// Where a key generation's public key is named: the JWKS entry with its kid.
    #[must_use]
    pub fn verification_method(&self, kid: &str) -> String {
        format!("{}/.well-known/jwks.json#{kid}", self.origin)
    }

    /// A new certificate for a dose, under the current key.
    ///
    /// # Errors
    /// When the OS random number generator fails.
    pub fn new_certificate(
        &self,
        dose: &DeskDose,
        primary_doses: u8,
        now_ms: i64,
    ) -> Result<CertificateRow, AppError> {
        let bytes =
            teeka_crypto::random_bytes::<16>().map_err(|e| AppError::Crypto(e.to_string()))?;
        // Twenty random digits: across CoWIN's 2.2 billion doses, the chance that two ids ever
        // collide is about 2 in 100 (a collision fails that one dose's transaction), where
        // CoWIN-length twelve digits would collide millions of times.
        let number = u128::from_be_bytes(bytes) % 100_000_000_000_000_000_000;
        Ok(CertificateRow {
            certificate_id: format!("{number:020}"),
            dose_id: dose.dose_id,
            subject_id: dose.subject_id,
            kind: CertificateKind::for_dose(dose.dose_number, primary_doses)
                .as_str()
                .to_owned(),
            kid: self.keys.current().kid.clone(),
            issued_at_ms: now_ms,
            revoked_at_ms: None,
        })
    }
}

/// One certificate as its holder downloads it.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The stored row (id, kind, key, when, revoked when).
    pub row: CertificateRow,
    /// What it states.
    pub facts: CertificateFacts,
    /// The signed W3C credential (the QR code's text, minified).
    pub credential: Value,
    /// The SMART Health Card, as its numeric QR text (`shc:/…`).
    pub shc: String,
    /// The EU Digital COVID Certificate (`HC1:…`), when the person gave travel details.
    pub dcc: Option<String>,
}

impl IssuedCertificate {
    /// The QR code's text: the signed credential, minified.
    #[must_use]
    pub fn qr_text(&self) -> String {
        self.credential.to_string()
    }

    /// The printable certificate.
    ///
    /// # Errors
    /// When the credential does not fit a QR code (it always does at CoWIN's sizes).
    pub fn pdf(&self) -> Result<Vec<u8>, AppError> {
        teeka_cert::certificate::render_certificate_pdf(&self.facts, &self.qr_text())
            .map_err(|e| AppError::Crypto(e.to_string()))
    }
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Signs a certificate's documents with the key generation named in its row.
///
/// # Errors
/// When that key is not in the ring, or signing fails.
pub fn sign_documents(
    issuer: &Issuer,
    row: CertificateRow,
    facts: CertificateFacts,
    traveller: Option<&DccHolder>,
) -> Result<IssuedCertificate, AppError> {
    let key: &IssuerKey = issuer.keys.get(&row.kid).ok_or_else(|| {
        AppError::Crypto(format!(
            "certificate key {} is not in the key ring",
            row.kid
        ))
    })?;
    let credential = teeka_cert::ld::sign_ed25519(
        facts.credential(),
        key.ed25519.signing_key(),
        &issuer.verification_method(&row.kid),
        &facts.issued_at,
    )
    .map_err(|e| AppError::Crypto(format!("signing a credential: {e}")))?;
    let p256 = &key.p256;
    let thumbprint = teeka_cert::shc::jwk_thumbprint(p256.verifying_key());
    let (_, shc) = teeka_cert::shc::issue_shc(
        &facts.shc_payload(row.issued_at_ms.div_euclid(1000)),
        p256,
        &thumbprint,
    )
    .map_err(|e| AppError::Crypto(format!("signing a health card: {e}")))?;
    let dcc = match traveller {
        None => None,
        Some(holder) => {
            const A_YEAR: i64 = 365 * 86_400;
            let signer = issuer.signer_certificate(&key.kid).ok_or_else(|| {
                AppError::Crypto(format!("key {} has no EU signer certificate", key.kid))
            })?;
            // Issued now, for a year, and never past its signer certificate: an EU verifier
            // checks both against the signer's validity, and the certificate row may be older
            // than the key now signing for it.
            let iat = crate::clock::now_ms().div_euclid(1000);
            let signer_ends = key.created_ms.div_euclid(1000) + SIGNER_VALIDITY_SECS;
            Some(
                teeka_cert::dcc::issue_dcc(
                    &facts.dcc_payload(holder),
                    "IN",
                    iat,
                    (iat + A_YEAR).min(signer_ends),
                    p256,
                    &teeka_cert::trust::dcc_kid(signer),
                )
                .map_err(|e| AppError::Crypto(format!("signing an EU certificate: {e}")))?,
            )
        }
    };
    Ok(IssuedCertificate {
        row,
        facts,
        credential,
        shc,
        dcc,
    })
}

/// The person's live certificates, oldest first, as the holder of `grant` downloads them
/// (revoked ones are on the revocation list, not here); doses recorded before certificates
/// existed get theirs now. The certificate names the person by `shown_reference`: their
/// reference id, or a partner's pairwise id for them, so a partner's copy carries no id another
/// partner shares. One ledger entry, written with the read of the person's row.
///
/// # Errors
/// [`NO_CERTIFICATE`] when the reference id is not on the grant's account or has no dose.
pub async fn certificates_for(
    store: &Store,
    vault: &Vault,
    issuer: &Issuer,
    grant: &CitizenGrant,
    reference_id: &str,
    shown_reference: &str,
    request_id: &str,
) -> Result<Vec<IssuedCertificate>, AppError> {
    let none = || {
        AppError::refused(
            Refusal::NotFound,
            NO_CERTIFICATE,
            "No certificate for that beneficiary on this account",
        )
    };
    let event = grant.event(
        "certificate.download",
        "the beneficiary's mobile holder downloaded a vaccination certificate",
        request_id,
    );
    let (rows, _) = store.read_beneficiaries(grant.account_id(), &event).await?;
    let person = rows
        .iter()
        .find(|r| r.reference_id == reference_id.trim())
        .ok_or_else(none)?;
    let name = vault.open(
        grant,
        person.account_id,
        &person.name_sealed,
        &SealedColumn::BeneficiaryName.bound_to(person.subject_id.as_bytes()),
    )?;
    let name: PersonName = String::from_utf8_lossy(&name).parse()?;
    let gender = Gender::from_cowin_id(i64::from(person.gender))?;
    let doses = store.valid_doses_of(person.subject_id).await?;
    if doses.is_empty() {
        return Err(none());
    }
    // Travel details are the person's own: a partner's copy never carries them.
    let sealed_travel = if grant.is_the_person() {
        let read = grant.event(
            "certificate.travel_details_read",
            "passport name and date of birth read for an EU certificate",
            request_id,
        );
        store.read_travel_details(person.subject_id, &read).await?
    } else {
        None
    };
    let traveller = sealed_travel
        .map(|sealed| {
            open_travel_details(
                vault,
                grant,
                person.account_id,
                person.subject_id,
                person.birth_year,
                &sealed,
            )
        })
        .transpose()?;
    let vaccines = store.list_vaccines().await?;
    let primary = |name: &str| {
        vaccines
            .iter()
            .find(|v| v.name.as_str() == name)
            .map_or(2, |v| v.primary_doses)
    };
    let mut stored = store.certificates_of(&[person.subject_id]).await?;
    for dose in &doses {
        if !stored
            .iter()
            .any(|c| c.dose_id == dose.dose_id && c.revoked_at_ms.is_none())
        {
            let row = issuer.new_certificate(
                dose,
                primary(&dose.vaccine),
                dose.given_at.unwrap_or_else(crate::clock::now_ms),
            )?;
            stored.push(store.ensure_certificate(&row).await?);
        }
    }
    let mut out = Vec::new();
    for row in stored {
        // Revoked certificates are not handed out again: their doses are gone or changed.
        if row.revoked_at_ms.is_some() {
            continue;
        }
        let Some(dose) = doses.iter().find(|d| d.dose_id == row.dose_id) else {
            continue;
        };
        let centre = match dose.centre_id {
            Some(id) => store.get_centre(CentreId(id)).await?,
            None => None,
        };
        let given_on = dose.given_on.date();
        let facts = CertificateFacts {
            certificate_id: row.certificate_id.clone(),
            kind: row.kind.clone(),
            reference_id: shown_reference.to_owned(),
            name: name.as_str().to_owned(),
            gender: gender.cowin_name().to_owned(),
            birth_year: person.birth_year,
            age: given_on.year() - person.birth_year,
            vaccine: dose.vaccine.clone(),
            batch: dose.batch.clone().unwrap_or_default(),
            dose: dose.dose_number,
            // A precaution dose counts in the total, so a dose is never above it: `dose` and
            // `totalDoses` share one signed predicate, and the verifier reads a dose above the
            // total as the two swapped.
            total_doses: i32::from(primary(&dose.vaccine)).max(dose.dose_number),
            given_on: format!(
                "{:04}-{:02}-{:02}",
                given_on.year(),
                u8::from(given_on.month()),
                given_on.day()
            ),
            given_at: rfc3339(dose.given_at.unwrap_or(row.issued_at_ms)),
            centre_name: centre
                .as_ref()
                .map_or_else(String::new, |c| c.centre.name.clone()),
            district: centre
                .as_ref()
                .map_or_else(String::new, |c| c.district_name.clone()),
            state: centre
                .as_ref()
                .map_or_else(String::new, |c| c.state_name.clone()),
            issuer: issuer.origin.clone(),
            issued_at: rfc3339(row.issued_at_ms),
        };
        out.push(sign_documents(issuer, row, facts, traveller.as_ref())?);
    }
    Ok(out)
}

/// Ours: the passport name given is not the registered name.
pub const TRAVEL_NAME_MISMATCH: &str = "TKACRT0004";

/// Ours: travel details are given by the person themself, not through a partner.
pub const TRAVEL_DETAILS_SELF_ONLY: &str = "TKACRT0003";

fn travel_details_context(subject_id: uuid::Uuid) -> Vec<u8> {
    SealedColumn::TravelDetails.bound_to(subject_id.as_bytes())
}

fn open_travel_details(
    vault: &Vault,
    grant: &CitizenGrant,
    account_id: uuid::Uuid,
    subject_id: uuid::Uuid,
    birth_year: i32,
    sealed: &[u8],
) -> Result<DccHolder, AppError> {
    let record = vault.open(
        grant,
        account_id,
        sealed,
        &travel_details_context(subject_id),
    )?;
    let details = TravelDetails::from_record(
        &String::from_utf8_lossy(&record),
        birth_year,
        crate::clock::today_in_india().date(),
    )?;
    Ok(DccHolder {
        surname_icao: icao_transliteration(&details.surname),
        given_names_icao: icao_transliteration(&details.given_names),
        date_of_birth: details.date_of_birth_text(),
        surname: details.surname,
        given_names: details.given_names,
    })
}

/// The person on the grant's account with `reference_id`, read with `event` on the ledger.
async fn own_person(
    store: &Store,
    grant: &CitizenGrant,
    reference_id: &str,
    event: &teeka_store::identity::AccessEventRecord,
) -> Result<teeka_store::identity::BeneficiaryRow, AppError> {
    if !grant.is_the_person() {
        return Err(AppError::refused(
            Refusal::Forbidden,
            TRAVEL_DETAILS_SELF_ONLY,
            "Travel details are given by the person, not through a partner",
        ));
    }
    let (rows, _) = store.read_beneficiaries(grant.account_id(), event).await?;
    rows.into_iter()
        .find(|r| r.reference_id == reference_id.trim())
        .ok_or_else(|| {
            AppError::refused(
                Refusal::NotFound,
                NO_CERTIFICATE,
                "No certificate for that beneficiary on this account",
            )
        })
}

/// Keeps a person's travel details (the name as in their passport, which must be the
/// registered name, and the full date of birth, which must fall in the registered year), sealed, so their certificates also come as EU
/// DCCs. Only the person themself gives them. One ledger entry for the read of the account's
/// people and one for the write.
///
/// # Errors
/// A refusal naming the field that is wrong, or when the person is not on this account.
pub async fn set_travel_details(
    store: &Store,
    vault: &Vault,
    grant: &CitizenGrant,
    reference_id: &str,
    (surname, given_names, date_of_birth): (&str, &str, &str),
    request_id: &str,
) -> Result<(), AppError> {
    let read = grant.event(
        "beneficiary.read",
        "the beneficiary's mobile holder gave travel details",
        request_id,
    );
    let person = own_person(store, grant, reference_id, &read).await?;
    let details = TravelDetails::parse(
        surname,
        given_names,
        date_of_birth,
        person.birth_year,
        crate::clock::today_in_india().date(),
    )?;
    let registered = vault.open(
        grant,
        person.account_id,
        &person.name_sealed,
        &SealedColumn::BeneficiaryName.bound_to(person.subject_id.as_bytes()),
    )?;
    if !details.matches_registered_name(&String::from_utf8_lossy(&registered)) {
        return Err(AppError::refused(
            Refusal::Invalid,
            TRAVEL_NAME_MISMATCH,
            "The passport name must be the registered name (the same words, in Latin letters)",
        ));
    }
    let sealed = vault.seal(
        details.to_record().as_bytes(),
        &travel_details_context(person.subject_id),
    )?;
    let event = grant.event(
        "certificate.travel_details",
        "passport name and date of birth kept for an EU certificate",
        request_id,
    );
    store
        .put_travel_details(person.subject_id, &sealed, &event)
        .await?;
    Ok(())
}

/// Removes a person's travel details; whether there were any. On the ledger.
///
/// # Errors
/// When the person is not on this account.
pub async fn remove_travel_details(
    store: &Store,
    grant: &CitizenGrant,
    reference_id: &str,
    request_id: &str,
) -> Result<bool, AppError> {
    let read = grant.event(
        "beneficiary.read",
        "the beneficiary's mobile holder removed travel details",
        request_id,
    );
    let person = own_person(store, grant, reference_id, &read).await?;
    let event = grant.event(
        "certificate.travel_details_removed",
        "passport name and date of birth removed",
        request_id,
    );
    Ok(store
        .delete_travel_details(person.subject_id, &event)
        .await?)
}

/// The revocation list: SHA-256 of each revoked certificate's id (a verifier hashes the id it
/// reads and looks it up, so the list names no one and a check sends nothing anywhere), signed
/// by the current issuer key over the list's JSON without its `signature`.
///
/// # Errors
/// When the store fails.
pub async fn revocation_list(store: &Store, issuer: &Issuer) -> Result<Value, AppError> {
    let ids = store.revoked_certificates().await?;
    let revoked: Vec<String> = ids.iter().map(|(id, _)| revocation_hash(id)).collect();
    let dcc_revoked: Vec<String> = ids.iter().map(|(id, _)| dcc_revocation_hash(id)).collect();
    let key = issuer.keys.current();
    let body = json!({
        "issuer": issuer.origin,
        "kid": key.kid,
        "generated_at": rfc3339(crate::clock::now_ms()),
        "method": "sha256(certificateId)",
        "revoked": revoked,
        "dcc_method": "UCI",
        "dcc_revoked": dcc_revoked,
    });
    let signature = key.ed25519.sign(body.to_string().as_bytes());
    let mut signed = body;
    signed["signature"] = json!(hex::encode(signature));
    Ok(signed)
}

/// Every issuer key generation's public keys as a JWK set: P-256 (EU DCC, SMART Health Cards;
/// kid = the RFC 7638 thumbprint, `x5c` = the EU signer certificate) and Ed25519 (W3C credentials; kid = the generation's id).
#[must_use]
pub fn issuer_jwks(issuer: &Issuer) -> Value {
    let keys: Vec<Value> = issuer
        .keys
        .all()
        .iter()
        .flat_map(|k| {
            let mut ec = teeka_cert::shc::public_jwk(k.p256.verifying_key());
            // The EU DCC signer certificate, so a verifier finds the key by its EU kid too.
            if let Some(der) = issuer.signer_certificate(&k.kid) {
                use base64::Engine as _;
                ec["x5c"] = json!([base64::engine::general_purpose::STANDARD.encode(der)]);
            }
            [
                ec,
                teeka_cert::certificate::ed25519_jwk(&k.ed25519.public(), &k.kid),
            ]
        })
        .collect();
    json!({ "keys": keys })
}

/// The same keys as PEM (SPKI), each after a comment line naming its kid and use.
#[must_use]
pub fn issuer_pem(issuer: &Issuer) -> String {
    let mut out = String::new();
    for k in issuer.keys.all() {
        let (ed, ec) =
            teeka_cert::certificate::public_key_pems(&k.ed25519.public(), k.p256.verifying_key());
        out.push_str(&format!("# {} Ed25519 (W3C credentials)\n{ed}", k.kid));
        out.push_str(&format!(
            "# {} P-256 (EU DCC, SMART Health Cards)\n{ec}",
            teeka_cert::shc::jwk_thumbprint(k.p256.verifying_key())
        ));
    }
    out
}

/// Every key generation's EU DCC signer certificate, as PEM (the EU's trust-list form).
#[must_use]
pub fn issuer_signer_certificates_pem(issuer: &Issuer) -> String {
    issuer
        .keys
        .all()
        .iter()
        .filter_map(|k| issuer.signer_certificate(&k.kid))
        .map(teeka_cert::dcc::signer::to_pem)
        .collect()
}

/// The issuer's own public keys as a verifier's trust list, bound to its origin.
#[must_use]
pub fn issuer_trust(issuer: &Issuer) -> teeka_cert::trust::TrustList {
    let mut trust = teeka_cert::trust::TrustList::new();
    // Only malformed keys are refused, and these come straight from the key ring.
    let _ = trust.add_jwks(&issuer_jwks(issuer), Some(&issuer.origin));
    trust
}

/// Each member's vaccination status (CoWIN's KYC-VS: 0 not, 1 partially, 2 fully vaccinated),
/// named by the caller's id for them (a partner's pairwise id), in a compact JWS signed by the
/// current issuer key (EdDSA, kid in the header). Nothing else about the person is in it.
/// One ledger entry.
///
/// # Errors
/// When the store fails.
pub async fn vaccination_status(
    store: &Store,
    vault: &Vault,
    issuer: &Issuer,
    grant: &CitizenGrant,
    request_id: &str,
) -> Result<(Vec<(String, u8)>, String), AppError> {
    use base64::Engine as _;
    let event = grant.event(
        "certificate.status_check",
        "vaccination status (0/1/2) of the account's members",
        request_id,
    );
    let (rows, _) = store.read_beneficiaries(grant.account_id(), &event).await?;
    let vaccines = store.list_vaccines().await?;
    let mut statuses = Vec::new();
    for row in &rows {
        let doses = store.valid_doses_of(row.subject_id).await?;
        let status = match doses.first() {
            None => 0,
            Some(first) => {
                let primary = vaccines
                    .iter()
                    .find(|v| v.name.as_str() == first.vaccine)
                    .map_or(2, |v| i32::from(v.primary_doses));
                let primary_done = doses.iter().filter(|d| d.dose_number <= primary).count();
                if i32::try_from(primary_done).unwrap_or(i32::MAX) >= primary {
                    2
                } else {
                    1
                }
            }
        };
        let id = match grant.partner_id() {
            Some(partner) => crate::partner::pairwise_id(vault, partner, &row.reference_id),
            None => row.reference_id.clone(),
        };
        statuses.push((id, status));
    }
    let key = issuer.keys.current();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({ "alg": "EdDSA", "kid": key.kid, "typ": "JWT" });
    let payload = json!({
        "iss": issuer.origin,
        "iat": crate::clock::now_ms() / 1000,
        // A status is as of now: a day later it says nothing, so it cannot be replayed for ever.
        "exp": crate::clock::now_ms() / 1000 + 86_400,
        "statuses": statuses
            .iter()
            .map(|(id, s)| json!({ "id": id, "status": s }))
            .collect::<Vec<_>>(),
    });
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(payload.to_string())
    );
    let signature = key.ed25519.sign(signing_input.as_bytes());
    Ok((
        statuses,
        format!("{signing_input}.{}", b64.encode(signature)),
    ))
}

/// The SMART Health Card revocation list (method `rid`) for the P-256 key with thumbprint
/// `kid`: every revoked certificate's rid, whichever key signed it (a rid names one card).
/// `None` when no key of the ring has that thumbprint.
///
/// # Errors
/// When the store fails.
pub async fn shc_crl(store: &Store, issuer: &Issuer, kid: &str) -> Result<Option<Value>, AppError> {
    if !shc_kids(issuer).any(|k| k == kid) {
        return Ok(None);
    }
    let revoked = store.revoked_certificates().await?;
    let rids: Vec<String> = revoked
        .iter()
        .map(|(id, _)| teeka_cert::certificate::shc_rid(id))
        .collect();
    Ok(Some(json!({
        "kid": kid,
        "method": "rid",
        "ctr": shc_crl_counter(rids.len()),
        "rids": rids,
    })))
}

/// What this issuer has revoked, ready for its own verifier (the web call): the same hashes the
/// published lists hold, from one read, without signing a list only to parse it back.
///
/// # Errors
/// When the store fails.
pub async fn issuer_revocations(
    store: &Store,
    issuer: &Issuer,
) -> Result<teeka_cert::verify::Revocations, AppError> {
    let ids = store.revoked_certificates().await?;
    let rids: Vec<(String, Option<i64>)> = ids
        .iter()
        .map(|(id, _)| (teeka_cert::certificate::shc_rid(id), None))
        .collect();
    Ok(teeka_cert::verify::Revocations {
        credential_hashes: ids.iter().map(|(id, _)| revocation_hash(id)).collect(),
        dcc_hashes: ids.iter().map(|(id, _)| dcc_revocation_hash(id)).collect(),
        shc_crls: shc_kids(issuer)
            .map(|kid| teeka_cert::shc::Crl {
                kid,
                ctr: shc_crl_counter(rids.len()),
                rids: rids.clone(),
            })
            .collect(),
    })
}

/// The SMART Health Card kid of each key generation (its P-256 key's JWK thumbprint).
fn shc_kids(issuer: &Issuer) -> impl Iterator<Item = String> + '_ {
    issuer
        .keys
        .all()
        .iter()
        .map(|k| teeka_cert::shc::jwk_thumbprint(k.p256.verifying_key()))
}

/// A CRL's counter. Revocations are never undone, so their number only grows: it serves.
fn shc_crl_counter(revoked: usize) -> u64 {
    u64::try_from(revoked.max(1)).unwrap_or(u64::MAX)
}

/// A certificate id as the revocation list holds it.
#[must_use]
pub fn revocation_hash(certificate_id: &str) -> String {
    teeka_crypto::sha256_hex(certificate_id)
}

/// A certificate id as the EU's hashed-UCI method lists it: the first 16 bytes of SHA-256 over
/// the UVCI, in hex.
#[must_use]
pub fn dcc_revocation_hash(certificate_id: &str) -> String {
    hex::encode(teeka_cert::dcc::revocation_hash_uci(
        &teeka_cert::certificate::dcc_uci(certificate_id),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_ring_keeps_old_certificates_verifying() {
        use teeka_cert::verify::{Revocations, verify_any};
        // Key generations made now: their EU signer certificates (x5c in the JWKS) are valid now.
        let made = crate::clock::now_ms();
        let mut ring = IssuerKeyRing::generate(made).expect("ring");
        let facts = |id: &str| CertificateFacts {
            certificate_id: id.into(),
            issuer: "https://teeka.local".into(),
            ..CertificateFacts::example()
        };
        let row = |id: &str, kid: &str| CertificateRow {
            certificate_id: id.into(),
            dose_id: uuid::Uuid::new_v4(),
            subject_id: uuid::Uuid::new_v4(),
            kind: "final".into(),
            kid: kid.into(),
            issued_at_ms: 1_795_000_000_000,
            revoked_at_ms: None,
        };
        let before = Issuer::new(ring.clone(), "teeka.local/access-ledger");
        let old_kid = ring.current().kid.clone();
        let old = sign_documents(&before, row("1", &old_kid), facts("1"), None).expect("sign");
        let new_kid = ring.rotate(made + 1).expect("rotate");
        let after = Issuer::new(ring, "teeka.local/access-ledger");
        let new = sign_documents(&after, row("2", &new_kid), facts("2"), None).expect("sign");
        let trust = issuer_trust(&after);
        let now = time::OffsetDateTime::now_utc();
        for c in [&old, &new] {
            let verdict = verify_any(c.qr_text().as_bytes(), &trust, &Revocations::default(), now)
                .expect("usable");
            assert!(verdict.valid, "{verdict:?}");
            let card =
                verify_any(c.shc.as_bytes(), &trust, &Revocations::default(), now).expect("usable");
            assert!(card.valid, "{card:?}");
        }
        // Only the published keys verify: a ring that never held the old key does not.
        let stranger = Issuer::new(
            IssuerKeyRing::generate(made).expect("ring"),
            "teeka.local/x",
        );
        let verdict = verify_any(
            old.qr_text().as_bytes(),
            &issuer_trust(&stranger),
            &Revocations::default(),
            now,
        )
        .expect("usable");
        assert!(!verdict.valid);
    }

    #[test]
    fn kinds_follow_the_series() {
        assert_eq!(
            CertificateKind::for_dose(1, 2),
            CertificateKind::Provisional
        );
        assert_eq!(CertificateKind::for_dose(2, 2), CertificateKind::Final);
        assert_eq!(CertificateKind::for_dose(1, 1), CertificateKind::Final);
        assert_eq!(CertificateKind::for_dose(3, 2), CertificateKind::Precaution);
    }
}
