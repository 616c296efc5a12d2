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
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            cache_staleness: Duration::from_secs(5),
            public_rate_limit: Some(RateLimit::COWIN_PUBLIC),
            trusted_proxies: Vec::new(),
        }
    }
}
