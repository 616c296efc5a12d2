//! A vaccination certificate's content and its forms: the W3C Verifiable Credential in CoWIN's
//! data model (unsigned here; `ld` signs it), the SMART Health Card payload (a FHIR bundle), the
//! QR code, and the printable PDF. Name, gender, age (year of birth in the health card) and the
//! reference id (a partner's copy: its own id for the person) describe the person: no national
//! ID, no mobile, no address (the centre's district and state are the place given).

use crate::typeset::{PAGE_WIDTH, Sheet, TypesetError, Weight};
use serde_json::{Value, json};

/// Everything a certificate states, gathered by the caller from the dose and the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The certificate's id (printed, and hashed into the revocation list).
    pub certificate_id: String,
    /// `provisional`, `final` or `precaution`.
    pub kind: String,
    /// CoWIN's beneficiary reference id.
    pub reference_id: String,
    /// The person's name, in full: the certificate is their own document, matched against
    /// their photo ID by whoever checks it.
    pub name: String,
    /// Gender, as CoWIN names it.
    pub gender: String,
    /// Year of birth.
    pub birth_year: i32,
    /// Age in the year of the dose.
    pub age: i32,
    /// The vaccine.
    pub vaccine: String,
    /// Its batch.
    pub batch: String,
    /// Which dose (1, 2, …).
    pub dose: i32,
    /// Doses in the vaccine's primary series.
    pub total_doses: i32,
    /// The day given, `YYYY-MM-DD`.
    pub given_on: String,
    /// When given (RFC 3339).
    pub given_at: String,
    /// The centre's name.
    pub centre_name: String,
    /// The centre's district.
    pub district: String,
    /// The centre's state.
    pub state: String,
    /// The issuer (its web origin, e.g. `https://teeka.example`).
    pub issuer: String,
    /// When issued (RFC 3339).
    pub issued_at: String,
}

impl CertificateFacts {
    /// A made-up person's final certificate (no real data): what tests, benchmarks and
    /// examples start from, changing the fields they care about.
    #[must_use]
    pub fn example() -> Self {
        Self {
            certificate_id: "12345678901234567890".into(),
            kind: "final".into(),
            reference_id: "12345678901234".into(),
            name: "Asha Kumari".into(),
            gender: "Female".into(),
            birth_year: 1990,
            age: 36,
            vaccine: "COVISHIELD".into(),
            batch: "4121Z005".into(),
            dose: 2,
            total_doses: 2,
            given_on: "2026-11-23".into(),
            given_at: "2026-11-23T05:30:00Z".into(),
            centre_name: "PHC Vashi".into(),
            district: "Thane".into(),
            state: "Maharashtra".into(),
            issuer: "https://teeka.example".into(),
            issued_at: "2026-11-23T05:30:00Z".into(),
        }
    }
}

/// The vaccine's manufacturer, as CoWIN's certificates name it.
#[must_use]
pub fn manufacturer_of(vaccine: &str) -> &'static str {
    match vaccine.to_ascii_uppercase().as_str() {
        "COVISHIELD" => "Serum Institute of India",
        "COVAXIN" => "Bharat Biotech",
        "SPUTNIK V" => "Gamaleya Research Institute",
        "CORBEVAX" => "Biological E",
        "ZYCOV-D" => "Zydus Cadila",
        "COVOVAX" => "Serum Institute of India",
        _ => "Unknown",
    }
}

