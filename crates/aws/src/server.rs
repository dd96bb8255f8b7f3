//! The sandbox over HTTP: one axum service that routes like AWS's endpoints do.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State as AxumState};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use idfed_saml::Instant;
use idfed_saml::random::{Random, SystemRandom};
use idfed_store::DocumentStore;

use crate::api::{iam_actions, sts_actions};
use crate::auth;
use crate::connect;
use crate::error::AwsError;
use crate::ids;
use crate::persist;
use crate::protocol::query::{IAM_NAMESPACE, Params, STS_NAMESPACE, error_response};
use crate::protocol::sigv4::{self, HttpParts};
use crate::signin::{self, Answer};
use crate::state::{AccessKey, Account, RecordKey, State};
use crate::sts::endpoints::Partition;

pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The running sandbox: its state, clock and random source.
pub struct Sandbox {
    pub state: Mutex<State>,
    pub clock: Clock,
    pub rng: Box<dyn Random + Send + Sync>,
    /// This sandbox's own sign-in URLs (accepted as SAML Recipients besides AWS's).
    pub sign_in_urls: Vec<String>,
    /// Where changes are written before they are acknowledged; `None` keeps state in memory.
    pub store: Option<DocumentStore>,
    /// The stored core document's version and, once a save has written it, its body (a save
    /// writes the core only when it changed; `None` makes the next save write it).
    version: AtomicI64,
    saved_core: Mutex<Option<String>>,
    /// When records that no longer matter were last purged from the store.
    purged: Mutex<Option<Instant>>,
    /// Saves started and the last one finished: changes made while a save waits share the next
    /// one (each caller still waits until a save that includes its change is written).
    saves_started: AtomicU64,
    saves_done: tokio::sync::Mutex<u64>,
    /// The core this sandbox last tried to write, with its version: found in the store after a
    /// save that seemed to fail (dropped at its commit, a lost reply), it is this sandbox's own.
    attempted: Mutex<Option<(i64, String)>>,
    /// Set when another process wrote the store: every request is refused until a restart,
    /// since this sandbox's memory no longer matches what is stored.
    stale: std::sync::atomic::AtomicBool,
}

pub use crate::persist::STATE_DOCUMENT;

/// How often records that no longer matter are purged from the store. A purge scans the
/// records (an index on `version` would find them directly, but maintaining it halved the
/// store-backed sandbox's AssumeRoleWithSAML rate), so it runs seldom: records only linger.
const PURGE_EVERY_SECONDS: i64 = 600;

/// An account's administrator credentials, printed at first start.
#[derive(Debug, Clone)]
pub struct AdminKey {
    pub account: String,
    pub access_key: String,
    pub secret: String,
}

/// The version of the stored core when it is `earlier`, the one this sandbox tried to write
/// before: a save that seemed to fail (dropped at its commit, a lost reply) had committed.
async fn own_unseen_commit(store: &DocumentStore, earlier: Option<(i64, String)>) -> Option<i64> {
    let (version, body) = earlier?;
    let (stored_version, stored_body) = store.load(STATE_DOCUMENT).await.ok().flatten()?;
    (stored_version == version && stored_body == body).then_some(version)
}

/// Why a save was refused when another process wrote the sandbox's store.
pub const CHANGED_ELSEWHERE: &str = "its store was changed by another process (an `idfed aws import`, or a second \
sandbox on the same data) since this sandbox loaded it; this change was not saved: restart the sandbox to load \
what the store holds";

