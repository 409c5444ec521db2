//! Results of the jobs `bosun worker` runs from Redis: saved once per job id, with when
//! their notification went out, so a redelivered job is never run twice.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{QueryContext, StoreError};
use crate::time::{from_ms, opt, to_ms};
use crate::{Backend, Store};

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

/// The columns a saved result is given, in this order, by [`Store::save_worker_results`].
const SAVED: &str = "job_id, role, stream, entry_id, workflow_id, user_id, project_id, \
     connection_id, succeeded, output, consumer, attempts, finished_at";

/// Saving results from the JSON array bound as `$1`, all finished at `$2`, each engine
/// its way: one statement whose text is the same however many there are, so it is
/// prepared once, and one value bound instead of thirteen a result.
fn save_many(backend: Backend) -> String {
    let rows = match backend {
        Backend::Sqlite => {
            "SELECT json_extract(value, '$.job_id'), json_extract(value, '$.role'), \
             json_extract(value, '$.stream'), json_extract(value, '$.entry_id'), \
             json_extract(value, '$.workflow_id'), json_extract(value, '$.user_id'), \
             json_extract(value, '$.project_id'), json_extract(value, '$.connection_id'), \
             json_extract(value, '$.succeeded'), json_extract(value, '$.output'), \
             json_extract(value, '$.consumer'), json_extract(value, '$.attempts'), $2 \
             FROM json_each($1) WHERE true"
        }
        Backend::Postgres => {
            "SELECT job_id, role, stream, entry_id, workflow_id, user_id, \
             project_id, connection_id, succeeded, output, consumer, attempts, $2 \
             FROM jsonb_to_recordset($1::jsonb) AS r(job_id text, role text, stream text, \
             entry_id text, workflow_id text, user_id text, project_id text, \
             connection_id text, succeeded bigint, output text, consumer text, attempts bigint)"
        }
    };
    format!("INSERT INTO worker_results ({SAVED}) {rows} ON CONFLICT DO NOTHING RETURNING job_id")
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
        let finished_at = to_ms(Utc::now());
        // The first of each job id goes in; a later one is a duplicate at once.
        let mut seen = std::collections::HashSet::new();
        let firsts: Vec<bool> = new.iter().map(|n| seen.insert(&n.job_id)).collect();
        let rows: Vec<serde_json::Value> = new
            .iter()
            .zip(&firsts)
            .filter(|(_, first)| **first)
            .map(|(row, _)| {
                serde_json::json!({
                    "job_id": row.job_id,
                    "role": row.role,
                    "stream": row.stream,
                    "entry_id": row.entry_id,
                    "workflow_id": row.workflow_id,
                    "user_id": row.user_id,
                    "project_id": row.project_id,
                    "connection_id": row.connection_id,
                    "succeeded": i64::from(row.succeeded),
                    "output": row.output,
                    "consumer": row.consumer,
                    "attempts": row.attempts,
                })
            })
            .collect();
        if rows.is_empty() {
            return Ok(vec![None; new.len()]);
        }
        let inserted: std::collections::HashSet<String> = sqlx::query(&save_many(self.backend()))
            .bind(serde_json::Value::Array(rows).to_string())
            .bind(finished_at)
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
