//! The SQLite writer: one task that holds the store's writer connection and writes,
//! as one transaction, whatever queued up while it wrote the last.
//!
//! Executions are written far more often than anything else: created through the
//! API, then claimed, started and ended by a runner. On SQLite those writes take
//! turns anyway (one writer at a time, and a connection that finds the write lock
//! taken sleeps a millisecond or more before it tries again). So they queue here, on
//! one connection held for good ([`Link`]; a connection given back to its pool costs
//! one more round trip, a ping), and go in batches ([`Batch`]): under load one transaction
//! holds the writes of several executions; on an idle server each write goes at
//! once, alone. When a batch fails, each request in it is written alone, so that a
//! bad write fails by itself.
//!
//! Copying the write-ahead log back into the database (a checkpoint, with its
//! `fsync`s) is left to another connection, at most once a second while writes
//! come: SQLite would otherwise do it inside whichever commit found the log long,
//! and the writes queued behind that one would wait for the disk.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::batch::{Batch, unanswered};
use super::link::Link;
use super::{Created, ExecutionWrite, ExecutionWritten};
use crate::error::StoreError;
use crate::{Backend, Execution};

/// The most requests in one transaction.
const BATCH: usize = 64;

/// The shortest time between two checkpoints started by the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The handle on the writer's task.
pub(crate) struct Writer {
    /// Taken by [`Writer::close`].
    sender: Mutex<Option<mpsc::UnboundedSender<Request>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// A request, and where its answer goes.
enum Request {
    Create {
        execution: Box<Execution>,
        /// Whether it runs alone ([`crate::NewExecution::alone`]).
        alone: bool,
        /// Its job's `updated_at` (milliseconds) that it is created on, if any.
        version: Option<i64>,
        /// What was done.
        reply: oneshot::Sender<Result<Created, StoreError>>,
    },
    Write {
        writes: Vec<ExecutionWrite>,
        reply: oneshot::Sender<Vec<Result<ExecutionWritten, StoreError>>>,
    },
    /// Written alone, between batches.
    Prune {
        job_id: String,
        count: i64,
        reply: oneshot::Sender<Result<(u64, Vec<String>), StoreError>>,
    },
}

impl Writer {
    /// Starts the task, which writes on a connection of `pool` (a pool of one) and
    /// checkpoints on `others`.
    pub(crate) fn start(pool: AnyPool, others: AnyPool) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender: Mutex::new(Some(sender)),
            task: Mutex::new(Some(tokio::spawn(run(pool, others, receiver)))),
        }
    }

    /// Creates `execution` (Pending) with its first status event; with a `version`,
    /// only if its job's `updated_at` is still that (milliseconds); when `alone`,
    /// only if no execution of its job is active. Says what it did.
    pub(crate) async fn create(
        &self,
        execution: Execution,
        alone: bool,
        version: Option<i64>,
    ) -> Result<Created, StoreError> {
        let (reply, answer) = oneshot::channel();
        let execution = Box::new(execution);
        self.send(Request::Create {
            execution,
            alone,
            version,
            reply,
        })?;
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Does `writes` in order (as one transaction unless it fails) and says what
    /// each did.
    pub(crate) async fn write(
        &self,
        writes: Vec<ExecutionWrite>,
    ) -> Vec<Result<ExecutionWritten, StoreError>> {
        let count = writes.len();
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Request::Write { writes, reply });
        match sent {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| (0..count).map(|_| Err(closed())).collect()),
            Err(_) => (0..count).map(|_| Err(closed())).collect(),
        }
    }

    /// Deletes a job's `count` oldest finished executions, as
    /// [`crate::Store::prune_oldest`] says.
    pub(crate) async fn prune(
        &self,
        job_id: &str,
        count: i64,
    ) -> Result<(u64, Vec<String>), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Prune {
            job_id: job_id.to_owned(),
            count,
            reply,
        })?;
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Writes what is queued, then stops the task, which lets go of its connection.
    /// Later requests fail.
    pub(crate) async fn close(&self) {
        drop(
            self.sender
                .lock()
                .expect("the writer's sender is never poisoned")
                .take(),
        );
        let task = self
            .task
            .lock()
            .expect("the writer's task handle is never poisoned")
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn send(&self, request: Request) -> Result<(), StoreError> {
        let sender = self
            .sender
            .lock()
            .expect("the writer's sender is never poisoned");
        match sender.as_ref().map(|s| s.send(request)) {
            Some(Ok(())) => Ok(()),
            _ => Err(closed()),
        }
    }
}

