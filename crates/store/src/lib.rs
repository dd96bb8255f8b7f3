//! Persistence. Today: SQLite (WAL) holding versioned JSON documents, which the AWS sandbox
//! uses for its state. Handlers never write SQL; they call this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same code against whichever pool this store has; `$sql` is written with `?N`
/// placeholders and rewritten for PostgreSQL.
macro_rules! on_pool {
    ($store:expr, |$pool:ident, $q:ident| $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => {
                let $q = |sql: &'static str| -> Cow<'static, str> { Cow::Borrowed(sql) };
                $body
            }
            Pool::Postgres($pool) => {
                let $q = |sql: &'static str| -> Cow<'static, str> { Cow::Owned(postgres_placeholders(sql)) };
                $body
            }
        }
    };
}

/// Creates the database file readable by its owner only (SQLite gives its `-wal` and `-shm`
/// files the same mode): a sandbox's store holds IAM secret keys and uploaded private keys in
/// plain text. A file already there keeps its mode.
fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(sqlx::Error::Io(e))),
    }
}

/// `?1` → `$1` (our SQL numbers every placeholder).
fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A store of named, versioned documents and the system log, on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct DocumentStore {
    pool: Pool,
}

impl DocumentStore {
    /// Opens (creating if needed) the SQLite file at `path`, in WAL mode with full sync, and
    /// applies the schema.
    pub async fn open_sqlite(path: &Path) -> Result<DocumentStore, StoreError> {
        create_owner_only(path)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        for schema in [
            include_str!("../migrations/sqlite/0001_documents.sql"),
            include_str!("../migrations/sqlite/0002_events.sql"),
        ] {
            sqlx::raw_sql(schema).execute(&pool).await?;
        }
        Ok(DocumentStore { pool: Pool::Sqlite(pool) })
    }

