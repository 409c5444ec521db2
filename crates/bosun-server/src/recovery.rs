//! What a starting server does about executions its predecessor left unfinished.
//!
//! An execution recorded Running whose process is gone is marked Failed with the
//! reason. One whose process still lives (its pid leads its own process group, as
//! every job bosun starts does) is killed or adopted, as configured; an adopted one
//! is watched until its group is gone and then marked ended. Executions claimed but
//! never started go back to the queue. Nothing stays Running forever.

use std::time::Duration;

use bosun_store::{Execution, Finish, Store};
use chrono::Utc;

use crate::config::RestartPolicy;
use crate::runner::RUNNER_NAME;

/// Settles what the previous server left; returns the adopted executions' watchers.
pub(crate) async fn recover(
    store: &Store,
    policy: RestartPolicy,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let released = store.release_claims(RUNNER_NAME).await?;
    if released > 0 {
        tracing::info!(
            released,
            "queued executions claimed before the restart go back to the queue"
        );
    }
    let mut watchers = Vec::new();
    for execution in store.executions_with_status("Running").await? {
        let pid = execution.pid.and_then(|p| u32::try_from(p).ok());
        match (pid.filter(|p| leads_live_group(*p)), policy) {
            (None, _) => {
                let message = match pid {
                    Some(pid) => format!(
                        "the server stopped while this ran, and its process {pid} is gone; its outcome is unknown"
                    ),
                    None => {
                        "the server stopped before this execution's process was recorded".to_owned()
                    }
                };
                end(store, &execution, message).await;
            }
            (Some(pid), RestartPolicy::Kill) => {
                kill_group(pid).await;
                end(
                    store,
                    &execution,
                    format!("stopped when the server restarted (process group {pid} was killed)"),
                )
                .await;
            }
            (Some(pid), RestartPolicy::Adopt) => {
                tracing::info!(execution = %execution.id, pid, "adopting a job left running by the previous server");
                let store = store.clone();
                watchers.push(tokio::spawn(async move {
                    // Not this process's child: its end can only be seen, not waited for.
                    while leads_live_group(pid) {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    end(
                        &store,
                        &execution,
                        format!("adopted after a server restart; process {pid} has ended, its exit code is unknown"),
                    )
                    .await;
                }));
            }
        }
    }
    Ok(watchers)
}

async fn end(store: &Store, execution: &Execution, message: String) {
    tracing::warn!(execution = %execution.id, "{message}");
    let finish = Finish {
        status: "Failed".to_owned(),
        exit_code: None,
        message,
        end_time: Utc::now(),
    };
    if let Err(e) = store.finish(&execution.id, &finish).await {
        tracing::error!(execution = %execution.id, "could not record the end: {e}");
    }
}

/// True when `pid` is alive and leads its own process group (so it is very likely
/// the job bosun started, not a process that reused the pid).
#[cfg(unix)]
fn leads_live_group(pid: u32) -> bool {
    use nix::unistd::{Pid, getpgid};
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // The state follows the command name's closing bracket; Z is a zombie.
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or_else(|_| nix::sys::signal::kill(Pid::from_raw(raw), None).is_ok());
    alive
        && getpgid(Some(Pid::from_raw(raw)))
            .map(|g| g.as_raw() == raw)
            .unwrap_or(false)
}

/// TERM to the group, five seconds, then KILL.
#[cfg(unix)]
async fn kill_group(pgid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let Ok(raw) = i32::try_from(pgid) else { return };
    let group = Pid::from_raw(raw);
    let _ = killpg(group, Signal::SIGTERM);
    for _ in 0..50 {
        if !leads_live_group(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = killpg(group, Signal::SIGKILL);
}
