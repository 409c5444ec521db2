//! The jobs run requests named lately, so that a run request does not read its job
//! from the store first: the store checks, in the write that creates the execution,
//! that the job is still as it was read (`Store::create_execution_if_current`). A
//! job changed or deleted since, here or by another server on the same store, so
//! costs one refused write and a fresh read, never a run of an old definition.
//!
//! Entries are by tenant and by the name or id the request used. Changing or deleting
//! a job through this server forgets it at once.

use std::collections::HashMap;
use std::sync::Mutex;

use bosun_store::Job;

/// The most entries kept; a full map is emptied and fills again.
const MOST: usize = 1024;

/// Jobs as last read, by tenant and the name or id that found them.
#[derive(Default)]
pub(crate) struct KnownJobs {
    jobs: Mutex<HashMap<(String, String), Job>>,
}

impl KnownJobs {
    /// The job `key` (a name or an id) of the tenant, as last read.
    pub(crate) fn get(&self, tenant_id: &str, key: &str) -> Option<Job> {
        let jobs = self.jobs.lock().expect("the known jobs are never poisoned");
        jobs.get(&(tenant_id.to_owned(), key.to_owned())).cloned()
    }

    /// Keeps `job`, found by `key`.
    pub(crate) fn put(&self, key: &str, job: &Job) {
        let mut jobs = self.jobs.lock().expect("the known jobs are never poisoned");
        if jobs.len() >= MOST {
            jobs.clear();
        }
        jobs.insert((job.tenant_id.clone(), key.to_owned()), job.clone());
    }

    /// Forgets the job with this id, under every key it was found by.
    pub(crate) fn forget(&self, job_id: &str) {
        let mut jobs = self.jobs.lock().expect("the known jobs are never poisoned");
        jobs.retain(|_, job| job.id != job_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, name: &str) -> Job {
        let now = chrono::Utc::now();
        Job {
            id: id.to_owned(),
            tenant_id: "t".to_owned(),
            name: name.to_owned(),
            definition: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_job_is_known_by_each_key_until_forgotten_and_only_in_its_tenant() {
        let known = KnownJobs::default();
        let a = job("1", "a");
        known.put("a", &a);
        known.put("1", &a);
        assert_eq!(known.get("t", "a").map(|j| j.id), Some("1".to_owned()));
        assert!(known.get("other", "a").is_none());
        known.put("b", &job("2", "b"));
        known.forget("1");
        assert!(known.get("t", "a").is_none() && known.get("t", "1").is_none());
        assert!(known.get("t", "b").is_some());
    }
}