impl CertificateFacts {
    /// The title printed on the certificate.
    #[must_use]
    pub fn title(&self) -> &'static str {
        match self.kind.as_str() {
            "provisional" => "Provisional Certificate for COVID-19 Vaccination",
            "precaution" => "Certificate for COVID-19 Precaution Dose",
            _ => "Final Certificate for COVID-19 Vaccination",
        }
    }

    /// The unsigned W3C credential in CoWIN's data model. `credentialSubject.id` is the
    /// certificate's own id, never a national ID.
    #[must_use]
    pub fn credential(&self) -> Value {
        let origin = self.issuer.trim_end_matches('/');
        json!({
            "@context": [
                "https://www.w3.org/2018/credentials/v1",
                "https://cowin.gov.in/credentials/vaccination/v1"
            ],
            "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
            "credentialSubject": {
                "type": "Person",
                "id": format!("{origin}/certificate/{}", self.certificate_id),
                "refId": self.reference_id,
                "name": self.name,
                "gender": self.gender,
                "age": self.age.to_string(),
                "nationality": "Indian"
            },
            "issuer": format!("{origin}/"),
            "issuanceDate": self.issued_at,
            "evidence": [{
                "id": format!("{origin}/vaccine/{}", self.certificate_id),
                "infoUrl": format!("{origin}/learn"),
                "feedbackUrl": format!("{origin}/feedback"),
                "certificateId": self.certificate_id,
                "type": ["Vaccination"],
                "batch": self.batch,
                "vaccine": self.vaccine,
                "manufacturer": manufacturer_of(&self.vaccine),
                "date": self.given_at,
                "effectiveStart": self.given_on,
                "dose": self.dose,
                "totalDoses": self.total_doses,
                "facility": {
                    "name": self.centre_name,
                    "address": {
                        "district": self.district,
                        "addressRegion": self.state,
                        "addressCountry": "IN"
                    }
                }
            }],
            "nonTransferable": "true"
        })
    }

    /// The SMART Health Card payload (before signing): a FHIR bundle of the patient (name and
    /// year of birth) and this immunization; `nbf` is `issued_at_secs`.
    #[must_use]
    pub fn shc_payload(&self, issued_at_secs: i64) -> Value {
        let (given, family) = match self.name.rsplit_once(' ') {
            Some((g, f)) => (g.to_owned(), f.to_owned()),
            None => (String::new(), self.name.clone()),
        };
        let mut name = json!({ "family": family });
        if !given.is_empty() {
            name["given"] = json!([given]);
        }
        json!({
            "iss": self.issuer.trim_end_matches('/'),
            "nbf": issued_at_secs,
            "vc": {
                "rid": shc_rid(&self.certificate_id),
                "type": ["https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization"],
                "credentialSubject": {
                    "fhirVersion": "4.0.1",
                    "fhirBundle": {
                        "resourceType": "Bundle",
                        "type": "collection",
                        "entry": [
                            {
                                "fullUrl": "resource:0",
                                "resource": {
                                    "resourceType": "Patient",
                                    "name": [name],
                                    "birthDate": self.birth_year.to_string()
                                }
                            },
                            {
                                "fullUrl": "resource:1",
                                "resource": {
                                    "resourceType": "Immunization",
                                    "status": "completed",
                                    "vaccineCode": {
                                        "coding": [{
                                            "system": "http://hl7.org/fhir/sid/cvx",
                                            "code": cvx_of(&self.vaccine)
                                        }]
                                    },
                                    "patient": { "reference": "resource:0" },
                                    "occurrenceDateTime": self.given_on,
                                    "performer": [{ "actor": { "display": self.centre_name } }],
                                    "lotNumber": self.batch
                                }
                            }
                        ]
                    }
                }
            }
        })
    }
}

/// A traveller's name and date of birth as the EU certificate states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DccHolder {
    /// Surname, as in the passport.
    pub surname: String,
    /// Its ICAO 9303 transliteration (`fnt`).
    pub surname_icao: String,
    /// Given names, as in the passport (may be empty).
    pub given_names: String,
    /// Their ICAO 9303 transliteration (`gnt`).
    pub given_names_icao: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
}

/// The EU certificate's unique identifier (UVCI) for a certificate id: the same id the other
/// formats carry, so one revocation revokes every form.
#[must_use]
pub fn dcc_uci(certificate_id: &str) -> String {
    format!("URN:UVCI:01:IN:TEEKA{certificate_id}")
}

