//! `bosun agent`: a bot machine. It connects to the server's hub, takes
//! `ExecutePackage` commands, downloads and runs the packages, and reports back.
//!
//! [`run`] is the whole agent; the pieces are usable and tested on their own:
//! - [`config`]: the server URL and machine key (flags, environment, seed 000's
//!   `agent-config.json`) and the agent's settings;
//! - [`ids`]: the ids a server sends, checked before they name a path;
//! - [`accepted`]: the execution ids accepted, on disk, so none runs twice;
//! - [`outbox`]: final results on disk until the server has them;
//! - [`download`]: package versions fetched once, checked and extracted;
//! - [`execute`]: the run step, a bot through the executor, recorded in
//!   `TaskQueue.json`.
//!
//! The data directory holds, besides the executor's own folders:
//! `agent/agent.lock` (one agent per directory), `agent/accepted`, `agent/outbox/`,
//! `agent/runs/<execution id>/{output,error}.log`, `packages/<package id>/<version>-<sha>/`
//! and `TaskQueue.json`.

pub mod accepted;
mod agent;
pub mod config;
pub mod download;
pub mod error;
pub mod execute;
mod hub;
pub mod ids;
mod logship;
pub mod outbox;
mod session;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::{ExecutionStatus, PathIoError, TaskState};
use chrono::Utc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use config::{AgentConfig, MachineKey, ServerUrl};
pub use error::AgentError;
pub use ids::ExecutionId;
pub use outbox::ExecutionResult;

use crate::accepted::Accepted;
use crate::agent::Agent;
use crate::outbox::{Outbox, Outgoing};

/// How long results still in the outbox are given to reach the server when the agent
/// stops (they are delivered on the next start otherwise).
const FINAL_DELIVERY: Duration = Duration::from_secs(10);

/// What a run of the agent did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The executions that ended while it ran, in the order they ended.
    pub results: Vec<(ExecutionId, ExecutionResult)>,
}

