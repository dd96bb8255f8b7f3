//! The admin REST API (`/api/v1`, JSON, bearer tokens made with `idfed api-tokens create`).
//! Every change goes through the tenant's all-or-nothing validation and is written to the
//! system log with the token's name as actor. `GET /api/v1/openapi.json` describes it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::apps::App;
use crate::assignments::{Assignment, Principal};
use crate::directory::{Group, ProfileValue, User, UserStatus};
use crate::error::{ErrorKind, IdpError};
use crate::service::Idp;
use crate::tenant::Tenant;

type Shared = State<Arc<Idp>>;
type ApiResult = Result<Response, IdpError>;

pub const OPENAPI: &str = include_str!("../openapi.json");

pub fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .route("/api/v1/tenant", get(get_tenant).put(put_tenant))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{login}", get(get_user).put(update_user).delete(delete_user))
        .route("/api/v1/users/{login}/lifecycle/{action}", post(lifecycle))
        .route("/api/v1/users/{login}/password", post(set_password))
        .route("/api/v1/users/{login}/mfa/enroll", post(enroll_mfa))
        .route("/api/v1/users/{login}/mfa/reset", post(reset_mfa))
        .route("/api/v1/users/{login}/sessions/end", post(end_sessions))
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/groups/{name}", get(get_group).delete(delete_group))
        .route("/api/v1/groups/{name}/members/{login}", put(add_member).delete(remove_member))
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{name}", get(get_app).put(put_app).delete(delete_app))
        .route("/api/v1/apps/{name}/api-integration/test", post(test_integration))
        .route("/api/v1/apps/{name}/api-integration/import-roles", post(import_roles))
        .route("/api/v1/assignments", get(list_assignments).put(put_assignment).delete(delete_assignment))
        .route("/api/v1/logs", get(logs))
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { IdpError::not_found("no such API route").into_response() }),
        )
        .with_state(idp)
}

impl IntoResponse for IdpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match self.kind {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        };
        json_response(status, &json!({ "error": { "code": code, "message": self.message } }))
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("serializing the answer: {e}")).into_response(),
    }
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(json_response(StatusCode::OK, &value))
}

fn created(value: impl serde::Serialize) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, &value))
}

/// The name of the caller's API token; every API route requires one.
async fn caller(idp: &Idp, headers: &HeaderMap) -> Result<String, IdpError> {
    let token = crate::web::bearer(headers).ok_or_else(|| {
        IdpError::new(ErrorKind::Unauthenticated, "send Authorization: Bearer <token> (idfed api-tokens create NAME)")
    })?;
    // A token revoked by another process or node is refused here at once, not after the next
    // request that happens to reload.
    idp.refresh().await?;
    idp.with_credentials(|c| c.api_token_name(token.trim()).map(str::to_owned))
        .ok_or_else(|| IdpError::new(ErrorKind::Unauthenticated, "this API token is not valid"))
}

/// Runs `change` on the tenant for `actor` (the caller, authenticated before its request body
/// was read), and logs it.
async fn change<T>(
    idp: &Idp,
    actor: &str,
    event: &str,
    target: &str,
    change: impl FnMut(&mut Tenant) -> Result<T, IdpError>,
) -> Result<T, IdpError> {
    let result = idp.change_tenant(change).await;
    let detail = match &result {
        Ok(_) => json!({}),
        Err(e) => json!({ "reason": e.message }),
    };
    idp.log(&format!("api:{actor}"), event, target, "", result.is_ok(), detail).await;
    result
}

async fn read(idp: &Idp, headers: &HeaderMap) -> Result<(), IdpError> {
    caller(idp, headers).await.map(drop)
}

fn parse_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, IdpError> {
    let yaml = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("yaml"));
    let text = std::str::from_utf8(body).map_err(|_| IdpError::invalid("the body is not UTF-8"))?;
    if yaml {
        serde_norway::from_str(text).map_err(|e| IdpError::invalid(format!("the YAML body: {e}")))
    } else {
        serde_json::from_str(text).map_err(|e| IdpError::invalid(format!("the JSON body: {e}")))
    }
}

// ---- tenant ------------------------------------------------------------------------------

