//! Passwords (argon2id), TOTP second factors and sign-in back-off, per login. Kept apart from
//! the tenant: never exported, never logged.

use std::collections::BTreeMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use idfed_saml::Instant;
use idfed_saml::random::Random;
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::{ErrorKind, IdpError, Result};

/// Failures allowed before the account is locked.
pub const LOCK_AFTER_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// Minimum password length (NIST SP 800-63B).
pub const MIN_PASSWORD: usize = 8;
/// Enrollments under way at once for one login (several browsers); older ones are dropped.
pub const PENDING_PER_LOGIN: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// PHC string (`$argon2id$…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// Base32 TOTP secret, once enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    #[serde(default)]
    pub failures: u32,
    /// Unix seconds until which sign-in is refused.
    #[serde(default)]
    pub locked_until: i64,
    /// A secret being enrolled: active once a code from it is confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<String>,
    /// Secrets being enrolled, by the session (hash of its token) each was shown to: a session
    /// confirms only its own, so a secret another session saw is never the one enrolled. At
    /// most [`PENDING_PER_LOGIN`], the oldest dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub totp_pending_by: Vec<(String, String)>,
    /// Raised when the password changes or the person is removed: sessions started before
    /// carry an older epoch and stop working.
    #[serde(default)]
    pub epoch: u64,
    /// The last TOTP time step accepted, so a code is never used twice.
    #[serde(default)]
    pub last_totp_step: u64,
    /// Failures from each of the person's known devices (by the device id in its entry), and
    /// the lock they set: the only lock that device obeys ([`Origin`]). At most
    /// [`DEVICE_LOCKS_PER_LOGIN`] of their own and the one further devices share; counts that
    /// ended are dropped at the next failure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub device_locks: BTreeMap<String, DeviceLock>,
}

/// One known device's failures and lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLock {
    pub failures: u32,
    /// Unix seconds until which this device is refused.
    pub locked_until: i64,
}

/// Known devices with counts of their own per person. A count still running or a lock still on
/// is never dropped to make room: devices beyond it share one count ([`OTHER_DEVICES`]).
pub const DEVICE_LOCKS_PER_LOGIN: usize = 16;
/// The count the devices beyond [`DEVICE_LOCKS_PER_LOGIN`] share (device ids are hex; entries
/// from before device ids have the empty one).
const OTHER_DEVICES: &str = "*";

/// Where a sign-in step comes from, for the account lock. Every failure counts towards the
/// account's lock, which refuses steps from anywhere else; each of the person's known devices
/// (`crate::devices`, named by the device id in its entry) obeys only the lock its own failures
/// set. So a sprayer without a device entry cannot lock people out of the browsers they work
/// in, whoever holds one such browser gets five guesses there and locks only that one, and
/// entries from before device ids share one count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'d> {
    KnownDevice(&'d str),
    Elsewhere,
}

/// One more failure on `count`; the fifth in a row sets `until` [`LOCK_SECONDS`] ahead.
fn count_towards_lock(count: &mut u32, until: &mut i64, now_s: i64) -> Refusal {
    *count += 1;
    if *count < LOCK_AFTER_FAILURES {
        return Refusal::BadCredentials;
    }
    *count = 0;
    *until = now_s + LOCK_SECONDS;
    Refusal::Locked { until: *until }
}

impl Credential {
    /// The lock a step from `origin` obeys, when it is on at `now_s`.
    fn lock_on(&self, origin: Origin, now_s: i64) -> Option<Refusal> {
        let until = match origin {
            Origin::KnownDevice(device) => {
                self.device_locks.get(self.device_key(device)).map_or(0, |lock| lock.locked_until)
            }
            Origin::Elsewhere => self.locked_until,
        };
        (until > now_s).then_some(Refusal::Locked { until })
    }

