//! Who a beneficiary is, as little of it as CoWIN needed: mobile, name, birth year, gender and one
//! photo ID. Personal values never appear whole in `Debug` output or in error messages.

use crate::{DomainError, verhoeff};
use std::fmt;
use std::str::FromStr;

/// The last `keep` characters of `s`, every earlier character replaced by `fill`.
fn mask_all_but_last(s: &str, keep: usize, fill: char) -> String {
    let len = s.chars().count();
    let hidden = len.saturating_sub(keep);
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < hidden { fill } else { c })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mobile
// ---------------------------------------------------------------------------------------------

/// An Indian mobile number: exactly 10 digits, the first 6 to 9.
///
/// Parsing trims the input, ignores spaces and hyphens between digits, and accepts an optional
/// `+91` or `91` country prefix or a leading trunk `0`, keeping only the 10 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    /// The 10 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the last four digits hidden: `******3210`.
    pub fn masked(&self) -> String {
        mask_all_but_last(&self.0, 4, '*')
    }
}

impl FromStr for Mobile {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            DomainError::invalid(
                "mobile",
                "must be a 10-digit Indian mobile number starting with 6, 7, 8 or 9, \
                 optionally preceded by +91 or 0",
            )
        };
        // People write numbers grouped ("98765 43210", "+91-98765-43210"); the grouping carries
        // no meaning, so it is dropped before the form is checked.
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let (plus, digits) = match compact.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Lengths decide the prefix unambiguously: 12 digits must be 91 + number, 11 must be
        // 0 + number, and a '+' is only meaningful before the country code.
        let national = match (plus, digits.len()) {
            (_, 12) => digits.strip_prefix("91"),
            (false, 11) => digits.strip_prefix('0'),
            (false, 10) => Some(digits),
            _ => None,
        }
        .ok_or_else(bad)?;
        match national.as_bytes().first() {
            Some(b'6'..=b'9') => Ok(Mobile(national.to_owned())),
            _ => Err(bad()),
        }
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

// ---------------------------------------------------------------------------------------------
// BirthYear
// ---------------------------------------------------------------------------------------------

/// Year of birth only: a full date of birth is never stored. Plausible years run from 120 years
/// before the current year up to the current year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BirthYear(u16);

impl BirthYear {
    /// The oldest age accepted; anything beyond is almost surely a typo.
    const MAX_AGE: i64 = 120;

    /// Checks `value` against `current_year`, which the caller supplies because this crate never
    /// reads a clock.
    pub fn parse_in(value: i64, current_year: i32) -> Result<Self, DomainError> {
        let current = i64::from(current_year);
        let earliest = current - Self::MAX_AGE;
        if !(earliest..=current).contains(&value) {
            return Err(DomainError::invalid(
                "birth_year",
                format!("must be a year from {earliest} to {current}"),
            ));
        }
        u16::try_from(value)
            .map(BirthYear)
            .map_err(|_| DomainError::invalid("birth_year", "must be a four-digit year"))
    }

    /// The year.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The age reached during `year` (CoWIN counted age as year minus birth year).
    pub fn age_in(self, year: i32) -> i32 {
        year - i32::from(self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Gender
// ---------------------------------------------------------------------------------------------

/// CoWIN's genders, numbered as CoWIN numbered them: 1 Male, 2 Female, 3 Others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Gender {
    /// CoWIN id 1.
    Male,
    /// CoWIN id 2.
    Female,
    /// CoWIN id 3, "Others".
    Other,
}

impl Gender {
    /// Every gender, in CoWIN id order.
    pub const ALL: [Gender; 3] = [Gender::Male, Gender::Female, Gender::Other];

    /// The gender with CoWIN's numeric id.
    pub fn from_cowin_id(id: i64) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|g| i64::from(g.cowin_id()) == id)
            .ok_or_else(|| {
                DomainError::invalid("gender", "must be 1 (Male), 2 (Female) or 3 (Others)")
            })
    }

