//! How a store keeps the sandbox's state. The core (accounts, IAM, Connect) is one document;
//! each STS session, replay mark and console session is a record of its own, written when it
//! is added or changed and purged once it no longer matters. A call that adds a session writes
//! its own few hundred bytes, not every session held.

use std::collections::BTreeMap;

use idfed_saml::Instant;
use idfed_store::DocumentStore;
use serde::{Deserialize, Serialize};

use crate::protocol::sigv4::sha256_hex;
use crate::state::{EXPIRED_SESSIONS_KEPT_SECONDS, RecordKey, State};

/// The document the sandbox's core state is kept under.
pub const STATE_DOCUMENT: &str = "aws-sandbox";
/// The prefix of every record's name.
const RECORDS: &str = "aws-sandbox/";
const SESSION: &str = "aws-sandbox/session/";
const REDEEMED: &str = "aws-sandbox/redeemed/";
const CONSOLE: &str = "aws-sandbox/console/";

/// A document to write: (name, version, body).
pub type Document = (String, i64, String);

/// A replay mark as stored. Its name holds a digest of the assertion ID, which the sender
/// chose: a name of fixed length and alphabet whatever the ID is.
#[derive(Serialize, Deserialize)]
struct Redeemed {
    id: String,
    until: Instant,
}

/// A record's document. Its version is the instant, in unix milliseconds, after which it no
/// longer matters, so purging by version drops exactly what the state sweeps. `None` when the
/// state no longer holds the record (swept before it was saved).
pub fn record(state: &State, key: &RecordKey) -> Result<Option<Document>, String> {
    let kept_after = |end: Instant| end.plus_seconds(EXPIRED_SESSIONS_KEPT_SECONDS).unix_millis();
    let document = match key {
        RecordKey::Session(k) => {
            state.sessions.get(k).map(|s| (format!("{SESSION}{k}"), kept_after(s.expires), json(s)))
        }
        RecordKey::Redeemed(id) => state.redeemed.get(id).map(|until| {
            let name = format!("{REDEEMED}{}", sha256_hex(id.as_bytes()));
            (name, until.unix_millis(), json(&Redeemed { id: id.clone(), until: *until }))
        }),
        RecordKey::Console(t) => {
            state.console_sessions.get(t).map(|c| (format!("{CONSOLE}{t}"), kept_after(c.expires), json(c)))
        }
    };
    document.map(|(name, version, body)| Ok((name, version, body?))).transpose()
}

fn json(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("serializing a sandbox record: {e}"))
}

/// The keys of every record the state holds.
pub fn all_records(state: &State) -> Vec<RecordKey> {
    let sessions = state.sessions.keys().cloned().map(RecordKey::Session);
    let redeemed = state.redeemed.keys().cloned().map(RecordKey::Redeemed);
    let console = state.console_sessions.keys().cloned().map(RecordKey::Console);
    sessions.chain(redeemed).chain(console).collect()
}

/// The documents for `keys` (each once, the latest state of it).
pub fn records(state: &State, keys: &[RecordKey]) -> Result<Vec<Document>, String> {
    let mut documents = BTreeMap::new();
    for key in keys {
        if let Some((name, version, body)) = record(state, key)? {
            documents.insert(name, (version, body));
        }
    }
    Ok(documents.into_iter().map(|(name, (version, body))| (name, version, body)).collect())
}

/// What a store holds: the core document's version (`None` when the store holds no sandbox
/// yet), and the state with its records. The third value lists records found inside the core
/// document, where earlier versions of idfed kept them; they are to be written as records (the
/// next save of the core leaves them out).
pub async fn load(store: &DocumentStore) -> Result<(Option<i64>, State, Vec<RecordKey>), String> {
    let (version, mut state) = match store.load(STATE_DOCUMENT).await.map_err(|e| e.to_string())? {
        Some((version, body)) => (Some(version), State::from_json(&body)?),
        None => (None, State::default()),
    };
    let inline = all_records(&state);
    let stored = store.list(RECORDS, u32::MAX).await.map_err(|e| e.to_string())?;
    for (name, _, body) in stored {
        let bad = |e: serde_json::Error| format!("sandbox record {name}: {e}");
        if let Some(key) = name.strip_prefix(SESSION) {
            state.sessions.insert(key.to_owned(), serde_json::from_str(&body).map_err(bad)?);
        } else if name.starts_with(REDEEMED) {
            let mark: Redeemed = serde_json::from_str(&body).map_err(bad)?;
            state.redeemed.insert(mark.id, mark.until);
        } else if let Some(token) = name.strip_prefix(CONSOLE) {
            state.console_sessions.insert(token.to_owned(), serde_json::from_str(&body).map_err(bad)?);
        } else {
            return Err(format!("sandbox record {name}: unknown kind (written by a newer idfed?)"));
        }
    }
    Ok((version, state, inline))
}

/// Replaces what the store holds with `state` (`idfed aws import`), in one transaction: the
/// records held go, the core and every record of `state` are written. The core goes over the stored version just read, so that a running sandbox that saved
/// meanwhile cannot be overwritten at an equal version (it would then not see the import).
pub async fn replace(store: &DocumentStore, state: &State) -> Result<(), String> {
    let mut documents = records(state, &all_records(state))?;
    documents.push((STATE_DOCUMENT.to_owned(), 0, state.core_to_json()?));
    for _ in 0..5 {
        let stored = store.version(STATE_DOCUMENT).await.map_err(|e| e.to_string())?.unwrap_or(0);
        if let Some(core) = documents.last_mut() {
            core.1 = stored + 1;
        }
        if store.replace_all_over(RECORDS, &documents, (STATE_DOCUMENT, stored)).await.map_err(|e| e.to_string())? {
            return Ok(());
        }
    }
    Err("the sandbox's store kept changing while it was being replaced: stop the sandbox, then import".into())
}

/// Drops the records that no longer matter at `now`.
pub async fn purge(store: &DocumentStore, now: Instant) -> Result<u64, String> {
    store.purge(RECORDS, now.unix_millis()).await.map_err(|e| e.to_string())
}