/// The EU value-set codes of a vaccine: (vaccine type, medicinal product, marketing
/// authorisation holder or manufacturer). A test checks them against the EU value sets; a
/// vaccine the value sets do not list is named as CoWIN names it.
#[must_use]
pub fn dcc_vaccine_codes(vaccine: &str) -> (&'static str, String, &'static str) {
    // SNOMED CT: non-replicating viral vector vaccines, and antigen (inactivated, protein
    // subunit) vaccines.
    const VIRAL_VECTOR: &str = "29061000087103";
    const ANTIGEN: &str = "1119305005";
    match vaccine.to_ascii_uppercase().as_str() {
        "COVISHIELD" => (VIRAL_VECTOR, "Covishield".into(), "ORG-100001981"),
        "SPUTNIK V" => (
            VIRAL_VECTOR,
            "Sputnik-V".into(),
            "Gamaleya-Research-Institute",
        ),
        "COVAXIN" => (ANTIGEN, "Covaxin".into(), "Bharat-Biotech"),
        "COVOVAX" => (ANTIGEN, "Covovax".into(), "ORG-100001981"),
        _ => (ANTIGEN, vaccine.to_owned(), "Biological-E"),
    }
}

impl CertificateFacts {
    /// The EU DCC payload (schema 1.3.0) of this dose for `holder`: no reference id, no
    /// national ID, no place but the country.
    #[must_use]
    pub fn dcc_payload(&self, holder: &DccHolder) -> Value {
        let (vp, mp, ma) = dcc_vaccine_codes(&self.vaccine);
        let mut name = json!({ "fn": holder.surname, "fnt": holder.surname_icao });
        if !holder.given_names.is_empty() {
            name["gn"] = json!(holder.given_names);
            name["gnt"] = json!(holder.given_names_icao);
        }
        json!({
            "ver": "1.3.0",
            "nam": name,
            "dob": holder.date_of_birth,
            "v": [{
                "tg": "840539006",
                "vp": vp,
                "mp": mp,
                "ma": ma,
                "dn": self.dose,
                "sd": self.total_doses,
                "dt": self.given_on,
                "co": "IN",
                "is": "Teeka",
                "ci": dcc_uci(&self.certificate_id),
            }]
        })
    }
}

/// A certificate's SMART Health Card revocation id: 64 bits of a hash of its id, base64url
/// (the id itself is not in the card, and the list of rids names no certificate by it).
#[must_use]
pub fn shc_rid(certificate_id: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("teeka-shc-rid:{certificate_id}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..8])
}

/// The CDC CVX code of a vaccine (SMART Health Cards name vaccines by it); 213 is "SARS-COV-2
/// (COVID-19) vaccine, unspecified formulation".
fn cvx_of(vaccine: &str) -> &'static str {
    match vaccine.to_ascii_uppercase().as_str() {
        "COVISHIELD" => "210",
        "COVAXIN" => "502",
        "SPUTNIK V" => "505",
        "COVOVAX" => "211",
        _ => "213",
    }
}

/// An Ed25519 public key as a JWK (RFC 8037) with `kid`.
#[must_use]
pub fn ed25519_jwk(public: &[u8; 32], kid: &str) -> Value {
    use base64::Engine as _;
    json!({
        "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
    })
}

/// An issuer generation's public keys as PEM (SPKI): Ed25519, then P-256. A key that cannot
/// be encoded (never, for keys from the ring) gives an empty string.
#[must_use]
pub fn public_key_pems(ed25519: &[u8; 32], p256: &p256::ecdsa::VerifyingKey) -> (String, String) {
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    let ed = ed25519_dalek::VerifyingKey::from_bytes(ed25519)
        .ok()
        .and_then(|k| k.to_public_key_pem(Default::default()).ok())
        .unwrap_or_default();
    let ec = p256
        .to_public_key_pem(Default::default())
        .unwrap_or_default();
    (ed, ec)
}

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the payload does not fit in a QR code: {0}")]
pub struct QrTooLarge(String);

