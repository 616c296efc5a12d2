//! A vaccination centre: where it is, what it charges, when it is open.

use crate::{CentreId, DistrictId, DomainError, Pincode, StateId, VaccineName};
use serde::{Deserialize, Serialize};

/// Whether a centre charges for vaccination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeeType {
    /// Government centre, no fee.
    Free,
    /// Private centre, a fee per vaccine.
    Paid,
}

impl FeeType {
    /// CoWIN's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FeeType::Free => "Free",
            FeeType::Paid => "Paid",
        }
    }
}

impl std::str::FromStr for FeeType {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Ok(FeeType::Free),
            "paid" => Ok(FeeType::Paid),
            _ => Err(DomainError::invalid("fee_type", "must be Free or Paid")),
        }
    }
}

/// The fee a paid centre charges for one vaccine, in whole rupees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaccineFee {
    /// Which vaccine.
    pub vaccine: VaccineName,
    /// Rupees per dose.
    pub fee: u32,
}

/// Opening hours, minutes after midnight; CoWIN prints them `09:30:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// Opens, minutes after midnight.
    pub from_minute: u16,
    /// Closes, minutes after midnight.
    pub to_minute: u16,
}

impl OpeningHours {
    /// Parses `HH:MM` or `HH:MM:SS` (24-hour clock) pairs.
    pub fn parse(from: &str, to: &str) -> Result<Self, DomainError> {
        let clock = |s: &str| -> Option<u16> {
            let mut parts = s.trim().split(':');
            let h: u16 = parts.next()?.parse().ok()?;
            let m: u16 = parts.next()?.parse().ok()?;
            let sec_ok = parts
                .next()
                .is_none_or(|sec| sec.parse::<u16>().is_ok_and(|v| v < 60));
            (h < 24 && m < 60 && sec_ok && parts.next().is_none()).then_some(h * 60 + m)
        };
        let bad = || DomainError::invalid("opening_hours", "must be HH:MM, opening before closing");
        let (from_minute, to_minute) = (clock(from).ok_or_else(bad)?, clock(to).ok_or_else(bad)?);
        if from_minute >= to_minute {
            return Err(bad());
        }
        Ok(Self {
            from_minute,
            to_minute,
        })
    }

    /// Formats minutes after midnight as CoWIN did: `09:30:00`.
    pub fn format_clock(minute: u16) -> String {
        format!("{:02}:{:02}:00", minute / 60, minute % 60)
    }
}

/// A vaccination centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centre {
    /// CoWIN-style integer id.
    pub id: CentreId,
    /// Display name.
    pub name: String,
    /// Street address of the centre (a place, not a person: centres have addresses, people do not).
    pub address: String,
    /// State.
    pub state_id: StateId,
    /// District, within the state.
    pub district_id: DistrictId,
    /// Block (sub-district) name.
    pub block_name: String,
    /// PIN code.
    pub pincode: Pincode,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub long: f64,
    /// Free or paid.
    pub fee_type: FeeType,
    /// Per-vaccine fees (empty for free centres).
    pub fees: Vec<VaccineFee>,
    /// Opening hours.
    pub hours: OpeningHours,
}

impl Centre {
    /// Checks what the types alone cannot: names present, coordinates on Earth, fees consistent.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(DomainError::invalid("name", "must be 1 to 200 characters"));
        }
        if self.address.len() > 500 || self.block_name.len() > 200 {
            return Err(DomainError::invalid("address", "is too long"));
        }
        if !(-90.0..=90.0).contains(&self.lat) || !(-180.0..=180.0).contains(&self.long) {
            return Err(DomainError::invalid(
                "lat/long",
                "must be valid coordinates",
            ));
        }
        if self.fee_type == FeeType::Free && self.fees.iter().any(|f| f.fee > 0) {
            return Err(DomainError::invalid(
                "fees",
                "a Free centre cannot charge a fee",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_parse_and_print() {
        let h = OpeningHours::parse("09:30", "16:00:00").expect("valid");
        assert_eq!(OpeningHours::format_clock(h.from_minute), "09:30:00");
        assert_eq!(OpeningHours::format_clock(h.to_minute), "16:00:00");
        assert!(OpeningHours::parse("16:00", "09:00").is_err());
        assert!(OpeningHours::parse("25:00", "26:00").is_err());
    }
}
