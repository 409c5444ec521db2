//! What a starting server does about executions its predecessor left unfinished.
//!
//! An execution recorded Running whose process group is gone is marked Failed with
//! the reason. One whose group still has a live process (the job's pid leads its own
//! process group, as every job bosun starts does) is killed or adopted, as
//! configured. A live process is taken for the job only if it started when the job
//! did, so a pid given to another process (after a reboot, say) is never killed or
//! adopted. Killing stops the whole group: SIGTERM, a grace period, then SIGKILL to
//! whatever is left, so a child that ignores SIGTERM goes too. An adopted one is
//! watched until its leader has ended, then what it left in its group is stopped (as
//! the runner does) and the end recorded; cancelling it stops its group. Executions
//! claimed but never started go back to the queue. Nothing stays Running forever.
//!
//! Killing does not hold up the server: the groups are stopped all at once, in
//! tasks of their own, while the server listens, so jobs that ignore SIGTERM cost
//! one grace period however many there are, and the API answers meanwhile. Until
//! its group is gone and its end recorded, a job being stopped stays Running in the
//! store (so `duplicatePolicy: skip` refuses a new run of it) and counts as running
//! in the local runner (so a queued run of a `queue` job waits for it): a job never
//! runs twice at once because its old copy was slow to die.

use std::time::Duration;

use bosun_core::ExecutionStatus;
use bosun_core::error::chain;
use bosun_exec::{proc, stop_group};
use bosun_store::{Execution, Finish, Store, StoreError};
use chrono::{DateTime, Utc};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::RestartPolicy;
use crate::runner::{Leftover, RUNNER_NAME, RunnerHandle};

/// How often an adopted execution is looked at: has it ended, was it cancelled.
const WATCH: Duration = Duration::from_secs(1);

/// How long a stopped job's group has after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// What recovery leaves running while the server serves.
pub(crate) struct Recovery {
    /// The adopted executions' watchers, which run until their jobs end.
    pub(crate) adopted: Vec<JoinHandle<()>>,
    /// The jobs left running that are being stopped, each by a task of its own;
    /// they end within two grace periods.
    pub(crate) stopping: JoinSet<()>,
}

/// Settles what the previous server left: what can be settled at once is, and the
/// jobs left running are stopped (or adopted) by tasks that go on after this
/// returns. `runner` counts those being stopped as running until they are gone.
pub(crate) async fn recover(
    store: &Store,
    policy: RestartPolicy,
    runner: &RunnerHandle,
) -> Result<Recovery, StoreError> {
    let released = store.release_claims(RUNNER_NAME).await?;
    if released > 0 {
        tracing::info!(
            released,
            "queued executions claimed before the restart go back to the queue"
        );
    }
    let mut watchers = Vec::new();
    let mut stopping = JoinSet::new();
    // Runs on remote agents are the fleet's: their agents report them again.
    for execution in store
        .executions_with_status(ExecutionStatus::Running)
        .await?
        .into_iter()
        .filter(|e| e.agent_id.is_none())
    {
        let pid = execution.pid.and_then(|p| u32::try_from(p).ok());
        let live = pid.filter(|&p| proc::group_alive(p) && may_be_the_job(p, execution.start_time));
        match (live, policy) {
            (None, _) => {
                let message = match pid {
                    Some(pid) => format!(
                        "the server stopped while this ran, and its process {pid} is gone; its outcome is unknown"
                    ),
                    None => {
                        "the server stopped before this execution's process was recorded".to_owned()
                    }
                };
                end(store, &execution, ExecutionStatus::Failed, message).await;
            }
            (Some(pid), RestartPolicy::Kill) => {
                tracing::info!(execution = %execution.id, pid, "stopping a job left running by the previous server");
                let leftover = runner.leftover(&execution);
                stopping.spawn(stop(store.clone(), execution, pid, leftover));
            }
            (Some(pid), RestartPolicy::Adopt) => {
                tracing::info!(execution = %execution.id, pid, "adopting a job left running by the previous server");
                watchers.push(tokio::spawn(watch(store.clone(), execution, pid)));
            }
        }
    }
    Ok(Recovery {
        adopted: watchers,
        stopping,
    })
}

