//! Teeka's pure domain: the types every other crate speaks in, parsed once at the edge so that
//! nothing inside has to re-check them. No IO, no async, no storage or HTTP types here.
#![forbid(unsafe_code)]

pub mod centre;
pub mod date;
pub mod error;
pub mod identity;
pub mod ids;
pub mod session;
pub mod slot;
pub mod vaccine;
pub mod verhoeff;

pub use centre::{Centre, FeeType, OpeningHours, VaccineFee};
pub use date::CowinDate;
pub use error::DomainError;
pub use identity::{BirthYear, Gender, Mobile, PersonName, PhotoId, PhotoIdType};
pub use ids::{CentreId, DistrictId, Pincode, StateId};
pub use session::{AgeLimits, Capacity, DoseShare, SessionPlan};
pub use slot::SlotBand;
pub use vaccine::{Vaccine, VaccineName};
