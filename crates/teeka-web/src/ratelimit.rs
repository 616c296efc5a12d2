//! Request limits in fixed windows (as CoWIN's edge applied them), per client IP or per any other
//! key (an account), and the rule for finding the client's IP: the TCP peer, unless the peer is a
//! configured trusted proxy, in which case the nearest untrusted address in `X-Forwarded-For`.

use crate::config::RateLimit;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// A shard is swept of expired windows when it reaches this size, and then not again until it has
/// doubled, so a sweep is rare and its cost spread over the requests that grew the map.
const FIRST_SWEEP_AT: usize = 4_096;
/// Most clients one shard tracks; beyond that, new clients share one overflow window, so memory
/// stays bounded (about 16 × 65,536 entries) even when an attacker rotates addresses.
const MAX_PER_SHARD: usize = 65_536;

struct Window {
    started: Instant,
    count: u32,
}

struct Shard<K> {
    windows: HashMap<K, Window>,
    sweep_at: usize,
}

/// Counts requests per key in fixed windows, in this process, in bounded memory.
pub struct RateLimiter<K> {
    limit: RateLimit,
    hasher: RandomState,
    shards: Vec<Mutex<Shard<K>>>,
    overflow: Mutex<Window>,
}

/// Counts requests per client IP: IPv4 clients per address, IPv6 clients per /64 (one subscriber
/// is usually given a whole /64).
pub type IpRateLimiter = RateLimiter<IpAddr>;

/// The key a client is counted under.
pub fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// A limiter enforcing `limit` for each key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        windows: HashMap::new(),
                        sweep_at: FIRST_SWEEP_AT,
                    })
                })
                .collect(),
            overflow: Mutex::new(Window {
                started: Instant::now(),
                count: 0,
            }),
        }
    }

    /// Counts one request under `key`; `Err(retry_after)` when over the limit.
    pub fn check_key(&self, key: K) -> Result<(), Duration> {
        self.check_key_at(key, Instant::now())
    }

    fn count(&self, window: &mut Window, now: Instant, requests: u32) -> Result<(), Duration> {
        let length = self.limit.window;
        if now.duration_since(window.started) >= length {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= requests {
            return Err(length.saturating_sub(now.duration_since(window.started)));
        }
        window.count += 1;
        Ok(())
    }

    fn check_key_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        let length = self.limit.window;
        if shard.windows.len() >= shard.sweep_at {
            shard
                .windows
                .retain(|_, w| now.duration_since(w.started) < length);
            shard.sweep_at = (shard.windows.len() * 2).max(FIRST_SWEEP_AT);
        }
        if !shard.windows.contains_key(&key) && shard.windows.len() >= MAX_PER_SHARD {
            drop(shard);
            // Full: unknown clients share one window (sized for many clients), never a free pass.
            let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
            let shared = self.limit.requests.saturating_mul(64);
            return self.count(&mut overflow, now, shared);
        }
        let entry = shard.windows.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        self.count(entry, now, self.limit.requests)
    }
}

impl IpRateLimiter {
    /// Counts one request from `ip` (under its bucket); `Err(retry_after)` when over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_key(bucket_of(ip))
    }

    #[cfg(test)]
    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.check_key_at(bucket_of(ip), now)
    }
}

/// Parses one `X-Forwarded-For` hop: an address, possibly with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
}

/// The client's IP: the peer's, or, when the peer is a trusted proxy, the rightmost address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Headers from untrusted peers are ignored,
/// so nobody can spoof their way past a limit. Addresses are compared in canonical form (an IPv4
/// proxy seen through a dual-stack socket as `::ffff:a.b.c.d` is still that proxy).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip);
    if !is_trusted(peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match parse_hop(hop).map(|ip| ip.to_canonical()) {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return ip,
            // A malformed hop means the chain cannot be trusted past this point.
            None => return peer,
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

    #[test]
    fn proxies_and_hops_are_compared_canonically() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9:5678, [2001:db8::1]".parse().expect("header"),
        );
        let mapped = ip("::ffff:10.0.0.5");
        assert_eq!(
            client_ip(mapped, &headers, &[ip("10.0.0.5")]),
            ip("2001:db8::1"),
            "a mapped proxy is trusted"
        );
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9:5678".parse().expect("header"),
        );
        assert_eq!(
            client_ip(mapped, &headers, &[ip("10.0.0.5")]),
            ip("203.0.113.9"),
            "ports are stripped"
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_slash_64() {
        let limiter = IpRateLimiter::new(RateLimit {
            requests: 2,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert!(limiter.check_at(ip("2001:db8:1:2::1"), t0).is_ok());
        assert!(limiter.check_at(ip("2001:db8:1:2::ffff"), t0).is_ok());
        assert!(
            limiter.check_at(ip("2001:db8:1:2:abcd::9"), t0).is_err(),
            "same /64, new address: same bucket"
        );
        assert!(
            limiter.check_at(ip("2001:db8:1:3::1"), t0).is_ok(),
            "another /64"
        );
    }

    #[test]
    fn rotating_addresses_cannot_grow_the_map_without_bound() {
        let limiter = IpRateLimiter::new(RateLimit {
            requests: 1,
            window: Duration::from_secs(300),
        });
        let t0 = Instant::now();
        let mut refused = 0;
        for n in 0..(SHARDS * MAX_PER_SHARD + 50_000) as u32 {
            if limiter
                .check_at(IpAddr::V4(std::net::Ipv4Addr::from(n)), t0)
                .is_err()
            {
                refused += 1;
            }
        }
        let tracked: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().expect("lock").windows.len())
            .sum();
        assert!(tracked <= SHARDS * MAX_PER_SHARD, "{tracked}");
        assert!(refused > 0, "the overflow window limits the excess");
    }
}
