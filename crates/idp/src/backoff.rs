//! Sign-in back-off per source address: after [`SourceLimit::count`] failed sign-ins
//! (passwords or codes, whoever they named) from one address within its window, that address is
//! refused until the window ends, before any password is checked. Each attempt is counted before
//! it is checked (and given back when it succeeds), so parallel attempts cannot exceed the limit.
//! Per-account lockout (`crate::credentials`) stops guessing one person's password; this stops
//! one address spraying many (an IPv6 /64 counts as one address: [`source_key`]; its /48 is
//! counted too, at [`SITE_FACTOR`] times the limit). The counts
//! live in the store (one atomic increment per failure and count), so every node shares them and
//! concurrent failures are all counted. People signing in from a browser they completed a
//! sign-in in before are exempt (`crate::devices`).
//!
//! The same counters limit the SP-initiated requests one address may send ([`REQUESTS`] a
//! minute by default), each of which the IdP keeps until it is answered or expires.

use std::net::{IpAddr, Ipv6Addr};

/// The default limit: failures from one address within [`WINDOW_SECONDS`].
pub const LIMIT: i64 = 30;
/// The default window.
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// The default limit on SP-initiated requests from one address, within
/// [`REQUESTS_WINDOW_SECONDS`]: each one held costs store records until it expires, and anyone
/// who knows an SP's entity ID may send them. An office behind one NAT address signing in to
/// its apps at nine stays well below it.
pub const REQUESTS: i64 = 300;
pub const REQUESTS_WINDOW_SECONDS: i64 = 60;

/// How many events from one address, within how long, pause it: failed sign-ins (configurable
/// in `[sign_in]`, [`LIMIT`] in [`WINDOW_SECONDS`] by default) or SP-initiated requests
/// ([`SourceLimit::requests`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimit {
    pub count: i64,
    pub window_seconds: i64,
}

impl Default for SourceLimit {
    fn default() -> Self {
        SourceLimit { count: LIMIT, window_seconds: WINDOW_SECONDS }
    }
}

impl SourceLimit {
    /// SP-initiated requests: `per_minute` from one address.
    pub fn requests(per_minute: i64) -> Self {
        SourceLimit { count: per_minute, window_seconds: REQUESTS_WINDOW_SECONDS }
    }
}

/// The source failures are counted under: an IPv4 address (IPv4-mapped IPv6 as IPv4), or the
/// /64 of an IPv6 one, the block one subscriber is given; counting whole IPv6 addresses would
/// give one sprayer 2^64 allowances.
pub fn source_key(source: IpAddr) -> String {
    match source.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

/// How many times the limit a whole IPv6 site (/48) gets: one sprayer holds 65,536 /64s there.
pub const SITE_FACTOR: i64 = 8;

/// Every count `source` is held to, with its limit: its [`source_key`] at `limit`, and for IPv6
/// also its /48 at [`SITE_FACTOR`] times that.
pub fn source_counts(source: IpAddr, limit: SourceLimit) -> Vec<(String, SourceLimit)> {
    let own = (source_key(source), limit);
    match source.to_canonical() {
        IpAddr::V4(_) => vec![own],
        IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            let site = format!("{}/48", Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0));
            vec![own, (site, SourceLimit { count: limit.count.saturating_mul(SITE_FACTOR), ..limit })]
        }
    }
}

/// What one address did (failed sign-ins, or requests) in its current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub count: i64,
    /// Unix milliseconds when the window (begun by its first event) ends.
    pub window_end: i64,
}

impl Counted {
    /// Seconds to wait before this address may try again, or `None` when it may now.
    pub fn wait(&self, now_millis: i64, limit: SourceLimit) -> Option<i64> {
        (self.count >= limit.count && now_millis < self.window_end).then(|| self.seconds_left(now_millis))
    }

    /// For a count that includes the attempt being made: seconds to wait when it is over the
    /// limit (the attempt is refused), else `None`.
    pub fn over_limit(&self, now_millis: i64, limit: SourceLimit) -> Option<i64> {
        (self.count > limit.count && now_millis < self.window_end).then(|| self.seconds_left(now_millis))
    }

    fn seconds_left(&self, now_millis: i64) -> i64 {
        (self.window_end - now_millis + 999) / 1000
    }

    /// One more at `now` (a new window when the last one ended): what the store's
    /// atomic counter does, for the in-memory IdP.
    pub fn after_one(self, now_millis: i64, limit: SourceLimit) -> Counted {
        if now_millis >= self.window_end {
            Counted { count: 1, window_end: now_millis + limit.window_seconds * 1000 }
        } else {
            Counted { count: self.count.saturating_add(1), window_end: self.window_end }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_within_the_window_and_a_new_window_starts_afresh() {
        let (start, limit) = (1_000_000, SourceLimit::default());
        let mut f = Counted::default();
        for i in 0..LIMIT {
            assert_eq!(f.wait(start + i, limit), None);
            f = f.after_one(start + i, limit);
        }
        assert_eq!(f.wait(start + 100_000, limit), Some(WINDOW_SECONDS - 100));
        assert_eq!(f.wait(start + WINDOW_SECONDS * 1000, limit), None, "the window ended");
        assert_eq!(f.after_one(start + WINDOW_SECONDS * 1000, limit).count, 1);
    }

    #[test]
    fn sources_are_counted_by_ipv4_address_or_ipv6_64() {
        let key = |text: &str| source_key(text.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn an_ipv6_source_is_also_held_to_its_sites_count() {
        let limit = SourceLimit { count: 3, window_seconds: 60 };
        let counts = |text: &str| source_counts(text.parse().unwrap(), limit);
        assert_eq!(counts("192.0.2.7"), [("192.0.2.7".to_owned(), limit)]);
        assert_eq!(counts("::ffff:192.0.2.7"), [("192.0.2.7".to_owned(), limit)]);
        let site = SourceLimit { count: 24, window_seconds: 60 };
        assert_eq!(
            counts("2001:db8:1:2::9"),
            [("2001:db8:1:2::/64".to_owned(), limit), ("2001:db8:1::/48".to_owned(), site)]
        );
    }

    #[test]
    fn a_configured_limit_and_window_replace_the_defaults() {
        let (start, limit) = (1_000_000, SourceLimit { count: 100, window_seconds: 60 });
        let mut f = Counted::default();
        for i in 0..100 {
            assert_eq!(f.over_limit(start, limit), None, "attempt {i}");
            f = f.after_one(start, limit);
        }
        assert_eq!(f.wait(start, limit), Some(60), "the hundredth failure pauses the address for the window");
        assert_eq!(f.wait(start, SourceLimit::default()), Some(60), "past the default limit too");
        assert_eq!(f.after_one(start, limit).over_limit(start + 59_000, limit), Some(1));
        assert_eq!(f.wait(start + 60_000, limit), None);
    }
}
