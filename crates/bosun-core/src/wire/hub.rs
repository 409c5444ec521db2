//! What the hub tells people watching a tenant (seed 000's dashboard events), and
//! the payloads of the commands it sends agents. OpenAutomate's names and fields, so
//! its dashboards and agents read them unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lenient;
use crate::{AgentStatus, ExecutionStatus};

/// `BotStatusUpdate`: an agent connected, changed status or went away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotStatusUpdate {
    /// The agent's id.
    #[serde(deserialize_with = "lenient::text")]
    pub bot_agent_id: String,
    /// The agent's name.
    #[serde(deserialize_with = "lenient::text")]
    pub bot_agent_name: String,
    /// Its status now.
    #[serde(deserialize_with = "lenient::value")]
    pub status: Option<AgentStatus>,
    /// Its last keep-alive.
    #[serde(deserialize_with = "lenient::value")]
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// The execution the update is about, if any.
    #[serde(default, deserialize_with = "lenient::value")]
    pub execution_id: Option<String>,
    /// When the server saw it.
    pub timestamp: DateTime<Utc>,
}

/// `ExecutionStatusUpdate`: an execution changed status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusUpdate {
    /// The execution's id.
    #[serde(deserialize_with = "lenient::text")]
    pub execution_id: String,
    /// The agent that runs it (`local` for the server's own runner).
    #[serde(deserialize_with = "lenient::text")]
    pub bot_agent_id: String,
    /// That agent's name.
    #[serde(deserialize_with = "lenient::text")]
    pub bot_agent_name: String,
    /// Its status now.
    #[serde(deserialize_with = "lenient::value")]
    pub status: Option<ExecutionStatus>,
    /// How it ended, or what it is doing.
    #[serde(default, deserialize_with = "lenient::value")]
    pub message: Option<String>,
    /// When the server saw it.
    pub timestamp: DateTime<Utc>,
}

/// The payload of `ReceiveCommand("ExecutePackage", …)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutePackage {
    /// The execution to run.
    pub execution_id: String,
    /// The package's id.
    pub package_id: String,
    /// The package's name.
    pub package_name: String,
    /// The version to run.
    pub version: String,
    /// The tenant's slug, as in the server's URLs.
    pub tenant_slug: String,
}

/// The payload of `ReceiveCommand("CancelExecution", …)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelExecution {
    /// The execution to stop.
    pub execution_id: String,
}

/// The second argument of bosun's `SendExecutionResult`: how a run on an agent ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResult {
    /// `CompletedSuccessfully`, `Failed`, `TimedOut` or `Cancelled` (also seed 000's
    /// `Completed`).
    pub status: String,
    /// The process's exit code, when it exited.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// How it ended, in a sentence.
    #[serde(default)]
    pub message: Option<String>,
}
