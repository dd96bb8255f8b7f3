//! The running IdP: tenant, credentials, signing identity and sessions, with the clock and
//! random source injected. Every change is written to the store before it is acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use idfed_saml::Instant;
use idfed_saml::random::Random;
use idfed_store::{DocumentStore, Event, EventFilter};
use serde::{Deserialize, Serialize};

use crate::apps::AppKind;
use crate::backoff::SourceLimit;
use crate::credentials::Credentials;
use crate::directory::{User, UserStatus};
use crate::error::{IdpError, Result};
use crate::event_writer::{AppendError, EventWriter};
use crate::integration::{IamClient, trusts};
use crate::keys::Identity;
use crate::secrets::Sealer;
use crate::signing::SigningKeys;
use crate::tenant::Tenant;
use crate::tenant_view::TenantView;

pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

const TENANT_DOCUMENT: &str = "idp-tenant";
const CREDENTIALS_DOCUMENT: &str = "idp-credentials";
const SIGNING_DOCUMENT: &str = "idp-signing-key";
const SESSION_PREFIX: &str = "idp-session-";
const PENDING_PREFIX: &str = "idp-pending-";
const SEEN_PREFIX: &str = "idp-seen-request-";
const SOURCE_PREFIX: &str = "idp-source-failures-";
const REQUEST_SOURCE_PREFIX: &str = "idp-source-requests-";
/// A marker whose version moves whenever a session is ended: nodes then forget the sessions
/// they hold in memory. Its name must not start with any record prefix above (purges).
const ENDED_SESSIONS_DOCUMENT: &str = "idp-ended-sessions";
/// Sessions a node keeps in memory (they are never changed once stored, only ended).
const SESSION_CACHE_LIMIT: usize = 10_000;
/// An SP-initiated request waits this long for the person to sign in.
pub const PENDING_REQUEST_SECONDS: i64 = 10 * 60;

/// A session lasts this long without sign-in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// A half-finished sign-in (password done, TOTP due) lasts this long.
pub const PENDING_SECONDS: i64 = 5 * 60;
/// A sign-in unused this long ends (Okta's default global-session idle time), unless configured.
pub const IDLE_SECONDS: i64 = 2 * 3600;
/// A session's last use is written back at most this often: each write is a store round trip.
const TOUCH_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub login: String,
    /// The person's id when the session began: a later account reusing the login is not them.
    #[serde(default)]
    pub user_id: String,
    /// The credential epoch when the session began: a password change ends older sessions.
    #[serde(default)]
    pub epoch: u64,
    /// Unix seconds when the person authenticated (ForceAuthn compares with it).
    #[serde(default)]
    pub started: i64,
    pub expires: i64,
    /// False while the second factor is still due.
    pub complete: bool,
    /// Whether a second factor was proven (a TOTP code, or enrollment): a session opened with the
    /// password alone stops counting once the MFA policy covers its person.
    #[serde(default)]
    pub second_factor: bool,
    /// Unix seconds of its last use, written back at most once a minute; 0 in sessions stored
    /// before idle timeouts, which count from `started`.
    #[serde(default)]
    pub last_seen: i64,
}

impl Session {
    /// When it was last used (or began).
    pub fn last_active(&self) -> i64 {
        self.last_seen.max(self.started)
    }

    /// When and how this person signed in, as a response states it.
    pub fn authenticated(&self) -> crate::sso::Authenticated {
        crate::sso::Authenticated { at: Instant::from_unix_seconds(self.started), second_factor: self.second_factor }
    }

    /// Signed in, as far as the policy now in force allows.
    pub fn satisfies(&self, tenant: &Tenant) -> bool {
        self.complete && (self.second_factor || !tenant.requires_mfa(&self.login))
    }
}