/// Runs the agent until `shutdown` (or, with `config.once`, until its one execution's
/// result is delivered, or none came within the wait).
///
/// On `shutdown` it stops taking executions, gives running ones `drain_timeout` to
/// finish, then cancels them; their results are reported before it returns if the
/// server can be reached within a few seconds, else on the next start.
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> Result<Summary, AgentError> {
    let dir = config.home.join("agent");
    std::fs::create_dir_all(&dir)
        .map_err(PathIoError::maker::<AgentError>("create the folder", &dir))?;
    let lock_path = dir.join("agent.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(PathIoError::maker::<AgentError>("open", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(AgentError::HomeInUse {
                home: config.home.clone(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(PathIoError::maker::<AgentError>("lock", &lock_path)(e));
        }
    }
    let accepted = Accepted::open(dir.join("accepted"), Utc::now())?;
    let outbox = Outbox::open(dir.join("outbox"))?;
    recover(&config.home, &outbox);
    prune_runs(&dir.join("runs"), &outbox);

    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| PathIoError {
            about: "start an HTTP client for",
            path: config.home.clone(),
            source: std::io::Error::other(e.without_url()),
        })?;
    let once = config.once;
    let drain = config.drain_timeout;
    let agent = Arc::new(Agent::new(config, accepted, outbox, http));
    let helpers = [
        tokio::spawn({
            let agent = agent.clone();
            async move { agent.report_status().await }
        }),
        tokio::spawn({
            let agent = agent.clone();
            async move { agent.deliver().await }
        }),
    ];
    let session_stop = CancellationToken::new();
    let give_up = once.map(|wait| Instant::now() + wait);
    let mut session = tokio::spawn(session::run(agent.clone(), session_stop.clone(), give_up));

    let early = tokio::select! {
        ended = &mut session => Some(ended),
        _ = shutdown.cancelled() => None,
        _ = once_done(&agent, once), if once.is_some() => None,
    };
    if let Some(ended) = early {
        // The connection loop only ends by itself on a fatal error.
        agent.close();
        agent.cancel_running();
        agent.executions.close();
        agent.executions.wait().await;
        helpers.iter().for_each(|h| h.abort());
        return match ended {
            Ok(Ok(())) => Ok(summary(&agent)),
            Ok(Err(e)) => Err(e),
            Err(join) => Err(PathIoError {
                about: "keep the hub connection of",
                path: agent.config.home.clone(),
                source: std::io::Error::other(join.to_string()),
            }
            .into()),
        };
    }

    agent.close();
    agent.executions.close();
    if !agent.running().is_empty() {
        tracing::info!("waiting up to {drain:?} for running executions to finish");
    }
    // A second signal (the supervision's `kill_now`) cuts the drain short.
    let kill_now = agent.config.supervise.kill_now.clone();
    let drained = tokio::select! {
        drained = tokio::time::timeout(drain, agent.executions.wait()) => drained.is_ok(),
        _ = kill_now.cancelled() => false,
    };
    if !drained {
        agent.cancel_running();
        agent.executions.wait().await;
    }
    if agent.hub.current().is_some() {
        let mut changed = agent.changed.subscribe();
        let _ = tokio::time::timeout(FINAL_DELIVERY, async {
            while agent.undelivered() {
                if changed.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
    }
    if agent.undelivered() {
        tracing::warn!("some results could not be delivered yet; they will be on the next start");
    }
    session_stop.cancel();
    let _ = session.await;
    helpers.iter().for_each(|h| h.abort());
    Ok(summary(&agent))
}

fn summary(agent: &Agent) -> Summary {
    Summary {
        results: agent.finished(),
    }
}

/// `--once`: resolves when no execution came within `wait` of connecting, or when the
/// one that came has ended and its result is delivered.
async fn once_done(agent: &Agent, wait: Option<Duration>) {
    let wait = wait.unwrap_or_default();
    let mut link = agent.hub.subscribe();
    if link.wait_for(Option::is_some).await.is_err() {
        return;
    }
    let deadline = Instant::now() + wait;
    let mut changed = agent.changed.subscribe();
    loop {
        if agent.taken() == 0 {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    if agent.taken() == 0 {
                        return;
                    }
                }
                _ = changed.changed() => {}
            }
        } else {
            if !agent.finished().is_empty() && !agent.undelivered() {
                return;
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Executions a previous agent left running (it was killed): marked `Failed` in
/// `TaskQueue.json`, with a result in the outbox so the server hears of it.
fn recover(home: &Path, outbox: &Outbox) {
    let queue = home.join("TaskQueue.json");
    if !queue.exists() {
        return;
    }
    const MESSAGE: &str = "the agent stopped while it ran";
    let left = bosun_exec::queue_runner::update(&queue, |q| {
        let mut left = Vec::new();
        for task in &mut q.tasks {
            let ours = task.extra.get("Runner").and_then(|v| v.as_str()) == Some(execute::RUNNER);
            if ours && task.status == TaskState::Running {
                task.status = TaskState::Failed;
                task.end_time = Some(Utc::now());
                task.error_message = Some(MESSAGE.to_owned());
                left.extend(task.execution_id.clone());
            }
        }
        Some(left)
    });
    let left = match left {
        Ok(left) => left.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(
                "could not check TaskQueue.json for interrupted executions: {}",
                chain(&e)
            );
            return;
        }
    };
    let waiting: Vec<ExecutionId> = outbox
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.execution_id)
        .collect();
    for id in left {
        let Ok(id) = ExecutionId::parse(&id) else {
            continue;
        };
        if waiting.contains(&id) {
            continue;
        }
        tracing::warn!(execution = %id, "{MESSAGE}; reporting it as failed");
        let entry = Outgoing {
            execution_id: id,
            result: ExecutionResult {
                status: ExecutionStatus::Failed,
                exit_code: None,
                message: Some(MESSAGE.to_owned()),
            },
            finished_at: Utc::now(),
            logs: None,
        };
        if let Err(e) = outbox.put(&entry) {
            tracing::error!("could not store a result: {}", chain(&e));
        }
    }
}

/// Removes the log folders of executions that ended more than [`accepted::MAX_AGE`] ago
/// (and whose result is not waiting in the outbox): the server has their output.
fn prune_runs(runs: &Path, outbox: &Outbox) {
    let Ok(read) = std::fs::read_dir(runs) else {
        return;
    };
    let waiting: Vec<String> = outbox
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.execution_id.to_string())
        .collect();
    for entry in read.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > accepted::MAX_AGE);
        let name = entry.file_name().to_string_lossy().into_owned();
        if old
            && !waiting.contains(&name)
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), "could not remove old logs: {e}");
        }
    }
}
