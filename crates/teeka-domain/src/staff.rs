//! Staff roles and the jurisdiction each account is scoped to (centre ⊂ district ⊂ state ⊂
//! nation). What a role may do is decided above this crate; here are only the names and the
//! containment rule.

use crate::error::DomainError;
use crate::ids::{CentreId, DistrictId, StateId};
use std::fmt;
use std::str::FromStr;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffRole {
    /// Gives doses at a centre.
    Vaccinator,
    /// Checks people in at a centre.
    Verifier,
    /// Runs one centre.
    CentreAdmin,
    /// Runs a district.
    DistrictAdmin,
    /// Runs a state.
    StateAdmin,
    /// Runs the nation.
    NationalAdmin,
    /// Reads the ledger, never personal data.
    Auditor,
    /// Manages partners.
    PartnerManager,
}

impl StaffRole {
    /// Every role.
    pub const ALL: [StaffRole; 8] = [
        StaffRole::Vaccinator,
        StaffRole::Verifier,
        StaffRole::CentreAdmin,
        StaffRole::DistrictAdmin,
        StaffRole::StateAdmin,
        StaffRole::NationalAdmin,
        StaffRole::Auditor,
        StaffRole::PartnerManager,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Vaccinator => "vaccinator",
            StaffRole::Verifier => "verifier",
            StaffRole::CentreAdmin => "centre_admin",
            StaffRole::DistrictAdmin => "district_admin",
            StaffRole::StateAdmin => "state_admin",
            StaffRole::NationalAdmin => "national_admin",
            StaffRole::Auditor => "auditor",
            StaffRole::PartnerManager => "partner_manager",
        }
    }

    /// The kind of jurisdiction the role needs.
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            StaffRole::Vaccinator | StaffRole::Verifier | StaffRole::CentreAdmin => {
                ScopeKind::Centre
            }
            StaffRole::DistrictAdmin => ScopeKind::District,
            StaffRole::StateAdmin => ScopeKind::State,
            StaffRole::NationalAdmin | StaffRole::Auditor | StaffRole::PartnerManager => {
                ScopeKind::Nation
            }
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StaffRole {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| DomainError::invalid("role", "is not a staff role"))
    }
}

/// What kind of place a jurisdiction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// One centre.
    Centre,
    /// One district.
    District,
    /// One state.
    State,
    /// The whole country.
    Nation,
}

/// Where an account may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// One centre, in its district and state.
    Centre(CentreId, DistrictId, StateId),
    /// One district, in its state.
    District(DistrictId, StateId),
    /// One state.
    State(StateId),
    /// Everywhere.
    Nation,
}

impl Jurisdiction {
    /// Its kind.
    pub fn kind(self) -> ScopeKind {
        match self {
            Jurisdiction::Centre(..) => ScopeKind::Centre,
            Jurisdiction::District(..) => ScopeKind::District,
            Jurisdiction::State(_) => ScopeKind::State,
            Jurisdiction::Nation => ScopeKind::Nation,
        }
    }

    /// Whether a centre (in its district and state) lies within this jurisdiction.
    pub fn covers_centre(self, centre: CentreId, district: DistrictId, state: StateId) -> bool {
        match self {
            Jurisdiction::Centre(c, _, _) => c == centre,
            Jurisdiction::District(d, _) => d == district,
            Jurisdiction::State(s) => s == state,
            Jurisdiction::Nation => {
                let _ = (centre, district, state);
                true
            }
        }
    }

    /// Whether `other` lies wholly within this jurisdiction.
    pub fn contains(self, other: Jurisdiction) -> bool {
        match other {
            Jurisdiction::Centre(c, d, s) => self.covers_centre(c, d, s),
            Jurisdiction::District(d, s) => match self {
                Jurisdiction::Centre(..) => false,
                Jurisdiction::District(mine, _) => mine == d,
                Jurisdiction::State(mine) => mine == s,
                Jurisdiction::Nation => true,
            },
            Jurisdiction::State(s) => match self {
                Jurisdiction::State(mine) => mine == s,
                Jurisdiction::Nation => true,
                _ => false,
            },
            Jurisdiction::Nation => self == Jurisdiction::Nation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_refused() {
        for role in StaffRole::ALL {
            assert_eq!(role.as_str().parse::<StaffRole>().expect("role"), role);
        }
        assert_eq!(
            "District-Admin".parse::<StaffRole>().expect("role"),
            StaffRole::DistrictAdmin
        );
        assert!("root".parse::<StaffRole>().is_err());
    }

    #[test]
    fn containment_follows_centre_district_state_nation() {
        let centre = Jurisdiction::Centre(CentreId(7), DistrictId(395), StateId(21));
        let district = Jurisdiction::District(DistrictId(395), StateId(21));
        let state = Jurisdiction::State(StateId(21));
        let other_state = Jurisdiction::State(StateId(9));
        assert!(Jurisdiction::Nation.contains(state));
        assert!(state.contains(district) && state.contains(centre));
        assert!(district.contains(centre) && !centre.contains(district));
        assert!(!other_state.contains(centre) && !district.contains(state));
        assert!(!centre.covers_centre(CentreId(8), DistrictId(395), StateId(21)));
    }
}