pub struct Idp {
    tenant: Mutex<Arc<TenantView>>,
    credentials: Mutex<Credentials>,
    /// Short-lived records (JSON by key) when there is no store.
    records: Mutex<HashMap<String, String>>,
    /// One change at a time per document on this node: requests on one node queue rather than
    /// race; compare-and-swap in the store orders changes between nodes.
    tenant_writes: tokio::sync::Mutex<()>,
    credentials_writes: tokio::sync::Mutex<()>,
    signing_writes: tokio::sync::Mutex<()>,
    /// Sign-in failures per source when there is no store (the store counts them otherwise).
    source_counts: Mutex<HashMap<String, crate::backoff::Counted>>,
    signing: std::sync::RwLock<Arc<SigningKeys>>,
    signing_version: AtomicI64,
    /// The external base URL (`http://127.0.0.1:8080`): entity IDs, metadata and links use it.
    pub base_url: String,
    pub clock: Clock,
    pub rng: Box<dyn Random + Send + Sync>,
    /// Cookies get `Secure` when the base URL is https.
    pub secure_cookies: bool,
    pub sealer: Sealer,
    pub metrics: crate::metrics::Metrics,
    /// Reverse proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// The per-source sign-in back-off's limit and window.
    pub source_limit: crate::backoff::SourceLimit,
    /// SP-initiated requests one address may send (a minute).
    pub request_limit: crate::backoff::SourceLimit,
    /// How long a completed sign-in lasts, in browsers and the CLI ([`SESSION_SECONDS`] unless configured).
    pub session_seconds: i64,
    /// A sign-in unused this long ends ([`IDLE_SECONDS`] unless configured; `None`: never).
    pub idle_seconds: Option<i64>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>` (the metrics name apps).
    pub metrics_token: Option<String>,
    store: Option<DocumentStore>,
    /// The stored versions this node holds of the credentials and signing keys (compare-and-swap bases).
    credentials_version: AtomicI64,
    /// Set while this node carries out a scheduled rotation step.
    rotating: std::sync::atomic::AtomicBool,
    /// When this node last purged expired short-lived records (unix seconds).
    last_purge: AtomicI64,
    /// The system log when there is no store.
    memory_log: Mutex<Vec<Event>>,
    /// Writes the system log in batches; started by the first entry logged to a store.
    event_writer: std::sync::OnceLock<EventWriter>,
    /// Sessions read from the store, by record key; emptied when any node ends a session.
    sessions: Mutex<HashMap<String, Session>>,
    /// The version of [`ENDED_SESSIONS_DOCUMENT`] the session cache reflects.
    ended_sessions_version: AtomicI64,
    /// Reloads started and the last one finished: concurrent requests share one reload that
    /// started after they arrived, instead of each querying the store.
    reloads_started: std::sync::atomic::AtomicU64,
    /// The last reload that succeeded, and the database's last failure.
    reloads_ok: std::sync::atomic::AtomicU64,
    reload_failure: Mutex<Option<(std::time::Instant, IdpError)>>,
    /// Held by the one request reloading; the others wait for `reloads_finished` to move.
    reload_runner: tokio::sync::Mutex<()>,
    reloads_finished: tokio::sync::watch::Sender<u64>,
    /// How old the start of the last reload may be for a request to use it instead of waiting
    /// for a new one (zero: every request waits for a reload that started after it arrived).
    /// Servers set a few milliseconds: under load almost no request then waits for the store.
    pub reload_window: std::time::Duration,
    /// Until when the last reload answers for requests (its start plus `reload_window`).
    fresh_until: Mutex<Option<std::time::Instant>>,
    /// The stored version of the tenant this node holds: changes made elsewhere are noticed, and
    /// saves are compare-and-swap against it.
    tenant_version: AtomicI64,
}

/// The reload runner's turn: when it ends, the runner's lock is released first and then every
/// waiting request is woken (woken before the release, they would find the lock still held and
/// wait for a wake-up that never comes).
struct Round<'a> {
    running: Option<tokio::sync::MutexGuard<'a, ()>>,
    finished: &'a tokio::sync::watch::Sender<u64>,
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        self.running.take();
        self.finished.send_modify(|n| *n += 1);
    }
}

/// The reload window servers use: a change another node or process stored is seen by
/// requests arriving at most this long after it (a change made on this node is seen at once).
pub const SERVER_RELOAD_WINDOW: std::time::Duration = std::time::Duration::from_millis(2);

/// After the database failed a reload, requests fail with that error for this long instead
/// of trying again (each try may wait for the pool's whole timeout).
const RELOAD_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn storage(e: impl std::fmt::Display) -> IdpError {
    IdpError::unavailable(format!("the database is unavailable: {e}"))
}

impl Idp {
    /// An IdP kept in memory only (tests, `--in-memory`).
    pub fn in_memory(
        tenant: Tenant,
        identity: Identity,
        base_url: &str,
        clock: Clock,
        rng: Box<dyn Random + Send + Sync>,
        sealer: Sealer,
    ) -> Idp {
        Idp {
            tenant: Mutex::new(Arc::new(TenantView::new(tenant))),
            credentials: Mutex::new(Credentials::default()),
            records: Mutex::new(HashMap::new()),
            tenant_writes: tokio::sync::Mutex::new(()),
            credentials_writes: tokio::sync::Mutex::new(()),
            signing_writes: tokio::sync::Mutex::new(()),
            source_counts: Mutex::new(HashMap::new()),
            signing: std::sync::RwLock::new(Arc::new(SigningKeys::new(identity))),
            signing_version: AtomicI64::new(0),
            base_url: base_url.trim_end_matches('/').to_owned(),
            clock,
            rng,
            secure_cookies: base_url.starts_with("https://"),
            sealer,
            metrics: crate::metrics::Metrics::default(),
            trusted_proxies: crate::proxy::TrustedProxies::default(),
            source_limit: crate::backoff::SourceLimit::default(),
            request_limit: crate::backoff::SourceLimit::requests(crate::backoff::REQUESTS),
            session_seconds: SESSION_SECONDS,
            idle_seconds: Some(IDLE_SECONDS),
            metrics_token: None,
            store: None,
            credentials_version: AtomicI64::new(0),
            last_purge: AtomicI64::new(0),
            rotating: std::sync::atomic::AtomicBool::new(false),
            tenant_version: AtomicI64::new(0),
            memory_log: Mutex::new(Vec::new()),
            event_writer: std::sync::OnceLock::new(),
            sessions: Mutex::new(HashMap::new()),
            ended_sessions_version: AtomicI64::new(0),
            reloads_started: std::sync::atomic::AtomicU64::new(0),
            reloads_ok: std::sync::atomic::AtomicU64::new(0),
            reload_failure: Mutex::new(None),
            reload_runner: tokio::sync::Mutex::new(()),
            reloads_finished: tokio::sync::watch::Sender::new(0),
            reload_window: std::time::Duration::ZERO,
            fresh_until: Mutex::new(None),
        }
    }

    /// Opens the IdP kept in `store`, making its signing key at first start.
    pub async fn open(
        store: DocumentStore,
        base_url: &str,
        clock: Clock,
        rng: Box<dyn Random + Send + Sync>,
        sealer: Sealer,
    ) -> Result<Idp> {
        Idp::open_with_identity(store, base_url, clock, rng, sealer, None).await
    }

    /// As [`Idp::open`], with the signing identity to store at first start (an existing IdP's
    /// key being brought over) instead of a new one.
    pub async fn open_with_identity(
        store: DocumentStore,
        base_url: &str,
        clock: Clock,
        rng: Box<dyn Random + Send + Sync>,
        sealer: Sealer,
        first_identity: Option<Identity>,
    ) -> Result<Idp> {
        let mut tenant_version = 0;
        let mut credentials_version = 0;
        let tenant = match store.load(TENANT_DOCUMENT).await.map_err(storage)? {
            Some((v, body)) => {
                tenant_version = v;
                tenant_from_body(&body)?
            }
            None => Tenant::default(),
        };
        let credentials = match store.load(CREDENTIALS_DOCUMENT).await.map_err(storage)? {
            Some((v, body)) => {
                credentials_version = v;
                credentials_from_body(&body, &sealer)?
            }
            None => Credentials::default(),
        };
        // Private keys are stored sealed, like every other secret.
        let (signing_version, keys) = match store.load(SIGNING_DOCUMENT).await.map_err(storage)? {
            Some((v, body)) => (v, SigningKeys::from_json(&body, &sealer)?),
            None => {
                let identity = match first_identity {
                    Some(identity) => identity,
                    None => Identity::generate("idfed IdP", clock())?,
                };
                let keys = SigningKeys::new(identity);
                let body = keys.to_json(&sealer, rng.as_ref())?;
                // Nodes starting together each make a key; the first stored wins and all use it.
                if store.save(SIGNING_DOCUMENT, 1, &body).await.map_err(storage)? {
                    (1, keys)
                } else {
                    let (v, body) = store
                        .load(SIGNING_DOCUMENT)
                        .await
                        .map_err(storage)?
                        .ok_or_else(|| IdpError::internal("the signing key vanished while starting"))?;
                    (v, SigningKeys::from_json(&body, &sealer)?)
                }
            }
        };
        let identity = Identity::from_pem(&keys.active.key_pem, &keys.active.cert_pem)?;
        let mut idp = Idp::in_memory(tenant, identity, base_url, clock, rng, sealer);
        idp.signing = std::sync::RwLock::new(Arc::new(keys));
        idp.signing_version = AtomicI64::new(signing_version);
        *lock(&idp.credentials) = credentials;
        idp.store = Some(store);
        idp.credentials_version = AtomicI64::new(credentials_version);
        idp.tenant_version = AtomicI64::new(tenant_version);
        Ok(idp)
    }

    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    /// A copy of the tenant as it is now.
    pub fn tenant(&self) -> Tenant {
        lock(&self.tenant).tenant().clone()
    }

    /// The tenant as it is now, shared: later changes make a new view and leave this one be.
    pub fn view(&self) -> Arc<TenantView> {
        lock(&self.tenant).clone()
    }

    /// Reads the tenant without copying it, and without holding a lock while `read` runs.
    pub fn with_tenant<T>(&self, read: impl FnOnce(&TenantView) -> T) -> T {
        read(&self.view())
    }

    /// The signing keys now (the active one signs; metadata publishes all).
    pub fn signing(&self) -> Arc<SigningKeys> {
        self.signing.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn change_signing(
        &self,
        actor: &str,
        event: &str,
        mut change: impl FnMut(&SigningKeys) -> Result<SigningKeys>,
    ) -> Result<()> {
        let _queue = self.signing_writes.lock().await;
        for _ in 0..CAS_ATTEMPTS {
            // Not `refresh`: that may start a scheduled rotation step, which needs this queue.
            self.reload().await?;
            // The keys and the version they were read at, together: a change is based on
            // exactly what it replaces.
            let (current, base) = {
                let keys = self.signing.read().unwrap_or_else(|e| e.into_inner());
                (keys.clone(), self.signing_version.load(Ordering::SeqCst))
            };
            let next = change(&current)?;
            let body = next.to_json(&self.sealer, self.rng.as_ref())?;
            let Some(version) = self.swap(SIGNING_DOCUMENT, &self.signing_version, base, &body).await? else {
                continue;
            };
            let fingerprint = next.active.certificate.fingerprint_sha256();
            {
                let mut keys = self.signing.write().unwrap_or_else(|e| e.into_inner());
                if version > self.signing_version.load(Ordering::SeqCst) {
                    *keys = Arc::new(next);
                    self.signing_version.store(version, Ordering::SeqCst);
                }
            }
            self.log(actor, event, "signing-key", "", true, serde_json::json!({ "active": fingerprint })).await;
            return Ok(());
        }
        Err(busy())
    }

    /// Makes the next signing key and publishes it in metadata (it does not sign yet).
    pub async fn stage_next_key(&self, actor: &str) -> Result<()> {
        let next = Arc::new(Identity::generate("idfed IdP", self.now())?);
        self.change_signing(actor, "signing_key.stage", |keys| Ok(keys.with_next(next.clone()))).await
    }

    /// The next key signs from now on; the old one stays in metadata until retired.
    pub async fn activate_next_key(&self, actor: &str) -> Result<()> {
        let now = self.now().unix_seconds();
        self.change_signing(actor, "signing_key.activate", |keys| keys.activated_at(now)).await
    }

    /// A scheduled rotation: the next key is published now, signs `overlap` seconds later, and
    /// the old one leaves metadata one overlap after that. Every node carries out the steps.
    pub async fn rotate(&self, actor: &str, overlap: i64) -> Result<()> {
        if overlap < 0 {
            return Err(IdpError::invalid("the overlap cannot be negative"));
        }
        let next = Arc::new(Identity::generate("idfed IdP", self.now())?);
        let now = self.now().unix_seconds();
        self.change_signing(actor, "signing_key.rotate", |keys| Ok(keys.rotating(next.clone(), now, overlap))).await
    }

    /// Carries out a scheduled rotation step that has come due (called on every refresh).
    async fn rotation_step(&self) -> Result<()> {
        let now = self.now().unix_seconds();
        match self.signing().due(now) {
            Some("activate") => {
                self.change_signing("scheduler", "signing_key.activate", |keys| match keys.due(now) {
                    Some("activate") => keys.activated_at(now),
                    _ => Ok(keys.clone()),
                })
                .await
            }
            Some(_) => {
                self.change_signing("scheduler", "signing_key.retire", |keys| match keys.due(now) {
                    Some("retire") => keys.retired(),
                    _ => Ok(keys.clone()),
                })
                .await
            }
            None => Ok(()),
        }
    }

    /// Stops publishing the previous key.
    pub async fn retire_previous_key(&self, actor: &str) -> Result<()> {
        self.change_signing(actor, "signing_key.retire", SigningKeys::retired).await
    }

    /// Picks up a tenant (or signing keys) another process or node stored since this one last
    /// looked (`idfed apply` while the server runs, or another IdP node on the same database).
    pub async fn refresh(&self) -> Result<()> {
        // A scheduled rotation step that came due is carried out here, once (its own save
        // refreshes again, which must not start it a second time).
        if self.signing().due(self.now().unix_seconds()).is_some() && !self.rotating.swap(true, Ordering::SeqCst) {
            let stepped = Box::pin(self.rotation_step()).await;
            self.rotating.store(false, Ordering::SeqCst);
            stepped?;
        }
        self.reload().await
    }

    /// Reads whatever another process or node stored since this one last looked. Requests
    /// arriving together share one reload, as long as it started after they arrived.
    async fn reload(&self) -> Result<()> {
        let Some(store) = &self.store else { return Ok(()) };
        if lock(&self.fresh_until).is_some_and(|until| std::time::Instant::now() < until) {
            return Ok(());
        }
        let needed = self.reloads_started.load(Ordering::SeqCst) + 1;
        loop {
            // Subscribed before looking, so a reload that ends meanwhile still wakes us.
            let mut finished = self.reloads_finished.subscribe();
            if self.reloads_ok.load(Ordering::SeqCst) >= needed {
                return Ok(());
            }
            // The database just failed: requests that waited for that attempt fail with it
            // rather than each waiting out the pool's timeout again.
            if let Some((at, error)) = &*lock(&self.reload_failure)
                && at.elapsed() < RELOAD_RETRY_AFTER
            {
                return Err(error.clone());
            }
            match self.reload_runner.try_lock() {
                Ok(running) => {
                    // Wakes the waiters when this ends, even if the request is cancelled half-way.
                    let _round = Round { running: Some(running), finished: &self.reloads_finished };
                    return self.reload_round(store).await;
                }
                // Another request is reloading: all waiters wake together when it ends (a
                // queue on a lock would hand over one waiter at a time, each needing a worker).
                Err(_) => {
                    let _ = finished.changed().await;
                }
            }
        }
    }

    /// One reload, by the request holding `reload_runner`.
    async fn reload_round(&self, store: &DocumentStore) -> Result<()> {
        let round = self.reloads_started.fetch_add(1, Ordering::SeqCst) + 1;
        let started = std::time::Instant::now();
        let result = self.reload_from(store).await;
        match &result {
            Ok(()) => {
                self.reloads_ok.fetch_max(round, Ordering::SeqCst);
                *lock(&self.reload_failure) = None;
                if !self.reload_window.is_zero() {
                    *lock(&self.fresh_until) = Some(started + self.reload_window);
                }
            }
            Err(e) if e.kind == crate::ErrorKind::Unavailable => {
                *lock(&self.reload_failure) = Some((std::time::Instant::now(), e.clone()));
            }
            Err(_) => {}
        }
        result
    }

    /// One query for the documents' versions, and a document's body only when it changed.
    async fn reload_from(&self, store: &DocumentStore) -> Result<()> {
        let names = [SIGNING_DOCUMENT, TENANT_DOCUMENT, CREDENTIALS_DOCUMENT, ENDED_SESSIONS_DOCUMENT];
        let [signing, tenant, credentials, ended] = store.versions(names).await.map_err(storage)?;
        if let Some(ended) = ended
            && ended != self.ended_sessions_version.load(Ordering::SeqCst)
        {
            let mut sessions = lock(&self.sessions);
            sessions.clear();
            self.ended_sessions_version.store(ended, Ordering::SeqCst);
        }
        if let Some((version, body)) = newer(store, SIGNING_DOCUMENT, signing, &self.signing_version).await? {
            let keys = SigningKeys::from_json(&body, &self.sealer)?;
            let mut current = self.signing.write().unwrap_or_else(|e| e.into_inner());
            if version > self.signing_version.load(Ordering::SeqCst) {
                *current = Arc::new(keys);
                self.signing_version.store(version, Ordering::SeqCst);
            }
        }
        if let Some((version, body)) = newer(store, TENANT_DOCUMENT, tenant, &self.tenant_version).await? {
            let tenant = tenant_from_body(&body)?;
            install(&self.tenant, &self.tenant_version, Arc::new(TenantView::new(tenant)), version);
        }
        self.install_credentials(store, credentials).await
    }

    /// Picks up credentials (passwords, failure counts, tokens) changed by another node.
    pub async fn refresh_credentials(&self) -> Result<()> {
        let Some(store) = &self.store else { return Ok(()) };
        let stored = store.version(CREDENTIALS_DOCUMENT).await.map_err(storage)?;
        self.install_credentials(store, stored).await
    }

    /// Installs the stored credentials if `stored` is newer than the cached version.
    async fn install_credentials(&self, store: &DocumentStore, stored: Option<i64>) -> Result<()> {
        if let Some((version, body)) = newer(store, CREDENTIALS_DOCUMENT, stored, &self.credentials_version).await? {
            let credentials = credentials_from_body(&body, &self.sealer)?;
            install(&self.credentials, &self.credentials_version, credentials, version);
        }
        Ok(())
    }

    /// Writes `body` as the next version of `name` if the store still holds `base`, the version
    /// the change was made from; `None` when another writer came first (the caller reloads and
    /// retries).
    async fn swap(&self, name: &str, cached: &AtomicI64, base: i64, body: &str) -> Result<Option<i64>> {
        let Some(store) = &self.store else {
            return Ok((cached.load(Ordering::SeqCst) == base).then_some(base + 1));
        };
        let written = store.replace(name, base, base + 1, body).await.map_err(storage)?;
        Ok(written.then_some(base + 1))
    }

    /// Changes the tenant (all or nothing, validated), seals secrets written in plain text,
    /// and stores it before returning. If another node changed it meanwhile, the change is
    /// made again on the newer tenant (compare-and-swap), so no acknowledged change is lost.
    pub async fn change_tenant<T>(&self, mut change: impl FnMut(&mut Tenant) -> Result<T>) -> Result<T> {
        let _queue = self.tenant_writes.lock().await;
        for _ in 0..CAS_ATTEMPTS {
            self.refresh().await?;
            let (view, base) = snapshot(&self.tenant, &self.tenant_version);
            let mut next = view.tenant().clone();
            let value = next.change(&mut change)?;
            self.seal_secrets(&mut next)?;
            let people = PeopleChange::between(view.tenant(), &next);
            // Done before the tenant is written, so that a failure in between leaves nothing a
            // retry could not repair (once the tenant is written, a retry sees no change): what
            // a new login's predecessor left (a removal whose second write failed) and a replaced
            // account's credentials are forgotten, a stopped person's sessions ended. If the
            // tenant's write then fails, nobody lost anything but sessions.
            if people.stopped.iter().chain(&people.replaced).next().is_some()
                || people.added.iter().any(|login| lock(&self.credentials).holds_secrets(login))
            {
                self.change_credentials(|c| {
                    people.added.iter().chain(&people.replaced).for_each(|login| _ = c.forget(login));
                    people.stopped.iter().for_each(|login| c.end_sessions(login));
                })
                .await?;
            }
            let body = serde_json::to_string(&next).map_err(|e| IdpError::internal(e.to_string()))?;
            let Some(version) = self.swap(TENANT_DOCUMENT, &self.tenant_version, base, &body).await? else { continue };
            install(&self.tenant, &self.tenant_version, Arc::new(TenantView::new(next)), version);
            // A removed person's password would be lost with a failed tenant write if forgotten
            // first; should this write fail, the next account given the login clears it (above).
            if !people.removed.is_empty() {
                self.change_credentials(|c| people.removed.iter().filter(|login| c.forget(login)).count()).await?;
            }
            return Ok(value);
        }
        Err(busy())
    }

    fn seal_secrets(&self, tenant: &mut Tenant) -> Result<()> {
        for app in &mut tenant.apps {
            if let AppKind::Aws(aws) = &mut app.kind
                && let Some(api) = &mut aws.api_integration
                && !Sealer::is_sealed(&api.secret_access_key)
            {
                api.secret_access_key = self.sealer.seal(&api.secret_access_key, self.rng.as_ref())?;
            }
        }
        Ok(())
    }

    fn iam_client(&self, app_name: &str) -> Result<(IamClient, Vec<String>)> {
        self.with_tenant(|t| {
            let app = t.app(app_name).ok_or_else(|| IdpError::not_found(format!("there is no app {app_name:?}")))?;
            let AppKind::Aws(aws) = &app.kind else {
                return Err(IdpError::invalid(format!("app {app_name:?} is not an AWS app")));
            };
            let api = aws.api_integration.as_ref().ok_or_else(|| {
                IdpError::invalid(format!(
                    "app {app_name:?} has no API integration: add the access key and secret first"
                ))
            })?;
            let secret = self.sealer.open(&api.secret_access_key)?;
            let client = IamClient::new(api.endpoint.as_deref(), &api.access_key_id, &secret);
            Ok((client, aws.identity_provider_arns.clone()))
        })
    }

    /// "Test API Credentials": one ListRoles and one ListAccountAliases call.
    pub async fn test_api_credentials(&self, actor: &str, app_name: &str) -> Result<String> {
        let result: Result<String> = async {
            let (client, _) = self.iam_client(app_name)?;
            let roles = client.list_roles(self.now()).await?;
            let alias = client.account_alias(self.now()).await?;
            let alias = alias.map(|a| format!(" (account alias {a})")).unwrap_or_default();
            Ok(format!("The API credentials work: IAM lists {} roles{alias}.", roles.len()))
        }
        .await;
        let detail = match &result {
            Ok(text) => serde_json::json!({ "result": text }),
            Err(e) => serde_json::json!({ "reason": e.message }),
        };
        self.log(actor, "app.api.test", app_name, app_name, result.is_ok(), detail).await;
        result
    }

    /// Imports the roles that trust one of the app's Identity Provider ARNs, keeping them on
    /// the app for the assignment pickers. Returns their ARNs.
    pub async fn import_roles(&self, actor: &str, app_name: &str) -> Result<Vec<String>> {
        let result = self.import_roles_unlogged(app_name).await;
        let detail = match &result {
            Ok(roles) => serde_json::json!({ "roles": roles }),
            Err(e) => serde_json::json!({ "reason": e.message }),
        };
        self.log(actor, "app.roles.import", app_name, app_name, result.is_ok(), detail).await;
        result
    }

    async fn import_roles_unlogged(&self, app_name: &str) -> Result<Vec<String>> {
        let (client, providers) = self.iam_client(app_name)?;
        let roles = client.list_roles(self.now()).await?;
        let alias = client.account_alias(self.now()).await?;
        let offered: Vec<String> =
            roles.into_iter().filter(|r| providers.iter().any(|p| trusts(&r.trust_policy, p))).map(|r| r.arn).collect();
        let kept = offered.clone();
        self.change_tenant(|t| {
            let app = t
                .apps
                .iter_mut()
                .find(|a| a.name == app_name)
                .ok_or_else(|| IdpError::not_found(format!("there is no app {app_name:?}")))?;
            if let AppKind::Aws(aws) = &mut app.kind
                && let Some(api) = &mut aws.api_integration
            {
                api.imported_roles = kept.clone();
                api.account_alias = alias.clone();
            }
            Ok(())
        })
        .await?;
        Ok(offered)
    }

    /// Changes credentials and stores them before returning. A change that changed nothing (a
    /// page reload reusing a pending secret, say) is not written: every write reseals every
    /// secret and queues this node's password checks.
    pub async fn change_credentials<T>(&self, change: impl FnMut(&mut Credentials) -> T) -> Result<T> {
        self.write_credentials(change, false).await
    }

    /// As [`Idp::change_credentials`]; with `even_unchanged`, stored whatever the change did.
    async fn write_credentials<T>(
        &self,
        mut change: impl FnMut(&mut Credentials) -> T,
        even_unchanged: bool,
    ) -> Result<T> {
        let _queue = self.credentials_writes.lock().await;
        for _ in 0..CAS_ATTEMPTS {
            self.refresh_credentials().await?;
            let (mut next, base) = snapshot(&self.credentials, &self.credentials_version);
            let value = change(&mut next);
            if !even_unchanged && *lock(&self.credentials) == next {
                return Ok(value);
            }
            let body = self.credentials_body(&next)?;
            let Some(version) = self.swap(CREDENTIALS_DOCUMENT, &self.credentials_version, base, &body).await? else {
                continue;
            };
            install(&self.credentials, &self.credentials_version, next, version);
            return Ok(value);
        }
        Err(busy())
    }

    /// Credentials as stored: TOTP secrets sealed (passwords are argon2id hashes already).
    fn credentials_body(&self, credentials: &Credentials) -> Result<String> {
        let mut stored = credentials.clone();
        stored.map_totp_secrets(|secret| self.sealer.seal(secret, self.rng.as_ref()))?;
        serde_json::to_string(&stored).map_err(|e| IdpError::internal(e.to_string()))
    }

    /// Rewrites every stored secret under the sealer's current key (after `idfed secrets
    /// rotate`, or once every node has a new `IDFED_SECRET_KEY`): API integration secrets in
    /// the tenant, TOTP secrets, signing keys. Returns how many values were resealed.
    pub async fn reseal(&self, actor: &str) -> Result<usize> {
        let rng = self.rng.as_ref();
        let api = self
            .change_tenant(|t| {
                let mut count = 0;
                for app in &mut t.apps {
                    if let AppKind::Aws(aws) = &mut app.kind
                        && let Some(integration) = &mut aws.api_integration
                    {
                        integration.secret_access_key = self.sealer.reseal(&integration.secret_access_key, rng)?;
                        count += 1;
                    }
                }
                Ok(count)
            })
            .await?;
        // Saving seals every TOTP secret and key afresh under the current key.
        let count_secrets = |c: &mut Credentials| {
            c.by_login
                .values()
                .map(|x| {
                    usize::from(x.totp_secret.is_some())
                        + usize::from(x.totp_pending.is_some())
                        + x.totp_pending_by.len()
                })
                .sum::<usize>()
        };
        let totp = self.write_credentials(count_secrets, true).await?;
        let mut keys = 0;
        self.change_signing(actor, "secrets.reseal.signing", |k| {
            keys = 1 + usize::from(k.next.is_some()) + usize::from(k.previous.is_some());
            Ok(k.clone())
        })
        .await?;
        let total = api + totp + keys;
        self.log(
            actor,
            "secrets.reseal",
            "secret-key",
            "",
            true,
            serde_json::json!({ "api_secrets": api, "totp_secrets": totp, "signing_keys": keys }),
        )
        .await;
        Ok(total)
    }

