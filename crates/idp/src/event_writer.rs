//! The system log's writer: entries logged at the same moment by many requests are stored in
//! one transaction (one commit, one sync to disk) instead of one each, and every caller still
//! waits until its own entry is stored. Under load the batches grow by themselves; alone, an
//! entry is written at once.

use idfed_store::{DocumentStore, Event};
use tokio::sync::{mpsc, oneshot};

/// At most this many entries share one statement (7 parameters each, well under every
/// database's limit on parameters).
const BATCH: usize = 256;
/// Entries waiting beyond this make their callers wait to queue (back-pressure, nothing dropped).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<i64, String>>;

pub struct EventWriter {
    queue: mpsc::Sender<(Event, Reply)>,
}

/// Why an entry was not stored.
#[derive(Debug)]
pub enum AppendError {
    /// The writer's task is gone (its runtime ended): the entry comes back, unwritten.
    Stopped(Event),
    /// The database refused the batch, or the task ended before answering.
    Failed(String),
}

impl EventWriter {
    /// Starts the writer's task on the current Tokio runtime; it ends when the writer is dropped.
    pub fn start(store: DocumentStore) -> EventWriter {
        let (queue, mut incoming) = mpsc::channel::<(Event, Reply)>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while incoming.recv_many(&mut batch, BATCH).await > 0 {
                let (events, replies): (Vec<Event>, Vec<Reply>) = batch.drain(..).unzip();
                match store.append_events(&events).await {
                    Ok(positions) => {
                        for (reply, seq) in replies.into_iter().zip(positions) {
                            // The caller may have gone away (its request was cancelled): nothing to tell.
                            let _ = reply.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        });
        EventWriter { queue }
    }

    /// Stores `event`, returning its position in the log once it is committed.
    pub async fn append(&self, event: Event) -> Result<i64, AppendError> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((event, _))) = self.queue.send((event, reply)).await {
            return Err(AppendError::Stopped(event));
        }
        match answer.await {
            Ok(written) => written.map_err(AppendError::Failed),
            Err(_) => Err(AppendError::Failed("the system log's writer stopped before answering".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> Event {
        Event { at: n, actor: "a".into(), event: "e".into(), detail: "{}".into(), ..Event::default() }
    }

    async fn store(label: &str) -> (DocumentStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("idfed-writer-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (DocumentStore::open_sqlite(&dir.join("log.sqlite")).await.unwrap(), dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_at_once_each_get_their_own_committed_position() {
        let (store, dir) = store("many").await;
        let writer = std::sync::Arc::new(EventWriter::start(store.clone()));
        let callers: Vec<_> = (0..300)
            .map(|n| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.append(event(n)).await.unwrap() })
            })
            .collect();
        let mut positions = Vec::new();
        for caller in callers {
            positions.push(caller.await.unwrap());
        }
        positions.sort_unstable();
        positions.dedup();
        assert_eq!(positions.len(), 300, "every entry has a position of its own");
        let filter = idfed_store::EventFilter { limit: 1000, ..Default::default() };
        let mut stored: Vec<i64> = store.events(&filter).await.unwrap().into_iter().map(|e| e.at).collect();
        stored.sort_unstable();
        assert_eq!(stored, (0..300).collect::<Vec<_>>(), "all entries stored, none twice");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_writer_whose_runtime_ended_hands_the_entry_back() {
        let started = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (writer, dir) = started.block_on(async {
            let (store, dir) = store("ended").await;
            (EventWriter::start(store), dir)
        });
        drop(started);
        let later = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        match later.block_on(writer.append(event(7))) {
            Err(AppendError::Stopped(back)) => assert_eq!(back.at, 7),
            other => panic!("expected the entry back, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
