//! The tenant as requests read it: one version that no longer changes, with the lookups of an
//! SSO launch indexed (person by login, groups by member, assignments by app, compiled group
//! mappings). The index is built on first use, once per cached version, so a burst of changes
//! pays nothing for it; changes are made on a copy of the tenant, which carries no index.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::ops::Deref;
use std::sync::OnceLock;

use crate::apps::{App, AppKind};
use crate::assignments::{Applicable, Assignment, applicable_among};
use crate::directory::User;
use crate::error::{IdpError, Result};
use crate::group_mapping::CompiledMapping;
use crate::tenant::Tenant;

pub struct TenantView {
    tenant: Tenant,
    index: OnceLock<Index>,
}

#[derive(Default)]
struct Index {
    /// Login → position in `users`.
    users: Caseless<u32>,
    /// Member login → (position in `groups`, position in its `members`), in tenant order.
    members: Caseless<(u32, u32)>,
    /// App name → positions in `assignments`, in tenant order.
    assignments: HashMap<String, Vec<usize>>,
    /// App name → its group mapping compiled, or why it does not compile.
    mappings: HashMap<String, Result<CompiledMapping>>,
}

/// Values keyed by a login compared without ASCII case (as logins are), hashed without
/// allocating a lowercase copy: two million memberships index in a fraction of a second.
/// A lookup returns candidates whose login hashed the same; the caller confirms each.
#[derive(Default)]
struct Caseless<T> {
    hasher: RandomState,
    entries: HashMap<u64, Vec<T>, BuildHasherDefault<Prehashed>>,
}

impl<T> Caseless<T> {
    fn key(&self, login: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        let mut lowered = [0u8; 64];
        for chunk in login.as_bytes().chunks(lowered.len()) {
            let part = lowered.get_mut(..chunk.len()).unwrap_or_default();
            part.copy_from_slice(chunk);
            part.make_ascii_lowercase();
            hasher.write(part);
        }
        hasher.finish()
    }

    fn insert(&mut self, login: &str, value: T) {
        let key = self.key(login);
        self.entries.entry(key).or_default().push(value);
    }

    fn candidates(&self, login: &str) -> &[T] {
        self.entries.get(&self.key(login)).map(Vec::as_slice).unwrap_or_default()
    }
}

/// The map's keys are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl TenantView {
    pub fn new(tenant: Tenant) -> Self {
        TenantView { tenant, index: OnceLock::new() }
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        let users = &self.tenant.users;
        self.index()
            .users
            .candidates(login)
            .iter()
            .filter_map(|p| users.get(*p as usize))
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    /// The groups `login` belongs to, as (name, source), in tenant order.
    pub fn groups_of(&self, login: &str) -> Vec<(&str, &str)> {
        let mut found: Vec<(&str, &str)> = Vec::new();
        let mut last = None;
        for (group, member) in self.index().members.candidates(login) {
            let Some(g) = self.tenant.groups.get(*group as usize) else { continue };
            let is_member = g.members.get(*member as usize).is_some_and(|m| m.eq_ignore_ascii_case(login));
            if is_member && last != Some(*group) {
                found.push((g.name.as_str(), g.source.as_str()));
                last = Some(*group);
            }
        }
        found
    }

    /// The assignments of `app` that reach `login`, a member of `groups`.
    pub fn applicable(&self, app: &str, login: &str, groups: &[&str]) -> Applicable<'_> {
        let positions = self.index().assignments.get(app).map(Vec::as_slice).unwrap_or_default();
        applicable_among(positions.iter().filter_map(|p| self.tenant.assignments.get(*p)), login, groups)
    }

    /// The apps `login` is assigned to, directly or through a group.
    pub fn apps_of(&self, login: &str) -> Vec<&App> {
        let groups: Vec<&str> = self.groups_of(login).into_iter().map(|(name, _)| name).collect();
        self.tenant.apps.iter().filter(|app| self.applicable(&app.name, login, &groups).is_assigned()).collect()
    }

    /// The app's group mapping, compiled once per version; `None` when it has none.
    pub fn group_mapping(&self, app: &str) -> Option<Result<&CompiledMapping>> {
        let compiled = self.index().mappings.get(app)?;
        Some(compiled.as_ref().map_err(IdpError::clone))
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::of(&self.tenant))
    }
}

