//! Directory pages: people (search, paging, create, edit, lifecycle, password, MFA), groups and
//! their members, and the profile editor for custom attributes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{
    Admin, Chrome, Fields, Outcome, Shared, admin, admin_form, change, done, logged, page, path_segment, shown,
};
use crate::directory::{AttributeType, CustomAttribute, Group, ProfileValue, User, UserStatus};
use crate::error::IdpError;
use crate::service::Idp;

const PAGE_SIZE: usize = 50;

struct PersonRow {
    login: String,
    href: String,
    name: String,
    email: String,
    status: &'static str,
    admin: bool,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    chrome: Chrome,
    q: String,
    rows: Vec<PersonRow>,
    total: usize,
    first: usize,
    last: usize,
    previous: Option<String>,
    next: Option<String>,
}

pub(super) async fn people(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match admin(&idp, &headers, "/admin/people").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let search = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let wanted = search.to_lowercase();
    let number: usize = q.get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let (total, number, rows) = idp.with_tenant(|t| {
        let matching: Vec<&User> = t
            .users
            .iter()
            .filter(|u| {
                wanted.is_empty()
                    || [&u.login, &u.email, &u.first_name, &u.last_name]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&wanted))
            })
            .collect();
        // A page past the last shows the last.
        let number = number.min(matching.len().div_ceil(PAGE_SIZE).max(1));
        let rows = matching
            .iter()
            .skip((number - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|u| PersonRow {
                login: u.login.clone(),
                href: format!("/admin/people/{}", path_segment(&u.login)),
                name: u.display_name(),
                email: u.email.clone(),
                status: u.status.name(),
                admin: u.admin,
            })
            .collect();
        (matching.len(), number, rows)
    });
    let link = |n: usize| format!("/admin/people?q={}&page={n}", crate::web::percent_encode(&search));
    let first = if total == 0 { 0 } else { (number - 1) * PAGE_SIZE + 1 };
    let last = ((number - 1) * PAGE_SIZE + PAGE_SIZE).min(total);
    let previous = (number > 1).then(|| link(number - 1));
    let next = (last < total).then(|| link(number + 1));
    let template = PeoplePage {
        chrome: Chrome::new(&admin, "people").with(Outcome::from_query(&q)),
        q: search,
        rows,
        total,
        first,
        last,
        previous,
        next,
    };
    page(&admin, &idp, StatusCode::OK, &template)
}

#[derive(Template)]
#[template(path = "admin/person_new.html")]
struct NewPersonPage {
    chrome: Chrome,
    login: String,
    first_name: String,
    last_name: String,
    email: String,
    admin: bool,
}

pub(super) async fn new_person(State(idp): Shared, headers: HeaderMap) -> Response {
    let admin = match admin(&idp, &headers, "/admin/people/new").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let template = NewPersonPage {
        chrome: Chrome::new(&admin, "people"),
        login: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        admin: false,
    };
    page(&admin, &idp, StatusCode::OK, &template)
}

pub(super) async fn create_person(State(idp): Shared, headers: HeaderMap, form: Fields) -> Response {
    let admin = match admin_form(&idp, &headers, &form, "/admin/people/new").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let password = Some(form.raw("password").to_owned()).filter(|p| !p.is_empty());
    let user = User {
        id: String::new(),
        login: form.get("login").to_owned(),
        email: form.get("email").to_owned(),
        first_name: form.get("first_name").to_owned(),
        last_name: form.get("last_name").to_owned(),
        status: if password.is_some() { UserStatus::Active } else { UserStatus::Staged },
        profile: Default::default(),
        admin: form.checked("admin"),
    };
    let result = idp.create_person(user.clone(), password.as_deref()).await;
    logged(&idp, &admin, "user.create", &user.login, "", &result).await;
    match result {
        Ok(created) => done(&format!("/admin/people/{}", path_segment(&created.login)), "created"),
        Err(e) => {
            let outcome = shown(e);
            let status = outcome.status();
            let template = NewPersonPage {
                chrome: Chrome::new(&admin, "people").with(outcome),
                login: user.login,
                first_name: user.first_name,
                last_name: user.last_name,
                email: user.email,
                admin: user.admin,
            };
            page(&admin, &idp, status, &template)
        }
    }
}

