//! Which Pending execution the runner starts next, read from the store's queue with
//! as few queries as each start allows.
//!
//! The queue is read fifty executions at a time, oldest first, and what has not been
//! started stays here for the next starts; every claim is conditional, so an
//! execution another runner took or someone cancelled meanwhile is passed over. Job
//! definitions are kept parsed, with the time their job last changed; the claim
//! returns that time from the store, so a definition changed since it was read is
//! noticed at the claim and read again. So a start costs one write, and the
//! executions the runner has room for are claimed together, in one batch
//! (`Store::write_all`).
//!
//! A job that runs one at a time (`duplicatePolicy: queue`) and names a remote agent
//! is held back while one of its executions is unfinished on an agent: the runner
//! sent it away and no longer counts it, so the store is asked, once a read for each
//! such job (`Store::remote_active_of_job`).

use std::collections::{HashMap, HashSet, VecDeque};

use bosun_core::error::chain;
use bosun_store::{Execution, ExecutionWrite, ExecutionWritten, Store, StoreError};
use chrono::{DateTime, Utc};

use super::RUNNER_NAME;
use crate::definition::{Definition, DuplicatePolicy};

/// How many waiting executions one read of the queue takes.
const QUEUE_READ: i64 = 50;

/// How many job definitions are kept before those of jobs not waiting are dropped.
const KNOWN_JOBS: usize = 100;

/// What the runner takes next.
pub(super) enum Taken {
    /// Claimed, to be started with this definition.
    Start(Execution, Box<Definition>),
    /// Claimed, but it cannot start: its job is gone or its definition is invalid.
    Unstartable(Execution, String),
}

/// The executions read from the queue and not started yet, and the definitions of
/// their jobs.
pub(super) struct Intake {
    store: Store,
    queue: VecDeque<Execution>,
    jobs: HashMap<String, KnownJob>,
    /// True when the last read of the store found all that waited (fewer than it
    /// asks for) and all of it has been taken: until [`Intake::woken`], the store
    /// has nothing new.
    drained: bool,
}

/// A job as last read: when it changed (`None`: it is gone), and its definition.
struct KnownJob {
    changed_at: Option<DateTime<Utc>>,
    definition: Result<Definition, String>,
}