impl Sandbox {
    pub fn new(state: State, clock: Clock, sign_in_urls: Vec<String>) -> Sandbox {
        Sandbox {
            state: Mutex::new(state),
            clock,
            rng: Box::new(SystemRandom::new()),
            sign_in_urls,
            store: None,
            version: AtomicI64::new(0),
            saved_core: Mutex::new(None),
            purged: Mutex::new(None),
            saves_started: AtomicU64::new(0),
            saves_done: tokio::sync::Mutex::new(0),
            attempted: Mutex::new(None),
            stale: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A sandbox whose state lives in `store`, loaded from it when present. The first save
    /// writes the core again, and any records an earlier idfed kept inside it.
    pub async fn with_store(store: DocumentStore, clock: Clock, sign_in_urls: Vec<String>) -> Result<Sandbox, String> {
        let (version, mut state, inline) = persist::load(&store).await?;
        state.unsaved = Some(inline);
        let mut sandbox = Sandbox::new(state, clock, sign_in_urls);
        sandbox.store = Some(store);
        sandbox.version = AtomicI64::new(version.unwrap_or(0));
        Ok(sandbox)
    }

    /// Writes the current state to the store (when there is one) before a change is answered.
    pub async fn persist(&self) -> Result<(), AwsError> {
        let Some(store) = &self.store else { return Ok(()) };
        self.fresh()?;
        // Any save that starts from here on includes this caller's change.
        let needed = self.saves_started.load(Ordering::SeqCst) + 1;
        let mut done = self.saves_done.lock().await;
        if *done >= needed {
            return Ok(());
        }
        let round = self.saves_started.fetch_add(1, Ordering::SeqCst) + 1;
        self.save(store).await?;
        *done = round;
        Ok(())
    }

    /// Writes the records added or changed since the last save, and the core when it changed,
    /// in one transaction. A save that fails, or is dropped with its request, leaves its records
    /// listed and the core marked unsaved, so the next save writes them.
    async fn save(&self, store: &DocumentStore) -> Result<(), AwsError> {
        let mut pending = Pending { sandbox: self, keys: Vec::new(), committed: false };
        let (documents, core) = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            pending.keys = state.unsaved.as_mut().map(std::mem::take).unwrap_or_default();
            let records = persist::records(&state, &pending.keys);
            (records, state.core_to_json())
        };
        let failure = |e: String| AwsError::receiver(500, "ServiceFailure", e);
        let (mut documents, core) = (documents.map_err(failure)?, core.map_err(failure)?);
        let mut saved_core = self.saved_core.lock().unwrap_or_else(|e| e.into_inner()).take();
        let core_changed = saved_core.as_deref() != Some(core.as_str());
        // The core is written only over the version this sandbox loaded or last wrote: another
        // process that wrote it meanwhile (`idfed aws import`, a second sandbox on the same
        // data) is reported, never overwritten nor silently kept over this change.
        // Saves run one at a time (`persist`), so the version moves only once one is written.
        let previous = self.version.load(Ordering::SeqCst);
        let attempt = core_changed.then(|| (previous + 1, core.clone()));
        let earlier = std::mem::replace(&mut *self.attempted.lock().unwrap_or_else(|e| e.into_inner()), attempt);
        if core_changed {
            documents.push((STATE_DOCUMENT.to_owned(), previous + 1, core.clone()));
            saved_core = Some(core);
        }
        let unavailable = |e: String| {
            AwsError::receiver(503, "ServiceUnavailable", format!("the sandbox could not save its state: {e}"))
        };
        let mut over = previous;
        let mut written = store.save_all_over(&documents, (STATE_DOCUMENT, over)).await;
        if matches!(written, Ok(false))
            && let Some(own) = own_unseen_commit(store, earlier).await
        {
            // An earlier save of ours committed unseen: go on from its version.
            over = own;
            if let Some(core) = documents.iter_mut().find(|(name, _, _)| name == STATE_DOCUMENT) {
                core.1 = over + 1;
            }
            written = store.save_all_over(&documents, (STATE_DOCUMENT, over)).await;
        }
        if !written.map_err(|e| unavailable(e.to_string()))? {
            self.stale.store(true, Ordering::SeqCst);
            return Err(unavailable(CHANGED_ELSEWHERE.to_owned()));
        }
        if core_changed {
            self.version.store(over + 1, Ordering::SeqCst);
        }
        *self.attempted.lock().unwrap_or_else(|e| e.into_inner()) = None;
        pending.committed = true;
        *self.saved_core.lock().unwrap_or_else(|e| e.into_inner()) = saved_core;
        self.purge_now_and_then(store).await;
        Ok(())
    }
    /// Refuses to go on once another process wrote the store.
    pub fn fresh(&self) -> Result<(), AwsError> {
        if self.stale.load(Ordering::SeqCst) {
            return Err(AwsError::receiver(
                503,
                "ServiceUnavailable",
                format!("the sandbox is stopped: {CHANGED_ELSEWHERE}"),
            ));
        }
        Ok(())
    }

    /// Purges the records that no longer matter, at most every ten minutes. A failed purge only
    /// leaves them for the next one: they are swept when loaded anyway.
    async fn purge_now_and_then(&self, store: &DocumentStore) {
        let now = (self.clock)();
        {
            let mut purged = self.purged.lock().unwrap_or_else(|e| e.into_inner());
            if purged.is_some_and(|at| now.unix_seconds() - at.unix_seconds() < PURGE_EVERY_SECONDS) {
                return;
            }
            *purged = Some(now);
        }
        let _ = persist::purge(store, now).await;
    }

    /// Adds an account with an administrator access key, unless it exists: in `partition`, or
    /// the commercial one when `None`. An account kept in another partition is refused, not
    /// moved (its ARNs are everywhere in the state).
    pub fn ensure_account(
        &self,
        id: &str,
        alias: Option<&str>,
        partition: Option<Partition>,
    ) -> Result<AdminKey, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match (state.account(id).map(|a| a.partition), partition) {
            (None, _) => state.accounts.push(Account {
                id: id.to_owned(),
                alias: alias.map(str::to_owned),
                partition: partition.unwrap_or_default(),
            }),
            (Some(kept), Some(asked)) if kept != asked => {
                return Err(format!(
                    "account {id} is kept in partition {} and cannot move to {}: use another data directory",
                    kept.name(),
                    asked.name()
                ));
            }
            (Some(_), _) => {}
        }
        let root = state.arn(id, "iam", "", "root");
        if let Some(existing) = state.access_keys.values().find(|k| k.user_arn == root) {
            return Ok(AdminKey {
                account: id.to_owned(),
                access_key: existing.id.clone(),
                secret: existing.secret.clone(),
            });
        }
        let key = AccessKey {
            id: ids::id(self.rng.as_ref(), "AKIA"),
            secret: ids::secret(self.rng.as_ref()),
            user_arn: root,
            active: true,
            created: (self.clock)(),
        };
        state.access_keys.insert(key.id.clone(), key.clone());
        Ok(AdminKey { account: id.to_owned(), access_key: key.id, secret: key.secret })
    }
}

