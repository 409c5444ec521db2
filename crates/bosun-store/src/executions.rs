//! Executions: created Pending, claimed and started by a runner, updated as the job
//! reports, finished once; every status change also lands in the execution's history.
//!
//! The Pending rows are the embedded queue: a runner claims one with a conditional
//! update, so two runners never take the same execution.
//!
//! An execution created to run alone (`duplicatePolicy: "skip"`,
//! [`NewExecution::alone`]) is admitted by the insert itself: the statement inserts
//! it only if no execution of its job is Pending or Running, and a partial unique
//! index (`executions_alone_per_job`: one row per job with `alone = 1` among the
//! active) refuses a second one that the check did not see. The check alone would not
//! do on PostgreSQL: two transactions at read committed both find no active
//! execution and both insert; the index makes the second wait for the first to
//! commit and then conflict, across connections and servers, and `ON CONFLICT DO
//! NOTHING` turns that into a refusal. SQLite runs one write at a time, so there the
//! check suffices between statements; within one statement (the writer's batch of
//! creations, whose check reads the table as it was before the statement) the
//! index refuses the second of a job. The index rather than a lock on the job's row
//! or a serializable transaction: it costs no extra statement and no retry, and
//! holds whatever path creates the execution.
//!
//! An execution's writes (creation, claim, start, status lines, end) are each
//! written once, as one set of statements that both engines run ([`batch`]), through
//! one [`link`]: on SQLite, the writer task's ([`writer`]), which holds the writer
//! connection and writes what queued up as one transaction; on PostgreSQL, one taken
//! from the pool for the call. The claim, start, status line and end all go through
//! [`Store::write_all`], whatever method is called.

use bosun_core::{ExecutionStatus, TriggerKind};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};
use uuid::Uuid;

use crate::error::{QueryContext, StoreError};
use crate::row::Row;
use crate::status_sql::{ACTIVE, FAILED, PENDING};
use crate::time::{from_ms, to_ms};
use crate::{Execution, ExecutionEvent, Store};

mod batch;
mod link;
mod remote;
mod writer;

use batch::{Batch, Scope};
use link::Link;
pub use remote::RemoteTarget;
pub(crate) use writer::Writer;

const COLUMNS: &str = "id, tenant_id, job_id, job_name, status, trigger_kind, trigger_detail, \
    arguments, runner, pid, exit_code, message, status_message, progress, cancel_requested, \
    created_at, start_time, end_time, last_update, output_log, error_log, agent_id, \
    package_id, package_version, delivered_at";

/// An execution to create.
#[derive(Debug, Clone)]
pub struct NewExecution {
    /// The tenant.
    pub tenant_id: String,
    /// The job's id.
    pub job_id: String,
    /// The job's name.
    pub job_name: String,
    /// What started it.
    pub trigger: TriggerKind,
    /// About the trigger.
    pub trigger_detail: Option<String>,
    /// Extra arguments.
    pub arguments: Vec<String>,
    /// The runner that takes it as it is created (claimed at once, so it never
    /// waits in the queue); `None` queues it for any runner.
    pub runner: Option<String>,
    /// Created only if no other execution of its job is Pending or Running, and then
    /// the only one created while it is (its job's `duplicatePolicy` is `skip`);
    /// otherwise the creation fails with [`StoreError::AlreadyActive`].
    pub alone: bool,
}

impl NewExecution {
    /// An execution of `job`, started by `trigger`.
    pub fn of(
        job: &crate::Job,
        trigger: TriggerKind,
        detail: Option<String>,
        arguments: Vec<String>,
    ) -> Self {
        Self {
            tenant_id: job.tenant_id.clone(),
            job_id: job.id.clone(),
            job_name: job.name.clone(),
            trigger,
            trigger_detail: detail,
            arguments,
            runner: None,
            alone: false,
        }
    }