    /// CoWIN's numeric id.
    pub fn cowin_id(self) -> u8 {
        match self {
            Gender::Male => 1,
            Gender::Female => 2,
            Gender::Other => 3,
        }
    }

    /// CoWIN's display name.
    pub fn cowin_name(self) -> &'static str {
        match self {
            Gender::Male => "Male",
            Gender::Female => "Female",
            Gender::Other => "Others",
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cowin_name())
    }
}

// ---------------------------------------------------------------------------------------------
// Photo IDs
// ---------------------------------------------------------------------------------------------

/// The photo ID documents CoWIN accepted, with CoWIN's stable numeric ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhotoIdType {
    /// 1: Aadhaar Card.
    Aadhaar,
    /// 2: Driving License.
    DrivingLicence,
    /// 3: NPR Smart Card.
    NprSmartCard,
    /// 4: PAN Card.
    Pan,
    /// 5: Passport.
    Passport,
    /// 6: Pension Passbook.
    PensionPassbook,
    /// 7: Voter ID (EPIC).
    VoterId,
    /// 8: Unique Disability ID (UDID).
    Udid,
    /// 9: Ration Card with Photo.
    RationCard,
    /// 10: Student Photo ID Card.
    StudentPhotoId,
    /// 11: Aadhaar Virtual ID.
    AadhaarVirtualId,
}

impl PhotoIdType {
    /// Every kind, in CoWIN id order.
    pub const ALL: [PhotoIdType; 11] = [
        PhotoIdType::Aadhaar,
        PhotoIdType::DrivingLicence,
        PhotoIdType::NprSmartCard,
        PhotoIdType::Pan,
        PhotoIdType::Passport,
        PhotoIdType::PensionPassbook,
        PhotoIdType::VoterId,
        PhotoIdType::Udid,
        PhotoIdType::RationCard,
        PhotoIdType::StudentPhotoId,
        PhotoIdType::AadhaarVirtualId,
    ];

