//! The worker's loop: read as many entries as there are free slots, run each in a task
//! of its own, and for each one save the result, notify, and acknowledge, in that order.
//!
//! - One reader, on a connection of its own (a blocking `XREADGROUP` holds its
//!   connection), reads every role stream with room in one call. When there are fewer
//!   free slots in all than roles with room, it takes entries from the streams one
//!   after another in one script ([`streams::take_in_turn`]), never more than the free
//!   slots, and if none is waiting it waits for a new entry in any of them
//!   ([`streams::wait_past`]) without taking it. When a slot frees up for a role it
//!   left out, it interrupts its own blocked read with `CLIENT UNBLOCK`, which returns
//!   nothing read, so no entry is taken and then dropped.
//! - Every `claim_idle / 2` it also takes over entries pending longer than
//!   `claim_idle` on any consumer (`XAUTOCLAIM`): those of a dead worker, and its own
//!   that failed in a way worth retrying. After `max_attempts` deliveries an entry goes
//!   to the dead-letter stream with its last error. One `XAUTOCLAIM` looks at no more
//!   than ten times as many pending entries as it may take, so each goes on from where
//!   the last one stopped, and the whole pending list is looked at in turn.
//! - Redis counts an entry's idle time from its last delivery, not from the last sign
//!   of life of the worker running it, so every `claim_idle / 3` the worker resets the
//!   idle time of the entries it is running ([`claim::keep_claimed`]): a job longer than
//!   `claim_idle` is not taken over while it runs.
//! - The reader takes a slot for each entry it read and hands the read to the
//!   dispatcher ([`dispatch::dispatch`]), which looks the jobs' saved results up in one request
//!   and starts them while the reader reads again.
//! - Jobs that end at about the same time are finished together by one task
//!   ([`finish::finish`]): their results saved in one transaction, then notified and
//!   acknowledged in one atomic step on Redis ([`streams::settle`]), so each job's
//!   order (saved, then notified and acknowledged) holds and a batch costs two round
//!   trips instead of a few per job. The finisher saves one batch while the one before
//!   is notified. A job's task ends when it has handed its result over; its slot and
//!   its place among the running entries ([`InFlight`]) go with the result, and are
//!   given back once the entry is settled.
//! - Notifying and acknowledging are one atomic step: a job whose entry is still pending
//!   has not been notified, so nothing else records whether it was. (Two deliveries of
//!   one entry that both finish notify twice: that takes a worker stalled for longer
//!   than `claim_idle`, whose entries were taken over while it was alive.)
//! - A job whose result is saved is not run again. A redelivered entry whose delivery
//!   saved it is notified and acknowledged. If two entries of one job ran (the job was
//!   sent twice), the result saved first is the job's, and only its entry notifies;
//!   the other is acknowledged.
//! - A lost connection is retried with backoff; streams and groups that Redis lost
//!   (a restart without persistence) are made again.
//! - On shutdown it stops reading; running jobs get the drain deadline to end and be
//!   settled, then are stopped and their entries stay pending for another worker.
//!
//! Each stage is a module of its own: [`read`] (the reader), [`claim`] (taking over
//! idle entries, keeping this worker's claimed), [`dispatch`] (a read's lookup and
//! start), [`job`] (one job's task), [`settle`] (settling one entry alone: the rare
//! ways), [`finish`](mod@finish) (results saved, notified and acknowledged in
//! batches), [`notify`] (the notification) and [`sample`](mod@sample) (the stream
//! gauges). This module holds what they share and the run from the first read to the
//! drain.

mod claim;
mod dispatch;
mod finish;
mod job;
mod notify;
mod read;
mod sample;
mod settle;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use bosun_store::Store;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

use crate::config::{Role, WorkerConfig};
use crate::llm::LlmClient;
use crate::runner::JobRunner;
use crate::slots::{Slot, Slots};
use crate::streams;

pub(crate) use claim::keep_claimed;
pub(crate) use finish::{Finished, finish};
pub use notify::NOTIFICATION_FIELDS;
pub(crate) use sample::sample;