/// Why a certificate PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertificatePdfError {
    /// The QR code's text is too long.
    #[error(transparent)]
    Qr(#[from] QrTooLarge),
    /// The PDF writer refused.
    #[error(transparent)]
    Pdf(#[from] TypesetError),
}

/// The dark modules of a QR code for `text` (error correction M where it fits, else L), as a
/// square grid of `width` × `width`, row by row, top row first.
///
/// One mask pattern, always the same, instead of trying all eight for the lowest penalty: every
/// mask is valid and readers handle each; scoring eight masks of a version-30 code is most of
/// the cost of issuing a certificate.
pub fn qr_modules(text: &str) -> Result<(usize, Vec<bool>), QrTooLarge> {
    use qrcode::canvas::{Canvas, MaskPattern};
    use qrcode::{Color, EcLevel};
    let too_large = |e: qrcode::types::QrError| QrTooLarge(e.to_string());
    let (bits, ec_level) = match qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M) {
        Ok(bits) => (bits, EcLevel::M),
        Err(_) => (
            qrcode::bits::encode_auto(text.as_bytes(), EcLevel::L).map_err(too_large)?,
            EcLevel::L,
        ),
    };
    let version = bits.version();
    let data = bits.into_bytes();
    let (encoded, ec) =
        qrcode::ec::construct_codewords(&data, version, ec_level).map_err(too_large)?;
    let mut canvas = Canvas::new(version, ec_level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&encoded, &ec);
    canvas.apply_mask(MaskPattern::Checkerboard);
    let width = usize::try_from(version.width()).map_err(|_| QrTooLarge("bad version".into()))?;
    let dark = canvas
        .into_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((width, dark))
}

const LEFT: f32 = 50.0;

impl CertificateFacts {
    /// The title in Hindi.
    #[must_use]
    pub fn title_hindi(&self) -> &'static str {
        match self.kind.as_str() {
            "provisional" => "कोविड-19 टीकाकरण का अनंतिम प्रमाणपत्र",
            "precaution" => "कोविड-19 एहतियाती खुराक का प्रमाणपत्र",
            _ => "कोविड-19 टीकाकरण का अंतिम प्रमाणपत्र",
        }
    }
}