impl Deref for TenantView {
    type Target = Tenant;

    fn deref(&self) -> &Tenant {
        &self.tenant
    }
}

impl Index {
    fn of(tenant: &Tenant) -> Index {
        let mut index = Index::default();
        for (position, user) in (0u32..).zip(&tenant.users) {
            index.users.insert(&user.login, position);
        }
        for (position, group) in (0u32..).zip(&tenant.groups) {
            for (member, login) in (0u32..).zip(&group.members) {
                index.members.insert(login, (position, member));
            }
        }
        for (position, Assignment { app, .. }) in tenant.assignments.iter().enumerate() {
            index.assignments.entry(app.clone()).or_default().push(position);
        }
        for app in &tenant.apps {
            if let AppKind::Aws(aws) = &app.kind
                && let Some(mapping) = &aws.group_mapping
            {
                index.mappings.insert(app.name.clone(), mapping.compile());
            }
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::{AwsApp, NameIdSource, Signing};
    use crate::assignments::Principal;
    use crate::directory::{Group, UserStatus};
    use crate::group_mapping::GroupMapping;

    fn user(login: &str) -> User {
        User {
            id: login.to_lowercase(),
            login: login.into(),
            email: login.into(),
            first_name: String::new(),
            last_name: String::new(),
            status: UserStatus::Active,
            profile: Default::default(),
            admin: false,
        }
    }

    fn group(name: &str, members: &[&str]) -> Group {
        Group {
            name: name.into(),
            description: String::new(),
            source: "okta".into(),
            members: members.iter().map(|m| (*m).into()).collect(),
        }
    }

    fn app(name: &str, group_mapping: Option<GroupMapping>) -> App {
        App {
            name: name.into(),
            label: name.into(),
            kind: AppKind::Aws(AwsApp { group_mapping, ..AwsApp::default() }),
            default_relay_state: None,
            attribute_statements: Vec::new(),
            name_id: NameIdSource::default(),
            signing: Signing::default(),
        }
    }

    fn assign(app: &str, principal: Principal) -> Assignment {
        Assignment { app: app.into(), principal, roles: vec!["Role".into()] }
    }

    fn tenant() -> Tenant {
        Tenant {
            users: ["Ada@Example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
                .into_iter()
                .map(user)
                .collect(),
            groups: vec![
                group("b-group", &["ada@example.com", "BOB@example.com", "Ada@Example.com"]),
                group("a-group", &["carol@example.com", "ADA@EXAMPLE.COM"]),
                group("empty", &[]),
                group("ghosts", &["nobody@example.com"]),
            ],
            apps: vec![app("direct", None), app("by-group", None), app("nobody", None)],
            assignments: vec![
                assign("by-group", Principal::Group("a-group".into())),
                assign("direct", Principal::User("BOB@example.com".into())),
                assign("by-group", Principal::Group("b-group".into())),
            ],
            ..Tenant::default()
        }
    }

    /// The same answers by searching the whole tenant, as it was done before the view: the
    /// reference the index must agree with.
    fn searched_groups<'a>(tenant: &'a Tenant, login: &str) -> Vec<(&'a str, &'a str)> {
        tenant.groups.iter().filter(|g| g.has_member(login)).map(|g| (g.name.as_str(), g.source.as_str())).collect()
    }

    fn searched_apps(tenant: &Tenant, login: &str) -> Vec<String> {
        let groups: Vec<&str> = searched_groups(tenant, login).into_iter().map(|(name, _)| name).collect();
        let reaches = |app: &App| {
            let of_app = tenant.assignments.iter().filter(|a| a.app == app.name);
            applicable_among(of_app, login, &groups).is_assigned()
        };
        tenant.apps.iter().filter(|app| reaches(app)).map(|app| app.name.clone()).collect()
    }

    #[test]
    fn the_view_answers_as_a_search_of_the_tenant_does_whatever_the_case() {
        let tenant = tenant();
        let view = TenantView::new(tenant.clone());
        let logins = ["ada@example.com", "ADA@example.COM", "Bob@Example.com", "carol@example.com", "dave@example.com"];
        for login in logins.into_iter().chain(["nobody@example.com", "", "ada@example.co"]) {
            assert_eq!(view.user(login).map(|u| &u.id), tenant.user(login).map(|u| &u.id), "{login}");
            assert_eq!(view.groups_of(login), searched_groups(&tenant, login), "{login}");
            let names: Vec<String> = view.apps_of(login).into_iter().map(|a| a.name.clone()).collect();
            assert_eq!(names, searched_apps(&tenant, login), "{login}");
        }
        assert_eq!(searched_apps(&tenant, "bob@example.com"), ["direct", "by-group"], "the reference finds something");
        // Listed once although a member twice, and in tenant order.
        assert_eq!(view.groups_of("ada@example.com"), vec![("b-group", "okta"), ("a-group", "okta")]);
        assert_eq!(view.groups_of("nobody@example.com"), vec![("ghosts", "okta")]);
    }

    #[test]
    fn group_assignments_keep_their_rank() {
        let view = TenantView::new(tenant());
        let groups: Vec<&str> = view.groups_of("ada@example.com").into_iter().map(|(name, _)| name).collect();
        let found = view.applicable("by-group", "ada@example.com", &groups);
        let ranked: Vec<&Principal> = found.groups.iter().map(|a| &a.principal).collect();
        assert_eq!(ranked, [&Principal::Group("a-group".into()), &Principal::Group("b-group".into())]);
        assert!(found.direct.is_none());
        assert!(view.applicable("direct", "bob@EXAMPLE.com", &[]).direct.is_some());
        assert!(!view.applicable("nobody", "bob@example.com", &["a-group", "b-group"]).is_assigned());
    }

    #[test]
    fn a_group_mapping_is_compiled_once_and_its_error_kept() {
        let good = GroupMapping {
            app_filter: "okta".into(),
            group_filter: r"aws#(?{{accountid}}\d{12})#(?{{role}}\w+)".into(),
            role_value_pattern: "arn:aws:iam::${accountid}:saml-provider/Okta,arn:aws:iam::${accountid}:role/${role}"
                .into(),
        };
        let bad = GroupMapping { group_filter: "aws#(".into(), ..good.clone() };
        let tenant = Tenant {
            apps: vec![app("mapped", Some(good)), app("broken", Some(bad)), app("plain", None)],
            ..Tenant::default()
        };
        let view = TenantView::new(tenant);
        let mapping = view.group_mapping("mapped").unwrap().unwrap();
        assert_eq!(
            mapping.role_values([("aws#111122223333#Admin", "okta")]),
            ["arn:aws:iam::111122223333:saml-provider/Okta,arn:aws:iam::111122223333:role/Admin"]
        );
        let error = view.group_mapping("broken").unwrap().unwrap_err();
        assert!(error.message.starts_with("group filter:"), "{}", error.message);
        assert!(view.group_mapping("plain").is_none());
        assert!(view.group_mapping("missing").is_none());
    }

    #[test]
    fn long_logins_hash_by_their_whole_text() {
        let long = format!("{}@example.com", "a".repeat(150));
        let other = format!("{}b@example.com", "a".repeat(149));
        let view = TenantView::new(Tenant { users: vec![user(&long), user(&other)], ..Tenant::default() });
        assert_eq!(view.user(&long.to_uppercase()).map(|u| &u.login), Some(&long));
        assert_eq!(view.user(&other).map(|u| &u.login), Some(&other));
    }
}
