//! Results of the jobs `bosun worker` runs from Redis: saved once per job id, so a
//! redelivered job is never run twice. On SQLite they go through a connection and
//! thread of their own ([`sqlite`]); on PostgreSQL through the pool.

mod sqlite;

use bosun_core::role::Role;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{QueryContext, StoreError};
use crate::time::{from_ms, to_ms};

pub(crate) use sqlite::{ResultsFile, file_of};

/// A worker's result to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkerResult {
    /// The job's id (`jobId`).
    pub job_id: String,
    /// The role that ran it (stored as its [`Role::name`]).
    pub role: Role,
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
}

/// A row of `SELECT {COLUMNS}`, on either connection: its values by position, in
/// [`COLUMNS`]'s order.
pub(crate) trait ResultRow {
    /// The connection's error.
    type Error;
    /// The text in `column`.
    fn text(&self, column: usize) -> Result<String, Self::Error>;
    /// The integer in `column`.
    fn int(&self, column: usize) -> Result<i64, Self::Error>;
    /// The role named in `column`; an unknown name is an error.
    fn role(&self, column: usize) -> Result<Role, Self::Error>;
}

/// A saved result from its row: the one decoder of both connections.
pub(crate) fn decode<R: ResultRow>(row: &R) -> Result<WorkerResult, R::Error> {
    Ok(WorkerResult {
        saved: NewWorkerResult {
            job_id: row.text(0)?,
            role: row.role(1)?,
            stream: row.text(2)?,
            entry_id: row.text(3)?,
            workflow_id: row.text(4)?,
            user_id: row.text(5)?,
            project_id: row.text(6)?,
            connection_id: row.text(7)?,
            succeeded: row.int(8)? != 0,
            output: row.text(9)?,
            consumer: row.text(10)?,
            attempts: row.int(11)?,
        },
        finished_at: from_ms(row.int(12)?),
    })
}

impl ResultRow for AnyRow {
    type Error = sqlx::Error;

    fn text(&self, column: usize) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn int(&self, column: usize) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }

    fn role(&self, column: usize) -> Result<Role, sqlx::Error> {
        let name: &str = self.try_get(column)?;
        name.parse().map_err(|e| sqlx::Error::ColumnDecode {
            index: format!("{column} (role)"),
            source: Box::new(e),
        })
    }
}

/// The columns of a result row: those it is saved with, in [`decode`]'s order (and
/// the order [`sqlite`] binds them in).
pub(crate) const COLUMNS: &str = "job_id, role, stream, entry_id, workflow_id, user_id, project_id, \
     connection_id, succeeded, output, consumer, attempts, finished_at";

/// `$from, $from+1, …`: `n` placeholders.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Saving results on PostgreSQL from the JSON array bound as `$1`, all finished at
/// `$2`: one statement whose text is the same however many there are, so it is
/// prepared once, and one value bound instead of thirteen a result.
const SAVE_MANY_POSTGRES: &str = "INSERT INTO worker_results (job_id, role, stream, entry_id, \
     workflow_id, user_id, project_id, connection_id, succeeded, output, consumer, attempts, \
     finished_at) \
     SELECT job_id, role, stream, entry_id, workflow_id, user_id, \
     project_id, connection_id, succeeded, output, consumer, attempts, $2 \
     FROM jsonb_to_recordset($1::jsonb) AS r(job_id text, role text, stream text, \
     entry_id text, workflow_id text, user_id text, project_id text, \
     connection_id text, succeeded bigint, output text, consumer text, attempts bigint) \
     ON CONFLICT DO NOTHING RETURNING job_id";

impl Store {
    /// Saves several jobs' results together (one transaction). For each, in order:
    /// when it was saved now, its `finished_at` (as stored, to the millisecond); `None`
    /// (and nothing changed) when a result of that job was saved before, or comes
    /// earlier in `new`.
    pub async fn save_worker_results(
        &self,
        new: Vec<NewWorkerResult>,
    ) -> Result<Vec<Option<DateTime<Utc>>>, StoreError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let finished_at = to_ms(Utc::now());
        let saved = match self.results_file()? {
            Some(file) => file.save(new, finished_at).await?,
            None => self.save_worker_results_postgres(&new, finished_at).await?,
        };
        Ok(saved
            .into_iter()
            .map(|now| now.then(|| from_ms(finished_at)))
            .collect())
    }

    /// [`Store::save_worker_results`] on PostgreSQL: whether each was saved now.
    async fn save_worker_results_postgres(
        &self,
        new: &[NewWorkerResult],
        finished_at: i64,
    ) -> Result<Vec<bool>, StoreError> {
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
                    "role": row.role.name(),
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
        let inserted: std::collections::HashSet<String> = sqlx::query(SAVE_MANY_POSTGRES)
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
            .map(|(n, first)| first && inserted.contains(&n.job_id))
            .collect())
    }

    /// The saved results of those of `job_ids` that have one, in one request.
    pub async fn worker_results(&self, job_ids: &[&str]) -> Result<Vec<WorkerResult>, StoreError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(file) = self.results_file()? {
            return file
                .lookup(job_ids.iter().map(|id| (*id).to_owned()).collect())
                .await;
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
            .map(decode)
            .collect::<Result<_, _>>()
            .about("reading worker results")
    }

    /// Saves a job's result; false (and nothing changed) when one was saved before.
    pub async fn save_worker_result(&self, new: &NewWorkerResult) -> Result<bool, StoreError> {
        let saved = self.save_worker_results(vec![new.clone()]).await?;
        Ok(saved.first().is_some_and(Option::is_some))
    }

    /// The saved result of a job, if any.
    pub async fn worker_result(&self, job_id: &str) -> Result<Option<WorkerResult>, StoreError> {
        Ok(self.worker_results(&[job_id]).await?.pop())
    }
}
