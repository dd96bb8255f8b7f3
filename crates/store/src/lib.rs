//! Persistence. Today: SQLite (WAL) holding versioned JSON documents, which the AWS sandbox
//! uses for its state. Handlers never write SQL; they call this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A store of named, versioned documents.
#[derive(Debug, Clone)]
pub struct DocumentStore {
    pool: SqlitePool,
}

impl DocumentStore {
    /// Opens (creating if needed) the SQLite file at `path`, in WAL mode with full sync, and
    /// applies the schema.
    pub async fn open_sqlite(path: &Path) -> Result<DocumentStore, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        // Idempotent schema files, in order.
        for schema in [include_str!("../migrations/0001_documents.sql"), include_str!("../migrations/0002_events.sql")]
        {
            sqlx::raw_sql(schema).execute(&pool).await?;
        }
        Ok(DocumentStore { pool })
    }

    /// The stored version and body of `name`.
    pub async fn load(&self, name: &str) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT version, body FROM documents WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row)
    }

    /// Writes `body` as `version` of `name` unless a newer version is already stored (saves
    /// racing each other never move the document backwards). Returns whether it was written.
    pub async fn save(&self, name: &str, version: i64, body: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO documents (name, version, body) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET version = excluded.version, body = excluded.body WHERE documents.version < excluded.version",
        )
        .bind(name)
        .bind(version)
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The stored version of `name`, without its body (cheap: for noticing changes).
    pub async fn version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT version FROM documents WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(v,)| v))
    }

    /// Removes `name`; returns whether it existed.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM documents WHERE name = ?").bind(name).execute(&self.pool).await?;
        Ok(result.rows_affected() == 1)
    }
}

/// One entry of the system log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// Position in the log (0 for an event not yet appended).
    pub seq: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub target: String,
    pub app: String,
    pub outcome: String,
    /// JSON object with the event's details.
    pub detail: String,
}

/// Which events to read. Empty fields match everything; `event` matches a prefix
/// (`user.session` finds start and end).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor: Option<String>,
    pub app: Option<String>,
    pub event: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// At most this many, newest first (capped at 1,000).
    pub limit: u32,
}

impl EventFilter {
    /// The same test the database applies, for logs kept in memory.
    pub fn matches(&self, e: &Event) -> bool {
        self.actor.as_ref().is_none_or(|a| a.eq_ignore_ascii_case(&e.actor))
            && self.app.as_ref().is_none_or(|a| *a == e.app)
            && self.event.as_ref().is_none_or(|p| e.event.starts_with(p.as_str()))
            && self.since.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }

    pub fn capped_limit(&self) -> u32 {
        if self.limit == 0 { 100 } else { self.limit.min(1000) }
    }
}

impl DocumentStore {
    pub async fn append_event(&self, e: &Event) -> Result<i64, StoreError> {
        let result = sqlx::query(
            "INSERT INTO events (at, actor, event, target, app, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.event)
        .bind(&e.target)
        .bind(&e.app)
        .bind(&e.outcome)
        .bind(&e.detail)
        .execute(&self.pool)
        .await?;
        Ok(result.last_insert_rowid())
    }

    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        type Row = (i64, i64, String, String, String, String, String, String);
        let like = filter.event.as_ref().map(|p| format!("{}%", p.replace('%', "").replace('_', "\\_")));
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, at, actor, event, target, app, outcome, detail FROM events \
             WHERE (?1 IS NULL OR actor = ?1 COLLATE NOCASE) AND (?2 IS NULL OR app = ?2) \
             AND (?3 IS NULL OR event LIKE ?3 ESCAPE '\\') AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5) \
             ORDER BY seq DESC LIMIT ?6",
        )
        .bind(&filter.actor)
        .bind(&filter.app)
        .bind(like)
        .bind(filter.since)
        .bind(filter.until)
        .bind(i64::from(filter.capped_limit()))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, at, actor, event, target, app, outcome, detail)| Event {
                seq,
                at,
                actor,
                event,
                target,
                app,
                outcome,
                detail,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_only_move_forward_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("idfed-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite");
        let store = DocumentStore::open_sqlite(&path).await.unwrap();
        assert_eq!(store.load("aws").await.unwrap(), None);
        assert!(store.save("aws", 2, "two").await.unwrap());
        assert!(!store.save("aws", 1, "one").await.unwrap(), "an older version never overwrites");
        assert!(store.save("aws", 3, "three").await.unwrap());
        assert!(store.save("gone", 1, "x").await.unwrap());
        assert!(store.delete("gone").await.unwrap());
        assert!(!store.delete("gone").await.unwrap());
        assert_eq!(store.load("gone").await.unwrap(), None);
        drop(store);
        let reopened = DocumentStore::open_sqlite(&path).await.unwrap();
        assert_eq!(reopened.load("aws").await.unwrap(), Some((3, "three".to_owned())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn events_are_found_by_actor_app_prefix_and_time() {
        let dir = std::env::temp_dir().join(format!("idfed-store-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = DocumentStore::open_sqlite(&dir.join("s.sqlite")).await.unwrap();
        let event = |at: i64, actor: &str, name: &str, app: &str| Event {
            at,
            actor: actor.into(),
            event: name.into(),
            app: app.into(),
            outcome: "success".into(),
            detail: "{}".into(),
            ..Event::default()
        };
        store.append_event(&event(1, "alice", "user.session.start", "")).await.unwrap();
        store.append_event(&event(2, "alice", "app.sso", "aws")).await.unwrap();
        store.append_event(&event(3, "bob", "user.session_x", "")).await.unwrap();
        store.append_event(&event(4, "Bob", "app.sso", "ccp")).await.unwrap();
        let find = |f: EventFilter| {
            let store = store.clone();
            async move { store.events(&f).await.unwrap().into_iter().map(|e| e.at).collect::<Vec<_>>() }
        };
        assert_eq!(find(EventFilter::default()).await, [4, 3, 2, 1]);
        assert_eq!(find(EventFilter { actor: Some("BOB".into()), ..Default::default() }).await, [4, 3]);
        assert_eq!(find(EventFilter { app: Some("aws".into()), ..Default::default() }).await, [2]);
        assert_eq!(find(EventFilter { event: Some("user.session".into()), ..Default::default() }).await, [3, 1]);
        assert_eq!(find(EventFilter { event: Some("user.session.".into()), ..Default::default() }).await, [1]);
        assert_eq!(find(EventFilter { since: Some(2), until: Some(4), ..Default::default() }).await, [3, 2]);
        assert_eq!(find(EventFilter { limit: 1, ..Default::default() }).await, [4]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
