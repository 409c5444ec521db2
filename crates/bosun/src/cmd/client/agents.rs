//! `bosun agents add|ls|rm|rotate-key|deactivate`: the remote agents of the token's
//! tenant.
//!
//! The agent routes live under `/{tenant}/api/agents`, so each command first asks
//! `GET /api/me` which tenant its token is for. They address agents by id; a name
//! given here is looked up in the list first. A machine key is printed only by the
//! answers that carry it (`add`, `rotate-key`), with the `bosun agent` command line
//! that starts the agent with it.

use anyhow::Result;
use bosun_core::wire::{Agent, CreatedAgent, Me};
use chrono::{DateTime, Utc};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::json;

use super::table::{Layout, Table, or_dash, text_or_dash};
use super::{Client, ClientError, human, print, printed_instead};
use crate::cli::{AgentRefArgs, AgentsAddArgs, AgentsCommand, AgentsLsArgs};
use crate::exit;

/// Runs one `bosun agents` subcommand.
pub(crate) async fn agents(command: AgentsCommand) -> Result<u8> {
    match command {
        AgentsCommand::Add(args) => add(args).await,
        AgentsCommand::Ls(args) => list(args).await,
        AgentsCommand::Rm(args) => remove(args).await,
        AgentsCommand::RotateKey(args) => rotate_key(args).await,
        AgentsCommand::Deactivate(args) => deactivate(args).await,
    }
}

/// A client and the tenant whose agent routes it uses.
struct Agents {
    client: Client,
    tenant: String,
}

impl Agents {
    /// Asks the server which tenant the client's token is for.
    async fn of(client: Client) -> Result<Self, ClientError> {
        let me = client
            .json::<Me>(client.request(Method::GET, &["api", "me"]))
            .await?
            .value;
        if me.tenant.slug.is_empty() {
            return Err(ClientError::Server {
                status: StatusCode::OK,
                message: format!(
                    "the server at {} did not say which tenant the token is for: is it a \
                     bosun server of a matching version?",
                    client.display_url()
                ),
            });
        }
        Ok(Self {
            client,
            tenant: me.tenant.slug,
        })
    }

    /// A request to an agent route: `/{tenant}/api/agents/{rest…}`.
    fn request(&self, method: Method, rest: &[&str]) -> RequestBuilder {
        let mut segments = vec![self.tenant.as_str(), "api", "agents"];
        segments.extend_from_slice(rest);
        self.client.request(method, &segments)
    }

    /// Every agent, as the server answered (a bare array) and parsed.
    async fn list(&self) -> Result<super::Answer<Vec<Agent>>, ClientError> {
        match self.client.json(self.request(Method::GET, &[])).await {
            Err(ClientError::Server { status, .. }) if status == StatusCode::NOT_FOUND => {
                Err(ClientError::Server {
                    status,
                    message: format!(
                        "the server at {} has no agent routes: it is older than this bosun; \
                         upgrade it",
                        self.client.display_url()
                    ),
                })
            }
            answer => answer,
        }
    }

    /// The agent with this id, else this name.
    async fn find(&self, id_or_name: &str) -> Result<Agent, ClientError> {
        let agents = self.list().await?.value;
        agents
            .iter()
            .find(|a| a.id == id_or_name)
            .or_else(|| agents.iter().find(|a| a.name == id_or_name))
            .cloned()
            .ok_or_else(|| ClientError::Server {
                status: StatusCode::NOT_FOUND,
                message: format!(
                    "no agent {id_or_name:?} on the server (`bosun agents ls` lists them)"
                ),
            })
    }

    /// The command line that starts the agent with `key`, on its machine.
    fn start_line(&self, key: &str) -> String {
        format!(
            "bosun agent --server {}/{} --machine-key {key}",
            self.client.display_url(),
            self.tenant
        )
    }
}

async fn add(args: AgentsAddArgs) -> Result<u8> {
    let agents = Agents::of(Client::new(&args.client)?).await?;
    let mut body = json!({ "name": args.name });
    if let Some(machine) = &args.machine_name {
        body["machineName"] = json!(machine);
    }
    let request = agents.request(Method::POST, &["create"]).json(&body);
    let answer = agents.client.json::<CreatedAgent>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    let created = &answer.value;
    print(&format!(
        "added agent {} (id {}); it is Disconnected until it connects\n{}",
        text_or_dash(&created.agent.name),
        text_or_dash(&created.agent.id),
        key_lines(&agents, &created.machine_key)
    ))?;
    Ok(exit::SUCCESS)
}