    pub fn with_credentials<T>(&self, read: impl FnOnce(&Credentials) -> T) -> T {
        read(&lock(&self.credentials))
    }

    /// Writes one system-log entry. `detail` is a JSON object; it never holds secrets,
    /// passwords or whole assertions.
    pub async fn log(
        &self,
        actor: &str,
        event: &str,
        target: &str,
        app: &str,
        success: bool,
        detail: serde_json::Value,
    ) {
        // The system log's events also go to the process log: names and outcomes, no details
        // (details may hold attribute values a log collector should not keep).
        tracing::info!(event = %event, actor = %actor, target = %target, app = %app, success, "idp event");
        let entry = Event {
            seq: 0,
            at: self.now().unix_millis(),
            actor: actor.to_owned(),
            event: event.to_owned(),
            target: target.to_owned(),
            app: app.to_owned(),
            outcome: if success { "success" } else { "failure" }.to_owned(),
            detail: detail.to_string(),
        };
        match &self.store {
            // A log write that fails must not undo the action it records; it is reported instead.
            Some(store) => {
                let writer = self.event_writer.get_or_init(|| EventWriter::start(store.clone()));
                let written = match writer.append(entry).await {
                    Ok(_) => Ok(()),
                    Err(AppendError::Failed(e)) => Err(e),
                    // Started in a runtime that has ended (a CLI command's): write it directly.
                    Err(AppendError::Stopped(entry)) => {
                        store.append_event(&entry).await.map(drop).map_err(|e| e.to_string())
                    }
                };
                if let Err(e) = written {
                    eprintln!("idfed: the system log could not be written: {e}");
                }
            }
            None => {
                let mut log = lock(&self.memory_log);
                let seq = i64::try_from(log.len()).unwrap_or(i64::MAX) + 1;
                log.push(Event { seq, ..entry });
            }
        }
    }