struct AttributeField {
    name: String,
    title: String,
    kind: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "admin/person.html")]
struct PersonPage {
    chrome: Chrome,
    login: String,
    href: String,
    first_name: String,
    last_name: String,
    email: String,
    status: &'static str,
    admin: bool,
    password_set: bool,
    mfa: bool,
    attributes: Vec<AttributeField>,
    /// The profile as the page shows it; a save made from an older one is refused.
    revision: String,
    has_arrays: bool,
    groups: Vec<String>,
    apps: Vec<(String, String)>,
    actions: Vec<(&'static str, &'static str)>,
}

fn profile_text(value: Option<&ProfileValue>) -> String {
    match value {
        None => String::new(),
        Some(ProfileValue::String(s)) => s.clone(),
        Some(ProfileValue::Boolean(b)) => b.to_string(),
        Some(ProfileValue::Integer(i)) => i.to_string(),
        Some(ProfileValue::StringArray(items)) => items.join(", "),
    }
}

fn person_page(idp: &Idp, admin: &Admin, login: &str, outcome: Outcome) -> Response {
    let found = idp.with_tenant(|t| {
        let user = t.user(login)?.clone();
        let attributes = t
            .schema
            .custom
            .iter()
            .map(|a| AttributeField {
                name: a.name.clone(),
                title: if a.title.is_empty() { a.name.clone() } else { a.title.clone() },
                kind: a.kind.name(),
                value: profile_text(user.profile.get(&a.name)),
            })
            .collect::<Vec<_>>();
        let groups = t.groups_of(&user.login).into_iter().map(|(name, _)| name.to_owned()).collect::<Vec<_>>();
        let apps = t.apps_of(&user.login).into_iter().map(|a| (a.name.clone(), a.label.clone())).collect::<Vec<_>>();
        Some((user, attributes, groups, apps))
    });
    let Some((user, attributes, groups, apps)) = found else {
        return crate::web::message(StatusCode::NOT_FOUND, "Not found", "There is no such person.");
    };
    let (password_set, mfa) = idp
        .with_credentials(|c| (c.get(&user.login).is_some_and(|x| x.password_hash.is_some()), c.has_totp(&user.login)));
    let actions: Vec<(&'static str, &'static str)> = match user.status {
        UserStatus::Staged => vec![("activate", "Activate")],
        UserStatus::Active => vec![("suspend", "Suspend"), ("deactivate", "Deactivate")],
        UserStatus::Suspended => vec![("unsuspend", "Unsuspend"), ("deactivate", "Deactivate")],
        UserStatus::Deactivated => vec![("reactivate", "Reactivate")],
    };
    let status = outcome.status();
    let revision = revision(&user);
    let template = PersonPage {
        chrome: Chrome::new(admin, "people").with(outcome),
        href: format!("/admin/people/{}", path_segment(&user.login)),
        login: user.login,
        first_name: user.first_name,
        last_name: user.last_name,
        email: user.email,
        status: user.status.name(),
        admin: user.admin,
        password_set,
        mfa,
        revision,
        has_arrays: attributes.iter().any(|a| a.kind == "string_array"),
        attributes,
        groups,
        apps,
        actions,
    };
    page(admin, idp, status, &template)
}