impl Intake {
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            queue: VecDeque::new(),
            jobs: HashMap::new(),
            drained: false,
        }
    }

    /// Something may have been queued: a new execution, an end, the tick. Whoever
    /// queues an execution wakes the runner after it is stored, so no execution
    /// stored after the last read goes unseen.
    pub(super) fn woken(&mut self) {
        self.drained = false;
    }

    /// Claims up to `most` of the oldest executions that may start now, oldest
    /// first; none when there is none. `running(job_id)` says whether an execution
    /// of the job is running here, which holds back a job whose `duplicatePolicy` is
    /// `queue`.
    ///
    /// The queue is read again when it is empty (unless the last read found all
    /// there was, and nothing woke the runner since), or when nothing in it may
    /// start: newer executions of other jobs may wait behind those held back.
    pub(super) async fn next(
        &mut self,
        most: usize,
        running: impl Fn(&str) -> bool,
    ) -> Result<Vec<Taken>, StoreError> {
        if self.queue.is_empty() && self.drained {
            return Ok(Vec::new());
        }
        let mut fresh = false;
        loop {
            if self.queue.is_empty() || fresh {
                self.queue = self.store.pending(QUEUE_READ).await?.into();
                self.drained = self.queue.len() < QUEUE_READ as usize;
                if self.jobs.len() > KNOWN_JOBS {
                    let queue = &self.queue;
                    self.jobs
                        .retain(|job_id, _| queue.iter().any(|e| &e.job_id == job_id));
                }
            }
            let taken = self.take(most, &running).await?;
            if !taken.is_empty() || fresh || self.queue.is_empty() {
                return Ok(taken);
            }
            fresh = true;
        }
    }

    /// Claims up to `most` executions of the queue that may start now, in one
    /// batch, taking them out.
    async fn take(
        &mut self,
        most: usize,
        running: &impl Fn(&str) -> bool,
    ) -> Result<Vec<Taken>, StoreError> {
        // Which to claim: in order, skipping those held back, and at most one of a
        // job that runs one at a time (the other would not see it running yet).
        let mut chosen = Vec::new();
        let mut chosen_alone = Vec::new();
        // Jobs that run one at a time with an execution unfinished on an agent, and
        // those asked about.
        let mut away = HashSet::new();
        let mut asked = HashSet::new();
        let mut i = 0;
        while i < self.queue.len() && chosen.len() < most {
            let job_id = self.queue[i].job_id.clone();
            if !self.jobs.contains_key(&job_id) {
                let tenant_id = self.queue[i].tenant_id.clone();
                self.read_job(&tenant_id, &job_id).await?;
            }
            self.ask_away(&job_id, &mut asked, &mut away).await?;
            let alone = self.one_at_a_time(&job_id);
            if self.held_back(&job_id, running, &away) || (alone && chosen_alone.contains(&job_id))
            {
                i += 1;
                continue;
            }
            if alone {
                chosen_alone.push(job_id);
            }
            chosen.push(self.queue.remove(i).expect("i is within the queue"));
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let claims: Vec<ExecutionWrite> = chosen
            .iter()
            .map(|e| ExecutionWrite::Claim {
                id: e.id.clone(),
                runner: RUNNER_NAME.to_owned(),
            })
            .collect();
        let claims = self.store.write_all(&claims).await;
        let mut taken = Vec::with_capacity(chosen.len());
        let mut given_back = Vec::new();
        // Jobs that run one at a time, and start in this batch.
        let mut started_alone: Vec<String> = Vec::new();
        for (execution, claim) in chosen.into_iter().zip(claims) {
            let changed_at = match claim {
                Ok(ExecutionWritten::Claimed(Some(changed_at))) => changed_at,
                // Taken by another runner, or cancelled.
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(execution = %execution.id, "could not claim an execution: {}", chain(&e));
                    continue;
                }
            };
            let job_id = execution.job_id.clone();
            if self.jobs[&job_id].changed_at != changed_at {
                // The job changed since it was read: decide by what it is now (it may
                // run one at a time now, with another of it in this batch). What
                // cannot be decided goes back to the queue.
                let mut reread = self.read_job(&execution.tenant_id, &job_id).await;
                if reread.is_ok() {
                    asked.remove(&job_id);
                    reread = self.ask_away(&job_id, &mut asked, &mut away).await;
                }
                let again = reread.is_ok()
                    && !self.held_back(&job_id, running, &away)
                    && !(self.one_at_a_time(&job_id) && started_alone.contains(&job_id));
                if !again {
                    if let Err(e) = self.store.release_claim(&execution.id, RUNNER_NAME).await {
                        tracing::warn!(execution = %execution.id, "could not give a claimed execution back to the queue: {}", chain(&e));
                    }
                    given_back.push(execution);
                    continue;
                }
            }
            if self.one_at_a_time(&job_id) {
                started_alone.push(job_id.clone());
            }
            taken.push(match &self.jobs[&job_id].definition {
                Ok(definition) => Taken::Start(execution, Box::new(definition.clone())),
                Err(why) => Taken::Unstartable(execution, why.clone()),
            });
        }
        for execution in given_back.into_iter().rev() {
            self.queue.push_front(execution);
        }
        Ok(taken)
    }

    /// True when the job runs one execution at a time (`duplicatePolicy: queue`).
    fn one_at_a_time(&self, job_id: &str) -> bool {
        matches!(
            &self.jobs[job_id].definition,
            Ok(d) if d.duplicate_policy == DuplicatePolicy::Queue
        )
    }

    /// True when the job's definition holds a new execution back while one runs,
    /// here or (`away`) on an agent.
    fn held_back(
        &self,
        job_id: &str,
        running: &impl Fn(&str) -> bool,
        away: &HashSet<String>,
    ) -> bool {
        self.one_at_a_time(job_id) && (running(job_id) || away.contains(job_id))
    }

    /// Asks the store, once per `asked`, whether a job that runs one at a time on an
    /// agent has an execution unfinished there; notes it in `away` if so.
    async fn ask_away(
        &self,
        job_id: &str,
        asked: &mut HashSet<String>,
        away: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let on_agent = matches!(&self.jobs[job_id].definition, Ok(d) if d.agent.is_some());
        if !on_agent || !self.one_at_a_time(job_id) || !asked.insert(job_id.to_owned()) {
            return Ok(());
        }
        if self.store.remote_active_of_job(job_id).await? > 0 {
            away.insert(job_id.to_owned());
        } else {
            away.remove(job_id);
        }
        Ok(())
    }

    async fn read_job(&mut self, tenant_id: &str, job_id: &str) -> Result<(), StoreError> {
        let job = self.store.job(tenant_id, job_id).await?;
        let known = match job {
            Some(job) => KnownJob {
                changed_at: Some(job.updated_at),
                definition: Definition::parse(&job.definition),
            },
            None => KnownJob {
                changed_at: None,
                definition: Err("its job definition was deleted".to_owned()),
            },
        };
        self.jobs.insert(job_id.to_owned(), known);
        Ok(())
    }
}