    /// System-log entries, newest first.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        match &self.store {
            Some(store) => store.events(filter).await.map_err(storage),
            None => {
                let log = lock(&self.memory_log);
                let limit = usize::try_from(filter.capped_limit()).unwrap_or(100);
                Ok(log.iter().rev().filter(|e| filter.matches(e)).take(limit).cloned().collect())
            }
        }
    }

    /// A new random token (URL-safe base64 of 32 bytes).
    pub fn token(&self) -> Result<String> {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Imports people from CSV (see `csv_import`): all rows or none. With `dry_run`, only checks.
    pub async fn import_csv(
        &self,
        actor: &str,
        text: &str,
        dry_run: bool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<std::result::Result<crate::csv_import::Imported, Vec<crate::csv_import::RowError>>> {
        self.refresh().await?;
        let snapshot = self.tenant();
        let planned = crate::csv_import::plan(&snapshot, text, || self.new_user_id(), progress);
        let (next, imported) = match planned {
            Ok(plan) => plan,
            Err(errors) => {
                let detail =
                    serde_json::json!({ "bad_rows": errors.len(), "first": errors.first().map(ToString::to_string) });
                self.log(actor, "user.import", "csv", "", false, detail).await;
                return Ok(Err(errors));
            }
        };
        if dry_run {
            return Ok(Ok(imported));
        }
        self.change_tenant(|t| {
            if *t != snapshot {
                return Err(IdpError::conflict("the directory changed during the import; run it again"));
            }
            *t = next.clone();
            Ok(())
        })
        .await?;
        let detail = serde_json::json!({ "created": imported.created, "updated": imported.updated, "memberships": imported.memberships });
        self.log(actor, "user.import", "csv", "", true, detail).await;
        Ok(Ok(imported))
    }

    /// Makes an admin API token called `name` (replacing one of that name); it is shown once.
    pub async fn create_api_token(&self, name: &str) -> Result<String> {
        let token = format!("idfed_{}", self.token()?);
        let now = self.now();
        self.change_credentials(|c| c.add_api_token(name, &token, now)).await??;
        self.log("cli", "api_token.create", name, "", true, serde_json::json!({})).await;
        Ok(token)
    }

    /// Adds a person (a new id is given), with a password when one is set at creation. The
    /// password is checked before anything is written, so a weak one creates nobody.
    pub async fn create_person(&self, mut user: User, password: Option<&str>) -> Result<User> {
        user.id = self.new_user_id()?;
        if let Some(password) = password {
            crate::credentials::hash_password(password, self.rng.as_ref())?;
        }
        let stored = user.clone();
        self.change_tenant(|t| {
            if t.user(&stored.login).is_some() {
                return Err(IdpError::conflict(format!("login {:?} exists already", stored.login)));
            }
            t.users.push(stored.clone());
            Ok(())
        })
        .await?;
        // Credentials left by an earlier person with this login (a removal whose clean-up
        // failed) never carry over to the new one.
        self.change_credentials(|c| {
            c.forget(&user.login);
            match password {
                Some(password) => c.set_password(&user.login, password, self.rng.as_ref()),
                None => Ok(()),
            }
        })
        .await??;
        Ok(user)
    }

    /// A new user id (`u` and 20 hex digits).
    pub fn new_user_id(&self) -> Result<String> {
        let mut bytes = [0u8; 10];
        self.rng.fill(&mut bytes)?;
        Ok(format!("u{}", crate::hex::lower(&bytes)))
    }

    /// Short-lived records (sessions, held requests) live in the store when there is one, so
    /// every node sees them and a sign-out at once; in memory otherwise. Keys are hashes of
    /// the tokens, so a copy of the database holds no usable session. A record's version is
    /// its expiry (unix seconds), which lets expired ones be purged with one statement.
    async fn put_record<T: Serialize>(&self, key: String, expires: i64, record: &T) -> Result<bool> {
        let body = serde_json::to_string(record).map_err(|e| IdpError::internal(e.to_string()))?;
        self.purge_expired().await;
        match &self.store {
            Some(store) => store.replace(&key, 0, expires, &body).await.map_err(storage),
            None => {
                let mut records = lock(&self.records);
                if records.contains_key(&key) {
                    return Ok(false);
                }
                records.insert(key, body);
                Ok(true)
            }
        }
    }

    async fn get_record<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let body = match &self.store {
            Some(store) => store.load(key).await.map_err(storage)?.map(|(_, body)| body),
            None => lock(&self.records).get(key).cloned(),
        };
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Removes a record and returns it: of two concurrent callers, one gets it.
    async fn take_record<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let body = match &self.store {
            Some(store) => store.take(key).await.map_err(storage)?.map(|(_, body)| body),
            None => lock(&self.records).remove(key),
        };
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Whether there was such a record.
    async fn remove_record(&self, key: &str) -> Result<bool> {
        Ok(match &self.store {
            Some(store) => store.delete(key).await.map_err(storage)?,
            None => lock(&self.records).remove(key).is_some(),
        })
    }

    /// At most once a minute per node: drop expired sessions, held requests and replay marks.
    async fn purge_expired(&self) {
        let now = self.now().unix_seconds();
        let last = self.last_purge.load(Ordering::SeqCst);
        if now - last < 60 || self.last_purge.compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return;
        }
        if let Some(store) = &self.store {
            // Back-off counters keep their window's end in milliseconds as their version.
            for (prefix, below) in [
                (SESSION_PREFIX, now),
                (PENDING_PREFIX, now),
                (SEEN_PREFIX, now),
                (SOURCE_PREFIX, now * 1000),
                (REQUEST_SOURCE_PREFIX, now * 1000),
            ] {
                if let Err(e) = store.purge(prefix, below).await {
                    eprintln!("idfed: purging expired {prefix}records failed: {e}");
                }
            }
        } else {
            lock(&self.records).retain(|_, body| {
                serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("expires").and_then(serde_json::Value::as_i64))
                    .is_none_or(|expires| expires > now)
            });
            lock(&self.source_counts).retain(|_, counted| counted.window_end > now * 1000);
        }
    }

    /// Seconds `source` must wait before trying to sign in again (per-source back-off), or
    /// `None` when it may try now.
    pub async fn source_wait(&self, source: std::net::IpAddr) -> Result<Option<i64>> {
        let now = self.now().unix_millis();
        let mut longest = None;
        for (counted, limit) in crate::backoff::source_counts(source, self.source_limit) {
            longest = longest.max(self.read_count(&record_key(SOURCE_PREFIX, &counted)).await?.wait(now, limit));
        }
        Ok(longest)
    }

    /// Counts a sign-in attempt from `source` before its password or code is checked (one
    /// atomic increment in the store, so parallel attempts cannot all slip under the limit);
    /// returns the seconds to wait when the address is over the limit. A successful attempt is
    /// given back with [`Idp::source_succeeded`], so only failures stay counted.
    pub async fn source_attempt(&self, source: std::net::IpAddr) -> Result<Option<i64>> {
        self.count_source(SOURCE_PREFIX, source, self.source_limit).await
    }

    /// Counts an SP-initiated request (AuthnRequest) from `source` before it is read; returns
    /// the seconds to wait when the address sent more than [`Idp::request_limit`] allows.
    pub async fn request_admitted(&self, source: std::net::IpAddr) -> Result<Option<i64>> {
        self.count_source(REQUEST_SOURCE_PREFIX, source, self.request_limit).await
    }

    /// One more event from `source` under `prefix`: on the address's own count, then (IPv6) on
    /// its site's, unless the address is already over its limit, so that one /64 cannot use up
    /// its /48's allowance. The seconds to wait when either is over.
    async fn count_source(&self, prefix: &str, source: std::net::IpAddr, limit: SourceLimit) -> Result<Option<i64>> {
        let now = self.now().unix_millis();
        for (counted, limit) in crate::backoff::source_counts(source, limit) {
            let after = self.add_count(&record_key(prefix, &counted), now, limit).await?;
            if let Some(wait) = after.over_limit(now, limit) {
                return Ok(Some(wait));
            }
        }
        Ok(None)
    }

    /// Gives back the attempt a successful sign-in from `source` counted (it was within every
    /// limit, so it was counted on each).
    async fn source_succeeded(&self, source: std::net::IpAddr) -> Result<()> {
        for (counted, _) in crate::backoff::source_counts(source, self.source_limit) {
            self.give_back(&record_key(SOURCE_PREFIX, &counted)).await?;
        }
        Ok(())
    }

    async fn read_count(&self, key: &str) -> Result<crate::backoff::Counted> {
        let counted = match &self.store {
            Some(store) => store.load(key).await.map_err(storage)?.map(|(window_end, count)| crate::backoff::Counted {
                count: count.parse().unwrap_or(i64::MAX),
                window_end,
            }),
            None => lock(&self.source_counts).get(key).copied(),
        };
        Ok(counted.unwrap_or_default())
    }

    /// One more on the count at `key` (an atomic increment in the store), in `limit`'s window.
    async fn add_count(&self, key: &str, now: i64, limit: SourceLimit) -> Result<crate::backoff::Counted> {
        Ok(match &self.store {
            Some(store) => {
                let (count, window_end) =
                    store.count_in_window(key, now, limit.window_seconds * 1000).await.map_err(storage)?;
                crate::backoff::Counted { count, window_end }
            }
            None => {
                let mut counts = lock(&self.source_counts);
                let next = counts.get(key).copied().unwrap_or_default().after_one(now, limit);
                counts.insert(key.to_owned(), next);
                next
            }
        })
    }

    async fn give_back(&self, key: &str) -> Result<()> {
        match &self.store {
            Some(store) => store.uncount(key).await.map_err(storage),
            None => {
                if let Some(counted) = lock(&self.source_counts).get_mut(key) {
                    counted.count = (counted.count - 1).max(0);
                }
                Ok(())
            }
        }
    }

    /// The per-source back-off for one attempt to sign in as `login` (empty when no such
    /// person) from `source`, whose client sent the known-device entries `device`:
    /// `Ok(Ok(attempt))` to go on, `Ok(Err(seconds))` when the address must wait first. An
    /// attempt from a known device of `login` is exempt: neither refused nor counted.
    pub async fn admit_attempt(
        &self,
        source: std::net::IpAddr,
        device: Option<&str>,
        login: &str,
    ) -> Result<std::result::Result<Attempt, i64>> {
        if let Some(device) = self.known_device(device, login) {
            return Ok(Ok(Attempt::Exempt(device)));
        }
        Ok(match self.source_attempt(source).await? {
            Some(wait) => Err(wait),
            None => Ok(Attempt::Counted(source)),
        })
    }

    /// A sign-in step succeeded: the attempt [`Idp::admit_attempt`] counted is given back.
    pub async fn attempt_succeeded(&self, attempt: Attempt) -> Result<()> {
        match attempt {
            Attempt::Counted(source) => self.source_succeeded(source).await,
            Attempt::Exempt(_) => Ok(()),
        }
    }

    /// The device id of the entry in `cookie` that names `login`'s account as it is now
    /// (active, same id, no password change since; see [`crate::devices`]). Every entry is
    /// opened whatever the login, so the answer takes as long for a login that does not exist.
    fn known_device(&self, cookie: Option<&str>, login: &str) -> Option<String> {
        let cookie = cookie?;
        let entries = crate::devices::open(cookie, &self.sealer);
        let account = self.with_tenant(|t| {
            t.user(login).filter(|u| u.status == crate::directory::UserStatus::Active).map(|u| u.id.clone())
        });
        let epoch = self.with_credentials(|c| c.epoch(login));
        let now = self.now().unix_seconds();
        let id = account?;
        entries.into_iter().find(|(_, e)| e.names(login, &id, epoch, now)).map(|(_, e)| e.device)
    }

    /// The device cookie for a browser that sent `cookie` and in which `login` just completed a
    /// sign-in.
    pub fn device_cookie_after_sign_in(&self, cookie: Option<&str>, login: &str) -> Result<String> {
        let user_id = self.with_tenant(|t| t.user(login).map(|u| u.id.clone())).unwrap_or_default();
        let epoch = self.with_credentials(|c| c.epoch(login));
        let now = self.now().unix_seconds();
        let kept = cookie.map(|c| crate::devices::open(c, &self.sealer)).unwrap_or_default();
        let device = crate::devices::device_id(&kept, login, self.rng.as_ref())?;
        let entry = crate::devices::Entry::new(login, &user_id, epoch, now, device);
        crate::devices::after_sign_in(&kept, &entry, now, &self.sealer, self.rng.as_ref())
    }

    /// Marks an SP's request ID as answered-for until `until`; false if it was seen before
    /// (a replayed AuthnRequest).
    pub async fn first_sight(&self, app: &str, request_id: &str, until: i64) -> Result<bool> {
        let key = record_key(SEEN_PREFIX, &format!("{app}\n{request_id}"));
        self.put_record(key, until, &serde_json::json!({ "expires": until })).await
    }

    /// Starts a session for `login`; returns the cookie value.
    pub async fn start_session(&self, login: &str, complete: bool, second_factor: bool) -> Result<String> {
        let token = self.token()?;
        let seconds = if complete { self.session_seconds } else { PENDING_SECONDS };
        let now = self.now().unix_seconds();
        let user_id = self.with_tenant(|t| t.user(login).map(|u| u.id.clone())).unwrap_or_default();
        let epoch = self.with_credentials(|c| c.epoch(login));
        let session = Session {
            login: login.to_owned(),
            user_id,
            epoch,
            started: now,
            expires: now + seconds,
            complete,
            second_factor,
            last_seen: now,
        };
        self.put_record(record_key(SESSION_PREFIX, &token), session.expires, &session).await?;
        Ok(token)
    }

    /// The live session behind a cookie value: unexpired, not idle too long, for the same person
    /// (id) with the same credential epoch (no password change or removal since). Reading it is
    /// a use: its last use is written back (at most once a minute).
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        // The refresh comes first: it empties the cache if a session was ended anywhere.
        self.refresh().await?;
        let key = record_key(SESSION_PREFIX, token);
        let cached = lock(&self.sessions).get(&key).cloned();
        // A cached copy that looks idle may be behind another node's use of it: the store decides.
        let cached = cached.filter(|s| !self.idle(s));
        let session = match cached {
            Some(session) => Some(session),
            None => self.read_session(&key).await?,
        };
        let Some(session) = session else { return Ok(None) };
        if self.idle(&session) {
            // As stored, unused on every node for the idle time: the record goes now rather than
            // at its expiry, so that idle sessions do not crowd the console's list.
            self.drop_session(&key).await?;
            return Ok(None);
        }
        if !self.still_valid(&session) {
            return Ok(None);
        }
        self.touch(&key, session).await
    }

    /// Removes a session record and this node's copy of it; whether it was stored.
    async fn drop_session(&self, key: &str) -> Result<bool> {
        let removed = self.remove_record(key).await?;
        lock(&self.sessions).remove(key);
        Ok(removed)
    }

    /// A session as stored, kept in this node's cache.
    async fn read_session(&self, key: &str) -> Result<Option<Session>> {
        let seen = self.ended_sessions_version.load(Ordering::SeqCst);
        let stored: Option<Session> = self.get_record(key).await?;
        if let Some(session) = &stored
            && self.store.is_some()
        {
            let mut sessions = lock(&self.sessions);
            // Not kept if a session was ended while this one was read: it may be that one.
            if self.ended_sessions_version.load(Ordering::SeqCst) == seen {
                if sessions.len() >= SESSION_CACHE_LIMIT {
                    sessions.clear();
                }
                sessions.insert(key.to_owned(), session.clone());
            }
        }
        Ok(stored)
    }

    /// Records a use of a live session when its last recorded use is a minute old or more (also
    /// without an idle limit: the console shows it). The write only replaces a record still
    /// there: a session ended meanwhile stays ended (`None`).
    async fn touch(&self, key: &str, mut session: Session) -> Result<Option<Session>> {
        let now = self.now().unix_seconds();
        if now - session.last_active() < TOUCH_SECONDS {
            return Ok(Some(session));
        }
        session.last_seen = now;
        let body = serde_json::to_string(&session).map_err(|e| IdpError::internal(e.to_string()))?;
        let kept = match &self.store {
            Some(store) => store.replace(key, session.expires, session.expires, &body).await.map_err(storage)?,
            None => lock(&self.records).get_mut(key).map(|stored| *stored = body).is_some(),
        };
        let mut sessions = lock(&self.sessions);
        if !kept {
            sessions.remove(key);
            return Ok(None);
        }
        if let Some(cached) = sessions.get_mut(key) {
            cached.last_seen = now;
        }
        Ok(Some(session))
    }

    /// Unused for longer than the idle timeout allows. A session stored before idle timeouts
    /// (no last use recorded) is not judged until its first use records one: an upgrade signs
    /// nobody out.
    fn idle(&self, session: &Session) -> bool {
        session.last_seen != 0
            && self.idle_seconds.is_some_and(|idle| self.now().unix_seconds() - session.last_seen >= idle)
    }

    /// Unexpired, its person's (same account) and not ended by a password change, a suspension
    /// or an administrator since it began. Idleness is judged apart: an idle session's record goes.
    fn still_valid(&self, session: &Session) -> bool {
        session.expires > self.now().unix_seconds()
            && self.with_tenant(|t| t.user(&session.login).is_some_and(|u| u.id == session.user_id))
            && self.with_credentials(|c| c.epoch(&session.login)) == session.epoch
    }

    /// Open sessions (at most `limit`), each with the key that ends it ([`Idp::end_session_by_key`]).
    pub async fn sessions(&self, limit: u32) -> Result<Vec<(String, Session)>> {
        // Ended sessions that have not expired yet are read and left out: read more than asked.
        let read = limit.saturating_mul(4);
        let bodies: Vec<(String, String)> = match &self.store {
            Some(store) => store
                .list(SESSION_PREFIX, read)
                .await
                .map_err(storage)?
                .into_iter()
                .map(|(name, _, body)| (name, body))
                .collect(),
            None => lock(&self.records)
                .iter()
                .filter(|(k, _)| k.starts_with(SESSION_PREFIX))
                .take(read as usize)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        // Sessions a password change, a suspension or a removal has ended are not listed; idle
        // ones are not listed either, and go.
        let mut sessions: Vec<(String, Session)> = Vec::new();
        for (name, body) in bodies {
            let Ok(session) = serde_json::from_str::<Session>(&body) else { continue };
            if self.idle(&session) {
                self.drop_session(&name).await?;
            } else if self.still_valid(&session)
                && let Some(key) = name.strip_prefix(SESSION_PREFIX)
            {
                sessions.push((key.to_owned(), session));
            }
        }
        sessions.sort_by_key(|(_, s)| std::cmp::Reverse(s.started));
        sessions.truncate(limit as usize);
        Ok(sessions)
    }

    /// Ends the session stored under `key` (a token hash from [`Idp::sessions`]).
    pub async fn end_session_by_key(&self, key: &str) -> Result<()> {
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdpError::invalid("not a session key"));
        }
        self.forget_session(format!("{SESSION_PREFIX}{key}")).await
    }

    pub async fn end_session(&self, token: &str) -> Result<()> {
        self.forget_session(record_key(SESSION_PREFIX, token)).await
    }

    /// Removes a session record, here and from every node's memory (the marker's new version
    /// empties their caches at their next reload). A token that names no session changes
    /// nothing: anyone may send one, and each marker bump empties every node's cache.
    async fn forget_session(&self, key: String) -> Result<()> {
        let removed = self.drop_session(&key).await?;
        if removed && let Some(store) = &self.store {
            // Tried again here: once the record is gone, a retried logout would bump nothing.
            let mut bumped = store.bump(ENDED_SESSIONS_DOCUMENT).await;
            for _ in 0..2 {
                if bumped.is_ok() {
                    break;
                }
                bumped = store.bump(ENDED_SESSIONS_DOCUMENT).await;
            }
            bumped.map_err(storage)?;
        }
        Ok(())
    }

    /// Keeps an accepted AuthnRequest until its person has signed in; returns its handle.
    pub async fn hold_request(&self, accepted: crate::sp_initiated::Accepted) -> Result<String> {
        let token = self.token()?;
        let now = self.now().unix_seconds();
        let pending = PendingRequest {
            app: accepted.app,
            request_id: accepted.request_id,
            acs_url: accepted.acs_url,
            relay_state: accepted.relay_state,
            force_authn: accepted.force_authn,
            is_passive: accepted.is_passive,
            requested_authn_context: accepted.requested_authn_context,
            received: now,
            expires: now + PENDING_REQUEST_SECONDS,
        };
        self.put_record(record_key(PENDING_PREFIX, &token), pending.expires, &pending).await?;
        Ok(token)
    }

    /// The held request behind a handle, while it is fresh.
    pub async fn held_request(&self, token: &str) -> Result<Option<PendingRequest>> {
        let pending: Option<PendingRequest> = self.get_record(&record_key(PENDING_PREFIX, token)).await?;
        Ok(pending.filter(|p| p.expires > self.now().unix_seconds()))
    }

    /// Takes a held request to answer it: it is gone afterwards, and of two concurrent
    /// callers only one gets it.
    pub async fn take_request(&self, token: &str) -> Result<Option<PendingRequest>> {
        let pending: Option<PendingRequest> = self.take_record(&record_key(PENDING_PREFIX, token)).await?;
        Ok(pending.filter(|p| p.expires > self.now().unix_seconds()))
    }

    /// The signed response `app` sends for `login` now, with the active key.
    pub fn issue(&self, app: &str, login: &str, request: &crate::sso::Request) -> Result<crate::sso::Issued> {
        let started = std::time::Instant::now();
        let issued = self.as_issuer(app, |t, by| crate::sso::issue(t, app, login, request, by))?;
        self.metrics.assertion(app, started.elapsed());
        Ok(issued)
    }

    /// The signed status-only Response that answers an SP-initiated `request` no one signed in for.
    pub fn issue_status(
        &self,
        app: &str,
        request: &crate::sso::Request,
        status: idfed_saml::model::Status,
    ) -> Result<crate::sso::Issued> {
        self.as_issuer(app, |t, by| crate::sso::issue_status(t, app, request, status, by))
    }

    fn as_issuer<T>(&self, app: &str, f: impl FnOnce(&TenantView, &crate::sso::Issuer) -> Result<T>) -> Result<T> {
        let entity_id = self.entity_id(app);
        let signing = self.signing();
        let by = crate::sso::Issuer {
            entity_id: &entity_id,
            key: crate::sso::IdpKey { key: &signing.active.key, certificate: &signing.active.certificate },
            now: self.now(),
            rng: self.rng.as_ref(),
        };
        self.with_tenant(|t| f(t, &by))
    }

    /// Connections open and idle in the database pool, when there is one.
    pub fn pool_use(&self) -> Option<(u32, usize)> {
        self.store.as_ref().map(DocumentStore::pool_use)
    }

    /// Ready to serve: the database answers and a signing key is loaded.
    pub async fn ready(&self) -> Result<()> {
        if let Some(store) = &self.store {
            store.ping().await.map_err(storage)?;
        }
        if self.signing().active.certificate.der.is_empty() {
            return Err(IdpError::unavailable("no signing key is loaded"));
        }
        Ok(())
    }

    /// A consistent copy of the IdP's SQLite store at `target`, made while it serves.
    pub async fn backup_to(&self, target: &std::path::Path) -> Result<()> {
        let store = self.store.as_ref().ok_or_else(|| IdpError::invalid("this IdP keeps nothing on disk"))?;
        store.backup_to(target).await.map_err(|e| IdpError::invalid(format!("backup: {e}")))
    }

    /// The entity ID (Issuer) of an app's responses, as its metadata publishes it.
    pub fn entity_id(&self, app: &str) -> String {
        format!("{}/app/{app}", self.base_url)
    }

    /// The app's SAML endpoint at this IdP: `saml` (single sign-on, both bindings) or `slo`.
    pub fn app_endpoint(&self, app: &str, endpoint: &str) -> String {
        format!("{}/app/{app}/{endpoint}", self.base_url)
    }
}

