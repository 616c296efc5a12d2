//! Availability: which sessions a place has over a day or a week, and which centres are near a
//! point. The HTTP layer caches the answers; this is the uncached truth.

use crate::AppError;
use teeka_domain::{CentreId, CowinDate, DistrictId, Pincode, VaccineName};
use teeka_store::{CentreSessions, CentreView, SessionQuery, SessionScope, Store};

/// How many days a calendar query covers (CoWIN: 7 from the given date).
pub const CALENDAR_DAYS: i64 = 7;
/// How many centres `findByLatLong` returns at most (CoWIN's answers held up to 100).
pub const NEAREST_CENTRES: usize = 100;

/// Sessions over `days` days from `from` in `scope`.
pub async fn sessions(
    store: &Store,
    scope: SessionScope,
    from: CowinDate,
    days: i64,
    vaccine: Option<VaccineName>,
) -> Result<Vec<CentreSessions>, AppError> {
    let query = SessionQuery {
        scope,
        from,
        until: from.plus_days(days),
        vaccine,
    };
    Ok(store.find_sessions(&query).await?)
}

/// The scopes the public API names.
pub fn district(id: DistrictId) -> SessionScope {
    SessionScope::District(id)
}
/// A PIN code scope.
pub fn pincode(pin: Pincode) -> SessionScope {
    SessionScope::Pincode(pin)
}
/// A single-centre scope.
pub fn centre(id: CentreId) -> SessionScope {
    SessionScope::Centre(id)
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, long1: f64, lat2: f64, long2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (long2 - long1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().asin()
}

/// The centres nearest to a point, nearest first, at most [`NEAREST_CENTRES`]. Searches a box that
/// widens until it holds enough centres or reaches about 200 km.
pub async fn centres_near(store: &Store, lat: f64, long: f64) -> Result<Vec<CentreView>, AppError> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&long) {
        return Err(AppError::BadInput(
            "lat/long must be valid coordinates".into(),
        ));
    }
    let mut found = Vec::new();
    for delta in [0.1, 0.4, 1.8] {
        // The store returns the nearest first, so the limit never drops a nearer centre.
        found = store.centres_in_box(lat, long, delta, 500).await?;
        if found.len() >= NEAREST_CENTRES {
            break;
        }
    }
    let mut ranked: Vec<(f64, CentreView)> = found
        .into_iter()
        .map(|c| (haversine_km(lat, long, c.centre.lat, c.centre.long), c))
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.centre.id.cmp(&b.1.centre.id)));
    Ok(ranked
        .into_iter()
        .take(NEAREST_CENTRES)
        .map(|(_, c)| c)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        // Mumbai CST to Pune station: about 120 km as the crow flies.
        let d = haversine_km(18.9398, 72.8355, 18.5286, 73.8743);
        assert!((115.0..125.0).contains(&d), "{d}");
    }
}
