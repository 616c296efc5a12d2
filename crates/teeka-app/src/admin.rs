//! Facility and session administration before the staff interface exists: the CLI's
//! `admin facility add|import` and `admin session add|import`. Imports are all-or-nothing and
//! name the record that is wrong.

use crate::AppError;
use crate::demo::default_slots;
use serde::Deserialize;
use std::collections::HashSet;
use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, CowinDate, DistrictId, DoseShare, FeeType, OpeningHours,
    Pincode, SessionPlan, SlotBand, StateId, VaccineFee, VaccineName,
};
use teeka_store::Store;
use uuid::Uuid;

/// A number that may arrive as JSON number or text (CSV cells are always text).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A JSON number.
    Number(u64),
    /// Text.
    Text(String),
}

impl NumberOrText {
    fn as_text(&self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Text(t) => t.clone(),
        }
    }
}

fn default_fee_type() -> String {
    "Free".into()
}
fn default_from() -> String {
    "09:00".into()
}
fn default_to() -> String {
    "17:00".into()
}
fn default_min_age() -> u8 {
    18
}

/// A facility as an operator writes it (JSON object or CSV row with these column names).
#[derive(Debug, Clone, Deserialize)]
pub struct FacilityInput {
    /// CoWIN-style id; required in imports, allocated by `add` when absent.
    #[serde(default)]
    pub center_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// State id.
    pub state_id: i32,
    /// District id (must be in the state).
    pub district_id: i32,
    /// Block name.
    #[serde(default)]
    pub block_name: String,
    /// Six-digit PIN code.
    pub pincode: NumberOrText,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub long: f64,
    /// `Free` or `Paid`.
    #[serde(default = "default_fee_type")]
    pub fee_type: String,
    /// Fees as `COVISHIELD=780,COVAXIN=1410` (paid centres).
    #[serde(default)]
    pub fees: String,
    /// Opening time, `HH:MM`.
    #[serde(default = "default_from")]
    pub from: String,
    /// Closing time, `HH:MM`.
    #[serde(default = "default_to")]
    pub to: String,
}

/// A session plan as an operator writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionInput {
    /// The centre.
    pub center_id: i64,
    /// `DD-MM-YYYY`.
    pub date: String,
    /// Vaccine name.
    pub vaccine: String,
    /// Dose 1 capacity bookable online.
    pub dose1: u32,
    /// Dose 2 capacity bookable online.
    pub dose2: u32,
    /// Precaution capacity bookable online.
    #[serde(default)]
    pub precaution: u32,
    /// Dose 1 capacity kept for walk-ins.
    #[serde(default)]
    pub dose1_onsite: u32,
    /// Dose 2 capacity kept for walk-ins.
    #[serde(default)]
    pub dose2_onsite: u32,
    /// Precaution capacity kept for walk-ins.
    #[serde(default)]
    pub precaution_onsite: u32,
    /// Youngest age admitted.
    #[serde(default = "default_min_age")]
    pub min_age: u8,
    /// Oldest age admitted.
    #[serde(default)]
    pub max_age: Option<u8>,
    /// Slot bands, `09:00AM-11:00AM,11:00AM-01:00PM`; derived from opening hours when absent.
    #[serde(default)]
    pub slots: Option<String>,
}

/// Parses a file of records: a JSON array (or one object), or CSV with a header row.
pub fn parse_records<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, AppError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| AppError::BadInput(format!("JSON: {e}")))
    } else if trimmed.starts_with('{') {
        serde_json::from_str(trimmed)
            .map(|one| vec![one])
            .map_err(|e| AppError::BadInput(format!("JSON: {e}")))
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        reader
            .deserialize()
            .enumerate()
            .map(|(i, row)| {
                row.map_err(|e| AppError::BadInput(format!("CSV record {}: {e}", i + 1)))
            })
            .collect()
    }
}