    /// Counts a failed step from `origin` and answers as the lock it obeys. A known device's
    /// failure while the account is locked leaves that lock as it is.
    fn count_failure(&mut self, origin: Origin, now_s: i64) -> Refusal {
        let account = match self.lock_on(Origin::Elsewhere, now_s) {
            Some(locked) => locked,
            None => count_towards_lock(&mut self.failures, &mut self.locked_until, now_s),
        };
        match origin {
            Origin::Elsewhere => account,
            Origin::KnownDevice(device) => {
                // Counts that ended make room; running ones stay.
                self.device_locks.retain(|id, lock| id == device || lock.failures > 0 || lock.locked_until > now_s);
                let key = self.device_key(device).to_owned();
                let lock = self.device_locks.entry(key).or_default();
                count_towards_lock(&mut lock.failures, &mut lock.locked_until, now_s)
            }
        }
    }

    /// The count a known device's steps go to: its own, or the shared one when
    /// [`DEVICE_LOCKS_PER_LOGIN`] others are running.
    fn device_key<'d>(&self, device: &'d str) -> &'d str {
        if self.device_locks.contains_key(device) || self.device_locks.len() < DEVICE_LOCKS_PER_LOGIN {
            device
        } else {
            OTHER_DEVICES
        }
    }

    /// A step from `origin` succeeded: the account's count and that device's start afresh.
    /// Other devices' counts stay: the person signing in elsewhere gives nobody more guesses.
    fn clear_failures(&mut self, origin: Origin) {
        self.failures = 0;
        if let Origin::KnownDevice(device) = origin {
            let key = self.device_key(device).to_owned();
            self.device_locks.remove(&key);
        }
    }
}

/// An admin API token: only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub name: String,
    pub created: i64,
}

/// Every login's credential, keyed by lower-cased login, and the admin API tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub by_login: BTreeMap<String, Credential>,
    /// Keyed by the hex SHA-256 of the token.
    #[serde(default)]
    pub api_tokens: BTreeMap<String, ApiToken>,
}

impl Credentials {
    /// Applies `f` to every TOTP secret (enrolled and pending): sealing before the store,
    /// opening after it.
    pub fn map_totp_secrets(
        &mut self,
        mut f: impl FnMut(&str) -> crate::error::Result<String>,
    ) -> crate::error::Result<()> {
        for credential in self.by_login.values_mut() {
            for secret in [&mut credential.totp_secret, &mut credential.totp_pending].into_iter().flatten() {
                *secret = f(secret)?;
            }
            for (_, secret) in &mut credential.totp_pending_by {
                *secret = f(secret)?;
            }
        }
        Ok(())
    }
}

/// The hex SHA-256 of a token, as tokens are kept.
pub fn token_hash(token: &str) -> String {
    crate::hex::sha256(token.as_bytes())
}

/// Why a sign-in step failed. People only ever see one generic text for the first three, so
/// the page does not tell whether an account exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadCredentials,
    Locked { until: i64 },
    NoPassword,
}

/// One text for every failed sign-in (wrong password, unknown or locked account), so the page
/// never tells whether an account exists.
pub const GENERIC_FAILURE: &str = "Sign-in failed. Check your username and password. After several failed attempts, sign-in is paused for 15 minutes.";

fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes `password` with argon2id (RFC 9106 second recommended parameters, the crate's default).
pub fn hash_password(password: &str, rng: &dyn Random) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(IdpError::invalid(format!("a password needs at least {MIN_PASSWORD} characters")));
    }
    if password.len() > 1024 {
        return Err(IdpError::invalid("a password may be at most 1024 bytes"));
    }
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| IdpError::internal(format!("salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IdpError::internal(format!("hashing: {e}")))
}

/// Whether `password` matches the PHC string `hash`, computed in reused memory.
fn password_matches(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Ok(algorithm), Ok(params)) =
        (argon2::Algorithm::try_from(parsed.algorithm), argon2::Params::try_from(&parsed))
    else {
        return false;
    };
    let version = parsed.version.map_or(Ok(argon2::Version::default()), argon2::Version::try_from);
    let (Ok(version), Some(salt), Some(expected)) = (version, parsed.salt, parsed.hash) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let computed = argon2_memory::with_blocks(blocks, |memory| {
        argon2::password_hash::Output::init_with(expected.len(), |out| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, out, memory).map_err(Into::into)
        })
    });
    // Output compares in constant time.
    computed.is_ok_and(|output| output == expected)
}

