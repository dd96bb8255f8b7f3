//! The sandbox's model of an AWS partition: accounts, IAM entities, STS sessions.

use std::collections::BTreeMap;

use idfed_policy::{Kind, Policy};
use idfed_saml::{Certificate, Instant};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
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
    pub sessions: BTreeMap<String, Session>,
    /// Assertion IDs already redeemed, with the instant they stop mattering.
    pub redeemed: BTreeMap<String, Instant>,
    pub console_sessions: BTreeMap<String, ConsoleSession>,
    pub connect_instances: BTreeMap<String, ConnectInstance>,
}

fn deny_all() -> Policy {
    Policy { version: idfed_policy::document::Version::V2012, id: None, statements: Vec::new() }
}

impl State {
    /// Marks an assertion ID used until `until`; false when it is already marked (a replay).
    /// Marks whose time has passed are dropped on the way.
    pub fn redeem(&mut self, assertion_id: &str, until: Instant, now: Instant) -> bool {
        self.redeemed.retain(|_, end| *end > now);
        if self.redeemed.contains_key(assertion_id) {
            return false;
        }
        self.redeemed.insert(assertion_id.to_owned(), until);
        true
    }

    /// The whole state as JSON (`idfed aws export`, and what the store keeps).
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| format!("serializing the sandbox state: {e}"))
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

    /// Role lookup by ARN; role names are case-sensitive here (F16).
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }
}
