//! Linux: finding a job's descendants that left its process group.
//!
//! A process that calls `setsid` (or `setpgid`) is no longer reached by signals to the
//! job's group. To stop it anyway, bosun hunts for the job's whole tree when it tears a
//! job down — never while the job runs:
//!
//! - every process is read from `/proc/PID/stat` (state, parent, group, start time),
//!   which gives the parent tree;
//! - the roots are bosun's own children that carry the job's mark (`BOSUN_JOB_MARK` in
//!   `/proc/PID/environ`, set by bosun when it spawns the job): the job's leader while it
//!   lives, and the descendants re-parented to bosun, the child subreaper, once their
//!   parent died. The mark tells this job's orphans from those of the other jobs the
//!   same bosun runs;
//! - the job's processes are the roots and all their descendants.
//!
//! A job whose leader exits by itself is hunted for only when bosun has a child at all
//! (one system call). When other jobs of this process are running, its hunt is handed
//! to the sweeper ([`sweep_later`]), a thread that reads `/proc` once for every job
//! handed over since its last pass, at most ten times a second: a server ending
//! hundreds of jobs a second neither reads `/proc` for each nor makes a job's end wait.
//!
//! What this cannot see: a descendant re-parented elsewhere (bosun is not the subreaper,
//! or an intermediate process is one), and an orphan that cleared or replaced its
//! environment before its parent died. Both need a cgroup to be found; they are
//! documented limits.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, waitid, waitpid};
use nix::unistd::Pid;

use crate::proc::{Stat, all_processes, stat};
use crate::unix::MARK_VAR;

/// `pid` as nix takes it. A pid read from `/proc` fits: the kernel's are `i32`.
pub(crate) fn nix_pid(pid: u32) -> Pid {
    Pid::from_raw(pid as i32)
}

/// True when `pid`'s environment carries `mark`. A zombie's or another user's
/// environment cannot be read: false.
fn carries(pid: u32, mark: &str) -> bool {
    let mut environ = Vec::new();
    let read = fs::File::open(format!("/proc/{pid}/environ"))
        .and_then(|mut file| file.read_to_end(&mut environ));
    if read.is_err() {
        return false;
    }
    let prefix = format!("{MARK_VAR}=");
    environ
        .split(|b| *b == 0)
        .filter_map(|entry| entry.strip_prefix(prefix.as_bytes()))
        .any(|value| value.split(|b| *b == b',').any(|m| m == mark.as_bytes()))
}

/// True when this process has any child, living or not yet reaped. One system call:
/// lets a job's end skip the hunt when nothing can have been re-parented to bosun.
pub(crate) fn has_children() -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(nix::errno::Errno::ECHILD))
}

/// The living processes of the job marked `mark` that are outside its group `pgid`,
/// found in one pass over `/proc` (see the module's description).
pub(crate) fn escapees(pgid: u32, mark: &str) -> Vec<Stat> {
    Tree::read().escapees(pgid, mark)
}

/// Every process of one pass over `/proc`, by parent: what a hunt walks.
struct Tree {
    children: HashMap<u32, Vec<Stat>>,
}

impl Tree {
    fn read() -> Self {
        let mut children: HashMap<u32, Vec<Stat>> = HashMap::new();
        for p in all_processes() {
            children.entry(p.ppid).or_default().push(p);
        }
        Self { children }
    }

    /// The living processes of the job marked `mark` outside its group `pgid` (0 once
    /// the group is gone).
    fn escapees(&self, pgid: u32, mark: &str) -> Vec<Stat> {
        let me = std::process::id();
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        let mut queue: Vec<&Stat> = self
            .children
            .get(&me)
            .into_iter()
            .flatten()
            .filter(|p| !p.state.has_ended() && carries(p.pid, mark))
            .collect();
        while let Some(p) = queue.pop() {
            if !seen.insert(p.pid) {
                continue;
            }
            if !p.state.has_ended() && p.pgrp != pgid {
                found.push(*p);
            }
            queue.extend(self.children.get(&p.pid).into_iter().flatten());
        }
        found
    }
}

/// The escapees of one job during its teardown: which were signalled, and which are
/// to be reaped once they exit.
#[derive(Debug, Default)]
pub(crate) struct Hunt {
    /// Every escapee seen, by pid, with its start time.
    seen: HashMap<u32, u64>,
    /// The pids already sent the signal of the current step.
    signalled: HashSet<u32>,
}

