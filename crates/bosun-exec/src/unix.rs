//! Unix process-group plumbing: signalling a whole group, waiting until it is gone,
//! reaping adopted descendants, and resource limits in the child.
//!
//! A job's leader is spawned with `process_group(0)`, so its pid is the group id and
//! every descendant that does not call `setsid` stays in that group. bosun signals
//! the group, never just the leader. On Linux bosun makes itself a child subreaper, so
//! descendants orphaned by the leader's death are re-parented to bosun and reaped
//! here instead of lingering as zombies under an init that may not reap them.

use std::io;
use std::time::Duration;

use bosun_core::Limits;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// Sends `signal` to every process of the group. False when the group is empty.
pub(crate) fn signal_group(pgid: u32, signal: Signal) -> bool {
    killpg(Pid::from_raw(pgid as i32), signal).is_ok()
}

/// Reaps members of the group that have become bosun's children and have exited.
fn reap_group(pgid: u32) {
    let group = Pid::from_raw(-(pgid as i32));
    loop {
        match waitpid(group, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

/// True while any process of the group exists (after reaping our own zombies).
pub(crate) fn group_exists(pgid: u32) -> bool {
    reap_group(pgid);
    match killpg(Pid::from_raw(pgid as i32), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        // EPERM: a member exists that we may not signal (it changed credentials).
        Err(_) => true,
    }
}

/// Waits until the group is gone, up to `limit`. True when it is.
///
/// Polls at a short interval: this runs only while a job is being torn down, never
/// while it runs, and there is no portable event for "a process group became empty".
pub(crate) async fn wait_group_gone(pgid: u32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        if !group_exists(pgid) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Makes this process a child subreaper (Linux), so that descendants of a job whose
/// parent died are re-parented to bosun and can be reaped by it. A no-op elsewhere.
///
/// Call it once, early, in a process that supervises jobs.
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)?;
    Ok(())
}

/// Arranges for `limits` to be applied in the child between fork and exec.
pub(crate) fn apply_limits(command: &mut tokio::process::Command, limits: Limits) {
    use nix::sys::resource::{Resource, setrlimit};
    if limits.is_empty() {
        return;
    }
    let set = move || -> io::Result<()> {
        let pairs = [
            (Resource::RLIMIT_AS, limits.memory_bytes),
            (Resource::RLIMIT_CPU, limits.cpu_seconds),
            (Resource::RLIMIT_NOFILE, limits.open_files),
        ];
        for (resource, value) in pairs {
            if let Some(value) = value {
                setrlimit(resource, value, value).map_err(io::Error::from)?;
            }
        }
        Ok(())
    };
    // SAFETY: the closure runs in the forked child before exec. It only calls
    // setrlimit(2), which is async-signal-safe, allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(set);
    }
}

/// Decodes a wait status into (exit code, signal).
pub(crate) fn decode(status: std::process::ExitStatus) -> (Option<i32>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    (status.code(), status.signal())
}
