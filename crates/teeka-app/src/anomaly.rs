//! Insider anomaly detection. Every desk action leaves signals (people opened, wrong codes,
//! attempts for people not booked at the centre, duplicate photo IDs at walk-in, activity at odd
//! hours); after each action the account's recent counts are compared with configured
//! thresholds, and a sweep counts openings with no dose recorded within 24 hours. Crossing a
//! threshold suspends the account at once (its sessions end) and raises an alert for the
//! administrators of its district, until one of them reviews and reinstates it.

use crate::AppError;
use crate::clock::{IST, now_ms};
use teeka_store::Store;
use uuid::Uuid;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Thresholds: crossing any one suspends the account. Each is "more than N".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyConfig {
    /// Distinct people opened (check-in, walk-in, break-glass) in the last hour.
    pub people_per_hour: i64,
    /// Wrong appointment codes in the last hour, across appointments.
    pub wrong_codes_per_hour: i64,
    /// Check-ins for people not booked at the account's centre today, in the last hour.
    pub outside_centre_per_hour: i64,
    /// Walk-ins refused as duplicate photo IDs, in the last day (probing IDs).
    pub duplicate_ids_per_day: i64,
    /// Desk actions at odd hours, in the last day.
    pub odd_hour_actions_per_day: i64,
    /// Openings with no dose recorded within 24 hours, per day.
    pub undosed_openings_per_day: i64,
    /// Odd hours start at this minute of the day, India time …
    pub odd_hours_from_minute: u16,
    /// … and end at this one.
    pub odd_hours_until_minute: u16,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            // A vaccinator works at most about one person a minute.
            people_per_hour: 60,
            wrong_codes_per_hour: 10,
            outside_centre_per_hour: 5,
            duplicate_ids_per_day: 5,
            odd_hour_actions_per_day: 20,
            undosed_openings_per_day: 20,
            odd_hours_from_minute: 22 * 60,
            odd_hours_until_minute: 6 * 60,
        }
    }
}

impl AnomalyConfig {
    /// Whether `minute` (of the day, India time) is an odd hour.
    pub fn is_odd_minute(&self, minute: u16) -> bool {
        let (from, until) = (self.odd_hours_from_minute, self.odd_hours_until_minute);
        if from <= until {
            (from..until).contains(&minute)
        } else {
            minute >= from || minute < until
        }
    }
}

/// The minute of the day now, India time.
pub fn minute_now_in_india() -> u16 {
    let now = time::OffsetDateTime::now_utc().to_offset(IST);
    u16::from(now.hour()) * 60 + u16::from(now.minute())
}

/// Records the signals every desk action leaves (activity at odd hours).
pub async fn note_action(
    store: &Store,
    staff_id: Uuid,
    config: &AnomalyConfig,
) -> Result<(), AppError> {
    if config.is_odd_minute(minute_now_in_india()) {
        store
            .note_staff_signal(staff_id, "odd_hours", now_ms())
            .await?;
    }
    Ok(())
}

/// Compares an account's recent signals with the thresholds; suspends it (and alerts) when one
/// is crossed. Whether the account is suspended now.
pub async fn watch(
    store: &Store,
    staff_id: Uuid,
    config: &AnomalyConfig,
) -> Result<bool, AppError> {
    let now = now_ms();
    let hour = store.staff_signal_counts(staff_id, now - HOUR).await?;
    let day = store.staff_signal_counts(staff_id, now - DAY).await?;
    let count = |counts: &[(String, i64)], kind: &str| {
        counts
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(0, |(_, n)| *n)
    };
    let crossed = [
        (
            "opened",
            count(&hour, "opened"),
            config.people_per_hour,
            "distinct people opened in an hour",
        ),
        (
            "wrong_code",
            count(&hour, "wrong_code"),
            config.wrong_codes_per_hour,
            "wrong appointment codes in an hour",
        ),
        (
            "outside_centre",
            count(&hour, "outside_centre"),
            config.outside_centre_per_hour,
            "check-ins for people not booked at the centre in an hour",
        ),
        (
            "duplicate_id",
            count(&day, "duplicate_id"),
            config.duplicate_ids_per_day,
            "duplicate photo IDs at walk-in in a day",
        ),
        (
            "odd_hours",
            count(&day, "odd_hours"),
            config.odd_hour_actions_per_day,
            "desk actions at odd hours in a day",
        ),
    ]
    .into_iter()
    .find(|(_, n, limit, _)| n > limit);
    let Some((kind, n, limit, what)) = crossed else {
        return Ok(false);
    };
    suspend(
        store,
        staff_id,
        kind,
        &format!("{n} {what} (threshold {limit})"),
        now,
    )
    .await?;
    Ok(true)
}

async fn suspend(
    store: &Store,
    staff_id: Uuid,
    kind: &str,
    detail: &str,
    now: i64,
) -> Result<(), AppError> {
    if store
        .suspend_staff(
            staff_id,
            &format!("anomaly.{kind}"),
            &format!("suspended: {detail}"),
            now,
        )
        .await?
    {
        // The account id only: no personal data in the log.
        tracing::warn!(%staff_id, signal = kind, detail, "staff account suspended by anomaly detection");
    }
    Ok(())
}

/// The periodic sweep: accounts with too many openings made 24 to 48 hours ago that never got a
/// dose are suspended. How many accounts were suspended.
pub async fn sweep(store: &Store, config: &AnomalyConfig) -> Result<usize, AppError> {
    let now = now_ms();
    let mut suspended = 0;
    for (staff_id, n) in store.undosed_openings(now - 2 * DAY, now - DAY).await? {
        if n > config.undosed_openings_per_day {
            suspend(
                store,
                staff_id,
                "undosed_openings",
                &format!(
                    "{n} people opened with no dose recorded within 24 hours (threshold {})",
                    config.undosed_openings_per_day
                ),
                now,
            )
            .await?;
            suspended += 1;
        }
    }
    Ok(suspended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_hours_wrap_past_midnight() {
        let c = AnomalyConfig::default();
        assert!(c.is_odd_minute(23 * 60));
        assert!(c.is_odd_minute(2 * 60));
        assert!(!c.is_odd_minute(6 * 60));
        assert!(!c.is_odd_minute(12 * 60));
        let day = AnomalyConfig {
            odd_hours_from_minute: 13 * 60,
            odd_hours_until_minute: 14 * 60,
            ..c
        };
        assert!(day.is_odd_minute(13 * 60 + 30));
        assert!(!day.is_odd_minute(14 * 60));
        // An empty window (start equal to end) switches the rule off.
        let never = AnomalyConfig {
            odd_hours_from_minute: 0,
            odd_hours_until_minute: 0,
            ..c
        };
        assert!((0..24 * 60).all(|m| !never.is_odd_minute(m)));
    }
}
