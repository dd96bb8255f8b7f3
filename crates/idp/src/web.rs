//! The IdP over HTTP: sign-in (password, TOTP), the dashboard of app tiles, IdP-initiated
//! launch (auto-POST of the signed response), metadata and sign-out.

mod sp;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idfed_saml::bindings::{AUTO_SUBMIT_SCRIPT, Param, post_form};
use idfed_saml::metadata::{IdpMetadata, idp_metadata_xml};
use idfed_saml::ns;

use crate::apps::AppKind;
use crate::credentials::{GENERIC_FAILURE, Refusal};
use crate::directory::UserStatus;
use crate::error::{ErrorKind, IdpError};
use crate::service::{Attempt, Idp, Session};
use crate::sso::Request;

/// The address a request came from (the peer, or the client a trusted proxy names), set by the
/// request middleware for the handlers (sign-in back-off).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

/// The page (429) for an address that failed to sign in too often, and its log line.
/// Refused attempts are counted in the metrics, not written to the system log one by one (the
/// failures that started the back-off are there already, and a flood must not grow it).
pub(crate) async fn backed_off(idp: &Idp, _source: std::net::IpAddr, wait: i64) -> Response {
    idp.metrics.sign_in("backed_off");
    let minutes = (wait + 59) / 60;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    try_later(&format!("Too many failed sign-ins from your network. Try again in {minutes} {unit}."), wait)
}

/// 429 with Retry-After: `wait` seconds.
fn try_later(text: &str, wait: i64) -> Response {
    let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Try again later", text);
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The session cookie's name as this IdP sets and reads it. Over HTTPS both cookies carry the
/// `__Host-` prefix: browsers then take them only from this exact origin over a secure connection
/// (Secure, Path=/, no Domain), so a sibling subdomain or a plain-HTTP response cannot plant a
/// session or a CSRF token.
pub(crate) fn session_cookie(idp: &Idp) -> &'static str {
    if idp.secure_cookies { "__Host-idfed_session" } else { "idfed_session" }
}

/// The CSRF cookie's name as this IdP sets and reads it.
pub(crate) fn csrf_cookie(idp: &Idp) -> &'static str {
    if idp.secure_cookies { "__Host-idfed_csrf" } else { "idfed_csrf" }
}

/// The known-device cookie's name (see [`crate::devices`]).
pub(crate) fn device_cookie(idp: &Idp) -> &'static str {
    if idp.secure_cookies { "__Host-idfed_device" } else { "idfed_device" }
}

/// The per-source back-off for one sign-in attempt for `login`, with this browser's device
/// cookie ([`Idp::admit_attempt`]): the attempt to go on with, or the page refusing it.
async fn pass_back_off(
    idp: &Idp,
    headers: &HeaderMap,
    source: std::net::IpAddr,
    login: &str,
) -> Result<Attempt, Response> {
    match idp.admit_attempt(source, cookie(headers, device_cookie(idp)), login).await {
        Ok(Ok(attempt)) => Ok(attempt),
        Ok(Err(wait)) => Err(backed_off(idp, source, wait).await),
        Err(e) => Err(failure(&e)),
    }
}

/// After a completed sign-in: the browser's device cookie names `login` too. A failure here
/// costs only the exemption, never the sign-in.
fn remember_device(response: &mut Response, idp: &Idp, headers: &HeaderMap, login: &str) {
    match idp.device_cookie_after_sign_in(cookie(headers, device_cookie(idp)), login) {
        Ok(entries) => {
            let age = crate::devices::DEVICE_DAYS * 86_400;
            set_cookie(response, idp, device_cookie(idp), &entries, "Strict", Some(age));
        }
        Err(e) => eprintln!("idfed: remembering the device of {login} failed: {e}"),
    }
}

type Shared = State<Arc<Idp>>;