/// How often a change is retried when other nodes keep changing the same document.
const CAS_ATTEMPTS: usize = 8;

fn busy() -> IdpError {
    IdpError::unavailable("the directory is changing too fast on other nodes; try again")
}

/// The stored document when it is newer than the version this node holds.
/// Credentials from the store, their TOTP secrets opened (stores from before TOTP sealing
/// hold them plain, which pass through).
fn credentials_from_body(body: &str, sealer: &Sealer) -> Result<Credentials> {
    let mut credentials: Credentials =
        serde_json::from_str(body).map_err(|e| IdpError::internal(format!("stored credentials: {e}")))?;
    credentials.map_totp_secrets(|secret| sealer.open(secret))?;
    Ok(credentials)
}

/// A copy of a cached document with the version it is, read together under its lock (a change
/// made from it is then saved against exactly that version).
/// The logins of `before` that `after` no longer has (their credentials are forgotten).
/// What a tenant change does to people, as far as their credentials are concerned.
#[derive(Debug, Default, PartialEq)]
struct PeopleChange {
    /// Logins nobody held before.
    added: Vec<String>,
    /// Logins now held by another account (a new id): the old one's password, second factor
    /// and sessions go.
    replaced: Vec<String>,
    /// Logins whose person was removed.
    removed: Vec<String>,
    /// Logins whose person stopped being active (suspended, deactivated, staged): their
    /// sessions and known devices end, so a later reactivation does not bring them back.
    stopped: Vec<String>,
}

