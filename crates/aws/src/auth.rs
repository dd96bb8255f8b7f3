//! Who is calling, and whether their identity policies allow the action (IAM's evaluation).

use idfed_policy::{Context, Kind, Outcome, Policy, Request, Value, evaluate};
use idfed_saml::Instant;

use crate::error::AwsError;
use crate::state::{Session, State};
use crate::sts::endpoints::Partition;
use crate::sts::session_policy::SessionPolicies;

/// The principal behind an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The account's administrator key: everything is allowed, as for the root user.
    Root {
        account: String,
        partition: Partition,
    },
    User {
        arn: String,
        account: String,
        user_id: String,
    },
    Session {
        access_key: String,
        account: String,
        assumed_role_arn: String,
        assumed_role_id: String,
        role_arn: String,
        /// What the session was given at AssumeRoleWithSAML; it may do only what these allow too.
        session_policies: SessionPolicies,
        /// The condition keys the session brings to every request ([`session_keys`]).
        keys: Vec<(String, String)>,
    },
}

impl Caller {
    /// The caller that holds an STS session's credentials.
    pub fn from_session(session: &Session) -> Caller {
        Caller::Session {
            access_key: session.access_key.clone(),
            account: session.account.clone(),
            assumed_role_arn: session.assumed_role_arn.clone(),
            assumed_role_id: session.assumed_role_id.clone(),
            role_arn: session.role_arn.clone(),
            session_policies: session.session_policies.clone(),
            keys: session_keys(session),
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Caller::Root { account, .. } | Caller::User { account, .. } | Caller::Session { account, .. } => account,
        }
    }
    pub fn arn(&self) -> String {
        match self {
            Caller::Root { account, partition } => partition.arn("iam", "", account, "root"),
            Caller::User { arn, .. } => arn.clone(),
            Caller::Session { assumed_role_arn, .. } => assumed_role_arn.clone(),
        }
    }
    /// `${aws:userid}`.
    pub fn user_id(&self) -> String {
        match self {
            Caller::Root { account, .. } => account.clone(),
            Caller::User { user_id, .. } => user_id.clone(),
            Caller::Session { assumed_role_id, .. } => assumed_role_id.clone(),
        }
    }
}

/// The SAML keys AWS passes on from the assertion to the requests a session makes (IAM UG,
/// "Available keys for SAML-based federation": the others are for trust policies only).
const CROSS_SERVICE_SAML_KEYS: [&str; 3] = ["saml:namequalifier", "saml:sub", "saml:sub_type"];

/// What a federated role session carries into each request's context: its session tags as
/// `aws:PrincipalTag/<key>` (sandbox roles have no tags of their own), its SourceIdentity, the
/// SAML provider it came through as `aws:FederatedProvider`, and the cross-service SAML keys.
fn session_keys(session: &Session) -> Vec<(String, String)> {
    let tags = session.tags.iter().map(|(key, value)| (format!("aws:PrincipalTag/{key}"), value.clone()));
    let source_identity = session.source_identity.iter().map(|s| ("aws:SourceIdentity".to_owned(), s.clone()));
    // `saml:doc` is `<account>/<provider name>`, kept with every session since sessions began.
    let provider = session.saml.get("saml:doc").and_then(|v| v.first()).and_then(|doc| doc.split_once('/'));
    // The provider is in the role's account, and so in its partition.
    let partition = Partition::of_arn(&session.role_arn);
    let provider = provider.map(|(account, name)| {
        ("aws:FederatedProvider".to_owned(), partition.arn("iam", "", account, &format!("saml-provider/{name}")))
    });
    let saml = CROSS_SERVICE_SAML_KEYS.iter().filter_map(|key| {
        session.saml.get(*key).and_then(|v| v.first()).map(|value| ((*key).to_owned(), value.clone()))
    });
    tags.chain(source_identity).chain(provider).chain(saml).collect()
}

