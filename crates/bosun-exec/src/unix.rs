//! Unix process-group plumbing: signalling a whole job, waiting until it is gone,
//! reaping adopted descendants, and resource limits in the child.
//!
//! A job's leader is spawned with `process_group(0)`, so its pid is the group id and
//! every descendant that does not call `setsid` stays in that group. bosun signals
//! the group, never just the leader. On Linux bosun makes itself a child subreaper, so
//! descendants orphaned by the leader's death are re-parented to bosun and reaped
//! here instead of lingering as zombies under an init that may not reap them.
//!
//! Descendants that left the group (`setsid`) are found on Linux by the `linux`
//! module's hunt, which [`JobProcs`] runs alongside the group's signals during a
//! teardown; elsewhere only the group is stopped. Every job carries a mark in its
//! environment ([`MARK_VAR`]) for that hunt: setting one variable is all it costs a
//! spawn.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bosun_core::Limits;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::stop::Stoppable;

/// The variable that marks a job's processes. Its value is a comma-separated list of
/// marks: a job started by a bosun that itself runs as a job carries both.
pub(crate) const MARK_VAR: &str = "BOSUN_JOB_MARK";

/// A new mark for a job: this bosun's pid and a counter, unique on the machine while
/// this bosun lives, after the marks bosun itself inherited (if it runs as a job).
/// Returns (the job's own mark, the variable's value).
pub(crate) fn new_mark() -> (String, String) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static INHERITED: OnceLock<Option<String>> = OnceLock::new();
    let own = format!(
        "{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let inherited = INHERITED.get_or_init(|| std::env::var(MARK_VAR).ok());
    let value = match inherited {
        Some(outer) if !outer.is_empty() => format!("{outer},{own}"),
        _ => own.clone(),
    };
    (own, value)
}

/// Jobs of this process between their spawn and the end of their teardown: when a
/// finished leader's job is the only one, its leftovers are hunted at once; with
/// others running, by the the sweeper (`linux::sweep_later`), so that one pass over `/proc` serves many job
/// ends and no job's end waits for it.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts a job as live for as long as it is held (see [`LIVE`]).
#[derive(Debug)]
pub(crate) struct Live(());

impl Live {
    pub(crate) fn new() -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Self(())
    }

    /// True when no other job of this process is live.
    pub(crate) fn alone(&self) -> bool {
        LIVE.load(Ordering::Relaxed) <= 1
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A job's processes during its teardown: its group and, on Linux, the descendants
/// that left the group, found by the job's mark.
pub(crate) struct JobProcs {
    pgid: u32,
    mark: String,
    /// The signal of the current step, sent to escapees found during it.
    step: Option<Signal>,
    /// Whether escapees are looked for: once the job is being stopped, or its finished
    /// leader was found to have left some. A job that ends cleanly never reads `/proc`.
    hunting: bool,
    #[cfg(target_os = "linux")]
    hunt: crate::linux::Hunt,
}

impl JobProcs {
    pub(crate) fn new(pgid: u32, mark: String) -> Self {
        Self {
            pgid,
            mark,
            step: None,
            hunting: false,
            #[cfg(target_os = "linux")]
            hunt: crate::linux::Hunt::default(),
        }
    }

    /// After the leader exited by itself: true when it left processes behind in its
    /// group, or (alone among this process's jobs) outside it. The escapees are
    /// looked for only when bosun has a child at all (one system call), as a leftover
    /// of a finished leader can only have been re-parented to bosun; with other jobs
    /// running, the sweeper looks for them later and stops them itself, with `polite`
    /// and `grace`.
    pub(crate) fn left_behind(&mut self, live: &Live, polite: Signal, grace: Duration) -> bool {
        if group_exists(self.pgid) {
            return true;
        }
        #[cfg(target_os = "linux")]
        if crate::linux::has_children() {
            if live.alone() {
                self.hunting = self.hunt.sweep(self.pgid, &self.mark, None);
                return self.hunting;
            }
            crate::linux::sweep_later(crate::linux::Leftovers {
                mark: self.mark.clone(),
                polite,
                grace,
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (live, polite, grace);
        false
    }
}

impl Stoppable for JobProcs {
    /// Sends `signal` to the group and to every process that left it; escapees found
    /// later in this step get it too.
    fn signal(&mut self, signal: Signal) {
        signal_group(self.pgid, signal);
        self.step = Some(signal);
        self.hunting = true;
        #[cfg(target_os = "linux")]
        {
            self.hunt.next_step();
            self.hunt.sweep(self.pgid, &self.mark, Some(signal));
        }
    }

    /// True while any of the job's processes is alive. Reaps those that were bosun's
    /// children, and sends the step's signal to escapees not yet sent it.
    fn exists(&mut self) -> bool {
        let group = group_exists(self.pgid);
        #[cfg(target_os = "linux")]
        let escaped = self.hunting && self.hunt.sweep(self.pgid, &self.mark, self.step);
        #[cfg(not(target_os = "linux"))]
        let escaped = false;
        group || escaped
    }
}

/// Kills the job at once, group and escapees, without waiting: the last line of
/// defence when a job's supervisor is dropped.
pub(crate) fn kill_job(pgid: u32, mark: &str) {
    signal_group(pgid, Signal::SIGKILL);
    #[cfg(target_os = "linux")]
    for p in crate::linux::escapees(pgid, mark) {
        let _ = nix::sys::signal::kill(crate::linux::nix_pid(p.pid), Signal::SIGKILL);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = mark;
}

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
fn group_exists(pgid: u32) -> bool {
    reap_group(pgid);
    match killpg(Pid::from_raw(pgid as i32), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        // EPERM: a member exists that we may not signal (it changed credentials).
        Err(_) => true,
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
