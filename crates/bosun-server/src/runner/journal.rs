//! The runner's writes to the store, gathered into as few transactions as the
//! store's pace allows.
//!
//! Each execution the runner starts writes its start and its end. They go to one
//! task, which takes whatever queued up while it wrote the previous batch and
//! writes it in one call ([`Store::write_all`], one transaction on SQLite): under
//! load a batch holds the writes of several executions, and on an idle server each
//! write goes at once, alone. Writes keep their order (an execution's start before
//! its end), and this task tallies the ends for each job's history limit
//! ([`History`]) after writing them, so a count of the history never races an end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bosun_core::error::chain;
use bosun_store::{ExecutionWrite, ExecutionWritten, Finish, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

use super::history::History;

/// The most writes in one transaction.
const BATCH: usize = 64;

type Reply = oneshot::Sender<Result<ExecutionWritten, StoreError>>;

/// A handle on the journal's task; cheap to clone.
#[derive(Clone)]
pub(super) struct Journal {
    sender: mpsc::UnboundedSender<Entry>,
}

/// One write, and who waits for its answer.
struct Entry {
    write: ExecutionWrite,
    /// For an end: its job and the job's history limit.
    history: Option<(String, i64)>,
    reply: Reply,
}

impl Journal {
    /// Starts the journal's task. It ends once every handle is dropped and all
    /// they sent is written (each sender waits for its answer). The log directories
    /// of pruned executions are deleted when they are inside `logs`.
    pub(super) fn start(store: Store, logs: PathBuf) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write(store, logs, receiver));
        Self { sender }
    }

    /// Records that an execution's process started (`running` is an
    /// [`ExecutionWrite::Running`]).
    pub(super) async fn started(&self, running: ExecutionWrite) -> Result<(), StoreError> {
        self.ask(running, None).await.map(|_| ())
    }

    /// Records how an execution of `job_id` ended, then keeps the job's history to
    /// `keep`; false when it had already ended.
    pub(super) async fn ended(
        &self,
        id: &str,
        job_id: &str,
        finish: Finish,
        keep: i64,
    ) -> Result<bool, StoreError> {
        let end = ExecutionWrite::Finish {
            id: id.to_owned(),
            finish,
        };
        match self.ask(end, Some((job_id.to_owned(), keep))).await? {
            ExecutionWritten::Finished(ended) => Ok(ended),
            other => unreachable!("an end is answered as one, not {other:?}"),
        }
    }

    async fn ask(
        &self,
        write: ExecutionWrite,
        history: Option<(String, i64)>,
    ) -> Result<ExecutionWritten, StoreError> {
        let (reply, answer) = oneshot::channel();
        let entry = Entry {
            write,
            history,
            reply,
        };
        self.sender
            .send(entry)
            .expect("the journal's task lives as long as a handle");
        answer
            .await
            .expect("the journal's task answers every write it takes")
    }
}

/// The journal's task: writes what queued up, one batch at a time.
async fn write(store: Store, logs: PathBuf, mut receiver: mpsc::UnboundedReceiver<Entry>) {
    let mut history = History::default();
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let writes: Vec<ExecutionWrite> = batch.iter().map(|e| e.write.clone()).collect();
        let mut done = store.write_all(&writes).await.into_iter();
        // Ends recorded, per job: how many, and the job's history limit.
        let mut ended: HashMap<String, (i64, i64)> = HashMap::new();
        let mut replies = Vec::with_capacity(batch.len());
        for entry in batch.drain(..) {
            let result = done.next().expect("write_all answers every write");
            if let (Some((job_id, keep)), Ok(ExecutionWritten::Finished(true))) =
                (entry.history, &result)
            {
                let count = ended.entry(job_id).or_insert((0, keep));
                *count = (count.0 + 1, keep);
            }
            replies.push((entry.reply, result));
        }
        for (job_id, (count, keep)) in ended {
            match history.trim(&store, &job_id, count, keep).await {
                Ok(pruned) => remove_logs(&logs, &pruned),
                Err(e) => tracing::warn!(job = %job_id, "could not prune history: {}", chain(&e)),
            }
        }
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
    }
}

/// Deletes the log directories of pruned executions, only ever inside `logs`.
pub(crate) fn remove_logs(logs: &Path, pruned: &[String]) {
    for log in pruned {
        if let Some(dir) = Path::new(log).parent().filter(|d| d.starts_with(logs)) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
