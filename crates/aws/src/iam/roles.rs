//! Roles: CreateRole, GetRole, UpdateAssumeRolePolicy, UpdateRole, DeleteRole.

use std::collections::BTreeMap;

use idfed_policy::{Kind, Policy};
use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::error::AwsError;
use crate::iam::{
    already_exists, check_description, check_name, check_path, malformed_policy, no_such_entity, validation,
};
use crate::ids;
use crate::state::{Role, State};

pub struct NewRole<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub trust_policy: &'a str,
    pub max_session_duration: Option<i64>,
    pub description: Option<&'a str>,
}

pub fn check_max_session_duration(value: i64) -> Result<(), AwsError> {
    if !(3600..=43_200).contains(&value) {
        return Err(validation(
            &value.to_string(),
            "maxSessionDuration",
            "Member must have value between 3600 and 43200",
        ));
    }
    Ok(())
}

/// Every Federated principal of a trust policy must name an existing SAML or OIDC provider.
fn check_principals(state: &State, policy: &Policy) -> Result<(), AwsError> {
    for principal in policy.federated_principals() {
        let is_saml_arn = principal.contains(":saml-provider/");
        if is_saml_arn && !state.providers.contains_key(principal) {
            return Err(AwsError::sender(
                400,
                "MalformedPolicyDocument",
                format!("Invalid principal in policy: \"Federated\":\"{principal}\""),
            ));
        }
    }
    Ok(())
}

pub fn create(
    state: &mut State,
    account: &str,
    new: &NewRole,
    now: Instant,
    rng: &dyn Random,
) -> Result<String, AwsError> {
    insert(state, account, new, &ids::id(rng, "AROA"), now, Principals::MustExist)
}

/// A role read from an AWS account, kept as AWS holds it: with its own ID, and with a trust
/// policy that may name a SAML provider deleted since (AWS keeps such a policy; creating it
/// anew is refused).
pub fn adopt(state: &mut State, account: &str, new: &NewRole, id: &str, now: Instant) -> Result<String, AwsError> {
    insert(state, account, new, id, now, Principals::AsFound)
}

#[derive(PartialEq)]
enum Principals {
    MustExist,
    AsFound,
}

fn insert(
    state: &mut State,
    account: &str,
    new: &NewRole,
    id: &str,
    now: Instant,
    principals: Principals,
) -> Result<String, AwsError> {
    check_name(new.name, "roleName", 64, "+=,.@-")?;
    check_path(new.path)?;
    if let Some(description) = new.description {
        check_description(description)?;
    }
    let max = new.max_session_duration.unwrap_or(3600);
    check_max_session_duration(max)?;
    if state.roles.values().any(|r| r.account == account && r.name.eq_ignore_ascii_case(new.name)) {
        return Err(already_exists(format!("Role with name {} already exists.", new.name)));
    }
    let policy = Policy::parse(new.trust_policy, Kind::Trust).map_err(malformed_policy)?;
    if principals == Principals::MustExist {
        check_principals(state, &policy)?;
    }
    let arn = state.arn(account, "iam", "", &format!("role{}{}", new.path, new.name));
    state.roles.insert(
        arn.clone(),
        Role {
            arn: arn.clone(),
            name: new.name.to_owned(),
            path: new.path.to_owned(),
            id: id.to_owned(),
            account: account.to_owned(),
            trust_policy_text: new.trust_policy.to_owned(),
            trust_policy: policy,
            max_session_duration: max,
            description: new.description.map(str::to_owned),
            created: now,
            attached_policies: Vec::new(),
            inline_policies: BTreeMap::new(),
        },
    );
    Ok(arn)
}

/// Finds a role by name in an account (names are unique ignoring case, matched exactly).
pub fn by_name<'s>(state: &'s State, account: &str, name: &str) -> Result<&'s Role, AwsError> {
    state
        .roles
        .values()
        .find(|r| r.account == account && r.name == name)
        .ok_or_else(|| no_such_entity(format!("The role with name {name} cannot be found.")))
}

fn by_name_mut<'s>(state: &'s mut State, account: &str, name: &str) -> Result<&'s mut Role, AwsError> {
    state
        .roles
        .values_mut()
        .find(|r| r.account == account && r.name == name)
        .ok_or_else(|| no_such_entity(format!("The role with name {name} cannot be found.")))
}

pub fn update_assume_role_policy(state: &mut State, account: &str, name: &str, text: &str) -> Result<(), AwsError> {
    let policy = Policy::parse(text, Kind::Trust).map_err(malformed_policy)?;
    check_principals(state, &policy)?;
    let role = by_name_mut(state, account, name)?;
    role.trust_policy = policy;
    role.trust_policy_text = text.to_owned();
    Ok(())
}

pub fn update(
    state: &mut State,
    account: &str,
    name: &str,
    max_session_duration: Option<i64>,
    description: Option<&str>,
) -> Result<(), AwsError> {
    if let Some(max) = max_session_duration {
        check_max_session_duration(max)?;
    }
    if let Some(description) = description {
        check_description(description)?;
    }
    let role = by_name_mut(state, account, name)?;
    if let Some(max) = max_session_duration {
        role.max_session_duration = max;
    }
    if let Some(d) = description {
        role.description = Some(d.to_owned());
    }
    Ok(())
}

pub fn delete(state: &mut State, account: &str, name: &str) -> Result<(), AwsError> {
    let role = by_name(state, account, name)?;
    if !role.attached_policies.is_empty() || !role.inline_policies.is_empty() {
        return Err(AwsError::sender(409, "DeleteConflict", "Cannot delete entity, must detach all policies first."));
    }
    let arn = role.arn.clone();
    state.roles.remove(&arn);
    Ok(())
}

pub fn put_inline_policy(
    state: &mut State,
    account: &str,
    role: &str,
    policy_name: &str,
    document: &str,
) -> Result<(), AwsError> {
    check_name(policy_name, "policyName", 128, "+=,.@-")?;
    Policy::parse(document, Kind::Identity).map_err(malformed_policy)?;
    by_name_mut(state, account, role)?.inline_policies.insert(policy_name.to_owned(), document.to_owned());
    Ok(())
}