/// The error of a request the closed store cannot write.
fn closed() -> StoreError {
    StoreError::Query {
        about: "recording executions",
        source: sqlx::Error::PoolClosed,
    }
}

/// The task: writes what queued up, one batch at a time, until every sender is gone.
async fn run(pool: AnyPool, others: AnyPool, mut receiver: mpsc::UnboundedReceiver<Request>) {
    let mut link = Link::new(pool, Backend::Sqlite);
    let mut batch = Vec::with_capacity(BATCH);
    let mut checkpoints = Checkpoints::new(others);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        checkpoints.maybe_start();
        let mut requests = std::mem::take(&mut batch);
        if requests.len() > 1 && !requests.iter().any(|r| matches!(r, Request::Prune { .. })) {
            // On failure, each alone (below) says which failed.
            if let Ok(answers) = together(&mut link, &requests).await {
                reply(requests, answers);
                continue;
            }
        }
        for request in requests.drain(..) {
            alone(&mut link, request).await;
        }
        batch = requests;
    }
}

/// Checkpoints on the other connections, one at a time.
struct Checkpoints {
    others: AnyPool,
    last: Instant,
    running: Option<JoinHandle<()>>,
}

impl Checkpoints {
    fn new(others: AnyPool) -> Self {
        Self {
            others,
            last: Instant::now(),
            running: None,
        }
    }

    /// Starts a checkpoint, unless one runs or one started lately. A passive one:
    /// it copies what no reader still needs, and waits for no one.
    fn maybe_start(&mut self) {
        let busy = self.running.as_ref().is_some_and(|c| !c.is_finished());
        if busy || self.last.elapsed() < CHECKPOINT_EVERY {
            return;
        }
        self.last = Instant::now();
        let others = self.others.clone();
        self.running = Some(tokio::spawn(async move {
            let checkpoint = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)");
            if let Err(e) = checkpoint.execute(&others).await {
                tracing::debug!("a checkpoint of the write-ahead log failed: {e}");
            }
        }));
    }
}

/// The answers of a batch: one per request, in order.
enum Answer {
    Created(Created),
    Written(Vec<ExecutionWritten>),
}

/// Writes every request as one transaction.
async fn together(link: &mut Link, requests: &[Request]) -> Result<Vec<Answer>, StoreError> {
    let mut batch = Batch::default();
    let mut writes = Vec::new();
    for request in requests {
        match request {
            Request::Create {
                execution,
                alone,
                version,
                ..
            } => batch.create(execution, *alone, *version),
            Request::Write { writes: some, .. } => writes.extend(some),
            Request::Prune { .. } => unreachable!("a prune is written alone"),
        }
    }
    for (slot, write) in writes.iter().enumerate() {
        batch.write(slot, write);
    }
    let mut done: Vec<ExecutionWritten> = writes.iter().map(|w| unanswered(w)).collect();
    let created = link.run(batch, &mut done).await?;
    let mut done = done.into_iter();
    Ok(requests
        .iter()
        .map(|request| match request {
            Request::Create { execution, .. } => Answer::Created(created.of(&execution.id)),
            Request::Write { writes, .. } => {
                Answer::Written(done.by_ref().take(writes.len()).collect())
            }
            Request::Prune { .. } => unreachable!("a prune is written alone"),
        })
        .collect())
}

/// Writes one request by itself (see [`Link`]).
async fn alone(link: &mut Link, request: Request) {
    match request {
        Request::Create {
            execution,
            alone,
            version,
            reply,
        } => {
            let _ = reply.send(link.create(&execution, alone, version).await);
        }
        Request::Write { writes, reply } => {
            let _ = reply.send(link.write(&writes).await);
        }
        Request::Prune {
            job_id,
            count,
            reply,
        } => {
            let _ = reply.send(link.prune(&job_id, count).await);
        }
    }
}

fn reply(requests: Vec<Request>, answers: Vec<Answer>) {
    for (request, answer) in requests.into_iter().zip(answers) {
        match (request, answer) {
            (Request::Create { reply, .. }, Answer::Created(created)) => {
                let _ = reply.send(Ok(created));
            }
            (Request::Write { reply, .. }, Answer::Written(done)) => {
                let _ = reply.send(done.into_iter().map(Ok).collect());
            }
            _ => unreachable!("together answers each request in its own kind, and no prune"),
        }
    }
}
