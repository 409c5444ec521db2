//! Keeps each job's history to its limit without reading all of it after every
//! execution.
//!
//! Finding what to prune by skipping the newest `keep` finished executions reads
//! `keep` rows each time: with a long history (a limit of 100,000) that was most of
//! the server's work per execution. Instead the runner keeps a tally of each job's
//! finished executions. The first end of a job counts them in the store; each later
//! end adds one; and every `keep` ends (at least [`RECOUNT_EVERY`]) they are counted
//! again, so that ends recorded elsewhere (a Pending execution cancelled through the
//! API, another server on the same database) are caught up with. Only a tally above
//! the limit deletes, the oldest first, which reads only the rows it deletes.
//!
//! The tallies belong to the runner's journal ([`super::journal`]), which records
//! every end of this runner's and tallies it after the write, one batch at a time,
//! so a count never sees an end that is then added a second time.

use std::collections::HashMap;

use bosun_store::{Store, StoreError};

/// The fewest ends between two counts of a job's history.
const RECOUNT_EVERY: i64 = 100;

/// The runner's record of its jobs' history sizes.
#[derive(Default)]
pub(super) struct History {
    tallies: Tallies,
}

impl History {
    /// Tallies `ended` more ends of `job_id`, just recorded, and deletes the job's
    /// oldest finished executions beyond `keep`. Returns the log paths of those
    /// deleted; after an error, the job's next end tries again.
    pub(super) async fn trim(
        &mut self,
        store: &Store,
        job_id: &str,
        ended: i64,
        keep: i64,
    ) -> Result<Vec<String>, StoreError> {
        let tallies = &mut self.tallies;
        if tallies.add_ends(job_id, ended, keep) == Step::Count {
            tallies.counted(job_id, store.finished_count(job_id).await?);
        }
        let excess = tallies.excess(job_id, keep);
        if excess <= 0 {
            return Ok(Vec::new());
        }
        let (deleted, logs) = store.prune_oldest(job_id, excess).await?;
        tallies.deleted(job_id, deleted);
        Ok(logs)
    }
}

/// Whether the store must be asked how long a job's history is.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Count,
    Tallied,
}

/// Each job's count of finished executions, as far as this runner knows.
#[derive(Debug, Default)]
struct Tallies {
    jobs: HashMap<String, Tally>,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    finished: i64,
    /// Ends added since the store last counted.
    since_count: i64,
}

impl Tallies {
    /// Adds `ended` ends of `job_id`, unless its history is due to be counted.
    fn add_ends(&mut self, job_id: &str, ended: i64, keep: i64) -> Step {
        match self.jobs.get_mut(job_id) {
            Some(tally) if tally.since_count + ended < keep.max(RECOUNT_EVERY) => {
                tally.finished += ended;
                tally.since_count += ended;
                Step::Tallied
            }
            _ => Step::Count,
        }
    }

    /// The store counted `finished` ends of `job_id`.
    fn counted(&mut self, job_id: &str, finished: i64) {
        self.jobs.insert(
            job_id.to_owned(),
            Tally {
                finished,
                since_count: 0,
            },
        );
    }

    /// How many of `job_id`'s finished executions are beyond `keep`.
    fn excess(&self, job_id: &str, keep: i64) -> i64 {
        self.jobs
            .get(job_id)
            .map_or(0, |tally| tally.finished - keep.max(0))
    }

    fn deleted(&mut self, job_id: &str, deleted: u64) {
        if let Some(tally) = self.jobs.get_mut(job_id) {
            tally.finished -= i64::try_from(deleted).unwrap_or(i64::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_end_of_a_job_counts_its_history_then_ends_are_added() {
        let mut tallies = Tallies::default();
        assert_eq!(tallies.add_ends("a", 1, 3), Step::Count);
        tallies.counted("a", 3);
        assert_eq!(tallies.excess("a", 3), 0);
        assert_eq!(tallies.add_ends("a", 1, 3), Step::Tallied);
        assert_eq!(tallies.excess("a", 3), 1, "one over the limit");
        tallies.deleted("a", 1);
        assert_eq!(tallies.excess("a", 3), 0);
        assert_eq!(tallies.excess("never-ended", 3), 0);
        assert_eq!(
            tallies.add_ends("a", 4, 3),
            Step::Tallied,
            "a batch of ends"
        );
        assert_eq!(tallies.excess("a", 3), 4);
    }

    #[test]
    fn the_history_is_counted_again_every_limit_and_at_least_every_hundred_ends() {
        for (keep, every) in [(5, RECOUNT_EVERY), (1_000, 1_000)] {
            let mut tallies = Tallies::default();
            tallies.counted("a", 0);
            let tallied = (0..every * 2)
                .take_while(|_| tallies.add_ends("a", 1, keep) == Step::Tallied)
                .count() as i64;
            assert_eq!(tallied, every - 1, "keep {keep}");
        }
    }

    #[test]
    fn a_recount_catches_up_with_ends_recorded_elsewhere() {
        let mut tallies = Tallies::default();
        tallies.counted("a", 2);
        assert_eq!(tallies.excess("a", 2), 0);
        // Three Pending executions were cancelled through the API meanwhile.
        tallies.counted("a", 5);
        assert_eq!(tallies.excess("a", 2), 3);
    }
}
