//! Per-client-IP request limits (fixed windows, as CoWIN's edge applied them), and the rule for
//! finding the client's IP: the TCP peer, unless the peer is a configured trusted proxy, in which
//! case the nearest untrusted address in `X-Forwarded-For`.

use crate::config::RateLimit;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Entries a shard holds before expired windows are swept out.
const SWEEP_AT: usize = 4_096;

struct Window {
    started: Instant,
    count: u32,
}

/// Counts requests per IP in fixed windows.
pub struct IpRateLimiter {
    limit: RateLimit,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<IpAddr, Window>>>,
}

impl IpRateLimiter {
    /// A limiter enforcing `limit` for each IP.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Counts one request from `ip`; `Err(retry_after)` when over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let shard = &self.shards[(self.hasher.hash_one(ip) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limit.window;
        if map.len() >= SWEEP_AT {
            map.retain(|_, w| now.duration_since(w.started) < window);
        }
        let entry = map.entry(ip).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(entry.started) >= window {
            *entry = Window {
                started: now,
                count: 0,
            };
        }
        if entry.count >= self.limit.requests {
            return Err(window.saturating_sub(now.duration_since(entry.started)));
        }
        entry.count += 1;
        Ok(())
    }
}

/// The client's IP: the peer's, or, when the peer is a trusted proxy, the rightmost address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Headers from untrusted peers are ignored,
/// so nobody can spoof their way past a limit.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // A malformed hop means the chain cannot be trusted past this point.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid ip")
    }

    #[test]
    fn the_hundred_and_first_request_in_a_window_is_refused() {
        let limiter = IpRateLimiter::new(RateLimit::COWIN_PUBLIC);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(limiter.check_at(ip("10.0.0.1"), t0).is_ok());
        }
        assert!(limiter.check_at(ip("10.0.0.1"), t0).is_err());
        assert!(
            limiter.check_at(ip("10.0.0.2"), t0).is_ok(),
            "other IPs are unaffected"
        );
        let later = t0 + Duration::from_secs(301);
        assert!(
            limiter.check_at(ip("10.0.0.1"), later).is_ok(),
            "a new window starts afresh"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().expect("header"),
        );
        let proxy = ip("127.0.0.1");
        assert_eq!(
            client_ip(proxy, &headers, &[]),
            proxy,
            "untrusted peer: header ignored"
        );
        assert_eq!(client_ip(proxy, &headers, &[proxy]), ip("198.51.100.7"));
        assert_eq!(
            client_ip(proxy, &headers, &[proxy, ip("198.51.100.7")]),
            ip("203.0.113.9"),
            "chained trusted proxies are skipped"
        );
        headers.insert("x-forwarded-for", "garbage".parse().expect("header"));
        assert_eq!(client_ip(proxy, &headers, &[proxy]), proxy);
    }
}