pub fn router(idp: Arc<Idp>) -> Router {
    Router::new()
        .route("/", get(|| async { redirect("/app") }))
        .route("/healthz", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/mfa", get(mfa_page).post(mfa_submit))
        .route("/login/mfa/enroll", get(mfa_enroll_page).post(mfa_enroll_submit))
        .route("/logout", post(logout))
        .route("/app", get(dashboard))
        .route("/app/{name}/sso", get(launch))
        .route("/app/{name}/metadata", get(metadata))
        .route("/app/{name}/saml", get(sp::sp_redirect).post(sp::sp_post))
        .route("/app/{name}/saml/continue", get(sp::sp_continue))
        .route("/app/{name}/slo", get(sp::sp_logout).post(sp::sp_logout_confirmed))
        .route("/account/mfa", get(mfa_setup_page).post(mfa_setup_submit))
        .route("/static/idfed.css", get(stylesheet))
        .route("/static/admin.js", get(admin_script))
        .fallback(|| async { message(StatusCode::NOT_FOUND, "Not found", "There is no page at this address.") })
        .with_state(idp.clone())
        .merge(crate::api::router(idp.clone()))
        .merge(crate::client_api::router(idp.clone()))
        .merge(crate::admin::router(idp.clone()))
        .layer(axum::middleware::from_fn_with_state(idp, count_request))
}

// ---- pages -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    error: Option<&'a str>,
}

struct Tile {
    name: String,
    label: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    csrf: &'a str,
    display_name: &'a str,
    tiles: Vec<Tile>,
    mfa_enrolled: bool,
    admin: bool,
}

#[derive(Template)]
#[template(path = "account_mfa.html")]
struct MfaSetupPage<'a> {
    csrf: &'a str,
    /// Where the code is posted: self-service (`/account/mfa`) or enrollment the policy requires at sign-in.
    action: &'a str,
    return_to: &'a str,
    enrolled: bool,
    secret: &'a str,
    otpauth_url: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirmPage<'a> {
    csrf: &'a str,
    app_name: &'a str,
    app_label: &'a str,
    /// The SP's request as it came (the query string), posted back with the answer.
    request: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn with_security_headers(mut response: Response, csp: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    with_security_headers(response, PAGE_CSP)
}

pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template error: {e}")).into_response(),
    }
}

pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &MessagePage { title, message: text })
}

pub(crate) fn failure(error: &IdpError) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match error.kind {
        ErrorKind::Forbidden => "Not allowed",
        ErrorKind::NotFound => "Not found",
        ErrorKind::Unavailable => "Temporarily unavailable",
        ErrorKind::Internal => "Something went wrong",
        _ => "Cannot continue",
    };
    message(status, title, &error.message)
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The method as counted and logged: a standard one by name, any other token (a client may send
/// any, each would be a new counter kept for good) as `OTHER`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ]
    .iter()
    .find(|known| *known == method)
    .map_or("OTHER", |known| known.as_str())
}

/// Every request: a request ID (the caller's X-Request-Id when it is a plain token, else a
/// new one) echoed in the response, one log line (method, route pattern, status, time; never
/// query strings, bodies or cookies), the request counter, and HSTS when served over https.
async fn count_request(State(idp): Shared, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::to_owned);
    let request_id = match given {
        Some(id) => id,
        None => idp.token().map(|t| t.chars().take(16).collect()).unwrap_or_else(|_| "-".into()),
    };
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let forwarded: Vec<&str> =
        request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let forwarded = forwarded.join(",");
    let client = idp.trusted_proxies.client(peer, Some(forwarded.as_str()).filter(|f| !f.is_empty()));
    let mut request = request;
    request.extensions_mut().insert(ClientIp(client));
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    idp.metrics.request(method, &route, status);
    tracing::info!(request_id = %request_id, client = %client, method = %method, route = %route, status, millis = started.elapsed().as_millis() as u64, "request");
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if idp.secure_cookies {
        // Served over https: browsers that saw this never try plain http again, so a typed
        // http:// address cannot be intercepted on its way to the password form.
        response.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

const HSTS: &str = "max-age=31536000; includeSubDomains";

async fn metrics(State(idp): Shared, headers: HeaderMap) -> Response {
    if let Some(expected) = &idp.metrics_token {
        let given = bearer(&headers).unwrap_or_default();
        if aws_lc_rs::constant_time::verify_slices_are_equal(given.trim().as_bytes(), expected.as_bytes()).is_err() {
            let mut refused =
                (StatusCode::UNAUTHORIZED, "send Authorization: Bearer <metrics token>\n").into_response();
            refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return refused;
        }
    }
    let body = idp.metrics.render(idp.pool_use());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Ready when the database answers and a key is loaded; 503 with the reason otherwise.
async fn readyz(State(idp): Shared) -> Response {
    let check = tokio::time::timeout(std::time::Duration::from_secs(2), idp.ready()).await;
    let (status, body) = match check {
        Ok(Ok(())) => (StatusCode::OK, serde_json::json!({ "ready": true })),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "ready": false, "reason": e.message })),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "ready": false, "reason": "the database did not answer within 2 seconds" }),
        ),
    };
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body.to_string())
        .into_response()
}

