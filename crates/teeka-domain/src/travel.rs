//! Travel details for an EU Digital COVID Certificate: the name as printed in the passport's
//! machine-readable zone and the full date of birth. Teeka asks for them only from a person who
//! wants a certificate for travel (everyone else gives a year of birth only), and asks for no
//! passport number: the EU format carries none.

use crate::error::DomainError;
use time::Date;

/// A name part as in a passport: 1 to 50 characters of Latin letters, spaces, `-`, `'` and `.`.
fn passport_name(field: &'static str, text: &str) -> Result<String, DomainError> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let len = name.chars().count();
    if len == 0 || len > 50 {
        return Err(DomainError::invalid(field, "must be 1 to 50 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
        || !name.chars().any(|c| c.is_ascii_alphabetic())
    {
        return Err(DomainError::invalid(
            field,
            "must be written in Latin letters, as in the passport",
        ));
    }
    Ok(name)
}

/// The ICAO 9303 machine-readable form of a name part, as the EU format's `fnt`/`gnt` want it:
/// capitals A to Z, `<` for spaces and hyphens, other marks dropped.
#[must_use]
pub fn icao_transliteration(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' => Some(c.to_ascii_uppercase()),
            ' ' | '-' => Some('<'),
            _ => None,
        })
        .take(50)
        .collect()
}

/// What a traveller gives for an EU certificate, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TravelDetails {
    /// Surname, as in the passport.
    pub surname: String,
    /// Given names, as in the passport (may be empty: some passports have none).
    pub given_names: String,
    /// Full date of birth.
    pub date_of_birth: Date,
}

impl TravelDetails {
    /// Parses the three fields; `birth_year` is the year already registered, which the date must
    /// match, and `today` bounds it.
    ///
    /// # Errors
    /// [`DomainError`] naming the field that is wrong.
    pub fn parse(
        surname: &str,
        given_names: &str,
        date_of_birth: &str,
        birth_year: i32,
        today: Date,
    ) -> Result<Self, DomainError> {
        let surname = passport_name("surname", surname)?;
        let given_names = if given_names.trim().is_empty() {
            String::new()
        } else {
            passport_name("given_names", given_names)?
        };
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date_of_birth = Date::parse(date_of_birth.trim(), &format)
            .map_err(|_| DomainError::invalid("date_of_birth", "must be a date as YYYY-MM-DD"))?;
        if date_of_birth.year() != birth_year {
            return Err(DomainError::invalid(
                "date_of_birth",
                "must be in the year of birth registered for this person",
            ));
        }
        if date_of_birth > today {
            return Err(DomainError::invalid("date_of_birth", "is in the future"));
        }
        Ok(Self {
            surname,
            given_names,
            date_of_birth,
        })
    }

    /// Whether the passport name is the registered name: the same words, in any order, once
    /// both are in the passport's machine-readable form. A registered name not written in
    /// Latin letters matches no passport name, since it cannot be compared; the EU certificate
    /// then waits for the registered name to be corrected. Without this check, anyone signed in
    /// on the account could have a signed certificate made out to any name.
    #[must_use]
    pub fn matches_registered_name(&self, registered: &str) -> bool {
        let words = |text: &str| -> Option<Vec<String>> {
            let mut out = Vec::new();
            for word in text.split(|c: char| c.is_whitespace() || c == '-') {
                if word.is_empty() {
                    continue;
                }
                let icao = icao_transliteration(word);
                if icao.is_empty() || word.chars().any(|c| c.is_alphabetic() && !c.is_ascii()) {
                    return None;
                }
                out.push(icao);
            }
            out.sort_unstable();
            Some(out)
        };
        match (
            words(&format!("{} {}", self.given_names, self.surname)),
            words(registered),
        ) {
            (Some(passport), Some(registered)) => !passport.is_empty() && passport == registered,
            _ => false,
        }
    }

    /// The date of birth as `YYYY-MM-DD`.
    #[must_use]
    pub fn date_of_birth_text(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.date_of_birth.year(),
            u8::from(self.date_of_birth.month()),
            self.date_of_birth.day()
        )
    }

    /// The sealed form's plaintext: three lines (surname, given names, date of birth).
    #[must_use]
    pub fn to_record(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.surname,
            self.given_names,
            self.date_of_birth_text()
        )
    }

    /// Reads [`TravelDetails::to_record`] back.
    ///
    /// # Errors
    /// [`DomainError`] when the record is not three valid lines.
    pub fn from_record(record: &str, birth_year: i32, today: Date) -> Result<Self, DomainError> {
        let mut lines = record.split('\n');
        let (Some(surname), Some(given), Some(dob), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(DomainError::invalid(
                "travel_details",
                "not a stored record",
            ));
        };
        Self::parse(surname, given, dob, birth_year, today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_what_a_passport_says_and_refuses_the_rest() {
        let today = date!(2026 - 12 - 06);
        let t = TravelDetails::parse(" D'Souza ", "Asha  Mary", "1990-04-01", 1990, today)
            .expect("valid");
        assert_eq!(t.surname, "D'Souza");
        assert_eq!(t.given_names, "Asha Mary");
        assert_eq!(icao_transliteration(&t.surname), "DSOUZA");
        assert_eq!(icao_transliteration(&t.given_names), "ASHA<MARY");
        assert_eq!(icao_transliteration("Kumar-Singh"), "KUMAR<SINGH");
        let back = TravelDetails::from_record(&t.to_record(), 1990, today).expect("record");
        assert_eq!(back, t);
        assert!(TravelDetails::parse("Kumar", "", "1990-04-01", 1990, today).is_ok());
        // The passport name must be the registered one: same words, any order and case.
        assert!(t.matches_registered_name("Asha Mary D'Souza"));
        assert!(t.matches_registered_name("d'souza asha  mary"));
        assert!(!t.matches_registered_name("Asha D'Souza"));
        assert!(!t.matches_registered_name("Asha Mary D'Souza Khan"));
        assert!(!t.matches_registered_name("आशा मैरी डिसूज़ा"));
        for (surname, dob, year) in [
            ("", "1990-04-01", 1990),
            ("कुमार", "1990-04-01", 1990),
            ("Kumar", "01-04-1990", 1990),
            ("Kumar", "1990-02-30", 1990),
            ("Kumar", "1991-04-01", 1990),
            ("Kumar", "2026-12-07", 2026),
        ] {
            assert!(
                TravelDetails::parse(surname, "Asha", dob, year, today).is_err(),
                "{surname} {dob}"
            );
        }
    }
}
