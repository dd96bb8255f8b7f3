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
        // One idempotent schema file for now; numbered files run in order when more come.
        sqlx::raw_sql(include_str!("../migrations/0001_documents.sql")).execute(&pool).await?;
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
}