/// The machine key and the command that starts the agent with it.
fn key_lines(agents: &Agents, key: &str) -> String {
    format!(
        "machine key (shown only this once): {key}\nstart it on its machine with:\n  {}",
        agents.start_line(key)
    )
}

async fn list(args: AgentsLsArgs) -> Result<u8> {
    let agents = Agents::of(Client::new(&args.client)?).await?;
    let answer = agents.list().await?;
    if printed_instead(args.output, &answer.raw, answer.value.is_empty(), || {
        "no agents yet: `bosun agents add NAME` adds one".to_owned()
    })? {
        return Ok(exit::SUCCESS);
    }
    let table = table(&answer.value, Utc::now());
    print(&table.render(Layout::for_stdout(args.output.wide)))?;
    Ok(exit::SUCCESS)
}

/// One row an agent, in the server's order (by name).
fn table(agents: &[Agent], now: DateTime<Utc>) -> Table {
    let mut table = Table::new(&["NAME", "STATUS", "MACHINE", "LAST SEEN", "ID"]);
    for agent in agents {
        let status = match agent.status {
            _ if !agent.is_active => "Deactivated".to_owned(),
            Some(status) => status.as_str().to_owned(),
            None => "-".to_owned(),
        };
        table.row(vec![
            text_or_dash(&agent.name).to_owned(),
            status,
            text_or_dash(&agent.machine_name).to_owned(),
            or_dash(agent.last_heartbeat.map(|t| human::ago(t, now))),
            text_or_dash(&agent.id).to_owned(),
        ]);
    }
    table
}

async fn remove(args: AgentRefArgs) -> Result<u8> {
    let agents = Agents::of(Client::new(&args.client)?).await?;
    let agent = agents.find(&args.agent).await?;
    let request = agents.request(Method::DELETE, &[&agent.id]);
    agents.client.send(request).await?;
    if args.json {
        print(&serde_json::to_string(&agent)?)?;
        return Ok(exit::SUCCESS);
    }
    print(&format!("deleted agent {}", text_or_dash(&agent.name)))?;
    Ok(exit::SUCCESS)
}

async fn rotate_key(args: AgentRefArgs) -> Result<u8> {
    let agents = Agents::of(Client::new(&args.client)?).await?;
    let agent = agents.find(&args.agent).await?;
    let request = agents.request(Method::POST, &[&agent.id, "regenerateKey"]);
    let answer = agents.client.json::<CreatedAgent>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    print(&format!(
        "gave agent {} a new machine key; its old key no longer works\n{}",
        text_or_dash(&answer.value.agent.name),
        key_lines(&agents, &answer.value.machine_key)
    ))?;
    Ok(exit::SUCCESS)
}

async fn deactivate(args: AgentRefArgs) -> Result<u8> {
    let agents = Agents::of(Client::new(&args.client)?).await?;
    let agent = agents.find(&args.agent).await?;
    let request = agents.request(Method::POST, &[&agent.id, "deactivate"]);
    let answer = agents.client.json::<Agent>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    print(&format!(
        "deactivated agent {}: its machine key no longer lets it in",
        text_or_dash(&answer.value.name)
    ))?;
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_core::AgentStatus;

    #[test]
    fn the_table_shows_a_deactivated_agent_as_such_and_never_seen_as_a_dash() {
        let now = Utc::now();
        let agents = [
            Agent {
                name: "local".into(),
                status: Some(AgentStatus::Available),
                is_active: true,
                id: "1".into(),
                last_heartbeat: Some(now - chrono::TimeDelta::seconds(5)),
                ..Agent::default()
            },
            Agent {
                name: "robot".into(),
                machine_name: "box-1".into(),
                status: Some(AgentStatus::Disconnected),
                is_active: false,
                id: "2".into(),
                ..Agent::default()
            },
        ];
        let text = table(&agents, now).render(Layout::Whole);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(
            rows[0].starts_with("NAME   STATUS       MACHINE  LAST SEEN"),
            "{text}"
        );
        assert!(
            rows[1].starts_with("local  Available    -        5s ago"),
            "{text}"
        );
        assert_eq!(rows[2], "robot  Deactivated  box-1    -          2");
    }
}
