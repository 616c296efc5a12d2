//! Master data: states, districts, PIN prefixes and vaccines, shipped as JSON files in
//! `data/master` and embedded in the binary, loaded idempotently on every migration.

use crate::AppError;
use serde::Deserialize;
use teeka_domain::{DistrictId, StateId, Vaccine};
use teeka_store::{DistrictRecord, StateRecord, Store};

const INDIA_JSON: &str = include_str!("../../../data/master/india.json");
const VACCINES_JSON: &str = include_str!("../../../data/master/vaccines.json");

#[derive(Deserialize)]
struct IndiaFile {
    states: Vec<StateEntry>,
    districts: Vec<DistrictEntry>,
}

/// A state as the master file lists it, with the facts the demo needs.
#[derive(Debug, Clone, Deserialize)]
pub struct StateEntry {
    /// CoWIN's id.
    pub state_id: i32,
    /// CoWIN's name.
    pub state_name: String,
    /// First two digits of its PIN codes.
    pub pin_prefixes: Vec<u16>,
    /// Approximate centroid latitude.
    pub lat: f64,
    /// Approximate centroid longitude.
    pub long: f64,
}

/// A district as the master file lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct DistrictEntry {
    /// CoWIN's id.
    pub district_id: i32,
    /// Its state.
    pub state_id: i32,
    /// CoWIN's name, exactly.
    pub district_name: String,
}

#[derive(Deserialize)]
struct VaccinesFile {
    vaccines: Vec<Vaccine>,
}

/// The parsed master data.
#[derive(Debug, Clone)]
pub struct MasterData {
    /// States and UTs.
    pub states: Vec<StateEntry>,
    /// Districts.
    pub districts: Vec<DistrictEntry>,
    /// Vaccines.
    pub vaccines: Vec<Vaccine>,
}

impl MasterData {
    /// Parses the embedded master files; a broken file is a build defect, reported as an error.
    pub fn embedded() -> Result<MasterData, AppError> {
        let india: IndiaFile = serde_json::from_str(INDIA_JSON)
            .map_err(|e| AppError::BadInput(format!("data/master/india.json: {e}")))?;
        let vaccines: VaccinesFile = serde_json::from_str(VACCINES_JSON)
            .map_err(|e| AppError::BadInput(format!("data/master/vaccines.json: {e}")))?;
        for v in &vaccines.vaccines {
            v.validate()?;
        }
        Ok(MasterData {
            states: india.states,
            districts: india.districts,
            vaccines: vaccines.vaccines,
        })
    }

    /// Writes the master data into the store (insert or update; safe to repeat).
    pub async fn load_into(&self, store: &Store) -> Result<(), AppError> {
        let states: Vec<StateRecord> = self
            .states
            .iter()
            .map(|s| StateRecord {
                id: StateId(s.state_id),
                name: s.state_name.clone(),
                pin_prefixes: s.pin_prefixes.clone(),
            })
            .collect();
        let districts: Vec<DistrictRecord> = self
            .districts
            .iter()
            .map(|d| DistrictRecord {
                id: DistrictId(d.district_id),
                state_id: StateId(d.state_id),
                name: d.district_name.clone(),
            })
            .collect();
        store.upsert_states(&states).await?;
        store.upsert_districts(&districts).await?;
        store.upsert_vaccines(&self.vaccines).await?;
        Ok(())
    }
}

/// Migrates the store and loads master data: what every start does.
pub async fn prepare_store(store: &Store) -> Result<(), AppError> {
    store.migrate().await?;
    MasterData::embedded()?.load_into(store).await
}
