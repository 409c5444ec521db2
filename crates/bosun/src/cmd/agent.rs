//! `bosun agent`: a bot machine in the foreground, until SIGINT or SIGTERM (or, with
//! `--once`, one execution). The settings are resolved by `bosun_agent::config` (flags,
//! then `BOSUN_SERVER`/`BOSUN_MACHINE_KEY`, then `agent-config.json`).

use anyhow::{Context, Result};
use bosun_agent::config::{Given, resolve};
use bosun_agent::{AgentConfig, AgentError, MachineKey};

use crate::cli::AgentArgs;
use crate::exit;
use crate::signals::Stop;

pub(crate) async fn agent(args: AgentArgs) -> Result<u8> {
    let home = super::home_at(args.home.as_deref())?;
    let given = Given {
        server: args.server,
        machine_key: args.machine_key.map(MachineKey::new),
    };
    let (server, key) = match resolve(given, |name| std::env::var(name).ok(), home.root()) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("bosun: {}", bosun_core::error::chain(&e));
            return Ok(exit::USAGE);
        }
    };
    if let Err(e) = bosun_exec::become_subreaper() {
        tracing::warn!("could not become a child subreaper: {e}");
    }
    let stop = Stop::listen_saying(
        "bosun: stopping the agent: no new executions, running ones get --drain-timeout (press Ctrl-C again to cancel them now)",
    )
    .context("could not install signal handlers")?;
    let mut config = AgentConfig::new(server, key, home.root());
    config.max_concurrent = args.max_concurrent as usize;
    config.keep_alive = args.keep_alive;
    config.once = args.once.then_some(args.once_wait);
    config.drain_timeout = args.drain_timeout;
    config.envs = bosun_exec::python::PythonEnvs::new(home.venvs())
        .with_interpreter(args.python)
        .with_installer(args.installer);
    config.supervise = super::run_options(&args.supervise, &stop);
    config.timeout = args.supervise.timeout;
    let once = args.once;
    match bosun_agent::run(config, stop.cancel.clone()).await {
        Ok(summary) => {
            if !once {
                return Ok(exit::SUCCESS);
            }
            let Some((id, result)) = summary.results.first() else {
                eprintln!("bosun: no execution came; stopping");
                return Ok(exit::SUCCESS);
            };
            let message = result.message.as_deref().unwrap_or_default();
            eprintln!(
                "bosun: execution {id} {}: {message}",
                result.status.as_str()
            );
            Ok(exit::for_status(result.status).unwrap_or(exit::INTERNAL))
        }
        Err(e) => {
            eprintln!("bosun: {}", bosun_core::error::chain(&e));
            Ok(match e {
                AgentError::Config(_) => exit::USAGE,
                AgentError::KeyRefused { .. } => exit::KEY_REFUSED,
                AgentError::Unreachable { .. } => exit::UNREACHABLE,
                AgentError::HomeInUse { .. } => exit::HOME_IN_USE,
                _ => exit::INTERNAL,
            })
        }
    }
}
