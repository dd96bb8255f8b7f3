//! A sandbox kept in a store: changes made at the same moment share saves, and every change
//! acknowledged is in the store afterwards.

use std::sync::Arc;

use idfed_aws::server::Sandbox;
use idfed_aws::state::Account;
use idfed_store::DocumentStore;

use crate::common::now;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_are_all_saved() {
    let dir = std::env::temp_dir().join(format!("idfed-sandbox-saves-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aws.sqlite");
    let store = DocumentStore::open_sqlite(&path).await.unwrap();
    let sandbox = Arc::new(Sandbox::with_store(store, Arc::new(now), Vec::new()).await.unwrap());
    let changes: Vec<_> = (0..60)
        .map(|n| {
            let sandbox = sandbox.clone();
            tokio::spawn(async move {
                sandbox.state.lock().unwrap().accounts.push(Account { id: format!("{n:012}"), alias: None });
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
