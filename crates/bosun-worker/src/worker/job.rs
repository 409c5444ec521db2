//! One job's task: its entry as a job, looked up (unless the reader did), run, and its
//! result handed to the finisher. The rare ways (malformed, done before, given up, to
//! be retried) settle the entry from here ([`super::settle`]).

use std::sync::Arc;

use redis::streams::StreamId;

use super::dispatch::{Read, parse};
use super::finish::{Finished, new_result};
use super::settle::{Unsettled, give_up, settle_one, settle_saved, unsettled};
use super::{InFlight, Shared};
use crate::config::Role;
use crate::metrics::{Disposition, count_job};
use crate::runner;
use crate::streams;

/// Runs one entry to its end: result saved, notification sent, entry acknowledged.
/// `read` is what the reader learned of it, if it did.
pub(super) async fn handle(
    shared: Arc<Shared>,
    role: Role,
    entry: StreamId,
    running: InFlight,
    attempts: u64,
    read: Option<Read>,
) {
    if let Err(e) = run_job(&shared, role, &entry, attempts, read, running).await {
        unsettled(&shared, role, &entry.id, &e);
    }
}

/// Runs the job of `entry` (unless it was done before, or is given up) and hands its
/// result to the finisher; the rare ways settle the entry here.
async fn run_job(
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
