//! Aggregates only: research exports (counts by any of state, district, age band, gender,
//! vaccine, dose and day) and the public dashboard's figures. Counts below `k` are withheld
//! together with enough others that no withheld count can be recovered by subtraction
//! ([`teeka_domain::aggregate::suppress`]), and every published count is rounded to a multiple
//! of the configured base so that differences between published figures (two days' running
//! totals, a state less its districts) never give a small count exactly; no row about a person
//! ever leaves.

use crate::clock::{now_ms, today_in_india};
use crate::error::AppError;
use crate::partner::{PartnerCaller, PartnerConfig};
use std::collections::BTreeMap;
use teeka_domain::aggregate::{CellKey, Released, suppress};
use teeka_domain::partner::Scope;
use teeka_domain::{CowinDate, Gender};
use teeka_store::Store;
use teeka_store::identity::AccessEventRecord;
use teeka_store::partner::{CountFilter, DoseCountRow};

/// A dimension a research export may count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The state of the centre.
    State,
    /// The district of the centre.
    District,
    /// Age at the dose, in CoWIN's dashboard bands.
    AgeBand,
    /// Gender.
    Gender,
    /// Vaccine.
    Vaccine,
    /// Dose number.
    Dose,
    /// The day given.
    Date,
}

impl Dimension {
    /// Every dimension, in a fixed order.
    pub const ALL: [Dimension; 7] = [
        Dimension::State,
        Dimension::District,
        Dimension::AgeBand,
        Dimension::Gender,
        Dimension::Vaccine,
        Dimension::Dose,
        Dimension::Date,
    ];

    /// Its name in `by=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::State => "state",
            Dimension::District => "district",
            Dimension::AgeBand => "age_band",
            Dimension::Gender => "gender",
            Dimension::Vaccine => "vaccine",
            Dimension::Dose => "dose",
            Dimension::Date => "date",
        }
    }

    /// Parses `state,age_band,…` (no repeats, at least one).
    pub fn parse_list(text: &str) -> Result<Vec<Dimension>, AppError> {
        let mut out = Vec::new();
        for part in text.split(',') {
            let d = Dimension::ALL
                .into_iter()
                .find(|d| d.as_str() == part.trim())
                .ok_or_else(|| {
                    AppError::BadInput(
                        "by: a comma-separated list of state, district, age_band, gender, vaccine, dose, date".into(),
                    )
                })?;
            if out.contains(&d) {
                return Err(AppError::BadInput(format!("by: {} twice", d.as_str())));
            }
            out.push(d);
        }
        Ok(out)
    }

    fn value(self, row: &DoseCountRow) -> String {
        match self {
            Dimension::State => row.state_id.to_string(),
            Dimension::District => row.district_id.to_string(),
            Dimension::AgeBand => age_band(row),
            Dimension::Gender => Gender::from_cowin_id(row.gender)
                .map(|g| g.cowin_name().to_owned())
                .unwrap_or_else(|_| "Unknown".into()),
            Dimension::Vaccine => row.vaccine.clone(),
            Dimension::Dose => row.dose_number.to_string(),
            Dimension::Date => row.given_on.clone(),
        }
    }
}

/// Age at the dose (by calendar year, since only the year of birth is kept), in the bands of
/// CoWIN's dashboard.
fn age_band(row: &DoseCountRow) -> String {
    let year: i64 = row
        .given_on
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(0);
    match year - row.birth_year {
        i64::MIN..=11 => "0-11",
        12..=14 => "12-14",
        15..=17 => "15-17",
        18..=44 => "18-44",
        45..=59 => "45-59",
        _ => "60+",
    }
    .into()
}

