//! Numeric identifiers of places: states, districts, centres, and Indian PIN codes.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim()
                    .parse::<$inner>()
                    .ok()
                    .filter(|v| *v > 0)
                    .map($name)
                    .ok_or_else(|| DomainError::invalid($field, "must be a positive whole number"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A state or union territory, numbered as CoWIN numbered them (1..=37).
    StateId(i32),
    "state_id"
);
numeric_id!(
    /// A district, numbered as CoWIN numbered them.
    DistrictId(i32),
    "district_id"
);
numeric_id!(
    /// A vaccination centre (CoWIN's `center_id`).
    CentreId(i64),
    "center_id"
);

/// An Indian postal index number: six digits, the first not zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Pincode(u32);

impl Pincode {
    /// The PIN code as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Pincode {
    type Error = DomainError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        if (100_000..=999_999).contains(&v) {
            Ok(Pincode(v))
        } else {
            Err(DomainError::invalid(
                "pincode",
                "must be six digits, not starting with 0",
            ))
        }
    }
}

impl From<Pincode> for u32 {
    fn from(p: Pincode) -> u32 {
        p.0
    }
}

impl FromStr for Pincode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "pincode",
                "must be six digits, not starting with 0",
            ));
        }
        s.parse::<u32>()
            .map_err(|_| DomainError::invalid("pincode", "must be six digits"))
            .and_then(Pincode::try_from)
    }
}

impl fmt::Display for Pincode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pincode_needs_six_digits_not_starting_with_zero() {
        assert_eq!("400080".parse::<Pincode>().map(Pincode::get), Ok(400080));
        assert!("040008".parse::<Pincode>().is_err());
        assert!("40008".parse::<Pincode>().is_err());
        assert!("4000801".parse::<Pincode>().is_err());
        assert!("40008a".parse::<Pincode>().is_err());
    }

    #[test]
    fn ids_reject_zero_negative_and_text() {
        assert_eq!("395".parse::<DistrictId>(), Ok(DistrictId(395)));
        assert!("0".parse::<DistrictId>().is_err());
        assert!("-3".parse::<StateId>().is_err());
        assert!("abc".parse::<CentreId>().is_err());
    }
}