/// Argon2's working memory (19 MiB a hash with the default parameters), kept between hashes so
/// that a sign-in does not map and fault in 19 MiB afresh. (Freed per sign-in it also left
/// glibc holding hundreds of megabytes until the binary fixed glibc's mmap threshold, see the
/// CLI's `memory` module.) The kept buffers are why the IdP idles about 19 MiB higher once
/// someone has signed in.
mod argon2_memory {
    use std::sync::Mutex;

    use argon2::Block;

    /// Buffers kept for reuse; more concurrent hashes than this allocate and free their own.
    const KEPT: usize = 2;

    static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

    pub fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let reused = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut memory = match reused {
            Some(mut buffer) => {
                buffer.resize(count, Block::default());
                buffer
            }
            None => vec![Block::default(); count],
        };
        let result = f(&mut memory);
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < KEPT {
            pool.push(memory);
        }
        result
    }
}

/// A hash to verify against when the login is unknown, so both paths cost the same.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        SaltString::encode_b64(b"idfed-decoy-salt")
            .ok()
            .and_then(|salt| hasher().hash_password(b"decoy password", &salt).ok().map(|h| h.to_string()))
            .unwrap_or_default()
    })
}

fn totp(secret: &str) -> Result<TOTP> {
    let bytes =
        Secret::Encoded(secret.to_owned()).to_bytes().map_err(|_| IdpError::internal("the TOTP secret is damaged"))?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, Some("idfed".into()), "user".into())
        .map_err(|e| IdpError::internal(format!("TOTP: {e}")))
}

impl Credentials {
    pub fn get(&self, login: &str) -> Option<&Credential> {
        self.by_login.get(&login.to_ascii_lowercase())
    }

    fn entry(&mut self, login: &str) -> &mut Credential {
        self.by_login.entry(login.to_ascii_lowercase()).or_default()
    }

    pub fn set_password(&mut self, login: &str, password: &str, rng: &dyn Random) -> Result<()> {
        let hash = hash_password(password, rng)?;
        let credential = self.entry(login);
        credential.password_hash = Some(hash);
        credential.failures = 0;
        credential.locked_until = 0;
        credential.device_locks.clear();
        credential.epoch += 1;
        credential.totp_pending = None;
        credential.totp_pending_by.clear();
        Ok(())
    }

    /// Checks a password at `now`, counting failures and locking after [`LOCK_AFTER_FAILURES`].
    /// `known` says whether the login exists and may sign in. Every answer costs one password
    /// hash, so its time tells an unknown login, a locked account and one without a password
    /// apart from none other.
    pub fn check_password(
        &mut self,
        login: &str,
        password: &str,
        known: bool,
        origin: Origin,
        now: Instant,
    ) -> Result<(), Refusal> {
        let now_s = now.unix_seconds();
        let credential = known.then(|| self.entry(login));
        let hash = credential.as_ref().and_then(|c| c.password_hash.clone());
        let matches = password_matches(hash.as_deref().unwrap_or_else(|| decoy_hash()), password);
        let Some(credential) = credential else { return Err(Refusal::BadCredentials) };
        if let Some(locked) = credential.lock_on(origin, now_s) {
            return Err(locked);
        }
        if hash.is_none() {
            return Err(Refusal::NoPassword);
        }
        if matches {
            // With a second factor due, failures are cleared only when it succeeds: otherwise
            // a known password would reset the count between guesses of the code.
            if credential.totp_secret.is_none() {
                credential.clear_failures(origin);
            }
            return Ok(());
        }
        Err(credential.count_failure(origin, now_s))
    }

    /// Starts TOTP enrollment: a new secret, returned as the `otpauth://` URL for an app.
    pub fn enroll_totp(&mut self, login: &str, rng: &dyn Random) -> Result<String> {
        let mut raw = [0u8; 20];
        rng.fill(&mut raw)?;
        let secret = Secret::Raw(raw.to_vec()).to_encoded().to_string();
        let mut generator = totp(&secret)?;
        generator.account_name = login.to_owned();
        let credential = self.entry(login);
        // A replaced second factor (a lost phone) ends what was opened with the old one.
        if credential.totp_secret.replace(secret).is_some() {
            credential.epoch += 1;
        }
        Ok(generator.get_url())
    }

