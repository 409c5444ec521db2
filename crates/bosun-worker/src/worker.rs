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
//!   idle time of the entries it is running ([`keep_claimed`]): a job longer than
//!   `claim_idle` is not taken over while it runs.
//! - The reader takes a slot for each entry it read and hands the read to the
//!   dispatcher ([`dispatch`]), which looks the jobs' saved results up in one request
//!   and starts them while the reader reads again.
//! - Jobs that end at about the same time are finished together by one task
//!   ([`finish`]): their results saved in one transaction, then notified and
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_core::backoff::Backoff;
use bosun_store::{NewWorkerResult, Store, WorkerResult};
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::StreamId;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

use crate::config::{Role, WorkerConfig};
use crate::error::Chain;
use crate::llm::LlmClient;
use crate::message::{self, JobMessage};
use crate::metrics::{Disposition, count_job};
use crate::runner::{self, JobRunner};
use crate::slots::{Plan, Slot, Slots, Take};
use crate::streams::{self, Taken};

/// The first wait before trying to reach Redis again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The most results [`finish`] saves, notifies and acknowledges together.
const FINISH_BATCH: usize = 64;

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
    /// Where jobs send their results to [`finish`].
    pub(crate) finished: mpsc::UnboundedSender<Finished>,
    /// Roles whose jobs a runner of the embedding program runs.
    pub(crate) runners: Vec<(Role, Box<dyn JobRunner>)>,
}

/// A job from its read until its entry is settled (or left pending): its entry is in
/// [`Shared::running`] (its idle time kept low) and in the in-flight gauge, it holds
/// its slot, and the drain waits for it. The job's task hands it to [`finish`] with
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

/// Says why an entry could not be settled; it stays pending, to be taken over and
/// tried again after `claim_idle`.
fn unsettled(shared: &Shared, role: Role, id: &str, why: &Unsettled) {
    metrics::counter!("bosun_worker_redis_errors_total").increment(1);
    tracing::warn!(stream = shared.stream(role), entry = %id, "could not finish an entry; it stays pending: {}", Chain(why));
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

/// The reader's own connection and its client id (for `CLIENT UNBLOCK`).
struct ReadConnection {
    conn: MultiplexedConnection,
    id: i64,
}

async fn connect(shared: &Shared) -> redis::RedisResult<ReadConnection> {
    // No response timeout: a blocking read answers when it answers.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(None);
    let mut conn = shared
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut conn)
        .await?;
    shared.ensure_groups().await?;
    Ok(ReadConnection { conn, id })
}