/// A day as the store compares it.
fn iso(date: CowinDate) -> String {
    let d = date.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Sums rows into cells keyed by `by`.
fn cells(rows: &[DoseCountRow], by: &[Dimension]) -> BTreeMap<CellKey, u64> {
    let mut out = BTreeMap::new();
    for row in rows {
        let key: CellKey = by.iter().map(|d| d.value(row)).collect();
        *out.entry(key).or_insert(0) += u64::try_from(row.count).unwrap_or(0);
    }
    out
}

/// A total as released: withheld when it is itself a small count, else rounded.
fn released_total(total: u64, k: u64, base: u64) -> Released {
    if total > 0 && total < k {
        Released::Withheld
    } else {
        Released::Count(total).rounded(base)
    }
}

/// A table as released: suppressed with threshold `k`, then every published count rounded.
fn release(table: &BTreeMap<CellKey, u64>, k: u64, base: u64) -> BTreeMap<CellKey, Released> {
    suppress(table, k)
        .into_iter()
        .map(|(key, r)| (key, r.rounded(base)))
        .collect()
}

/// A research export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The threshold applied.
    pub k: u64,
    /// Every published count is a multiple of this.
    pub rounding: u64,
    /// The dimensions, in key order.
    pub dimensions: Vec<&'static str>,
    /// Each cell: its key and its count, or withheld.
    pub cells: Vec<(CellKey, Released)>,
    /// The grand total.
    pub total: Released,
}

/// What a research export asks for.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    /// Count by.
    pub by: Vec<Dimension>,
    /// Which doses.
    pub filter: CountFilter,
    /// A threshold above the configured one, if the researcher wants it stricter.
    pub k: Option<u64>,
}

/// A research export for a partner with the `research` scope; on the ledger with the read.
pub async fn research_export(
    store: &Store,
    caller: &PartnerCaller,
    query: &ExportQuery,
    config: &PartnerConfig,
    request_id: &str,
) -> Result<Export, AppError> {
    caller.require(Scope::Research)?;
    caller.count(store, None, config).await?;
    // Never below the configured threshold, whatever the caller asks.
    let k = query.k.unwrap_or(0).max(config.suppression_k);
    let names: Vec<&'static str> = query.by.iter().map(|d| d.as_str()).collect();
    let event = AccessEventRecord {
        at_ms: now_ms(),
        actor_kind: "partner".into(),
        actor_id: caller.partner_id().to_string(),
        role: "partner".into(),
        action: "research.export".into(),
        subject_id: None,
        purpose: format!(
            "aggregate export by {} (k = {k}; state {:?}, district {:?}, until {:?})",
            names.join(","),
            query.filter.state_id,
            query.filter.district_id,
            query.filter.until
        ),
        request_id: request_id.into(),
    };
    let rows = store.dose_counts(&query.filter, Some(&event)).await?;
    let table = cells(&rows, &query.by);
    let total = table.values().sum();
    let base = config.rounding_base;
    Ok(Export {
        k,
        rounding: base,
        dimensions: names,
        cells: release(&table, k, base).into_iter().collect(),
        total: released_total(total, k, base),
    })
}

/// The public dashboard's figures for a place and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicReport {
    /// The day the figures run to (inclusive).
    pub date: CowinDate,
    /// Doses given up to the day.
    pub total: Released,
    /// Doses given on the day.
    pub today: Released,
    /// Up to the day, by dose number (`1`, `2`, `3`…).
    pub by_dose: BTreeMap<String, Released>,
    /// Up to the day, by vaccine.
    pub by_vaccine: BTreeMap<String, Released>,
    /// Up to the day, by gender (CoWIN's names).
    pub by_gender: BTreeMap<String, Released>,
    /// Up to the day, by age band.
    pub by_age: BTreeMap<String, Released>,
    /// Adverse events reported up to the day, by severity.
    pub aefi: BTreeMap<String, Released>,
    /// The threshold applied.
    pub k: u64,
    /// Every published count is a multiple of this.
    pub rounding: u64,
}

/// One released breakdown: a one-way table whose line total (the published total) is known.
fn breakdown(
    rows: &[DoseCountRow],
    by: Dimension,
    k: u64,
    base: u64,
) -> BTreeMap<String, Released> {
    release(&cells(rows, &[by]), k, base)
        .into_iter()
        .map(|(mut key, released)| (key.pop().unwrap_or_default(), released))
        .collect()
}