fn parse_fees(text: &str) -> Result<Vec<VaccineFee>, AppError> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, fee) = pair.split_once('=').ok_or_else(|| {
                AppError::BadInput("fees: write VACCINE=RUPEES, comma-separated".into())
            })?;
            Ok(VaccineFee {
                vaccine: name.parse()?,
                fee: fee
                    .trim()
                    .parse()
                    .map_err(|_| AppError::BadInput("fees: the fee must be whole rupees".into()))?,
            })
        })
        .collect()
}

/// The vaccines master data knows.
async fn known_vaccines(store: &Store) -> Result<HashSet<VaccineName>, AppError> {
    Ok(store
        .list_vaccines()
        .await?
        .into_iter()
        .map(|v| v.name)
        .collect())
}

/// Facility administration.
pub struct Facilities<'a> {
    store: &'a Store,
}

impl<'a> Facilities<'a> {
    /// Works on `store`.
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Parses and checks a facility against master data (district in state, vaccines known).
    async fn to_centre(
        &self,
        input: &FacilityInput,
        known_vaccines: &HashSet<VaccineName>,
    ) -> Result<Centre, AppError> {
        let district = self
            .store
            .get_district(DistrictId(input.district_id))
            .await?
            .ok_or_else(|| {
                AppError::BadInput(format!("district_id {} does not exist", input.district_id))
            })?;
        if district.state_id != StateId(input.state_id) {
            return Err(AppError::BadInput(format!(
                "district_id {} is not in state_id {}",
                input.district_id, input.state_id
            )));
        }
        let fees = parse_fees(&input.fees)?;
        if let Some(unknown) = fees.iter().find(|f| !known_vaccines.contains(&f.vaccine)) {
            return Err(AppError::BadInput(format!(
                "fees: unknown vaccine {}",
                unknown.vaccine
            )));
        }
        let centre = Centre {
            id: CentreId(input.center_id.unwrap_or(0)),
            name: input.name.trim().to_owned(),
            address: input.address.trim().to_owned(),
            state_id: StateId(input.state_id),
            district_id: DistrictId(input.district_id),
            block_name: if input.block_name.trim().is_empty() {
                district.name.trim().to_owned()
            } else {
                input.block_name.trim().to_owned()
            },
            pincode: input.pincode.as_text().parse::<Pincode>()?,
            lat: input.lat,
            long: input.long,
            fee_type: input.fee_type.parse::<FeeType>()?,
            fees,
            hours: OpeningHours::parse(&input.from, &input.to)?,
        };
        centre.validate()?;
        // India lies within about 6-38° N and 68-98° E: swapped or foreign coordinates are a typo.
        if !(6.0..=38.0).contains(&centre.lat) || !(68.0..=98.0).contains(&centre.long) {
            return Err(AppError::BadInput(
                "lat/long: must be a place in India (latitude 6 to 38, longitude 68 to 98)".into(),
            ));
        }
        let prefix = u16::try_from(centre.pincode.get() / 10_000).unwrap_or(0);
        let state = self
            .store
            .list_states()
            .await?
            .into_iter()
            .find(|s| s.id == centre.state_id);
        if let Some(state) = state
            && !state.pin_prefixes.is_empty()
            && !state.pin_prefixes.contains(&prefix)
        {
            return Err(AppError::BadInput(format!(
                "pincode: PIN codes in {} start with {:?}",
                state.name, state.pin_prefixes
            )));
        }
        Ok(centre)
    }

    /// Adds one facility; allocates the next id when none is given. Returns the id.
    pub async fn add(&self, input: &FacilityInput) -> Result<CentreId, AppError> {
        let known = known_vaccines(self.store).await?;
        let centre = self.to_centre(input, &known).await?;
        match input.center_id {
            Some(id) if id > 0 => {
                self.store
                    .insert_centres(std::slice::from_ref(&centre))
                    .await?;
                Ok(CentreId(id))
            }
            Some(_) => Err(AppError::BadInput("center_id must be positive".into())),
            None => Ok(self.store.insert_centre_with_next_id(&centre).await?),
        }
    }

