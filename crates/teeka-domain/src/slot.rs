//! A slot band within a session's day, written `09:00AM-11:00AM` as CoWIN did.

use crate::DomainError;
use std::fmt;
use std::str::FromStr;

/// A time band, minutes after midnight, start strictly before end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotBand {
    start_minute: u16,
    end_minute: u16,
}

impl SlotBand {
    /// Builds a band from minutes after midnight.
    pub fn new(start_minute: u16, end_minute: u16) -> Result<Self, DomainError> {
        if start_minute < end_minute && end_minute <= 24 * 60 {
            Ok(Self {
                start_minute,
                end_minute,
            })
        } else {
            Err(DomainError::invalid("slot", "start must be before end"))
        }
    }

    /// Start, minutes after midnight.
    pub fn start_minute(self) -> u16 {
        self.start_minute
    }

    /// End, minutes after midnight.
    pub fn end_minute(self) -> u16 {
        self.end_minute
    }

    /// Parses a comma-separated list such as `09:00AM-11:00AM,11:00AM-01:00PM`.
    pub fn parse_list(s: &str) -> Result<Vec<SlotBand>, DomainError> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

/// Parses `hh:mmAM` / `hh:mmPM` (12-hour clock) into minutes after midnight.
fn parse_clock(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 7 || b[2] != b':' {
        return None;
    }
    let hour: u16 = s.get(0..2)?.parse().ok()?;
    let minute: u16 = s.get(3..5)?.parse().ok()?;
    if !(1..=12).contains(&hour) || minute > 59 {
        return None;
    }
    let pm = match s.get(5..7)? {
        "AM" | "am" => false,
        "PM" | "pm" => true,
        _ => return None,
    };
    let hour24 = (hour % 12) + if pm { 12 } else { 0 };
    Some(hour24 * 60 + minute)
}

fn write_clock(f: &mut fmt::Formatter<'_>, minutes: u16) -> fmt::Result {
    let (h, m) = (minutes / 60 % 24, minutes % 60);
    let suffix = if h >= 12 { "PM" } else { "AM" };
    let h12 = match h % 12 {
        0 => 12,
        other => other,
    };
    write!(f, "{h12:02}:{m:02}{suffix}")
}

impl FromStr for SlotBand {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::invalid("slot", "must look like 09:00AM-11:00AM");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let start = parse_clock(a.trim()).ok_or_else(bad)?;
        let end = parse_clock(b.trim()).ok_or_else(bad)?;
        SlotBand::new(start, end)
    }
}

impl fmt::Display for SlotBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clock(f, self.start_minute)?;
        f.write_str("-")?;
        write_clock(f, self.end_minute)
    }
}

crate::serde_as_text!(SlotBand);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_cowin_slot_bands() {
        for text in [
            "09:30AM-10:30AM",
            "12:30PM-04:00PM",
            "11:30AM-12:30PM",
            "05:30PM-09:00PM",
        ] {
            let band: SlotBand = text.parse().expect("valid band");
            assert_eq!(band.to_string(), text);
        }
        let list = SlotBand::parse_list("09:00AM-11:00AM,11:00AM-01:00PM").expect("valid list");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].start_minute(), 11 * 60);
        assert_eq!(list[1].end_minute(), 13 * 60);
    }

    #[test]
    fn rejects_reversed_and_malformed_bands() {
        for bad in [
            "11:00AM-09:00AM",
            "9:00AM-11:00AM",
            "09:00-11:00",
            "13:00PM-02:00PM",
            "x",
        ] {
            assert!(bad.parse::<SlotBand>().is_err(), "{bad} should not parse");
        }
    }
}