    /// Connects to PostgreSQL (`postgres://user:password@host:port/database`) and applies the
    /// schema. Waits at most two seconds for a connection, so an outage is answered quickly (503).
    pub async fn open_postgres(url: &str) -> Result<DocumentStore, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(2)).connect(url).await?;
        for schema in [
            include_str!("../migrations/postgres/0001_documents.sql"),
            include_str!("../migrations/postgres/0002_events.sql"),
        ] {
            sqlx::raw_sql(schema).execute(&pool).await?;
        }
        Ok(DocumentStore { pool: Pool::Postgres(pool) })
    }

    /// Opens `postgres://…` URLs on PostgreSQL and anything else as a SQLite file path.
    pub async fn open(location: &str) -> Result<DocumentStore, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            DocumentStore::open_postgres(location).await
        } else {
            DocumentStore::open_sqlite(Path::new(location.strip_prefix("sqlite://").unwrap_or(location))).await
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The stored version and body of `name`.
    pub async fn load(&self, name: &str) -> Result<Option<(i64, String)>, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("SELECT version, body FROM documents WHERE name = ?1");
            Ok(sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?)
        })
    }

    /// Writes `body` as `version` of `name` unless a newer version is already stored (saves
    /// racing each other never move the document backwards). Returns whether it was written.
    pub async fn save(&self, name: &str, version: i64, body: &str) -> Result<bool, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("INSERT INTO documents (name, version, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name) DO UPDATE SET version = excluded.version, body = excluded.body \
                 WHERE documents.version < excluded.version");
            let result = sqlx::query(&sql).bind(name).bind(version).bind(body).execute(pool).await?;
            Ok(result.rows_affected() == 1)
        })
    }

    /// Writes every `(name, version, body)` in one transaction (one commit, one sync to disk):
    /// all or none. Each is written unless the stored version is newer; an equal version is
    /// written again (a record whose version is its expiry can change without moving it).
    pub async fn save_all(&self, documents: &[(String, i64, String)]) -> Result<(), StoreError> {
        self.write_documents(None, documents, None).await.map(|_| ())
    }

    /// As [`DocumentStore::save_all`], guarded by the document named `expected.0`: it is written
    /// only over its stored version `expected.1` (or where there is none), and when `documents`
    /// do not include it, it must still be at that version (when that is above 0). When another
    /// writer moved it, nothing at all is written and the answer is `false`.
    pub async fn save_all_over(
        &self,
        documents: &[(String, i64, String)],
        expected: (&str, i64),
    ) -> Result<bool, StoreError> {
        self.write_documents(None, documents, Some(expected)).await
    }

    /// Removes every document under `prefix`, then writes `documents` as [`DocumentStore::save_all`]
    /// does, in one transaction: all or none.
    pub async fn replace_all(&self, prefix: &str, documents: &[(String, i64, String)]) -> Result<(), StoreError> {
        self.write_documents(Some(prefix), documents, None).await.map(|_| ())
    }

    /// [`DocumentStore::replace_all`] guarded as [`DocumentStore::save_all_over`] is.
    pub async fn replace_all_over(
        &self,
        prefix: &str,
        documents: &[(String, i64, String)],
        expected: (&str, i64),
    ) -> Result<bool, StoreError> {
        self.write_documents(Some(prefix), documents, Some(expected)).await
    }

    async fn write_documents(
        &self,
        clear: Option<&str>,
        documents: &[(String, i64, String)],
        expected: Option<(&str, i64)>,
    ) -> Result<bool, StoreError> {
        if documents.is_empty() && clear.is_none() {
            return Ok(true);
        }
        on_pool!(self, |pool, q| {
            let mut transaction = pool.begin().await?;
            if let Some(prefix) = clear {
                let sql = q("DELETE FROM documents WHERE name LIKE ?1 ESCAPE '\\'");
                sqlx::query(&sql).bind(like_prefix(prefix)).execute(&mut *transaction).await?;
            }
            let sql = q("INSERT INTO documents (name, version, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name) DO UPDATE SET version = excluded.version, body = excluded.body \
                 WHERE documents.version <= excluded.version");
            let guarded = q("INSERT INTO documents (name, version, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(name) DO UPDATE SET version = excluded.version, body = excluded.body \
                 WHERE documents.version = ?4");
            for (name, version, body) in documents {
                match expected {
                    Some((guard, over)) if guard == name => {
                        let query = sqlx::query(&guarded).bind(name).bind(version).bind(body).bind(over);
                        if query.execute(&mut *transaction).await?.rows_affected() != 1 {
                            transaction.rollback().await?;
                            return Ok(false);
                        }
                    }
                    _ => {
                        sqlx::query(&sql).bind(name).bind(version).bind(body).execute(&mut *transaction).await?;
                    }
                }
            }
            if let Some((guard, over)) = expected
                && over > 0
                && !documents.iter().any(|(name, _, _)| name == guard)
            {
                // Not written, only held at its version until this transaction commits.
                let sql = q("UPDATE documents SET version = version WHERE name = ?1 AND version = ?2");
                let held = sqlx::query(&sql).bind(guard).bind(over).execute(&mut *transaction).await?;
                if held.rows_affected() != 1 {
                    transaction.rollback().await?;
                    return Ok(false);
                }
            }
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// The stored versions of four documents in one query (a node checks its cached documents
    /// on every request: one round trip instead of four).
    pub async fn versions(&self, names: [&str; 4]) -> Result<[Option<i64>; 4], StoreError> {
        let [a, b, c, d] = names;
        let rows: Vec<(String, i64)> = on_pool!(self, |pool, q| {
            let sql = q("SELECT name, version FROM documents WHERE name IN (?1, ?2, ?3, ?4)");
            sqlx::query_as(&sql).bind(a).bind(b).bind(c).bind(d).fetch_all(pool).await?
        });
        Ok(names.map(|name| rows.iter().find(|(n, _)| n == name).map(|(_, v)| *v)))
    }

    /// The stored version of `name`, without its body (cheap: for noticing changes).
    pub async fn version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("SELECT version FROM documents WHERE name = ?1");
            let row: Option<(i64,)> = sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?;
            Ok(row.map(|(v,)| v))
        })
    }

    /// Compare-and-swap: writes `body` as `version` only if the stored version is still
    /// `expected` (0: only if absent). Returns whether it was written; `false` means another
    /// writer got there first, and the caller reloads and tries again.
    pub async fn replace(&self, name: &str, expected: i64, version: i64, body: &str) -> Result<bool, StoreError> {
        on_pool!(self, |pool, q| {
            let result = if expected == 0 {
                let sql =
                    q("INSERT INTO documents (name, version, body) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING");
                sqlx::query(&sql).bind(name).bind(version).bind(body).execute(pool).await?
            } else {
                let sql = q("UPDATE documents SET version = ?2, body = ?3 WHERE name = ?1 AND version = ?4");
                sqlx::query(&sql).bind(name).bind(version).bind(body).bind(expected).execute(pool).await?
            };
            Ok(result.rows_affected() == 1)
        })
    }

    /// Removes `name` and returns what it held, atomically: of two callers, one gets it.
    pub async fn take(&self, name: &str) -> Result<Option<(i64, String)>, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("DELETE FROM documents WHERE name = ?1 RETURNING version, body");
            Ok(sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?)
        })
    }

    /// Removes every document under `prefix` whose version is below `version` (short-lived
    /// records store their expiry as their version). Returns how many went.
    pub async fn purge(&self, prefix: &str, below_version: i64) -> Result<u64, StoreError> {
        let like = like_prefix(prefix);
        on_pool!(self, |pool, q| {
            let sql = q("DELETE FROM documents WHERE name LIKE ?1 ESCAPE '\\' AND version < ?2");
            Ok(sqlx::query(&sql).bind(&like).bind(below_version).execute(pool).await?.rows_affected())
        })
    }

    /// Adds one to the counter `name` in one atomic statement and returns (count, window end),
    /// both in unix milliseconds: a counter whose window ended before `now` starts again at 1
    /// with a window ending `window` later. The window's end is the document's version, so
    /// [`DocumentStore::purge`] with the time in milliseconds drops ended windows.
    pub async fn count_in_window(&self, name: &str, now: i64, window: i64) -> Result<(i64, i64), StoreError> {
        let end = now.saturating_add(window);
        on_pool!(self, |pool, q| {
            let sql = q("INSERT INTO documents (name, version, body) VALUES (?1, ?2, '1') \
                 ON CONFLICT(name) DO UPDATE SET \
                 body = CASE WHEN documents.version <= ?3 THEN '1' \
                        ELSE CAST(CAST(documents.body AS INTEGER) + 1 AS TEXT) END, \
                 version = CASE WHEN documents.version <= ?3 THEN ?2 ELSE documents.version END \
                 RETURNING version, body");
            let (version, body): (i64, String) =
                sqlx::query_as(&sql).bind(name).bind(end).bind(now).fetch_one(pool).await?;
            Ok((body.parse().unwrap_or(i64::MAX), version))
        })
    }

    /// Moves the version of `name` (a body-less marker document) one forward, creating it at 1:
    /// how a node tells the others that something they may hold in memory is gone.
    pub async fn bump(&self, name: &str) -> Result<i64, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("INSERT INTO documents (name, version, body) VALUES (?1, 1, '') \
                 ON CONFLICT(name) DO UPDATE SET version = documents.version + 1 RETURNING version");
            let (version,): (i64,) = sqlx::query_as(&sql).bind(name).fetch_one(pool).await?;
            Ok(version)
        })
    }

    /// Takes one back from the counter `name` (never below zero), as [`DocumentStore::count_in_window`] keeps it.
    pub async fn uncount(&self, name: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("UPDATE documents SET body = CASE WHEN CAST(body AS INTEGER) > 0 \
                 THEN CAST(CAST(body AS INTEGER) - 1 AS TEXT) ELSE '0' END WHERE name = ?1");
            sqlx::query(&sql).bind(name).execute(pool).await?;
            Ok(())
        })
    }

    /// The documents under `prefix` as (name, version, body), highest version first (for
    /// short-lived records: the latest to expire), at most `limit`.
    pub async fn list(&self, prefix: &str, limit: u32) -> Result<Vec<(String, i64, String)>, StoreError> {
        let like = like_prefix(prefix);
        on_pool!(self, |pool, q| {
            let sql = q(
                "SELECT name, version, body FROM documents WHERE name LIKE ?1 ESCAPE '\\' ORDER BY version DESC, name LIMIT ?2",
            );
            Ok(sqlx::query_as(&sql).bind(&like).bind(i64::from(limit)).fetch_all(pool).await?)
        })
    }

    /// Connections open and idle in the pool (for metrics).
    pub fn pool_use(&self) -> (u32, usize) {
        match &self.pool {
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// Whether the database answers (readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("SELECT 1");
            sqlx::query(&sql).execute(pool).await?;
            Ok(())
        })
    }

    /// A consistent copy of a SQLite store at `target` while it is in use (`VACUUM INTO`).
    /// PostgreSQL is backed up with its own tools (pg_dump); this says so.
    pub async fn backup_to(&self, target: &Path) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // The copy holds what the store holds: owner-only, as the store is. VACUUM INTO
                // writes into an empty file it finds.
                create_owner_only(target)?;
                sqlx::query("VACUUM INTO ?1").bind(target.to_string_lossy().into_owned()).execute(pool).await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Database(sqlx::Error::Configuration(
                "back up PostgreSQL with pg_dump (see the README's operations section)".into(),
            ))),
        }
    }

    /// Removes `name`; returns whether it existed.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        on_pool!(self, |pool, q| {
            let sql = q("DELETE FROM documents WHERE name = ?1");
            let result = sqlx::query(&sql).bind(name).execute(pool).await?;
            Ok(result.rows_affected() == 1)
        })
    }
}