/// Reads and dispatches until `shutdown`, then drains.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    // The reader hands each read's entries, with their slots, to the dispatcher, which
    // looks their saved results up and starts them while the reader reads again. Both
    // end on shutdown, the dispatcher once it has started all it was handed.
    let (to_dispatch, entries) = mpsc::channel(1);
    let (mut claimed, mut jobs) = tokio::join!(
        read_jobs(&shared, &shutdown, to_dispatch),
        dispatch(&shared, entries)
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

/// Reads (and takes over idle entries) until `shutdown`, handing what it reads to
/// [`dispatch`]; returns the jobs of the entries it took over, still running.
async fn read_jobs(
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    to_dispatch: mpsc::Sender<Vec<(Role, StreamId, Slot)>>,
) -> JoinSet<()> {
    let mut jobs = JoinSet::new();
    let mut reader: Option<ReadConnection> = None;
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    let mut next_claim = Instant::now();
    let mut claim_from = BTreeMap::new();
    while !shutdown.is_cancelled() {
        while jobs.try_join_next().is_some() {}
        let Some(plan) = shared.slots.plan() else {
            tokio::select! {
                () = shared.slots.freed().notified() => {}
                () = shutdown.cancelled() => break,
            }
            continue;
        };
        let Some(read) = reader.as_mut() else {
            match connect(shared).await {
                Ok(c) => {
                    if backoff.retrying() {
                        tracing::info!("connected to Redis again");
                    }
                    backoff.reset();
                    reader = Some(c);
                }
                Err(e) => {
                    metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                    let wait = backoff.next_delay();
                    tracing::warn!("cannot reach Redis (retrying in {wait:?}): {e}");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
            }
            continue;
        };
        if Instant::now() >= next_claim {
            next_claim =
                Instant::now() + (shared.config.claim_idle / 2).max(Duration::from_secs(1));
            claim(shared, &plan, &mut claim_from, &mut jobs).await;
            continue;
        }

        let result = read_once(shared, read, &plan, shutdown).await;
        match result {
            Ok(entries) => {
                let entries: Vec<(Role, StreamId, Slot)> = entries
                    .into_iter()
                    .filter_map(|(stream, entry)| {
                        let role = shared.role_of(&stream)?;
                        Some((role, entry, shared.slots.take(role)))
                    })
                    .collect();
                if !entries.is_empty() && to_dispatch.send(entries).await.is_err() {
                    break;
                }
            }
            Err(e) if streams::is_no_group(&e) => {
                tracing::warn!(
                    "a stream or its group is gone (was Redis restarted?); making them again"
                );
                if let Err(e) = shared.ensure_groups().await {
                    tracing::warn!("cannot make the consumer groups: {e}");
                    reader = None;
                }
            }
            Err(e) => {
                metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                tracing::warn!("reading from Redis failed: {e}");
                reader = None;
            }
        }
    }

    jobs
}

/// Looks up the saved results of each read's entries (first deliveries) and starts
/// them, until the reader stops; returns their jobs, still running.
async fn dispatch(
    shared: &Arc<Shared>,
    mut entries: mpsc::Receiver<Vec<(Role, StreamId, Slot)>>,
) -> JoinSet<()> {
    let mut jobs = JoinSet::new();
    while let Some(entries) = entries.recv().await {
        while jobs.try_join_next().is_some() {}
        let reads = prepare(shared, &entries).await;
        for ((role, entry, slot), read) in entries.into_iter().zip(reads) {
            let running = InFlight::new(shared.clone(), role, &entry.id, slot);
            jobs.spawn(handle(shared.clone(), role, entry, running, 1, Some(read)));
        }
    }
    jobs
}

/// What the reader learned of an entry before it runs.
struct Read {
    /// The entry as a job, or why it is not one.
    job: Result<JobMessage, message::Malformed>,
    /// Its job's saved result (`Some(None)`: none); `None` when the lookup failed.
    saved: Option<Option<WorkerResult>>,
}

/// Reads the jobs of `entries` (first deliveries) and looks up their saved results in
/// one request: what is learned of each, in order. If the lookup fails, each job looks
/// for itself.
async fn prepare(shared: &Shared, entries: &[(Role, StreamId, Slot)]) -> Vec<Read> {
    let jobs: Vec<Result<JobMessage, message::Malformed>> = entries
        .iter()
        .map(|(role, entry, _)| parse(*role, entry))
        .collect();
    let ids: Vec<&str> = jobs
        .iter()
        .filter_map(|job| Some(job.as_ref().ok()?.job_id.as_str()))
        .collect();
    let saved = match shared.store.worker_results(&ids).await {
        Ok(saved) => Some(saved),
        Err(e) => {
            tracing::debug!(
                "cannot look up saved results (each job will): {}",
                Chain(&e)
            );
            None
        }
    };
    let by_job: Option<HashMap<&str, &WorkerResult>> = saved
        .as_ref()
        .map(|saved| saved.iter().map(|r| (r.saved.job_id.as_str(), r)).collect());
    let known: Vec<Option<Option<WorkerResult>>> = jobs
        .iter()
        .map(|job| match (&by_job, job) {
            (Some(by_job), Ok(job)) => Some(by_job.get(job.job_id.as_str()).map(|r| (*r).clone())),
            _ => None,
        })
        .collect();
    jobs.into_iter()
        .zip(known)
        .map(|(job, saved)| Read { job, saved })
        .collect()
}

/// An entry as a job of `role`, or why it is not one.
fn parse(role: Role, entry: &StreamId) -> Result<JobMessage, message::Malformed> {
    JobMessage::from_entry(role, &entry.map)
}

/// One read under `plan`: the entries it took. A blocked read or wait is interrupted
/// (as a timeout: nothing taken) when a slot frees up for a role it left out, or on
/// shutdown.
async fn read_once(
    shared: &Shared,
    read: &mut ReadConnection,
    plan: &Plan,
    shutdown: &CancellationToken,
) -> redis::RedisResult<Vec<(String, StreamId)>> {
    let id = read.id;
    let names: Vec<&str> = plan.roles.iter().map(|(r, _)| shared.stream(*r)).collect();
    let block_ms = u64::try_from(shared.config.block.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let (group, consumer) = (&shared.config.group, &shared.config.consumer);
    match plan.take {
        Take::Each(count) => {
            let request = streams::read(&mut read.conn, group, consumer, &names, count, block_ms);
            interruptible(shared, id, plan, shutdown, request).await
        }
        Take::InTurn => {
            let counts: Vec<(&str, usize)> = names
                .iter()
                .zip(&plan.roles)
                .map(|(name, (_, room))| (*name, *room))
                .collect();
            let taken =
                streams::take_in_turn(&mut read.conn, group, consumer, &counts, plan.total).await?;
            match taken {
                Taken::Entries(entries) => Ok(entries),
                Taken::Nothing(newest) => {
                    // Nothing waits: wait for a new entry without taking it, then plan
                    // and take again (another worker may have taken it by then).
                    let wait = streams::wait_past(&mut read.conn, &names, &newest, block_ms);
                    interruptible(shared, id, plan, shutdown, wait).await?;
                    Ok(Vec::new())
                }
            }
        }
    }
}

/// Awaits `request`, a blocking command on the reader's connection (client `id`),
/// ending it early with `CLIENT UNBLOCK … TIMEOUT` (so it returns as if timed out,
/// nothing taken) when a slot frees up for a role `plan` left out, or on shutdown.
async fn interruptible<T>(
    shared: &Shared,
    id: i64,
    plan: &Plan,
    shutdown: &CancellationToken,
    request: impl Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    tokio::pin!(request);
    let wake = async {
        if plan.partial {
            tokio::select! {
                () = shared.slots.freed().notified() => {}
                () = shutdown.cancelled() => {}
            }
        } else {
            shutdown.cancelled().await;
        }
    };
    tokio::select! {
        result = &mut request => result,
        () = wake => {
            let mut conn = shared.conn.clone();
            let unblocked: redis::RedisResult<i64> = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(id)
                .arg("TIMEOUT")
                .query_async(&mut conn)
                .await;
            if unblocked.is_err() {
                // Without the unblock the read ends at its timeout anyway.
                tracing::debug!("could not interrupt the blocked read");
            }
            request.await
        }
    }
}

/// Takes over entries idle too long on any consumer, as many as `plan` has room for:
/// every role with room in turn, each up to its free slots, until the free slots in all
/// are used. Looks on from each stream's entry in `from` (and keeps where it stopped
/// there).
async fn claim(
    shared: &Arc<Shared>,
    plan: &Plan,
    from: &mut BTreeMap<Role, String>,
    jobs: &mut JoinSet<()>,
) {
    let mut conn = shared.conn.clone();
    let idle_ms = u64::try_from(shared.config.claim_idle.as_millis()).unwrap_or(u64::MAX);
    let mut left = plan.total;
    for (role, room) in &plan.roles {
        if left == 0 {
            break;
        }
        let stream = shared.stream(*role);
        let start = from.entry(*role).or_insert_with(|| "0-0".to_owned());
        let claimed = streams::autoclaim(
            &mut conn,
            stream,
            &shared.config.group,
            &shared.config.consumer,
            idle_ms,
            start,
            (*room).min(left),
        )
        .await;
        match claimed {
            Ok(reply) => {
                // At most the count asked for; an entry each takes a slot below.
                left = left.saturating_sub(reply.claimed.len());
                // "0-0" once the end was reached: the next look starts over.
                start.clone_from(&reply.next_stream_id);
                for id in &reply.deleted_ids {
                    tracing::warn!(stream, entry = %id, "a pending entry was deleted from its stream before it was done");
                }
                for entry in reply.claimed {
                    tracing::info!(stream, entry = %entry.id, "took over an entry pending too long");
                    let attempts =
                        streams::deliveries(&mut conn, stream, &shared.config.group, &entry.id)
                            .await
                            .unwrap_or(u64::from(shared.config.max_attempts));
                    let slot = shared.slots.take(*role);
                    let running = InFlight::new(shared.clone(), *role, &entry.id, slot);
                    jobs.spawn(handle(
                        shared.clone(),
                        *role,
                        entry,
                        running,
                        attempts,
                        None,
                    ));
                }
            }
            Err(e) if streams::is_no_group(&e) => *start = "0-0".to_owned(),
            Err(e) => {
                metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                tracing::warn!(stream, "cannot take over pending entries: {e}");
            }
        }
    }
}

/// Keeps the entries this worker is running from being taken over (see the module's
/// notes), every `claim_idle / 3`, until aborted: it goes on while jobs drain after
/// shutdown.
pub(crate) async fn keep_claimed(shared: Arc<Shared>) {
    let period = (shared.config.claim_idle / 3).max(Duration::from_millis(50));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let running: Vec<(String, Vec<String>)> = shared
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(stream, ids)| (stream.clone(), ids.iter().cloned().collect()))
            .collect();
        let mut conn = shared.conn.clone();
        for (stream, ids) in running {
            let kept = streams::keep_claimed(
                &mut conn,
                &stream,
                &shared.config.group,
                &shared.config.consumer,
                &ids,
            )
            .await;
            match kept {
                Ok(kept) if kept < ids.len() as u64 => tracing::debug!(
                    stream,
                    lost = ids.len() as u64 - kept,
                    "entries being run here are no longer pending here (taken over, or Redis lost them)"
                ),
                Ok(_) => {}
                // The reader notices a lost connection or group and deals with it.
                Err(e) => tracing::debug!(stream, "cannot keep running entries claimed: {e}"),
            }
        }
    }
}

/// Runs one entry to its end: result saved, notification sent, entry acknowledged.
/// `read` is what the reader learned of it, if it did.
async fn handle(
    shared: Arc<Shared>,
    role: Role,
    entry: StreamId,
    running: InFlight,
    attempts: u64,
    read: Option<Read>,
) {
    if let Err(e) = settle(&shared, role, &entry, attempts, read, running).await {
        unsettled(&shared, role, &entry.id, &e);
    }
}

/// A step of [`settle`] that failed and leaves the entry pending.
#[derive(Debug, thiserror::Error)]
enum Unsettled {
    #[error("Redis")]
    Redis(#[from] redis::RedisError),
    #[error("store")]
    Store(#[from] bosun_store::StoreError),
    /// A step done for several results at once failed, or the worker stopped first.
    #[error("{0}")]
    Batch(String),
}

async fn settle(
    shared: &Shared,
    role: Role,
    entry: &StreamId,
    attempts: u64,
    read: Option<Read>,
    running: InFlight,
) -> Result<(), Unsettled> {
    let stream = shared.stream(role);
    let (job, known) = match read {
        Some(read) => (read.job, read.saved),
        None => (parse(role, entry), None),
    };
    let job = match job {
        Ok(job) => job,
        Err(malformed) => {
            tracing::warn!(stream, entry = %entry.id, "a malformed entry goes to the dead-letter stream: {malformed}");
            let error = format!("malformed entry: {malformed}");
            let record = streams::dead_record(stream, &entry.id, &entry.map, &error, attempts);
            Box::pin(settle_one(
                shared,
                role,
                &entry.id,
                attempts,
                None,
                Some(&record),
            ))
            .await?;
            count_job(role, Disposition::Malformed);
            return Ok(());
        }
    };

    // The rare ways (a lookup of its own, a job done before, a job given up) are boxed,
    // so that every job's task does not carry the room their futures need.
    let known = match known {
        Some(known) => known,
        None => Box::pin(shared.store.worker_result(&job.job_id)).await?,
    };
    if let Some(saved) = known {
        return Box::pin(settle_saved(
            shared, role, &job, &entry.id, attempts, &saved,
        ))
        .await;
    }
    if attempts > u64::from(shared.config.max_attempts) {
        return Box::pin(give_up(shared, role, entry, attempts, &job)).await;
    }

    let outcome = match shared.runners.iter().find(|(r, _)| *r == role) {
        Some((_, custom)) => custom.run(&job, &shared.stop_jobs).await,
        // Boxed: the built-in runners' futures are large, and every job's task would
        // carry their room (and have it copied about) whichever runner it uses.
        None => {
            let config = &shared.config;
            Box::pin(runner::run(
                config,
                &shared.llm,
                role,
                &job,
                &entry.id,
                &shared.stop_jobs,
            ))
            .await
        }
    };
    let outcome = match outcome {
        Err(failed) if failed.transient => {
            let mut conn = shared.conn.clone();
            let group = &shared.config.group;
            let remember =
                streams::remember_error(&mut conn, stream, group, &entry.id, &failed.message);
            Box::pin(remember).await?;
            tracing::warn!(stream, entry = %entry.id, job = %job.job_id, attempts, "job failed, to be tried again: {}", failed.message);
            count_job(role, Disposition::Retry);
            return Ok(());
        }
        Err(failed) => Err(failed.message),
        Ok(reply) => Ok(reply),
    };
    // Saved, notified and acknowledged together with other jobs' results, by the
    // finisher, which gives back what `running` holds when it is done.
    let result = Finished {
        new: new_result(shared, role, &job, &entry.id, attempts, outcome),
        job,
        running,
    };
    if shared.finished.send(result).is_err() {
        return Err(Unsettled::Batch("the worker stopped first".to_owned()));
    }
    Ok(())
}

/// Gives up an entry delivered more than `max_attempts` times: its job's result is
/// saved as failed with the last error, and the entry goes to the dead-letter stream
/// with its notification sent.
async fn give_up(
    shared: &Shared,
    role: Role,
    entry: &StreamId,
    attempts: u64,
    job: &JobMessage,
) -> Result<(), Unsettled> {
    let stream = shared.stream(role);
    let mut conn = shared.conn.clone();
    let last = streams::last_error(&mut conn, stream, &shared.config.group, &entry.id)
        .await?
        .unwrap_or_else(|| "no error was recorded (a worker stopped while running it)".to_owned());
    let error = format!("gave up after {} attempts: {last}", attempts - 1);
    let new = new_result(shared, role, job, &entry.id, attempts, Err(error.clone()));
    let Some(finished_at) = shared.store.save_worker_results(vec![new]).await?[0] else {
        return settle_saved_since(shared, role, job, &entry.id, attempts).await;
    };
    let record = streams::dead_record(stream, &entry.id, &entry.map, &error, attempts);
    let id = uuid::Uuid::now_v7().to_string();
    let notification = notification(id, role, job.clone(), false, error, finished_at);
    let (notification, record) = (Some(&notification[..]), Some(&record[..]));
    settle_one(shared, role, &entry.id, attempts, notification, record).await?;
    count_job(role, Disposition::DeadLetter);
    Ok(())
}

/// Settles one entry, delivered for the `attempts`th time (see [`streams::settle`]).
async fn settle_one(
    shared: &Shared,
    role: Role,
    id: &str,
    attempts: u64,
    notification: Option<&[(&str, String)]>,
    dead: Option<&[(String, Vec<u8>)]>,
) -> redis::RedisResult<()> {
    let entry = streams::Settle {
        stream: shared.stream(role),
        id,
        notification,
        dead,
        retried: attempts > 1,
    };
    let config = &shared.config;
    let mut conn = shared.conn.clone();
    streams::settle(
        &mut conn,
        &config.group,
        &config.updates,
        &config.dead_letter,
        config.keep,
        &[entry],
    )
    .await
}

/// Settles an entry whose job has a saved result, without running it. If this entry's
/// delivery saved it (the worker stopped before the notification), the notification
/// goes out with the acknowledgement. If another entry's did (the job was sent twice),
/// the result and its notification are that entry's, which stays pending until they
/// are sent: this one is only acknowledged.
async fn settle_saved(
    shared: &Shared,
    role: Role,
    job: &JobMessage,
    entry_id: &str,
    attempts: u64,
    saved: &WorkerResult,
) -> Result<(), Unsettled> {
    let stream = shared.stream(role);
    let this_entry = saved.saved.stream == stream && saved.saved.entry_id == entry_id;
    count_job(role, Disposition::Duplicate);
    if this_entry {
        let notification = notification(
            uuid::Uuid::now_v7().to_string(),
            role,
            job.clone(),
            saved.saved.succeeded,
            saved.saved.output.clone(),
            saved.finished_at,
        );
        settle_one(shared, role, entry_id, attempts, Some(&notification), None).await?;
    } else {
        tracing::info!(stream, entry = %entry_id, job = %job.job_id, first = %saved.saved.entry_id, "this job's result was saved by another entry of it; this one is acknowledged");
        let mut conn = shared.conn.clone();
        streams::ack(&mut conn, stream, &shared.config.group, entry_id).await?;
    }
    Ok(())
}

/// [`settle_saved`] for a job whose result another delivery saved while this one ran.
async fn settle_saved_since(
    shared: &Shared,
    role: Role,
    job: &JobMessage,
    entry_id: &str,
    attempts: u64,
) -> Result<(), Unsettled> {
    match shared.store.worker_result(&job.job_id).await? {
        Some(saved) => settle_saved(shared, role, job, entry_id, attempts, &saved).await,
        None => Err(Unsettled::Batch(format!(
            "the result of job {} was saved, then was gone",
            job.job_id
        ))),
    }
}

/// A job's result, for [`finish`].
pub(crate) struct Finished {
    job: JobMessage,
    new: NewWorkerResult,
    /// The job's role, entry, slot and the rest, given back once its entry is settled
    /// (or not).
    running: InFlight,
}

/// A job whose result [`finish`] saved, to be notified and acknowledged.
struct Saved {
    job: JobMessage,
    succeeded: bool,
    output: String,
    attempts: u64,
    finished_at: DateTime<Utc>,
    running: InFlight,
}

/// Saves and settles the results jobs send, as many at once as have come in (up to
/// [`FINISH_BATCH`]), in the order one job's would be: all saved (one transaction),
/// then all notified and acknowledged (one MULTI, [`streams::settle`]). Runs until
/// aborted, after the jobs have ended.
pub(crate) async fn finish(shared: Arc<Shared>, mut results: mpsc::UnboundedReceiver<Finished>) {
    // Two stages, so that one batch is saved while the one before is notified: the
    // store and Redis are waited on at the same time. At most one saved batch waits
    // between them. Each job's order (saved, then notified and acknowledged) holds.
    let (saved_tx, mut saved_rx) = mpsc::channel::<Vec<Saved>>(1);
    let save = async {
        let mut batch = Vec::with_capacity(FINISH_BATCH);
        while results.recv_many(&mut batch, FINISH_BATCH).await > 0 {
            let saved = save_batch(&shared, std::mem::take(&mut batch)).await;
            if !saved.is_empty() && saved_tx.send(saved).await.is_err() {
                break;
            }
        }
        drop(saved_tx);
    };
    let settle = async {
        while let Some(saved) = saved_rx.recv().await {
            settle_batch(&shared, saved).await;
        }
    };
    tokio::join!(save, settle);
}

/// Saves a batch's results; those saved now. A job whose result another delivery
/// saved first is settled as one (rare).
async fn save_batch(shared: &Shared, batch: Vec<Finished>) -> Vec<Saved> {
    // The rows go to the store; each job keeps what its notification needs.
    let (rows, kept): (Vec<NewWorkerResult>, Vec<_>) = batch
        .into_iter()
        .map(|f| {
            let attempts = u64::try_from(f.new.attempts).unwrap_or(u64::MAX);
            let kept = (
                f.job,
                f.new.succeeded,
                f.new.output.clone(),
                attempts,
                f.running,
            );
            (f.new, kept)
        })
        .unzip();
    let saved = match shared.store.save_worker_results(rows).await {
        Ok(saved) => saved,
        Err(e) => {
            fail(
                shared,
                kept.iter().map(|(.., running)| running),
                &format!("store: {}", Chain(&e)),
            );
            return Vec::new();
        }
    };
    let mut first = Vec::with_capacity(kept.len());
    for ((job, succeeded, output, attempts, running), finished_at) in kept.into_iter().zip(saved) {
        match finished_at {
            Some(finished_at) => first.push(Saved {
                job,
                succeeded,
                output,
                attempts,
                finished_at,
                running,
            }),
            None => {
                let role = running.role;
                let settled = settle_saved_since(shared, role, &job, &running.id, attempts).await;
                if let Err(e) = settled {
                    unsettled(shared, role, &running.id, &e);
                }
            }
        }
    }
    first
}

/// Sends the notifications of saved results and acknowledges their entries, in one
/// MULTI ([`streams::settle`]).
async fn settle_batch(shared: &Shared, mut saved: Vec<Saved>) {
    let ids = message_ids(saved.len());
    // The notifications take the jobs' fields and replies: nothing needs them after.
    let notifications: Vec<Vec<(&str, String)>> = saved
        .iter_mut()
        .zip(ids)
        .map(|(s, id)| {
            let job = std::mem::take(&mut s.job);
            let output = std::mem::take(&mut s.output);
            notification(id, s.running.role, job, s.succeeded, output, s.finished_at)
        })
        .collect();
    let entries: Vec<streams::Settle<'_>> = saved
        .iter()
        .zip(&notifications)
        .map(|(s, notification)| streams::Settle {
            stream: shared.stream(s.running.role),
            id: &s.running.id,
            notification: Some(notification),
            dead: None,
            retried: s.attempts > 1,
        })
        .collect();
    let config = &shared.config;
    let mut conn = shared.conn.clone();
    let settled = streams::settle(
        &mut conn,
        &config.group,
        &config.updates,
        &config.dead_letter,
        config.keep,
        &entries,
    )
    .await;
    drop(entries);
    if let Err(e) = settled {
        return fail(
            shared,
            saved.iter().map(|s| &s.running),
            &format!("Redis: {e}"),
        );
    }
    for s in saved {
        let outcome = if s.succeeded {
            Disposition::Succeeded
        } else {
            Disposition::Failed
        };
        count_job(s.running.role, outcome);
    }
}

/// Says, for every job of a batch, that its entry stays pending, and why.
fn fail<'a>(shared: &Shared, jobs: impl Iterator<Item = &'a InFlight>, why: &str) {
    for running in jobs {
        unsettled(
            shared,
            running.role,
            &running.id,
            &Unsettled::Batch(why.to_owned()),
        );
    }
}

/// The row that records a job's outcome.
fn new_result(
    shared: &Shared,
    role: Role,
    job: &JobMessage,
    entry_id: &str,
    attempts: u64,
    outcome: Result<String, String>,
) -> NewWorkerResult {
    let (succeeded, output) = match outcome {
        Ok(reply) => (true, reply),
        Err(error) => (false, error),
    };
    NewWorkerResult {
        job_id: job.job_id.clone(),
        role,
        stream: shared.stream(role).to_owned(),
        entry_id: entry_id.to_owned(),
        workflow_id: job.workflow_id.clone(),
        user_id: job.user_id.clone(),
        project_id: job.project_id.clone(),
        connection_id: job.connection_id.clone(),
        succeeded,
        output,
        consumer: shared.config.consumer.clone(),
        attempts: i64::try_from(attempts).unwrap_or(i64::MAX),
    }
}

/// `n` new notification ids: version 7 UUIDs (time-ordered), one drawn at random and
/// the next ones counted on from it in its random bits, so that a batch costs one
/// draw (a system call) instead of one a job.
fn message_ids(n: usize) -> Vec<String> {
    /// The random bits at the end of a version 7 UUID (`rand_b`).
    const RANDOM: u128 = (1 << 62) - 1;
    let first = uuid::Uuid::now_v7().as_u128();
    (0..n as u128)
        .map(|i| {
            let id = (first & !RANDOM) | (first.wrapping_add(i) & RANDOM);
            uuid::Uuid::from_u128(id).to_string()
        })
        .collect()
}

/// A saved result's notification, with seed 003's fields.
fn notification(
    message_id: String,
    role: Role,
    job: JobMessage,
    succeeded: bool,
    output: String,
    finished_at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let kind = match (role, succeeded) {
        (Role::Chat, true) => "chat",
        (_, true) => "result",
        (_, false) => "error",
    };
    vec![
        ("MessageId", message_id),
        ("NodeId", job.job_id.clone()),
        ("ProjectId", job.project_id),
        ("UserId", job.user_id),
        ("Type", kind.to_owned()),
        ("Payload", output),
        ("Timestamp", finished_at.to_rfc3339()),
        ("JobId", job.job_id),
        ("WorkflowId", job.workflow_id),
        ("ConnectionId", job.connection_id),
        ("Role", role.name().to_owned()),
    ]
}

/// Samples stream lengths and pending counts for the metrics, every few seconds.
pub(crate) async fn sample(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let mut conn = shared.conn.clone();
        for role in Role::ALL
            .into_iter()
            .filter(|r| shared.config.role(*r).enabled)
        {
            let stream = shared.stream(role).to_owned();
            let length: redis::RedisResult<u64> =
                redis::cmd("XLEN").arg(&stream).query_async(&mut conn).await;
            let pending: redis::RedisResult<(u64, redis::Value, redis::Value, redis::Value)> =
                redis::cmd("XPENDING")
                    .arg(&stream)
                    .arg(&shared.config.group)
                    .query_async(&mut conn)
                    .await;
            if let Ok(n) = length {
                metrics::gauge!("bosun_worker_stream_length", "stream" => stream.clone())
                    .set(n as f64);
            }
            if let Ok((n, ..)) = pending {
                metrics::gauge!("bosun_worker_stream_pending", "stream" => stream).set(n as f64);
            }
        }
    }
}

/// The fields of a notification, for tests and documentation: name → meaning.
pub const NOTIFICATION_FIELDS: &[(&str, &str)] = &[
    ("MessageId", "a new id per notification"),
    ("NodeId", "the job's jobId"),
    ("ProjectId", "projectId"),
    ("UserId", "userId"),
    ("Type", "result, error, or chat"),
    ("Payload", "the reply (or the error)"),
    ("Timestamp", "when the job ended, RFC 3339"),
];

#[cfg(test)]
mod tests {
    use super::message_ids;

    #[test]
    fn the_message_ids_of_a_batch_are_distinct_version_7_uuids() {
        let ids = message_ids(500);
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 500);
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 7, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        assert_ne!(message_ids(1), message_ids(1), "each batch draws anew");
    }
}
