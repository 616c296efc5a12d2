//! The certificate PDF as a person and a verifier meet it: rendered by a real PDF renderer
//! (poppler's `pdftoppm`, which `scripts/test.sh` installs), its QR code read back from the
//! picture verifies, and its English and Hindi text reads back from the file (`pdftotext`).

use teeka_cert::certificate::{CertificateFacts, render_certificate_pdf};
use teeka_tests::{pdf_page_png, pdf_text};

fn facts() -> CertificateFacts {
    CertificateFacts {
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

#[test]
fn the_rendered_qr_code_reads_back_as_the_signed_text() {
    let f = facts();
    let text = f.credential().to_string();
    let pdf = render_certificate_pdf(&f, &text).expect("pdf");
    // Screen and print resolutions alike.
    for dpi in [72, 100, 150, 300] {
        let png = pdf_page_png(&pdf, dpi);
        let codes = teeka_cert::qr_image::decode_qr_codes(&png).expect("a QR code on the page");
        assert_eq!(codes.len(), 1, "{dpi} dpi");
        assert_eq!(codes[0].content, text.as_bytes(), "{dpi} dpi");
    }
}

#[test]
fn english_and_hindi_text_read_back_from_the_file() {
    let f = facts();
    let pdf = render_certificate_pdf(&f, &f.credential().to_string()).expect("pdf");
    let text = pdf_text(&pdf);
    for expected in [
        "Final Certificate for COVID-19 Vaccination",
        "कोविड-19 टीकाकरण का अंतिम प्रमाणपत्र",
        "Beneficiary Name / लाभार्थी का नाम",
        "Asha Kumari",
        "PHC Vashi",
        "12345678901234567890",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
}
