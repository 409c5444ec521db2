//! The end of a stop, written once: after the polite signal, wait out the grace
//! period for the processes to go, then `SIGKILL` what is left and wait for it.
//!
//! Two kinds of processes are stopped this way: a job the supervisor runs (its group
//! and the descendants that left it, `unix::JobProcs`), and a process group bosun
//! holds no handle on — a job a previous server left running ([`stop_group`]).

use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Processes that can be signalled and looked for, as a whole.
pub(crate) trait Stoppable {
    /// Sends `signal` to every one of them.
    fn signal(&mut self, signal: Signal);
    /// True while any of them is alive.
    fn exists(&mut self) -> bool;
}

/// How long processes sent `SIGKILL` have to go before bosun gives up waiting.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Waits until none of `procs` is left, up to `limit`. True when none is.
///
/// Polls at a short interval: this runs only while processes are being stopped, and
/// there is no event for "a process group became empty".
pub(crate) async fn wait_gone(procs: &mut impl Stoppable, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if !procs.exists() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Once the polite signal is sent: waits until `grace_end` (or until `kill_now`
/// fires) for `procs` to go, then sends `SIGKILL` to what is left and waits up to
/// five seconds more. True when none is left.
pub(crate) async fn finish(
    procs: &mut impl Stoppable,
    grace_end: Instant,
    kill_now: &CancellationToken,
) -> bool {
    let gone = tokio::select! {
        gone = wait_gone(procs, grace_end.saturating_duration_since(Instant::now())) => gone,
        _ = kill_now.cancelled() => false,
    };
    if gone {
        return true;
    }
    procs.signal(Signal::SIGKILL);
    wait_gone(procs, KILL_WAIT).await
}

/// A process group bosun holds no handle on; its zombies count as gone, since their
/// parent may never reap them.
struct Group(u32);

impl Stoppable for Group {
    fn signal(&mut self, signal: Signal) {
        if let Ok(raw) = i32::try_from(self.0) {
            let _ = killpg(Pid::from_raw(raw), signal);
        }
    }

    fn exists(&mut self) -> bool {
        crate::proc::group_alive(self.0)
    }
}

/// Stops the process group `pgid` (e.g. a job a previous server left running):
/// `SIGTERM`, up to `grace` for it to go, then `SIGKILL` to what is left and up to
/// five seconds more. Returns at once when nothing of it lives. True when nothing of
/// it is left; a group that outlives `SIGKILL` is logged.
pub async fn stop_group(pgid: u32, grace: Duration) -> bool {
    let mut group = Group(pgid);
    if !group.exists() {
        return true;
    }
    group.signal(Signal::SIGTERM);
    let gone = finish(
        &mut group,
        Instant::now() + grace,
        &CancellationToken::new(),
    )
    .await;
    if !gone {
        tracing::warn!(pgid, "process group still has live members after SIGKILL");
    }
    gone
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    use crate::proc::group_alive;

    use super::*;

    #[tokio::test]
    async fn stopping_a_group_also_kills_a_child_that_ignores_sigterm() {
        let mut leader = Command::new("sh")
            .args(["-c", r#"(trap "" TERM; exec sleep 60) & echo $!; wait"#])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh can be started");
        // Once sh has said its child's pid, both are in the group.
        let mut line = String::new();
        std::io::BufReader::new(leader.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("sh prints its child's pid");
        assert!(line.trim().parse::<u32>().is_ok(), "{line:?}");
        assert!(group_alive(leader.id()));

        stop_group(leader.id(), Duration::from_secs(5)).await;
        assert!(
            !group_alive(leader.id()),
            "the whole group is gone, the child that ignored SIGTERM too"
        );
        leader.wait().expect("the leader is ours to reap");
    }
}
