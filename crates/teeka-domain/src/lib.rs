//! Teeka's pure domain: the types every other crate speaks in, parsed once at the edge so that
//! nothing inside has to re-check them. No IO, no async, no storage or HTTP types here.
#![forbid(unsafe_code)]

/// Serialises a type as its `Display` text and deserialises it through its `FromStr`, so that the
/// wire form is exactly the form people write (`24-09-2021`, `09:00AM-11:00AM`).
#[macro_export]
macro_rules! serde_as_text {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod aggregate;
pub mod centre;
pub mod date;
pub mod error;
pub mod identity;
pub mod ids;
pub mod partner;
pub mod session;
pub mod slot;
pub mod staff;
pub mod travel;
pub mod vaccine;
pub mod verhoeff;

pub use centre::{Centre, FeeType, OpeningHours, VaccineFee};
pub use date::CowinDate;
pub use error::DomainError;
pub use identity::{BirthYear, Gender, Mobile, PersonName, PhotoId, PhotoIdType};
pub use ids::{CentreId, DistrictId, Pincode, StateId};
pub use session::{AgeLimits, Capacity, DoseShare, SessionPlan};
pub use slot::SlotBand;
pub use staff::{Jurisdiction, ScopeKind, StaffRole};
pub use vaccine::{Vaccine, VaccineName};
