//! Known devices ("device cookies", as OWASP describes them for slowing online guessing): a
//! browser in which someone completed a sign-in keeps an entry naming them, sealed (AES-256-GCM)
//! under the IdP's secret key for this purpose only, so it cannot be made up, altered or taken
//! from another sealed value, and the IdP stores nothing.
//! The per-source back-off neither refuses nor counts a sign-in for someone the browser's
//! cookie names. So when an office address is backed off by failures from others behind the same
//! NAT (a contact centre at shift start), the people who work there still sign in from their own
//! browsers, while a sprayer without such an entry stays refused. The account lock that failures
//! from elsewhere set does not refuse them either; the device obeys the lock its own failures
//! set (`crate::credentials::Origin`). Nothing else is skipped: the password and the second
//! factor are checked as always, and an entry is worth nothing for anyone else's login. An entry names the account's id and credential epoch, so a
//! password change, a removal or a new account under the old login ends it.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::secrets::Sealer;
use idfed_saml::random::Random;

/// How long an entry lasts after the sign-in that wrote it.
pub const DEVICE_DAYS: i64 = 90;
/// People remembered per browser (a desk shared across shifts); the least recent is dropped.
pub const PEOPLE_PER_DEVICE: usize = 8;
/// Longer device texts are ignored unopened: eight entries take about 2 KB, and a client may
/// send one in a JSON body of any size.
pub const MAX_DEVICE_BYTES: usize = 8 * 1024;
/// Separates the sealed entries in the cookie (not in base64's alphabet).
const SEPARATOR: char = '.';
/// What entries are sealed for ([`Sealer::seal_for`]): no other sealed value opens as one.
const PURPOSE: &str = "device";
/// The entry format, checked when opened.
const KIND: &str = "idfed-device-v1";

/// One person who completed a sign-in in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    kind: String,
    /// As the directory spells it.
    pub login: String,
    pub user_id: String,
    /// The credential epoch at that sign-in.
    pub epoch: u64,
    /// Unix seconds.
    pub expires: i64,
    /// This browser (or client) for this person: random, kept when the entry is renewed, so
    /// failures there lock only it (`crate::credentials::Origin`). Empty in entries from before
    /// device ids, which share one count.
    #[serde(default)]
    pub device: String,
}

impl Entry {
    pub fn new(login: &str, user_id: &str, epoch: u64, now_s: i64, device: String) -> Entry {
        Entry {
            kind: KIND.to_owned(),
            login: login.to_owned(),
            user_id: user_id.to_owned(),
            epoch,
            expires: now_s + DEVICE_DAYS * 86_400,
            device,
        }
    }

    /// Whether this entry names the account `login` with id `user_id` as it is now (`epoch`).
    pub fn names(&self, login: &str, user_id: &str, epoch: u64, now_s: i64) -> bool {
        now_s < self.expires && self.login.eq_ignore_ascii_case(login) && self.user_id == user_id && self.epoch == epoch
    }
}

/// The entries of a device cookie that open under `sealer`, each with its sealed text; anything
/// else in it (damaged, forged, unsealed, beyond [`PEOPLE_PER_DEVICE`]) is ignored, and so is
/// all of it when it is longer than [`MAX_DEVICE_BYTES`].
pub fn open<'c>(cookie: &'c str, sealer: &Sealer) -> Vec<(&'c str, Entry)> {
    if cookie.len() > MAX_DEVICE_BYTES {
        return Vec::new();
    }
    cookie
        .split(SEPARATOR)
        .take(PEOPLE_PER_DEVICE)
        .filter_map(|sealed| {
            let plain = sealer.open_for(PURPOSE, sealed).ok()?;
            let entry: Entry = serde_json::from_str(&plain).ok()?;
            (entry.kind == KIND).then_some((sealed, entry))
        })
        .collect()
}

/// The device id for `login` in a browser that holds `kept`: the one their entry there has, or a
/// new random one (128 bits).
pub fn device_id(kept: &[(&str, Entry)], login: &str, rng: &dyn Random) -> Result<String> {
    let known = kept.iter().find(|(_, e)| e.login.eq_ignore_ascii_case(login) && !e.device.is_empty());
    if let Some((_, entry)) = known {
        return Ok(entry.device.clone());
    }
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes)?;
    Ok(crate::hex::lower(&bytes))
}

