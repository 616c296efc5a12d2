//! CoWIN's calendar date, written `DD-MM-YYYY` on the wire.

use crate::DomainError;
use std::fmt;
use std::str::FromStr;
use time::{Date, Month};

/// A calendar date as CoWIN writes it (`24-09-2021`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CowinDate(pub Date);

impl CowinDate {
    /// The date as a `time::Date`.
    pub fn date(self) -> Date {
        self.0
    }

    /// The date `days` later (saturating at the calendar's end).
    pub fn plus_days(self, days: i64) -> CowinDate {
        CowinDate(self.0.saturating_add(time::Duration::days(days)))
    }
}

impl FromStr for CowinDate {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::invalid("date", "must be a real date written DD-MM-YYYY");
        let b = s.trim().as_bytes();
        if b.len() != 10 || b[2] != b'-' || b[5] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, DomainError> {
            let part = &b[r];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            Ok(part
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
        };
        let (day, month, year) = (num(0..2)?, num(3..5)?, num(6..10)?);
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(bad)?;
        let day = u8::try_from(day).map_err(|_| bad())?;
        let year = i32::try_from(year).map_err(|_| bad())?;
        Date::from_calendar_date(year, month, day)
            .map(CowinDate)
            .map_err(|_| bad())
    }
}

impl fmt::Display for CowinDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:02}-{:02}-{:04}",
            d.day(),
            u8::from(d.month()),
            d.year()
        )
    }
}

crate::serde_as_text!(CowinDate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_cowin_dates() {
        let d: CowinDate = "24-09-2021".parse().expect("valid date");
        assert_eq!(d.to_string(), "24-09-2021");
        assert_eq!(d.plus_days(7).to_string(), "01-10-2021");
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for bad in [
            "2021-09-24",
            "31-02-2021",
            "1-9-2021",
            "aa-bb-cccc",
            "",
            "24/09/2021",
        ] {
            assert!(bad.parse::<CowinDate>().is_err(), "{bad} should not parse");
        }
    }
}
