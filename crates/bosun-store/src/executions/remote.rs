//! Executions sent to remote agents: created claimed by their agent (so the local
//! runner never takes them), or created for the local runner and moved to an agent
//! once it read their job's definition ([`Store::send_to_agent`]); delivered until
//! the agent acknowledges them, and failed with the reason when no agent took them
//! in time.
//!
//! The store is the delivery's memory: an execution is undelivered until
//! `delivered_at` is set, so a server that restarts, or an agent that reconnects,
//! finds what is still to send without anything held in memory.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{COLUMNS, NewExecution, Started, execution};
use crate::error::{QueryContext, StoreError};
use crate::status_sql::{ACTIVE, PENDING, RUNNING};
use crate::time::to_ms;
use crate::{Execution, Store};

/// Where an execution for a remote agent goes, and until when it may wait.
#[derive(Debug, Clone)]
pub struct RemoteTarget {
    /// The agent's id.
    pub agent_id: String,
    /// The package it runs, by id.
    pub package_id: String,
    /// The package version it runs.
    pub package_version: String,
    /// Past this, an execution the agent has not acknowledged fails.
    pub deliver_by: DateTime<Utc>,
}

impl Store {
    /// Creates a Pending execution for a remote agent, claimed by it, with its target
    /// in the same transaction.
    pub async fn create_remote_execution(
        &self,
        new: NewExecution,
        target: &RemoteTarget,
    ) -> Result<Execution, StoreError> {
        let mut tx = self.begin().await?;
        let mut created = self
            .insert_execution(&mut tx, new.claimed_by(&target.agent_id))
            .await?;
        sqlx::query(
            "UPDATE executions SET agent_id = $2, package_id = $3, package_version = $4, \
             deliver_by = $5 WHERE id = $1",
        )
        .bind(&created.id)
        .bind(&target.agent_id)
        .bind(&target.package_id)
        .bind(&target.package_version)
        .bind(to_ms(target.deliver_by))
        .execute(&mut *tx)
        .await
        .about("sending an execution to an agent")?;
        self.commit(tx, "sending an execution to an agent").await?;
        created.agent_id = Some(target.agent_id.clone());
        created.package_id = Some(target.package_id.clone());
        created.package_version = Some(target.package_version.clone());
        Ok(created)
    }