    /// The kind with CoWIN's numeric id.
    pub fn from_cowin_id(id: i64) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| i64::from(k.cowin_id()) == id)
            .ok_or_else(|| {
                DomainError::invalid("photo_id_type", "must be a photo ID type from 1 to 11")
            })
    }

    /// CoWIN's numeric id.
    pub fn cowin_id(self) -> u8 {
        match self {
            PhotoIdType::Aadhaar => 1,
            PhotoIdType::DrivingLicence => 2,
            PhotoIdType::NprSmartCard => 3,
            PhotoIdType::Pan => 4,
            PhotoIdType::Passport => 5,
            PhotoIdType::PensionPassbook => 6,
            PhotoIdType::VoterId => 7,
            PhotoIdType::Udid => 8,
            PhotoIdType::RationCard => 9,
            PhotoIdType::StudentPhotoId => 10,
            PhotoIdType::AadhaarVirtualId => 11,
        }
    }

    /// CoWIN's display name.
    pub fn cowin_name(self) -> &'static str {
        match self {
            PhotoIdType::Aadhaar => "Aadhaar Card",
            PhotoIdType::DrivingLicence => "Driving License",
            PhotoIdType::NprSmartCard => "NPR Smart Card",
            PhotoIdType::Pan => "PAN Card",
            PhotoIdType::Passport => "Passport",
            PhotoIdType::PensionPassbook => "Pension Passbook",
            PhotoIdType::VoterId => "Voter ID (EPIC)",
            PhotoIdType::Udid => "Unique Disability ID (UDID)",
            PhotoIdType::RationCard => "Ration Card with Photo",
            PhotoIdType::StudentPhotoId => "Student Photo ID Card",
            PhotoIdType::AadhaarVirtualId => "Aadhaar Virtual ID",
        }
    }

    /// Checks an already normalised number (upper case ASCII expected, no separators) against
    /// this kind's format; `Err` carries the expected form, never the number.
    fn check(self, n: &str) -> Result<(), &'static str> {
        let b = n.as_bytes();
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        let letters = |r: &[u8]| r.iter().all(u8::is_ascii_uppercase);
        let alnum = |r: &[u8]| {
            r.iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        };
        match self {
            PhotoIdType::Aadhaar => {
                if b.len() != 12 || !digits(b) || matches!(b[0], b'0' | b'1') {
                    Err("an Aadhaar number must be 12 digits, not starting with 0 or 1")
                } else if !verhoeff::is_valid(n) {
                    Err("is not a valid Aadhaar number: its check digit does not match")
                } else {
                    Ok(())
                }
            }
            PhotoIdType::AadhaarVirtualId => {
                if b.len() != 16 || !digits(b) {
                    Err("an Aadhaar Virtual ID must be 16 digits")
                } else if !verhoeff::is_valid(n) {
                    Err("is not a valid Aadhaar Virtual ID: its check digit does not match")
                } else {
                    Ok(())
                }
            }
            PhotoIdType::Pan => {
                // The 4th letter encodes the holder type (P person, C company, H HUF, ...).
                let ok = b.len() == 10
                    && letters(&b[..5])
                    && digits(&b[5..9])
                    && letters(&b[9..])
                    && b"ABCFGHJLPT".contains(&b[3]);
                if ok {
                    Ok(())
                } else {
                    Err(
                        "a PAN must be 5 letters, 4 digits and 1 letter (like AAAPA1234A), \
                         the 4th letter one of A B C F G H J L P T",
                    )
                }
            }
            PhotoIdType::Passport => {
                let ok = b.len() == 8
                    && b[0].is_ascii_uppercase()
                    && !matches!(b[0], b'Q' | b'X' | b'Z')
                    && digits(&b[1..]);
                if ok {
                    Ok(())
                } else {
                    Err("an Indian passport number must be 1 letter (not Q, X or Z) then 7 digits")
                }
            }
            PhotoIdType::VoterId => {
                if b.len() == 10 && letters(&b[..3]) && digits(&b[3..]) {
                    Ok(())
                } else {
                    Err("a Voter ID (EPIC) number must be 3 letters then 7 digits")
                }
            }
            PhotoIdType::DrivingLicence => {
                let ok = matches!(b.len(), 15 | 16)
                    && letters(&b[..2])
                    && digits(&b[2..4])
                    && alnum(&b[4..]);
                if ok {
                    Ok(())
                } else {
                    Err(
                        "a driving licence number must be a 2-letter state code, 2-digit RTO code \
                         and 11 or 12 more letters or digits",
                    )
                }
            }
            PhotoIdType::Udid => {
                if b.len() == 18 && letters(&b[..2]) && digits(&b[2..]) {
                    Ok(())
                } else {
                    Err("a UDID number must be 2 letters then 16 digits")
                }
            }
            PhotoIdType::NprSmartCard
            | PhotoIdType::PensionPassbook
            | PhotoIdType::RationCard
            | PhotoIdType::StudentPhotoId => {
                // Issuers differ too much for a stricter rule; this only keeps out junk.
                if (6..=20).contains(&b.len()) && alnum(b) {
                    Ok(())
                } else {
                    Err("this ID number must be 6 to 20 letters or digits")
                }
            }
        }
    }
}

impl fmt::Display for PhotoIdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cowin_name())
    }
}

/// A photo ID number of a given kind, normalised (upper case, spaces and hyphens removed) and
/// validated as far as the kind's format allows.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhotoId {
    kind: PhotoIdType,
    number: String,
}

impl PhotoId {
    /// Normalises `raw` and checks it against `kind`'s format.
    pub fn parse(kind: PhotoIdType, raw: &str) -> Result<Self, DomainError> {
        // Numbers are printed in groups ("2345 6789 0123", "MH-12-...") and typed in any case;
        // neither carries meaning, so both are erased before checking. Only ASCII is upper-cased:
        // every format is ASCII, and full Unicode casing would turn "ß" into a valid-looking "SS".
        let number: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        kind.check(&number)
            .map_err(|reason| DomainError::invalid("photo_id_number", reason))?;
        Ok(PhotoId { kind, number })
    }

