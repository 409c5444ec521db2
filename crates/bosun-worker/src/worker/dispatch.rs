//! The dispatcher: looks up the saved results of a read's entries in one request and
//! starts each in a task of its own, while the reader reads again.

use std::collections::HashMap;
use std::sync::Arc;

use bosun_store::WorkerResult;
use redis::streams::StreamId;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::job::handle;
use super::{InFlight, Shared};
use crate::config::Role;
use crate::message::{self, JobMessage};
use crate::slots::Slot;
use bosun_core::error::chain;

/// Looks up the saved results of each read's entries (first deliveries) and starts
/// them, until the reader stops; returns their jobs, still running.
pub(super) async fn dispatch(
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
pub(super) struct Read {
    /// The entry as a job, or why it is not one.
    pub(super) job: Result<JobMessage, message::Malformed>,
    /// Its job's saved result (`Some(None)`: none); `None` when the lookup failed.
    pub(super) saved: Option<Option<WorkerResult>>,
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
                chain(&e)
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
pub(super) fn parse(role: Role, entry: &StreamId) -> Result<JobMessage, message::Malformed> {
    JobMessage::from_entry(role, &entry.map)
}