/// Stops the group of a job left running, records its end, then lets the runner
/// know it no longer runs (dropping `leftover`).
async fn stop(store: Store, execution: Execution, pid: u32, leftover: Leftover) {
    stop_group(pid, GRACE).await;
    let message = format!("stopped when the server restarted (process group {pid} was killed)");
    end(&store, &execution, ExecutionStatus::Failed, message).await;
    drop(leftover);
}

/// Watches an adopted execution until its leader ends or someone cancels it, then
/// stops what is left of its group and records the end.
async fn watch(store: Store, execution: Execution, pid: u32) {
    loop {
        // Not this process's child: its end can only be seen, not waited for.
        if !(proc::leads_live_group(pid) && may_be_the_job(pid, execution.start_time)) {
            // Like the runner: whatever the leader left in its group goes too.
            stop_group(pid, GRACE).await;
            let message = format!(
                "adopted after a server restart; process {pid} has ended, its exit code is unknown"
            );
            end(&store, &execution, ExecutionStatus::Failed, message).await;
            return;
        }
        // Cancelling asks the runner, which does not know this job: look for the
        // request in the store.
        match store.execution(&execution.tenant_id, &execution.id).await {
            Ok(Some(now)) if now.is_finished() => return,
            Ok(Some(now)) if now.cancel_requested => {
                stop_group(pid, GRACE).await;
                let message = format!("cancelled; the adopted process group {pid} was stopped");
                end(&store, &execution, ExecutionStatus::Cancelled, message).await;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(execution = %execution.id, "could not look at an adopted execution: {}", chain(&e));
            }
        }
        tokio::time::sleep(WATCH).await;
    }
}

async fn end(store: &Store, execution: &Execution, status: ExecutionStatus, message: String) {
    tracing::warn!(execution = %execution.id, "{message}");
    let finish = Finish {
        status,
        exit_code: None,
        message,
        end_time: Utc::now(),
    };
    if let Err(e) = store.finish(&execution.id, &finish).await {
        tracing::error!(execution = %execution.id, "could not record the end: {}", chain(&e));
    }
}

/// How far apart the recorded start of a job and the start of the process holding its
/// pid may be for that process to be taken for the job. The runner records the start
/// right after spawning; the slack absorbs the kernel's whole-second boot time and
/// small clock adjustments while the job ran.
const SAME_START: Duration = Duration::from_secs(30);

/// Whether the live process `pid` can be the job that started at `started`: not when
/// the machine has booted since, nor when the process started at another time (the
/// pid was reused). True when it cannot be told.
#[cfg(target_os = "linux")]
fn may_be_the_job(pid: u32, started: Option<DateTime<Utc>>) -> bool {
    let (Some(started), Some(boot)) = (started, proc::boot_time()) else {
        return true;
    };
    // The boot time is whole seconds, cut down: a second of slack.
    if boot > started + Duration::from_secs(1) {
        return false;
    }
    match proc::stat(pid).and_then(|stat| stat.start_time(boot)) {
        Some(at) => (at - started)
            .abs()
            .to_std()
            .is_ok_and(|gap| gap <= SAME_START),
        // The leader has gone and left members in its group: nothing to compare.
        None => true,
    }
}

#[cfg(not(target_os = "linux"))]
fn may_be_the_job(_pid: u32, _started: Option<DateTime<Utc>>) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    use super::*;

    /// `sleep 60` leading its own process group, as bosun starts jobs.
    fn job() -> Child {
        Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .expect("sleep can be started")
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_process_is_the_job_only_if_it_started_when_the_job_did() {
        let started = Utc::now();
        let mut child = job();
        let pid = child.id();
        assert!(may_be_the_job(pid, Some(started)));
        // Its pid was recorded for a job that started an hour before or after it.
        assert!(!may_be_the_job(
            pid,
            Some(started - chrono::Duration::hours(1))
        ));
        assert!(!may_be_the_job(
            pid,
            Some(started + chrono::Duration::hours(1))
        ));
        // Recorded before the machine booted: whatever holds the pid now is not it.
        let boot = proc::boot_time().expect("/proc/stat has the boot time");
        assert!(!may_be_the_job(
            pid,
            Some(boot - chrono::Duration::minutes(5))
        ));
        child.kill().expect("the child is ours to kill");
        child.wait().expect("the child is ours to reap");
    }
}