/// What the reader and the jobs share.
pub(crate) struct Shared {
    pub(crate) config: WorkerConfig,
    pub(crate) store: Store,
    pub(crate) client: redis::Client,
    pub(crate) conn: ConnectionManager,
    pub(crate) llm: LlmClient,
    pub(crate) slots: Slots,
    /// Cancelled when the drain deadline has passed: running jobs stop.
    pub(crate) stop_jobs: CancellationToken,
    /// The entries being run, by stream: their idle time is kept low.
    pub(crate) running: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// Counts the jobs not yet settled (an [`InFlight`] each), for the drain.
    pub(crate) unsettled: TaskTracker,
    /// Where jobs send their results to [`finish()`].
    pub(crate) finished: mpsc::UnboundedSender<Finished>,
    /// Roles whose jobs a runner of the embedding program runs.
    pub(crate) runners: Vec<(Role, Box<dyn JobRunner>)>,
}

/// A job from its read until its entry is settled (or left pending): its entry is in
/// [`Shared::running`] (its idle time kept low) and in the in-flight gauge, it holds
/// its slot, and the drain waits for it. The job's task hands it to [`finish()`] with
/// its result; whoever holds it last gives all of these back by dropping it.
pub(crate) struct InFlight {
    shared: Arc<Shared>,
    role: Role,
    id: String,
    /// Given back after the entry leaves [`Shared::running`] (fields drop after
    /// `drop` and in order), so a reader woken by it sees the entry gone.
    _slot: Slot,
    _unsettled: TaskTrackerToken,
}

impl InFlight {
    fn new(shared: Arc<Shared>, role: Role, id: &str, slot: Slot) -> Self {
        crate::metrics::in_flight(role).increment(1.0);
        {
            let mut running = shared
                .running
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let stream = shared.stream(role);
            match running.get_mut(stream) {
                Some(ids) => ids.insert(id.to_owned()),
                None => running
                    .entry(stream.to_owned())
                    .or_default()
                    .insert(id.to_owned()),
            };
        }
        let unsettled = shared.unsettled.token();
        Self {
            shared,
            role,
            id: id.to_owned(),
            _slot: slot,
            _unsettled: unsettled,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let stream = self.shared.stream(self.role);
        let mut running = self
            .shared
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(ids) = running.get_mut(stream) {
            ids.remove(&self.id);
            if ids.is_empty() {
                running.remove(stream);
            }
        }
        drop(running);
        crate::metrics::in_flight(self.role).decrement(1.0);
    }
}

impl Shared {
    fn stream(&self, role: Role) -> &str {
        &self.config.role(role).stream
    }

    fn role_of(&self, stream: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| self.config.role(*r).enabled && self.config.role(*r).stream == stream)
    }

    /// Makes every enabled stream's group, if missing.
    pub(crate) async fn ensure_groups(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        for role in Role::ALL
            .into_iter()
            .filter(|r| self.config.role(*r).enabled)
        {
            streams::ensure_group(&mut conn, self.stream(role), &self.config.group).await?;
        }
        Ok(())
    }
}

/// Reads and dispatches until `shutdown`, then drains.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    // The reader hands each read's entries, with their slots, to the dispatcher, which
    // looks their saved results up and starts them while the reader reads again. Both
    // end on shutdown, the dispatcher once it has started all it was handed.
    let (to_dispatch, entries) = mpsc::channel(1);
    let (mut claimed, mut jobs) = tokio::join!(
        read::read_jobs(&shared, &shutdown, to_dispatch),
        dispatch::dispatch(&shared, entries)
    );
    let running = jobs.len() + claimed.len();
    if running > 0 {
        tracing::info!(running, deadline = ?shared.config.drain_timeout, "shutting down: waiting for running jobs");
    }
    // Every job started holds an `InFlight` until its entry is settled (or left
    // pending), and its task ends once its result is with the finisher: the drain is
    // over when no `InFlight` is left.
    shared.unsettled.close();
    let drained = tokio::time::timeout(shared.config.drain_timeout, shared.unsettled.wait()).await;
    if drained.is_err() {
        tracing::warn!(
            "drain deadline passed: stopping the jobs still running; their entries stay pending for another worker"
        );
        shared.stop_jobs.cancel();
        shared.unsettled.wait().await;
    }
    while jobs.join_next().await.is_some() {}
    while claimed.join_next().await.is_some() {}
}