/// The public figures for a state and/or district (or the country) up to `date` (today by
/// default). Aggregates only; anyone may ask.
pub async fn public_report(
    store: &Store,
    filter_place: (Option<i64>, Option<i64>),
    date: Option<CowinDate>,
    config: &PartnerConfig,
) -> Result<PublicReport, AppError> {
    let k = config.suppression_k;
    let date = date.unwrap_or_else(today_in_india);
    let day = iso(date);
    let filter = CountFilter {
        state_id: filter_place.0,
        district_id: filter_place.1,
        until: Some(day.clone()),
    };
    let rows = store.dose_counts(&filter, None).await?;
    let total: u64 = rows
        .iter()
        .map(|r| u64::try_from(r.count).unwrap_or(0))
        .sum();
    let today: u64 = rows
        .iter()
        .filter(|r| r.given_on == day)
        .map(|r| u64::try_from(r.count).unwrap_or(0))
        .sum();
    // Reports up to the end of the day, India time (UTC+5:30).
    let end_of_day_ms = (date
        .date()
        .next_day()
        .unwrap_or(date.date())
        .midnight()
        .assume_utc()
        .unix_timestamp()
        - 19_800)
        * 1000;
    let aefi: BTreeMap<CellKey, u64> = store
        .aefi_counts(&filter, Some(end_of_day_ms))
        .await?
        .into_iter()
        .map(|(severity, n)| (vec![severity], u64::try_from(n).unwrap_or(0)))
        .collect();
    let base = config.rounding_base;
    Ok(PublicReport {
        date,
        total: released_total(total, k, base),
        today: released_total(today, k, base),
        by_dose: breakdown(&rows, Dimension::Dose, k, base),
        by_vaccine: breakdown(&rows, Dimension::Vaccine, k, base),
        by_gender: breakdown(&rows, Dimension::Gender, k, base),
        by_age: breakdown(&rows, Dimension::AgeBand, k, base),
        aefi: release(&aefi, k, base)
            .into_iter()
            .map(|(mut key, r)| (key.pop().unwrap_or_default(), r))
            .collect(),
        k,
        rounding: base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(birth_year: i64, gender: i64, dose: i64, given_on: &str, count: i64) -> DoseCountRow {
        DoseCountRow {
            state_id: 21,
            district_id: 395,
            birth_year,
            gender,
            vaccine: "COVISHIELD".into(),
            dose_number: dose,
            given_on: given_on.into(),
            count,
        }
    }

    #[test]
    fn age_bands_follow_the_dashboard() {
        assert_eq!(age_band(&row(2010, 1, 1, "2026-11-20", 1)), "15-17");
        assert_eq!(age_band(&row(1990, 1, 1, "2026-11-20", 1)), "18-44");
        assert_eq!(age_band(&row(1970, 1, 1, "2026-11-20", 1)), "45-59");
        assert_eq!(age_band(&row(1950, 1, 1, "2026-11-20", 1)), "60+");
    }

    #[test]
    fn a_small_breakdown_withholds_its_small_cell_and_a_complement() {
        // 40 women, 3 men, 12 others: the 3 goes, and so does the next smallest, so the total
        // (55) minus what is published (40) leaves 15, not 3.
        let mut rows = vec![row(1990, 2, 1, "2026-11-20", 40)];
        rows.push(row(1990, 1, 1, "2026-11-20", 3));
        rows.push(row(1990, 3, 1, "2026-11-20", 12));
        let by_gender = breakdown(&rows, Dimension::Gender, 10, 1);
        assert_eq!(by_gender["Female"], Released::Count(40));
        assert_eq!(by_gender["Male"], Released::Withheld);
        assert_eq!(by_gender["Others"], Released::Withheld);
        assert_eq!(released_total(55, 10, 1), Released::Count(55));
        assert_eq!(released_total(7, 10, 1), Released::Withheld);
        assert_eq!(released_total(0, 10, 1), Released::Count(0));
        // As published: multiples of the base.
        assert_eq!(released_total(52, 10, 5), Released::Count(50));
        rows.push(row(1990, 2, 1, "2026-11-20", 2));
        assert_eq!(
            breakdown(&rows, Dimension::Gender, 10, 5)["Female"],
            Released::Count(40)
        );
    }
}