    /// The same execution, created only while no other execution of its job is
    /// Pending or Running (see [`NewExecution::alone`]).
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// The same execution, claimed by `runner` as it is created.
    pub fn claimed_by(mut self, runner: &str) -> Self {
        self.runner = Some(runner.to_owned());
        self
    }
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct Finish {
    /// The final status.
    pub status: ExecutionStatus,
    /// The exit code, if the process exited.
    pub exit_code: Option<i64>,
    /// How it ended, in a sentence.
    pub message: String,
    /// When it ended.
    pub end_time: DateTime<Utc>,
}

/// An execution's process that started, for [`Store::mark_running`].
#[derive(Debug, Clone)]
pub struct Started {
    /// The process (and group) id.
    pub pid: i64,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// Where its standard output goes.
    pub output_log: String,
    /// Where its standard error goes.
    pub error_log: String,
}

/// One write to an execution, for [`Store::write_all`].
#[derive(Debug, Clone)]
pub enum ExecutionWrite {
    /// Claims a Pending execution for `runner`, as [`Store::claim_checked`] does.
    Claim {
        /// The execution.
        id: String,
        /// The runner's name.
        runner: String,
    },
    /// Records that its process started, as [`Store::mark_running`] does.
    Running {
        /// The execution.
        id: String,
        /// Its process.
        started: Started,
    },
    /// Records the last status line and progress it printed, as [`Store::report`]
    /// does.
    Report {
        /// The execution.
        id: String,
        /// The status line, if one was printed.
        status_message: Option<String>,
        /// The progress, if it was printed.
        progress: Option<i64>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Records how it ended, as [`Store::finish`] does.
    Finish {
        /// The execution.
        id: String,
        /// How it ended.
        finish: Finish,
    },
}

/// What an [`ExecutionWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionWritten {
    /// The claim's answer, as [`Store::claim_checked`] gives it.
    Claimed(Option<Option<DateTime<Utc>>>),
    /// The start was recorded (on an execution still Pending).
    Running,
    /// The status line was recorded.
    Reported,
    /// Whether the end was recorded (false: it had already ended).
    Finished(bool),
}

/// Which executions to list. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Only this job's.
    pub job_id: Option<String>,
    /// Only with this status.
    pub status: Option<ExecutionStatus>,
    /// Only those run where this says.
    pub run_by: Option<RunBy>,
    /// Only those started this way.
    pub trigger: Option<TriggerKind>,
    /// Only those that run this package (by id) on an agent.
    pub package_id: Option<String>,
    /// Only those created at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only those created before this time.
    pub to: Option<DateTime<Utc>>,
    /// At most this many (1–1000; default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub before: Option<String>,
}

/// Where an execution runs, for [`ExecutionFilter::run_by`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunBy {
    /// The server's own runner (no agent: `agent_id` is NULL).
    Local,
    /// The remote agent with this id.
    Agent(String),
}

/// The tenant's executions created in one bucket of time, for
/// [`Store::execution_activity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCount {
    /// When the bucket starts.
    pub start: DateTime<Utc>,
    /// How many were created in it.
    pub total: i64,
    /// How many of those ended in a failure ([`ExecutionStatus::is_failure`]).
    pub failed: i64,
}

/// One page of a list, newest first.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `before` for the next page; `None` on the last.
    pub next: Option<String>,
}

fn execution(row: &AnyRow) -> Result<Execution, StoreError> {
    let row = Row::new(row, "executions", "reading an execution");
    Ok(Execution {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        job_id: row.get("job_id")?,
        job_name: row.get("job_name")?,
        status: row.parsed("status")?,
        trigger: row.parsed("trigger_kind")?,
        trigger_detail: row.get("trigger_detail")?,
        arguments: row.json("arguments")?,
        runner: row.get("runner")?,
        pid: row.get("pid")?,
        exit_code: row.get("exit_code")?,
        message: row.get("message")?,
        status_message: row.get("status_message")?,
        progress: row.get("progress")?,
        cancel_requested: row.flag("cancel_requested")?,
        created_at: row.time("created_at")?,
        start_time: row.opt_time("start_time")?,
        end_time: row.opt_time("end_time")?,
        last_update: row.time("last_update")?,
        output_log: row.get("output_log")?,
        error_log: row.get("error_log")?,
        agent_id: row.get("agent_id")?,
        package_id: row.get("package_id")?,
        package_version: row.get("package_version")?,
        delivered_at: row.opt_time("delivered_at")?,
    })
}

