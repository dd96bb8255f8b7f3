//! IAM users and their access keys.

use std::collections::BTreeMap;

use idfed_policy::{Kind, Policy};
use idfed_saml::Instant;
use idfed_saml::random::Random;

use crate::error::AwsError;
use crate::iam::{already_exists, check_name, malformed_policy, no_such_entity};
use crate::ids;
use crate::state::{AccessKey, State, User};

pub fn create(
    state: &mut State,
    account: &str,
    name: &str,
    path: &str,
    now: Instant,
    rng: &dyn Random,
) -> Result<String, AwsError> {
    check_name(name, "userName", 64, "+=,.@-")?;
    super::check_path(path)?;
    if state.users.values().any(|u| u.account == account && u.name.eq_ignore_ascii_case(name)) {
        return Err(already_exists(format!("User with name {name} already exists.")));
    }
    let arn = state.arn(account, "iam", "", &format!("user{path}{name}"));
    state.users.insert(
        arn.clone(),
        User {
            arn: arn.clone(),
            name: name.to_owned(),
            id: ids::id(rng, "AIDA"),
            path: path.to_owned(),
            account: account.to_owned(),
            created: now,
            attached_policies: Vec::new(),
            inline_policies: BTreeMap::new(),
        },
    );
    Ok(arn)
}

pub fn by_name<'s>(state: &'s State, account: &str, name: &str) -> Result<&'s User, AwsError> {
    state
        .users
        .values()
        .find(|u| u.account == account && u.name == name)
        .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found.")))
}

pub fn create_access_key(
    state: &mut State,
    account: &str,
    name: &str,
    now: Instant,
    rng: &dyn Random,
) -> Result<AccessKey, AwsError> {
    let user_arn = by_name(state, account, name)?.arn.clone();
    if state.access_keys.values().filter(|k| k.user_arn == user_arn).count() >= 2 {
        return Err(AwsError::sender(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"));
    }
    let key = AccessKey { id: ids::id(rng, "AKIA"), secret: ids::secret(rng), user_arn, active: true, created: now };
    state.access_keys.insert(key.id.clone(), key.clone());
    Ok(key)
}

pub fn put_inline_policy(
    state: &mut State,
    account: &str,
    user: &str,
    policy_name: &str,
    document: &str,
) -> Result<(), AwsError> {
    check_name(policy_name, "policyName", 128, "+=,.@-")?;
    Policy::parse(document, Kind::Identity).map_err(malformed_policy)?;
    let arn = by_name(state, account, user)?.arn.clone();
    if let Some(u) = state.users.get_mut(&arn) {
        u.inline_policies.insert(policy_name.to_owned(), document.to_owned());
    }
    Ok(())
}
