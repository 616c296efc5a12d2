//! Teeka's storage facade: one API over two backends, SQLite (the embedded default) and
//! PostgreSQL (production), chosen by the database URL's scheme. Each backend has its own
//! embedded migrations; both run the same SQL text wherever the dialects agree.
//!
//! Nothing above this crate sees SQL; nothing in it knows HTTP.
#![forbid(unsafe_code)]

mod common;
mod error;
mod migrate;
mod postgres;
mod records;
mod sqlite;

pub use error::StoreError;
pub use postgres::PgStore;
pub use records::{
    CentreSessions, CentreView, DistrictRecord, DoseCounts, SessionAvailability, StateRecord,
    StoreCounts,
};
pub use sqlite::SqliteStore;

use teeka_domain::{
    Centre, CentreId, CowinDate, DistrictId, Pincode, SessionPlan, StateId, Vaccine, VaccineName,
};
use uuid::Uuid;

/// Which sessions an availability query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionScope {
    /// Every centre of a district.
    District(DistrictId),
    /// Every centre with this PIN code.
    Pincode(Pincode),
    /// One centre.
    Centre(CentreId),
}

/// An availability query: a place, a range of days `[from, until)`, and optionally one vaccine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Where.
    pub scope: SessionScope,
    /// First day, inclusive.
    pub from: CowinDate,
    /// Last day, exclusive.
    pub until: CowinDate,
    /// Only this vaccine, if given.
    pub vaccine: Option<VaccineName>,
}

/// The storage facade. Cheap to clone: it holds connection pools.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded default.
    Sqlite(SqliteStore),
    /// The production store.
    Postgres(PgStore),
}

/// Calls the same method on whichever backend the store holds.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens the store named by `url`: `sqlite://PATH` (created if missing) or `postgres://…`.
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The backend's name, for logs and the readiness probe.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Applies every embedded migration not yet applied; safe to run from several processes.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        dispatch!(self, s => s.migrate().await)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    /// Inserts or updates states.
    pub async fn upsert_states(&self, states: &[StateRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_states(states).await)
    }

    /// Inserts or updates districts.
    pub async fn upsert_districts(&self, districts: &[DistrictRecord]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_districts(districts).await)
    }

    /// Inserts or updates vaccines.
    pub async fn upsert_vaccines(&self, vaccines: &[Vaccine]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_vaccines(vaccines).await)
    }

    /// Records which district PIN codes belong to (master data for lookups and validation).
    pub async fn upsert_pincodes(&self, pins: &[(Pincode, DistrictId)]) -> Result<(), StoreError> {
        dispatch!(self, s => s.upsert_pincodes(pins).await)
    }

    /// All states, by name (CoWIN's order).
    pub async fn list_states(&self) -> Result<Vec<StateRecord>, StoreError> {
        dispatch!(self, s => s.list_states().await)
    }

    /// The districts of a state, by name (CoWIN's order); empty for an unknown state.
    pub async fn list_districts(&self, state: StateId) -> Result<Vec<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.list_districts(state).await)
    }

    /// Every district in the country, by id.
    pub async fn list_all_districts(&self) -> Result<Vec<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.list_all_districts().await)
    }

    /// One district, if it exists.
    pub async fn get_district(&self, id: DistrictId) -> Result<Option<DistrictRecord>, StoreError> {
        dispatch!(self, s => s.get_district(id).await)
    }

    /// All vaccines, by name.
    pub async fn list_vaccines(&self) -> Result<Vec<Vaccine>, StoreError> {
        dispatch!(self, s => s.list_vaccines().await)
    }

    /// Inserts centres in one transaction: all or none. Blocks and PIN codes are recorded as
    /// master data on the way. A duplicate id fails the whole batch with [`StoreError::Duplicate`].
    pub async fn insert_centres(&self, centres: &[Centre]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_centres(centres).await)
    }

    /// Inserts one centre, giving it the next free id; returns that id.
    pub async fn insert_centre_with_next_id(
        &self,
        centre: &Centre,
    ) -> Result<CentreId, StoreError> {
        dispatch!(self, s => s.insert_centre_with_next_id(centre).await)
    }

    /// One centre with its state and district names.
    pub async fn get_centre(&self, id: CentreId) -> Result<Option<CentreView>, StoreError> {
        dispatch!(self, s => s.get_centre(id).await)
    }

    /// Inserts sessions in one transaction: all or none.
    pub async fn insert_sessions(&self, sessions: &[SessionPlan]) -> Result<(), StoreError> {
        dispatch!(self, s => s.insert_sessions(sessions).await)
    }

    /// One session with what is left of its online capacity.
    pub async fn get_session(&self, id: Uuid) -> Result<Option<SessionAvailability>, StoreError> {
        dispatch!(self, s => s.get_session(id).await)
    }

    /// Sessions matching `query`, grouped by centre (centres by id, sessions by date).
    pub async fn find_sessions(
        &self,
        query: &SessionQuery,
    ) -> Result<Vec<CentreSessions>, StoreError> {
        dispatch!(self, s => s.find_sessions(query).await)
    }

    /// Centres whose coordinates fall within `delta` degrees of (`lat`, `long`), at most `limit`
    /// of them, unsorted: the caller ranks them by distance.
    pub async fn centres_in_box(
        &self,
        lat: f64,
        long: f64,
        delta: f64,
        limit: i64,
    ) -> Result<Vec<CentreView>, StoreError> {
        dispatch!(self, s => s.centres_in_box(lat, long, delta, limit).await)
    }

    /// Every district's availability change counter: a district whose counter moved has new
    /// centres, sessions or bookings since it was last read.
    pub async fn availability_changes(&self) -> Result<Vec<(DistrictId, i64)>, StoreError> {
        dispatch!(self, s => s.availability_changes().await)
    }

    /// How many rows the main tables hold.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        dispatch!(self, s => s.counts().await)
    }
}
