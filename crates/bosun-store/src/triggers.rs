//! Schedules and file triggers of jobs. What they mean (when a cron fires, which
//! files match) is decided elsewhere; the store keeps them and each schedule's next
//! fire time, which is what stops a restart from firing a time twice.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::error::{QueryContext, StoreError};
use crate::row::Row;
use crate::time::{from_ms, to_ms};
use crate::{FileTriggerRow, NewFileTrigger, NewSchedule, ScheduleRow, Store};

const SCHEDULE_COLUMNS: &str =
    "id, tenant_id, job_id, cron, timezone, every_ms, missed_policy, anchor, next_fire, last_fire";
const TRIGGER_COLUMNS: &str =
    "id, tenant_id, job_id, directory, glob, debounce_ms, recursive, missed_policy";

fn schedule(row: &AnyRow) -> Result<ScheduleRow, StoreError> {
    let row = Row::new(row, "schedules", "reading a schedule");
    Ok(ScheduleRow {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        job_id: row.get("job_id")?,
        schedule: NewSchedule {
            cron: row.get("cron")?,
            timezone: row.get("timezone")?,
            every_ms: row.get("every_ms")?,
            missed_policy: row.json("missed_policy")?,
            anchor: row.time("anchor")?,
            next_fire: row.time("next_fire")?,
        },
        last_fire: row.opt_time("last_fire")?,
    })
}

fn trigger(row: &AnyRow) -> Result<FileTriggerRow, StoreError> {
    let row = Row::new(row, "file_triggers", "reading a file trigger");
    Ok(FileTriggerRow {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        job_id: row.get("job_id")?,
        trigger: NewFileTrigger {
            directory: row.get("directory")?,
            glob: row.get("glob")?,
            debounce_ms: row.get("debounce_ms")?,
            recursive: row.flag("recursive")?,
            missed_policy: row.parsed("missed_policy")?,
        },
    })
}

impl Store {
    /// Stores a schedule of a job.
    pub async fn create_schedule(
        &self,
        tenant_id: &str,
        job_id: &str,
        new: &NewSchedule,
    ) -> Result<ScheduleRow, StoreError> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO schedules (id, tenant_id, job_id, cron, timezone, every_ms, missed_policy, \
             anchor, next_fire, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(job_id)
        .bind(&new.cron)
        .bind(&new.timezone)
        .bind(new.every_ms)
        .bind(serde_json::to_string(&new.missed_policy).expect("a policy serializes"))
        .bind(to_ms(new.anchor))
        .bind(to_ms(new.next_fire))
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("creating a schedule")?;
        Ok(ScheduleRow {
            id,
            tenant_id: tenant_id.to_owned(),
            job_id: job_id.to_owned(),
            // As read back: times to the millisecond.
            schedule: NewSchedule {
                anchor: from_ms(to_ms(new.anchor)),
                next_fire: from_ms(to_ms(new.next_fire)),
                ..new.clone()
            },
            last_fire: None,
        })
    }