    /// Moves a Pending execution that `runner` claimed and has not started to the
    /// agent of `target`, claimed by it from now on, in one write: the execution as
    /// it is now, or `None` (and nothing changed) when it is no longer Pending and
    /// `runner`'s, or already an agent's.
    pub async fn send_to_agent(
        &self,
        id: &str,
        runner: &str,
        target: &RemoteTarget,
    ) -> Result<Option<Execution>, StoreError> {
        let pending = &*PENDING;
        let row = sqlx::query(&format!(
            "UPDATE executions SET runner = $3, agent_id = $3, package_id = $4, \
             package_version = $5, deliver_by = $6, last_update = $7 \
             WHERE id = $1 AND runner = $2 AND status = {pending} AND agent_id IS NULL \
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(runner)
        .bind(&target.agent_id)
        .bind(&target.package_id)
        .bind(&target.package_version)
        .bind(to_ms(target.deliver_by))
        .bind(to_ms(Utc::now()))
        .fetch_optional(self.pool())
        .await
        .about("sending an execution to an agent")?;
        row.as_ref().map(execution).transpose()
    }

    /// How many executions of a job sent to agents have not ended.
    pub async fn remote_active_of_job(&self, job_id: &str) -> Result<i64, StoreError> {
        let active = &*ACTIVE;
        sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM executions WHERE job_id = $1 AND agent_id IS NOT NULL \
             AND status IN ({active})"
        ))
        .bind(job_id)
        .fetch_one(self.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .about("counting a job's executions on agents")
    }

    /// The agent's Pending executions it has not acknowledged, oldest first.
    pub async fn undelivered(&self, agent_id: &str) -> Result<Vec<Execution>, StoreError> {
        let pending = &*PENDING;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE agent_id = $1 AND status = {pending} \
             AND delivered_at IS NULL ORDER BY created_at, id"
        ))
        .bind(agent_id)
        .fetch_all(self.pool())
        .await
        .about("reading what an agent has still to receive")?;
        rows.iter().map(execution).collect()
    }

    /// Records that the agent acknowledged the execution; false when it was already
    /// acknowledged or is not the agent's.
    pub async fn mark_delivered(
        &self,
        id: &str,
        agent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE executions SET delivered_at = $3 \
             WHERE id = $1 AND agent_id = $2 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(agent_id)
        .bind(to_ms(at))
        .execute(self.pool())
        .await
        .about("recording a delivery")?;
        Ok(done.rows_affected() > 0)
    }

    /// Executions sent to agents, not acknowledged, whose wait ended before `now`.
    pub async fn overdue(&self, now: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        let pending = &*PENDING;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE agent_id IS NOT NULL \
             AND status = {pending} AND delivered_at IS NULL AND deliver_by < $1 \
             ORDER BY created_at, id"
        ))
        .bind(to_ms(now))
        .fetch_all(self.pool())
        .await
        .about("reading undelivered executions")?;
        rows.iter().map(execution).collect()
    }

    /// Executions sent to agents that have not ended: one agent's, or every agent's.
    pub async fn remote_active(
        &self,
        agent_id: Option<&str>,
    ) -> Result<Vec<Execution>, StoreError> {
        let active = &*ACTIVE;
        let whose = if agent_id.is_some() {
            "agent_id = $1"
        } else {
            "agent_id IS NOT NULL"
        };
        let query = format!(
            "SELECT {COLUMNS} FROM executions WHERE {whose} AND status IN ({active}) \
             ORDER BY created_at, id"
        );
        let mut query = sqlx::query(&query);
        if let Some(agent_id) = agent_id {
            query = query.bind(agent_id);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .about("reading agents' executions")?;
        rows.iter().map(execution).collect()
    }

    /// How many executions sent to this agent have not ended.
    pub async fn agent_load(&self, agent_id: &str) -> Result<i64, StoreError> {
        let active = &*ACTIVE;
        sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM executions WHERE agent_id = $1 AND status IN ({active})"
        ))
        .bind(agent_id)
        .fetch_one(self.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .about("counting an agent's executions")
    }

    /// The execution with this id, whatever its tenant (for the server's own sweeps).
    pub async fn execution_any(&self, id: &str) -> Result<Option<Execution>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM executions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .about("reading an execution")?;
        row.as_ref().map(execution).transpose()
    }

    /// Records that the agent's run of a Pending execution started, with its status
    /// history; on one already Running, records the pid if `with_pid` (an agent may
    /// say Running first and the pid after). An agent that sends no pid leaves it
    /// empty.
    pub async fn remote_started(
        &self,
        id: &str,
        agent_id: &str,
        started: &Started,
        with_pid: bool,
    ) -> Result<(), StoreError> {
        let (pending, running) = (&*PENDING, &*RUNNING);
        let about = "recording an agent's start";
        let pid = with_pid.then_some(started.pid);
        let mut tx = self.begin().await?;
        let now = to_ms(Utc::now());
        let done = sqlx::query(&format!(
            "UPDATE executions SET status = {running}, pid = $3, start_time = $4, \
             output_log = $5, error_log = $6, status_message = NULL, last_update = $7, \
             delivered_at = COALESCE(delivered_at, $7) \
             WHERE id = $1 AND agent_id = $2 AND status = {pending}"
        ))
        .bind(id)
        .bind(agent_id)
        .bind(pid)
        .bind(to_ms(started.start_time))
        .bind(&started.output_log)
        .bind(&started.error_log)
        .bind(now)
        .execute(&mut *tx)
        .await
        .about(about)?;
        if done.rows_affected() > 0 {
            sqlx::query(&format!(
                "INSERT INTO execution_events (execution_id, at, status, message) \
                 VALUES ($1, $2, {running}, NULL)"
            ))
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .about(about)?;
        } else if let Some(pid) = pid {
            sqlx::query(&format!(
                "UPDATE executions SET pid = $3, last_update = $4 \
                 WHERE id = $1 AND agent_id = $2 AND status = {running}"
            ))
            .bind(id)
            .bind(agent_id)
            .bind(pid)
            .bind(now)
            .execute(&mut *tx)
            .await
            .about(about)?;
        }
        self.commit(tx, about).await
    }

    /// Records where an execution's standard output is logged, when nothing was
    /// recorded yet (an agent uploaded its log without reporting a start).
    pub async fn set_output_log(&self, id: &str, path: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE executions SET output_log = COALESCE(output_log, $2) WHERE id = $1")
            .bind(id)
            .bind(path)
            .execute(self.pool())
            .await
            .about("recording an execution's log")?;
        Ok(())
    }
}
