//! Settling one entry by itself, on the rare ways: a malformed entry, a job given up,
//! a job whose result was saved before. Also why an entry stays pending when it could
//! not be settled.

use bosun_store::WorkerResult;
use redis::streams::StreamId;

use super::Shared;
use super::finish::new_result;
use super::notify::notification;
use crate::config::Role;
use crate::message::JobMessage;
use crate::metrics::{Disposition, count_job};
use crate::streams;
use bosun_core::error::chain;

/// A step of a job's settling that failed and leaves the entry pending.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unsettled {
    #[error("Redis")]
    Redis(#[from] redis::RedisError),
    #[error("store")]
    Store(#[from] bosun_store::StoreError),
    /// A step done for several results at once failed, or the worker stopped first.
    #[error("{0}")]
    Batch(String),
}

/// Says why an entry could not be settled; it stays pending, to be taken over and
/// tried again after `claim_idle`.
pub(super) fn unsettled(shared: &Shared, role: Role, id: &str, why: &Unsettled) {
    metrics::counter!("bosun_worker_redis_errors_total").increment(1);
    tracing::warn!(stream = shared.stream(role), entry = %id, "could not finish an entry; it stays pending: {}", chain(why));
}

/// Gives up an entry delivered more than `max_attempts` times: its job's result is
/// saved as failed with the last error, and the entry goes to the dead-letter stream
/// with its notification sent.
pub(super) async fn give_up(
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
pub(super) async fn settle_one(
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
pub(super) async fn settle_saved(
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
pub(super) async fn settle_saved_since(
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
