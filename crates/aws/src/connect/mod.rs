//! Amazon Connect: instances, security profiles, users with the SAML username rules, and
//! federation (`GetFederationToken`, `/connect/federate/<instance-id>`).

pub mod api;
pub mod pages;

use std::collections::BTreeMap;

use idfed_policy::Context;
use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::auth::{Caller, authorize, base_context};
use crate::error::AwsError;
use crate::ids;
use crate::state::{ConnectInstance, ConnectUser, Session, State};

pub const USER_NOT_FOUND: &str = "No user with the specified credentials was found in the Amazon Connect instance.";
pub const SECURITY_PROFILES: &[&str] = &["Admin", "Agent", "CallCenterManager", "QualityAnalyst"];

fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::sender(400, "InvalidParameterException", message)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::sender(404, "ResourceNotFoundException", message)
}

fn uuid(rng: &dyn Random) -> String {
    ids::request_id(rng)
}

/// `^(?!d-)([\da-zA-Z]+)([-]*[\da-zA-Z])*$`, 1–45 characters.
fn alias_ok(alias: &str) -> bool {
    let b = alias.as_bytes();
    (1..=45).contains(&b.len())
        && !alias.starts_with("d-")
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

pub fn create_instance(
    state: &mut State,
    account: &str,
    region: &str,
    alias: &str,
    identity: &str,
    now: Instant,
    rng: &dyn Random,
) -> Result<(String, String), AwsError> {
    if !matches!(identity, "SAML" | "CONNECT_MANAGED" | "EXISTING_DIRECTORY") {
        return Err(invalid_parameter(format!(
            "IdentityManagementType {identity} is not one of SAML, CONNECT_MANAGED, EXISTING_DIRECTORY"
        )));
    }
    if !alias_ok(alias) {
        return Err(invalid_parameter(format!("Invalid InstanceAlias: {alias}")));
    }
    if state.connect_instances.values().any(|i| i.alias.eq_ignore_ascii_case(alias)) {
        return Err(AwsError::sender(
            409,
            "DuplicateResourceException",
            format!("Instance alias {alias} is already in use"),
        ));
    }
    let id = uuid(rng);
    let arn = state.arn(account, "connect", region, &format!("instance/{id}"));
    let security_profiles = SECURITY_PROFILES.iter().map(|name| ((*name).to_owned(), uuid(rng))).collect();
    state.connect_instances.insert(
        id.clone(),
        ConnectInstance {
            id: id.clone(),
            arn: arn.clone(),
            account: account.to_owned(),
            region: region.to_owned(),
            alias: alias.to_owned(),
            identity_management_type: identity.to_owned(),
            created: now,
            security_profiles,
            users: BTreeMap::new(),
        },
    );
    Ok((id, arn))
}

pub fn instance<'s>(state: &'s State, account: &str, id: &str) -> Result<&'s ConnectInstance, AwsError> {
    state
        .connect_instances
        .get(id)
        .filter(|i| i.account == account)
        .ok_or_else(|| not_found(format!("Instance {id} not found")))
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    pub security_profile_ids: Vec<String>,
}

/// SAML usernames: up to 64 of `[a-zA-Z0-9_-.\@]`, `@` only in an email form; first and last
/// names required; no password, no email (connect API model and admin guide).
fn check_saml_user(new: &NewUser) -> Result<(), AwsError> {
    let u = new.username;
    // The model's `\@` is an escaped `@`, not a backslash.
    let chars_ok = u.chars().all(|c| c.is_ascii_alphanumeric() || "_-.@".contains(c));
    let at_ok = match u.split_once('@') {
        None => true,
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }
    };
    if u.is_empty() || u.chars().count() > 64 || !chars_ok || !at_ok {
        return Err(invalid_parameter(format!(
            "Invalid username: {u}. A SAML username is up to 64 characters from [a-zA-Z0-9_-.\\@], with @ only in an email address"
        )));
    }
    if new.first_name.is_none_or(str::is_empty) || new.last_name.is_none_or(str::is_empty) {
        return Err(invalid_parameter(
            "FirstName and LastName are required for users of an instance with SAML identity management",
        ));
    }
    if new.password.is_some() {
        return Err(invalid_parameter(
            "Password is not allowed for users of an instance with SAML identity management",
        ));
    }
    if new.email.is_some() {
        return Err(invalid_parameter("Email is not allowed for users of an instance with SAML identity management"));
    }
    Ok(())
}

pub fn create_user(
    state: &mut State,
    account: &str,
    instance_id: &str,
    new: &NewUser,
    rng: &dyn Random,
) -> Result<(String, String), AwsError> {
    let inst = instance(state, account, instance_id)?;
    if inst.identity_management_type == "SAML" {
        check_saml_user(new)?;
    } else if new.username.is_empty() || new.username.chars().count() > 64 {
        return Err(invalid_parameter(format!("Invalid username: {}", new.username)));
    }
    if new.security_profile_ids.is_empty()
        || !new.security_profile_ids.iter().all(|id| inst.security_profiles.values().any(|v| v == id))
    {
        return Err(invalid_parameter("SecurityProfileIds must name one or more security profiles of the instance"));
    }
    if inst.users.values().any(|u| u.username == new.username) {
        return Err(AwsError::sender(
            409,
            "DuplicateResourceException",
            format!("User with username {} already exists", new.username),
        ));
    }
    let id = uuid(rng);
    let arn = format!("{}/agent/{id}", inst.arn);
    let user = ConnectUser {
        id: id.clone(),
        arn: arn.clone(),
        username: new.username.to_owned(),
        first_name: new.first_name.unwrap_or_default().to_owned(),
        last_name: new.last_name.unwrap_or_default().to_owned(),
        security_profile_ids: new.security_profile_ids.clone(),
    };
    if let Some(inst) = state.connect_instances.get_mut(instance_id) {
        inst.users.insert(id.clone(), user);
    }
    Ok((id, arn))
}

/// The Connect user a federated session becomes: username equal to RoleSessionName, case-sensitive.
pub fn user_for_session<'s>(inst: &'s ConnectInstance, session: &Session) -> Option<&'s ConnectUser> {
    let session_name = session.assumed_role_arn.rsplit('/').next().unwrap_or_default();
    inst.users.values().find(|u| u.username == session_name)
}

/// `connect:GetFederationToken` on the instance's `user/${aws:userid}` resource.
pub fn authorize_federation(
    state: &State,
    caller: &Caller,
    inst: &ConnectInstance,
    now: Instant,
) -> Result<(), AwsError> {
    let mut context: Context = base_context(caller, now, None);
    // Policies may also allow `Resource: "*"` for one instance by this key.
    context.set("connect:InstanceId", inst.id.clone());
    let resource = format!("{}/user/{}", inst.arn, caller.user_id());
    authorize(state, caller, "connect:GetFederationToken", &resource, &context)
}

/// The federation check of both the API and the console URL.
pub fn federate<'s>(
    state: &'s State,
    session: &Session,
    instance_id: &str,
    now: Instant,
) -> Result<&'s ConnectUser, AwsError> {
    let inst = instance(state, &session.account, instance_id)?;
    authorize_federation(state, &Caller::from_session(session), inst, now)?;
    user_for_session(inst, session).ok_or_else(|| AwsError::sender(404, "UserNotFoundException", USER_NOT_FOUND))
}