fn execution_event(row: &AnyRow) -> Result<ExecutionEvent, StoreError> {
    let row = Row::new(row, "execution_events", "reading status history");
    Ok(ExecutionEvent {
        at: row.time("at")?,
        status: row.parsed("status")?,
        message: row.get("message")?,
    })
}

impl Store {
    /// Creates a Pending execution; [`StoreError::AlreadyActive`] when it was to run
    /// alone and its job has an active execution.
    pub async fn create_execution(&self, new: NewExecution) -> Result<Execution, StoreError> {
        let created = self.create_execution_on(new, None).await?;
        Ok(created.expect("an execution with no condition is always created"))
    }

    /// Creates a Pending execution of a job as it was read, in the same round trip
    /// checking that it still is: `None` (and nothing written) when the job's
    /// `updated_at` is no longer `job_updated_at`, because it was changed or deleted
    /// since. So a caller may keep jobs it read, and learn at the creation whether
    /// its copy was current. An execution to run alone whose job is current but has
    /// an active execution is [`StoreError::AlreadyActive`].
    pub async fn create_execution_if_current(
        &self,
        new: NewExecution,
        job_updated_at: DateTime<Utc>,
    ) -> Result<Option<Execution>, StoreError> {
        self.create_execution_on(new, Some(to_ms(job_updated_at)))
            .await
    }

    async fn create_execution_on(
        &self,
        new: NewExecution,
        version: Option<i64>,
    ) -> Result<Option<Execution>, StoreError> {
        let alone = new.alone;
        let execution = pending(new);
        let created = match self.sqlite_writer() {
            Some(writer) => writer.create(execution.clone(), alone, version).await?,
            None => self.link().create(&execution, alone, version).await?,
        };
        match created {
            Created::Yes => Ok(Some(execution)),
            Created::JobChanged => Ok(None),
            Created::Busy => Err(already_active(&execution)),
        }
    }

    /// Creates a Pending execution inside `tx` (so a scheduler can record the fire
    /// and the execution together). [`StoreError::AlreadyActive`] when it was to run
    /// alone and its job has an active execution; `tx` is still usable then.
    pub async fn insert_execution(
        &self,
        tx: &mut Transaction<'_, Any>,
        new: NewExecution,
    ) -> Result<Execution, StoreError> {
        let alone = new.alone;
        let execution = pending(new);
        let mut batch = Batch::default();
        batch.create(&execution, alone, None);
        let created = batch
            .run(tx, self.backend(), Scope::Within, &mut [])
            .await
            .map_err(|failed| failed.error)?;
        match created.of(&execution.id) {
            Created::Yes => Ok(execution),
            Created::Busy => Err(already_active(&execution)),
            Created::JobChanged => Err(StoreError::Corrupt {
                what: "creation of an execution",
                why: format!("execution {} was neither created nor refused", execution.id),
            }),
        }
    }

    /// A link of its own for a call's writes, on PostgreSQL; SQLite's go through the
    /// writer's.
    fn link(&self) -> Link {
        Link::new(self.pool().clone(), self.backend())
    }

