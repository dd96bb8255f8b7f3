//! Known devices ("device cookies", as OWASP describes them for slowing online guessing): a
//! browser in which someone completed a sign-in carries a random token, and the store keeps,
//! under the token's hash, the people who signed in there. The per-source back-off neither
//! refuses nor counts a sign-in for one of them from that browser. So when an office address is
//! backed off by failures from others behind the same NAT (a contact centre at shift start), the
//! people who work there still sign in from their own browsers, while a sprayer without such a
//! token stays refused. A known device skips nothing else: the password, the second factor and
//! the per-account lock apply as always, and the token is worth nothing for anyone else's login.

use serde::{Deserialize, Serialize};

/// How long a browser stays known after its last completed sign-in.
pub const DEVICE_DAYS: i64 = 90;
/// People remembered per browser (a desk shared across shifts); the least recent is dropped.
pub const PEOPLE_PER_DEVICE: usize = 8;

/// What the store keeps for one browser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDevice {
    /// Least recent first.
    pub people: Vec<Person>,
    /// Unix seconds.
    pub expires: i64,
}

/// Someone who completed a sign-in in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Lower-cased.
    pub login: String,
    /// The account's id then: a later account reusing the login is not them.
    pub user_id: String,
}

impl KnownDevice {
    /// Whether the person with `login` and `user_id` completed a sign-in here and the record is
    /// still current at `now_s`.
    pub fn knows(&self, login: &str, user_id: &str, now_s: i64) -> bool {
        now_s < self.expires && self.people.iter().any(|p| p.login.eq_ignore_ascii_case(login) && p.user_id == user_id)
    }

    /// The record after `login` completed a sign-in at `now_s`: they become the most recent,
    /// the oldest beyond [`PEOPLE_PER_DEVICE`] are dropped, and it lasts [`DEVICE_DAYS`] from now.
    /// An expired record starts afresh.
    pub fn signed_in(mut self, login: &str, user_id: &str, now_s: i64) -> KnownDevice {
        if now_s >= self.expires {
            self.people.clear();
        }
        let login = login.to_ascii_lowercase();
        self.people.retain(|p| p.login != login);
        self.people.push(Person { login, user_id: user_id.to_owned() });
        let excess = self.people.len().saturating_sub(PEOPLE_PER_DEVICE);
        self.people.drain(..excess);
        self.expires = now_s + DEVICE_DAYS * 86_400;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_device_knows_the_people_who_signed_in_on_it_until_it_expires() {
        let device = KnownDevice::default().signed_in("Alice@Example.com", "u1", NOW);
        assert!(device.knows("alice@example.com", "u1", NOW + 1), "logins compare without case");
        assert!(!device.knows("bob@example.com", "u2", NOW + 1), "nobody else");
        assert!(!device.knows("alice@example.com", "u9", NOW + 1), "a new account under the old login is not them");
        assert!(device.knows("alice@example.com", "u1", NOW + DEVICE_DAYS * 86_400 - 1));
        assert!(!device.knows("alice@example.com", "u1", NOW + DEVICE_DAYS * 86_400), "expired");
    }

    #[test]
    fn a_shared_desk_keeps_the_most_recent_people_and_each_sign_in_extends_it() {
        let mut device = KnownDevice::default();
        for i in 0..PEOPLE_PER_DEVICE + 2 {
            device = device.signed_in(&format!("agent{i}"), &format!("u{i}"), NOW + i as i64);
        }
        assert_eq!(device.people.len(), PEOPLE_PER_DEVICE);
        assert!(!device.knows("agent0", "u0", NOW + 20) && !device.knows("agent1", "u1", NOW + 20), "oldest dropped");
        assert!(device.knows("agent2", "u2", NOW + 20));
        // Signing in again moves a person to the most recent place instead of adding them twice.
        device = device.signed_in("AGENT2", "u2", NOW + 30);
        assert_eq!(device.people.len(), PEOPLE_PER_DEVICE);
        assert_eq!(device.people.last().map(|p| p.login.as_str()), Some("agent2"));
        assert_eq!(device.expires, NOW + 30 + DEVICE_DAYS * 86_400);
    }

    #[test]
    fn an_expired_record_starts_afresh() {
        let old = KnownDevice::default().signed_in("alice", "u1", NOW);
        let later = NOW + DEVICE_DAYS * 86_400 + 5;
        let renewed = old.signed_in("bob", "u2", later);
        assert_eq!(renewed.people.len(), 1);
        assert!(renewed.knows("bob", "u2", later) && !renewed.knows("alice", "u1", later));
    }
}