async fn stylesheet() -> Response {
    let css = include_str!("../static/idfed.css");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], css).into_response()
}

async fn admin_script() -> Response {
    let js = include_str!("../static/admin.js");
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], js)
        .into_response()
}

// ---- cookies and CSRF --------------------------------------------------------------------

/// The token of an `Authorization: Bearer <token>` header, as sent.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(crate) fn set_cookie(
    response: &mut Response,
    idp: &Idp,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
) {
    let secure = if idp.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{secure}{age}");
    if let Ok(value) = HeaderValue::from_str(&text) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The CSRF token of this browser, and whether it must be set: `<nonce>.<mac>`, kept in a cookie
/// and repeated in each form (double submit). The mac is an HMAC-SHA256 of the nonce keyed by
/// the browser's session cookie (empty before sign-in), so the token is bound to the session:
/// a pair planted by another site or a sibling host, or one from before a sign-in, is refused
/// (OWASP's signed double submit), and each sign-in gets a new one ([`set_session_cookies`]).
pub(crate) fn csrf_token(idp: &Idp, headers: &HeaderMap) -> Result<(String, bool), IdpError> {
    let session = cookie(headers, session_cookie(idp)).unwrap_or_default();
    match cookie(headers, csrf_cookie(idp)) {
        Some(token) if csrf_bound(session, token) => Ok((token.to_owned(), false)),
        _ => Ok((csrf_for(session, &idp.token()?), true)),
    }
}

fn csrf_for(session: &str, nonce: &str) -> String {
    use base64::Engine;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, session.as_bytes());
    let mac = aws_lc_rs::hmac::sign(&key, nonce.as_bytes());
    format!("{nonce}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.as_ref()))
}

fn csrf_bound(session: &str, token: &str) -> bool {
    token.split_once('.').is_some_and(|(nonce, _)| {
        nonce.len() == 43
            && aws_lc_rs::constant_time::verify_slices_are_equal(csrf_for(session, nonce).as_bytes(), token.as_bytes())
                .is_ok()
    })
}

pub(crate) fn with_csrf_cookie(mut response: Response, idp: &Idp, token: &str, fresh: bool) -> Response {
    if fresh {
        set_cookie(&mut response, idp, csrf_cookie(idp), token, "Strict", None);
    }
    response
}

/// A new session: its cookie, and a CSRF token bound to it.
fn set_session_cookies(response: &mut Response, idp: &Idp, session: &str) -> Result<(), IdpError> {
    set_cookie(response, idp, session_cookie(idp), session, "Lax", None);
    set_cookie(response, idp, csrf_cookie(idp), &csrf_for(session, &idp.token()?), "Strict", None);
    Ok(())
}

/// Whether a form's token is this browser's CSRF cookie, and that cookie is bound to the
/// browser's session.
pub(crate) fn csrf_ok(idp: &Idp, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let session = cookie(headers, session_cookie(idp)).unwrap_or_default();
    match (cookie(headers, csrf_cookie(idp)), form.get("csrf")) {
        (Some(cookie), Some(field)) => {
            csrf_bound(session, cookie)
                && aws_lc_rs::constant_time::verify_slices_are_equal(cookie.as_bytes(), field.as_bytes()).is_ok()
        }
        _ => false,
    }
}

pub(crate) fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form has expired or did not come from this site. Reload the page and try again.",
    )
}

/// Only local paths are followed after sign-in, never another site: printable ASCII without
/// spaces or backslashes (browsers drop tabs and newlines, turning `/\t/evil` into `//evil`).
pub(crate) fn safe_return(target: Option<&String>) -> String {
    match target {
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && t.len() <= 1024
                && t.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            t.clone()
        }
        _ => "/app".to_owned(),
    }
}