impl PeopleChange {
    fn between(before: &Tenant, after: &Tenant) -> PeopleChange {
        let key = |u: &User| u.login.to_ascii_lowercase();
        let earlier: HashMap<String, &User> = before.users.iter().map(|u| (key(u), u)).collect();
        let later: HashMap<String, &User> = after.users.iter().map(|u| (key(u), u)).collect();
        let mut change = PeopleChange::default();
        for user in &after.users {
            match earlier.get(&key(user)) {
                None => change.added.push(user.login.clone()),
                Some(old) if old.id != user.id => change.replaced.push(user.login.clone()),
                Some(old) if old.status == UserStatus::Active && user.status != UserStatus::Active => {
                    change.stopped.push(user.login.clone());
                }
                Some(_) => {}
            }
        }
        change.removed.extend(before.users.iter().filter(|u| !later.contains_key(&key(u))).map(|u| u.login.clone()));
        change
    }
}

fn snapshot<T: Clone>(cell: &Mutex<T>, version: &AtomicI64) -> (T, i64) {
    let value = lock(cell);
    (value.clone(), version.load(Ordering::SeqCst))
}

/// Keeps `value` as the cached document if `version` is newer than the cached one (a slower
/// writer never puts an older version back over a newer one another request installed).
fn install<T>(cell: &Mutex<T>, cached: &AtomicI64, value: T, version: i64) {
    let mut current = lock(cell);
    if version > cached.load(Ordering::SeqCst) {
        *current = value;
        cached.store(version, Ordering::SeqCst);
    }
}

