//! The running IdP: tenant, credentials, signing identity and sessions, with the clock and
//! random source injected. Every change is written to the store before it is acknowledged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use idfed_saml::Instant;
use idfed_saml::random::Random;
use idfed_store::DocumentStore;
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::error::{IdpError, Result};
use crate::keys::Identity;
use crate::tenant::Tenant;

pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

const TENANT_DOCUMENT: &str = "idp-tenant";
const CREDENTIALS_DOCUMENT: &str = "idp-credentials";
const SIGNING_DOCUMENT: &str = "idp-signing-key";
const SESSION_PREFIX: &str = "idp-session-";

/// A session lasts this long without sign-in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// A half-finished sign-in (password done, TOTP due) lasts this long.
pub const PENDING_SECONDS: i64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub login: String,
    pub expires: i64,
    /// False while the second factor is still due.
    pub complete: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    key_pem: String,
    cert_pem: String,
}

pub struct Idp {
    tenant: Mutex<Tenant>,
    credentials: Mutex<Credentials>,
    sessions: Mutex<HashMap<String, Session>>,
    pub identity: Identity,
    /// The external base URL (`http://127.0.0.1:8080`): entity IDs, metadata and links use it.
    pub base_url: String,
    pub clock: Clock,
    pub rng: Box<dyn Random + Send + Sync>,
    /// Cookies get `Secure` when the base URL is https.
    pub secure_cookies: bool,
    store: Option<DocumentStore>,
    version: AtomicI64,
}

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
    ) -> Idp {
        Idp {
            tenant: Mutex::new(tenant),
            credentials: Mutex::new(Credentials::default()),
            sessions: Mutex::new(HashMap::new()),
            identity,
            base_url: base_url.trim_end_matches('/').to_owned(),
            clock,
            rng,
            secure_cookies: base_url.starts_with("https://"),
            store: None,
            version: AtomicI64::new(0),
        }
    }

    /// Opens the IdP kept in `store`, making its signing key at first start.
    pub async fn open(
        store: DocumentStore,
        base_url: &str,
        clock: Clock,
        rng: Box<dyn Random + Send + Sync>,
    ) -> Result<Idp> {
        let mut version = 0;
        let tenant = match store.load(TENANT_DOCUMENT).await.map_err(storage)? {
            Some((v, body)) => {
                version = version.max(v);
                serde_json::from_str(&body).map_err(|e| IdpError::internal(format!("stored tenant: {e}")))?
            }
            None => Tenant::default(),
        };
        let credentials = match store.load(CREDENTIALS_DOCUMENT).await.map_err(storage)? {
            Some((v, body)) => {
                version = version.max(v);
                serde_json::from_str(&body).map_err(|e| IdpError::internal(format!("stored credentials: {e}")))?
            }
            None => Credentials::default(),
        };
        let identity = match store.load(SIGNING_DOCUMENT).await.map_err(storage)? {
            Some((_, body)) => {
                let stored: StoredIdentity =
                    serde_json::from_str(&body).map_err(|e| IdpError::internal(format!("stored signing key: {e}")))?;
                Identity::from_pem(&stored.key_pem, &stored.cert_pem)?
            }
            None => {
                let identity = Identity::generate("idfed IdP", clock())?;
                let stored = StoredIdentity { key_pem: identity.key_pem.clone(), cert_pem: identity.cert_pem.clone() };
                let body = serde_json::to_string(&stored).map_err(|e| IdpError::internal(e.to_string()))?;
                store.save(SIGNING_DOCUMENT, 1, &body).await.map_err(storage)?;
                identity
            }
        };
        let mut idp = Idp::in_memory(tenant, identity, base_url, clock, rng);
        *lock(&idp.credentials) = credentials;
        idp.store = Some(store);
        idp.version = AtomicI64::new(version);
        Ok(idp)
    }

    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    /// A copy of the tenant as it is now.
    pub fn tenant(&self) -> Tenant {
        lock(&self.tenant).clone()
    }

    /// Reads the tenant without copying it.
    pub fn with_tenant<T>(&self, read: impl FnOnce(&Tenant) -> T) -> T {
        read(&lock(&self.tenant))
    }

    /// Changes the tenant (all or nothing, validated) and stores it before returning.
    pub async fn change_tenant<T>(&self, change: impl FnOnce(&mut Tenant) -> Result<T>) -> Result<T> {
        let (value, body) = {
            let mut tenant = lock(&self.tenant);
            let value = tenant.change(change)?;
            (value, serde_json::to_string(&*tenant).map_err(|e| IdpError::internal(e.to_string()))?)
        };
        self.save(TENANT_DOCUMENT, &body).await?;
        Ok(value)
    }

    /// Changes credentials and stores them before returning.
    pub async fn change_credentials<T>(&self, change: impl FnOnce(&mut Credentials) -> T) -> Result<T> {
        let (value, body) = {
            let mut credentials = lock(&self.credentials);
            let value = change(&mut credentials);
            (value, serde_json::to_string(&*credentials).map_err(|e| IdpError::internal(e.to_string()))?)
        };
        self.save(CREDENTIALS_DOCUMENT, &body).await?;
        Ok(value)
    }

    pub fn with_credentials<T>(&self, read: impl FnOnce(&Credentials) -> T) -> T {
        read(&lock(&self.credentials))
    }

    async fn save(&self, name: &str, body: &str) -> Result<()> {
        let Some(store) = &self.store else { return Ok(()) };
        let version = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        store.save(name, version, body).await.map_err(storage)?;
        Ok(())
    }

    /// A new random token (URL-safe base64 of 32 bytes).
    pub fn token(&self) -> Result<String> {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A new user id (`u` and 20 hex digits).
    pub fn new_user_id(&self) -> Result<String> {
        let mut bytes = [0u8; 10];
        self.rng.fill(&mut bytes)?;
        Ok(std::iter::once("u".to_owned()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect())
    }

    /// Starts a session for `login`; returns the cookie value. Sessions are stored under a hash
    /// of the token, so a copy of the database holds no usable session.
    pub async fn start_session(&self, login: &str, complete: bool) -> Result<String> {
        let token = self.token()?;
        let seconds = if complete { SESSION_SECONDS } else { PENDING_SECONDS };
        let session = Session { login: login.to_owned(), expires: self.now().unix_seconds() + seconds, complete };
        let key = session_key(&token);
        if let Some(store) = &self.store {
            let body = serde_json::to_string(&session).map_err(|e| IdpError::internal(e.to_string()))?;
            store.save(&key, 1, &body).await.map_err(storage)?;
        }
        lock(&self.sessions).insert(key, session);
        Ok(token)
    }

    /// The live session behind a cookie value.
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        let key = session_key(token);
        let cached = lock(&self.sessions).get(&key).cloned();
        let session = match (cached, &self.store) {
            (Some(session), _) => Some(session),
            (None, Some(store)) => match store.load(&key).await.map_err(storage)? {
                Some((_, body)) => serde_json::from_str(&body).ok(),
                None => None,
            },
            (None, None) => None,
        };
        Ok(session.filter(|s| s.expires > self.now().unix_seconds()))
    }

    pub async fn end_session(&self, token: &str) -> Result<()> {
        let key = session_key(token);
        lock(&self.sessions).remove(&key);
        if let Some(store) = &self.store {
            store.delete(&key).await.map_err(storage)?;
        }
        Ok(())
    }

    /// The entity ID (Issuer) of an app's responses, as its metadata publishes it.
    pub fn entity_id(&self, app: &str) -> String {
        format!("{}/app/{app}", self.base_url)
    }
}

fn session_key(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("{SESSION_PREFIX}{hex}")
}
