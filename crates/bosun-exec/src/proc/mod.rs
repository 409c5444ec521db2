//! Processes as the system shows them, for code that did not start them itself or no
//! longer holds them as children: a restarted server looking at the jobs its
//! predecessor left running, and the supervisor's hunt for a job's escapees.
//!
//! On Linux, `/proc` is read (see [`Stat`]); elsewhere only what signal 0 tells is
//! known. Stopping such a group is [`crate::stop_group`].

#[cfg(target_os = "linux")]
mod stat;

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg};
use nix::unistd::{Pid, getpgid};

#[cfg(target_os = "linux")]
pub(crate) use stat::read_stat;
#[cfg(target_os = "linux")]
pub use stat::{Stat, State, all_processes, boot_time, stat};

/// True while the process group `pgid` has a member that has not ended (a zombie has
/// ended; it waits only for its parent, possibly an init that never reaps). Where
/// `/proc` cannot tell, any member counts.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return false;
    };
    match killpg(Pid::from_raw(raw), None) {
        Err(Errno::ESRCH) => false,
        // Some member exists; on Linux, look whether one is more than a zombie.
        _ => live_member(pgid).unwrap_or(true),
    }
}

/// Whether `/proc` shows a process of group `pgid` that has not ended; `None` where
/// there is no readable `/proc`.
#[cfg(target_os = "linux")]
fn live_member(pgid: u32) -> Option<bool> {
    let all = all_processes();
    // An empty listing is not /proc as Linux has it: this process would be in it.
    (!all.is_empty()).then(|| all.iter().any(|p| p.pgrp == pgid && !p.state.has_ended()))
}

#[cfg(not(target_os = "linux"))]
fn live_member(_pgid: u32) -> Option<bool> {
    None
}

/// True when `pid` is alive (not a zombie) and leads its own process group, as every
/// job bosun starts does: very likely the job, not a process that reused the pid.
pub fn leads_live_group(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let signal_zero = || kill(Pid::from_raw(raw), None).is_ok();
    #[cfg(target_os = "linux")]
    let alive = match read_stat(pid) {
        Ok(stat) => stat.is_some_and(|s| !s.state.has_ended()),
        Err(_) => signal_zero(),
    };
    #[cfg(not(target_os = "linux"))]
    let alive = signal_zero();
    alive
        && getpgid(Some(Pid::from_raw(raw)))
            .map(|g| g.as_raw() == raw)
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::Command;
    use std::time::Duration;

    use bosun_test_utils::wait_for;

    use super::*;

    #[test]
    fn a_group_is_alive_until_only_zombies_are_left() {
        let mut child = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .expect("sleep can be started");
        let pid = child.id();
        assert!(group_alive(pid));
        assert!(leads_live_group(pid));
        child.kill().expect("the child is ours to kill");
        // Not reaped yet: a zombie, which counts as ended.
        assert!(wait_for(Duration::from_secs(10), || !group_alive(pid)));
        child.wait().expect("the child is ours to reap");
        assert!(!group_alive(pid));
    }
}