/// The record keys one save took from the state's list: put back unless the save committed.
struct Pending<'a> {
    sandbox: &'a Sandbox,
    keys: Vec<RecordKey>,
    committed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.committed || self.keys.is_empty() {
            return;
        }
        let mut state = self.sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(unsaved) = &mut state.unsaved {
            unsaved.splice(0..0, std::mem::take(&mut self.keys));
        }
    }
}

pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new().fallback(handle).layer(DefaultBodyLimit::max(1 << 20)).with_state(sandbox)
}

fn xml_reply(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

async fn handle(
    AxumState(sandbox): AxumState<Arc<Sandbox>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = sandbox.fresh() {
        return persist_failure(&uri, &headers, e, &ids::request_id(sandbox.rng.as_ref()));
    }
    let response = respond(&sandbox, peer, &method, &uri, &headers, &body);
    let status = response.status();
    if changes_state(&method, &uri, &body)
        && (status.is_success() || status.is_redirection())
        && let Err(e) = sandbox.persist().await
    {
        return persist_failure(&uri, &headers, e, &ids::request_id(sandbox.rng.as_ref()));
    }
    response
}

/// A save that failed, answered in the shape of the request it followed: a page for the
/// browser's sign-in and console, JSON for Connect's API, Query XML (IAM's or STS's) for the rest.
fn persist_failure(uri: &Uri, headers: &HeaderMap, e: AwsError, request_id: &str) -> Response {
    let path = uri.path();
    if path.starts_with("/saml") || path.starts_with("/connect/federate/") || path.starts_with("/console") {
        return answer(Answer::Page(e.status, crate::pages::error_page("Sign-in failed", &e.message)));
    }
    if path != "/" {
        return json_error(e);
    }
    let signed_for_iam = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("/iam/aws4_request"));
    let namespace = if signed_for_iam { IAM_NAMESPACE } else { STS_NAMESPACE };
    xml_reply(e.status, error_response(namespace, &e, request_id))
}

/// An error as Connect's JSON protocol answers it.
fn json_error(e: AwsError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({"message": e.message}).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::HeaderName::from_static("x-amzn-errortype"), e.code),
        ],
        body,
    )
        .into_response()
}

/// Requests that may change the state: they are saved before they are answered.
fn changes_state(method: &Method, uri: &Uri, body: &[u8]) -> bool {
    let path = uri.path();
    if path == "/" {
        let action = std::str::from_utf8(body)
            .ok()
            .and_then(|b| Params::action_of(&[uri.query().unwrap_or(""), b]))
            .unwrap_or_default();
        return !(action.starts_with("Get") || action.starts_with("List"));
    }
    path.starts_with("/saml")
        || path.starts_with("/connect/federate/")
        || !matches!(*method, Method::GET | Method::HEAD)
}

