//! Sign-in back-off per source address: after [`LIMIT`] failed sign-ins (passwords or codes,
//! whoever they named) from one address within [`WINDOW_SECONDS`], that address is refused
//! until the window ends, before any password is checked. Each attempt is counted before it is
//! checked (and given back when it succeeds), so parallel attempts cannot exceed the limit. Per-account lockout
//! (`crate::credentials`) stops guessing one person's password; this stops one address
//! spraying many. The counts live in the store (one atomic increment per failure), so every
//! node shares them and concurrent failures are all counted.

pub const LIMIT: i64 = 30;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// Failures counted for one address in its current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    /// Unix milliseconds when the window (begun by its first failure) ends.
    pub window_end: i64,
}

impl Failures {
    /// Seconds to wait before this address may try again, or `None` when it may now.
    pub fn wait(&self, now_millis: i64) -> Option<i64> {
        (self.count >= LIMIT && now_millis < self.window_end).then(|| (self.window_end - now_millis + 999) / 1000)
    }

    /// For a count that includes the attempt being made: seconds to wait when it is over the
    /// limit (the attempt is refused), else `None`.
    pub fn over_limit(&self, now_millis: i64) -> Option<i64> {
        (self.count > LIMIT && now_millis < self.window_end).then(|| (self.window_end - now_millis + 999) / 1000)
    }

    /// One more failure at `now` (a new window when the last one ended): what the store's
    /// atomic counter does, for the in-memory IdP.
    pub fn after_failure(self, now_millis: i64) -> Failures {
        if now_millis >= self.window_end {
            Failures { count: 1, window_end: now_millis + WINDOW_SECONDS * 1000 }
        } else {
            Failures { count: self.count.saturating_add(1), window_end: self.window_end }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_within_the_window_and_a_new_window_starts_afresh() {
        let start = 1_000_000;
        let mut f = Failures::default();
        for i in 0..LIMIT {
            assert_eq!(f.wait(start + i), None);
            f = f.after_failure(start + i);
        }
        assert_eq!(f.wait(start + 100_000), Some(WINDOW_SECONDS - 100));
        assert_eq!(f.wait(start + WINDOW_SECONDS * 1000), None, "the window ended");
        assert_eq!(f.after_failure(start + WINDOW_SECONDS * 1000).count, 1);
    }
}