    /// Starts a transaction, for work that must land together.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool().begin().await.about("starting a transaction")
    }

    /// Commits a transaction from [`Store::begin`]; `about` says what it recorded.
    pub async fn commit(
        &self,
        tx: Transaction<'static, Any>,
        about: &'static str,
    ) -> Result<(), StoreError> {
        tx.commit().await.about(about)
    }

    /// The tenant's execution with this id.
    pub async fn execution(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Execution>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .about("reading an execution")?;
        row.as_ref().map(execution).transpose()
    }

    /// A page of the tenant's executions, newest first.
    ///
    /// One statement, holding only the conditions the filter gives, so that each
    /// engine can walk the index that fits them (a condition written to hold when
    /// its parameter is NULL, `($n IS NULL OR col = $n)`, keeps SQLite on the
    /// tenant's index, scanning every row of a filter that matches few). The times
    /// are always bounded, the page's cursor folded into the upper bound, so the
    /// walk starts where the page does.
    pub async fn executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>, StoreError> {
        let limit = filter.limit.unwrap_or(50).clamp(1, 1000);
        let cursor = match filter.before.as_deref().map(parse_cursor) {
            Some(Some(cursor)) => Some(cursor),
            Some(None) => {
                return Err(StoreError::Corrupt {
                    what: "page cursor",
                    why: "use the `next` value of the previous page".to_owned(),
                });
            }
            None => None,
        };
        let mut query = Conditions::new(tenant_id);
        if let Some(job_id) = &filter.job_id {
            query.text("job_id = ", job_id);
        }
        if let Some(status) = filter.status {
            query.text("status = ", status.as_str());
        }
        match &filter.run_by {
            Some(RunBy::Local) => query.plain("agent_id IS NULL"),
            Some(RunBy::Agent(agent_id)) => query.text("agent_id = ", agent_id),
            None => {}
        }
        if let Some(trigger) = filter.trigger {
            query.text("trigger_kind = ", trigger.as_str());
        }
        if let Some(package_id) = &filter.package_id {
            query.text("package_id = ", package_id);
        }
        // Created in [from, to), and before the cursor's row: at or before its time,
        // and, at its time, of a smaller id.
        let from = filter.from.map_or(i64::MIN, to_ms);
        let mut to = filter.to.map_or(i64::MAX, to_ms);
        if let Some((ms, _)) = &cursor {
            to = to.min(ms.saturating_add(1));
        }
        query.number("created_at >= ", from);
        query.number("created_at < ", to);
        if let Some((ms, id)) = &cursor {
            let at = query.bind(Bound::Number(*ms));
            let before = query.bind(Bound::Text(id.clone()));
            query.plain(&format!("(created_at < {at} OR id < {before})"));
        }
        let take = query.bind(Bound::Number(limit + 1));
        let sql = format!(
            "SELECT {COLUMNS} FROM executions WHERE {} \
             ORDER BY created_at DESC, id DESC LIMIT {take}",
            query.sql
        );
        let rows = query
            .apply(sqlx::query(&sql))
            .fetch_all(self.pool())
            .await
            .about("listing executions")?;
        let mut items = rows.iter().map(execution).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| format!("{}_{}", to_ms(last.created_at), last.id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The tenant's executions created in `count` buckets of `bucket` each, the
    /// first starting at `start`: every bucket, oldest first, those with none
    /// counting zero. One statement counts them, grouped by bucket, walking the
    /// tenant's index of creation times over the window (each row is read for its
    /// status; none is sent back).
    pub async fn execution_activity(
        &self,
        tenant_id: &str,
        start: DateTime<Utc>,
        bucket: chrono::TimeDelta,
        count: usize,
    ) -> Result<Vec<ActivityCount>, StoreError> {
        let about = "counting executions by time";
        let length = bucket.num_milliseconds().max(1);
        let first = to_ms(start);
        let buckets = i64::try_from(count).unwrap_or(i64::MAX);
        let end = first.saturating_add(length.saturating_mul(buckets));
        let failed = &*FAILED;
        let rows = sqlx::query(&format!(
            "SELECT (created_at - $2) / $3 AS bucket, COUNT(*) AS total, \
             SUM(CASE WHEN status IN ({failed}) THEN 1 ELSE 0 END) AS failed \
             FROM executions WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $4 \
             GROUP BY 1"
        ))
        .bind(tenant_id)
        .bind(first)
        .bind(length)
        .bind(end)
        .fetch_all(self.pool())
        .await
        .about(about)?;
        let mut counts: Vec<ActivityCount> = (0..buckets)
            .map(|i| ActivityCount {
                start: from_ms(first + i * length),
                total: 0,
                failed: 0,
            })
            .collect();
        for row in &rows {
            let row = Row::new(row, "executions", about);
            let index: i64 = row.get("bucket")?;
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| counts.get_mut(i))
                .ok_or_else(|| StoreError::Corrupt {
                    what: "activity bucket",
                    why: format!("bucket {index} is outside the window's {count}"),
                })?;
            slot.total = row.get("total")?;
            slot.failed = row.get("failed")?;
        }
        Ok(counts)
    }

    /// How many of the tenant's executions are in each status, in the order of
    /// [`ExecutionStatus::ALL`]; statuses with none are left out.
    pub async fn execution_counts(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(ExecutionStatus, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM executions WHERE tenant_id = $1 GROUP BY status",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("counting executions by status")?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let row = Row::new(row, "executions", "counting executions by status");
            counts.push((
                row.parsed::<ExecutionStatus>("status")?,
                row.get::<i64>("n")?,
            ));
        }
        counts.sort_by_key(|(status, _)| ExecutionStatus::ALL.iter().position(|s| s == status));
        Ok(counts)
    }

    /// Executions waiting for a runner, oldest first, across tenants.
    pub async fn pending(&self, limit: i64) -> Result<Vec<Execution>, StoreError> {
        let pending = &*PENDING;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status = {pending} AND runner IS NULL \
             ORDER BY created_at, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .about("reading the queue")?;
        rows.iter().map(execution).collect()
    }

    /// Executions with this status across tenants (e.g. `Running`, for recovery
    /// after a restart).
    pub async fn executions_with_status(
        &self,
        status: ExecutionStatus,
    ) -> Result<Vec<Execution>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status = $1 ORDER BY created_at, id"
        ))
        .bind(status.as_str())
        .fetch_all(self.pool())
        .await
        .about("reading executions by status")?;
        rows.iter().map(execution).collect()
    }

    /// How many executions of a job are Pending (and claimed) or Running.
    pub async fn active_count(&self, job_id: &str) -> Result<i64, StoreError> {
        let active = &*ACTIVE;
        sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM executions WHERE job_id = $1 AND status IN ({active})"
        ))
        .bind(job_id)
        .fetch_one(self.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .about("counting active executions")
    }

    /// Takes a Pending execution for `runner`; false when another runner took it or
    /// it was cancelled first.
    pub async fn claim(&self, id: &str, runner: &str) -> Result<bool, StoreError> {
        Ok(self.claim_checked(id, runner).await?.is_some())
    }

    /// Takes a Pending execution for `runner`, as [`Store::claim`] does, and says in
    /// the same query when its job was last changed: `Some(Some(time))`, or
    /// `Some(None)` when the job is gone. A runner that keeps parsed job definitions
    /// can so tell whether its copy is current without reading the job again. `None`
    /// when another runner took the execution or it was cancelled first.
    pub async fn claim_checked(
        &self,
        id: &str,
        runner: &str,
    ) -> Result<Option<Option<DateTime<Utc>>>, StoreError> {
        let claim = ExecutionWrite::Claim {
            id: id.to_owned(),
            runner: runner.to_owned(),
        };
        match self.write_one(claim).await? {
            ExecutionWritten::Claimed(claimed) => Ok(claimed),
            other => unreachable!("a claim is answered as one, not {other:?}"),
        }
    }

    /// Gives back a claimed execution that `runner` has not started, so that it
    /// waits in the queue again; false when it is not such an execution.
    pub async fn release_claim(&self, id: &str, runner: &str) -> Result<bool, StoreError> {
        let pending = &*PENDING;
        let done = sqlx::query(&format!(
            "UPDATE executions SET runner = NULL WHERE id = $1 AND runner = $2 \
             AND status = {pending}",
        ))
        .bind(id)
        .bind(runner)
        .execute(self.pool())
        .await
        .about("releasing a claimed execution")?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts back Pending executions `runner` claimed but never started (its
    /// process stopped in between); returns how many.
    pub async fn release_claims(&self, runner: &str) -> Result<u64, StoreError> {
        let pending = &*PENDING;
        let done = sqlx::query(&format!(
            "UPDATE executions SET runner = NULL WHERE runner = $1 AND status = {pending}",
        ))
        .bind(runner)
        .execute(self.pool())
        .await
        .about("releasing claimed executions")?;
        Ok(done.rows_affected())
    }

    /// Records that a claimed execution's process started. Its status message, which
    /// said what happened before (e.g. "building environment"), is cleared.
    pub async fn mark_running(&self, id: &str, started: &Started) -> Result<(), StoreError> {
        let running = ExecutionWrite::Running {
            id: id.to_owned(),
            started: started.clone(),
        };
        self.write_one(running).await.map(drop)
    }

    /// Does `writes` in order and says what each did, as the methods each names
    /// would. On SQLite they are one transaction (with whatever other executions'
    /// writes queued up meanwhile), in one round trip to the database; if it fails,
    /// each is tried alone, so that a bad write fails by itself. On PostgreSQL they
    /// are done one after another. Every write of an execution's life
    /// goes through here.
    pub async fn write_all(
        &self,
        writes: &[ExecutionWrite],
    ) -> Vec<Result<ExecutionWritten, StoreError>> {
        match self.sqlite_writer() {
            Some(writer) => writer.write(writes.to_vec()).await,
            None => self.link().write(writes).await,
        }
    }

    /// [`Store::write_all`] of one write, which it takes rather than copies.
    async fn write_one(&self, write: ExecutionWrite) -> Result<ExecutionWritten, StoreError> {
        match self.sqlite_writer() {
            Some(writer) => writer
                .write(vec![write])
                .await
                .pop()
                .expect("the writer answers every write"),
            None => self
                .link()
                .write(std::slice::from_ref(&write))
                .await
                .pop()
                .expect("a link answers every write"),
        }
    }

    /// Records the last status line and progress a running job printed, or (a status
    /// line alone) what the runner does for a claimed one before it starts.
    pub async fn report(
        &self,
        id: &str,
        status_message: Option<&str>,
        progress: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let report = ExecutionWrite::Report {
            id: id.to_owned(),
            status_message: status_message.map(str::to_owned),
            progress,
            at,
        };
        self.write_one(report).await.map(drop)
    }

    /// Records how an execution ended. Only an unfinished execution is changed, so
    /// an end is never recorded twice; false when it had already ended.
    pub async fn finish(&self, id: &str, finish: &Finish) -> Result<bool, StoreError> {
        let write = ExecutionWrite::Finish {
            id: id.to_owned(),
            finish: finish.clone(),
        };
        match self.write_one(write).await? {
            ExecutionWritten::Finished(ended) => Ok(ended),
            other => unreachable!("an end is answered as one, not {other:?}"),
        }
    }

    /// Asks for an execution to be cancelled. A Pending one not yet claimed is
    /// Cancelled at once; a running one is stopped by its runner. `None` when the
    /// tenant has no such execution.
    pub async fn request_cancel(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Execution>, StoreError> {
        sqlx::query("UPDATE executions SET cancel_requested = 1 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.pool())
            .await
            .about("cancelling an execution")?;
        let Some(found) = self.execution(tenant_id, id).await? else {
            return Ok(None);
        };
        if found.status == ExecutionStatus::Pending && found.runner.is_none() {
            self.finish(
                id,
                &Finish {
                    status: ExecutionStatus::Cancelled,
                    exit_code: None,
                    message: "cancelled before it started".to_owned(),
                    end_time: Utc::now(),
                },
            )
            .await?;
            return self.execution(tenant_id, id).await;
        }
        Ok(Some(found))
    }

    /// An execution's status history, oldest first.
    pub async fn events(&self, id: &str) -> Result<Vec<ExecutionEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, status, message FROM execution_events WHERE execution_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .about("reading status history")?;
        rows.iter().map(execution_event).collect()
    }

    /// How many of a job's executions have ended: the history
    /// [`Store::prune_oldest`] trims.
    pub async fn finished_count(&self, job_id: &str) -> Result<i64, StoreError> {
        let active = &*ACTIVE;
        sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM executions WHERE job_id = $1 \
             AND status NOT IN ({active})",
        ))
        .bind(job_id)
        .fetch_one(self.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .about("counting finished executions")
    }

    /// Deletes a job's `count` oldest finished executions, with their history.
    /// Returns how many were deleted and the log paths of those, so their files can
    /// go too.
    ///
    /// It reads only the rows it deletes, so it costs the same however long the
    /// history (a query that skipped the newest rows to keep read all of them).
    pub async fn prune_oldest(
        &self,
        job_id: &str,
        count: i64,
    ) -> Result<(u64, Vec<String>), StoreError> {
        match self.sqlite_writer() {
            Some(writer) => writer.prune(job_id, count).await,
            None => self.link().prune(job_id, count).await,
        }
    }
}

/// Deletes a job's `count` oldest finished executions on `connection`, in one
/// statement (so at once); see [`Store::prune_oldest`].
pub(crate) async fn prune_oldest_on(
    connection: &mut sqlx::AnyConnection,
    job_id: &str,
    count: i64,
) -> Result<(u64, Vec<String>), StoreError> {
    let about = "deleting old history";
    // Their status history goes with them (ON DELETE CASCADE).
    let active = &*ACTIVE;
    let rows = sqlx::query(&format!(
        "DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE job_id = $1 \
         AND status NOT IN ({active}) ORDER BY created_at, id LIMIT $2) \
         RETURNING output_log, error_log",
    ))
    .bind(job_id)
    .bind(count.max(0))
    .fetch_all(&mut *connection)
    .await
    .about(about)?;
    let mut logs = Vec::new();
    for row in &rows {
        for column in ["output_log", "error_log"] {
            if let Some(path) = row.try_get::<Option<String>, _>(column).about(about)? {
                logs.push(path);
            }
        }
    }
    Ok((rows.len() as u64, logs))
}

/// What the SQLite writer did with a creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    /// It was created.
    Yes,
    /// Its job is no longer as it was read (or gone): nothing was written.
    JobChanged,
    /// It was to run alone, and its job has an active execution.
    Busy,
}