async fn get_tenant(State(idp): Shared, headers: HeaderMap) -> ApiResult {
    read(&idp, &headers).await?;
    ok(idp.tenant())
}

async fn put_tenant(State(idp): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let desired: Tenant = parse_body(&headers, &body)?;
    let summary =
        change(&idp, &actor, "tenant.apply", "tenant", |t| t.apply(desired.clone(), || idp.new_user_id())).await?;
    ok(json!({
        "users": triple(summary.users), "groups": triple(summary.groups),
        "apps": triple(summary.apps), "assignments": triple(summary.assignments),
    }))
}

fn triple((created, updated, removed): (usize, usize, usize)) -> Value {
    json!({ "created": created, "updated": updated, "removed": removed })
}

// ---- users -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    login: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    status: Option<UserStatus>,
    #[serde(default)]
    profile: std::collections::BTreeMap<String, ProfileValue>,
    #[serde(default)]
    admin: bool,
    /// Set at creation; never returned.
    #[serde(default)]
    password: Option<String>,
}

async fn list_users(State(idp): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    read(&idp, &headers).await?;
    let search = q.get("q").map(|s| s.to_lowercase());
    let users: Vec<User> = idp.with_tenant(|t| {
        t.users
            .iter()
            .filter(|u| {
                search.as_ref().is_none_or(|s| {
                    [&u.login, &u.email, &u.first_name, &u.last_name].iter().any(|f| f.to_lowercase().contains(s))
                })
            })
            .cloned()
            .collect()
    });
    ok(users)
}

async fn create_user(State(idp): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let new: NewUser = parse_body(&headers, &body)?;
    let password = new.password;
    let user = User {
        id: String::new(),
        login: new.login,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        status: new.status.unwrap_or(if password.is_some() { UserStatus::Active } else { UserStatus::Staged }),
        profile: new.profile,
        admin: new.admin,
    };
    let login = user.login.clone();
    let result = idp.create_person(user, password.as_deref()).await;
    let detail = match &result {
        Ok(_) => json!({}),
        Err(e) => json!({ "reason": e.message }),
    };
    idp.log(&format!("api:{actor}"), "user.create", &login, "", result.is_ok(), detail).await;
    created(result?)
}

