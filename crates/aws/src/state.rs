//! The sandbox's model of an AWS partition: accounts, IAM entities, STS sessions.

use std::collections::BTreeMap;

use idfed_policy::{Kind, Policy};
use idfed_saml::{Certificate, Instant};
use serde::{Deserialize, Serialize};

use crate::sts::endpoints::Partition;
use crate::sts::session_policy::SessionPolicies;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
    /// Sandboxes kept before partitions were modelled hold commercial accounts.
    #[serde(default)]
    pub partition: Partition,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SamlProvider {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub uuid: String,
    pub metadata: String,
    pub entity_id: String,
    /// Read from `metadata`; rebuilt on load.
    #[serde(skip)]
    pub certificates: Vec<Certificate>,
    pub created: Instant,
    pub valid_until: Instant,
    /// `Required` or `Allowed`; `None` when encryption is not configured.
    pub assertion_encryption_mode: Option<String>,
    /// (KeyId, PEM, added at).
    pub private_keys: Vec<(String, String, Instant)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub account: String,
    pub trust_policy_text: String,
    /// Parsed from `trust_policy_text`; rebuilt on load.
    #[serde(skip, default = "deny_all")]
    pub trust_policy: Policy,
    pub max_session_duration: i64,
    pub description: Option<String>,
    pub created: Instant,
    pub attached_policies: Vec<String>,
    pub inline_policies: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub document: String,
    pub created: Instant,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub account: String,
    pub created: Instant,
    pub attached_policies: Vec<String>,
    pub inline_policies: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub user_arn: String,
    pub active: bool,
    pub created: Instant,
}

/// Temporary credentials from AssumeRoleWithSAML.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub access_key: String,
    pub secret: String,
    pub token: String,
    pub expires: Instant,
    pub role_arn: String,
    pub account: String,
    pub assumed_role_arn: String,
    /// `RoleId:RoleSessionName`, which is `${aws:userid}`.
    pub assumed_role_id: String,
    pub source_identity: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub saml: BTreeMap<String, Vec<String>>,
    /// The session policies it was given; none for sessions kept before they were supported.
    #[serde(default)]
    pub session_policies: SessionPolicies,
}

/// A browser's console session after the sign-in page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub token: String,
    /// The STS session it stands on (its access key).
    pub access_key: String,
    pub expires: Instant,
    /// After `/connect/federate`: the instance and the Connect user signed in.
    pub connect_user: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectUser {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub security_profile_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectInstance {
    pub id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub alias: String,
    /// `SAML` or `CONNECT_MANAGED`; fixed at creation.
    pub identity_management_type: String,
    pub created: Instant,
    /// Security profile name → id.
    pub security_profiles: BTreeMap<String, String>,
    pub users: BTreeMap<String, ConnectUser>,
}

/// Everything the sandbox knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub accounts: Vec<Account>,
    pub providers: BTreeMap<String, SamlProvider>,
    pub roles: BTreeMap<String, Role>,
    pub policies: BTreeMap<String, ManagedPolicy>,
    pub users: BTreeMap<String, User>,
    pub access_keys: BTreeMap<String, AccessKey>,
    /// Sessions, replay marks and console sessions are many and short-lived: a store keeps
    /// each as a record of its own (see `persist`), apart from the rest of the state.
    #[serde(default)]
    pub sessions: BTreeMap<String, Session>,
    /// Assertion IDs already redeemed, with the instant they stop mattering.
    #[serde(default)]
    pub redeemed: BTreeMap<String, Instant>,
    #[serde(default)]
    pub console_sessions: BTreeMap<String, ConsoleSession>,
    pub connect_instances: BTreeMap<String, ConnectInstance>,
    /// When expired replay marks and sessions were last swept away (not exported).
    #[serde(skip)]
    pub swept: Option<Instant>,
    /// Records added or changed since the last save, in order; `None` (in memory only) keeps
    /// no list. Not exported.
    #[serde(skip)]
    pub unsaved: Option<Vec<RecordKey>>,
}

