//! The certificate PDF as a person and a verifier meet it: rendered by a real PDF renderer
//! (poppler's `pdftoppm`, which `scripts/test.sh` installs), its QR code read back from the
//! picture is the text it was given, and its English and Hindi text reads back from the file
//! (`pdftotext`).

use teeka_cert::certificate::{CertificateFacts, render_certificate_pdf};
use teeka_tests::{pdf_page_png, pdf_text};

#[test]
fn the_rendered_qr_code_reads_back_as_the_signed_text() {
    let f = CertificateFacts::example();
    let text = f.credential().to_string();
    let pdf = render_certificate_pdf(&f, &text).expect("pdf");
    // Screen and print resolutions alike, including those where a module is a fraction of a
    // pixel over two (92 and 96 dpi failed before enlarged pictures were also smoothed).
    for dpi in [64, 72, 80, 88, 92, 96, 100, 110, 120, 150, 200, 300] {
        let png = pdf_page_png(&pdf, dpi);
        let codes = teeka_cert::qr_image::decode_qr_codes(&png).expect("a QR code on the page");
        assert_eq!(codes.len(), 1, "{dpi} dpi");
        assert_eq!(codes[0].content, text.as_bytes(), "{dpi} dpi");
    }
}

#[test]
fn english_and_hindi_text_read_back_from_the_file() {
    let f = CertificateFacts::example();
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

#[test]
fn a_name_in_any_indian_script_is_printed_in_its_own_letters() {
    // The name rule admits every Indian script; each has a bundled font, so a Tamil or Bengali
    // name is printed, not replaced by boxes, and reads back as the same text.
    for name in [
        "সুমিত্রা দাস",
        "ਗੁਰਪ੍ਰੀਤ ਕੌਰ",
        "હર્ષ પટેલ",
        "ସୁଭଦ୍ରା ମହାପାତ୍ର",
        "முத்துலட்சுமி",
        "శ్రీనివాస్ రెడ్డి",
        "ಲಕ್ಷ್ಮೀ ನಾರಾಯಣ",
        "കൃഷ്ണൻ നായർ",
        "टीका राम",
    ] {
        let f = CertificateFacts {
            name: name.into(),
            ..CertificateFacts::example()
        };
        let pdf = render_certificate_pdf(&f, &f.credential().to_string()).expect("pdf");
        // Letter for letter; pdftotext guesses word gaps from glyph positions and puts one
        // inside an Oriya word whose vowel sign hangs below, so spaces are left out of it.
        let letters = |s: &str| s.split_whitespace().collect::<String>();
        let text = pdf_text(&pdf);
        assert!(
            letters(&text).contains(&letters(name)),
            "{name:?} not in {text}"
        );
        // The page still renders and its code still reads.
        let codes = teeka_cert::qr_image::decode_qr_codes(&pdf_page_png(&pdf, 150))
            .expect("a QR code on the page");
        assert_eq!(codes.len(), 1, "{name}");
    }
}
