//! CoWIN's response bodies, field for field and type for type as the 2021 captures show them
//! (including the quirks: integer `lat`/`long` and `pincode` in session answers, strings in
//! `findByLatLong`; fees as strings; `DD-MM-YYYY` dates).

use serde::Serialize;
use teeka_domain::{FeeType, OpeningHours};
use teeka_store::{CentreSessions, CentreView, DistrictRecord, SessionAvailability, StateRecord};

/// `ttl` as CoWIN sent it on location answers (hours).
pub const LOCATION_TTL: u32 = 24;

/// One state.
#[derive(Serialize)]
pub struct StateOut<'a> {
    state_id: i32,
    state_name: &'a str,
}

/// `GET /v2/admin/location/states`.
#[derive(Serialize)]
pub struct StatesOut<'a> {
    states: Vec<StateOut<'a>>,
    ttl: u32,
}

impl<'a> StatesOut<'a> {
    /// From store records.
    pub fn new(states: &'a [StateRecord]) -> Self {
        Self {
            states: states
                .iter()
                .map(|s| StateOut {
                    state_id: s.id.0,
                    state_name: &s.name,
                })
                .collect(),
            ttl: LOCATION_TTL,
        }
    }
}

/// One district.
#[derive(Serialize)]
pub struct DistrictOut<'a> {
    district_id: i32,
    district_name: &'a str,
}

/// `GET /v2/admin/location/districts/{state_id}`.
#[derive(Serialize)]
pub struct DistrictsOut<'a> {
    districts: Vec<DistrictOut<'a>>,
    ttl: u32,
}

impl<'a> DistrictsOut<'a> {
    /// From store records.
    pub fn new(districts: &'a [DistrictRecord]) -> Self {
        Self {
            districts: districts
                .iter()
                .map(|d| DistrictOut {
                    district_id: d.id.0,
                    district_name: &d.name,
                })
                .collect(),
            ttl: LOCATION_TTL,
        }
    }
}

/// A fee as CoWIN wrote it: rupees as a string.
#[derive(Serialize)]
pub struct FeeOut<'a> {
    vaccine: &'a str,
    fee: String,
}

/// A session inside a calendar centre.
#[derive(Serialize)]
pub struct CalendarSessionOut<'a> {
    session_id: String,
    date: String,
    available_capacity: u32,
    min_age_limit: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age_limit: Option<u8>,
    allow_all_age: bool,
    vaccine: &'a str,
    slots: Vec<String>,
    available_capacity_dose1: u32,
    available_capacity_dose2: u32,
}

impl<'a> CalendarSessionOut<'a> {
    fn new(s: &'a SessionAvailability) -> Self {
        Self {
            session_id: s.plan.id.to_string(),
            date: s.plan.date.to_string(),
            available_capacity: s.available.dose1 + s.available.dose2,
            min_age_limit: s.plan.age.min_age,
            max_age_limit: s.plan.age.max_age,
            allow_all_age: s.plan.age.allow_all_age,
            vaccine: s.plan.vaccine.as_str(),
            slots: s.plan.slots.iter().map(ToString::to_string).collect(),
            available_capacity_dose1: s.available.dose1,
            available_capacity_dose2: s.available.dose2,
        }
    }
}

/// A centre with its sessions (`calendarBy*`).
#[derive(Serialize)]
pub struct CalendarCentreOut<'a> {
    center_id: i64,
    name: &'a str,
    address: &'a str,
    state_name: &'a str,
    district_name: &'a str,
    block_name: &'a str,
    pincode: u32,
    lat: i64,
    long: i64,
    from: String,
    to: String,
    fee_type: &'static str,
    sessions: Vec<CalendarSessionOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vaccine_fees: Option<Vec<FeeOut<'a>>>,
}

/// CoWIN truncated coordinates to whole degrees in session answers.
fn whole_degrees(v: f64) -> i64 {
    v.trunc() as i64
}

impl<'a> CalendarCentreOut<'a> {
    /// From a centre and its sessions.
    pub fn new(cs: &'a CentreSessions) -> Self {
        let c = &cs.centre.centre;
        Self {
            center_id: c.id.0,
            name: &c.name,
            address: &c.address,
            state_name: &cs.centre.state_name,
            district_name: &cs.centre.district_name,
            block_name: &c.block_name,
            pincode: c.pincode.get(),
            lat: whole_degrees(c.lat),
            long: whole_degrees(c.long),
            from: OpeningHours::format_clock(c.hours.from_minute),
            to: OpeningHours::format_clock(c.hours.to_minute),
            fee_type: c.fee_type.as_str(),
            sessions: cs.sessions.iter().map(CalendarSessionOut::new).collect(),
            vaccine_fees: (c.fee_type == FeeType::Paid).then(|| {
                c.fees
                    .iter()
                    .map(|f| FeeOut {
                        vaccine: f.vaccine.as_str(),
                        fee: f.fee.to_string(),
                    })
                    .collect()
            }),
        }
    }
}

