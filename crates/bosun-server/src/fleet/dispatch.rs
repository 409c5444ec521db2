//! Sending a job's execution to the remote agent its definition names. However the
//! execution was created (a run request, a schedule, a file), the local runner claims
//! it and reads its job's definition; one that names an `agent` is not run there but
//! handed here, which resolves the agent and the package version and moves the
//! execution to that agent in one store write ([`Store::send_to_agent`]). From then
//! on it is the agent's, delivered and reported like a seed 000 trigger's.
//!
//! `"any"` picks, among the tenant's active agents connected to this server, the one
//! with the fewest unfinished executions; when none is connected, the one that
//! connected last, which gets the execution when it comes back (or the execution
//! fails when the delivery wait runs out, as any other).
//!
//! [`Store::send_to_agent`]: bosun_store::Store::send_to_agent

use bosun_core::error::chain;
use bosun_core::{ExecutionStatus, LOCAL_AGENT};
use bosun_store::{Agent, Execution, RemoteTarget};
use chrono::Utc;

use super::Fleet;
use crate::definition::{AgentChoice, BotSource, Definition, PackageRef, Work};
use crate::runner::RUNNER_NAME;
use crate::runner::package::{Unavailable, pick};

/// What became of an execution handed to [`Fleet::dispatch`].
#[derive(Debug)]
pub(crate) enum Dispatched {
    /// It is the agent's now (named here for the log).
    Sent { agent: String },
    /// It was no longer the runner's to send (it ended meanwhile): nothing changed.
    Gone,
}

impl Fleet {
    /// Moves `execution`, claimed by the local runner and not started, to the agent
    /// `definition` names, with the package version it names (else the newest
    /// uploaded); wakes the agent's delivery and tells people it waits for it. The
    /// error says why it cannot go and what to fix: the caller ends it Failed with
    /// that.
    pub(crate) async fn dispatch(
        &self,
        execution: &Execution,
        definition: &Definition,
    ) -> Result<Dispatched, String> {
        let Some(choice) = &definition.agent else {
            return Err("its job names no agent".to_owned());
        };
        let Work::Bot {
            source: BotSource::Package(reference),
            ..
        } = &definition.work
        else {
            return Err(
                "only a package bot runs on an agent: give the job \"bot\": {\"package\": …}"
                    .to_owned(),
            );
        };
        let agent = self.resolve_agent(&execution.tenant_id, choice).await?;
        let (package_id, version) = self.resolve_package(execution, reference).await?;
        let target = RemoteTarget {
            agent_id: agent.id.clone(),
            package_id,
            package_version: version,
            deliver_by: Utc::now() + self.inner.config.agents.delivery_wait,
        };
        let moved = self
            .store()
            .send_to_agent(&execution.id, RUNNER_NAME, &target)
            .await
            .map_err(|e| {
                format!(
                    "it could not be sent to agent {}: {}; run the job again once the store \
                     answers",
                    agent.name,
                    chain(&e)
                )
            })?;
        let Some(moved) = moved else {
            return Ok(Dispatched::Gone);
        };
        self.tell_execution(&moved, &agent.name, ExecutionStatus::Pending, None);
        if moved.cancel_requested {
            // Asked for while the runner held it: it ends here, never delivered.
            self.cancel(&moved).await;
        } else {
            self.wake(&agent.id);
        }
        Ok(Dispatched::Sent { agent: agent.name })
    }

    /// The agent `choice` stands for in the tenant.
    async fn resolve_agent(&self, tenant_id: &str, choice: &AgentChoice) -> Result<Agent, String> {
        let unreadable =
            |e: bosun_store::StoreError| format!("the agents could not be read: {}", chain(&e));
        match choice {
            AgentChoice::Named(name) => {
                let agent = self
                    .store()
                    .agent_by_id_or_name(tenant_id, name)
                    .await
                    .map_err(unreadable)?
                    .filter(|a| a.name != LOCAL_AGENT)
                    .ok_or_else(|| {
                        format!(
                            "agent \"{name}\" is not registered in this tenant: register it \
                             (POST /{{tenant}}/api/agents/create), or fix \"agent\" in the job"
                        )
                    })?;
                if !agent.active {
                    return Err(format!(
                        "agent \"{}\" is deactivated: name another agent in the job",
                        agent.name
                    ));
                }
                Ok(agent)
            }
            AgentChoice::Any => {
                let agents: Vec<Agent> = self
                    .store()
                    .agents(tenant_id)
                    .await
                    .map_err(unreadable)?
                    .into_iter()
                    .filter(|a| a.active && a.name != LOCAL_AGENT)
                    .collect();
                let connected: Vec<&Agent> = {
                    let maps = self.maps();
                    agents
                        .iter()
                        .filter(|a| maps.sessions.contains_key(&a.id))
                        .collect()
                };
                let mut least: Option<(i64, &Agent)> = None;
                for agent in connected {
                    let load = self
                        .store()
                        .agent_load(&agent.id)
                        .await
                        .map_err(unreadable)?;
                    if least.is_none_or(|(fewest, _)| load < fewest) {
                        least = Some((load, agent));
                    }
                }
                if let Some((_, agent)) = least {
                    return Ok(agent.clone());
                }
                // None connected: the one most likely back soon.
                agents
                    .iter()
                    .max_by_key(|a| a.last_connected)
                    .cloned()
                    .ok_or_else(|| {
                        "\"agent\": \"any\" found no active agent in this tenant: register one \
                         (POST /{tenant}/api/agents/create) and connect it, or name an agent in the job"
                            .to_owned()
                    })
            }
        }
    }

    /// The id of the package `reference` names in the execution's tenant, and the
    /// version to run: the one named, else the newest uploaded.
    async fn resolve_package(
        &self,
        execution: &Execution,
        reference: &PackageRef,
    ) -> Result<(String, String), String> {
        let package = self
            .store()
            .package(&execution.tenant_id, reference.package.as_str())
            .await
            .map_err(|error| {
                Unavailable::Store {
                    package: reference.package.clone(),
                    error,
                }
                .message()
            })?
            .ok_or_else(|| Unavailable::NoPackage(reference.package.clone()).message())?;
        let chosen = pick(&package.name, &package.versions, reference.version.as_ref())
            .map_err(|why| why.message())?;
        Ok((package.id.clone(), chosen.version.to_string()))
    }
}
