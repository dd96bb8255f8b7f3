//! The Provisioning tab (the AWS app's API integration: keys, Test API Credentials, role
//! import) and the Assignments tab (people and groups, with the Role and SAML User Roles
//! pickers filled from the imported roles).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::apps::{AppHead, head, missing_app};
use super::{Admin, Chrome, Fields, Outcome, Shared, admin, admin_form, change, done, page, path_segment, shown};
use crate::apps::{ApiIntegration, App, AppKind};
use crate::assignments::{Assignment, Principal};
use crate::error::IdpError;
use crate::service::Idp;

#[derive(Template)]
#[template(path = "admin/app_provisioning.html")]
struct ProvisioningPage {
    chrome: Chrome,
    app: AppHead,
    enabled: bool,
    access_key_id: String,
    secret_stored: bool,
    endpoint: String,
    roles: Vec<(String, String)>,
    alias: String,
}

/// A role ARN's name for display (`Okta_Role` for `arn:aws:iam::…:role/Okta_Role`).
fn role_name(arn: &str) -> String {
    arn.rsplit_once(":role/").map_or(arn, |(_, name)| name).to_owned()
}

fn provisioning_page(idp: &Idp, admin: &Admin, app: &App, outcome: Outcome) -> Response {
    let AppKind::Aws(aws) = &app.kind else {
        return crate::web::message(StatusCode::NOT_FOUND, "Not found", "Only AWS apps have an API integration.");
    };
    let api = aws.api_integration.as_ref();
    let status = outcome.status();
    let template = ProvisioningPage {
        chrome: Chrome::new(admin, "apps").with(outcome),
        app: head(app, "provisioning"),
        enabled: api.is_some(),
        access_key_id: api.map(|a| a.access_key_id.clone()).unwrap_or_default(),
        secret_stored: api.is_some_and(|a| !a.secret_access_key.is_empty()),
        endpoint: api.and_then(|a| a.endpoint.clone()).unwrap_or_default(),
        roles: api.map(|a| a.imported_roles.iter().map(|r| (role_name(r), r.clone())).collect()).unwrap_or_default(),
        alias: api.and_then(|a| a.account_alias.clone()).unwrap_or_default(),
    };
    page(admin, idp, status, &template)
}

pub(super) async fn provisioning(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match admin(&idp, &headers, &format!("/admin/apps/{}/provisioning", path_segment(&name))).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match idp.with_tenant(|t| t.app(&name).cloned()) {
        Some(app) => provisioning_page(&idp, &admin, &app, Outcome::from_query(&q)),
        None => missing_app(),
    }
}

/// `op` = save, test (save, then Test API Credentials) or import (refresh the roles).
pub(super) async fn save_provisioning(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/apps/{}/provisioning", path_segment(&name));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let op = form.get("op").to_owned();
    let outcome = match op.as_str() {
        "import" => match idp.import_roles(&admin.login, &name).await {
            Ok(roles) if roles.is_empty() => Outcome::Error(
                "IAM lists no role that trusts this app's Identity Provider ARN. Check the role's trust policy \
                 names the provider and allows sts:AssumeRoleWithSAML."
                    .into(),
            ),
            Ok(roles) => Outcome::Notice(format!(
                "Imported {} role{}: {}.",
                roles.len(),
                if roles.len() == 1 { "" } else { "s" },
                roles.iter().map(|r| role_name(r)).collect::<Vec<_>>().join(", ")
            )),
            Err(e) => shown(e),
        },
        _ => {
            let saved = save_integration(&idp, &admin, &name, &form).await;
            match (saved, op.as_str()) {
                (Err(e), _) => shown(e),
                (Ok(()), "test") => match idp.test_api_credentials(&admin.login, &name).await {
                    Ok(text) => Outcome::Notice(text),
                    Err(e) => shown(e),
                },
                (Ok(()), _) => return done(&here, "saved"),
            }
        }
    };
    match idp.with_tenant(|t| t.app(&name).cloned()) {
        Some(app) => provisioning_page(&idp, &admin, &app, outcome),
        None => missing_app(),
    }
}

/// Stores the integration's keys; an empty secret keeps the stored one (it is never shown).
async fn save_integration(idp: &Idp, admin: &Admin, name: &str, form: &Fields) -> Result<(), IdpError> {
    let enabled = form.checked("enabled");
    let key = form.get("access_key_id").to_owned();
    let secret = form.get("secret_access_key").to_owned();
    let endpoint = Some(form.get("endpoint").to_owned()).filter(|e| !e.is_empty());
    change(idp, admin, "app.api.update", name, name, |t| {
        let mut app = t.app(name).cloned().ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))?;
        let AppKind::Aws(aws) = &mut app.kind else {
            return Err(IdpError::invalid("only AWS apps have an API integration"));
        };
        aws.api_integration = if enabled {
            let previous = aws.api_integration.take();
            let secret = match (&previous, secret.is_empty()) {
                (Some(old), true) => old.secret_access_key.clone(),
                (None, true) => return Err(IdpError::invalid("enter the secret access key")),
                (_, false) => secret.clone(),
            };
            let same_key = previous.as_ref().is_some_and(|p| p.access_key_id == key);
            // Roles imported with other keys may not be what these keys see.
            let kept = previous.filter(|_| same_key);
            Some(ApiIntegration {
                access_key_id: key.clone(),
                secret_access_key: secret,
                endpoint: endpoint.clone(),
                imported_roles: kept.as_ref().map(|p| p.imported_roles.clone()).unwrap_or_default(),
                account_alias: kept.and_then(|p| p.account_alias),
            })
        } else {
            None
        };
        t.put_app(app)
    })
    .await
}

