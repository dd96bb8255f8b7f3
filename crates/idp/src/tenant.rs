//! The tenant: everything an administrator configures (schema, people, groups, apps,
//! assignments). Every change is checked whole before it is made, so a refused change leaves
//! the tenant as it was. Credentials live apart (`crate::credentials`), never in exports.

use serde::{Deserialize, Serialize};

use crate::apps::{App, AppKind};
use crate::assignments::{Assignment, Principal, role_value};
use crate::directory::{Group, Schema, User, UserStatus};
use crate::error::{IdpError, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    #[serde(default)]
    pub schema: Schema,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub apps: Vec<App>,
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
}

/// Tenant-wide sign-in policy (Security → Authenticators in Okta's terms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub mfa: MfaPolicy,
}

impl Policy {
    fn is_default(&self) -> bool {
        *self == Policy::default()
    }
}

/// Who must use two-step verification. People it covers who have not enrolled are asked to
/// enroll right after their password, before any app opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaPolicy {
    #[default]
    Optional,
    Admins,
    Everyone,
}

impl MfaPolicy {
    pub fn name(self) -> &'static str {
        match self {
            MfaPolicy::Optional => "optional",
            MfaPolicy::Admins => "admins",
            MfaPolicy::Everyone => "everyone",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "optional" => Ok(MfaPolicy::Optional),
            "admins" => Ok(MfaPolicy::Admins),
            "everyone" => Ok(MfaPolicy::Everyone),
            other => Err(IdpError::invalid(format!("MFA policy {other:?}: use optional, admins or everyone"))),
        }
    }
}