/// The stored version and body of `name` when its `stored` version is newer than the one `seen`.
async fn newer(
    store: &DocumentStore,
    name: &str,
    stored: Option<i64>,
    seen: &AtomicI64,
) -> Result<Option<(i64, String)>> {
    match stored {
        Some(stored) if stored > seen.load(Ordering::SeqCst) => store.load(name).await.map_err(storage),
        _ => Ok(None),
    }
}

/// The stored tenant, with assignments an earlier version kept twice merged (the next change
/// stores it so).
fn tenant_from_body(body: &str) -> Result<Tenant> {
    let mut tenant: Tenant =
        serde_json::from_str(body).map_err(|e| IdpError::internal(format!("stored tenant: {e}")))?;
    let merged = tenant.merge_duplicate_assignments();
    if merged > 0 {
        tracing::warn!(
            merged,
            "the stored tenant assigned an app twice to one person (a login in two cases); kept the last of each, as sign-in did"
        );
    }
    Ok(tenant)
}

fn record_key(prefix: &str, token: &str) -> String {
    format!("{prefix}{}", crate::hex::sha256(token.as_bytes()))
}

/// How the per-source back-off let a sign-in attempt through ([`Idp::admit_attempt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Counted against its address; given back when the step succeeds.
    Counted(std::net::IpAddr),
    /// From a known device (this id) of the person it names: neither refused nor counted.
    Exempt(String),
}

impl Attempt {
    /// Which account lock the step obeys.
    pub fn origin(&self) -> crate::credentials::Origin<'_> {
        match self {
            Attempt::Exempt(device) => crate::credentials::Origin::KnownDevice(device),
            Attempt::Counted(_) => crate::credentials::Origin::Elsewhere,
        }
    }
}

/// An SP-initiated request waiting for its person to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub app: String,
    pub request_id: String,
    pub acs_url: String,
    pub relay_state: Option<String>,
    pub force_authn: bool,
    #[serde(default)]
    pub is_passive: bool,
    #[serde(default)]
    pub requested_authn_context: Option<idfed_saml::model::RequestedAuthnContext>,
    pub received: i64,
    pub expires: i64,
}