/// Renders the certificate as a one-page A4 PDF in English and Hindi: the title, the person,
/// the dose, the centre, and the QR code of `qr_text` (the signed credential), which any
/// verifier reads offline.
///
/// # Errors
/// When the text does not fit a QR code, or the PDF writer refuses.
pub fn render_certificate_pdf(
    facts: &CertificateFacts,
    qr_text: &str,
) -> Result<Vec<u8>, CertificatePdfError> {
    let mut sheet = Sheet::default();
    let mut y = 64.0;
    sheet.text(LEFT, y, Weight::Bold, 16.0, facts.title());
    y += 22.0;
    sheet.text(LEFT, y, Weight::Bold, 14.0, facts.title_hindi());
    y += 18.0;
    sheet.text(
        LEFT,
        y,
        Weight::Regular,
        8.5,
        "Issued by Teeka (टीका). Scan the QR code with any verifier: it is signed and checks offline.",
    );
    y += 9.0;
    sheet.rule(LEFT, PAGE_WIDTH - LEFT, y);
    y += 20.0;
    let rows = [
        (
            "Certificate ID",
            "प्रमाणपत्र आईडी",
            facts.certificate_id.clone(),
        ),
        ("Beneficiary Name", "लाभार्थी का नाम", facts.name.clone()),
        ("Age", "आयु", facts.age.to_string()),
        ("Gender", "लिंग", facts.gender.clone()),
        (
            "Beneficiary Reference ID",
            "लाभार्थी संदर्भ आईडी",
            facts.reference_id.clone(),
        ),
        ("Vaccine Name", "टीके का नाम", facts.vaccine.clone()),
        (
            "Manufacturer",
            "निर्माता",
            manufacturer_of(&facts.vaccine).to_owned(),
        ),
        ("Batch", "बैच", facts.batch.clone()),
        (
            "Dose Number",
            "खुराक संख्या",
            format!("{} of {}", facts.dose, facts.total_doses),
        ),
        ("Date of Dose", "खुराक की तारीख", facts.given_on.clone()),
        (
            "Vaccination Centre",
            "टीकाकरण केंद्र",
            facts.centre_name.clone(),
        ),
        (
            "District, State",
            "ज़िला, राज्य",
            format!("{}, {}", facts.district, facts.state),
        ),
        ("Issued", "जारी", facts.issued_at.clone()),
    ];
    for (english, hindi, value) in rows {
        sheet.text(LEFT, y, Weight::Bold, 9.5, &format!("{english} / {hindi}"));
        sheet.text(LEFT + 210.0, y, Weight::Regular, 10.0, &value);
        y += 17.0;
    }
    let (width, dark) = qr_modules(qr_text)?;
    // The code plus a four-module quiet zone fits a 400-point square; modules are whole or half
    // points at whole-point positions, so that at common resolutions (72, 96, 150, 300 dpi)
    // every module covers whole pixels and edges stay sharp for simple readers.
    let module = ((400.0 / (width as f32 + 8.0)) * 2.0)
        .floor()
        .clamp(2.0, 6.0)
        / 2.0;
    let side = module * width as f32;
    let left = ((PAGE_WIDTH - side) / 2.0).round();
    let top = (y + 4.0 * module).round();
    // Each row's runs of dark modules as one rectangle: a third as many shapes to write and
    // compress as one square a module, which was most of the PDF's cost.
    let mut runs = Vec::new();
    for (row, cells) in dark.chunks(width).enumerate() {
        let mut col = 0;
        while col < width {
            if !cells[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < width && cells[col] {
                col += 1;
            }
            runs.push((
                left + start as f32 * module,
                top + row as f32 * module,
                (col - start) as f32 * module,
                module,
            ));
        }
    }
    sheet.rectangles(runs);
    sheet.text(
        LEFT,
        crate::typeset::PAGE_HEIGHT - 58.0,
        Weight::Regular,
        8.0,
        "No national ID, mobile number or address is printed here or held in the QR code.",
    );
    sheet.text(
        LEFT,
        crate::typeset::PAGE_HEIGHT - 44.0,
        Weight::Regular,
        8.0,
        "इस प्रमाणपत्र और इसके क्यूआर कोड में कोई राष्ट्रीय पहचान संख्या, मोबाइल नंबर या पता नहीं है।",
    );
    Ok(sheet.finish(facts.title())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn facts() -> CertificateFacts {
        CertificateFacts {
            certificate_id: "123456789012".into(),
            kind: "provisional".into(),
            dose: 1,
            ..CertificateFacts::example()
        }
    }

    #[test]
    fn the_credential_names_no_national_id_and_has_cowins_shape() {
        let vc = facts().credential();
        assert_eq!(vc["type"][1], "ProofOfVaccinationCredential");
        assert_eq!(vc["credentialSubject"]["age"], "36");
        assert!(
            vc["credentialSubject"]["id"]
                .as_str()
                .is_some_and(|id| id.ends_with("/certificate/123456789012"))
        );
        assert_eq!(
            vc["evidence"][0]["manufacturer"],
            "Serum Institute of India"
        );
        assert!(vc["credentialSubject"].get("address").is_none());
    }

    #[test]
    fn the_pdf_embeds_its_fonts() {
        let f = facts();
        let pdf = render_certificate_pdf(&f, &f.credential().to_string()).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        // Both families are embedded (subset), with a ToUnicode map so the text can be read back.
        assert!(text.contains("NotoSans-Regular"), "Latin font embedded");
        assert!(
            text.contains("NotoSansDevanagari"),
            "Devanagari font embedded"
        );
        assert!(text.contains("/ToUnicode"));
    }
}