fn respond(
    sandbox: &Sandbox,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let request_id = ids::request_id(sandbox.rng.as_ref());
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let parts = HttpParts {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &header_list,
        body,
    };
    let path = uri.path();
    let now = (sandbox.clock)();
    let cookie = console_cookie(headers);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    match (method.as_str(), path) {
        ("GET", "/metrics") => {
            let mut response = crate::metrics::render().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain; version=0.0.4"));
            return response;
        }
        ("GET", "/healthz") => return "ok\n".into_response(),
        ("POST", "/saml") => return sign_in(sandbox, body, &host, "/saml", now),
        ("POST", p) if p.starts_with("/saml/acs/") => return sign_in(sandbox, body, &host, p, now),
        ("GET", "/console/home" | "/console") => {
            let state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
            return answer(signin::console_home(&state, cookie.as_deref(), now));
        }
        ("GET", "/connect/home" | "/connect/ccp-v2") => {
            let state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
            return answer(connect::pages::connect_page(&state, cookie.as_deref(), path == "/connect/ccp-v2", now));
        }
        ("GET", p) if p.starts_with("/connect/federate/") => {
            let id = p.trim_start_matches("/connect/federate/").trim_end_matches('/');
            let destination =
                Params::decode(&[uri.query().unwrap_or("")]).ok().and_then(|q| q.get("destination").map(str::to_owned));
            let mut state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
            return answer(connect::pages::federate_page(
                &mut state,
                cookie.as_deref(),
                id,
                destination.as_deref(),
                now,
            ));
        }
        _ => {}
    }
    if path != "/" {
        return match connect_call(sandbox, &parts, now).map_err(connect::api::json_protocol_error) {
            Ok(value) => {
                (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
            }
            Err(e) => json_error(e),
        };
    }
    let namespace = match service_of(&parts) {
        Some("iam") => IAM_NAMESPACE,
        _ => STS_NAMESPACE,
    };
    match query_call(sandbox, &parts, peer, &request_id) {
        Ok(xml) => xml_reply(200, xml),
        Err(e) => xml_reply(e.status, error_response(namespace, &e, &request_id)),
    }
}

const COOKIE: &str = "idfed_console";

fn console_cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE).then(|| value.to_owned())
    })
}

