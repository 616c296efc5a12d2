//! The appointment slip: where and when, who (masked), and the 4-digit code the vaccination desk
//! asks for. It carries no full name, ID number or mobile: a lost slip gives nothing away but
//! the code, which works only at that centre, for those people, with their photo ID.

use crate::pdf::{Font, PAGE_HEIGHT, Page};

/// One person on the slip, already masked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipPerson {
    /// CoWIN's reference id.
    pub reference_id: String,
    /// Name, masked.
    pub name_masked: String,
    /// Year of birth.
    pub birth_year: i32,
    /// Gender, as CoWIN names it.
    pub gender: String,
    /// Photo ID kind and masked number.
    pub photo_id: String,
}

/// What the slip shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentSlip {
    /// The appointment (CoWIN's `appointment_id` and confirmation number).
    pub appointment_id: String,
    /// The centre's name.
    pub centre_name: String,
    /// The centre's address, block, district, state and PIN, one line each.
    pub centre_address: Vec<String>,
    /// The day, `DD-MM-YYYY`.
    pub date: String,
    /// The slot band.
    pub slot: String,
    /// "Dose 1", "Dose 2" or "Precaution dose".
    pub dose: String,
    /// The vaccine.
    pub vaccine: String,
    /// Free or Paid.
    pub fee_type: String,
    /// The people booked.
    pub people: Vec<SlipPerson>,
    /// The 4-digit code.
    pub code: String,
}

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;

/// Renders the slip as a one-page A4 PDF.
pub fn render_slip(slip: &AppointmentSlip) -> Vec<u8> {
    let mut page = Page::default();
    let mut y = PAGE_HEIGHT - 60.0;
    page.text(LEFT, y, Font::Bold, 18.0, "Vaccination Appointment Slip");
    y -= 18.0;
    page.text(
        LEFT,
        y,
        Font::Regular,
        10.0,
        "Teeka - national vaccination drive",
    );
    y -= 14.0;
    page.rule(LEFT, RIGHT, y);

    y -= 24.0;
    let field = |page: &mut Page, y: &mut f32, label: &str, value: &str| {
        page.text(LEFT, *y, Font::Bold, 11.0, label);
        page.text(LEFT + 130.0, *y, Font::Regular, 11.0, value);
        *y -= 17.0;
    };
    field(&mut page, &mut y, "Appointment ID", &slip.appointment_id);
    field(&mut page, &mut y, "Date", &slip.date);
    field(&mut page, &mut y, "Time slot", &slip.slot);
    field(&mut page, &mut y, "Dose", &slip.dose);
    field(&mut page, &mut y, "Vaccine", &slip.vaccine);
    field(&mut page, &mut y, "Fee", &slip.fee_type);
    field(&mut page, &mut y, "Centre", &slip.centre_name);
    for line in &slip.centre_address {
        page.text(LEFT + 130.0, y, Font::Regular, 11.0, line);
        y -= 15.0;
    }

    y -= 14.0;
    page.rect(LEFT, y - 40.0, RIGHT - LEFT, 52.0);
    page.text(
        LEFT + 12.0,
        y - 6.0,
        Font::Bold,
        12.0,
        "Your 4-digit secret code",
    );
    page.text(LEFT + 12.0, y - 28.0, Font::Bold, 22.0, &slip.code);
    page.text(
        LEFT + 110.0,
        y - 26.0,
        Font::Regular,
        9.0,
        "Tell it only to the vaccinator at the desk; nobody from Teeka will ask for it.",
    );
    y -= 70.0;

    page.text(LEFT, y, Font::Bold, 12.0, "Beneficiaries");
    y -= 18.0;
    let columns = [LEFT, LEFT + 110.0, LEFT + 230.0, LEFT + 300.0, LEFT + 365.0];
    for (x, head) in columns
        .iter()
        .zip(["Reference ID", "Name", "Born", "Gender", "Photo ID"])
    {
        page.text(*x, y, Font::Bold, 10.0, head);
    }
    y -= 6.0;
    page.rule(LEFT, RIGHT, y);
    y -= 14.0;
    for person in &slip.people {
        let cells = [
            person.reference_id.as_str(),
            person.name_masked.as_str(),
            &person.birth_year.to_string(),
            person.gender.as_str(),
            person.photo_id.as_str(),
        ];
        for (x, cell) in columns.iter().zip(cells) {
            page.text(*x, y, Font::Regular, 10.0, cell);
        }
        y -= 16.0;
    }

    y -= 20.0;
    for note in [
        "Bring the photo ID you registered with. Arrive within your slot.",
        "This slip shows no full name, ID number or mobile number, by design.",
    ] {
        page.text(LEFT, y, Font::Regular, 9.0, note);
        y -= 13.0;
    }
    page.finish(&format!("Appointment {}", slip.appointment_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slip_shows_the_appointment_the_people_and_the_code() {
        let slip = AppointmentSlip {
            appointment_id: "0b5c-ab".into(),
            centre_name: "PHC (Rural) Kothrud".into(),
            centre_address: vec!["Main Road".into(), "Pune, Maharashtra 411038".into()],
            date: "24-11-2026".into(),
            slot: "09:00AM-11:00AM".into(),
            dose: "Dose 1".into(),
            vaccine: "COVISHIELD".into(),
            fee_type: "Free".into(),
            people: vec![SlipPerson {
                reference_id: "12345678901234".into(),
                name_masked: "A**** K****".into(),
                birth_year: 1990,
                gender: "Female".into(),
                photo_id: "Aadhaar XXXXXXXX1234".into(),
            }],
            code: "4821".into(),
        };
        let pdf = render_slip(&slip);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.7"));
        assert!(text.ends_with("%%EOF\n"));
        for wanted in [
            "(4821)",
            "(12345678901234)",
            "(A**** K****)",
            "(PHC \\(Rural\\) Kothrud)",
            "(24-11-2026)",
            "(09:00AM-11:00AM)",
        ] {
            assert!(text.contains(wanted), "{wanted}");
        }
    }
}
