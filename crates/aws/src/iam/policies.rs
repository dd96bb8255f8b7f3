//! Managed policies and their attachment; inline user policies.

use idfed_policy::{Kind, Policy};
use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::error::AwsError;
use crate::iam::{already_exists, check_name, malformed_policy, no_such_entity};
use crate::ids;
use crate::state::{ManagedPolicy, State};

pub fn create(
    state: &mut State,
    account: &str,
    name: &str,
    path: &str,
    document: &str,
    now: Instant,
    rng: &dyn Random,
) -> Result<String, AwsError> {
    check_name(name, "policyName", 128, "+=,.@-")?;
    super::check_path(path)?;
    if document.chars().count() > 6144 {
        return Err(AwsError::sender(409, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144"));
    }
    Policy::parse(document, Kind::Identity).map_err(malformed_policy)?;
    let arn = state.arn(account, "iam", "", &format!("policy{path}{name}"));
    if state.policies.contains_key(&arn) {
        return Err(already_exists(format!("A policy called {name} already exists. Duplicate names are not allowed.")));
    }
    state.policies.insert(
        arn.clone(),
        ManagedPolicy {
            arn: arn.clone(),
            name: name.to_owned(),
            id: ids::id(rng, "ANPA"),
            path: path.to_owned(),
            document: document.to_owned(),
            created: now,
        },
    );
    Ok(arn)
}

pub fn get<'s>(state: &'s State, arn: &str) -> Result<&'s ManagedPolicy, AwsError> {
    state.policies.get(arn).ok_or_else(|| not_attachable(arn))
}

fn not_attachable(arn: &str) -> AwsError {
    no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

/// Where a policy attaches.
pub enum Holder<'a> {
    Role(&'a str),
    User(&'a str),
}

fn attached_list<'s>(state: &'s mut State, account: &str, holder: &Holder) -> Result<&'s mut Vec<String>, AwsError> {
    match holder {
        Holder::Role(name) => state
            .roles
            .values_mut()
            .find(|r| r.account == account && r.name == *name)
            .map(|r| &mut r.attached_policies)
            .ok_or_else(|| no_such_entity(format!("The role with name {name} cannot be found."))),
        Holder::User(name) => state
            .users
            .values_mut()
            .find(|u| u.account == account && u.name == *name)
            .map(|u| &mut u.attached_policies)
            .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found."))),
    }
}

/// A managed policy read from an AWS account, kept under the ARN AWS gave it: AWS's own
/// managed policies included, whose documents may exceed a customer policy's size quota.
pub fn adopt(state: &mut State, policy: ManagedPolicy) -> Result<(), AwsError> {
    Policy::parse(&policy.document, Kind::Identity).map_err(malformed_policy)?;
    state.policies.insert(policy.arn.clone(), policy);
    Ok(())
}

pub fn attach(state: &mut State, account: &str, holder: &Holder, policy_arn: &str) -> Result<(), AwsError> {
    if crate::auth::owned_elsewhere(policy_arn, account) {
        return Err(not_attachable(policy_arn));
    }
    get(state, policy_arn)?;
    let list = attached_list(state, account, holder)?;
    if !list.iter().any(|a| a == policy_arn) {
        list.push(policy_arn.to_owned());
    }
    Ok(())
}

pub fn detach(state: &mut State, account: &str, holder: &Holder, policy_arn: &str) -> Result<(), AwsError> {
    let list = attached_list(state, account, holder)?;
    let before = list.len();
    list.retain(|a| a != policy_arn);
    if list.len() == before {
        return Err(no_such_entity(format!("Policy {policy_arn} was not found.")));
    }
    Ok(())
}
