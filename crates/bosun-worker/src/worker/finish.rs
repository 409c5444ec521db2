//! The finisher: jobs that end at about the same time are saved in one transaction,
//! then notified and acknowledged in one atomic step on Redis, one batch saved while
//! the one before is notified.

use std::sync::Arc;

use bosun_store::NewWorkerResult;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::notify::{message_ids, notification};
use super::settle::{Unsettled, settle_saved_since, unsettled};
use super::{InFlight, Shared};
use crate::config::Role;
use crate::message::JobMessage;
use crate::metrics::{Disposition, count_job};
use crate::streams;
use bosun_core::error::chain;

/// The most results [`finish`] saves, notifies and acknowledges together.
const FINISH_BATCH: usize = 64;

/// A job's result, for [`finish`].
pub(crate) struct Finished {
    pub(super) job: JobMessage,
    pub(super) new: NewWorkerResult,
    /// The job's role, entry, slot and the rest, given back once its entry is settled
    /// (or not).
    pub(super) running: InFlight,
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
                &format!("store: {}", chain(&e)),
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
pub(super) fn new_result(
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