    /// The tenant's schedules, of one job or all.
    pub async fn schedules(
        &self,
        tenant_id: &str,
        job_id: Option<&str>,
    ) -> Result<Vec<ScheduleRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE tenant_id = $1 \
             AND ($2 IS NULL OR job_id = $2) ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .about("listing schedules")?
        .iter()
        .map(schedule)
        .collect()
    }

    /// Every schedule, for the scheduler: each row read on its own, so that one that
    /// cannot be read (an unknown stored policy) is its own error and does not stop
    /// the others from firing.
    pub async fn all_schedules(&self) -> Result<Vec<Result<ScheduleRow, StoreError>>, StoreError> {
        Ok(sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY next_fire, id"
        ))
        .fetch_all(self.pool())
        .await
        .about("listing schedules")?
        .iter()
        .map(schedule)
        .collect())
    }

    /// Moves a schedule on after it fired, inside the transaction that created the
    /// executions. Only moves it if its stored next fire is still `expected`, so two
    /// schedulers never both fire one time; false when another got there first.
    pub async fn advance_schedule(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        expected: DateTime<Utc>,
        next_fire: DateTime<Utc>,
        fired: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE schedules SET next_fire = $3, last_fire = COALESCE($4, last_fire) \
             WHERE id = $1 AND next_fire = $2",
        )
        .bind(id)
        .bind(to_ms(expected))
        .bind(to_ms(next_fire))
        .bind(fired.map(to_ms))
        .execute(&mut **tx)
        .await
        .about("advancing a schedule")?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a schedule; false when the tenant has none with this id.
    pub async fn delete_schedule(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_of_tenant("schedules", tenant_id, id, "deleting a schedule")
            .await
    }

    /// Stores a file trigger of a job.
    pub async fn create_file_trigger(
        &self,
        tenant_id: &str,
        job_id: &str,
        new: &NewFileTrigger,
    ) -> Result<FileTriggerRow, StoreError> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO file_triggers (id, tenant_id, job_id, directory, glob, debounce_ms, \
             recursive, missed_policy, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(job_id)
        .bind(&new.directory)
        .bind(&new.glob)
        .bind(new.debounce_ms)
        .bind(i64::from(new.recursive))
        .bind(new.missed_policy.as_str())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("creating a file trigger")?;
        Ok(FileTriggerRow {
            id,
            tenant_id: tenant_id.to_owned(),
            job_id: job_id.to_owned(),
            trigger: new.clone(),
        })
    }

    /// The tenant's file triggers, of one job or all; `None` tenant for every one.
    pub async fn file_triggers(
        &self,
        tenant_id: Option<&str>,
        job_id: Option<&str>,
    ) -> Result<Vec<FileTriggerRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TRIGGER_COLUMNS} FROM file_triggers WHERE ($1 IS NULL OR tenant_id = $1) \
             AND ($2 IS NULL OR job_id = $2) ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .about("listing file triggers")?
        .iter()
        .map(trigger)
        .collect()
    }

    /// Every file trigger, for the watcher: each row read on its own, as
    /// [`Store::all_schedules`] reads schedules.
    pub async fn all_file_triggers(
        &self,
    ) -> Result<Vec<Result<FileTriggerRow, StoreError>>, StoreError> {
        Ok(sqlx::query(&format!(
            "SELECT {TRIGGER_COLUMNS} FROM file_triggers ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await
        .about("listing file triggers")?
        .iter()
        .map(trigger)
        .collect())
    }

    /// Deletes a file trigger; false when the tenant has none with this id.
    pub async fn delete_file_trigger(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_of_tenant("file_triggers", tenant_id, id, "deleting a file trigger")
            .await
    }

    /// Records that `trigger_id` has handled the version of `path` last modified at
    /// `modified`, inside the transaction that starts its execution. False when it
    /// already had: that file version has fired (or was skipped) before.
    pub async fn record_trigger_file(
        &self,
        tx: &mut Transaction<'_, Any>,
        trigger_id: &str,
        path: &str,
        modified: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO trigger_files (trigger_id, path, modified, seen_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(trigger_id)
        .bind(path)
        .bind(to_ms(modified))
        .bind(to_ms(Utc::now()))
        .execute(&mut **tx)
        .await
        .about("recording a triggering file")?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the files `trigger_id` handled that are no longer among `present`, so
    /// its record stays the size of its directory. Returns how many were forgotten.
    pub async fn forget_trigger_files(
        &self,
        trigger_id: &str,
        present: &[String],
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let known: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT path FROM trigger_files WHERE trigger_id = $1")
                .bind(trigger_id)
                .fetch_all(&mut *tx)
                .await
                .about("listing triggering files")?;
        let present: std::collections::HashSet<&str> = present.iter().map(String::as_str).collect();
        let mut forgotten = 0;
        for path in known.iter().filter(|p| !present.contains(p.as_str())) {
            forgotten +=
                sqlx::query("DELETE FROM trigger_files WHERE trigger_id = $1 AND path = $2")
                    .bind(trigger_id)
                    .bind(path)
                    .execute(&mut *tx)
                    .await
                    .about("forgetting a triggering file")?
                    .rows_affected();
        }
        tx.commit().await.about("forgetting triggering files")?;
        Ok(forgotten)
    }
}
