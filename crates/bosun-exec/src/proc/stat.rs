//! Linux: what `/proc` says about processes — one process's `stat` line, every
//! process at once, and when the machine booted.
//!
//! The supervisor's hunt for a job's escapees (`linux`) and a restarted server's look
//! at the jobs its predecessor left running both read these, through this one parser.

use std::fs;

use chrono::{DateTime, Utc};

/// A process's state, the third field of `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// `R`: running or runnable.
    Running,
    /// `S`: sleeping, interruptibly.
    Sleeping,
    /// `D`: waiting on the disk, uninterruptibly.
    DiskSleep,
    /// `T` or `t`: stopped by a signal or a tracer.
    Stopped,
    /// `Z`: ended, waiting for its parent to reap it.
    Zombie,
    /// `X`: ended and being reaped.
    Dead,
    /// Any other letter (`I` idle, `P` parked, ...).
    Other(char),
}

impl State {
    fn from_field(field: &str) -> Option<Self> {
        let mut letters = field.chars();
        let letter = letters.next()?;
        if letters.next().is_some() {
            return None;
        }
        Some(match letter {
            'R' => Self::Running,
            'S' => Self::Sleeping,
            'D' => Self::DiskSleep,
            'T' | 't' => Self::Stopped,
            'Z' => Self::Zombie,
            'X' => Self::Dead,
            other => Self::Other(other),
        })
    }

    /// True for a process that has ended (a zombie, or dead): it only waits for its
    /// parent, possibly an init that never reaps.
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Zombie | Self::Dead)
    }
}

/// One process, as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stat {
    /// Its pid.
    pub pid: u32,
    /// Its state.
    pub state: State,
    /// Its parent's pid (0 for the kernel's own).
    pub ppid: u32,
    /// Its process group.
    pub pgrp: u32,
    /// When it started, in clock ticks after boot; with the pid, it names one process
    /// for good.
    pub start: u64,
}

impl Stat {
    /// When the process started, given the machine's boot time ([`boot_time`]);
    /// `None` when the clock tick cannot be known.
    pub fn start_time(&self, boot: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|&t| t > 0)?;
        let ticks = i64::try_from(self.start).ok()?;
        Some(boot + chrono::Duration::milliseconds(ticks.checked_mul(1000)? / per_second))
    }
}

/// Parses `/proc/PID/stat`. The command name (field 2) may hold spaces and brackets,
/// so the fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (head, rest) = text.rsplit_once(')')?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) ... starttime(22).
    Some(Stat {
        pid,
        state: State::from_field(fields.first()?)?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Reads `/proc/PID/stat`: the error when it cannot be read, `Ok(None)` when it does
/// not parse.
pub(crate) fn read_stat(pid: u32) -> std::io::Result<Option<Stat>> {
    Ok(parse_stat(&fs::read_to_string(format!(
        "/proc/{pid}/stat"
    ))?))
}

/// Process `pid` as `/proc` shows it; `None` when it is not there (or not readable).
pub fn stat(pid: u32) -> Option<Stat> {
    read_stat(pid).ok().flatten()
}

/// Every process visible in `/proc`; empty where there is no readable `/proc`.
/// Processes that end while they are read are skipped.
pub fn all_processes() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let name = entry.ok()?.file_name();
        stat(name.to_str()?.parse().ok()?)
    })
    .collect()
}

/// When the machine booted (`btime` in `/proc/stat`), in whole seconds.
pub fn boot_time() -> Option<DateTime<Utc>> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let seconds = stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(seconds, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_bracket() {
        let text = "4242 (we ird) (name) S 1 4240 4240 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 62818 3133440 353";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                pid: 4242,
                state: State::Sleeping,
                ppid: 1,
                pgrp: 4240,
                start: 62818,
            })
        );
        assert!(
            parse_stat("1 (x) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5")
                .unwrap()
                .state
                .has_ended()
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_found_in_proc_with_its_parent() {
        let me = std::process::id();
        let found = all_processes().into_iter().find(|p| p.pid == me).unwrap();
        assert_eq!(found.ppid, nix::unistd::getppid().as_raw() as u32);
        assert_eq!(found.pgrp, nix::unistd::getpgrp().as_raw() as u32);
        assert!(!found.state.has_ended());
    }

    #[test]
    fn this_process_started_after_the_machine_booted() {
        let boot = boot_time().expect("/proc/stat has the boot time");
        let me = stat(std::process::id()).expect("this process is in /proc");
        let started = me.start_time(boot).expect("the clock tick is known");
        assert!(boot <= started && started <= Utc::now());
    }
}
