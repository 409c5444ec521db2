//! The command line of `bosun agent`: a bot machine connected to a server's hub.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::SuperviseArgs;
use crate::durations::parse_duration;

/// `bosun agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The server and tenant: http://HOST:PORT/TENANT [env: BOSUN_SERVER; else
    /// "ServerUrl" in <home>/Config/agent-config.json].
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,

    /// This machine's key, as the server gave it when the agent was created [env: BOSUN_MACHINE_KEY;
    /// else "MachineKey" in <home>/Config/agent-config.json]. Prefer the variable or the
    /// file: a flag shows in the process list.
    #[arg(long, value_name = "KEY")]
    pub(crate) machine_key: Option<String>,

    /// The data directory: packages, TaskQueue.json, logs, the outbox of results
    /// [default: ~/.local/share/bosun].
    #[arg(long, env = "BOSUN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    /// How many executions run at once; more wait in the order they came. The agent
    /// reports itself Busy while this many run.
    #[arg(long, env = "BOSUN_MAX_CONCURRENT", default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_concurrent: u32,

    /// How often KeepAlive is sent to the server (it counts three missed as lost).
    #[arg(long, value_parser = parse_duration, default_value = "15s", value_name = "DURATION")]
    pub(crate) keep_alive: Duration,

    /// Connect, report, run at most one execution if one is sent within --once-wait,
    /// deliver its result, and exit with its code (0 success, 1 failed, 124 timed out,
    /// 130 cancelled; 0 when none came).
    #[arg(long)]
    pub(crate) once: bool,

    /// With --once: how long to wait for an execution once connected (and for the
    /// first connection).
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub(crate) once_wait: Duration,

    /// On SIGINT or SIGTERM, how long running executions get to finish before they are
    /// cancelled (a second signal cancels them at once).
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub(crate) drain_timeout: Duration,

    /// The Python interpreter bot environments are built from: a name on PATH or a path.
    #[arg(
        long,
        env = "BOSUN_PYTHON",
        default_value = "python3",
        value_name = "PYTHON"
    )]
    pub(crate) python: String,

    /// What builds environments: uv (fast), pip (python -m venv + pip), or auto (uv when
    /// it is on PATH).
    #[arg(
        long,
        env = "BOSUN_INSTALLER",
        default_value = "auto",
        value_name = "auto|uv|pip"
    )]
    pub(crate) installer: bosun_exec::python::Installer,

    #[command(flatten)]
    pub(crate) supervise: SuperviseArgs,
}

pub(crate) const AGENT_EXAMPLES: &str = "Examples:
  BOSUN_MACHINE_KEY=… bosun agent --server http://orchestrator:8420/default
  bosun agent --home /var/lib/bosun        # server and key from /var/lib/bosun/Config/agent-config.json
  bosun agent --server http://127.0.0.1:8420/default --once --once-wait 30s
  bosun agent --max-concurrent 4 --drain-timeout 5m

Exit codes: 0 stopped cleanly (with --once: connected, and the execution, if any,
succeeded; else 1 failed, 124 timed out, 130 cancelled), 2 bad settings, 5 the server
could not be reached within --once-wait, 6 another agent uses the data directory, 7 the
server refused the machine key, 99 an unexpected error.";