pub(super) async fn person(
    State(idp): Shared,
    headers: HeaderMap,
    Path(login): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let here = format!("/admin/people/{}", path_segment(&login));
    let admin = match admin(&idp, &headers, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    person_page(&idp, &admin, &login, Outcome::from_query(&q))
}

/// A digest of everything stored for `user`: the person page carries it, and a save from a page
/// older than the person's last change is refused rather than putting the page's values back.
fn revision(user: &User) -> String {
    crate::hex::sha256(serde_json::to_string(user).unwrap_or_default().as_bytes())
}

/// Saves the profile: names, email, administrator flag and custom attributes (empty removes).
pub(super) async fn update_person(
    State(idp): Shared,
    headers: HeaderMap,
    Path(login): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/people/{}", path_segment(&login));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = change(&idp, &admin, "user.update", &login, "", |t| {
        let schema = t.schema.clone();
        if login.eq_ignore_ascii_case(&admin.login) && !form.checked("admin") {
            return Err(IdpError::invalid("you cannot remove your own administrator role; ask another administrator"));
        }
        let user = t.user_mut(&login)?;
        if form.get("revision") != revision(user) {
            return Err(IdpError::conflict(
                "this person was changed since the page was loaded (elsewhere, or in another tab); the page now shows the current profile: make the change again",
            ));
        }
        user.first_name = form.get("first_name").to_owned();
        user.last_name = form.get("last_name").to_owned();
        user.email = form.get("email").to_owned();
        user.admin = form.checked("admin");
        for attribute in &schema.custom {
            let text = form.get(&format!("attr.{}", attribute.name));
            if text.is_empty() {
                user.profile.remove(&attribute.name);
            } else {
                let value = ProfileValue::parse_as(attribute.kind, text)
                    .map_err(|e| IdpError::invalid(format!("{}: {}", attribute.name, e.message)))?;
                user.profile.insert(attribute.name.clone(), value);
            }
        }
        Ok(())
    })
    .await;
    match result {
        Ok(()) => done(&here, "saved"),
        Err(e) => person_page(&idp, &admin, &login, shown(e)),
    }
}

/// Lifecycle, password, MFA reset and removal.
pub(super) async fn person_action(
    State(idp): Shared,
    headers: HeaderMap,
    Path((login, action)): Path<(String, String)>,
    form: Fields,
) -> Response {
    let here = format!("/admin/people/{}", path_segment(&login));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(login) = idp.with_tenant(|t| t.user(&login).map(|u| u.login.clone())) else {
        return crate::web::message(StatusCode::NOT_FOUND, "Not found", "There is no such person.");
    };
    let is_self = login.eq_ignore_ascii_case(&admin.login);
    let result: Result<&str, IdpError> = match action.as_str() {
        "activate" | "unsuspend" | "reactivate" | "suspend" | "deactivate" => {
            let status = if matches!(action.as_str(), "suspend" | "deactivate") {
                if is_self {
                    return person_page(&idp, &admin, &login, Outcome::Error("You cannot lock yourself out.".into()));
                }
                if action == "suspend" { UserStatus::Suspended } else { UserStatus::Deactivated }
            } else {
                UserStatus::Active
            };
            change(&idp, &admin, &format!("user.lifecycle.{action}"), &login, "", |t| t.set_status(&login, status))
                .await
                .map(|()| "status")
        }
        "password" => {
            let password = form.raw("password").to_owned();
            let result = match idp.change_credentials(|c| c.set_password(&login, &password, idp.rng.as_ref())).await {
                Ok(inner) => inner,
                Err(e) => Err(e),
            };
            logged(&idp, &admin, "user.password.set", &login, "", &result).await;
            result.map(|()| "password")
        }
        "mfa-reset" => {
            let result = idp.change_credentials(|c| c.reset_totp(&login)).await;
            logged(&idp, &admin, "user.mfa.reset", &login, "", &result).await;
            result.map(|()| "mfa-reset")
        }
        "sign-out" => {
            let result = idp.change_credentials(|c| c.end_sessions(&login)).await;
            logged(&idp, &admin, "user.session.revoke_all", &login, "", &result).await;
            result.map(|()| "signed-out")
        }
        "delete" => {
            if is_self {
                return person_page(&idp, &admin, &login, Outcome::Error("You cannot delete yourself.".into()));
            }
            return match change(&idp, &admin, "user.delete", &login, "", |t| t.remove_user(&login).map(|_| ())).await {
                Ok(()) => done("/admin/people", "deleted"),
                Err(e) => person_page(&idp, &admin, &login, shown(e)),
            };
        }
        _ => return crate::web::message(StatusCode::NOT_FOUND, "Not found", "There is no such action."),
    };
    match result {
        Ok(code) => done(&here, code),
        Err(e) => person_page(&idp, &admin, &login, shown(e)),
    }
}