/// One short-lived record of the state, by its key in its map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Session(String),
    Redeemed(String),
    Console(String),
}

/// The state without its short-lived records: what a store keeps as one document. The record
/// maps are written empty, so that an earlier idfed can still read the document.
#[derive(Serialize)]
struct Core<'a> {
    accounts: &'a Vec<Account>,
    providers: &'a BTreeMap<String, SamlProvider>,
    roles: &'a BTreeMap<String, Role>,
    policies: &'a BTreeMap<String, ManagedPolicy>,
    users: &'a BTreeMap<String, User>,
    access_keys: &'a BTreeMap<String, AccessKey>,
    sessions: BTreeMap<(), ()>,
    redeemed: BTreeMap<(), ()>,
    console_sessions: BTreeMap<(), ()>,
    connect_instances: &'a BTreeMap<String, ConnectInstance>,
}

/// Expired sessions are kept this long after they end, so that their credentials are still
/// answered with ExpiredToken (as AWS does) rather than as unknown keys.
pub(crate) const EXPIRED_SESSIONS_KEPT_SECONDS: i64 = 3600;

fn deny_all() -> Policy {
    Policy { version: idfed_policy::document::Version::V2012, id: None, statements: Vec::new() }
}

impl State {
    /// Marks an assertion ID used until `until`; false when it is already marked (a replay).
    /// Marks whose time has passed are dropped on the way.
    pub fn redeem(&mut self, assertion_id: &str, until: Instant, now: Instant) -> bool {
        self.sweep(now);
        // The assertion is fresh through its last millisecond (`now - issued <= 5 min`): so is the mark.
        if self.redeemed.get(assertion_id).is_some_and(|end| *end >= now) {
            return false;
        }
        self.redeemed.insert(assertion_id.to_owned(), until);
        self.note(RecordKey::Redeemed(assertion_id.to_owned()));
        true
    }

    /// Adds temporary credentials.
    pub fn add_session(&mut self, session: Session) {
        self.note(RecordKey::Session(session.access_key.clone()));
        self.sessions.insert(session.access_key.clone(), session);
    }

    /// Adds a browser's console session.
    pub fn add_console_session(&mut self, console: ConsoleSession) {
        self.note(RecordKey::Console(console.token.clone()));
        self.console_sessions.insert(console.token.clone(), console);
    }

    /// A console session to change; the change is saved with the next save.
    pub fn console_session_mut(&mut self, token: &str) -> Option<&mut ConsoleSession> {
        if !self.console_sessions.contains_key(token) {
            return None;
        }
        self.note(RecordKey::Console(token.to_owned()));
        self.console_sessions.get_mut(token)
    }

    fn note(&mut self, key: RecordKey) {
        if let Some(unsaved) = &mut self.unsaved {
            unsaved.push(key);
        }
    }

    /// Drops replay marks whose time has passed and sessions long expired, at most once a
    /// second: a sweep on every call would cost time in proportion to what is held (a million
    /// marks at a few thousand calls a second).
    fn sweep(&mut self, now: Instant) {
        if self.swept.is_some_and(|at| now.unix_millis() - at.unix_millis() < 1000) {
            return;
        }
        self.swept = Some(now);
        self.redeemed.retain(|_, end| *end >= now);
        let horizon = now.minus_seconds(EXPIRED_SESSIONS_KEPT_SECONDS);
        self.sessions.retain(|_, session| session.expires > horizon);
        self.console_sessions.retain(|_, session| session.expires > horizon);
    }