/// `calendarByPin` / `calendarByDistrict`.
#[derive(Serialize)]
pub struct CalendarOut<'a> {
    centers: Vec<CalendarCentreOut<'a>>,
}

impl<'a> CalendarOut<'a> {
    /// From grouped sessions.
    pub fn new(rows: &'a [CentreSessions]) -> Self {
        Self {
            centers: rows.iter().map(CalendarCentreOut::new).collect(),
        }
    }
}

/// `calendarByCenter`: one object, not a list.
#[derive(Serialize)]
pub struct CalendarOneOut<'a> {
    centers: CalendarCentreOut<'a>,
}

impl<'a> CalendarOneOut<'a> {
    /// From one centre's sessions.
    pub fn new(row: &'a CentreSessions) -> Self {
        Self {
            centers: CalendarCentreOut::new(row),
        }
    }
}

/// A flat session (`findByPin` / `findByDistrict`): the centre's fields and the session's in one.
#[derive(Serialize)]
pub struct FlatSessionOut<'a> {
    center_id: i64,
    name: &'a str,
    address: &'a str,
    state_name: &'a str,
    district_name: &'a str,
    block_name: &'a str,
    pincode: u32,
    from: String,
    to: String,
    lat: i64,
    long: i64,
    fee_type: &'static str,
    session_id: String,
    date: String,
    available_capacity_dose1: u32,
    available_capacity_dose2: u32,
    available_capacity: u32,
    fee: String,
    min_age_limit: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age_limit: Option<u8>,
    allow_all_age: bool,
    vaccine: &'a str,
    slots: Vec<String>,
}

/// `findByPin` / `findByDistrict`.
#[derive(Serialize)]
pub struct FindOut<'a> {
    sessions: Vec<FlatSessionOut<'a>>,
}

impl<'a> FindOut<'a> {
    /// From grouped sessions, flattened.
    pub fn new(rows: &'a [CentreSessions]) -> Self {
        let mut sessions = Vec::new();
        for cs in rows {
            let c = &cs.centre.centre;
            for s in &cs.sessions {
                let fee = c
                    .fees
                    .iter()
                    .find(|f| f.vaccine == s.plan.vaccine)
                    .map_or(0, |f| f.fee);
                sessions.push(FlatSessionOut {
                    center_id: c.id.0,
                    name: &c.name,
                    address: &c.address,
                    state_name: &cs.centre.state_name,
                    district_name: &cs.centre.district_name,
                    block_name: &c.block_name,
                    pincode: c.pincode.get(),
                    from: OpeningHours::format_clock(c.hours.from_minute),
                    to: OpeningHours::format_clock(c.hours.to_minute),
                    lat: whole_degrees(c.lat),
                    long: whole_degrees(c.long),
                    fee_type: c.fee_type.as_str(),
                    session_id: s.plan.id.to_string(),
                    date: s.plan.date.to_string(),
                    available_capacity_dose1: s.available.dose1,
                    available_capacity_dose2: s.available.dose2,
                    available_capacity: s.available.dose1 + s.available.dose2,
                    fee: fee.to_string(),
                    min_age_limit: s.plan.age.min_age,
                    max_age_limit: s.plan.age.max_age,
                    allow_all_age: s.plan.age.allow_all_age,
                    vaccine: s.plan.vaccine.as_str(),
                    slots: s.plan.slots.iter().map(ToString::to_string).collect(),
                });
            }
        }
        Self { sessions }
    }
}

/// A centre near a point (`findByLatLong`): coordinates and PIN code as strings.
#[derive(Serialize)]
pub struct NearCentreOut<'a> {
    center_id: i64,
    name: &'a str,
    district_name: &'a str,
    state_name: &'a str,
    location: &'a str,
    pincode: String,
    block_name: &'a str,
    lat: String,
    long: String,
}

/// `findByLatLong`.
#[derive(Serialize)]
pub struct NearOut<'a> {
    centers: Vec<NearCentreOut<'a>>,
    ttl: u32,
}

impl<'a> NearOut<'a> {
    /// From centres, nearest first.
    pub fn new(centres: &'a [CentreView]) -> Self {
        Self {
            centers: centres
                .iter()
                .map(|v| NearCentreOut {
                    center_id: v.centre.id.0,
                    name: &v.centre.name,
                    district_name: &v.district_name,
                    state_name: &v.state_name,
                    location: &v.centre.address,
                    pincode: v.centre.pincode.to_string(),
                    block_name: &v.centre.block_name,
                    lat: format!("{:.8}", v.centre.lat),
                    long: format!("{:.8}", v.centre.long),
                })
                .collect(),
            ttl: LOCATION_TTL,
        }
    }
}