/// Who a pending TOTP secret belongs to: the hash of this browser's session token.
fn session_owner(idp: &Idp, headers: &HeaderMap) -> String {
    crate::credentials::token_hash(cookie(headers, session_cookie(idp)).unwrap_or_default())
}

pub(crate) async fn current_session(idp: &Idp, headers: &HeaderMap) -> Result<Option<(String, Session)>, IdpError> {
    let Some(token) = cookie(headers, session_cookie(idp)) else { return Ok(None) };
    Ok(idp.session(token).await?.map(|s| (token.to_owned(), s)))
}

/// The signed-in person, if the session is complete and they are still active.
pub(crate) async fn signed_in(idp: &Idp, headers: &HeaderMap) -> Result<Option<String>, IdpError> {
    Ok(signed_in_session(idp, headers).await?.map(|session| session.login))
}

/// As [`signed_in`], with the session (when and how the person signed in).
pub(crate) async fn signed_in_session(idp: &Idp, headers: &HeaderMap) -> Result<Option<Session>, IdpError> {
    // The session read refreshes the cached documents too.
    let Some((_, session)) = current_session(idp, headers).await? else { return Ok(None) };
    let allowed = idp.with_tenant(|t| {
        t.user(&session.login).is_some_and(|u| u.status == UserStatus::Active) && session.satisfies(t)
    });
    Ok(allowed.then_some(session))
}

pub(crate) fn login_redirect(return_to: &str) -> Response {
    redirect(&format!("/login?return_to={}", percent_encode(return_to)))
}

/// A path or query value percent-encoded as the IdP writes it into its own URLs.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- sign-in -----------------------------------------------------------------------------

