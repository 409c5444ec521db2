//! The data directory's lock: one server at a time runs jobs from a data directory.
//!
//! A server keeps an exclusive `flock` on `<home>/server.lock` for as long as it
//! runs, with its pid and address written in it. The kernel drops the lock when the
//! holder dies, however it dies, so a lock nobody holds was left by a crash and is
//! simply taken (as seed 001's lock files are, `bosun_exec::lock`). The file is never
//! removed: what counts is whether someone holds it.
//!
//! [`crate::start`] takes it before anything else: before the store is opened, before
//! the jobs a previous server left running are recovered, before the caller touches
//! client.json. A second server on the same directory would otherwise take the
//! first's running jobs for a crash's leftovers and stop them. Several servers share
//! work through one PostgreSQL store, each with a data directory of its own; the lock
//! guards what is local to a directory (its runner's processes, logs and recovery),
//! whatever the store.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// The lock file's name in the data directory.
const FILE: &str = "server.lock";

/// How long a server started in the process that last held the lock waits for the
/// lock's copies in not-yet-exec'd children to close, and how often it looks.
const OWN_RELEASE: Duration = Duration::from_millis(500);
const OWN_POLL: Duration = Duration::from_millis(10);

/// What the lock file says about its holder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    /// `http://ADDR:PORT`, once it listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

/// Another live server holds the data directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data directory {} is in use by {}", home.display(), describe(*pid, url.as_deref()))]
pub struct HomeInUse {
    /// The data directory.
    pub home: PathBuf,
    /// The holder's pid, if its lock file says.
    pub pid: Option<u32>,
    /// Where the holder listens, if its lock file says.
    pub url: Option<String>,
}

/// "bosun up (pid 123, http://…)", with what is known of the holder.
fn describe(pid: Option<u32>, url: Option<&str>) -> String {
    match (pid, url) {
        (Some(pid), Some(url)) => format!("bosun up (pid {pid}, {url})"),
        (Some(pid), None) => format!("bosun up (pid {pid}, still starting)"),
        _ => "another bosun up".to_owned(),
    }
}

/// The held lock; dropping it lets go.
#[derive(Debug)]
pub(crate) struct HomeLock {
    file: File,
    path: PathBuf,
}

impl HomeLock {
    /// Takes the lock of the data directory `home` (which must exist) for this
    /// process. The error is [`ServerError::HomeInUse`] when a live process holds it.
    pub(crate) fn acquire(home: &Path) -> Result<Self, ServerError> {
        let path = home.join(FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(ServerError::io(
                "open the data directory's lock file",
                &path,
            ))?;
        let mut waited = Duration::ZERO;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = read(&mut file);
                    // A lock this process held and let go of can still be held for a
                    // moment by a child forked from it that has not yet exec'd (the
                    // descriptor closes only at the exec): a server started again in
                    // the same process waits that moment out.
                    let ours = holder.as_ref().is_some_and(|h| h.pid == std::process::id());
                    if ours && waited < OWN_RELEASE {
                        std::thread::sleep(OWN_POLL);
                        waited += OWN_POLL;
                        continue;
                    }
                    return Err(HomeInUse {
                        home: home.to_owned(),
                        pid: holder.as_ref().map(|h| h.pid),
                        url: holder.and_then(|h| h.url),
                    }
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(ServerError::io("lock", path)(e));
                }
            }
        }
        let mut lock = Self { file, path };
        lock.write(None)?;
        Ok(lock)
    }

    /// Writes this process's pid and, once it listens, its URL into the file.
    pub(crate) fn write(&mut self, url: Option<&str>) -> Result<(), ServerError> {
        let holder = Holder {
            pid: std::process::id(),
            url: url.map(str::to_owned),
        };
        let body = serde_json::to_vec(&holder).expect("a pid and a URL serialize");
        self.file
            .set_len(0)
            .and_then(|()| self.file.rewind())
            .and_then(|()| self.file.write_all(&body))
            .map_err(ServerError::io("write the lock file", &self.path))
    }
}

/// The holder a lock file names; `None` when it is empty or unreadable (its holder
/// is still writing it).
fn read(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_data_directory_is_refused_naming_the_holder_until_the_first_goes() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = HomeLock::acquire(dir.path()).unwrap();
        first.write(Some("http://127.0.0.1:8420")).unwrap();
        let refused = HomeLock::acquire(dir.path()).expect_err("the directory is held");
        let ServerError::HomeInUse(refused) = refused else {
            panic!("not a HomeInUse: {refused:?}");
        };
        assert_eq!(
            Some(&refused),
            Some(&HomeInUse {
                home: dir.path().to_owned(),
                pid: Some(std::process::id()),
                url: Some("http://127.0.0.1:8420".to_owned()),
            })
        );
        drop(first);
        HomeLock::acquire(dir.path()).expect("a lock nobody holds is taken");
    }
}
