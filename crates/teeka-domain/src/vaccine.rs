//! Vaccines as master data: a canonical name, the maker, the primary series and its intervals.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A vaccine's canonical name as CoWIN wrote it (`COVISHIELD`, `SPUTNIK V`), upper case.
/// Which names exist is master data; this type only guarantees the form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VaccineName(String);

impl VaccineName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for VaccineName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
        if name.is_empty() || name.len() > 40 || !ok_chars {
            return Err(DomainError::invalid(
                "vaccine",
                "must be a vaccine name of letters, digits, spaces or hyphens",
            ));
        }
        Ok(VaccineName(name))
    }
}

impl TryFrom<String> for VaccineName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<VaccineName> for String {
    fn from(v: VaccineName) -> String {
        v.0
    }
}

impl fmt::Display for VaccineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A vaccine and the rules of its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vaccine {
    /// Canonical name.
    pub name: VaccineName,
    /// Who makes it.
    pub manufacturer: String,
    /// Doses in the primary series (1 for single-dose vaccines).
    pub primary_doses: u8,
    /// Minimum days between consecutive primary doses; `primary_doses - 1` entries.
    pub min_interval_days: Vec<u16>,
    /// Minimum days after the last primary dose before a precaution dose.
    pub precaution_after_days: u16,
}

impl Vaccine {
    /// Checks the internal consistency of a master-data entry.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.primary_doses == 0 || self.primary_doses > 4 {
            return Err(DomainError::invalid("primary_doses", "must be 1 to 4"));
        }
        if self.min_interval_days.len() + 1 != usize::from(self.primary_doses) {
            return Err(DomainError::invalid(
                "min_interval_days",
                "needs one interval between each pair of primary doses",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_to_cowin_case() {
        let v: VaccineName = " Sputnik   v ".parse().expect("valid");
        assert_eq!(v.as_str(), "SPUTNIK V");
        assert!("".parse::<VaccineName>().is_err());
        assert!("DROP TABLE;".parse::<VaccineName>().is_err());
    }
}