impl Hunt {
    /// Looks for escapees, sends `signal` to those not yet sent it in this step, and
    /// reaps those that became bosun's children and exited. True when any is alive.
    pub(crate) fn sweep(&mut self, pgid: u32, mark: &str, signal: Option<Signal>) -> bool {
        self.reap();
        let alive = escapees(pgid, mark);
        for p in &alive {
            self.seen.insert(p.pid, p.start);
            if let Some(signal) = signal
                && self.signalled.insert(p.pid)
            {
                tracing::debug!(
                    pid = p.pid,
                    ?signal,
                    "signalling a process that left the job's group"
                );
                let _ = kill(nix_pid(p.pid), signal);
            }
        }
        // Those that became zombies since the first reap: the scan saw them already
        // dead, so no later sweep would find them.
        self.reap();
        !alive.is_empty()
    }

    /// Starts a new step: the next [`Hunt::sweep`] signals every escapee again.
    pub(crate) fn next_step(&mut self) {
        self.signalled.clear();
    }

    /// Reaps the escapees that are bosun's exited children. A pid is reaped only while
    /// it still names the process that was seen (same start time), so the status of
    /// another child that reused it is never taken.
    fn reap(&mut self) {
        let me = std::process::id();
        self.seen.retain(|&pid, &mut start| match stat(pid) {
            Some(p) if p.start == start && p.state.has_ended() && p.ppid == me => {
                let _ = waitpid(nix_pid(pid), Some(WaitPidFlag::WNOHANG));
                false
            }
            Some(p) => p.start == start,
            None => false,
        });
    }
}

/// A finished job whose leftovers the sweeper is to stop: its mark, the polite signal
/// and the grace period before `SIGKILL`.
pub(crate) struct Leftovers {
    pub(crate) mark: String,
    pub(crate) polite: Signal,
    pub(crate) grace: Duration,
}

/// The least time between two of the sweeper's passes over `/proc`: under a stream
/// of job ends it reads `/proc` at most ten times a second, however many jobs end.
const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Hands a finished job's possible leftovers to the process-wide sweeper: a thread
/// of its own (not a task, so it outlives any one runtime) that sleeps until a job
/// is handed to it, reads `/proc` once for every job handed over since its last
/// pass, sends the polite signal to what it finds, and after the grace period
/// `SIGKILL`s and reaps what is left.
pub(crate) fn sweep_later(job: Leftovers) {
    static SWEEPER: OnceLock<Mutex<mpsc::Sender<Leftovers>>> = OnceLock::new();
    let sender = SWEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("bosun-sweeper".into())
            .spawn(move || sweeper(rx));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the thread that stops finished jobs' leftovers");
        }
        Mutex::new(tx)
    });
    let sent = sender
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(job);
    if sent.is_err() {
        tracing::warn!("no sweeper to stop a finished job's leftovers");
    }
}

/// A job the sweeper found leftovers of, signalled, waiting for its grace to end.
struct Stopping {
    mark: String,
    hunt: Hunt,
    kill_at: Instant,
}

fn sweeper(jobs: mpsc::Receiver<Leftovers>) {
    let mut stopping: Vec<Stopping> = Vec::new();
    let mut last_pass: Option<Instant> = None;
    loop {
        // Sleep until a job is handed over or the earliest grace period ends.
        let first = match stopping.iter().map(|s| s.kill_at).min() {
            None => match jobs.recv() {
                Ok(job) => Some(job),
                Err(_) => return,
            },
            Some(at) => match jobs.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        if let Some(first) = first {
            if let Some(wait) = last_pass.map(|at| SWEEP_INTERVAL.saturating_sub(at.elapsed())) {
                std::thread::sleep(wait);
            }
            let mut batch = vec![first];
            batch.extend(jobs.try_iter());
            last_pass = Some(Instant::now());
            let tree = Tree::read();
            for job in batch {
                let found = tree.escapees(0, &job.mark);
                if found.is_empty() {
                    continue;
                }
                let mut hunt = Hunt::default();
                for p in &found {
                    hunt.seen.insert(p.pid, p.start);
                    tracing::debug!(pid = p.pid, "stopping a process a finished job left behind");
                    let _ = kill(nix_pid(p.pid), job.polite);
                }
                stopping.push(Stopping {
                    mark: job.mark,
                    hunt,
                    kill_at: Instant::now() + job.grace,
                });
            }
        }
        let now = Instant::now();
        stopping.retain_mut(|s| {
            if s.kill_at > now {
                return true;
            }
            // Those that obeyed are zombies to reap; the rest get SIGKILL, and a last
            // sweep a moment later reaps them.
            s.hunt.next_step();
            s.hunt.sweep(0, &s.mark, Some(Signal::SIGKILL));
            std::thread::sleep(Duration::from_millis(20));
            s.hunt.sweep(0, &s.mark, None);
            false
        });
    }
}