// ---- Assignments -------------------------------------------------------------------------------

struct AssignmentRow {
    kind: &'static str,
    who: String,
    href: String,
    roles: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/app_assignments.html")]
struct AssignmentsPage {
    chrome: Chrome,
    app: AppHead,
    rows: Vec<AssignmentRow>,
    people: Vec<String>,
    groups: Vec<String>,
    /// (name, ARN) of the imported roles; empty when none were imported.
    roles: Vec<(String, String)>,
    takes_roles: bool,
    uses_mapping: bool,
}

fn assignments_page(idp: &Idp, admin: &Admin, name: &str, outcome: Outcome) -> Response {
    let found = idp.with_tenant(|t| {
        let app = t.app(name)?.clone();
        let rows = t
            .assignments
            .iter()
            .filter(|a| a.app == name)
            .map(|a| {
                let (kind, who, href) = match &a.principal {
                    Principal::User(login) => ("person", login, format!("/admin/people/{}", path_segment(login))),
                    Principal::Group(group) => ("group", group, format!("/admin/groups/{}", path_segment(group))),
                };
                AssignmentRow { kind, who: who.clone(), href, roles: a.roles.iter().map(|r| role_name(r)).collect() }
            })
            .collect::<Vec<_>>();
        let people = t.users.iter().map(|u| u.login.clone()).collect::<Vec<_>>();
        let groups = t.groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
        Some((app, rows, people, groups))
    });
    let Some((app, rows, people, groups)) = found else { return missing_app() };
    let (roles, takes_roles, uses_mapping) = match &app.kind {
        AppKind::Aws(aws) => (
            aws.api_integration
                .as_ref()
                .map(|a| a.imported_roles.iter().map(|r| (role_name(r), r.clone())).collect())
                .unwrap_or_default(),
            true,
            aws.group_mapping.is_some(),
        ),
        AppKind::Saml(_) => (Vec::new(), false, false),
    };
    let status = outcome.status();
    let template = AssignmentsPage {
        chrome: Chrome::new(admin, "apps").with(outcome),
        app: head(&app, "assignments"),
        rows,
        people,
        groups,
        roles,
        takes_roles,
        uses_mapping,
    };
    page(admin, idp, status, &template)
}

pub(super) async fn assignments(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin(&idp, &headers, &format!("/admin/apps/{}/assignments", path_segment(&name))).await {
        Ok(admin) => assignments_page(&idp, &admin, &name, Outcome::from_query(&q)),
        Err(r) => r,
    }
}

/// The roles picked: the Role, then the SAML User Roles, then any typed (ARNs or names).
fn picked_roles(form: &Fields) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    let typed = form.get("roles_text").split([',', '\n']).map(str::trim).map(str::to_owned).collect::<Vec<_>>();
    let chosen = std::iter::once(form.get("role").to_owned())
        .chain(form.all("saml_roles").into_iter().map(|r| r.trim().to_owned()))
        .chain(typed);
    for role in chosen {
        if !role.is_empty() && !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles
}

/// `op` = assign (kind person|group, who, roles) or remove (kind, who).
pub(super) async fn change_assignments(
    State(idp): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    form: Fields,
) -> Response {
    let here = format!("/admin/apps/{}/assignments", path_segment(&name));
    let admin = match admin_form(&idp, &headers, &form, &here).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let who = form.get("who").to_owned();
    let principal = if form.get("kind") == "group" {
        Principal::Group(who.clone())
    } else {
        let login = idp.with_tenant(|t| t.user(&who).map(|u| u.login.clone())).unwrap_or(who.clone());
        Principal::User(login)
    };
    let target = format!("{name} → {}", principal.describe());
    let result = match form.get("op") {
        "remove" => change(&idp, &admin, "assignment.delete", &target, &name, |t| {
            let before = t.assignments.len();
            t.assignments.retain(|a| !(a.app == name && a.principal.same(&principal)));
            if before == t.assignments.len() {
                return Err(IdpError::not_found(format!("app {name:?} is not assigned to {}", principal.describe())));
            }
            Ok(())
        })
        .await
        .map(|()| "unassigned"),
        _ => {
            let assignment = Assignment { app: name.clone(), principal: principal.clone(), roles: picked_roles(&form) };
            change(&idp, &admin, "assignment.put", &target, &name, |t| t.assign(assignment.clone()))
                .await
                .map(|()| "assigned")
        }
    };
    match result {
        Ok(code) => done(&here, code),
        Err(e) => assignments_page(&idp, &admin, &name, shown(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_the_last_part_of_the_arn() {
        assert_eq!(role_name("arn:aws:iam::111122223333:role/Okta_Role"), "Okta_Role");
        assert_eq!(role_name("arn:aws:iam::111122223333:role/path/Deep"), "path/Deep");
        assert_eq!(role_name("Plain"), "Plain");
        assert!(crate::apps::parse_role_arn("arn:aws:iam::111122223333:role/Okta_Role").is_some());
    }
}
