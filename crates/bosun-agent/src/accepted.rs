//! The execution ids this machine has accepted, on disk, so that an `ExecutePackage` the
//! server sends again — because its acknowledgment was lost, or after the agent
//! restarted — never runs a second time.
//!
//! `<home>/agent/accepted` holds one line per id, `<unix seconds> <id>`, appended and
//! synced to disk before the command is acknowledged. On open, ids older than
//! [`MAX_AGE`] are dropped and only the newest [`MAX_IDS`] kept (the file is rewritten
//! whole, atomically), so it stays small however long the agent runs. A line cut short
//! by a crash is skipped: its command was never acknowledged, so the server sends it
//! again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bosun_core::PathIoError;
use chrono::{DateTime, Utc};

use crate::ids::ExecutionId;

/// How long an accepted id is remembered.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most ids remembered; the oldest go first.
pub const MAX_IDS: usize = 10_000;

/// The accepted ids of one data directory.
#[derive(Debug)]
pub struct Accepted {
    path: PathBuf,
    file: File,
    ids: HashSet<String>,
}

impl Accepted {
    /// Opens (or creates) the list at `path`, pruned as of `now`.
    pub fn open(path: impl Into<PathBuf>, now: DateTime<Utc>) -> Result<Self, PathIoError> {
        let path = path.into();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(PathIoError::maker("create the folder", dir))?;
        }
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(PathIoError::maker("read", &path)(e)),
        };
        let oldest = now.timestamp() - MAX_AGE.as_secs() as i64;
        // Only complete lines: a line without its newline was cut short by a crash.
        let mut entries: Vec<(i64, &str)> = text
            .split_inclusive('\n')
            .filter_map(|line| {
                let (secs, id) = line.strip_suffix('\n')?.split_once(' ')?;
                let secs: i64 = secs.parse().ok()?;
                ExecutionId::parse(id).ok()?;
                (secs >= oldest).then_some((secs, id))
            })
            .collect();
        // Newest last; a stable sort keeps the file's order among equal times.
        entries.sort_by_key(|(secs, _)| *secs);
        let keep = &entries[entries.len().saturating_sub(MAX_IDS)..];
        let pruned: String = keep.iter().map(|(s, id)| format!("{s} {id}\n")).collect();
        if pruned != text {
            write_atomically(&path, pruned.as_bytes())?;
        }
        let ids = keep.iter().map(|(_, id)| (*id).to_owned()).collect();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(PathIoError::maker("open", &path))?;
        Ok(Self { path, file, ids })
    }

    /// Whether `id` was accepted before.
    pub fn contains(&self, id: &ExecutionId) -> bool {
        self.ids.contains(id.as_str())
    }

    /// Records `id` durably. `Ok(false)` when it was accepted before: do not run it.
    pub fn accept(&mut self, id: &ExecutionId, now: DateTime<Utc>) -> Result<bool, PathIoError> {
        if self.contains(id) {
            return Ok(false);
        }
        let line = format!("{} {id}\n", now.timestamp());
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(PathIoError::maker("append to", &self.path))?;
        self.ids.insert(id.as_str().to_owned());
        Ok(true)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Writes `bytes` beside `path`, syncs, and renames over it (then syncs the folder), so
/// that a crash leaves the old file or the new one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PathIoError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(name);
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        if let Some(dir) = path.parent() {
            // Makes the rename itself durable; not every platform can open a folder.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(PathIoError::maker("write", path))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn id(text: &str) -> ExecutionId {
        ExecutionId::parse(text).unwrap()
    }

    #[test]
    fn an_accepted_id_is_refused_again_also_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent/accepted");
        let now = Utc::now();
        let mut accepted = Accepted::open(&path, now).unwrap();
        assert!(accepted.accept(&id("e-1"), now).unwrap());
        assert!(!accepted.accept(&id("e-1"), now).unwrap(), "a duplicate");
        assert!(accepted.accept(&id("e-2"), now).unwrap());
        drop(accepted);

        let mut reopened = Accepted::open(&path, now).unwrap();
        assert_eq!(reopened.len(), 2);
        assert!(reopened.contains(&id("e-1")));
        assert!(!reopened.accept(&id("e-2"), now).unwrap());
        assert!(reopened.accept(&id("e-3"), now).unwrap());
        drop(reopened);
        assert_eq!(Accepted::open(&path, now).unwrap().len(), 3);
    }

    #[test]
    fn old_ids_are_pruned_on_open_and_a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let now = Utc::now();
        let old = now - TimeDelta::days(8);
        let mut accepted = Accepted::open(&path, old).unwrap();
        accepted.accept(&id("old"), old).unwrap();
        accepted
            .accept(&id("recent"), now - TimeDelta::days(6))
            .unwrap();
        drop(accepted);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(format!("{} torn", now.timestamp()).as_bytes())
            .unwrap();
        drop(file);

        let accepted = Accepted::open(&path, now).unwrap();
        assert!(!accepted.contains(&id("old")), "older than 7 days");
        assert!(accepted.contains(&id("recent")));
        assert!(!accepted.contains(&id("torn")), "never completed");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{} recent\n", (now - TimeDelta::days(6)).timestamp()),
            "the file itself was pruned"
        );
    }

    #[test]
    fn only_the_newest_ids_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let now = Utc::now();
        let text: String = (0..MAX_IDS + 5)
            .map(|i| format!("{} id-{i}\n", now.timestamp() - (MAX_IDS + 5 - i) as i64))
            .collect();
        std::fs::write(&path, text).unwrap();
        let accepted = Accepted::open(&path, now).unwrap();
        assert_eq!(accepted.len(), MAX_IDS);
        assert!(!accepted.contains(&id("id-4")));
        assert!(accepted.contains(&id("id-5")));
        assert!(accepted.contains(&id(&format!("id-{}", MAX_IDS + 4))));
    }
}