/// The caller and the secret that must have signed the request. `token` is the
/// X-Amz-Security-Token header, required for session credentials.
pub fn resolve(
    state: &State,
    access_key: &str,
    token: Option<&str>,
    now: Instant,
) -> Result<(Caller, String), AwsError> {
    let invalid =
        || AwsError::sender(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
    if let Some(key) = state.access_keys.get(access_key) {
        if !key.active {
            return Err(invalid());
        }
        if let Some(root) = key.user_arn.strip_suffix(":root") {
            let account = root.rsplit(':').next().unwrap_or_default().to_owned();
            let partition = Partition::of_arn(&key.user_arn);
            return Ok((Caller::Root { account, partition }, key.secret.clone()));
        }
        let user = state.users.get(&key.user_arn).ok_or_else(invalid)?;
        return Ok((
            Caller::User { arn: user.arn.clone(), account: user.account.clone(), user_id: user.id.clone() },
            key.secret.clone(),
        ));
    }
    let session = state.sessions.get(access_key).ok_or_else(invalid)?;
    if token != Some(session.token.as_str()) {
        return Err(invalid());
    }
    if now >= session.expires {
        return Err(AwsError::sender(403, "ExpiredToken", "The security token included in the request is expired"));
    }
    Ok((Caller::from_session(session), session.secret.clone()))
}

/// The caller's identity policies: attached managed ones and inline ones.
fn identity_policies(state: &State, caller: &Caller) -> Vec<Policy> {
    let (attached, inline): (&[String], Vec<&String>) = match caller {
        Caller::Root { .. } => return Vec::new(),
        Caller::User { arn, .. } => match state.users.get(arn) {
            Some(u) => (&u.attached_policies, u.inline_policies.values().collect()),
            None => return Vec::new(),
        },
        Caller::Session { role_arn, .. } => match state.roles.get(role_arn) {
            Some(r) => (&r.attached_policies, r.inline_policies.values().collect()),
            None => return Vec::new(),
        },
    };
    attached
        .iter()
        // Another account's policy, attached before such attachments were refused, grants nothing.
        .filter(|arn| !owned_elsewhere(arn, caller.account()))
        .filter_map(|arn| state.policies.get(arn))
        .map(|p| p.document.as_str())
        .chain(inline.into_iter().map(String::as_str))
        .filter_map(|text| Policy::parse(text, Kind::Identity).ok())
        .collect()
}

/// The request context every call carries.
pub fn base_context(caller: &Caller, now: Instant, source_ip: Option<std::net::IpAddr>) -> Context {
    let mut c = Context::default();
    c.set("aws:userid", caller.user_id());
    c.set("aws:PrincipalArn", caller.arn());
    c.set("aws:PrincipalAccount", caller.account());
    let principal_type = match caller {
        Caller::Root { .. } => "Account",
        Caller::User { .. } => "User",
        Caller::Session { .. } => "AssumedRole",
    };
    c.set("aws:PrincipalType", principal_type);
    match caller {
        Caller::User { arn, .. } => c.set("aws:username", arn.rsplit('/').next().unwrap_or_default()),
        Caller::Session { keys, .. } => keys.iter().for_each(|(key, value)| c.set(key, value.clone())),
        Caller::Root { .. } => {}
    }
    c.insert("aws:CurrentTime", vec![Value::Date(now.unix_seconds())]);
    c.insert("aws:EpochTime", vec![Value::Number(now.unix_seconds() as f64)]);
    if let Some(ip) = source_ip {
        c.insert("aws:SourceIp", vec![Value::Ip(ip)]);
    }
    c
}

/// IAM's decision, with AWS's AccessDenied text when it is not Allow. A session given session
/// policies may do only what both its role's identity policies and those policies allow.
pub fn authorize(
    state: &State,
    caller: &Caller,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<(), AwsError> {
    // AWS says "User:" for users and assumed-role sessions alike.
    let denied = |reason: String| {
        AwsError::sender(
            403,
            "AccessDenied",
            format!("User: {} is not authorized to perform: {action} on resource: {resource} {reason}", caller.arn()),
        )
    };
    let no_allow = |kind: &str| format!("because no {kind} allows the {action} action");
    // Another account's IAM and Connect resources have no resource policy that could let this
    // caller in, however much its own account allows it (its root included).
    if owned_elsewhere(resource, caller.account()) {
        return Err(denied(no_allow("resource-based policy")));
    }
    if matches!(caller, Caller::Root { .. }) {
        return Ok(());
    }
    let request = Request { action, resource: Some(resource), principal: None, context };
    let decide = |policies: &[Policy]| evaluate(&policies.iter().collect::<Vec<_>>(), &request).outcome;
    let identity = decide(&identity_policies(state, caller));
    let session = session_policies(state, caller).map(|policies| decide(&policies));
    match (identity, session) {
        (Outcome::ExplicitDeny, _) => Err(denied("with an explicit deny in an identity-based policy".to_owned())),
        (_, Some(Outcome::ExplicitDeny)) => Err(denied("with an explicit deny in a session policy".to_owned())),
        (Outcome::ImplicitDeny, _) => Err(denied(no_allow("identity-based policy"))),
        (Outcome::Allow, Some(Outcome::ImplicitDeny)) => Err(denied(no_allow("session policy"))),
        (Outcome::Allow, None | Some(Outcome::Allow)) => Ok(()),
    }
}

/// Whether `resource` is an ARN naming an account other than `account` (AWS's own managed
/// resources, account `aws`, belong to every account).
pub fn owned_elsewhere(resource: &str, account: &str) -> bool {
    let mut fields = resource.split(':');
    let owner = if fields.next() == Some("arn") { fields.nth(3) } else { None };
    owner.is_some_and(|owner| !owner.is_empty() && owner != "aws" && owner != account)
}

/// A session's session policies, when it was given any.
fn session_policies(state: &State, caller: &Caller) -> Option<Vec<Policy>> {
    let Caller::Session { session_policies: given, .. } = caller else { return None };
    (!given.is_empty()).then(|| given.documents(state))
}
