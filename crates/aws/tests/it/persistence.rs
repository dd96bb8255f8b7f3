//! A sandbox kept in a store: changes made at the same moment share saves, every change
//! acknowledged is in the store afterwards, and short-lived records are saved one by one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use idfed_aws::server::{STATE_DOCUMENT, Sandbox};
use idfed_aws::state::{Account, ConsoleSession, Session};
use idfed_saml::Instant;
use idfed_store::DocumentStore;

use crate::common::{ROLE, now};

/// A fresh SQLite store in its own directory: (directory, file, store).
async fn fresh_sqlite(label: &str) -> (PathBuf, PathBuf, DocumentStore) {
    let dir = std::env::temp_dir().join(format!("idfed-sandbox-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aws.sqlite");
    let store = DocumentStore::open_sqlite(&path).await.unwrap();
    (dir, path, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_are_all_saved() {
    let (dir, path, store) = fresh_sqlite("saves").await;
    let sandbox = Arc::new(Sandbox::with_store(store, Arc::new(now), Vec::new()).await.unwrap());
    let changes: Vec<_> = (0..60)
        .map(|n| {
            let sandbox = sandbox.clone();
            tokio::spawn(async move {
                sandbox.state.lock().unwrap().accounts.push(Account {
                    id: format!("{n:012}"),
                    alias: None,
                    ..Default::default()
                });
                sandbox.persist().await.unwrap();
            })
        })
        .collect();
    for change in changes {
        change.await.unwrap();
    }
    drop(sandbox);
    let reopened =
        Sandbox::with_store(DocumentStore::open_sqlite(&path).await.unwrap(), Arc::new(now), Vec::new()).await.unwrap();
    let mut ids: Vec<String> = reopened.state.lock().unwrap().accounts.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, (0..60).map(|n| format!("{n:012}")).collect::<Vec<_>>(), "every acknowledged change was saved");
    let _ = std::fs::remove_dir_all(dir);
}

fn session(key: &str, expires: Instant) -> Session {
    Session {
        access_key: key.into(),
        secret: format!("secret-{key}"),
        token: format!("token-{key}"),
        expires,
        role_arn: ROLE.into(),
        account: "111122223333".into(),
        assumed_role_arn: format!("arn:aws:sts::111122223333:assumed-role/Okta_Role/{key}"),
        assumed_role_id: format!("AROAEXAMPLE:{key}"),
        source_identity: None,
        tags: BTreeMap::new(),
        saml: BTreeMap::new(),
        session_policies: Default::default(),
    }
}

async fn core_body(store: &DocumentStore) -> String {
    store.load(STATE_DOCUMENT).await.unwrap().unwrap().1
}

/// Sessions, replay marks and console sessions are records of their own: a call that adds
/// one writes it alone, the core document stays the same size, and everything comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_saved_as_records_and_the_core_does_not_grow() {
    for store in idfed_store::testing::stores("sandbox-records").await {
        let b = store.backend();
        let sandbox = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
        sandbox.ensure_account("111122223333", None, None).unwrap();
        sandbox.persist().await.unwrap();
        let core = core_body(&store).await;
        let core_version = store.version(STATE_DOCUMENT).await.unwrap();
        let live = now().plus_seconds(3600);
        for n in 0..50 {
            {
                let mut state = sandbox.state.lock().unwrap();
                state.add_session(session(&format!("ASIA{n:04}"), live));
                assert!(state.redeem(&format!("_assertion{n}"), live, now()));
            }
            sandbox.persist().await.unwrap();
        }
        {
            let mut state = sandbox.state.lock().unwrap();
            state.add_console_session(ConsoleSession {
                token: "console-1".into(),
                access_key: "ASIA0001".into(),
                expires: live,
                connect_user: None,
            });
        }
        sandbox.persist().await.unwrap();
        sandbox.state.lock().unwrap().console_session_mut("console-1").unwrap().connect_user =
            Some(("instance".into(), "user".into()));
        sandbox.persist().await.unwrap();
        assert_eq!(core_body(&store).await, core, "{b}: the core document does not hold sessions");
        assert_eq!(store.version(STATE_DOCUMENT).await.unwrap(), core_version, "{b}: nor is it written again");
        assert_eq!(store.list("aws-sandbox/session/", 100).await.unwrap().len(), 50, "{b}");

        let reopened = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
        let state = reopened.state.lock().unwrap();
        assert_eq!(state.sessions.len(), 50, "{b}");
        assert_eq!(state.sessions["ASIA0007"].secret, "secret-ASIA0007", "{b}");
        assert_eq!(state.redeemed.len(), 50, "{b}");
        let console = &state.console_sessions["console-1"];
        assert_eq!(console.connect_user, Some(("instance".into(), "user".into())), "{b}: the change was saved");
        assert_eq!(state.access_keys.len(), 1, "{b}: the core came back too");
    }
}

/// A state saved by an earlier idfed, sessions inside the one document, is read whole and
/// its sessions move into records at the first save.
#[tokio::test]
async fn a_state_with_sessions_inside_moves_them_into_records() {
    for store in idfed_store::testing::stores("sandbox-legacy").await {
        let b = store.backend();
        // The shape of the one document an earlier idfed wrote: the records inside it.
        let old = serde_json::json!({
            "accounts": [{"id": "111122223333", "alias": null}],
            "providers": {}, "roles": {}, "policies": {}, "users": {}, "access_keys": {},
            "sessions": {"ASIAOLD": session("ASIAOLD", now().plus_seconds(600))},
            "redeemed": {"_old": now().plus_seconds(300)},
            "console_sessions": {},
            "connect_instances": {}
        });
        assert!(store.save(STATE_DOCUMENT, 7, &old.to_string()).await.unwrap());

        let sandbox = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
        assert!(sandbox.state.lock().unwrap().sessions.contains_key("ASIAOLD"), "{b}");
        sandbox.persist().await.unwrap();
        let core = core_body(&store).await;
        assert!(!core.contains("ASIAOLD") && !core.contains("_old"), "{b}: {core}");
        assert_eq!(store.list("aws-sandbox/", 10).await.unwrap().len(), 2, "{b}");

        let reopened = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
        let state = reopened.state.lock().unwrap();
        assert!(state.sessions.contains_key("ASIAOLD") && state.redeemed.contains_key("_old"), "{b}");
        assert_eq!(state.accounts.len(), 1, "{b}");
    }
}

/// Records are purged from the store once they no longer matter: a replay mark when its
/// window closes, a session an hour after it ends. Until then they survive a restart, and a
/// mark still refuses its assertion again.
#[tokio::test]
async fn records_past_their_time_are_purged() {
    for store in idfed_store::testing::stores("sandbox-purge").await {
        let b = store.backend();
        let offset = Arc::new(AtomicI64::new(0));
        let clock = {
            let offset = offset.clone();
            Arc::new(move || now().plus_seconds(offset.load(Ordering::SeqCst)))
        };
        let sandbox = Sandbox::with_store(store.clone(), clock.clone(), Vec::new()).await.unwrap();
        let mark_until = now().plus_seconds(300);
        {
            let mut state = sandbox.state.lock().unwrap();
            state.add_session(session("ASIAEARLY", now().plus_seconds(60)));
            assert!(state.redeem("_early", mark_until, now()));
        }
        sandbox.persist().await.unwrap();
        let names = |store: DocumentStore| async move {
            let mut names: Vec<String> =
                store.list("aws-sandbox/", 10).await.unwrap().into_iter().map(|(n, _, _)| n).collect();
            names.sort();
            names
        };
        assert_eq!(names(store.clone()).await.len(), 2, "{b}");

        // Two minutes on, after a restart: the mark still refuses a replay.
        offset.store(120, Ordering::SeqCst);
        let restarted = Sandbox::with_store(store.clone(), clock.clone(), Vec::new()).await.unwrap();
        assert!(!restarted.state.lock().unwrap().redeem("_early", mark_until, clock()), "{b}: replay refused");

        // 50 minutes on: the mark's window has closed, the session ended 49 minutes ago.
        offset.store(3000, Ordering::SeqCst);
        restarted.state.lock().unwrap().add_session(session("ASIAMID", now().plus_seconds(6600)));
        restarted.persist().await.unwrap();
        assert_eq!(names(store.clone()).await, ["aws-sandbox/session/ASIAEARLY", "aws-sandbox/session/ASIAMID"], "{b}");

        // Two hours on: the first session ended over an hour ago.
        offset.store(7200, Ordering::SeqCst);
        restarted.state.lock().unwrap().add_session(session("ASIALATER", now().plus_seconds(7260)));
        restarted.persist().await.unwrap();
        assert_eq!(names(store.clone()).await, ["aws-sandbox/session/ASIALATER", "aws-sandbox/session/ASIAMID"], "{b}");
    }
}

/// A store-backed sandbox saved once, on a fresh SQLite file, and a second connection to that
/// file through which a test makes the database misbehave.
async fn saved_sandbox_with_admin(label: &str) -> (PathBuf, DocumentStore, Sandbox, sqlx::SqlitePool) {
    let (dir, path, store) = fresh_sqlite(label).await;
    let sandbox = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
    sandbox.persist().await.unwrap();
    let admin = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    (dir, store, sandbox, admin)
}

/// A save the database refuses is answered with an error, and what it would have written is
/// written by the next save: nothing the sandbox holds is left out of the store.
#[tokio::test]
async fn records_of_a_failed_save_are_written_by_the_next() {
    let (dir, store, sandbox, admin) = saved_sandbox_with_admin("refused").await;
    sqlx::raw_sql(
        "CREATE TRIGGER refuse BEFORE INSERT ON documents WHEN NEW.name LIKE 'aws-sandbox/%' \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .execute(&admin)
    .await
    .unwrap();
    {
        let mut state = sandbox.state.lock().unwrap();
        state.add_session(session("ASIAONE", now().plus_seconds(60)));
        state.accounts.push(Account { id: "444455556666".into(), alias: None, ..Default::default() });
    }
    let refused = sandbox.persist().await.unwrap_err();
    assert_eq!((refused.status, refused.code.as_str()), (503, "ServiceUnavailable"), "{}", refused.message);
    assert!(store.list("aws-sandbox/", 10).await.unwrap().is_empty());
    assert!(!core_body(&store).await.contains("444455556666"), "all or none: the core went with the records");

    sqlx::raw_sql("DROP TRIGGER refuse").execute(&admin).await.unwrap();
    sandbox.state.lock().unwrap().add_session(session("ASIATWO", now().plus_seconds(60)));
    sandbox.persist().await.unwrap();
    let mut names: Vec<String> = store.list("aws-sandbox/", 10).await.unwrap().into_iter().map(|(n, _, _)| n).collect();
    names.sort();
    assert_eq!(names, ["aws-sandbox/session/ASIAONE", "aws-sandbox/session/ASIATWO"]);
    assert!(core_body(&store).await.contains("444455556666"));
    let _ = std::fs::remove_dir_all(dir);
}

/// A save dropped part-way (its request went away while the database was busy) leaves what it
/// took for the next save: another caller's save still writes it.
#[tokio::test]
async fn records_of_a_dropped_save_are_written_by_the_next() {
    let (dir, store, sandbox, admin) = saved_sandbox_with_admin("dropped").await;
    let mut lock = admin.acquire().await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *lock).await.unwrap();

    sandbox.state.lock().unwrap().add_session(session("ASIADROPPED", now().plus_seconds(60)));
    let dropped = tokio::time::timeout(Duration::from_millis(300), sandbox.persist()).await;
    assert!(dropped.is_err(), "the save waits for the database's write lock, and is dropped");

    sqlx::raw_sql("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    sandbox.persist().await.unwrap();
    let names: Vec<String> = store.list("aws-sandbox/", 10).await.unwrap().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["aws-sandbox/session/ASIADROPPED"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Review finding: a running sandbox's save never silently loses to, nor silently overwrites,
/// what another process wrote to its store meanwhile (`idfed aws import`, a second sandbox):
/// the change is refused with a 503 saying so, and the other process's state stays.
#[tokio::test]
async fn a_store_changed_by_another_process_is_reported_not_overwritten() {
    for store in idfed_store::testing::stores("sandbox-elsewhere").await {
        let b = store.backend();
        let running = saved_then_imported_over(&store).await;
        let after_import = core_body(&store).await;

        running.ensure_account("777788889999", None, None).unwrap();
        let e = running.persist().await.unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("ServiceUnavailable", 503), "{b}");
        assert!(e.message.contains("changed by another process"), "{b}: {}", e.message);
        assert_eq!(core_body(&store).await, after_import, "{b}: the import stays");
        let later = running.persist().await.unwrap_err();
        assert!(
            later.message.contains("the sandbox is stopped"),
            "{b}: every later request says so: {}",
            later.message
        );

        let restarted = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
        let ids: Vec<String> = restarted.state.lock().unwrap().accounts.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids, ["444455556666"], "{b}");
        restarted.ensure_account("777788889999", None, None).unwrap();
        restarted.persist().await.unwrap();
    }
}

/// Review finding: a save that writes only records (a session, a replay mark: what sign-ins and
/// AssumeRoleWithSAML write) must see an import too; before, it went on issuing sessions from
/// the roles and providers the import had replaced.
#[tokio::test]
async fn a_save_of_records_only_also_sees_that_another_process_wrote_the_store() {
    for store in idfed_store::testing::stores("sandbox-elsewhere-records").await {
        let b = store.backend();
        let running = saved_then_imported_over(&store).await;

        running.state.lock().unwrap().add_session(session("ASIASTALE", now().plus_seconds(600)));
        let e = running.persist().await.unwrap_err();
        assert!(e.message.contains("changed by another process"), "{b}: {}", e.message);
        assert!(store.list("aws-sandbox/session/", 10).await.unwrap().is_empty(), "{b}: the session was not written");
        assert!(running.fresh().is_err(), "{b}: and the sandbox stops answering");
    }
}

/// A sandbox that saved an account to `store`, after which another process imported a state of
/// its own (account 444455556666) into the same store.
async fn saved_then_imported_over(store: &DocumentStore) -> Sandbox {
    let running = Sandbox::with_store(store.clone(), Arc::new(now), Vec::new()).await.unwrap();
    running.ensure_account("111122223333", None, None).unwrap();
    running.persist().await.unwrap();
    let mut imported = idfed_aws::state::State::default();
    imported.accounts.push(Account { id: "444455556666".into(), ..Default::default() });
    idfed_aws::persist::replace(store, &imported).await.unwrap();
    running
}
