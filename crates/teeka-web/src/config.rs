//! The web layer's settings: cache staleness, rate limits, trusted proxies.

use std::net::IpAddr;
use std::time::Duration;

/// A fixed-window request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    pub window: Duration,
}

impl RateLimit {
    /// CoWIN's public API limit: 100 requests per 5 minutes per IP.
    pub const COWIN_PUBLIC: RateLimit = RateLimit {
        requests: 100,
        window: Duration::from_secs(300),
    };

    /// Booking requests (schedule, reschedule, cancel) per account: 10 per 5 minutes, room for a
    /// family's bookings and a few changes of mind, not for a script.
    pub const BOOKING_PER_ACCOUNT: RateLimit = RateLimit {
        requests: 10,
        window: Duration::from_secs(300),
    };

    /// Booking requests per client IP: 50 per 5 minutes. Higher than per account because many
    /// people share one address behind a mobile carrier's NAT.
    pub const BOOKING_PER_IP: RateLimit = RateLimit {
        requests: 50,
        window: Duration::from_secs(300),
    };
}

/// Limits on booking requests, on top of the public per-IP limit; `None` switches one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingLimits {
    /// Per citizen account.
    pub per_account: Option<RateLimit>,
    /// Per client IP (IPv6 per /64).
    pub per_ip: Option<RateLimit>,
}

impl BookingLimits {
    /// No booking limits (demo without limits, and load tests).
    pub const OFF: BookingLimits = BookingLimits {
        per_account: None,
        per_ip: None,
    };
}

impl Default for BookingLimits {
    fn default() -> Self {
        Self {
            per_account: Some(RateLimit::BOOKING_PER_ACCOUNT),
            per_ip: Some(RateLimit::BOOKING_PER_IP),
        }
    }
}

/// Settings for the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// How stale a cached availability answer may be.
    pub cache_staleness: Duration,
    /// Per-IP limit on the public API; `None` switches it off (`teeka demo --no-limits` only).
    pub public_rate_limit: Option<RateLimit>,
    /// Peers whose `X-Forwarded-For` is believed. Anyone else's header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Limits on booking requests.
    pub booking_limits: BookingLimits,
    /// Where the web verifier reads pictures of QR codes.
    pub picture_reader: PictureReader,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            cache_staleness: Duration::from_secs(5),
            public_rate_limit: Some(RateLimit::COWIN_PUBLIC),
            trusted_proxies: Vec::new(),
            booking_limits: BookingLimits::default(),
            picture_reader: PictureReader::InProcess,
        }
    }
}

/// Where the web verifier reads pictures of QR codes. The QR reader has no way to be stopped,
/// and a crafted picture (noise, or many small finder patterns) keeps it busy for minutes to
/// hours; only a child process can be stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PictureReader {
    /// In this process, without a time limit (tests and library use; one picture at a time).
    InProcess,
    /// In a child process, `program read-qr` (the `teeka` binary), stopped after `limit`.
    ChildProcess {
        /// The `teeka` binary.
        program: std::path::PathBuf,
        /// How long a picture may take.
        limit: Duration,
    },
}
