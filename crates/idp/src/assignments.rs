//! Assignments of apps to people and groups, and which AWS roles a person gets (seed 004):
//! with Join all roles off, the direct assignment's roles (or, with none, the first group
//! assignment's); with it on, the union of the direct and every group assignment's roles.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::apps::{AwsApp, parse_provider_arn, parse_role_arn};
use crate::error::{IdpError, Result};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    pub fn describe(&self) -> String {
        match self {
            Principal::User(login) => format!("user {login:?}"),
            Principal::Group(name) => format!("group {name:?}"),
        }
    }

    /// Whether both name the same principal as lookups find it: a person's login with ASCII case
    /// folded (as `Tenant::user`), a group's name exactly (as `Tenant::group`).
    pub fn same(&self, other: &Principal) -> bool {
        match (self, other) {
            (Principal::User(a), Principal::User(b)) => a.eq_ignore_ascii_case(b),
            (Principal::Group(a), Principal::Group(b)) => a == b,
            _ => false,
        }
    }

    /// A key equal for principals that are `same`.
    pub fn key(&self) -> (bool, std::borrow::Cow<'_, str>) {
        match self {
            Principal::User(login) => (true, std::borrow::Cow::Owned(login.to_ascii_lowercase())),
            Principal::Group(name) => (false, std::borrow::Cow::Borrowed(name.as_str())),
        }
    }
}

/// An app assigned to a person or a group, with the AWS roles it grants ("SAML User Roles").
/// Group assignments are ranked by their order: the first one wins when roles are not joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub app: String,
    #[serde(flatten)]
    pub principal: Principal,
    /// Role ARNs, or role names when the app has one Identity Provider ARN (its account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Which assignments apply to one person for one app.
#[derive(Debug, Default)]
pub struct Applicable<'a> {
    pub direct: Option<&'a Assignment>,
    pub groups: Vec<&'a Assignment>,
}

impl Applicable<'_> {
    pub fn is_assigned(&self) -> bool {
        self.direct.is_some() || !self.groups.is_empty()
    }

    /// The role entries granted, in order, without repeats.
    pub fn roles(&self, join_all_roles: bool) -> Vec<&str> {
        let sources: Vec<&Assignment> = if join_all_roles {
            self.direct.into_iter().chain(self.groups.iter().copied()).collect()
        } else {
            self.direct.or_else(|| self.groups.first().copied()).into_iter().collect()
        };
        let mut seen = HashSet::new();
        sources.iter().flat_map(|a| a.roles.iter()).map(String::as_str).filter(|role| seen.insert(*role)).collect()
    }
}

/// Picks, among one app's `assignments` in rank order, those that reach `login`, a member of
/// `groups` (a person may be in hundreds of groups, hence the set).
pub fn applicable_among<'a>(
    assignments: impl IntoIterator<Item = &'a Assignment>,
    login: &str,
    groups: &[&str],
) -> Applicable<'a> {
    let groups: HashSet<&str> = groups.iter().copied().collect();
    let mut found = Applicable::default();
    for assignment in assignments {
        match &assignment.principal {
            Principal::User(user) if user.eq_ignore_ascii_case(login) => found.direct = Some(assignment),
            Principal::Group(group) if groups.contains(group.as_str()) => found.groups.push(assignment),
            _ => {}
        }
    }
    found
}

