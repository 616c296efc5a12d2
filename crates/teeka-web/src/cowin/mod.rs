//! The CoWIN v2 API as CoWIN's clients expect it: same routes under `/api`, same field names,
//! nesting and JSON types, same error body.

pub mod booking;
pub mod citizen;
pub mod params;
pub mod public;
pub mod shapes;