/// The refusal of `execution`, which was to run alone.
fn already_active(execution: &Execution) -> StoreError {
    StoreError::AlreadyActive {
        job_id: execution.job_id.clone(),
        job_name: execution.job_name.clone(),
    }
}

/// A new Pending execution, not yet stored: its id (time-ordered) and creation time.
fn pending(new: NewExecution) -> Execution {
    let now = from_ms(to_ms(Utc::now()));
    Execution {
        id: Uuid::now_v7().to_string(),
        tenant_id: new.tenant_id,
        job_id: new.job_id,
        job_name: new.job_name,
        status: ExecutionStatus::Pending,
        trigger: new.trigger,
        trigger_detail: new.trigger_detail,
        arguments: new.arguments,
        runner: new.runner,
        pid: None,
        exit_code: None,
        message: None,
        status_message: None,
        progress: None,
        cancel_requested: false,
        created_at: now,
        start_time: None,
        end_time: None,
        last_update: now,
        output_log: None,
        error_log: None,
        agent_id: None,
        package_id: None,
        package_version: None,
        delivered_at: None,
    }
}

fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (ms, id) = cursor.split_once('_')?;
    Some((ms.parse().ok()?, id.to_owned()))
}

/// A value bound to a statement's parameter.
#[derive(Debug, Clone)]
enum Bound {
    Text(String),
    Number(i64),
}

