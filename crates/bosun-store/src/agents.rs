//! Agents: the machines that run a tenant's executions (seed 000's BotAgent).
//!
//! Every tenant has the built-in agent [`LOCAL_AGENT`], the server's own runner,
//! made `Available` by [`Store::ensure_agent`]; it cannot be renamed, deactivated,
//! given a machine key or deleted ([`StoreError::BuiltInAgent`]). Remote agents are
//! made by [`Store::create_agent`] with a machine key, which is shown once and kept
//! only as its SHA-256: an agent is found by the hash of the key it presents
//! ([`Store::agent_by_machine_key`]), the way tokens are, so no comparison ever runs
//! over a secret. A remote agent is `Disconnected` until the hub says it connected
//! ([`Store::agent_connected`]).
//!
//! A deactivated agent is `Disconnected` and stays so: its key no longer finds it,
//! and the hub's writes ([`Store::set_agent_status`], [`Store::agent_connected`],
//! [`Store::agents_seen`]) pass it by.

use std::collections::HashMap;

use bosun_core::{AgentStatus, LOCAL_AGENT};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::error::{QueryContext, StoreError, is_unique_violation};
use crate::row::Row;
use crate::status_sql::ACTIVE;
use crate::tenants::{hash, new_secret};
use crate::time::{from_ms, to_ms};
use crate::{Agent, Store};

/// The prefix of every agent's machine key, so a leaked one is recognisable in a
/// scan (as [`crate::TOKEN_PREFIX`] is for tokens).
pub const MACHINE_KEY_PREFIX: &str = "bmk_";

/// The columns [`agent`] reads.
const COLUMNS: &str =
    "id, tenant_id, name, machine_name, status, active, last_heartbeat, last_connected, created_at";

/// How many heartbeats one statement of [`Store::agents_seen`] writes: two
/// parameters each, well under either engine's limit of parameters.
const SEEN_PER_STATEMENT: usize = 500;

fn agent(row: &AnyRow) -> Result<Agent, StoreError> {
    let row = Row::new(row, "agents", "reading an agent");
    Ok(Agent {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        name: row.get("name")?,
        machine_name: row.get("machine_name")?,
        status: row.parsed("status")?,
        active: row.flag("active")?,
        last_heartbeat: row.opt_time("last_heartbeat")?,
        last_connected: row.opt_time("last_connected")?,
        created_at: row.time("created_at")?,
    })
}

/// Refuses `action` on the built-in agent.
fn not_built_in(found: &Agent, action: &'static str) -> Result<(), StoreError> {
    if found.name == LOCAL_AGENT {
        return Err(StoreError::BuiltInAgent {
            name: found.name.clone(),
            action,
        });
    }
    Ok(())
}

/// A name taken (or reserved for the built-in agent), as the error says it.
fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        what: "agent",
        name: name.to_owned(),
    }
}

impl Store {
    /// The tenant's agent with this name, created `Available` if missing: how the
    /// server makes its built-in agent, [`LOCAL_AGENT`].
    pub async fn ensure_agent(&self, tenant_id: &str, name: &str) -> Result<Agent, StoreError> {
        sqlx::query(
            "INSERT INTO agents (id, tenant_id, name, status, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(tenant_id)
        .bind(name)
        .bind(AgentStatus::Available.as_str())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("creating an agent")?;
        self.agent_where("tenant_id = $1 AND name = $2", tenant_id, name)
            .await?
            .ok_or(StoreError::Corrupt {
                what: "agent",
                why: format!("{name:?} vanished right after it was created"),
            })
    }

    /// Makes a remote agent of the tenant, `Disconnected` until it connects, and
    /// returns it with its machine key, which is not kept (only its hash is) and
    /// cannot be shown again. [`StoreError::Conflict`] when the tenant has an agent
    /// of that name (or it is [`LOCAL_AGENT`]'s). The name is the caller's to check.
    pub async fn create_agent(
        &self,
        tenant_id: &str,
        name: &str,
        machine_name: &str,
    ) -> Result<(Agent, String), StoreError> {
        if name == LOCAL_AGENT {
            return Err(name_taken(name));
        }
        let key = new_secret(MACHINE_KEY_PREFIX);
        let agent = Agent {
            id: Uuid::now_v7().to_string(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            machine_name: machine_name.to_owned(),
            status: AgentStatus::Disconnected,
            active: true,
            last_heartbeat: None,
            last_connected: None,
            created_at: from_ms(to_ms(Utc::now())),
        };
        let inserted = sqlx::query(
            "INSERT INTO agents (id, tenant_id, name, machine_name, status, active, \
             machine_key_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
        )
        .bind(&agent.id)
        .bind(tenant_id)
        .bind(name)
        .bind(machine_name)
        .bind(agent.status.as_str())
        .bind(hash(&key))
        .bind(to_ms(agent.created_at))
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok((agent, key)),
            Err(e) if is_unique_violation(&e) => Err(name_taken(name)),
            Err(source) => Err(StoreError::Query {
                about: "creating an agent",
                source,
            }),
        }
    }

    /// The tenant's agents, by name (never their machine keys).
    pub async fn agents(&self, tenant_id: &str) -> Result<Vec<Agent>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM agents WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("listing agents")?
        .iter()
        .map(agent)
        .collect()
    }

