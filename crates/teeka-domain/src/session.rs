//! A vaccination session: one centre, one day, one vaccine, its age limits, capacity and slots.

use crate::{CentreId, CowinDate, DomainError, SlotBand, VaccineName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who a session is for, by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeLimits {
    /// Youngest age admitted (CoWIN: 18 or 45, later 12, 15, 60).
    pub min_age: u8,
    /// Oldest age admitted, if capped.
    pub max_age: Option<u8>,
    /// CoWIN's flag for sessions open to every adult age: no cap and a minimum of 18 or below.
    /// (CoWIN's captures show `true` on 18+ sessions and `false` on 45+ ones.)
    pub allow_all_age: bool,
}

impl AgeLimits {
    /// Builds age limits; `allow_all_age` follows from the limits as CoWIN set it.
    pub fn new(min_age: u8, max_age: Option<u8>) -> Result<Self, DomainError> {
        if min_age > 120 || max_age.is_some_and(|m| m < min_age || m > 120) {
            return Err(DomainError::invalid(
                "age",
                "min age must be 0-120 and not above max age",
            ));
        }
        Ok(Self {
            min_age,
            max_age,
            allow_all_age: max_age.is_none() && min_age <= 18,
        })
    }
}

/// One dose kind's capacity, split into what is bookable online and what is kept for walk-ins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseShare {
    /// Bookable through the API.
    pub online: u32,
    /// Kept for walk-ins at the desk.
    pub onsite: u32,
}

/// A session's capacity by dose kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// First dose.
    pub dose1: DoseShare,
    /// Second dose.
    pub dose2: DoseShare,
    /// Precaution (booster) dose.
    pub precaution: DoseShare,
}

impl Capacity {
    /// Upper bound on one share, to keep sums far from overflow.
    pub const MAX_SHARE: u32 = 100_000;

    /// Checks each share is within bounds and that the session has some capacity.
    pub fn validate(&self) -> Result<(), DomainError> {
        let shares = [self.dose1, self.dose2, self.precaution];
        if shares
            .iter()
            .any(|s| s.online > Self::MAX_SHARE || s.onsite > Self::MAX_SHARE)
        {
            return Err(DomainError::invalid(
                "capacity",
                "each share must be at most 100000",
            ));
        }
        if shares.iter().all(|s| s.online == 0 && s.onsite == 0) {
            return Err(DomainError::invalid(
                "capacity",
                "a session needs some capacity",
            ));
        }
        Ok(())
    }
}

/// A planned session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPlan {
    /// CoWIN's `session_id`.
    pub id: Uuid,
    /// Where.
    pub centre_id: CentreId,
    /// Which day.
    pub date: CowinDate,
    /// Which vaccine.
    pub vaccine: VaccineName,
    /// For whom.
    pub age: AgeLimits,
    /// How many.
    pub capacity: Capacity,
    /// When in the day, in order.
    pub slots: Vec<SlotBand>,
}

impl SessionPlan {
    /// Checks capacity and slots.
    pub fn validate(&self) -> Result<(), DomainError> {
        self.capacity.validate()?;
        if self.slots.is_empty() || self.slots.len() > 24 {
            return Err(DomainError::invalid(
                "slots",
                "a session needs 1 to 24 slot bands",
            ));
        }
        if self
            .slots
            .windows(2)
            .any(|w| w[0].end_minute() > w[1].start_minute())
        {
            return Err(DomainError::invalid(
                "slots",
                "slot bands must be in order and not overlap",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_limits_follow_cowin_flags() {
        let open = AgeLimits::new(18, None).expect("valid");
        assert!(open.allow_all_age);
        let capped = AgeLimits::new(18, Some(44)).expect("valid");
        assert!(!capped.allow_all_age);
        let older = AgeLimits::new(45, None).expect("valid");
        assert!(!older.allow_all_age, "CoWIN: 45+ sessions are not all-age");
        assert!(AgeLimits::new(45, Some(18)).is_err());
    }

    #[test]
    fn capacity_needs_something_and_not_too_much() {
        assert!(Capacity::default().validate().is_err());
        let mut c = Capacity::default();
        c.dose1.online = 10;
        assert!(c.validate().is_ok());
        c.dose2.onsite = Capacity::MAX_SHARE + 1;
        assert!(c.validate().is_err());
    }
}