// ---- groups ----------------------------------------------------------------------------------

struct GroupRow {
    name: String,
    href: String,
    description: String,
    members: usize,
    source: String,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    rows: Vec<GroupRow>,
}

fn groups_page(idp: &Idp, admin: &Admin, outcome: Outcome) -> Response {
    let rows = idp.with_tenant(|t| {
        t.groups
            .iter()
            .map(|g| GroupRow {
                name: g.name.clone(),
                href: format!("/admin/groups/{}", path_segment(&g.name)),
                description: g.description.clone(),
                members: g.members.len(),
                source: g.source.clone(),
            })
            .collect()
    });
    let status = outcome.status();
    page(admin, idp, status, &GroupsPage { chrome: Chrome::new(admin, "groups").with(outcome), rows })
}

pub(super) async fn groups(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin(&idp, &headers, "/admin/groups").await {
        Ok(admin) => groups_page(&idp, &admin, Outcome::from_query(&q)),
        Err(r) => r,
    }
}

pub(super) async fn create_group(State(idp): Shared, headers: HeaderMap, form: Fields) -> Response {
    let admin = match admin_form(&idp, &headers, &form, "/admin/groups").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let group = Group {
        name: form.get("name").to_owned(),
        description: form.get("description").to_owned(),
        source: crate::directory::default_group_source(),
        members: Vec::new(),
    };
    let result = change(&idp, &admin, "group.create", &group.name, "", |t| {
        if t.group(&group.name).is_some() {
            return Err(IdpError::conflict(format!("group {:?} exists already", group.name)));
        }
        t.groups.push(group.clone());
        Ok(())
    })
    .await;
    match result {
        Ok(()) => done(&format!("/admin/groups/{}", path_segment(&group.name)), "created"),
        Err(e) => groups_page(&idp, &admin, shown(e)),
    }
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    chrome: Chrome,
    name: String,
    href: String,
    description: String,
    members: Vec<(String, String)>,
    candidates: Vec<String>,
}

fn group_page(idp: &Idp, admin: &Admin, name: &str, outcome: Outcome) -> Response {
    let found = idp.with_tenant(|t| {
        let group = t.group(name)?.clone();
        let members = group
            .members
            .iter()
            .map(|m| (m.clone(), t.user(m).map(User::display_name).unwrap_or_default()))
            .collect::<Vec<_>>();
        let candidates =
            t.users.iter().filter(|u| !group.has_member(&u.login)).map(|u| u.login.clone()).collect::<Vec<_>>();
        Some((group, members, candidates))
    });
    let Some((group, members, candidates)) = found else {
        return crate::web::message(StatusCode::NOT_FOUND, "Not found", "There is no such group.");
    };
    let status = outcome.status();
    let template = GroupPage {
        chrome: Chrome::new(admin, "groups").with(outcome),
        href: format!("/admin/groups/{}", path_segment(&group.name)),
        name: group.name,
        description: group.description,
        members,
        candidates,
    };
    page(admin, idp, status, &template)
}

pub(super) async fn group(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin(&idp, &headers, &format!("/admin/groups/{}", path_segment(&name))).await {
        Ok(admin) => group_page(&idp, &admin, &name, Outcome::from_query(&q)),
        Err(r) => r,
    }
}