    /// The tenant's agent with this id.
    pub async fn agent(&self, tenant_id: &str, id: &str) -> Result<Option<Agent>, StoreError> {
        self.agent_where("tenant_id = $1 AND id = $2", tenant_id, id)
            .await
    }

    /// The tenant's agent with this id, else with this name (names never have an
    /// id's shape, so the two cannot be confused).
    pub async fn agent_by_id_or_name(
        &self,
        tenant_id: &str,
        id_or_name: &str,
    ) -> Result<Option<Agent>, StoreError> {
        if let Some(found) = self.agent(tenant_id, id_or_name).await? {
            return Ok(Some(found));
        }
        self.agent_where("tenant_id = $1 AND name = $2", tenant_id, id_or_name)
            .await
    }

    /// Renames the tenant's agent `id` and/or changes its machine name (`None`
    /// leaves one as it is), and returns it; `None` when the tenant has no such
    /// agent. [`StoreError::Conflict`] when another agent has the name,
    /// [`StoreError::BuiltInAgent`] to rename [`LOCAL_AGENT`].
    pub async fn update_agent(
        &self,
        tenant_id: &str,
        id: &str,
        name: Option<&str>,
        machine_name: Option<&str>,
    ) -> Result<Option<Agent>, StoreError> {
        let Some(found) = self.agent(tenant_id, id).await? else {
            return Ok(None);
        };
        let name = name.filter(|n| *n != found.name);
        if let Some(name) = name {
            not_built_in(&found, "renamed")?;
            if name == LOCAL_AGENT {
                return Err(name_taken(name));
            }
        }
        let updated = sqlx::query(
            "UPDATE agents SET name = $3, machine_name = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(name.unwrap_or(&found.name))
        .bind(machine_name.unwrap_or(&found.machine_name))
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await;
        match updated {
            Ok(done) if done.rows_affected() == 0 => Ok(None),
            Ok(_) => self.agent(tenant_id, id).await,
            Err(e) if is_unique_violation(&e) => Err(name_taken(name.unwrap_or(&found.name))),
            Err(source) => Err(StoreError::Query {
                about: "changing an agent",
                source,
            }),
        }
    }

    /// Gives the tenant's agent `id` a new machine key, which replaces its old one
    /// at once, and returns it: like a token's secret, it is kept only as a hash and
    /// cannot be shown again. `None` when the tenant has no such agent;
    /// [`StoreError::BuiltInAgent`] for [`LOCAL_AGENT`], which has no key.
    pub async fn regenerate_machine_key(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(found) = self.agent(tenant_id, id).await? else {
            return Ok(None);
        };
        not_built_in(&found, "given a machine key")?;
        let key = new_secret(MACHINE_KEY_PREFIX);
        let done = sqlx::query(
            "UPDATE agents SET machine_key_hash = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(hash(&key))
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("giving an agent a machine key")?;
        Ok((done.rows_affected() == 1).then_some(key))
    }

    /// Deactivates the tenant's agent `id`: it is `Disconnected` from now on, and its
    /// machine key no longer finds it. Returns it; `None` when the tenant has no such
    /// agent; [`StoreError::BuiltInAgent`] for [`LOCAL_AGENT`].
    pub async fn deactivate_agent(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Agent>, StoreError> {
        let Some(found) = self.agent(tenant_id, id).await? else {
            return Ok(None);
        };
        not_built_in(&found, "deactivated")?;
        sqlx::query(
            "UPDATE agents SET active = 0, status = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(AgentStatus::Disconnected.as_str())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("deactivating an agent")?;
        self.agent(tenant_id, id).await
    }

    /// Deletes the tenant's agent `id`; false when the tenant has no such agent.
    /// Refused ([`StoreError::AgentInUse`]) while executions sent to it are Pending
    /// or Running, and for [`LOCAL_AGENT`] ([`StoreError::BuiltInAgent`]).
    ///
    /// The agent's row is held for the check and the deletion: on SQLite nothing
    /// else writes meanwhile; on PostgreSQL, an execution created for the agent in a
    /// transaction that holds the same row (reads it `FOR SHARE`, or updates it)
    /// cannot slip in between.
    pub async fn delete_agent(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let Some(found) = self.agent(tenant_id, id).await? else {
            return Ok(false);
        };
        not_built_in(&found, "deleted")?;
        let mut tx = self.begin().await?;
        // Takes the write lock (SQLite) or the agent row's lock (PostgreSQL).
        let held =
            sqlx::query("UPDATE agents SET updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .bind(to_ms(Utc::now()))
                .execute(&mut *tx)
                .await
                .about("locking an agent")?;
        if held.rows_affected() == 0 {
            return Ok(false);
        }
        let (executions,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM executions WHERE agent_id = $1 AND status IN ({})",
            *ACTIVE
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .about("counting an agent's executions")?;
        if executions > 0 {
            return Err(StoreError::AgentInUse {
                name: found.name,
                executions,
            });
        }
        sqlx::query("DELETE FROM agents WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .about("deleting an agent")?;
        tx.commit().await.about("deleting an agent")?;
        Ok(true)
    }

    /// Sets the status of the agent `agent_id` (of any tenant: ids are unique), as
    /// the hub learns it; false when there is no such active agent.
    pub async fn set_agent_status(
        &self,
        agent_id: &str,
        status: AgentStatus,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE agents SET status = $2, updated_at = $3 WHERE id = $1 AND active = 1",
        )
        .bind(agent_id)
        .bind(status.as_str())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("setting an agent's status")?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that the agent `agent_id` connected to the hub at `at`: its last
    /// connection and heartbeat are `at`, and it is `Available`. False when there is
    /// no such active agent.
    pub async fn agent_connected(
        &self,
        agent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE agents SET last_connected = $2, last_heartbeat = $2, status = $3, \
             updated_at = $4 WHERE id = $1 AND active = 1",
        )
        .bind(agent_id)
        .bind(to_ms(at))
        .bind(AgentStatus::Available.as_str())
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("recording an agent's connection")?;
        Ok(done.rows_affected() > 0)
    }

    /// Records heartbeats, each an agent's id and when it was seen (milliseconds
    /// since the epoch), in one transaction however many there are: a hub with a
    /// thousand agents writes them once a second as one commit, not a thousand. A
    /// heartbeat older than the one stored is passed by, as are unknown and
    /// deactivated agents. Returns how many agents' heartbeats moved.
    pub async fn agents_seen<S: AsRef<str>>(&self, seen: &[(S, i64)]) -> Result<u64, StoreError> {
        // The latest of each agent's: one row may be updated once per statement.
        let mut latest: HashMap<&str, i64> = HashMap::with_capacity(seen.len());
        for (id, at) in seen {
            let at = *at;
            latest
                .entry(id.as_ref())
                .and_modify(|seen| *seen = (*seen).max(at))
                .or_insert(at);
        }
        if latest.is_empty() {
            return Ok(0);
        }
        let latest: Vec<(&str, i64)> = latest.into_iter().collect();
        let mut tx = self.begin().await?;
        let mut moved = 0;
        for chunk in latest.chunks(SEEN_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            // A VALUES list's columns are column1, column2, … on both engines.
            let sql = format!(
                "UPDATE agents SET last_heartbeat = v.column2 FROM (VALUES {}) AS v \
                 WHERE agents.id = v.column1 AND agents.active = 1 \
                 AND (agents.last_heartbeat IS NULL OR agents.last_heartbeat < v.column2)",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, at) in chunk {
                query = query.bind(*id).bind(*at);
            }
            let done = query
                .execute(&mut *tx)
                .await
                .about("recording agents' heartbeats")?;
            moved += done.rows_affected();
        }
        tx.commit().await.about("recording agents' heartbeats")?;
        Ok(moved)
    }

    /// The tenant's active agent whose machine key is `key`, if any: found by the
    /// key's hash, never by comparing keys. A deactivated agent's key finds nothing.
    pub async fn agent_by_machine_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<Agent>, StoreError> {
        self.agent_where(
            "tenant_id = $1 AND machine_key_hash = $2 AND active = 1",
            tenant_id,
            &hash(key),
        )
        .await
    }

    async fn agent_where(
        &self,
        condition: &str,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<Agent>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM agents WHERE {condition}"))
            .bind(tenant_id)
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .about("reading an agent")?;
        row.as_ref().map(agent).transpose()
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use bosun_core::AgentStatus;

    #[tokio::test]
    async fn agents_made_before_remote_agents_stay_active_with_a_status_this_bosun_reads() {
        let dir = tempfile::tempdir().unwrap();
        for (engine, url) in bosun_test_utils::database_urls(dir.path()) {
            // A database as a bosun of migration 6 left it: its local agent, and one
            // with a status that bosun had and this one has not.
            let old = crate::tests::migrated_to(engine, &url, 6).await;
            for statement in [
                "INSERT INTO tenants (id, slug, name, created_at) VALUES ('t', 'acme', 'Acme', 1)",
                "INSERT INTO agents (id, tenant_id, name, status, created_at) \
                 VALUES ('a1', 't', 'local', 'Available', 2)",
                "INSERT INTO agents (id, tenant_id, name, status, created_at) \
                 VALUES ('a2', 't', 'robot', 'Error', 3)",
            ] {
                sqlx::query(statement).execute(&old).await.unwrap();
            }
            old.close().await;

            let store = Store::open(&url).await.unwrap();
            let agents = store.agents("t").await.unwrap();
            let read: Vec<(&str, AgentStatus, bool, &str)> = agents
                .iter()
                .map(|a| (a.name.as_str(), a.status, a.active, a.machine_name.as_str()))
                .collect();
            assert_eq!(
                read,
                [
                    ("local", AgentStatus::Available, true, ""),
                    ("robot", AgentStatus::Disconnected, true, ""),
                ],
                "{engine}"
            );
            assert_eq!(agents[0].created_at.timestamp_millis(), 2);
            store.close().await;
            bosun_test_utils::drop_test_database(&url).await;
        }
    }
}