/// A LIKE pattern matching names that start with `prefix` (its `%`, `_` and `\` escaped).
fn like_prefix(prefix: &str) -> String {
    format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
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
        let positions = self.append_events(std::slice::from_ref(e)).await?;
        Ok(positions.first().copied().unwrap_or_default())
    }

    /// Appends several events with one statement (one round trip, one commit, one sync to
    /// disk); all or none. Returns their positions in order.
    pub async fn append_events(&self, events: &[Event]) -> Result<Vec<i64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<String> = (0..events.len())
            .map(|i| {
                let p = i * 7;
                format!("(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7)
            })
            .collect();
        let sql = self.dialect(format!(
            "INSERT INTO events (at, actor, event, target, app, outcome, detail) VALUES {} RETURNING seq",
            rows.join(", ")
        ));
        let mut positions: Vec<i64> = on_pool!(self, |pool, _q| {
            let mut query = sqlx::query_scalar(&sql);
            for e in events {
                query = query
                    .bind(e.at)
                    .bind(&e.actor)
                    .bind(&e.event)
                    .bind(&e.target)
                    .bind(&e.app)
                    .bind(&e.outcome)
                    .bind(&e.detail);
            }
            query.fetch_all(pool).await?
        });
        // Rows take their positions in the order written; RETURNING need not list them so.
        positions.sort_unstable();
        Ok(positions)
    }

    /// SQL written with `?N` placeholders, as this store's database wants it.
    fn dialect(&self, sql: String) -> String {
        match self.pool {
            Pool::Sqlite(_) => sql,
            Pool::Postgres(_) => postgres_placeholders(&sql),
        }
    }

    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        type Row = (i64, i64, String, String, String, String, String, String);
        let like = filter
            .event
            .as_ref()
            .map(|p| format!("{}%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let actor = filter.actor.as_ref().map(|a| a.to_lowercase());
        let rows: Vec<Row> = on_pool!(self, |pool, q| {
            let sql = q("SELECT seq, at, actor, event, target, app, outcome, detail FROM events \
                 WHERE (?1 IS NULL OR lower(actor) = ?1) AND (?2 IS NULL OR app = ?2) \
                 AND (?3 IS NULL OR event LIKE ?3 ESCAPE '\\') AND (?4 IS NULL OR at >= ?4) \
                 AND (?5 IS NULL OR at < ?5) ORDER BY seq DESC LIMIT ?6");
            sqlx::query_as(&sql)
                .bind(&actor)
                .bind(&filter.app)
                .bind(&like)
                .bind(filter.since)
                .bind(filter.until)
                .bind(i64::from(filter.capped_limit()))
                .fetch_all(pool)
                .await?
        });
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

/// Support for test suites that run on both backends.
pub mod testing {
    use super::*;

    /// The admin URL of the test PostgreSQL server (`scripts/pg-test-server.sh`), if any.
    pub fn postgres_url() -> Option<String> {
        std::env::var("IDFED_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
    }

    /// Whether the test script demands every backend (it sets IDFED_REQUIRE_ORACLES=1).
    pub fn required() -> bool {
        std::env::var_os("IDFED_REQUIRE_ORACLES").is_some_and(|v| v == "1")
    }

    /// A new, empty database `name` on the server at `admin_url`; returns its URL.
    pub async fn fresh_postgres_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
        let admin = PgPoolOptions::new().max_connections(1).connect(admin_url).await?;
        let quoted = format!("\"{}\"", name.replace('"', ""));
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")).execute(&admin).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {quoted}")).execute(&admin).await?;
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Ok(format!("{base}/{}", name.replace('"', "")))
    }

    /// The stores a test runs on: a fresh SQLite file, and a fresh PostgreSQL database when the
    /// test server is up (otherwise the test says loudly that PostgreSQL was skipped).
    pub async fn stores(label: &str) -> Vec<DocumentStore> {
        let dir = std::env::temp_dir().join(format!("idfed-store-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut stores = Vec::new();
        if std::fs::create_dir_all(&dir).is_ok()
            && let Ok(store) = DocumentStore::open_sqlite(&dir.join("store.sqlite")).await
        {
            stores.push(store);
        }
        match postgres_url() {
            Some(url) => {
                let name = format!(
                    "idfed_{}_{}",
                    label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                    std::process::id()
                );
                if let Ok(db) = fresh_postgres_database(&url, &name).await
                    && let Ok(store) = DocumentStore::open_postgres(&db).await
                {
                    stores.push(store);
                }
            }
            None => {
                eprintln!(
                    "SKIPPED (PostgreSQL): IDFED_TEST_DATABASE_URL is not set; run scripts/pg-test-server.sh start"
                );
            }
        }
        let expected = if postgres_url().is_some() || required() { 2 } else { 1 };
        if stores.len() < expected {
            eprintln!("idfed test stores: only {} of {expected} backends opened", stores.len());
        }
        stores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::testing::{required, stores};

    async fn both(label: &str) -> Vec<DocumentStore> {
        let stores = stores(label).await;
        assert!(!stores.is_empty());
        assert!(stores.len() == 2 || !required(), "PostgreSQL is required (IDFED_REQUIRE_ORACLES=1)");
        stores
    }

    #[tokio::test]
    async fn versions_only_move_forward_and_deletes_remove() {
        for store in both("versions").await {
            let b = store.backend();
            assert_eq!(store.load("aws").await.unwrap(), None, "{b}");
            assert!(store.save("aws", 2, "two").await.unwrap(), "{b}");
            assert!(!store.save("aws", 1, "one").await.unwrap(), "{b}: an older version never overwrites");
            assert!(store.save("aws", 3, "three").await.unwrap(), "{b}");
            assert_eq!(store.version("aws").await.unwrap(), Some(3), "{b}");
            assert!(store.save("gone", 1, "x").await.unwrap());
            assert!(store.delete("gone").await.unwrap());
            assert!(!store.delete("gone").await.unwrap(), "{b}");
            assert_eq!(store.load("gone").await.unwrap(), None);
            assert_eq!(store.load("aws").await.unwrap(), Some((3, "three".to_owned())), "{b}");

            assert!(store.replace("cas", 0, 1, "first").await.unwrap(), "{b}");
            assert!(!store.replace("cas", 0, 1, "again").await.unwrap(), "{b}: exists already");
            assert!(!store.replace("cas", 7, 8, "stale").await.unwrap(), "{b}: wrong base version");
            assert!(store.replace("cas", 1, 2, "second").await.unwrap(), "{b}");
            assert_eq!(store.load("cas").await.unwrap(), Some((2, "second".to_owned())), "{b}");

            assert!(store.save("rec-a", 100, "a").await.unwrap());
            assert!(store.save("rec_b", 300, "b").await.unwrap());
            assert!(store.save("recXc", 50, "c").await.unwrap());
            assert_eq!(store.purge("rec_", 200).await.unwrap(), 0, "{b}: _ is literal");
            assert_eq!(store.purge("rec-", 200).await.unwrap(), 1, "{b}");
            assert_eq!(store.take("rec_b").await.unwrap(), Some((300, "b".to_owned())), "{b}");
            assert_eq!(store.take("rec_b").await.unwrap(), None, "{b}: taken once");
        }
    }

    #[tokio::test]
    async fn a_guarded_save_writes_nothing_when_the_guarded_document_moved() {
        for store in both("guarded").await {
            let b = store.backend();
            let batch =
                |core: i64| vec![("core".to_owned(), core, format!("v{core}")), ("rec".to_owned(), 1, "r".into())];
            assert!(store.save_all_over(&batch(1), ("core", 0)).await.unwrap(), "{b}: none there, none expected");
            assert!(store.save_all_over(&batch(2), ("core", 1)).await.unwrap(), "{b}: over the version expected");
            store.save("core", 3, "elsewhere").await.unwrap();
            store.delete("rec").await.unwrap();
            assert!(!store.save_all_over(&batch(3), ("core", 2)).await.unwrap(), "{b}: moved meanwhile");
            assert_eq!(store.load("core").await.unwrap(), Some((3, "elsewhere".into())), "{b}");
            assert_eq!(store.load("rec").await.unwrap(), None, "{b}: nothing else in the batch either");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_store_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("idfed-store-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite");
        let store = DocumentStore::open_sqlite(&path).await.unwrap();
        store.save("secret", 1, "AKIA…").await.unwrap();
        for file in ["store.sqlite", "store.sqlite-wal"] {
            let mode = std::fs::metadata(dir.join(file)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn sqlite_documents_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("idfed-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite");
        let store = DocumentStore::open_sqlite(&path).await.unwrap();
        assert!(store.save("aws", 3, "three").await.unwrap());
        drop(store);
        let reopened = DocumentStore::open(path.to_str().unwrap()).await.unwrap();
        assert_eq!(reopened.load("aws").await.unwrap(), Some((3, "three".to_owned())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn events_are_found_by_actor_app_prefix_and_time() {
        let event = |at: i64, actor: &str, name: &str, app: &str| Event {
            at,
            actor: actor.into(),
            event: name.into(),
            app: app.into(),
            outcome: "success".into(),
            detail: "{}".into(),
            ..Event::default()
        };
        for store in both("events").await {
            let b = store.backend();
            store.append_event(&event(1, "alice", "user.session.start", "")).await.unwrap();
            store.append_event(&event(2, "alice", "app.sso", "aws")).await.unwrap();
            store.append_event(&event(3, "bob", "user.session_x", "")).await.unwrap();
            let seq = store.append_event(&event(4, "Bob", "app.sso", "ccp")).await.unwrap();
            assert_eq!(seq, 4, "{b}");
            let find = |f: EventFilter| {
                let store = store.clone();
                async move { store.events(&f).await.unwrap().into_iter().map(|e| e.at).collect::<Vec<_>>() }
            };
            assert_eq!(find(EventFilter::default()).await, [4, 3, 2, 1], "{b}");
            assert_eq!(find(EventFilter { actor: Some("BOB".into()), ..Default::default() }).await, [4, 3], "{b}");
            assert_eq!(find(EventFilter { app: Some("aws".into()), ..Default::default() }).await, [2], "{b}");
            let prefix = |p: &str| EventFilter { event: Some(p.into()), ..Default::default() };
            assert_eq!(find(prefix("user.session")).await, [3, 1], "{b}");
            assert_eq!(find(prefix("user.session.")).await, [1], "{b}");
            assert_eq!(find(prefix("user%")).await, Vec::<i64>::new(), "{b}: % is literal");
            assert_eq!(find(EventFilter { since: Some(2), until: Some(4), ..Default::default() }).await, [3, 2], "{b}");
            assert_eq!(find(EventFilter { limit: 1, ..Default::default() }).await, [4], "{b}");
        }
    }

    #[tokio::test]
    async fn a_batch_of_events_is_appended_in_order_and_versions_read_together() {
        let event =
            |at: i64| Event { at, actor: "a".into(), event: "e".into(), detail: "{}".into(), ..Event::default() };
        for store in both("batch").await {
            let b = store.backend();
            let first = store.append_event(&event(1)).await.unwrap();
            let batch: Vec<Event> = (2..=5).map(event).collect();
            let positions = store.append_events(&batch).await.unwrap();
            assert_eq!(positions, (first + 1..=first + 4).collect::<Vec<_>>(), "{b}");
            let stored = store.events(&EventFilter::default()).await.unwrap();
            assert_eq!(stored.iter().map(|e| e.at).collect::<Vec<_>>(), [5, 4, 3, 2, 1], "{b}");
            assert!(store.append_events(&[]).await.unwrap().is_empty(), "{b}");

            assert!(store.save("x", 3, "{}").await.unwrap());
            assert!(store.save("z", 7, "{}").await.unwrap());
            assert_eq!(store.versions(["x", "y", "z", "w"]).await.unwrap(), [Some(3), None, Some(7), None], "{b}");
            assert_eq!(
                store.versions(["z", "x", "z", "x"]).await.unwrap(),
                [Some(7), Some(3), Some(7), Some(3)],
                "{b}"
            );
            assert_eq!(store.bump("w").await.unwrap(), 1, "{b}");
            assert_eq!(store.bump("w").await.unwrap(), 2, "{b}");
            assert_eq!(store.bump("x").await.unwrap(), 4, "{b}");
            assert_eq!(store.versions(["w", "x", "y", "z"]).await.unwrap(), [Some(2), Some(4), None, Some(7)], "{b}");
        }
    }

    #[tokio::test]
    async fn save_all_writes_every_document_at_once_and_never_moves_one_back_and_replace_all_clears_a_prefix() {
        let doc = |name: &str, version: i64, body: &str| (name.to_owned(), version, body.to_owned());
        for store in both("save_all").await {
            let b = store.backend();
            store.save_all(&[]).await.unwrap();
            assert!(store.save("core", 5, "five").await.unwrap());
            store.save_all(&[doc("core", 4, "four"), doc("rec/a", 100, "a1"), doc("rec/b", 200, "b")]).await.unwrap();
            assert_eq!(
                store.load("core").await.unwrap(),
                Some((5, "five".to_owned())),
                "{b}: an older version is skipped"
            );
            store.save_all(&[doc("rec/a", 100, "a2"), doc("core", 6, "six")]).await.unwrap();
            assert_eq!(
                store.load("rec/a").await.unwrap(),
                Some((100, "a2".to_owned())),
                "{b}: the same version is rewritten"
            );
            assert_eq!(store.load("core").await.unwrap(), Some((6, "six".to_owned())), "{b}");
            let names: Vec<String> = store.list("rec/", 10).await.unwrap().into_iter().map(|(n, _, _)| n).collect();
            assert_eq!(names, ["rec/b", "rec/a"], "{b}");
            store.replace_all("rec/", &[doc("rec/c", 50, "c")]).await.unwrap();
            let names: Vec<String> = store.list("rec/", 10).await.unwrap().into_iter().map(|(n, _, _)| n).collect();
            assert_eq!(names, ["rec/c"], "{b}: what was under the prefix went");
            assert_eq!(store.version("core").await.unwrap(), Some(6), "{b}: the rest stayed");
        }
    }
}