/// A role entry as the Role attribute value `role,provider`: a full role ARN is paired with the
/// app's provider in the same account; a bare role name needs exactly one provider.
pub fn role_value(app: &AwsApp, role: &str) -> Result<String> {
    let (role_arn, account) = match parse_role_arn(role) {
        Some((partition, account)) => (role.to_owned(), (partition, account)),
        None => {
            let [provider] = app.identity_provider_arns.as_slice() else {
                return Err(IdpError::invalid(format!(
                    "role {role:?} is not a role ARN; give the full ARN (the app has {} Identity Provider ARNs)",
                    app.identity_provider_arns.len()
                )));
            };
            let (partition, account) = parse_provider_arn(provider)?;
            if role.is_empty() || role.contains([',', ':']) {
                return Err(IdpError::invalid(format!("{role:?} is neither a role ARN nor a role name")));
            }
            (format!("arn:{partition}:iam::{account}:role/{role}"), (partition, account))
        }
    };
    let provider = app
        .identity_provider_arns
        .iter()
        .find(|arn| parse_provider_arn(arn).is_ok_and(|found| found == account))
        .ok_or_else(|| {
            IdpError::invalid(format!(
                "role {role_arn} is in account {}, but the app has no Identity Provider ARN for that account",
                account.1
            ))
        })?;
    Ok(format!("{role_arn},{provider}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn app() -> AwsApp {
        AwsApp {
            identity_provider_arns: vec![
                "arn:aws:iam::111122223333:saml-provider/Okta".into(),
                "arn:aws:iam::444455556666:saml-provider/Okta".into(),
            ],
            ..AwsApp::default()
        }
    }

    fn seed_004() -> Vec<Assignment> {
        let arn = |name: &str| format!("arn:aws:iam::111122223333:role/{name}");
        vec![
            Assignment {
                app: "aws".into(),
                principal: Principal::User("test".into()),
                roles: vec![arn("Role1"), arn("Role2")],
            },
            Assignment {
                app: "aws".into(),
                principal: Principal::Group("GroupAWS".into()),
                roles: vec![arn("RoleA"), arn("RoleB")],
            },
            Assignment { app: "other".into(), principal: Principal::User("test".into()), roles: vec![arn("Nope")] },
        ]
    }

    /// The assignments of the app "aws" that reach `login`, a member of `groups`.
    fn applicable<'a>(assignments: &'a [Assignment], login: &str, groups: &[&str]) -> Applicable<'a> {
        applicable_among(assignments.iter().filter(|a| a.app == "aws"), login, groups)
    }

    fn names(roles: Vec<&str>) -> Vec<&str> {
        roles.into_iter().map(|r| r.rsplit('/').next().unwrap_or(r)).collect()
    }

    #[test]
    fn join_all_roles_off_and_on_as_seed_004_describes() {
        let assignments = seed_004();
        let found = applicable(&assignments, "TEST", &["GroupAWS"]);
        assert!(found.is_assigned());
        assert_eq!(names(found.roles(false)), ["Role1", "Role2"]);
        assert_eq!(names(found.roles(true)), ["Role1", "Role2", "RoleA", "RoleB"]);
    }

    #[test]
    fn a_person_reached_only_through_a_group_gets_the_group_roles() {
        let assignments = seed_004();
        let found = applicable(&assignments, "someone", &["GroupAWS"]);
        assert_eq!(names(found.roles(false)), ["RoleA", "RoleB"]);
        let nobody = applicable(&assignments, "someone", &["Other"]);
        assert!(!nobody.is_assigned());
    }

    #[test]
    fn roles_pair_with_the_provider_of_their_account() {
        let app = app();
        assert_eq!(
            role_value(&app, "arn:aws:iam::444455556666:role/ReadOnly").unwrap(),
            "arn:aws:iam::444455556666:role/ReadOnly,arn:aws:iam::444455556666:saml-provider/Okta"
        );
        let err = role_value(&app, "arn:aws:iam::999999999999:role/X").unwrap_err();
        assert!(err.message.contains("no Identity Provider ARN for that account"), "{err}");
        assert!(role_value(&app, "Okta_Role").unwrap_err().message.contains("full ARN"));
        let mut single = app.clone();
        single.identity_provider_arns.truncate(1);
        assert_eq!(
            role_value(&single, "Okta_Role").unwrap(),
            "arn:aws:iam::111122223333:role/Okta_Role,arn:aws:iam::111122223333:saml-provider/Okta"
        );
    }
}