impl Tenant {
    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login.eq_ignore_ascii_case(login))
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Whether the policy requires `login` to use two-step verification.
    pub fn requires_mfa(&self, login: &str) -> bool {
        match self.policy.mfa {
            MfaPolicy::Optional => false,
            MfaPolicy::Admins => self.user(login).is_some_and(|u| u.admin),
            MfaPolicy::Everyone => true,
        }
    }

    pub fn app(&self, name: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.name == name)
    }

    /// Checks the whole tenant: unique names, references that resolve, every app and
    /// assignment valid. `apply` and every single change go through this.
    pub fn validate(&self) -> Result<()> {
        let mut logins = std::collections::BTreeSet::new();
        // Lookups compare logins as `Tenant::user` does (ASCII case folded); a set, because
        // at 100,000 people and 2,000,000 memberships a search per member would never end.
        let known: std::collections::HashSet<String> =
            self.users.iter().map(|u| u.login.to_ascii_lowercase()).collect();
        let mut ids = std::collections::BTreeSet::new();
        for user in &self.users {
            user.validate()?;
            if user.id.is_empty() {
                return Err(IdpError::invalid(format!("user {:?} has no id", user.login)));
            }
            if !logins.insert(user.login.to_lowercase()) {
                return Err(IdpError::conflict(format!("login {:?} is used twice", user.login)));
            }
            if !ids.insert(user.id.as_str()) {
                return Err(IdpError::conflict(format!("user id {:?} is used twice", user.id)));
            }
            self.schema.check_profile(&user.profile).map_err(|e| prefix(&format!("user {:?}", user.login), e))?;
        }
        let mut group_names = std::collections::BTreeSet::new();
        for group in &self.groups {
            group.validate()?;
            if !group_names.insert(group.name.as_str()) {
                return Err(IdpError::conflict(format!("group {:?} exists twice", group.name)));
            }
            for member in &group.members {
                if !known.contains(&member.to_ascii_lowercase()) {
                    return Err(IdpError::not_found(format!(
                        "group {:?} lists {member:?}, who is not in the directory",
                        group.name
                    )));
                }
            }
        }
        let mut app_names = std::collections::BTreeSet::new();
        for app in &self.apps {
            app.validate(&self.schema).map_err(|e| prefix(&format!("app {:?}", app.name), e))?;
            if !app_names.insert(app.name.as_str()) {
                return Err(IdpError::conflict(format!("app {:?} exists twice", app.name)));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for assignment in &self.assignments {
            self.check_assignment(assignment, &known, &group_names)?;
            if !seen.insert((assignment.app.as_str(), assignment.principal.key())) {
                return Err(IdpError::conflict(format!(
                    "app {:?} is assigned to {} twice",
                    assignment.app,
                    assignment.principal.describe()
                )));
            }
        }
        Ok(())
    }

    fn check_assignment(
        &self,
        assignment: &Assignment,
        logins: &std::collections::HashSet<String>,
        groups: &std::collections::BTreeSet<&str>,
    ) -> Result<()> {
        let Some(app) = self.app(&assignment.app) else {
            return Err(IdpError::not_found(format!("there is no app {:?}", assignment.app)));
        };
        match &assignment.principal {
            Principal::User(login) if !logins.contains(&login.to_ascii_lowercase()) => {
                return Err(IdpError::not_found(format!("there is no user {login:?}")));
            }
            Principal::Group(name) if !groups.contains(name.as_str()) => {
                return Err(IdpError::not_found(format!("there is no group {name:?}")));
            }
            _ => {}
        }
        match &app.kind {
            AppKind::Aws(aws) => {
                for role in &assignment.roles {
                    role_value(aws, role).map_err(|e| prefix(&format!("app {:?}", app.name), e))?;
                }
            }
            AppKind::Saml(_) if !assignment.roles.is_empty() => {
                return Err(IdpError::invalid(format!("app {:?} is not an AWS app: it takes no roles", app.name)));
            }
            AppKind::Saml(_) => {}
        }
        Ok(())
    }

    /// Applies `change` to a copy, validates the copy and only then keeps it.
    pub fn change<T>(&mut self, change: impl FnOnce(&mut Tenant) -> Result<T>) -> Result<T> {
        let mut next = self.clone();
        let value = change(&mut next)?;
        next.validate()?;
        *self = next;
        Ok(value)
    }

    pub fn user_mut(&mut self, login: &str) -> Result<&mut User> {
        self.users
            .iter_mut()
            .find(|u| u.login.eq_ignore_ascii_case(login))
            .ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))
    }

    pub fn group_mut(&mut self, name: &str) -> Result<&mut Group> {
        self.groups
            .iter_mut()
            .find(|g| g.name == name)
            .ok_or_else(|| IdpError::not_found(format!("there is no group {name:?}")))
    }

    pub fn set_status(&mut self, login: &str, status: UserStatus) -> Result<()> {
        self.change(|t| {
            t.user_mut(login)?.status = status;
            Ok(())
        })
    }

    /// Replaces the app of the same name, or adds it.
    pub fn put_app(&mut self, app: App) -> Result<()> {
        self.change(|t| {
            match t.apps.iter_mut().find(|a| a.name == app.name) {
                Some(existing) => *existing = app,
                None => t.apps.push(app),
            }
            Ok(())
        })
    }

    /// Replaces the assignment of the same app and principal (a login in any case), or adds it;
    /// another spelling of the same login left by an earlier version goes with it.
    pub fn assign(&mut self, assignment: Assignment) -> Result<()> {
        self.change(|t| {
            let same = |a: &Assignment| a.app == assignment.app && a.principal.same(&assignment.principal);
            // Every spelling goes; the new one takes the place of the first (nothing before it
            // was removed, so its index still holds).
            let first = t.assignments.iter().position(same);
            t.assignments.retain(|a| !same(a));
            match first {
                Some(at) => t.assignments.insert(at, assignment.clone()),
                None => t.assignments.push(assignment.clone()),
            }
            Ok(())
        })
    }

    /// Drops assignments an earlier version kept twice for one app and person (one login in two
    /// cases, before logins were compared without case there): the last, which sign-in used,
    /// stays. Returns how many went; a tenant holding such pairs could take no change at all.
    pub fn merge_duplicate_assignments(&mut self) -> usize {
        let before = self.assignments.len();
        let mut seen = std::collections::HashSet::new();
        let mut kept: Vec<Assignment> = Vec::with_capacity(before);
        for assignment in std::mem::take(&mut self.assignments).into_iter().rev() {
            let (is_user, name) = assignment.principal.key();
            if seen.insert((assignment.app.clone(), is_user, name.into_owned())) {
                kept.push(assignment);
            }
        }
        kept.reverse();
        self.assignments = kept;
        before - self.assignments.len()
    }

    /// Removes an app with its assignments.
    pub fn remove_app(&mut self, name: &str) -> Result<()> {
        self.change(|t| {
            let before = t.apps.len();
            t.apps.retain(|a| a.name != name);
            if before == t.apps.len() {
                return Err(IdpError::not_found(format!("there is no app {name:?}")));
            }
            t.assignments.retain(|a| a.app != name);
            Ok(())
        })
    }

    /// Removes a group with the assignments made through it (its members stay).
    pub fn remove_group(&mut self, name: &str) -> Result<()> {
        self.change(|t| {
            let before = t.groups.len();
            t.groups.retain(|g| g.name != name);
            if before == t.groups.len() {
                return Err(IdpError::not_found(format!("there is no group {name:?}")));
            }
            t.assignments.retain(|a| a.principal != Principal::Group(name.to_owned()));
            Ok(())
        })
    }

    /// Removes a user with their memberships and direct assignments.
    pub fn remove_user(&mut self, login: &str) -> Result<User> {
        self.change(|t| {
            let index = t
                .users
                .iter()
                .position(|u| u.login.eq_ignore_ascii_case(login))
                .ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))?;
            let user = t.users.remove(index);
            for group in &mut t.groups {
                group.members.retain(|m| !m.eq_ignore_ascii_case(login));
            }
            t.assignments.retain(|a| !matches!(&a.principal, Principal::User(u) if u.eq_ignore_ascii_case(login)));
            Ok(user)
        })
    }
}

