//! Results of the jobs `bosun worker` runs from Redis: saved once per job id, with when
//! their notification went out, so a redelivered job is never run twice.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{QueryContext, StoreError};
use crate::time::{from_ms, opt, to_ms};

/// A worker's result to save.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewWorkerResult {
    /// The job's id (`jobId`).
    pub job_id: String,
    /// The role that ran it.
    pub role: String,
    /// The stream it came from.
    pub stream: String,
    /// Its entry id in that stream.
    pub entry_id: String,
    /// `workflowId`.
    pub workflow_id: String,
    /// `userId`.
    pub user_id: String,
    /// `projectId`.
    pub project_id: String,
    /// `connectionId`.
    pub connection_id: String,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// The reply, or what went wrong.
    pub output: String,
    /// The consumer that ran it.
    pub consumer: String,
    /// Which delivery of the entry this was.
    pub attempts: i64,
}

/// A saved result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerResult {
    /// What was saved.
    pub saved: NewWorkerResult,
    /// When.
    pub finished_at: DateTime<Utc>,
    /// When its notification was sent, if it was.
    pub notified_at: Option<DateTime<Utc>>,
}

fn result(row: &AnyRow) -> Result<WorkerResult, sqlx::Error> {
    Ok(WorkerResult {
        saved: NewWorkerResult {
            job_id: row.try_get("job_id")?,
            role: row.try_get("role")?,
            stream: row.try_get("stream")?,
            entry_id: row.try_get("entry_id")?,
            workflow_id: row.try_get("workflow_id")?,
            user_id: row.try_get("user_id")?,
            project_id: row.try_get("project_id")?,
            connection_id: row.try_get("connection_id")?,
            succeeded: row.try_get::<i64, _>("succeeded")? != 0,
            output: row.try_get("output")?,
            consumer: row.try_get("consumer")?,
            attempts: row.try_get("attempts")?,
        },
        finished_at: from_ms(row.try_get("finished_at")?),
        notified_at: opt(row.try_get("notified_at")?),
    })
}

/// The columns of a result row, in the order of [`result`]'s reads.
const COLUMNS: &str = "job_id, role, stream, entry_id, workflow_id, user_id, project_id, \
     connection_id, succeeded, output, consumer, attempts, finished_at, notified_at";

/// `$from, $from+1, …`: `n` placeholders.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Saves several jobs' results in one statement. For each, in order: when it was
    /// saved now, its `finished_at` (as stored, to the millisecond); `None` (and
    /// nothing changed) when a result of that job was saved before, or comes earlier
    /// in `new`.
    pub async fn save_worker_results(
        &self,
        new: &[NewWorkerResult],
    ) -> Result<Vec<Option<DateTime<Utc>>>, StoreError> {
        const FIELDS: usize = 13;
        let finished_at = to_ms(Utc::now());
        // The first of each job id goes in; a later one is a duplicate at once.
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<bool> = new.iter().map(|n| seen.insert(&n.job_id)).collect();
        let rows: Vec<&NewWorkerResult> = new
            .iter()
            .zip(&firsts)
            .filter(|(_, first)| **first)
            .map(|(n, _)| n)
            .collect();
        if rows.is_empty() {
            return Ok(vec![None; new.len()]);
        }
        let values: Vec<String> = (0..rows.len())
            .map(|i| format!("({})", placeholders(1 + i * FIELDS, FIELDS)))
            .collect();
        let sql = format!(
            "INSERT INTO worker_results (job_id, role, stream, entry_id, workflow_id, user_id, \
             project_id, connection_id, succeeded, output, consumer, attempts, finished_at) \
             VALUES {} ON CONFLICT DO NOTHING RETURNING job_id",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in &rows {
            query = query
                .bind(&row.job_id)
                .bind(&row.role)
                .bind(&row.stream)
                .bind(&row.entry_id)
                .bind(&row.workflow_id)
                .bind(&row.user_id)
                .bind(&row.project_id)
                .bind(&row.connection_id)
                .bind(i64::from(row.succeeded))
                .bind(&row.output)
                .bind(&row.consumer)
                .bind(row.attempts)
                .bind(finished_at);
        }
        let inserted: std::collections::HashSet<String> = query
            .fetch_all(self.pool())
            .await
            .about("saving worker results")?
            .iter()
            .map(|row| row.try_get::<String, _>("job_id"))
            .collect::<Result<_, _>>()
            .about("saving worker results")?;
        Ok(new
            .iter()
            .zip(firsts)
            .map(|(n, first)| (first && inserted.contains(&n.job_id)).then(|| from_ms(finished_at)))
            .collect())
    }

    /// The saved results of those of `job_ids` that have one, in one query.
    pub async fn worker_results(&self, job_ids: &[&str]) -> Result<Vec<WorkerResult>, StoreError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM worker_results WHERE job_id IN ({})",
            placeholders(1, job_ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in job_ids {
            query = query.bind(*id);
        }
        query
            .fetch_all(self.pool())
            .await
            .about("reading worker results")?
            .iter()
            .map(result)
            .collect::<Result<_, _>>()
            .about("reading worker results")
    }

    /// Records that the notifications of `job_ids` went out, in one statement.
    pub async fn mark_worker_results_notified(&self, job_ids: &[&str]) -> Result<(), StoreError> {
        if job_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE worker_results SET notified_at = $1 WHERE job_id IN ({})",
            placeholders(2, job_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(to_ms(Utc::now()));
        for id in job_ids {
            query = query.bind(*id);
        }
        query
            .execute(self.pool())
            .await
            .about("recording notifications")?;
        Ok(())
    }

    /// Saves a job's result; false (and nothing changed) when one was saved before.
    pub async fn save_worker_result(&self, new: &NewWorkerResult) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO worker_results (job_id, role, stream, entry_id, workflow_id, user_id, \
             project_id, connection_id, succeeded, output, consumer, attempts, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&new.job_id)
        .bind(&new.role)
        .bind(&new.stream)
        .bind(&new.entry_id)
        .bind(&new.workflow_id)
        .bind(&new.user_id)
        .bind(&new.project_id)
        .bind(&new.connection_id)
        .bind(i64::from(new.succeeded))
        .bind(&new.output)
        .bind(&new.consumer)
        .bind(new.attempts)
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("saving a worker result")?;
        Ok(done.rows_affected() == 1)
    }

    /// The saved result of a job, if any.
    pub async fn worker_result(&self, job_id: &str) -> Result<Option<WorkerResult>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM worker_results WHERE job_id = $1"
        ))
        .bind(job_id)
        .fetch_optional(self.pool())
        .await
        .about("reading a worker result")?
        .as_ref()
        .map(result)
        .transpose()
        .about("reading a worker result")
    }

    /// Records that a job's notification went out.
    pub async fn mark_worker_result_notified(&self, job_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE worker_results SET notified_at = $2 WHERE job_id = $1")
            .bind(job_id)
            .bind(to_ms(Utc::now()))
            .execute(self.pool())
            .await
            .about("recording a notification")?;
        Ok(())
    }
}
