//! The admin console: server-rendered pages for administrators (people with the `admin` flag)
//! to do in a browser what `idfed apply`, the CLI and `/api/v1` do. Every page checks the
//! signed-in person is an administrator; every form carries the CSRF token; every change goes
//! through the tenant's all-or-nothing validation and is written to the system log under the
//! administrator's login. Pages work without JavaScript; `static/admin.js` only adds live
//! checking of expressions.

mod access;
mod apps;
mod directory;
mod fields;
mod log;
mod security;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::{ErrorKind, IdpError};
use crate::service::Idp;
use crate::web;

pub(crate) use fields::Fields;

type Shared = axum::extract::State<Arc<Idp>>;

pub fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/admin", get(|| async { web::redirect("/admin/people") }))
        .route("/admin/people", get(directory::people).post(directory::create_person))
        .route("/admin/people/new", get(directory::new_person))
        .route("/admin/people/{login}", get(directory::person).post(directory::update_person))
        .route("/admin/people/{login}/{action}", post(directory::person_action))
        .route("/admin/groups", get(directory::groups).post(directory::create_group))
        .route("/admin/groups/{name}", get(directory::group).post(directory::group_action))
        .route("/admin/profile", get(directory::profile).post(directory::profile_action))
        .route("/admin/apps", get(apps::catalogue).post(apps::create))
        .route("/admin/apps/new", get(apps::new_app))
        .route("/admin/apps/{name}", get(apps::general).post(apps::save_general))
        .route("/admin/apps/{name}/sign-on", get(apps::sign_on).post(apps::save_sign_on))
        .route("/admin/apps/{name}/provisioning", get(access::provisioning).post(access::save_provisioning))
        .route("/admin/apps/{name}/assignments", get(access::assignments).post(access::change_assignments))
        .route("/admin/apps/{name}/check-expression", post(apps::check_expression))
        .route("/admin/security", get(security::show).post(security::action))
        .route("/admin/log", get(log::show))
        .with_state(idp)
}

/// The administrator behind a request, and the browser's CSRF token.
pub(crate) struct Admin {
    pub login: String,
    pub csrf: String,
    fresh_csrf: bool,
}

/// The signed-in administrator, or the response to send instead: the sign-in page (coming
/// back to `here`) or a refusal for people who are not administrators.
async fn admin(idp: &Idp, headers: &HeaderMap, here: &str) -> Result<Admin, Response> {
    let login = match web::signed_in(idp, headers).await {
        Ok(Some(login)) => login,
        Ok(None) => return Err(web::login_redirect(here)),
        Err(e) => return Err(web::failure(&e)),
    };
    if !idp.with_tenant(|t| t.user(&login).is_some_and(|u| u.admin)) {
        return Err(web::message(
            StatusCode::FORBIDDEN,
            "Administrators only",
            "The admin console is for administrators. Ask one to give you the administrator role.",
        ));
    }
    let (csrf, fresh_csrf) = web::csrf_token(idp, headers).map_err(|e| web::failure(&e))?;
    Ok(Admin { login, csrf, fresh_csrf })
}

/// As [`admin`], for a form: the CSRF token must match first.
async fn admin_form(idp: &Idp, headers: &HeaderMap, form: &Fields, here: &str) -> Result<Admin, Response> {
    if !web::csrf_ok(idp, headers, &form.first_values()) {
        return Err(web::csrf_refused());
    }
    admin(idp, headers, here).await
}

/// The frame every admin page shares: navigation, the CSRF token, and one line of news.
pub(crate) struct Chrome {
    pub csrf: String,
    pub who: String,
    pub section: &'static str,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Chrome {
    fn new(admin: &Admin, section: &'static str) -> Chrome {
        Chrome { csrf: admin.csrf.clone(), who: admin.login.clone(), section, notice: None, error: None }
    }

    fn with(mut self, outcome: Outcome) -> Chrome {
        match outcome {
            Outcome::None => {}
            Outcome::Notice(text) => self.notice = Some(text),
            Outcome::Error(text) | Outcome::Failed(text, _) => self.error = Some(text),
        }
        self
    }
}

