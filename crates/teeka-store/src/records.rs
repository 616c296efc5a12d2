//! Plain records the store returns: master data rows and availability views.

use teeka_domain::{Centre, DistrictId, SessionPlan, StateId};

/// A state or union territory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// CoWIN's id.
    pub id: StateId,
    /// CoWIN's name.
    pub name: String,
    /// The first two digits of the state's PIN codes (postal circles), for synthesis and checks.
    pub pin_prefixes: Vec<u16>,
}

/// A district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistrictRecord {
    /// CoWIN's id.
    pub id: DistrictId,
    /// The state it is in.
    pub state_id: StateId,
    /// CoWIN's name, kept exactly (including CoWIN's stray spaces).
    pub name: String,
}

/// A centre with the names of its state and district, as the public API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CentreView {
    /// The centre.
    pub centre: Centre,
    /// Its state's name.
    pub state_name: String,
    /// Its district's name.
    pub district_name: String,
}

/// Doses still bookable online, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DoseCounts {
    /// First dose.
    pub dose1: u32,
    /// Second dose.
    pub dose2: u32,
    /// Precaution dose.
    pub precaution: u32,
}

/// A session and what is left of its online capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAvailability {
    /// The plan.
    pub plan: SessionPlan,
    /// Online capacity not yet booked.
    pub available: DoseCounts,
}

/// A centre and its sessions in a query's range.
#[derive(Debug, Clone, PartialEq)]
pub struct CentreSessions {
    /// The centre.
    pub centre: CentreView,
    /// Its sessions, by date.
    pub sessions: Vec<SessionAvailability>,
}

/// Row counts, for the demo's summary and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// States.
    pub states: i64,
    /// Districts.
    pub districts: i64,
    /// Centres.
    pub centres: i64,
    /// Sessions.
    pub sessions: i64,
}