async fn login_page(State(idp): Shared, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let (csrf, fresh) = match csrf_token(&idp, &headers) {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let return_to = safe_return(query.get("return_to"));
    let page = LoginPage { csrf: &csrf, return_to: &return_to, username: "", error: None };
    with_csrf_cookie(render(StatusCode::OK, &page), &idp, &csrf, fresh)
}

async fn login_submit(
    State(idp): Shared,
    Extension(ClientIp(source)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    if let Err(e) = idp.refresh().await {
        return failure(&e);
    }
    let csrf = cookie(&headers, csrf_cookie(&idp)).unwrap_or_default().to_owned();
    let username = form.get("username").map(|s| s.trim().to_owned()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let return_to = safe_return(form.get("return_to"));
    let known =
        idp.with_tenant(|t| t.user(&username).filter(|u| u.status == UserStatus::Active).map(|u| u.login.clone()));
    let attempt = match pass_back_off(&idp, &headers, source, known.as_deref().unwrap_or_default()).await {
        Ok(attempt) => attempt,
        Err(refused) => return refused,
    };
    let now = idp.now();
    let login = known.clone().unwrap_or_else(|| username.clone());
    let checked =
        idp.change_credentials(|c| c.check_password(&login, &password, known.is_some(), attempt.origin(), now)).await;
    let refusal = match checked {
        Err(e) => return failure(&e),
        Ok(Ok(())) => None,
        Ok(Err(refusal)) => Some(refusal),
    };
    if let Some(refusal) = refusal {
        let reason = match refusal {
            Refusal::Locked { .. } => "locked",
            Refusal::BadCredentials => "bad credentials",
            Refusal::NoPassword => "no password set",
        };
        idp.metrics.sign_in(if reason == "locked" { "locked" } else { "failure" });
        // Unknown names are not logged as typed: people paste passwords into the wrong field.
        let actor = known.as_deref().unwrap_or("unknown");
        idp.log(actor, "user.session.start", actor, "", false, serde_json::json!({ "reason": reason })).await;
        let page = LoginPage { csrf: &csrf, return_to: &return_to, username: &username, error: Some(GENERIC_FAILURE) };
        return render(StatusCode::UNAUTHORIZED, &page);
    }
    if let Err(e) = idp.attempt_succeeded(attempt).await {
        return failure(&e);
    }
    let enrolled = idp.with_credentials(|c| c.has_totp(&login));
    let must_enroll = !enrolled && idp.with_tenant(|t| t.requires_mfa(&login));
    let needs_totp = enrolled || must_enroll;
    // A new session ID at every sign-in: a token planted before sign-in is never promoted.
    if let Some(old) = cookie(&headers, session_cookie(&idp)) {
        let _ = idp.end_session(old).await;
    }
    let token = match idp.start_session(&login, !needs_totp, false).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    idp.log(&login, "user.session.start", &login, "", true, serde_json::json!({ "second_factor_due": needs_totp }))
        .await;
    idp.metrics.sign_in(if needs_totp { "password_ok_mfa_due" } else { "success" });
    let next = match (enrolled, must_enroll) {
        (true, _) => format!("/login/mfa?return_to={}", percent_encode(&return_to)),
        (false, true) => format!("/login/mfa/enroll?return_to={}", percent_encode(&return_to)),
        (false, false) => return_to,
    };
    let mut response = redirect(&next);
    if let Err(e) = set_session_cookies(&mut response, &idp, &token) {
        return failure(&e);
    }
    if !needs_totp {
        remember_device(&mut response, &idp, &headers, &login);
    }
    response
}

async fn mfa_page(State(idp): Shared, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let return_to = safe_return(query.get("return_to"));
    match current_session(&idp, &headers).await {
        Ok(Some((_, session))) if !session.complete => {}
        Ok(_) => return login_redirect(&return_to),
        Err(e) => return failure(&e),
    }
    let (csrf, fresh) = match csrf_token(&idp, &headers) {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    with_csrf_cookie(
        render(StatusCode::OK, &MfaPage { csrf: &csrf, return_to: &return_to, error: None }),
        &idp,
        &csrf,
        fresh,
    )
}

async fn mfa_submit(
    State(idp): Shared,
    Extension(ClientIp(source)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    let return_to = safe_return(form.get("return_to"));
    let (token, session) = match current_session(&idp, &headers).await {
        Ok(Some((token, session))) if !session.complete => (token, session),
        Ok(_) => return login_redirect(&return_to),
        Err(e) => return failure(&e),
    };
    let attempt = match pass_back_off(&idp, &headers, source, &session.login).await {
        Ok(attempt) => attempt,
        Err(refused) => return refused,
    };
    let code = form.get("code").cloned().unwrap_or_default();
    let now = idp.now();
    let checked = idp.change_credentials(|c| c.check_totp(&session.login, &code, attempt.origin(), now)).await;
    match checked {
        Err(e) => failure(&e),
        Ok(Err(refusal)) => {
            let locked = matches!(refusal, Refusal::Locked { .. });
            let detail = serde_json::json!({ "reason": if locked { "locked" } else { "wrong code" } });
            idp.log(&session.login, "user.mfa.verify", &session.login, "", false, detail).await;
            let csrf = cookie(&headers, csrf_cookie(&idp)).unwrap_or_default().to_owned();
            let text = match refusal {
                Refusal::Locked { .. } => LOCKED,
                _ => "That code is not valid. Enter the current code from your authenticator app.",
            };
            render(StatusCode::UNAUTHORIZED, &MfaPage { csrf: &csrf, return_to: &return_to, error: Some(text) })
        }
        Ok(Ok(())) => {
            if let Err(e) = idp.attempt_succeeded(attempt).await {
                return failure(&e);
            }
            idp.log(&session.login, "user.mfa.verify", &session.login, "", true, serde_json::json!({})).await;
            idp.metrics.sign_in("success");
            complete_sign_in(&idp, &headers, &token, &session.login, &return_to).await
        }
    }
}

/// The second factor is proven: the half-open session is replaced by a complete one under a
/// new ID, the browser is remembered as a known device, and it goes on to `return_to`.
async fn complete_sign_in(idp: &Idp, headers: &HeaderMap, half_open: &str, login: &str, return_to: &str) -> Response {
    let _ = idp.end_session(half_open).await;
    let fresh = match idp.start_session(login, true, true).await {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let mut response = redirect(return_to);
    if let Err(e) = set_session_cookies(&mut response, idp, &fresh) {
        return failure(&e);
    }
    remember_device(&mut response, idp, headers, login);
    response
}

async fn logout(State(idp): Shared, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    if let Some(token) = cookie(&headers, session_cookie(&idp)) {
        if let Ok(Some(session)) = idp.session(token).await {
            idp.log(&session.login, "user.session.end", &session.login, "", true, serde_json::json!({})).await;
        }
        if let Err(e) = idp.end_session(token).await {
            return failure(&e);
        }
    }
    let mut response = redirect("/login");
    set_cookie(&mut response, &idp, session_cookie(&idp), "", "Lax", Some(0));
    response
}

// ---- apps --------------------------------------------------------------------------------

async fn dashboard(State(idp): Shared, headers: HeaderMap) -> Response {
    let login = match signed_in(&idp, &headers).await {
        Ok(Some(login)) => login,
        Ok(None) => return login_redirect("/app"),
        Err(e) => return failure(&e),
    };
    let (display_name, admin, tiles) = idp.with_tenant(|t| {
        let name = t.user(&login).map(|u| u.display_name()).unwrap_or_else(|| login.clone());
        let admin = t.user(&login).is_some_and(|u| u.admin);
        let tiles = t
            .apps_of(&login)
            .into_iter()
            .map(|app| Tile {
                name: app.name.clone(),
                label: app.label.clone(),
                kind: match app.kind {
                    AppKind::Aws(_) => "AWS Account Federation",
                    AppKind::Saml(_) => "SAML 2.0",
                },
            })
            .collect();
        (name, admin, tiles)
    });
    let (csrf, fresh) = match csrf_token(&idp, &headers) {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let mfa_enrolled = idp.with_credentials(|c| c.has_totp(&login));
    let page = DashboardPage { csrf: &csrf, display_name: &display_name, tiles, mfa_enrolled, admin };
    with_csrf_cookie(render(StatusCode::OK, &page), &idp, &csrf, fresh)
}

/// The app's launch link: signs in first if needed, then posts the signed response to the app.
async fn launch(State(idp): Shared, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let here = format!("/app/{}/sso", percent_encode(&name));
    let session = match signed_in_session(&idp, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_redirect(&here),
        Err(e) => return failure(&e),
    };
    let request = Request { authenticated: Some(session.authenticated()), ..Request::default() };
    answer(&idp, &name, &session.login, &request).await
}

/// Issues the app's response for `login` and returns the page that posts it to the ACS.
async fn answer(idp: &Idp, name: &str, login: &str, request: &Request<'_>) -> Response {
    let issued = idp.issue(name, login, request);
    let issued = match issued {
        Ok(issued) => issued,
        Err(e) => {
            // A name that is no app is not logged: anyone signed in could write any text there.
            if idp.with_tenant(|t| t.app(name).is_some()) {
                idp.log(login, "app.sso", login, name, false, serde_json::json!({ "reason": e.message })).await;
            }
            return failure(&e);
        }
    };
    let attributes: Vec<serde_json::Value> =
        issued.attributes.iter().map(|a| serde_json::json!({ "name": a.name, "values": a.values })).collect();
    let detail = serde_json::json!({
        "acs": issued.acs_url,
        "relay_state": issued.relay_state,
        "in_response_to": request.in_response_to,
        "attributes": attributes,
    });
    idp.log(login, "app.sso", login, name, true, detail).await;
    post_page(&issued)
}

/// The page that posts an issued response to the app's ACS.
fn post_page(issued: &crate::sso::Issued) -> Response {
    match post_form(&issued.acs_url, Param::SamlResponse, &issued.xml, issued.relay_state.as_deref()) {
        Ok(page) => {
            let response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
            with_security_headers(response, &post_page_csp())
        }
        Err(e) => failure(&IdpError::invalid(format!("the app's ACS URL cannot be used: {e}"))),
    }
}

// ---- two-step verification, self-service -------------------------------------------------

async fn mfa_setup_page(State(idp): Shared, headers: HeaderMap) -> Response {
    let login = match signed_in(&idp, &headers).await {
        Ok(Some(login)) => login,
        Ok(None) => return login_redirect("/account/mfa"),
        Err(e) => return failure(&e),
    };
    mfa_setup(&idp, &headers, &login, None).await
}

const WRONG_ENROLLMENT_CODE: &str = "That code is not right. Check the app shows idfed and try the current code.";
const WRONG_ENROLLMENT_PASSWORD: &str = "That password is not right. Enter the password you sign in with.";
const LOCKED: &str = "Too many failed attempts. Try again in 15 minutes.";

/// Self-service page: "on" when enrolled, else the enrollment form.
async fn mfa_setup(idp: &Idp, headers: &HeaderMap, login: &str, error: Option<&str>) -> Response {
    if !idp.with_credentials(|c| c.has_totp(login)) {
        return enrollment(idp, headers, login, "/account/mfa", "/app", error).await;
    }
    let (csrf, fresh) = match csrf_token(idp, headers) {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = MfaSetupPage {
        csrf: &csrf,
        action: "/account/mfa",
        return_to: "/app",
        enrolled: true,
        secret: "",
        otpauth_url: "",
        error: None,
    };
    with_csrf_cookie(render(status, &page), idp, &csrf, fresh)
}

/// Self-service enrollment asks for the password again: whoever holds a signed-in browser (or
/// a copied session cookie) must not be able to put their own authenticator on the account.
async fn mfa_setup_submit(
    State(idp): Shared,
    Extension(ClientIp(source)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    let login = match signed_in(&idp, &headers).await {
        Ok(Some(login)) => login,
        Ok(None) => return login_redirect("/account/mfa"),
        Err(e) => return failure(&e),
    };
    if idp.with_credentials(|c| c.has_totp(&login)) {
        return mfa_setup(&idp, &headers, &login, None).await;
    }
    let attempt = match pass_back_off(&idp, &headers, source, &login).await {
        Ok(attempt) => attempt,
        Err(refused) => return refused,
    };
    let password = form.get("password").cloned().unwrap_or_default();
    let now = idp.now();
    match idp.change_credentials(|c| c.check_password(&login, &password, true, attempt.origin(), now)).await {
        Err(e) => return failure(&e),
        Ok(Err(refusal)) => {
            let locked = matches!(refusal, Refusal::Locked { .. });
            let detail = serde_json::json!({ "reason": if locked { "locked" } else { "wrong password" } });
            idp.metrics.sign_in(if locked { "locked" } else { "failure" });
            idp.log(&login, "user.mfa.enroll", &login, "", false, detail).await;
            let text = if locked { LOCKED } else { WRONG_ENROLLMENT_PASSWORD };
            return mfa_setup(&idp, &headers, &login, Some(text)).await;
        }
        Ok(Ok(())) => {
            if let Err(e) = idp.attempt_succeeded(attempt).await {
                return failure(&e);
            }
        }
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let owner = session_owner(&idp, &headers);
    match idp.change_credentials(|c| c.confirm_totp(&login, &owner, &code, now)).await {
        Err(e) => failure(&e),
        Ok(Err(_)) => {
            idp.log(&login, "user.mfa.enroll", &login, "", false, serde_json::json!({ "reason": "wrong code" })).await;
            mfa_setup(&idp, &headers, &login, Some(WRONG_ENROLLMENT_CODE)).await
        }
        Ok(Ok(())) => {
            idp.log(&login, "user.mfa.enroll", &login, "", true, serde_json::json!({ "self_service": true })).await;
            redirect("/account/mfa")
        }
    }
}

// ---- enrollment the MFA policy requires at sign-in ----------------------------------------

/// The half-open session of someone the policy requires to enroll (password checked, no TOTP yet).
async fn enrolling(idp: &Idp, headers: &HeaderMap) -> Result<Option<(String, Session)>, IdpError> {
    let Some((token, session)) = current_session(idp, headers).await? else { return Ok(None) };
    let due = !session.complete
        && !idp.with_credentials(|c| c.has_totp(&session.login))
        && idp.with_tenant(|t| t.requires_mfa(&session.login));
    Ok(due.then_some((token, session)))
}

async fn mfa_enroll_page(
    State(idp): Shared,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let return_to = safe_return(query.get("return_to"));
    match enrolling(&idp, &headers).await {
        Ok(Some((_, session))) => {
            enrollment(&idp, &headers, &session.login, "/login/mfa/enroll", &return_to, None).await
        }
        Ok(None) => login_redirect(&return_to),
        Err(e) => failure(&e),
    }
}

/// The enrollment form (the secret of this browser's session and its code field), posting to
/// `action`: self-service, or the enrollment the MFA policy requires at sign-in.
async fn enrollment(
    idp: &Idp,
    headers: &HeaderMap,
    login: &str,
    action: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let (csrf, fresh) = match csrf_token(idp, headers) {
        Ok(t) => t,
        Err(e) => return failure(&e),
    };
    let owner = session_owner(idp, headers);
    let begun = idp.change_credentials(|c| c.begin_totp(login, &owner, idp.rng.as_ref())).await;
    let (secret, url) = match begun {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) | Err(e) => return failure(&e),
    };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page =
        MfaSetupPage { csrf: &csrf, action, return_to, enrolled: false, secret: &secret, otpauth_url: &url, error };
    with_csrf_cookie(render(status, &page), idp, &csrf, fresh)
}

async fn mfa_enroll_submit(
    State(idp): Shared,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&idp, &headers, &form) {
        return csrf_refused();
    }
    let return_to = safe_return(form.get("return_to"));
    let (token, session) = match enrolling(&idp, &headers).await {
        Ok(Some(pair)) => pair,
        Ok(None) => return login_redirect(&return_to),
        Err(e) => return failure(&e),
    };
    let code = form.get("code").cloned().unwrap_or_default();
    let now = idp.now();
    let owner = session_owner(&idp, &headers);
    match idp.change_credentials(|c| c.confirm_totp(&session.login, &owner, &code, now)).await {
        Err(e) => failure(&e),
        Ok(Err(_)) => {
            let detail = serde_json::json!({ "reason": "wrong code", "required_by_policy": true });
            idp.log(&session.login, "user.mfa.enroll", &session.login, "", false, detail).await;
            enrollment(&idp, &headers, &session.login, "/login/mfa/enroll", &return_to, Some(WRONG_ENROLLMENT_CODE))
                .await
        }
        Ok(Ok(())) => {
            let detail = serde_json::json!({ "required_by_policy": true });
            idp.log(&session.login, "user.mfa.enroll", &session.login, "", true, detail).await;
            idp.metrics.sign_in("success");
            // Enrolled by proving the code: the session is complete, under a new ID.
            complete_sign_in(&idp, &headers, &token, &session.login, &return_to).await
        }
    }
}

fn post_page_csp() -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, AUTO_SUBMIT_SCRIPT.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; form-action http: https:; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An app's IdP metadata (what IAM's CreateSAMLProvider and SPs take): entity ID, every
/// published signing certificate, the SSO endpoint (both bindings) and, for SAML apps, SLO.
pub fn app_metadata(idp: &Idp, name: &str) -> Option<String> {
    let (is_saml, wants_signed_requests) = idp.with_tenant(|t| {
        t.app(name).map(|a| match &a.kind {
            AppKind::Saml(saml) => (true, saml.authn_request_certificate.is_some()),
            AppKind::Aws(_) => (false, false),
        })
    })?;
    let slo = idp.app_endpoint(name, "slo");
    let entity_id = idp.entity_id(name);
    let sso = idp.app_endpoint(name, "saml");
    let certificates = idp.signing().published();
    let formats = [ns::NAMEID_PERSISTENT, ns::NAMEID_TRANSIENT, ns::NAMEID_EMAIL, ns::NAMEID_UNSPECIFIED];
    Some(idp_metadata_xml(&IdpMetadata {
        entity_id: &entity_id,
        signing_certificates: &certificates,
        sso_post: Some(&sso),
        sso_redirect: Some(&sso),
        slo_redirect: is_saml.then_some(slo.as_str()),
        name_id_formats: &formats,
        want_authn_requests_signed: wants_signed_requests,
    }))
}

async fn metadata(
    State(idp): Shared,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = idp.refresh().await {
        return failure(&e);
    }
    let Some(xml) = app_metadata(&idp, &name) else {
        return message(StatusCode::NOT_FOUND, "Not found", "There is no such app.");
    };
    let mut response = ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response();
    if query.contains_key("download")
        && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}-metadata.xml\""))
    {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
