//! The writes of an execution's life on PostgreSQL, one [`ExecutionWrite`] at a time.
//!
//! Every such write goes through [`crate::Store::write_all`]: on SQLite to the
//! writer task, which batches them ([`super::writer`], [`super::batch`]); here, on
//! PostgreSQL, each in a statement (or a transaction, when it records a status event)
//! of its own on the pool's many connections, which need no batching to keep up. So
//! each operation is written once per engine, and the store's methods (`claim`,
//! `mark_running`, `report`, `finish`) are one path over both.

use sqlx::{AnyPool, Row as _};

use super::{ExecutionWrite, ExecutionWritten, event};
use crate::error::{QueryContext, StoreError};
use crate::status_sql::{ACTIVE, PENDING, RUNNING};
use crate::time::{opt, to_ms};
use bosun_core::ExecutionStatus;

/// Does `write` and says what it did.
pub(super) async fn apply(
    pool: &AnyPool,
    write: &ExecutionWrite,
) -> Result<ExecutionWritten, StoreError> {
    match write {
        ExecutionWrite::Claim { id, runner } => {
            let pending = &*PENDING;
            let row = sqlx::query(&format!(
                "UPDATE executions SET runner = $2 \
                 WHERE id = $1 AND status = {pending} AND runner IS NULL \
                 RETURNING (SELECT updated_at FROM jobs \
                 WHERE jobs.id = executions.job_id AND jobs.tenant_id = executions.tenant_id) \
                 AS job_changed_at",
            ))
            .bind(id)
            .bind(runner)
            .fetch_optional(pool)
            .await
            .about("claiming an execution")?;
            row.map(|row| row.try_get::<Option<i64>, _>("job_changed_at").map(opt))
                .transpose()
                .about("claiming an execution")
                .map(ExecutionWritten::Claimed)
        }
        ExecutionWrite::Running { id, started } => {
            let at = to_ms(started.start_time);
            let mut tx = pool.begin().await.about("starting a transaction")?;
            let (pending, running) = (&*PENDING, &*RUNNING);
            sqlx::query(&format!(
                "UPDATE executions SET status = {running}, pid = $2, start_time = $3, \
                 last_update = $3, output_log = $4, error_log = $5, status_message = NULL \
                 WHERE id = $1 AND status = {pending}",
            ))
            .bind(id)
            .bind(started.pid)
            .bind(at)
            .bind(&started.output_log)
            .bind(&started.error_log)
            .execute(&mut *tx)
            .await
            .about("marking an execution running")?;
            event(&mut tx, id, at, ExecutionStatus::Running, None).await?;
            tx.commit().await.about("marking an execution running")?;
            Ok(ExecutionWritten::Running)
        }
        ExecutionWrite::Report {
            id,
            status_message,
            progress,
            at,
        } => {
            sqlx::query(
                "UPDATE executions SET status_message = COALESCE($2, status_message), \
                 progress = COALESCE($3, progress), last_update = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(status_message)
            .bind(progress)
            .bind(to_ms(*at))
            .execute(pool)
            .await
            .about("recording a status line")?;
            Ok(ExecutionWritten::Reported)
        }
        ExecutionWrite::Finish { id, finish } => {
            let at = to_ms(finish.end_time);
            let mut tx = pool.begin().await.about("starting a transaction")?;
            let active = &*ACTIVE;
            let done = sqlx::query(&format!(
                "UPDATE executions SET status = $2, exit_code = $3, message = $4, \
                 end_time = $5, last_update = $5 WHERE id = $1 AND status IN ({active})",
            ))
            .bind(id)
            .bind(finish.status.as_str())
            .bind(finish.exit_code)
            .bind(&finish.message)
            .bind(at)
            .execute(&mut *tx)
            .await
            .about("finishing an execution")?;
            if done.rows_affected() == 0 {
                return Ok(ExecutionWritten::Finished(false));
            }
            event(&mut tx, id, at, finish.status, Some(&finish.message)).await?;
            tx.commit().await.about("finishing an execution")?;
            Ok(ExecutionWritten::Finished(true))
        }
    }
}
