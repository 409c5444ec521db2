//! Whether a job may get a new execution now: its duplicate policy, applied the same
//! way whoever triggers it (the API, a schedule, a file).
//!
//! `skip` is decided by the store, in the write that creates the execution
//! ([`bosun_store::NewExecution::alone`]): a check made before the write would let
//! requests that arrive together all find the job idle and all be admitted.

use bosun_store::{Job, NewExecution};

use crate::definition::{Definition, DuplicatePolicy};

/// A job's definition, or why it cannot run.
pub(crate) fn definition(job: &Job) -> Result<Definition, String> {
    Definition::parse(&job.definition)
        .map_err(|e| format!("job {:?} has an invalid definition: {e}", job.name))
}

/// `new`, to be created as `definition`'s duplicate policy says: with `skip`, only
/// while no other execution of its job is Pending or Running.
pub(crate) fn under_policy(new: NewExecution, definition: &Definition) -> NewExecution {
    match definition.duplicate_policy {
        DuplicatePolicy::Skip => new.alone(),
        DuplicatePolicy::Queue | DuplicatePolicy::Allow => new,
    }
}

/// Why a run of `job` was refused under `skip`, and what to do about it.
pub(crate) fn refusal(job: &Job) -> String {
    format!(
        "job {:?} is already running and its duplicatePolicy is \"skip\": wait for it, cancel it, or set duplicatePolicy to \"queue\" or \"allow\"",
        job.name
    )
}