    /// Removes the second factor and ends the person's sessions (they were opened with it).
    pub fn reset_totp(&mut self, login: &str) {
        let credential = self.entry(login);
        credential.totp_secret = None;
        credential.totp_pending = None;
        credential.totp_pending_by.clear();
        credential.epoch += 1;
    }

    /// Self-service enrollment, step one: the pending secret of the session `owner` (a hash of
    /// its token), kept while that session reloads the page; other sessions get their own.
    /// Returns the base32 secret and the otpauth:// URL.
    pub fn begin_totp(&mut self, login: &str, owner: &str, rng: &dyn Random) -> Result<(String, String)> {
        let reusable =
            self.get(login).and_then(|c| c.totp_pending_by.iter().find(|(o, _)| o == owner).map(|(_, s)| s.clone()));
        let secret = match reusable {
            Some(secret) => secret,
            None => {
                let mut raw = [0u8; 20];
                rng.fill(&mut raw)?;
                let secret = Secret::Raw(raw.to_vec()).to_encoded().to_string();
                let pending = &mut self.entry(login).totp_pending_by;
                pending.push((owner.to_owned(), secret.clone()));
                if pending.len() > PENDING_PER_LOGIN {
                    pending.remove(0);
                }
                secret
            }
        };
        let mut generator = totp(&secret)?;
        generator.account_name = login.to_owned();
        Ok((secret, generator.get_url()))
    }

    pub fn confirm_totp(&mut self, login: &str, owner: &str, code: &str, now: Instant) -> Result<(), Refusal> {
        let credential = self.entry(login);
        let Some(pending) = credential.totp_pending_by.iter().find(|(o, _)| o == owner).map(|(_, s)| s.clone()) else {
            return Err(Refusal::BadCredentials);
        };
        let Ok(generator) = totp(&pending) else { return Err(Refusal::BadCredentials) };
        let now_s = u64::try_from(now.unix_seconds()).unwrap_or(0);
        let step = now_s / 30;
        let ok = [step.saturating_sub(1), step, step + 1].iter().any(|s| generator.generate(s * 30) == code.trim());
        if !ok {
            return Err(Refusal::BadCredentials);
        }
        credential.totp_secret = Some(pending);
        credential.totp_pending = None;
        credential.totp_pending_by.clear();
        credential.last_totp_step = step + 1;
        Ok(())
    }

    /// The epoch sessions must carry (see [`Credential::epoch`]).
    pub fn epoch(&self, login: &str) -> u64 {
        self.get(login).map_or(0, |c| c.epoch)
    }

    /// Forgets a removed person: password, TOTP, lock. A later account with the same login
    /// starts afresh, and the old sessions stop (their user id no longer matches). The epoch
    /// outlives them, one higher: should the same account (id) come back, say from an old
    /// export, the sessions and known-device entries issued before the removal stay void.
    pub fn forget(&mut self, login: &str) -> bool {
        let key = login.to_ascii_lowercase();
        let Some(old) = self.by_login.remove(&key) else { return false };
        self.by_login.insert(key, Credential { epoch: old.epoch + 1, ..Credential::default() });
        true
    }

    /// Ends the person's sessions and known-device entries, keeping password and second factor
    /// (a suspension: what was issued before it stays void after a reactivation).
    pub fn end_sessions(&mut self, login: &str) {
        let credential = self.entry(login);
        credential.epoch += 1;
        credential.totp_pending = None;
        credential.totp_pending_by.clear();
    }

    /// Whether anything but an epoch is kept for `login` (a password, a second factor, a lock).
    pub fn holds_secrets(&self, login: &str) -> bool {
        self.get(login).is_some_and(|c| *c != Credential { epoch: c.epoch, ..Credential::default() })
    }

    pub fn has_totp(&self, login: &str) -> bool {
        self.get(login).is_some_and(|c| c.totp_secret.is_some())
    }

