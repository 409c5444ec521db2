//! The command line of `bosun agents …`: the remote agents of the server's tenant and
//! their machine keys.

use clap::{Args, Subcommand};

use super::{ClientArgs, OutputArgs};

/// `bosun agents …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentsCommand {
    /// Add a remote agent, and print its machine key and the command that starts it.
    ///
    /// The machine key is printed only this once: the server keeps its SHA-256, never
    /// the key. Give it to `bosun agent` on the agent's machine (keep it as secret as
    /// a token). The agent is Disconnected until it connects.
    #[command(after_help = ADD_EXAMPLES)]
    Add(AgentsAddArgs),
    /// List the agents, the built-in `local` (the server's own runner) among them,
    /// with their status and when each was last seen. Never shows machine keys.
    #[command(visible_alias = "list", after_help = LS_EXAMPLES)]
    Ls(AgentsLsArgs),
    /// Delete an agent. Refused while executions sent to it are pending or running
    /// (deactivate it to keep it out meanwhile).
    #[command(visible_alias = "remove", after_help = RM_EXAMPLES)]
    Rm(AgentRefArgs),
    /// Give an agent a new machine key, printed only this once; the old key stops
    /// working at once.
    #[command(after_help = ROTATE_EXAMPLES)]
    RotateKey(AgentRefArgs),
    /// Deactivate an agent: its machine key no longer lets it in, and it stays
    /// Disconnected. It is kept, with its history.
    #[command(after_help = DEACTIVATE_EXAMPLES)]
    Deactivate(AgentRefArgs),
}

const ADD_EXAMPLES: &str = concat!(
    "Examples:
  bosun agents add robot-1                         # prints its key and how to start it
  bosun agents add robot-1 --machine-name box-1.internal
  bosun agents add robot-1 --json | jq -r .machineKey

A name the tenant's agents have already is refused (exit 4).

",
    client_exit_codes!()
);

const LS_EXAMPLES: &str = concat!(
    "Examples:
  bosun agents ls
  bosun agents ls --json | jq -r '.[] | select(.status == \"Available\") | .name'

",
    client_exit_codes!()
);

const RM_EXAMPLES: &str = concat!(
    "Examples:
  bosun agents rm robot-1
  bosun agents rm 0190f1c2-7d3e-7a51-9c4e-2b8f0c1d2e3f   # by id

",
    client_exit_codes!()
);

const ROTATE_EXAMPLES: &str = concat!(
    "Examples:
  bosun agents rotate-key robot-1        # then restart its `bosun agent` with the new key

",
    client_exit_codes!()
);

const DEACTIVATE_EXAMPLES: &str = concat!(
    "Examples:
  bosun agents deactivate robot-1        # e.g. its key leaked; `rotate-key` to replace it

",
    client_exit_codes!()
);

#[derive(Debug, Args)]
pub(crate) struct AgentsAddArgs {
    /// The agent's name, unique among the tenant's agents.
    pub(crate) name: String,

    /// The name of the machine it runs on, for people to recognise it by.
    #[arg(long, value_name = "NAME")]
    pub(crate) machine_name: Option<String>,

    /// Print the server's answer as JSON: the agent with its `machineKey`.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AgentsLsArgs {
    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AgentRefArgs {
    /// The agent, by name or id (as `bosun agents ls` shows them).
    #[arg(value_name = "NAME|ID")]
    pub(crate) agent: String,

    /// Print the server's answer as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}