    /// Imports facilities, all or none; every record needs its `center_id`.
    pub async fn import(&self, inputs: &[FacilityInput]) -> Result<usize, AppError> {
        let known = known_vaccines(self.store).await?;
        let mut centres = Vec::with_capacity(inputs.len());
        let mut seen = HashSet::new();
        for (i, input) in inputs.iter().enumerate() {
            let at = |e: AppError| AppError::BadInput(format!("record {}: {e}", i + 1));
            let id = input.center_id.filter(|id| *id > 0).ok_or_else(|| {
                at(AppError::BadInput(
                    "center_id is required in an import".into(),
                ))
            })?;
            if !seen.insert(id) {
                return Err(at(AppError::BadInput(format!(
                    "center_id {id} appears twice"
                ))));
            }
            if self.store.get_centre(CentreId(id)).await?.is_some() {
                return Err(at(AppError::Conflict(format!(
                    "center_id {id} already exists"
                ))));
            }
            centres.push(self.to_centre(input, &known).await.map_err(at)?);
        }
        self.store.insert_centres(&centres).await?;
        Ok(centres.len())
    }
}

/// Session-plan administration.
pub struct Sessions<'a> {
    store: &'a Store,
}

impl<'a> Sessions<'a> {
    /// Works on `store`.
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    async fn to_plan(
        &self,
        input: &SessionInput,
        today: CowinDate,
        known: &HashSet<VaccineName>,
    ) -> Result<SessionPlan, AppError> {
        let centre = self
            .store
            .get_centre(CentreId(input.center_id))
            .await?
            .ok_or_else(|| {
                AppError::BadInput(format!("center_id {} does not exist", input.center_id))
            })?;
        let date: CowinDate = input.date.parse()?;
        if date < today {
            return Err(AppError::BadInput(
                "date: a session cannot be planned in the past".into(),
            ));
        }
        if date > today.plus_days(365) {
            return Err(AppError::BadInput(
                "date: sessions are planned at most a year ahead".into(),
            ));
        }
        let vaccine: VaccineName = input.vaccine.parse()?;
        if !known.contains(&vaccine) {
            return Err(AppError::BadInput(format!(
                "vaccine: unknown vaccine {vaccine}"
            )));
        }
        let slots = match input
            .slots
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => SlotBand::parse_list(text)?,
            None => default_slots(centre.centre.hours)?,
        };
        let plan = SessionPlan {
            id: Uuid::new_v4(),
            centre_id: centre.centre.id,
            date,
            vaccine,
            age: AgeLimits::new(input.min_age, input.max_age)?,
            capacity: Capacity {
                dose1: DoseShare {
                    online: input.dose1,
                    onsite: input.dose1_onsite,
                },
                dose2: DoseShare {
                    online: input.dose2,
                    onsite: input.dose2_onsite,
                },
                precaution: DoseShare {
                    online: input.precaution,
                    onsite: input.precaution_onsite,
                },
            },
            slots,
        };
        plan.validate()?;
        let hours = centre.centre.hours;
        if plan
            .slots
            .iter()
            .any(|s| s.start_minute() < hours.from_minute || s.end_minute() > hours.to_minute)
        {
            return Err(AppError::BadInput(
                "slots: every slot must fall within the centre's opening hours".into(),
            ));
        }
        Ok(plan)
    }

    /// Adds one session plan; returns its new id.
    pub async fn add(&self, input: &SessionInput, today: CowinDate) -> Result<Uuid, AppError> {
        let known = known_vaccines(self.store).await?;
        let plan = self.to_plan(input, today, &known).await?;
        self.store
            .insert_sessions(std::slice::from_ref(&plan))
            .await?;
        Ok(plan.id)
    }

    /// Imports session plans, all or none; returns their new ids in input order.
    pub async fn import(
        &self,
        inputs: &[SessionInput],
        today: CowinDate,
    ) -> Result<Vec<Uuid>, AppError> {
        let known = known_vaccines(self.store).await?;
        let mut plans = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            plans.push(
                self.to_plan(input, today, &known)
                    .await
                    .map_err(|e| AppError::BadInput(format!("record {}: {e}", i + 1)))?,
            );
        }
        self.store.insert_sessions(&plans).await?;
        Ok(plans.iter().map(|p| p.id).collect())
    }
}