    /// Checks a TOTP code at `now` (one step of drift either way); a code is accepted once.
    /// Wrong codes count towards the lock like wrong passwords.
    pub fn check_totp(&mut self, login: &str, code: &str, origin: Origin, now: Instant) -> Result<(), Refusal> {
        let now_s = now.unix_seconds();
        let credential = self.entry(login);
        if let Some(locked) = credential.lock_on(origin, now_s) {
            return Err(locked);
        }
        let Some(secret) = credential.totp_secret.clone() else { return Err(Refusal::BadCredentials) };
        let Ok(generator) = totp(&secret) else { return Err(Refusal::BadCredentials) };
        let step_now = u64::try_from(now_s).unwrap_or(0) / 30;
        let code = code.trim();
        let matched = [step_now.saturating_sub(1), step_now, step_now + 1]
            .into_iter()
            .find(|step| step * 30 > 0 && generator.generate(step * 30) == code && *step > credential.last_totp_step);
        match matched {
            Some(step) => {
                credential.last_totp_step = step;
                credential.clear_failures(origin);
                Ok(())
            }
            None => Err(credential.count_failure(origin, now_s)),
        }
    }

    /// Records a new API token (its hash) under `name`, replacing one of the same name.
    pub fn add_api_token(&mut self, name: &str, token: &str, now: Instant) -> Result<()> {
        if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(IdpError::invalid("a token name is 1–64 letters, digits, '-', '_' or '.'"));
        }
        self.api_tokens.retain(|_, t| t.name != name);
        self.api_tokens.insert(token_hash(token), ApiToken { name: name.to_owned(), created: now.unix_seconds() });
        Ok(())
    }

    /// The name of the token, if it is one.
    pub fn api_token_name(&self, token: &str) -> Option<&str> {
        self.api_tokens.get(&token_hash(token)).map(|t| t.name.as_str())
    }

    pub fn revoke_api_token(&mut self, name: &str) -> bool {
        let before = self.api_tokens.len();
        self.api_tokens.retain(|_, t| t.name != name);
        before != self.api_tokens.len()
    }

    /// The current code, for tests and `idfed users totp-code` in development.
    pub fn current_totp(&self, login: &str, now: Instant) -> Result<String> {
        let secret = self
            .get(login)
            .and_then(|c| c.totp_secret.clone())
            .ok_or_else(|| IdpError::new(ErrorKind::NotFound, format!("{login} has no TOTP enrolled")))?;
        Ok(totp(&secret)?.generate(u64::try_from(now.unix_seconds()).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::cell::Cell<u8>);
    impl Random for Counter {
        fn fill(&self, dest: &mut [u8]) -> idfed_saml::Result<()> {
            for b in dest {
                self.0.set(self.0.get().wrapping_add(1));
                *b = self.0.get();
            }
            Ok(())
        }
    }

    fn at(seconds: i64) -> Instant {
        Instant::from_unix_seconds(1_800_000_000 + seconds)
    }

    /// The least time, of three, that checking `password` for `login` takes.
    fn quickest_check(creds: &mut Credentials, login: &str, known: bool) -> std::time::Duration {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                let _ = creds.check_password(login, "wrong password", known, Origin::Elsewhere, at(0));
                start.elapsed()
            })
            .min()
            .unwrap()
    }

    #[test]
    fn a_locked_account_and_one_without_a_password_cost_a_hash_like_an_unknown_login() {
        let mut creds = Credentials::default();
        creds.set_password("ada", "correct horse battery", &Counter(std::cell::Cell::new(0))).unwrap();
        for _ in 0..LOCK_AFTER_FAILURES {
            let _ = creds.check_password("ada", "wrong password", true, Origin::Elsewhere, at(0));
        }
        assert!(matches!(
            creds.check_password("ada", "wrong", true, Origin::Elsewhere, at(0)),
            Err(Refusal::Locked { .. })
        ));
        creds.entry("nopass");
        let unknown = quickest_check(&mut creds, "nobody", false);
        // An argon2 hash takes milliseconds; answering without one, microseconds.
        assert!(unknown > std::time::Duration::from_millis(1), "{unknown:?}");
        for login in ["ada", "nopass"] {
            let took = quickest_check(&mut creds, login, true);
            assert!(took * 4 > unknown, "{login}: {took:?} against {unknown:?} for an unknown login");
        }
    }

    #[test]
    fn a_sprayer_locks_the_account_but_not_its_persons_known_devices_which_lock_one_by_one() {
        let mut creds = Credentials::default();
        creds.set_password("ada", "correct horse battery", &Counter(std::cell::Cell::new(0))).unwrap();
        let check_at = |creds: &mut Credentials, password: &str, origin: Origin, seconds: i64| {
            creds.check_password("ada", password, true, origin, at(seconds))
        };
        let check = |creds: &mut Credentials, password: &str, origin: Origin| check_at(creds, password, origin, 10);
        let (desk, phone) = (Origin::KnownDevice("desk"), Origin::KnownDevice("phone"));
        for _ in 0..LOCK_AFTER_FAILURES {
            let _ = check(&mut creds, "guess", Origin::Elsewhere);
        }
        let locked = Err(Refusal::Locked { until: at(10).unix_seconds() + LOCK_SECONDS });
        assert_eq!(check(&mut creds, "correct horse battery", Origin::Elsewhere), locked);
        assert_eq!(check(&mut creds, "correct horse battery", desk), Ok(()), "the person's own browser");
        assert_eq!(check(&mut creds, "correct horse battery", Origin::Elsewhere), locked, "the lock stays on");

        // Whoever holds one known device gets five guesses there, and then that device is locked
        // too; the person's other devices are not, and the account's lock is not pushed out.
        for i in 1..LOCK_AFTER_FAILURES {
            let guess = check_at(&mut creds, "guess", desk, 20);
            assert_eq!(guess, Err(Refusal::BadCredentials), "guess {i}");
        }
        // The person signing in on another device gives the desk no more guesses.
        assert_eq!(check_at(&mut creds, "correct horse battery", phone, 20), Ok(()));
        assert!(matches!(check_at(&mut creds, "guess", desk, 20), Err(Refusal::Locked { .. })));
        assert!(matches!(check(&mut creds, "correct horse battery", desk), Err(Refusal::Locked { .. })));
        assert_eq!(check(&mut creds, "correct horse battery", phone), Ok(()), "another of their devices");
        assert_eq!(check(&mut creds, "guess", Origin::Elsewhere), locked, "the account's lock ends when it did");
        assert!(matches!(check(&mut creds, "correct horse battery", desk), Err(Refusal::Locked { .. })), "still");
        assert_eq!(check_at(&mut creds, "correct horse battery", desk, 20 + LOCK_SECONDS), Ok(()), "then it ends");

        // Counts are kept for a bounded number of devices: ended ones make room, running counts
        // and locks stay (dropping them would hand out fresh guesses), and devices beyond the
        // bound share one count.
        let later = 30 + LOCK_SECONDS;
        for _ in 0..LOCK_AFTER_FAILURES {
            let _ = check_at(&mut creds, "guess", phone, later);
        }
        let device = |i: usize| format!("d{i}");
        for i in 0..DEVICE_LOCKS_PER_LOGIN + 4 {
            let _ = check_at(&mut creds, "guess", Origin::KnownDevice(&device(i)), later);
        }
        let kept = &creds.by_login["ada"].device_locks;
        assert!(!kept.contains_key("desk"), "its lock ended: dropped");
        assert!(kept["phone"].locked_until > at(later).unix_seconds(), "a lock still on stays");
        assert_eq!(kept["d0"].failures, 1, "a running count stays");
        assert_eq!(kept.len(), DEVICE_LOCKS_PER_LOGIN + 1, "{kept:?}");
        let newcomer = Origin::KnownDevice("d99");
        let shared = check_at(&mut creds, "correct horse battery", newcomer, later);
        assert!(matches!(shared, Err(Refusal::Locked { .. })), "five newcomers locked the shared count: {shared:?}");
        assert_eq!(check_at(&mut creds, "correct horse battery", Origin::KnownDevice("d0"), later), Ok(()));
        assert!(matches!(check_at(&mut creds, "correct horse battery", phone, later), Err(Refusal::Locked { .. })));
        // A wrong code from the known device counts the same way.
        let mut fresh = Credentials::default();
        fresh.enroll_totp("bo", &Counter(std::cell::Cell::new(0))).unwrap();
        for _ in 0..LOCK_AFTER_FAILURES {
            let _ = fresh.check_totp("bo", "000000", Origin::KnownDevice(""), at(10));
        }
        assert!(matches!(
            fresh.check_totp("bo", "000000", Origin::KnownDevice(""), at(10)),
            Err(Refusal::Locked { .. })
        ));
        assert!(matches!(fresh.check_totp("bo", "000000", Origin::Elsewhere, at(10)), Err(Refusal::Locked { .. })));
    }

    #[test]
    fn a_replaced_second_factor_ends_the_sessions_a_first_one_does_not() {
        let mut creds = Credentials::default();
        let rng = idfed_saml::random::SystemRandom::new();
        creds.enroll_totp("max", &rng).unwrap();
        assert_eq!(creds.epoch("max"), 0, "a first enrollment keeps the sessions");
        creds.enroll_totp("max", &rng).unwrap();
        assert_eq!(creds.epoch("max"), 1, "a replacement ends them");
    }

    #[test]
    fn a_removed_person_keeps_a_higher_epoch_and_nothing_else() {
        let mut creds = Credentials::default();
        creds.set_password("Alice", "correct horse battery", &idfed_saml::random::SystemRandom::new()).unwrap();
        assert_eq!(creds.epoch("alice"), 1);
        assert!(creds.forget("ALICE"));
        assert_eq!(creds.epoch("alice"), 2, "what was issued at epoch 1 stays void if the account comes back");
        assert!(creds.get("alice").is_some_and(|c| c.password_hash.is_none() && c.totp_secret.is_none()));
        assert!(!creds.forget("nobody"), "nothing to forget leaves no trace");
        assert!(creds.get("nobody").is_none());
    }

    #[test]
    fn passwords_lock_after_five_failures_for_fifteen_minutes() {
        let rng = Counter(std::cell::Cell::new(0));
        let mut creds = Credentials::default();
        assert!(creds.set_password("Alice", "short", &rng).is_err());
        creds.set_password("Alice", "correct horse", &rng).unwrap();
        assert!(creds.get("alice").unwrap().password_hash.as_deref().unwrap().starts_with("$argon2id$"));
        assert_eq!(creds.check_password("alice", "correct horse", true, Origin::Elsewhere, at(0)), Ok(()));
        for _ in 0..4 {
            assert_eq!(
                creds.check_password("alice", "wrong", true, Origin::Elsewhere, at(1)),
                Err(Refusal::BadCredentials)
            );
        }
        let locked = creds.check_password("alice", "wrong", true, Origin::Elsewhere, at(2));
        assert_eq!(locked, Err(Refusal::Locked { until: at(2).unix_seconds() + LOCK_SECONDS }));
        assert!(matches!(
            creds.check_password("alice", "correct horse", true, Origin::Elsewhere, at(60)),
            Err(Refusal::Locked { .. })
        ));
        assert_eq!(
            creds.check_password("alice", "correct horse", true, Origin::Elsewhere, at(2 + LOCK_SECONDS)),
            Ok(())
        );
        assert_eq!(creds.check_password("nobody", "x", false, Origin::Elsewhere, at(0)), Err(Refusal::BadCredentials));
        assert!(creds.get("nobody").is_none(), "unknown logins leave no trace");
    }

    #[test]
    fn totp_codes_verify_once_within_one_step_of_drift() {
        let rng = Counter(std::cell::Cell::new(0));
        let mut creds = Credentials::default();
        let url = creds.enroll_totp("alice", &rng).unwrap();
        assert!(url.starts_with("otpauth://totp/idfed:alice?secret="), "{url}");
        let code = creds.current_totp("alice", at(0)).unwrap();
        assert_eq!(creds.check_totp("alice", &code, Origin::Elsewhere, at(10)), Ok(()));
        assert_eq!(
            creds.check_totp("alice", &code, Origin::Elsewhere, at(10)),
            Err(Refusal::BadCredentials),
            "no replay"
        );
        let later = creds.current_totp("alice", at(90)).unwrap();
        assert_eq!(
            creds.check_totp("alice", &later, Origin::Elsewhere, at(300)),
            Err(Refusal::BadCredentials),
            "too old"
        );
        let next = creds.current_totp("alice", at(330)).unwrap();
        assert_eq!(creds.check_totp("alice", &next, Origin::Elsewhere, at(300)), Ok(()), "one step ahead is accepted");
    }
}
