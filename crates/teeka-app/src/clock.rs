//! Time as Teeka's users see it: CoWIN's dates are Indian Standard Time (UTC+05:30).

use teeka_domain::CowinDate;
use time::{OffsetDateTime, UtcOffset};

/// Indian Standard Time.
pub const IST: UtcOffset = match UtcOffset::from_hms(5, 30, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Today's date in India.
pub fn today_in_india() -> CowinDate {
    CowinDate(OffsetDateTime::now_utc().to_offset(IST).date())
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc();
    now.unix_timestamp() * 1000 + i64::from(now.millisecond())
}

/// The current year in India.
pub fn current_year_in_india() -> i32 {
    OffsetDateTime::now_utc().to_offset(IST).year()
}
