//! The demo country: every CoWIN state and district with synthetic centres and a week of
//! sessions, generated deterministically from a seed so that two runs with the same seed and
//! start date produce the same rows (the PRNG is ours, so no library upgrade can change them).

use crate::AppError;
use crate::master::MasterData;
use teeka_domain::{
    AgeLimits, Capacity, Centre, CentreId, CowinDate, DistrictId, DoseShare, FeeType, OpeningHours,
    Pincode, SessionPlan, SlotBand, StateId, VaccineFee, VaccineName,
};
use teeka_store::Store;

/// How big a demo to build.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Centres in each district (1 to 999; 80 gives a national-scale ~60,000).
    pub centres_per_district: u32,
    /// PRNG seed.
    pub seed: u64,
    /// First day of sessions.
    pub start: CowinDate,
    /// Days of sessions.
    pub days: u32,
}

/// What a demo load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Centres written.
    pub centres: usize,
    /// Sessions written.
    pub sessions: usize,
}

/// SplitMix64: tiny, fast, and fixed forever, which is what a reproducible demo needs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A float in `[-1, 1)`.
    fn signed_unit(&mut self) -> f64 {
        (self.below(2_000_000) as f64 / 1_000_000.0) - 1.0
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const PLACES: &[&str] = &[
    "Rampur",
    "Sitapur",
    "Chandpur",
    "Nayagaon",
    "Shivpuri",
    "Kalyanpur",
    "Devnagar",
    "Gopalpur",
    "Ramnagar",
    "Krishnapur",
    "Lakshmipur",
    "Sultanpur",
    "Bhawanipur",
    "Narayanpet",
    "Anandpur",
    "Haripur",
    "Sundarpur",
    "Maheshwaram",
    "Kondapur",
    "Venkatapuram",
    "Ambedkar Nagar",
    "Gandhi Nagar",
    "Nehru Colony",
    "Azad Chowk",
];
const PUBLIC_KINDS: &[&str] = &[
    "PHC",
    "UPHC",
    "CHC",
    "Sub Centre",
    "Civil Hospital",
    "Urban Health Post",
];
const PRIVATE_NAMES: &[&str] = &[
    "Sanjeevani",
    "Arogya",
    "Jeevan Jyoti",
    "Sushrut",
    "Dhanvantari",
    "Lifeline",
];
/// Vaccines offered in the demo with their weights and private-centre fees (rupees, 2021 caps).
const DEMO_VACCINES: &[(&str, u64, u32)] = &[
    ("COVISHIELD", 55, 780),
    ("COVAXIN", 25, 1410),
    ("CORBEVAX", 8, 840),
    ("COVOVAX", 6, 900),
    ("SPUTNIK V", 6, 1145),
];

fn weighted_vaccine(rng: &mut SplitMix64) -> (&'static str, u32) {
    let total: u64 = DEMO_VACCINES.iter().map(|v| v.1).sum();
    let mut roll = rng.below(total);
    for &(name, weight, fee) in DEMO_VACCINES {
        if roll < weight {
            return (name, fee);
        }
        roll -= weight;
    }
    (DEMO_VACCINES[0].0, DEMO_VACCINES[0].2)
}

fn vaccine(name: &str) -> Result<VaccineName, AppError> {
    Ok(name.parse()?)
}

/// Splits opening hours into four slot bands, CoWIN-style.
pub fn default_slots(hours: OpeningHours) -> Result<Vec<SlotBand>, AppError> {
    let span = hours.to_minute - hours.from_minute;
    let bands = if span >= 4 * 30 { 4 } else { 1 };
    // Bands start on the half hour, as CoWIN's centres published them; the last runs to closing.
    let step = (span / bands / 30 * 30).max(30);
    (0..bands)
        .map(|i| {
            let start = hours.from_minute + i * step;
            let end = if i + 1 == bands {
                hours.to_minute
            } else {
                start + step
            };
            Ok(SlotBand::new(start, end)?)
        })
        .collect()
}

/// Builds the demo rows without touching storage.
pub fn generate(
    master: &MasterData,
    options: DemoOptions,
) -> Result<(Vec<Centre>, Vec<SessionPlan>), AppError> {
    if !(1..=999).contains(&options.centres_per_district) {
        return Err(AppError::BadInput(
            "centres per district must be 1 to 999".into(),
        ));
    }
    let mut rng = SplitMix64(options.seed);
    let mut centres = Vec::new();
    let mut sessions = Vec::new();
    let mut districts = master.districts.clone();
    districts.sort_by_key(|d| d.district_id);
    for d in &districts {
        let Some(state) = master.states.iter().find(|s| s.state_id == d.state_id) else {
            continue;
        };
        let district_name = d.district_name.trim();
        // Each district gets a spot near its state's centroid and a PIN prefix of its state.
        let (d_lat, d_long) = (
            state.lat + rng.signed_unit() * 1.2,
            state.long + rng.signed_unit() * 1.2,
        );
        let prefix = u32::from(*rng.pick(&state.pin_prefixes));
        let blocks = (options.centres_per_district / 6).max(1);
        for i in 0..options.centres_per_district {
            let block = i % blocks;
            let place = *rng.pick(PLACES);
            let paid = rng.chance(15);
            let name = if i == 0 {
                format!("{district_name} District Hospital")
            } else if paid {
                format!("{} Hospital {place}", rng.pick(PRIVATE_NAMES))
            } else {
                format!("{} {place}", rng.pick(PUBLIC_KINDS))
            };
            let pin = prefix * 10_000 + ((d.district_id as u32 * 97 + block * 13) % 10_000);
            let hours = if paid {
                OpeningHours {
                    from_minute: 8 * 60 + 30,
                    to_minute: 21 * 60,
                }
            } else {
                OpeningHours {
                    from_minute: 9 * 60,
                    to_minute: 17 * 60,
                }
            };
            let offered: Vec<(&str, u32)> = (0..2).map(|_| weighted_vaccine(&mut rng)).collect();
            let fees = if paid {
                let mut fees: Vec<VaccineFee> = Vec::new();
                for (name, fee) in &offered {
                    let v = vaccine(name)?;
                    if !fees.iter().any(|f| f.vaccine == v) {
                        fees.push(VaccineFee {
                            vaccine: v,
                            fee: *fee,
                        });
                    }
                }
                fees
            } else {
                Vec::new()
            };
            let centre = Centre {
                id: CentreId(i64::from(d.district_id) * 1000 + i64::from(i) + 1),
                name,
                address: format!("{place}, {district_name}, {}", state.state_name),
                state_id: StateId(d.state_id),
                district_id: DistrictId(d.district_id),
                block_name: format!("{district_name} Block {}", block + 1),
                pincode: Pincode::try_from(pin)?,
                lat: ((d_lat + rng.signed_unit() * 0.15) * 1e6).round() / 1e6,
                long: ((d_long + rng.signed_unit() * 0.15) * 1e6).round() / 1e6,
                fee_type: if paid { FeeType::Paid } else { FeeType::Free },
                fees,
                hours,
            };
            let slots = default_slots(hours)?;
            for day in 0..options.days {
                if !rng.chance(75) {
                    continue;
                }
                let runs = if rng.chance(20) { 2 } else { 1 };
                for run in 0..runs {
                    let (vaccine_name, _) = offered[run % offered.len()];
                    let age = match rng.below(10) {
                        0..=5 => AgeLimits::new(18, None)?,
                        6..=7 => AgeLimits::new(45, None)?,
                        8 => AgeLimits::new(15, Some(17))?,
                        _ => AgeLimits::new(60, None)?,
                    };
                    let share = |rng: &mut SplitMix64, max: u64| {
                        let online = rng.below(max + 1) as u32;
                        DoseShare {
                            online,
                            onsite: online / 10,
                        }
                    };
                    let capacity = Capacity {
                        dose1: share(&mut rng, 100),
                        dose2: share(&mut rng, 100),
                        precaution: share(&mut rng, 40),
                    };
                    let mut id_bytes = [0u8; 16];
                    id_bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
                    id_bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
                    sessions.push(SessionPlan {
                        id: uuid::Builder::from_random_bytes(id_bytes).into_uuid(),
                        centre_id: centre.id,
                        date: options.start.plus_days(i64::from(day)),
                        vaccine: vaccine(vaccine_name)?,
                        age,
                        capacity,
                        slots: slots.clone(),
                    });
                }
            }
            centres.push(centre);
        }
    }
    Ok((centres, sessions))
}

/// Writes a demo into an empty store; leaves a store that already has centres alone.
pub async fn load_if_empty(
    store: &Store,
    master: &MasterData,
    options: DemoOptions,
) -> Result<Option<DemoSummary>, AppError> {
    if store.counts().await?.centres > 0 {
        return Ok(None);
    }
    let (centres, sessions) = generate(master, options)?;
    // Batches keep each transaction's memory bounded; a failed batch leaves earlier ones, which is
    // fine for demo data (the next start sees centres and does not load again).
    for chunk in centres.chunks(5_000) {
        store.insert_centres(chunk).await?;
    }
    for chunk in sessions.chunks(20_000) {
        store.insert_sessions(chunk).await?;
    }
    Ok(Some(DemoSummary {
        centres: centres.len(),
        sessions: sessions.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(seed: u64) -> DemoOptions {
        DemoOptions {
            centres_per_district: 3,
            seed,
            start: "01-12-2026".parse().expect("valid date"),
            days: 7,
        }
    }

    #[test]
    fn same_seed_same_country_other_seed_other_country() {
        let master = MasterData::embedded().expect("master data parses");
        let a = generate(&master, options(7)).expect("generates");
        let b = generate(&master, options(7)).expect("generates");
        let c = generate(&master, options(8)).expect("generates");
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_ne!(a.1, c.1);
        assert_eq!(a.0.len(), master.districts.len() * 3);
        for centre in &a.0 {
            centre.validate().expect("demo centre is valid");
        }
        for session in &a.1 {
            session.validate().expect("demo session is valid");
        }
    }

    #[test]
    fn default_slots_cover_opening_hours_in_order() {
        let slots = default_slots(OpeningHours {
            from_minute: 540,
            to_minute: 1020,
        })
        .expect("valid");
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[0].to_string(), "09:00AM-11:00AM");
        assert_eq!(slots[3].to_string(), "03:00PM-05:00PM");
    }
}