/// The cookie after `entry`'s person completed a sign-in in a browser that held `kept`: their
/// older entry and expired ones go, theirs is sealed afresh and comes last, and the least recent
/// beyond [`PEOPLE_PER_DEVICE`] are dropped.
pub fn after_sign_in(
    kept: &[(&str, Entry)],
    entry: &Entry,
    now_s: i64,
    sealer: &Sealer,
    rng: &dyn Random,
) -> Result<String> {
    let plain = serde_json::to_string(entry).map_err(|e| crate::error::IdpError::internal(e.to_string()))?;
    let fresh = sealer.seal_for(PURPOSE, &plain, rng)?;
    let others: Vec<&str> = kept
        .iter()
        .filter(|(_, e)| now_s < e.expires && !e.login.eq_ignore_ascii_case(&entry.login))
        .map(|(sealed, _)| *sealed)
        .collect();
    let skip = (others.len() + 1).saturating_sub(PEOPLE_PER_DEVICE);
    let mut parts: Vec<&str> = others.into_iter().skip(skip).collect();
    parts.push(&fresh);
    Ok(parts.join(&SEPARATOR.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use idfed_saml::random::SystemRandom;

    const NOW: i64 = 1_800_000_000;

    fn sealer() -> Sealer {
        Sealer::new(&[9u8; 32]).unwrap()
    }

    fn signed_in(cookie: Option<&str>, login: &str, user_id: &str, now: i64) -> String {
        let sealer = sealer();
        let kept = cookie.map(|c| open(c, &sealer)).unwrap_or_default();
        let device = device_id(&kept, login, &SystemRandom::new()).unwrap();
        after_sign_in(&kept, &Entry::new(login, user_id, 1, now, device), now, &sealer, &SystemRandom::new()).unwrap()
    }

    fn names(cookie: &str, login: &str, user_id: &str, epoch: u64, now: i64) -> bool {
        open(cookie, &sealer()).iter().any(|(_, e)| e.names(login, user_id, epoch, now))
    }

    #[test]
    fn an_entry_names_its_account_as_it_was_until_it_expires() {
        let cookie = signed_in(None, "Alice@Example.com", "u1", NOW);
        assert!(names(&cookie, "alice@example.com", "u1", 1, NOW + 1), "logins compare without case");
        assert!(!names(&cookie, "bob@example.com", "u2", 1, NOW + 1), "nobody else");
        assert!(!names(&cookie, "alice@example.com", "u9", 1, NOW + 1), "a new account under the old login");
        assert!(!names(&cookie, "alice@example.com", "u1", 2, NOW + 1), "the password changed since");
        assert!(names(&cookie, "alice@example.com", "u1", 1, NOW + DEVICE_DAYS * 86_400 - 1));
        assert!(!names(&cookie, "alice@example.com", "u1", 1, NOW + DEVICE_DAYS * 86_400), "expired");
    }

    #[test]
    fn made_up_altered_unsealed_or_foreign_entries_name_nobody() {
        let cookie = signed_in(None, "alice", "u1", NOW);
        let middle = cookie.len() / 2;
        let flipped = if cookie.as_bytes()[middle] == b'A' { "B" } else { "A" };
        let altered = format!("{}{flipped}{}", &cookie[..middle], &cookie[middle + 1..]);
        assert!(!names(&altered, "alice", "u1", 1, NOW));
        let entry = serde_json::to_string(&Entry::new("alice", "u1", 1, NOW, "d1".into())).unwrap();
        assert!(open(&entry, &sealer()).is_empty(), "unsealed JSON is not an entry");
        let other_key = Sealer::new(&[1u8; 32]).unwrap();
        assert!(open(&cookie, &other_key).is_empty(), "sealed under another key");
        let as_secret = sealer().seal(&entry, &SystemRandom::new()).unwrap();
        assert!(open(&as_secret, &sealer()).is_empty(), "an entry sealed as a stored secret (an admin's API secret)");
        let other_kind = entry.replace(KIND, "idfed-device-v0");
        let sealed = sealer().seal_for(PURPOSE, &other_kind, &SystemRandom::new()).unwrap();
        assert!(open(&sealed, &sealer()).is_empty(), "another format");
        let control = sealer().seal_for(PURPOSE, &entry, &SystemRandom::new()).unwrap();
        assert_eq!(open(&control, &sealer()).len(), 1, "the control");
    }

    #[test]
    fn a_device_text_over_the_size_limit_is_not_opened() {
        let cookie = signed_in(None, "alice", "u1", NOW);
        let padded = format!("{cookie}.{}", "x".repeat(MAX_DEVICE_BYTES - cookie.len()));
        assert_eq!(padded.len(), MAX_DEVICE_BYTES + 1);
        assert!(open(&padded, &sealer()).is_empty());
        let just_fits = format!("{cookie}.{}", "x".repeat(MAX_DEVICE_BYTES - cookie.len() - 1));
        assert_eq!(open(&just_fits, &sealer()).len(), 1, "the control: the same entry within the limit");
    }

    #[test]
    fn a_shared_desk_keeps_the_most_recent_people_and_each_sign_in_renews_the_entry() {
        let mut cookie: Option<String> = None;
        for i in 0..PEOPLE_PER_DEVICE + 2 {
            cookie = Some(signed_in(cookie.as_deref(), &format!("agent{i}"), &format!("u{i}"), NOW + i as i64));
        }
        let cookie = cookie.unwrap();
        assert_eq!(open(&cookie, &sealer()).len(), PEOPLE_PER_DEVICE);
        assert!(!names(&cookie, "agent0", "u0", 1, NOW + 20) && !names(&cookie, "agent1", "u1", 1, NOW + 20));
        assert!(names(&cookie, "agent2", "u2", 1, NOW + 20));
        let before = open(&cookie, &sealer()).into_iter().find(|(_, e)| e.login == "agent2").unwrap().0.to_owned();
        let renewed = signed_in(Some(&cookie), "AGENT2", "u2", NOW + 30);
        assert!(!renewed.contains(&before), "the person's entry is sealed afresh");
        let entries = open(&renewed, &sealer());
        assert_eq!(entries.len(), PEOPLE_PER_DEVICE, "renewed, not added twice");
        assert_eq!(entries.last().map(|(_, e)| e.login.as_str()), Some("AGENT2"));
        assert_eq!(entries.last().map(|(_, e)| e.expires), Some(NOW + 30 + DEVICE_DAYS * 86_400));
    }

    #[test]
    fn a_person_keeps_their_device_id_in_a_browser_and_gets_another_in_the_next() {
        let device = |cookie: &str, login: &str| {
            open(cookie, &sealer()).into_iter().find(|(_, e)| e.login == login).map(|(_, e)| e.device).unwrap()
        };
        let desk = signed_in(None, "alice", "u1", NOW);
        let first = device(&desk, "alice");
        assert_eq!(first.len(), 32, "{first}");
        let shared = signed_in(Some(&desk), "bob", "u2", NOW + 1);
        assert_ne!(device(&shared, "bob"), first, "each person their own id, in the same browser");
        let renewed = signed_in(Some(&shared), "alice", "u1", NOW + 2);
        assert_eq!(device(&renewed, "alice"), first, "renewed, the same id");
        assert_ne!(device(&signed_in(None, "alice", "u1", NOW + 3), "alice"), first, "another browser");
        // An entry from before device ids opens, with none; the next sign-in gives it one.
        let legacy = format!(r#"{{"kind":"{KIND}","login":"carol","user_id":"u3","epoch":1,"expires":{}}}"#, NOW + 99);
        let sealed = sealer().seal_for(PURPOSE, &legacy, &SystemRandom::new()).unwrap();
        assert_eq!(device(&sealed, "carol"), "");
        assert_eq!(device(&signed_in(Some(&sealed), "carol", "u3", NOW + 4), "carol").len(), 32);
    }

    #[test]
    fn expired_entries_are_dropped_at_the_next_sign_in() {
        let old = signed_in(None, "alice", "u1", NOW);
        let later = NOW + DEVICE_DAYS * 86_400 + 5;
        let renewed = signed_in(Some(&old), "bob", "u2", later);
        assert_eq!(open(&renewed, &sealer()).len(), 1);
        assert!(names(&renewed, "bob", "u2", 1, later));
    }
}
