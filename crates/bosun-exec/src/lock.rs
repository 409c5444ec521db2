//! Seed 001's lock files: `Locks/{execution-id}.lock`, so one execution id runs once.
//!
//! The file holds JSON with `ExecutionId`, `StartTime`, `MachineName` and `Pid`. The
//! holder also keeps an exclusive `flock` on it for as long as it runs; the kernel drops
//! that lock when the holder dies, however it dies. So a lock file nobody holds a
//! `flock` on was left by a crash — an orphan — and is reclaimed, unless the process
//! it names is still alive on this machine (a lock written by a tool that does not use
//! `flock`, such as the original executor), which is respected as the seed requires.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::ExecError;

/// What a lock file says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LockInfo {
    /// The execution the lock is for.
    pub execution_id: String,
    /// When the holder took it.
    pub start_time: DateTime<Utc>,
    /// The host the holder runs on.
    pub machine_name: String,
    /// The holder's process id.
    pub pid: u32,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another live process holds it.
    #[error("execution {id} is already running ({holder}); lock file {}", path.display())]
    Held {
        /// The execution id.
        id: String,
        /// Who holds it, for people.
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created, read or written.
    #[error(transparent)]
    Io(#[from] ExecError),
}

/// A held lock. Dropping it removes the file and releases the lock.
#[derive(Debug)]
pub struct TaskLock {
    path: PathBuf,
    /// The open lock file; the exclusive lock lives as long as it is open.
    file: Option<File>,
    /// Set when an orphaned lock was reclaimed: what it said.
    pub reclaimed: Option<String>,
}

/// This machine's name, as written into lock files and queue entries.
pub fn machine_name() -> String {
    nix::unistd::gethostname()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

fn pid_alive(pid: u32) -> bool {
    pid != 0
        && i32::try_from(pid).is_ok_and(|pid| {
            !matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Err(Errno::ESRCH)
            )
        })
}

/// Takes the lock for `id` in `locks_dir`, reclaiming an orphan.
pub fn acquire(locks_dir: &Path, id: &str) -> Result<TaskLock, LockError> {
    std::fs::create_dir_all(locks_dir).map_err(ExecError::io("create directory", locks_dir))?;
    let path = locks_dir.join(format!("{id}.lock"));
    let held = |holder: String| LockError::Held {
        id: id.to_owned(),
        holder,
        path: path.clone(),
    };

    for _ in 0..5 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(ExecError::io("open lock file", &path))?;
        let mut file = file;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(held(describe(&read_info(file))));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(ExecError::io("lock", &path)(e).into());
            }
        }
        // The file may have been removed (released) between our open and our flock.
        let same = match (std::fs::metadata(&path), file.metadata()) {
            (Ok(on_disk), Ok(ours)) => on_disk.ino() == ours.ino() && on_disk.dev() == ours.dev(),
            _ => false,
        };
        if !same {
            continue;
        }

        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(ExecError::io("read lock file", &path))?;
        let previous = serde_json::from_str::<LockInfo>(&text).ok();
        let me = machine_name();
        if let Some(info) = &previous
            && info.machine_name == me
            && info.pid != std::process::id()
            && pid_alive(info.pid)
        {
            return Err(held(format!(
                "{}; if that process is not an executor, remove the lock file",
                describe(&previous)
            )));
        }
        let reclaimed = (!text.trim().is_empty()).then(|| match &previous {
            Some(_) => format!(
                "reclaimed an orphaned lock ({}, no longer running)",
                describe(&previous)
            ),
            None => "reclaimed an unreadable lock file left by a crash".to_owned(),
        });

        let info = LockInfo {
            execution_id: id.to_owned(),
            start_time: Utc::now(),
            machine_name: me,
            pid: std::process::id(),
        };
        let body = serde_json::to_vec_pretty(&info).expect("LockInfo serializes: plain fields");
        file.set_len(0)
            .map_err(ExecError::io("truncate lock file", &path))?;
        file.rewind()
            .map_err(ExecError::io("write lock file", &path))?;
        file.write_all(&body)
            .map_err(ExecError::io("write lock file", &path))?;
        return Ok(TaskLock {
            path,
            file: Some(file),
            reclaimed,
        });
    }
    Err(held("its lock file keeps changing under bosun".to_owned()))
}

fn read_info(mut file: File) -> Option<LockInfo> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn describe(info: &Option<LockInfo>) -> String {
    match info {
        Some(i) => format!(
            "pid {} on {} since {}",
            i.pid,
            i.machine_name,
            i.start_time.to_rfc3339()
        ),
        None => "holder unknown".to_owned(),
    }
}

impl TaskLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TaskLock {
    fn drop(&mut self) {
        // Remove first, then unlock: a waiter that locks the old file sees it unlinked
        // and starts over.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let lock = acquire(dir.path(), "t1").unwrap();
        let info: LockInfo = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
        assert_eq!(
            (info.pid, info.execution_id.as_str()),
            (std::process::id(), "t1")
        );
        assert!(matches!(
            acquire(dir.path(), "t1"),
            Err(LockError::Held { .. })
        ));
        let path = lock.path().to_owned();
        drop(lock);
        assert!(!path.exists());
        acquire(dir.path(), "t1").unwrap();
    }

    #[test]
    fn a_lock_of_a_dead_process_is_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = LockInfo {
            execution_id: "t2".into(),
            start_time: Utc::now(),
            machine_name: machine_name(),
            pid: dead_pid(),
        };
        std::fs::write(
            dir.path().join("t2.lock"),
            serde_json::to_vec(&stale).unwrap(),
        )
        .unwrap();
        let lock = acquire(dir.path(), "t2").unwrap();
        assert!(lock.reclaimed.as_deref().unwrap().contains("orphaned"));
    }

    #[test]
    fn a_lock_naming_a_live_process_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let foreign = LockInfo {
            execution_id: "t3".into(),
            start_time: Utc::now(),
            machine_name: machine_name(),
            pid: live.id(),
        };
        std::fs::write(
            dir.path().join("t3.lock"),
            serde_json::to_vec(&foreign).unwrap(),
        )
        .unwrap();
        let err = acquire(dir.path(), "t3").unwrap_err().to_string();
        live.kill().unwrap();
        live.wait().unwrap();
        assert!(err.contains("remove the lock file"), "{err}");
        // Once the process is gone the lock is an orphan. The first attempt's file
        // was closed, but a process another test forks in that moment holds a copy of
        // its descriptor, and so the flock, until it execs (close-on-exec): give that
        // a moment, as a second executor would find the lock taken and be told so.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut taken = acquire(dir.path(), "t3");
        while taken.is_err() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            taken = acquire(dir.path(), "t3");
        }
        let lock = taken.unwrap();
        assert!(lock.reclaimed.as_deref().unwrap().contains("orphaned"));
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }
}