/// `op` = add (login), remove (login), describe (description) or delete.
pub(super) async fn group_action(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/groups/{}", path_segment(&name));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let login = form.get("login").to_owned();
    let result = match form.get("op") {
        "add" => change(&idp, &admin, "group.member.add", &name, "", |t| {
            let login = t
                .user(&login)
                .map(|u| u.login.clone())
                .ok_or_else(|| IdpError::not_found(format!("there is no person {login:?}")))?;
            let group = t.group_mut(&name)?;
            if !group.has_member(&login) {
                group.members.push(login);
            }
            Ok(())
        })
        .await
        .map(|()| "added"),
        "remove" => change(&idp, &admin, "group.member.remove", &name, "", |t| {
            t.group_mut(&name)?.members.retain(|m| !m.eq_ignore_ascii_case(&login));
            Ok(())
        })
        .await
        .map(|()| "removed"),
        "describe" => change(&idp, &admin, "group.update", &name, "", |t| {
            t.group_mut(&name)?.description = form.get("description").to_owned();
            Ok(())
        })
        .await
        .map(|()| "saved"),
        "delete" => {
            let result = change(&idp, &admin, "group.delete", &name, "", |t| t.remove_group(&name)).await;
            return match result {
                Ok(()) => done("/admin/groups", "deleted"),
                Err(e) => group_page(&idp, &admin, &name, shown(e)),
            };
        }
        _ => Err(IdpError::invalid("unknown group action")),
    };
    match result {
        Ok(code) => done(&here, code),
        Err(e) => group_page(&idp, &admin, &name, shown(e)),
    }
}

// ---- profile editor --------------------------------------------------------------------------

struct AttributeRow {
    name: String,
    title: String,
    kind: &'static str,
    holders: usize,
}

#[derive(Template)]
#[template(path = "admin/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    base: &'static [&'static str],
    rows: Vec<AttributeRow>,
}

fn profile_page(idp: &Idp, admin: &Admin, outcome: Outcome) -> Response {
    let rows = idp.with_tenant(|t| {
        t.schema
            .custom
            .iter()
            .map(|a| AttributeRow {
                name: a.name.clone(),
                title: a.title.clone(),
                kind: a.kind.name(),
                holders: t.users.iter().filter(|u| u.profile.contains_key(&a.name)).count(),
            })
            .collect()
    });
    let status = outcome.status();
    let template = ProfilePage {
        chrome: Chrome::new(admin, "profile").with(outcome),
        base: &crate::directory::BASE_ATTRIBUTES,
        rows,
    };
    page(admin, idp, status, &template)
}

pub(super) async fn profile(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin(&idp, &headers, "/admin/profile").await {
        Ok(admin) => profile_page(&idp, &admin, Outcome::from_query(&q)),
        Err(r) => r,
    }
}

/// `op` = add (name, title, type) or remove (name): removing also drops the values people
/// hold; an attribute an app's expression still uses cannot be removed.
pub(super) async fn profile_action(State(idp): Shared, headers: HeaderMap, form: Fields) -> Response {
    let admin = match admin_form(&idp, &headers, &form, "/admin/profile").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = form.get("name").to_owned();
    let result = match form.get("op") {
        "add" => {
            let kind = match form.get("type") {
                "string" => Ok(AttributeType::String),
                "boolean" => Ok(AttributeType::Boolean),
                "integer" => Ok(AttributeType::Integer),
                "string_array" => Ok(AttributeType::StringArray),
                other => Err(IdpError::invalid(format!("unknown attribute type {other:?}"))),
            };
            match kind {
                Ok(kind) => {
                    let attribute = CustomAttribute { name: name.clone(), title: form.get("title").to_owned(), kind };
                    change(&idp, &admin, "schema.attribute.add", &name, "", |t| t.schema.add(attribute.clone()))
                        .await
                        .map(|()| "added")
                }
                Err(e) => Err(e),
            }
        }
        "remove" => change(&idp, &admin, "schema.attribute.remove", &name, "", |t| {
            let before = t.schema.custom.len();
            t.schema.custom.retain(|a| a.name != name);
            if before == t.schema.custom.len() {
                return Err(IdpError::not_found(format!("there is no custom attribute {name:?}")));
            }
            for user in &mut t.users {
                user.profile.remove(&name);
            }
            Ok(())
        })
        .await
        .map(|()| "removed"),
        _ => Err(IdpError::invalid("unknown profile action")),
    };
    match result {
        Ok(code) => done("/admin/profile", code),
        Err(e) => profile_page(&idp, &admin, shown(e)),
    }
}