async fn get_user(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>) -> ApiResult {
    read(&idp, &headers).await?;
    let user = idp.with_tenant(|t| t.user(&login).cloned());
    let user = user.ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))?;
    let (has_password, has_totp) =
        idp.with_credentials(|c| (c.get(&login).is_some_and(|x| x.password_hash.is_some()), c.has_totp(&login)));
    let mut value = serde_json::to_value(&user).map_err(|e| IdpError::internal(e.to_string()))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("password_set".into(), json!(has_password));
        object.insert("totp_enrolled".into(), json!(has_totp));
        let groups: Vec<String> =
            idp.with_tenant(|t| t.groups_of(&login).into_iter().map(|(n, _)| n.to_owned()).collect());
        object.insert("groups".into(), json!(groups));
    }
    ok(value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdate {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// Replaces the named custom attributes; `null` removes one.
    #[serde(default)]
    profile: std::collections::BTreeMap<String, Option<ProfileValue>>,
    admin: Option<bool>,
}

async fn update_user(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let update: UserUpdate = parse_body(&headers, &body)?;
    let user = change(&idp, &actor, "user.update", &login, |t| {
        let user = t.user_mut(&login)?;
        if let Some(v) = &update.email {
            user.email = v.clone();
        }
        if let Some(v) = &update.first_name {
            user.first_name = v.clone();
        }
        if let Some(v) = &update.last_name {
            user.last_name = v.clone();
        }
        if let Some(v) = update.admin {
            user.admin = v;
        }
        for (name, value) in &update.profile {
            match value {
                Some(value) => user.profile.insert(name.clone(), value.clone()),
                None => user.profile.remove(name),
            };
        }
        Ok(user.clone())
    })
    .await?;
    ok(user)
}

async fn delete_user(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    change(&idp, &actor, "user.delete", &login, |t| t.remove_user(&login).map(|_| ())).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn lifecycle(State(idp): Shared, headers: HeaderMap, Path((login, action)): Path<(String, String)>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let status = match action.as_str() {
        "activate" | "unsuspend" | "reactivate" => UserStatus::Active,
        "suspend" => UserStatus::Suspended,
        "deactivate" => UserStatus::Deactivated,
        other => {
            return Err(IdpError::invalid(format!(
                "unknown lifecycle action {other:?}: use activate, suspend, unsuspend or deactivate"
            )));
        }
    };
    // Open sessions of a suspended or deactivated person stop working at once: every page
    // checks the status.
    change(&idp, &actor, &format!("user.lifecycle.{action}"), &login, |t| t.set_status(&login, status)).await?;
    ok(json!({ "login": login, "status": status.name() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

/// The login as the directory spells it (requests may use any case); 404 when nobody has it.
fn stored_login(idp: &Idp, login: &str) -> Result<String, IdpError> {
    idp.with_tenant(|t| t.user(login).map(|u| u.login.clone()))
        .ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))
}

async fn set_password(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let PasswordBody { password } = parse_body(&headers, &body)?;
    let login = stored_login(&idp, &login)?;
    let result = idp.change_credentials(|c| c.set_password(&login, &password, idp.rng.as_ref())).await?;
    idp.log(&format!("api:{actor}"), "user.password.set", &login, "", result.is_ok(), json!({})).await;
    result?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn enroll_mfa(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let login = stored_login(&idp, &login)?;
    let url = idp.change_credentials(|c| c.enroll_totp(&login, idp.rng.as_ref())).await??;
    idp.log(&format!("api:{actor}"), "user.mfa.enroll", &login, "", true, json!({})).await;
    ok(json!({ "otpauth_url": url }))
}

async fn reset_mfa(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let login = stored_login(&idp, &login)?;
    idp.change_credentials(|c| c.reset_totp(&login)).await?;
    idp.log(&format!("api:{actor}"), "user.mfa.reset", &login, "", true, json!({})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Signs the person out everywhere: browsers, CLI sessions and known-device entries.
async fn end_sessions(State(idp): Shared, headers: HeaderMap, Path(login): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let login = stored_login(&idp, &login)?;
    idp.change_credentials(|c| c.end_sessions(&login)).await?;
    idp.log(&format!("api:{actor}"), "user.session.revoke_all", &login, "", true, json!({})).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- groups ------------------------------------------------------------------------------

async fn list_groups(State(idp): Shared, headers: HeaderMap) -> ApiResult {
    read(&idp, &headers).await?;
    ok(idp.with_tenant(|t| t.groups.clone()))
}

async fn create_group(State(idp): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let group: Group = parse_body(&headers, &body)?;
    let name = group.name.clone();
    let stored = group.clone();
    change(&idp, &actor, "group.create", &name, |t| {
        if t.group(&stored.name).is_some() {
            return Err(IdpError::conflict(format!("group {:?} exists already", stored.name)));
        }
        t.groups.push(stored.clone());
        Ok(())
    })
    .await?;
    created(group)
}

async fn get_group(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    read(&idp, &headers).await?;
    let group = idp.with_tenant(|t| t.group(&name).cloned());
    ok(group.ok_or_else(|| IdpError::not_found(format!("there is no group {name:?}")))?)
}

async fn delete_group(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    change(&idp, &actor, "group.delete", &name, |t| t.remove_group(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_member(State(idp): Shared, headers: HeaderMap, Path((name, login)): Path<(String, String)>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    change(&idp, &actor, "group.member.add", &name, |t| {
        let login = t
            .user(&login)
            .map(|u| u.login.clone())
            .ok_or_else(|| IdpError::not_found(format!("there is no user {login:?}")))?;
        let group = t.group_mut(&name)?;
        if !group.has_member(&login) {
            group.members.push(login);
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_member(
    State(idp): Shared,
    headers: HeaderMap,
    Path((name, login)): Path<(String, String)>,
) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    change(&idp, &actor, "group.member.remove", &name, |t| {
        t.group_mut(&name)?.members.retain(|m| !m.eq_ignore_ascii_case(&login));
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- apps and assignments ------------------------------------------------------------------

async fn list_apps(State(idp): Shared, headers: HeaderMap) -> ApiResult {
    read(&idp, &headers).await?;
    ok(idp.with_tenant(|t| t.apps.clone()))
}

async fn get_app(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    read(&idp, &headers).await?;
    let app = idp.with_tenant(|t| t.app(&name).cloned());
    ok(app.ok_or_else(|| IdpError::not_found(format!("there is no app {name:?}")))?)
}

/// Creates or replaces an app. Expressions, patterns, ARNs and URLs are checked here, so a
/// mistake is a 400 naming the field and column, never a failed sign-in later.
async fn put_app(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let app: App = parse_body(&headers, &body)?;
    if app.name != name {
        return Err(IdpError::invalid(format!("the body names app {:?} but the URL names {name:?}", app.name)));
    }
    let existed = idp.with_tenant(|t| t.app(&name).is_some());
    change(&idp, &actor, "app.put", &name, |t| t.put_app(app.clone())).await?;
    let stored = idp.with_tenant(|t| t.app(&name).cloned());
    if existed { ok(stored) } else { created(stored) }
}

async fn delete_app(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    change(&idp, &actor, "app.delete", &name, |t| t.remove_app(&name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn test_integration(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    idp.refresh().await?;
    let text = idp.test_api_credentials(&format!("api:{actor}"), &name).await?;
    ok(json!({ "ok": true, "message": text }))
}

async fn import_roles(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    idp.refresh().await?;
    let roles = idp.import_roles(&format!("api:{actor}"), &name).await?;
    ok(json!({ "roles": roles }))
}

async fn list_assignments(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    read(&idp, &headers).await?;
    let app = q.get("app");
    ok(idp
        .with_tenant(|t| t.assignments.iter().filter(|a| app.is_none_or(|n| *n == a.app)).cloned().collect::<Vec<_>>()))
}

async fn put_assignment(State(idp): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let assignment: Assignment = parse_body(&headers, &body)?;
    let target = format!("{} → {}", assignment.app, assignment.principal.describe());
    let stored = assignment.clone();
    change(&idp, &actor, "assignment.put", &target, |t| t.assign(stored.clone())).await?;
    ok(assignment)
}

async fn delete_assignment(
    State(idp): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let actor = caller(&idp, &headers).await?;
    let app =
        q.get("app").cloned().ok_or_else(|| IdpError::invalid("name the app: ?app=NAME&user=LOGIN or &group=NAME"))?;
    let principal = match (q.get("user"), q.get("group")) {
        (Some(user), None) => Principal::User(user.clone()),
        (None, Some(group)) => Principal::Group(group.clone()),
        _ => return Err(IdpError::invalid("name exactly one of user= or group=")),
    };
    let target = format!("{app} → {}", principal.describe());
    change(&idp, &actor, "assignment.delete", &target, |t| {
        let before = t.assignments.len();
        t.assignments.retain(|a| !(a.app == app && a.principal.same(&principal)));
        if before == t.assignments.len() {
            return Err(IdpError::not_found(format!("app {app:?} is not assigned to {}", principal.describe())));
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- system log --------------------------------------------------------------------------

async fn logs(State(idp): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    caller(&idp, &headers).await?;
    let time = |key: &str| -> Result<Option<i64>, IdpError> {
        q.get(key)
            .map(|t| idfed_saml::Instant::parse(t).map(|i| i.unix_millis()))
            .transpose()
            .map_err(|e| IdpError::invalid(format!("{key}: {e}")))
    };
    let filter = idfed_store::EventFilter {
        actor: q.get("actor").cloned(),
        app: q.get("app").cloned(),
        event: q.get("event").cloned(),
        since: time("since")?,
        until: time("until")?,
        limit: q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100),
    };
    let events: Vec<Value> = idp
        .events(&filter)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "seq": e.seq, "at": idfed_saml::Instant::from_unix_millis(e.at).to_xml(), "actor": e.actor,
                "event": e.event, "target": e.target, "app": e.app, "outcome": e.outcome,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or_default(),
            })
        })
        .collect();
    ok(events)
}