    /// The kind of document.
    pub fn kind(&self) -> PhotoIdType {
        self.kind
    }

    /// The normalised number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The number with every character but the last four replaced by `X`: `XXXXXXXX1234`.
    pub fn masked(&self) -> String {
        // Four characters of a 12-digit Aadhaar say little; four of a 6-character card number
        // say most of it. Show at most a third, and never more than four.
        let shown = (self.number.chars().count() / 3).min(4);
        mask_all_but_last(&self.number, shown, 'X')
    }
}

impl fmt::Debug for PhotoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhotoId")
            .field("kind", &self.kind)
            .field("number", &self.masked())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// PersonName
// ---------------------------------------------------------------------------------------------

/// A person's name as written on their ID: trimmed, runs of whitespace collapsed to one space,
/// 1 to 100 characters of letters in any script (with the combining marks Indic scripts need),
/// spaces, `.`, `'` and `-`, and at least one letter.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    /// Longest name accepted, in characters.
    const MAX_CHARS: usize = 100;

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first character followed by `***`: enough to tell names apart in logs, not to
    /// identify anyone.
    pub fn masked(&self) -> String {
        let mut out: String = self.0.chars().take(1).collect();
        out.push_str("***");
        out
    }
}

/// Whether `c` may appear in a name besides letters and the separators.
///
/// `char::is_alphabetic` rejects combining marks (Unicode category M), yet Indic names cannot be
/// written without vowel signs and viramas ("टीका" has two). std has no category lookup, so the
/// blocks that matter are admitted whole: combining diacritics, and Devanagari through Sinhala.
/// ZWNJ/ZWJ are admitted because some Indic spellings (Malayalam chillu, Bengali ya-phala) need
/// them to render correctly.
fn is_name_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0900}'..='\u{0DFF}' | '\u{200C}' | '\u{200D}')
}