fn answer(a: Answer) -> Response {
    match a {
        Answer::Page(status, html) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        Answer::Redirect(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Answer::SignedIn { cookie, max_age, location } => {
            let set = format!("{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
            (StatusCode::FOUND, [(header::LOCATION, location), (header::SET_COOKIE, set)]).into_response()
        }
    }
}

fn sign_in(sandbox: &Sandbox, body: &[u8], host: &str, path: &str, now: Instant) -> Response {
    let form: std::collections::BTreeMap<String, String> = std::str::from_utf8(body)
        .ok()
        .and_then(|b| idfed_saml::encoding::form_pairs(b).ok())
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default();
    let mut state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
    let request = signin::SignInRequest { form: &form, sign_in_urls: &sandbox.sign_in_urls, host, path };
    answer(signin::sign_in(&mut state, &request, now, sandbox.rng.as_ref()))
}

/// The caller of a SigV4-signed request: its access key (and session token) resolved, then
/// the signature checked with that key's secret.
fn authenticate(state: &State, parts: &HttpParts, now: Instant) -> Result<(auth::Caller, sigv4::Verified), AwsError> {
    let header = parts.header("authorization").ok_or_else(|| {
        AwsError::sender(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    })?;
    let access_key = sigv4::Authorization::parse(header)?.access_key;
    let (caller, secret) = auth::resolve(state, &access_key, parts.header("x-amz-security-token"), now)?;
    let verified = sigv4::verify(parts, now.unix_seconds(), |_| Some(secret.clone()))?;
    Ok((caller, verified))
}

/// Connect's rest-json API, SigV4-signed for service `connect`.
fn connect_call(sandbox: &Sandbox, parts: &HttpParts, now: Instant) -> Result<serde_json::Value, AwsError> {
    let mut state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
    let (caller, verified) = authenticate(&state, parts, now)?;
    let call = connect::api::Call {
        caller: &caller,
        region: &verified.region,
        method: parts.method,
        path: parts.path,
        query: parts.query,
        body: parts.body,
        now,
        rng: sandbox.rng.as_ref(),
    };
    connect::api::handle(&mut state, &call)
}

/// The service named by the credential scope of the Authorization header.
fn service_of<'a>(parts: &'a HttpParts) -> Option<&'a str> {
    let header = parts.header("authorization")?;
    let credential = header.split("Credential=").nth(1)?;
    credential.split(['/', ',']).nth(3)
}

fn query_call(sandbox: &Sandbox, parts: &HttpParts, peer: SocketAddr, request_id: &str) -> Result<String, AwsError> {
    let body = std::str::from_utf8(parts.body)
        .map_err(|_| AwsError::sender(400, "MalformedQueryString", "The request body is not UTF-8."))?;
    let params = Params::decode(&[parts.query, body])?;
    let now = (sandbox.clock)();
    let action = params.action()?;
    if action == "AssumeRoleWithSAML" {
        // Needs no signature, as on AWS; one that is sent must still verify.
        if parts.header("authorization").is_some() {
            authenticate(&sandbox.state.lock().unwrap_or_else(|e| e.into_inner()), parts, now)?;
        }
        return sts_actions::assume_role_with_saml_action(
            &sandbox.state,
            &params,
            &sandbox.sign_in_urls,
            now,
            sandbox.rng.as_ref(),
            request_id,
        );
    }
    let mut state = sandbox.state.lock().unwrap_or_else(|e| e.into_inner());
    let (caller, verified) = authenticate(&state, parts, now)?;
    match verified.service.as_str() {
        "iam" => {
            let call = iam_actions::Call {
                params: &params,
                caller: &caller,
                now,
                rng: sandbox.rng.as_ref(),
                request_id,
                source_ip: Some(peer.ip()),
            };
            iam_actions::handle(&mut state, &call)
        }
        "sts" => match action {
            "GetCallerIdentity" => Ok(sts_actions::get_caller_identity(&caller, request_id)),
            other => Err(AwsError::sender(
                400,
                "InvalidAction",
                format!("Could not find operation {other} for version 2011-06-15"),
            )),
        },
        other => {
            Err(AwsError::sender(400, "InvalidAction", format!("The sandbox does not serve {other} at this endpoint")))
        }
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Arc<Sandbox>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sandbox).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_save_is_answered_in_the_shape_of_its_request() {
        let failed = || AwsError::receiver(503, "ServiceUnavailable", "the sandbox could not save its state: x");
        let content_type = |r: &Response| r.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
        let none = HeaderMap::new();
        for path in ["/saml", "/saml/acs/SAMLSP1", "/connect/federate/abc"] {
            let r = persist_failure(&path.parse().unwrap(), &none, failed(), "r");
            assert_eq!(
                (r.status(), content_type(&r).as_str()),
                (StatusCode::SERVICE_UNAVAILABLE, "text/html; charset=utf-8"),
                "{path}"
            );
        }
        let r = persist_failure(&"/users/i-1".parse().unwrap(), &none, failed(), "r");
        assert_eq!(content_type(&r), "application/json");
        assert_eq!(r.headers().get("x-amzn-errortype").unwrap(), "ServiceUnavailable");
        let mut iam = HeaderMap::new();
        let auth =
            "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x";
        iam.insert(header::AUTHORIZATION, auth.parse().unwrap());
        for (headers, namespace) in [(&iam, IAM_NAMESPACE), (&none, STS_NAMESPACE)] {
            let r = persist_failure(&"/".parse().unwrap(), headers, failed(), "r");
            assert_eq!(content_type(&r), "text/xml");
            let body = body_text(r);
            assert!(body.contains(namespace), "{body}");
        }
    }

    /// Review finding: a save whose commit happened although its caller never learned it (the
    /// request dropped at COMMIT, a reply lost) must not make every later save look like another
    /// process's work: the sandbox finds its own core in the store and goes on from there.
    #[tokio::test]
    async fn a_save_that_committed_unseen_is_recognised_as_its_own() {
        let store = idfed_store::testing::stores("sandbox-unseen-commit").await.into_iter().next().unwrap();
        let sandbox =
            Sandbox::with_store(store.clone(), Arc::new(|| Instant::from_unix_seconds(1_800_000_000)), Vec::new())
                .await
                .unwrap();
        sandbox.ensure_account("111122223333", None, None).unwrap();
        sandbox.persist().await.unwrap();
        let saved = sandbox.version.load(Ordering::SeqCst);
        // A change whose save committed, then was dropped before it recorded the new version.
        sandbox.ensure_account("444455556666", None, None).unwrap();
        let core = sandbox.state.lock().unwrap().core_to_json().unwrap();
        store.save(STATE_DOCUMENT, saved + 1, &core).await.unwrap();
        *sandbox.attempted.lock().unwrap() = Some((saved + 1, core));
        sandbox.ensure_account("777788889999", None, None).unwrap();
        sandbox.persist().await.unwrap();
        assert_eq!(store.version(STATE_DOCUMENT).await.unwrap(), Some(saved + 2));
        assert!(sandbox.fresh().is_ok());
        // Someone else's core at that version is not taken for its own.
        store.save(STATE_DOCUMENT, saved + 3, "{}").await.unwrap();
        sandbox.ensure_account("000011112222", None, None).unwrap();
        assert!(sandbox.persist().await.unwrap_err().message.contains("changed by another process"));
    }

    fn body_text(r: Response) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes = runtime.block_on(axum::body::to_bytes(r.into_body(), 1 << 16)).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