/// The conditions of a query on the tenant's executions, ANDed, with the values
/// they bind, numbered `$1`, `$2`, … in the order they first appear (so that both
/// engines bind them alike).
struct Conditions {
    sql: String,
    values: Vec<Bound>,
}

impl Conditions {
    /// `tenant_id = $1`.
    fn new(tenant_id: &str) -> Self {
        Self {
            sql: "tenant_id = $1".to_owned(),
            values: vec![Bound::Text(tenant_id.to_owned())],
        }
    }

    /// Binds `value` to the next parameter and returns its placeholder.
    fn bind(&mut self, value: Bound) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a condition that binds nothing.
    fn plain(&mut self, condition: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
    }

    /// Adds `left` followed by a parameter bound to `value` (`left` ends in the
    /// comparison, e.g. `"job_id = "`).
    fn text(&mut self, left: &str, value: &str) {
        let placeholder = self.bind(Bound::Text(value.to_owned()));
        self.plain(&format!("{left}{placeholder}"));
    }

    /// [`Conditions::text`] with a number.
    fn number(&mut self, left: &str, value: i64) {
        let placeholder = self.bind(Bound::Number(value));
        self.plain(&format!("{left}{placeholder}"));
    }

    /// `query` with the values bound, in order.
    fn apply<'q>(
        &self,
        mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        for value in &self.values {
            query = match value {
                Bound::Text(text) => query.bind(text.clone()),
                Bound::Number(number) => query.bind(*number),
            };
        }
        query
    }
}
