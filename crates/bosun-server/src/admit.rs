//! Whether a job may get a new execution now: its duplicate policy, applied the same
//! way whoever triggers it (the API, a schedule, a file).

use bosun_store::{Job, Store, StoreError};

use crate::definition::{Definition, DuplicatePolicy};

/// A job's definition, or why it cannot run.
pub(crate) fn definition(job: &Job) -> Result<Definition, String> {
    Definition::parse(&job.definition)
        .map_err(|e| format!("job {:?} has an invalid definition: {e}", job.name))
}

/// False when `job` has an active execution and its policy is to skip new ones.
pub(crate) async fn admitted(
    store: &Store,
    job: &Job,
    definition: &Definition,
) -> Result<bool, StoreError> {
    Ok(definition.duplicate_policy != DuplicatePolicy::Skip
        || store.active_count(&job.id).await? == 0)
}