/// What the last action did, shown at the top of the page it returns to.
pub(crate) enum Outcome {
    None,
    Notice(String),
    Error(String),
    /// Not the administrator's doing (storage away, a bug): the HTTP status says which.
    Failed(String, u16),
}

impl Outcome {
    fn status(&self) -> StatusCode {
        match self {
            Outcome::Error(_) => StatusCode::BAD_REQUEST,
            Outcome::Failed(_, status) => StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            _ => StatusCode::OK,
        }
    }

    /// The notice carried across a redirect (`?done=code`): only texts this module wrote.
    fn from_query(query: &std::collections::HashMap<String, String>) -> Outcome {
        let text = match query.get("done").map(String::as_str) {
            Some("created") => "Created.",
            Some("saved") => "Saved.",
            Some("deleted") => "Deleted.",
            Some("password") => "Password set. Their open sessions have ended.",
            Some("mfa-reset") => "Two-step verification reset. They sign in with the password and can enroll again.",
            Some("status") => "Status changed.",
            Some("added") => "Added.",
            Some("removed") => "Removed.",
            Some("assigned") => "Assigned.",
            Some("unassigned") => "Assignment removed.",
            Some("keys") => "Signing keys changed.",
            Some("session-ended") => "Session ended.",
            Some("signed-out") => "Signed out everywhere: their browsers, CLI sessions and remembered devices.",
            _ => return Outcome::None,
        };
        Outcome::Notice(text.to_owned())
    }
}

const ADMIN_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
                         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(admin: &Admin, idp: &Idp, status: StatusCode, template: &impl Template) -> Response {
    let response = match template.render() {
        Ok(body) => web::with_security_headers(web::html(status, body), ADMIN_CSP),
        Err(e) => return web::failure(&IdpError::internal(format!("template error: {e}"))),
    };
    web::with_csrf_cookie(response, idp, &admin.csrf, admin.fresh_csrf)
}

/// Writes an administrator's change to the system log, with the reason when it was refused.
async fn logged<T>(idp: &Idp, admin: &Admin, event: &str, target: &str, app: &str, result: &Result<T, IdpError>) {
    let detail = match result {
        Ok(_) => serde_json::json!({ "via": "admin console" }),
        Err(e) => serde_json::json!({ "via": "admin console", "reason": e.message }),
    };
    idp.log(&admin.login, event, target, app, result.is_ok(), detail).await;
}

/// Changes the tenant as `admin`, logged.
async fn change<T>(
    idp: &Idp,
    admin: &Admin,
    event: &str,
    target: &str,
    app: &str,
    change: impl FnMut(&mut crate::tenant::Tenant) -> Result<T, IdpError>,
) -> Result<T, IdpError> {
    let result = idp.change_tenant(change).await;
    logged(idp, admin, event, target, app, &result).await;
    result
}

/// After a change: back to `to` with its notice, or the error shown on `to`'s page.
fn done(to: &str, code: &str) -> Response {
    let joiner = if to.contains('?') { '&' } else { '?' };
    web::redirect(&format!("{to}{joiner}done={code}"))
}

/// An error shown on the page it happened on, with its status (400 for bad input, 503 when
/// the database is away, 500 otherwise).
fn shown(error: IdpError) -> Outcome {
    match error.kind {
        ErrorKind::Unavailable | ErrorKind::Internal => {
            let status = error.http_status();
            Outcome::Failed(error.message, status)
        }
        _ => Outcome::Error(error.message),
    }
}

/// `text` as one path segment: `/` encoded, and `.` / `..` (which browsers resolve) too.
fn path_segment(text: &str) -> String {
    match text {
        "." => "%2E".to_owned(),
        ".." => "%2E%2E".to_owned(),
        _ => web::percent_encode(text).replace('/', "%2F"),
    }
}

/// A time for people to read: `2026-12-02 10:00:00 UTC`.
fn when(unix_millis: i64) -> String {
    let text = idfed_saml::Instant::from_unix_millis(unix_millis).to_xml();
    let text = text.split('.').next().unwrap_or(&text).trim_end_matches('Z').replacen('T', " ", 1);
    format!("{text} UTC")
}