/// What `apply` changed, by kind: (created, updated, removed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplySummary {
    pub users: (usize, usize, usize),
    pub groups: (usize, usize, usize),
    pub apps: (usize, usize, usize),
    pub assignments: (usize, usize, usize),
}

impl std::fmt::Display for ApplySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part =
            |name: &str, (c, u, r): (usize, usize, usize)| format!("{name}: {c} created, {u} updated, {r} removed");
        write!(
            f,
            "{}; {}; {}; {}",
            part("users", self.users),
            part("groups", self.groups),
            part("apps", self.apps),
            part("assignments", self.assignments)
        )
    }
}

/// (created, updated, removed) from `old` to `new`, matching items by `key`; by hash, because
/// a tenant may hold 100,000 people.
fn diff<'a, T: PartialEq, K: Eq + std::hash::Hash>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> (usize, usize, usize) {
    let before: std::collections::HashMap<K, &T> = old.iter().map(|o| (key(o), o)).collect();
    let after: std::collections::HashSet<K> = new.iter().map(&key).collect();
    let (mut created, mut updated) = (0, 0);
    for n in new {
        match before.get(&key(n)) {
            None => created += 1,
            Some(o) if *o != n => updated += 1,
            Some(_) => {}
        }
    }
    let removed = before.keys().filter(|k| !after.contains(*k)).count();
    (created, updated, removed)
}

impl Tenant {
    /// Makes the tenant equal to `desired` (declarative, idempotent): users keep their ids by
    /// login, new users get one from `new_id`. Nothing changes unless the whole result is valid.
    pub fn apply(&mut self, mut desired: Tenant, mut new_id: impl FnMut() -> Result<String>) -> Result<ApplySummary> {
        let ids: std::collections::HashMap<String, &str> =
            self.users.iter().map(|u| (u.login.to_ascii_lowercase(), u.id.as_str())).collect();
        for user in &mut desired.users {
            if let Some(id) = ids.get(&user.login.to_ascii_lowercase()) {
                user.id = (*id).to_owned();
            } else if user.id.is_empty() {
                user.id = new_id()?;
            }
        }
        desired.validate()?;
        let summary = ApplySummary {
            users: diff(&self.users, &desired.users, |u| u.login.to_ascii_lowercase()),
            groups: diff(&self.groups, &desired.groups, |g| g.name.as_str()),
            apps: diff(&self.apps, &desired.apps, |a| a.name.as_str()),
            assignments: diff(&self.assignments, &desired.assignments, |a| (a.app.as_str(), a.principal.key())),
        };
        *self = desired;
        Ok(summary)
    }
}

fn prefix(context: &str, error: IdpError) -> IdpError {
    IdpError::new(error.kind, format!("{context}: {}", error.message))
}