impl FromStr for PersonName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let len = name.chars().count();
        if len == 0 || len > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "name",
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        let ok_chars = name
            .chars()
            .all(|c| c.is_alphabetic() || is_name_mark(c) || matches!(c, ' ' | '.' | '\'' | '-'));
        // A name of only punctuation (".", "--") is no name.
        if !ok_chars || !name.chars().any(char::is_alphabetic) {
            return Err(DomainError::invalid(
                "name",
                "must be letters, spaces, '.', ''' or '-' as written on the photo ID",
            ));
        }
        Ok(PersonName(name))
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(prefix: &str) -> String {
        let d = verhoeff::check_digit(prefix).expect("digits");
        format!("{prefix}{d}")
    }

    fn reason(e: &DomainError) -> String {
        e.to_string()
    }

    // --- Mobile -------------------------------------------------------------------------------

    #[test]
    fn mobile_prefixes_normalise_to_ten_digits() {
        for raw in [
            "9876543210",
            "+919876543210",
            "919876543210",
            "09876543210",
            "  9876543210 ",
            "+91 98765 43210",
            "+91-98765-43210",
        ] {
            let m: Mobile = raw.parse().expect(raw);
            assert_eq!(m.as_str(), "9876543210", "{raw}");
        }
        // A 10-digit number that happens to start with 91 is itself, not a prefixed number.
        assert_eq!(
            "9198765432"
                .parse::<Mobile>()
                .map(|m| m.as_str().to_owned()),
            Ok("9198765432".to_owned())
        );
    }

    #[test]
    fn mobile_rejects_wrong_forms() {
        for raw in [
            "5876543210",
            "98765",
            "98765432101",
            "",
            "+9876543210",
            "+09876543210",
            "929876543210",
            "987654321a",
            "+91+9876543210",
            "0 5876543210",
        ] {
            let e = raw.parse::<Mobile>().expect_err(raw);
            assert_eq!(e.field(), "mobile");
        }
    }

    #[test]
    fn mobile_is_masked_in_debug_and_errors() {
        let m: Mobile = "9876543210".parse().expect("valid");
        assert_eq!(m.masked(), "******3210");
        let dbg = format!("{m:?}");
        assert_eq!(dbg, "Mobile(******3210)");
        assert!(!dbg.contains("9876543210"));
        assert!(!dbg.contains("987654"));

        let e = "5876543210".parse::<Mobile>().expect_err("bad first digit");
        assert!(!reason(&e).contains("5876543210"));
        assert!(!reason(&e).contains("58765"));
    }

    // --- BirthYear ----------------------------------------------------------------------------

    #[test]
    fn birth_year_within_120_years() {
        let y = BirthYear::parse_in(1950, 2026).expect("valid");
        assert_eq!(y.get(), 1950);
        assert_eq!(y.age_in(2026), 76);
        assert_eq!(
            BirthYear::parse_in(1906, 2026).map(BirthYear::get),
            Ok(1906)
        );
        assert_eq!(
            BirthYear::parse_in(2026, 2026).map(BirthYear::get),
            Ok(2026)
        );
        assert!(BirthYear::parse_in(1905, 2026).is_err());
        assert!(BirthYear::parse_in(1900, 2026).is_err());
        assert!(BirthYear::parse_in(2027, 2026).is_err());
        assert!(BirthYear::parse_in(-1, 2026).is_err());
        assert!(BirthYear::parse_in(i64::MAX, 2026).is_err());
        assert_eq!(
            BirthYear::parse_in(1905, 2026).map_err(|e| e.field()),
            Err("birth_year")
        );
        assert!(y < BirthYear::parse_in(1960, 2026).expect("valid"));
    }

    // --- Gender and PhotoIdType ---------------------------------------------------------------

    #[test]
    fn gender_round_trips_cowin_ids() {
        for g in Gender::ALL {
            assert_eq!(Gender::from_cowin_id(i64::from(g.cowin_id())), Ok(g));
        }
        let ids: Vec<u8> = Gender::ALL.iter().map(|g| g.cowin_id()).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(Gender::Other.cowin_name(), "Others");
        for bad in [0, 4, -1, 256 + 1] {
            assert!(Gender::from_cowin_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn photo_id_type_round_trips_cowin_ids() {
        for k in PhotoIdType::ALL {
            assert_eq!(PhotoIdType::from_cowin_id(i64::from(k.cowin_id())), Ok(k));
        }
        let ids: Vec<u8> = PhotoIdType::ALL.iter().map(|k| k.cowin_id()).collect();
        assert_eq!(ids, (1..=11).collect::<Vec<u8>>());
        assert_eq!(PhotoIdType::Aadhaar.cowin_name(), "Aadhaar Card");
        assert_eq!(PhotoIdType::from_cowin_id(7), Ok(PhotoIdType::VoterId));
        for bad in [0, 12, -1, 256 + 1] {
            let e = PhotoIdType::from_cowin_id(bad).expect_err("unknown");
            assert_eq!(e.field(), "photo_id_type");
        }
    }

    // --- Aadhaar ------------------------------------------------------------------------------

    #[test]
    fn aadhaar_accepts_valid_checksum() {
        let n = with_check("23456789012");
        let id = PhotoId::parse(PhotoIdType::Aadhaar, &n).expect("valid");
        assert_eq!(id.number(), n);
        assert_eq!(id.kind(), PhotoIdType::Aadhaar);
        assert_eq!(id.masked(), format!("XXXXXXXX{}", &n[8..]));
    }

    #[test]
    fn aadhaar_normalises_spaces_and_hyphens() {
        let n = with_check("23456789012");
        let spaced = format!(" {} {} {} ", &n[..4], &n[4..8], &n[8..]);
        let hyphened = format!("{}-{}-{}", &n[..4], &n[4..8], &n[8..]);
        for raw in [spaced, hyphened] {
            let id = PhotoId::parse(PhotoIdType::Aadhaar, &raw).expect("valid");
            assert_eq!(id.number(), n);
        }
    }

    #[test]
    fn aadhaar_rejects_bad_numbers_without_echoing_them() {
        let good = with_check("23456789012");
        let last = good.as_bytes()[11];
        let wrong_check = format!(
            "{}{}",
            &good[..11],
            if last == b'9' {
                '0'
            } else {
                char::from(last + 1)
            }
        );
        let cases = [
            with_check("03456789012"),
            with_check("13456789012"),
            with_check("2345678901"),
            with_check("234567890123"),
            wrong_check,
            "23456789012a".to_owned(),
        ];
        for raw in &cases {
            let e = PhotoId::parse(PhotoIdType::Aadhaar, raw).expect_err(raw);
            assert_eq!(e.field(), "photo_id_number");
            let msg = reason(&e);
            assert!(!msg.contains(raw.as_str()), "{msg}");
            assert!(!msg.contains(&raw[..6]), "{msg}");
        }
    }

    #[test]
    fn aadhaar_virtual_id() {
        let n = with_check("912345678901234");
        let id = PhotoId::parse(PhotoIdType::AadhaarVirtualId, &n).expect("valid");
        assert_eq!(id.masked(), format!("XXXXXXXXXXXX{}", &n[12..]));
        assert!(PhotoId::parse(PhotoIdType::AadhaarVirtualId, &n[..15]).is_err());
        let mut broken = n.into_bytes();
        broken.swap(0, 1);
        let broken = String::from_utf8(broken).expect("ascii");
        assert!(PhotoId::parse(PhotoIdType::AadhaarVirtualId, &broken).is_err());
    }

    // --- Other kinds --------------------------------------------------------------------------

    /// One valid example (given unnormalised, with its normal form) and two invalid ones per kind.
    const CASES: [(PhotoIdType, &str, &str, [&str; 2]); 9] = [
        (
            PhotoIdType::Pan,
            "abcpe1234f",
            "ABCPE1234F",
            ["ABCDE1234F", "ABCP1234F"],
        ),
        (
            PhotoIdType::Passport,
            "j 8369854",
            "J8369854",
            ["Q8369854", "J836985"],
        ),
        (
            PhotoIdType::VoterId,
            "abc-1234567",
            "ABC1234567",
            ["AB12345678", "ABC123456"],
        ),
        (
            PhotoIdType::DrivingLicence,
            "MH-12 20110062821",
            "MH1220110062821",
            ["M11220110062821", "MH12201100628"],
        ),
        (
            PhotoIdType::Udid,
            "ka1234567890123456",
            "KA1234567890123456",
            ["K11234567890123456", "KA123456789012345"],
        ),
        (
            PhotoIdType::NprSmartCard,
            "npr 123 456",
            "NPR123456",
            ["NPR12", "NPR/123456"],
        ),
        (
            PhotoIdType::PensionPassbook,
            "PPO-2019-00123",
            "PPO201900123",
            ["12345", "123456789012345678901"],
        ),
        (
            PhotoIdType::RationCard,
            "ka0123456789",
            "KA0123456789",
            ["ABC", "KA012345_789"],
        ),
        (
            PhotoIdType::StudentPhotoId,
            "Roll 2023CS042",
            "ROLL2023CS042",
            ["CS42", "ROLL#2023CS042"],
        ),
    ];

    #[test]
    fn other_kinds_validate_their_formats() {
        for (kind, raw, normal, bad) in CASES {
            let id = PhotoId::parse(kind, raw).unwrap_or_else(|e| panic!("{kind:?} {raw}: {e}"));
            assert_eq!(id.number(), normal, "{kind:?}");
            let masked = id.masked();
            let shown = (normal.len() / 3).min(4);
            let tail: String = normal.chars().skip(normal.len() - shown).collect();
            assert_eq!(masked.len(), normal.len());
            assert!(masked.ends_with(&tail), "{masked}");
            assert!(
                masked[..normal.len() - shown].chars().all(|c| c == 'X'),
                "{masked}: at most a third shown"
            );
            for b in bad {
                let e = PhotoId::parse(kind, b).expect_err(b);
                assert_eq!(e.field(), "photo_id_number");
            }
        }
    }

    #[test]
    fn driving_licence_accepts_older_twelve_char_tail() {
        let id = PhotoId::parse(PhotoIdType::DrivingLicence, "dl04 2011 0012345a").expect("valid");
        assert_eq!(id.number(), "DL0420110012345A");
        assert!(PhotoId::parse(PhotoIdType::DrivingLicence, "DL0420110012345AB").is_err());
    }

    #[test]
    fn pan_holder_type_letters() {
        for t in "ABCFGHJLPT".chars() {
            let pan = format!("AAA{t}A1234A");
            assert!(PhotoId::parse(PhotoIdType::Pan, &pan).is_ok(), "{pan}");
        }
        for t in "DEIKMNOQRSUVWXYZ".chars() {
            let pan = format!("AAA{t}A1234A");
            assert!(PhotoId::parse(PhotoIdType::Pan, &pan).is_err(), "{pan}");
        }
    }

    #[test]
    fn photo_id_debug_is_masked() {
        let n = with_check("23456789012");
        let id = PhotoId::parse(PhotoIdType::Aadhaar, &n).expect("valid");
        let dbg = format!("{id:?}");
        assert!(dbg.contains("Aadhaar"), "{dbg}");
        assert!(dbg.contains(&format!("XXXXXXXX{}", &n[8..])), "{dbg}");
        assert!(!dbg.contains(&n), "{dbg}");
    }

    #[test]
    fn non_ascii_input_is_rejected_not_panicking() {
        for kind in PhotoIdType::ALL {
            assert!(PhotoId::parse(kind, "१२३४५६७८९०१२").is_err(), "{kind:?}");
            assert!(PhotoId::parse(kind, "ßßßßßßßßßß").is_err(), "{kind:?}");
            assert!(PhotoId::parse(kind, "").is_err(), "{kind:?}");
        }
    }

    // --- PersonName ---------------------------------------------------------------------------

    #[test]
    fn person_name_is_collapsed_and_checked() {
        let n: PersonName = "  Ram   Kumar ".parse().expect("valid");
        assert_eq!(n.as_str(), "Ram Kumar");
        let hindi: PersonName = "टीका राम".parse().expect("Devanagari");
        assert_eq!(hindi.as_str(), "टीका राम");
        for ok in [
            "D'Souza",
            "A. R. Rahman",
            "Mary-Jane",
            "José",
            "ಕನ್ನಡ ಹೆಸರು",
            "தமிழ்",
        ] {
            assert!(ok.parse::<PersonName>().is_ok(), "{ok}");
        }
        for bad in ["", "   ", "Robert'); DROP TABLE", "R2D2", ".", "<b>Ram</b>"] {
            let e = bad.parse::<PersonName>().expect_err(bad);
            assert_eq!(e.field(), "name");
        }
        let long = "a".repeat(101);
        assert!(long.parse::<PersonName>().is_err());
        assert!("a".repeat(100).parse::<PersonName>().is_ok());
        // The limit counts characters, not bytes: 100 Devanagari letters are 300 bytes.
        assert!("क".repeat(100).parse::<PersonName>().is_ok());
    }

    #[test]
    fn person_name_is_masked_in_debug() {
        let n: PersonName = "Ram Kumar".parse().expect("valid");
        assert_eq!(n.masked(), "R***");
        assert_eq!(format!("{n:?}"), "PersonName(R***)");
        let hindi: PersonName = "टीका राम".parse().expect("valid");
        assert_eq!(hindi.masked(), "ट***");
    }
}