    /// The whole state as JSON (`idfed aws export`, and what the store keeps).
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| format!("serializing the sandbox state: {e}"))
    }

    /// The state without sessions, replay marks and console sessions, as JSON.
    pub fn core_to_json(&self) -> Result<String, String> {
        // Named field by field, so that a field added to the state must be placed here too.
        let State {
            accounts,
            providers,
            roles,
            policies,
            users,
            access_keys,
            sessions: _,
            redeemed: _,
            console_sessions: _,
            connect_instances,
            swept: _,
            unsaved: _,
        } = self;
        let core = Core {
            accounts,
            providers,
            roles,
            policies,
            users,
            access_keys,
            sessions: BTreeMap::new(),
            redeemed: BTreeMap::new(),
            console_sessions: BTreeMap::new(),
            connect_instances,
        };
        serde_json::to_string_pretty(&core).map_err(|e| format!("serializing the sandbox state: {e}"))
    }

    /// Reads an export back, re-deriving parsed certificates and policies.
    pub fn from_json(text: &str) -> Result<State, String> {
        let mut state: State = serde_json::from_str(text).map_err(|e| format!("not a sandbox export: {e}"))?;
        for provider in state.providers.values_mut() {
            let (_, certificates) = crate::iam::providers::read_metadata(&provider.metadata)
                .map_err(|e| format!("provider {}: {}", provider.arn, e.message))?;
            provider.certificates = certificates;
        }
        for role in state.roles.values_mut() {
            role.trust_policy =
                Policy::parse(&role.trust_policy_text, Kind::Trust).map_err(|e| format!("role {}: {e}", role.arn))?;
        }
        Ok(state)
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// The ARN of `resource` in `account`, in the account's partition (`region` empty for
    /// global services): `arn:aws-us-gov:iam::123456789012:role/Admin`.
    pub fn arn(&self, account: &str, service: &str, region: &str, resource: &str) -> String {
        self.account(account).map(|a| a.partition).unwrap_or_default().arn(service, region, account, resource)
    }

    /// Role lookup by ARN; role names are case-sensitive here (F16).
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Instant {
        Instant::from_unix_seconds(1_800_000_000 + second)
    }

    fn session(key: &str, expires: Instant) -> Session {
        Session {
            access_key: key.into(),
            secret: String::new(),
            token: String::new(),
            expires,
            role_arn: String::new(),
            account: String::new(),
            assumed_role_arn: String::new(),
            assumed_role_id: String::new(),
            source_identity: None,
            tags: BTreeMap::new(),
            saml: BTreeMap::new(),
            session_policies: Default::default(),
        }
    }

    #[test]
    fn an_assertion_is_redeemed_once_within_its_window_and_marks_are_swept_after() {
        let mut state = State::default();
        assert!(state.redeem("id-1", at(300), at(0)));
        assert!(!state.redeem("id-1", at(300), at(0)), "the same instant");
        assert!(!state.redeem("id-1", at(300), at(299)), "a replay inside the window");
        assert!(state.redeem("id-2", at(301), at(0)));
        assert!(!state.redeem("id-1", at(300), at(300)), "the window's last instant, which freshness still accepts");
        // Past its window a mark no longer refuses, swept or not.
        let just_after = Instant::from_unix_millis(at(300).unix_millis() + 1);
        assert!(state.redeem("id-1", at(600), just_after));
        assert!(state.redeem("id-3", at(900), at(302)));
        assert_eq!(state.redeemed.keys().collect::<Vec<_>>(), ["id-1", "id-3"], "id-2 swept once its window passed");
    }

    #[test]
    fn sweeps_run_at_most_once_a_second_and_keep_recently_expired_sessions() {
        let mut state = State::default();
        state.sessions.insert("old".into(), session("old", at(-1)));
        state.sessions.insert("recent".into(), session("recent", at(3000)));
        state.sessions.insert("live".into(), session("live", at(9000)));
        assert!(state.redeem("a", at(3601), at(3600)));
        assert_eq!(
            state.sessions.keys().collect::<Vec<_>>(),
            ["live", "recent"],
            "expired under an hour ago: kept (ExpiredToken still answers); over an hour: dropped"
        );
        assert!(state.redeem("b", at(3700), at(3600)));
        state.redeemed.insert("stale".into(), at(0));
        assert!(state.redeem("c", at(4000), at(3600)));
        assert!(state.redeemed.contains_key("stale"), "no second sweep within the same second");
        assert!(state.redeem("d", at(5000), at(4000)));
        assert!(!state.redeemed.contains_key("stale"));
    }
}
