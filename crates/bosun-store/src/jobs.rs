//! Job definitions.

use chrono::Utc;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::error::{QueryContext, StoreError, is_unique_violation};
use crate::row::Row;
use crate::time::{from_ms, to_ms};
use crate::{Job, Store};

const COLUMNS: &str = "id, tenant_id, name, definition, created_at, updated_at";

fn job(row: &AnyRow) -> Result<Job, StoreError> {
    let row = Row::new(row, "jobs", "reading a job");
    Ok(Job {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        name: row.get("name")?,
        definition: row.json("definition")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

impl Store {
    /// Stores a new job definition; [`StoreError::Conflict`] when the name is taken.
    pub async fn create_job(
        &self,
        tenant_id: &str,
        name: &str,
        definition: &serde_json::Value,
    ) -> Result<Job, StoreError> {
        let now = to_ms(Utc::now());
        let id = Uuid::now_v7().to_string();
        let insert = sqlx::query(
            "INSERT INTO jobs (id, tenant_id, name, definition, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(name)
        .bind(definition.to_string())
        .bind(now)
        .execute(self.pool())
        .await;
        match insert {
            Ok(_) => Ok(Job {
                id,
                tenant_id: tenant_id.to_owned(),
                name: name.to_owned(),
                definition: definition.clone(),
                created_at: from_ms(now),
                updated_at: from_ms(now),
            }),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                what: "job",
                name: name.to_owned(),
            }),
            Err(e) => Err(StoreError::Query {
                about: "creating a job",
                source: e,
            }),
        }
    }

    /// The tenant's jobs, by name.
    pub async fn jobs(&self, tenant_id: &str) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("listing jobs")?;
        rows.iter().map(job).collect()
    }

    /// The tenant's job with this id or, failing that, this name.
    pub async fn job(&self, tenant_id: &str, id_or_name: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND (id = $2 OR name = $2) \
             ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await
        .about("reading a job")?;
        row.as_ref().map(job).transpose()
    }

    /// Replaces a job's name and definition; `None` when the tenant has no such job.
    /// Its `updated_at` always moves forward, by a millisecond if the clock has not,
    /// so that a copy read before is never taken for the new one.
    pub async fn update_job(
        &self,
        tenant_id: &str,
        id: &str,
        name: &str,
        definition: &serde_json::Value,
    ) -> Result<Option<Job>, StoreError> {
        let update = sqlx::query(
            "UPDATE jobs SET name = $3, definition = $4, \
             updated_at = CASE WHEN $5 > updated_at THEN $5 ELSE updated_at + 1 END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(name)
        .bind(definition.to_string())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await;
        match update {
            Ok(done) if done.rows_affected() == 0 => Ok(None),
            Ok(_) => self.job(tenant_id, id).await,
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                what: "job",
                name: name.to_owned(),
            }),
            Err(e) => Err(StoreError::Query {
                about: "updating a job",
                source: e,
            }),
        }
    }

    /// Deletes a job with its schedules and triggers (its executions stay, as
    /// history); false when the tenant has no such job.
    pub async fn delete_job(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_of_tenant("jobs", tenant_id, id, "deleting a job")
            .await
    }
}
