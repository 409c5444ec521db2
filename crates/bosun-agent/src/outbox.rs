//! Final results waiting to be delivered, on disk, so that a run that ended while the
//! server was unreachable — or just before the agent stopped — is still recorded when
//! the server is back.
//!
//! Each result is `<home>/agent/outbox/<execution id>.json`, written atomically (a
//! synced temporary file renamed into place) before delivery starts. Delivery sends the
//! rest of the run's output, then `SendExecutionResult`, and removes the file once the
//! server has answered — a refusal included, which is final too (the server gave the
//! execution up, or it is not this agent's). A file that cannot be read is moved aside
//! as `<name>.bad`, never retried forever.

use std::path::{Path, PathBuf};

use bosun_core::{ExecutionStatus, PathIoError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::accepted::write_atomically;
use crate::ids::ExecutionId;

/// The result object of `SendExecutionResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    /// `CompletedSuccessfully`, `Failed`, `TimedOut` or `Cancelled`.
    pub status: ExecutionStatus,
    /// The bot's exit code, when it exited by itself (128 + n for a signal n).
    pub exit_code: Option<i32>,
    /// One sentence saying what happened.
    pub message: Option<String>,
}

/// A run's two log files, whose bytes go to the server before its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFiles {
    /// Standard output (`output.log`).
    pub stdout: PathBuf,
    /// Standard error (`error.log`).
    pub stderr: PathBuf,
}

/// One result waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outgoing {
    /// The execution.
    pub execution_id: ExecutionId,
    /// Its final result.
    pub result: ExecutionResult,
    /// When it ended; results are delivered oldest first.
    pub finished_at: DateTime<Utc>,
    /// Its logs, when it ran.
    #[serde(default)]
    pub logs: Option<LogFiles>,
}

/// The outbox folder.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// The outbox at `dir`, created if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, PathIoError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(PathIoError::maker("create the folder", &dir))?;
        Ok(Self { dir })
    }

    fn path(&self, id: &ExecutionId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Stores `entry` durably, replacing an entry for the same execution.
    pub fn put(&self, entry: &Outgoing) -> Result<(), PathIoError> {
        let json = serde_json::to_vec_pretty(entry).expect("an outbox entry serializes");
        write_atomically(&self.path(&entry.execution_id), &json)
    }

    /// Every entry, oldest first. An unreadable file is moved aside (`.bad`) and logged.
    pub fn list(&self) -> Result<Vec<Outgoing>, PathIoError> {
        let read = std::fs::read_dir(&self.dir).map_err(PathIoError::maker("list", &self.dir))?;
        let mut entries = Vec::new();
        for item in read {
            let item = item.map_err(PathIoError::maker("list", &self.dir))?;
            let path = item.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match read_entry(&path) {
                Ok(entry) => entries.push(entry),
                Err(why) => {
                    tracing::warn!(path = %path.display(), "an unreadable result was moved aside: {why}");
                    let mut bad = path.clone().into_os_string();
                    bad.push(".bad");
                    let _ = std::fs::rename(&path, bad);
                }
            }
        }
        entries.sort_by(|a, b| {
            (a.finished_at, a.execution_id.as_str()).cmp(&(b.finished_at, b.execution_id.as_str()))
        });
        Ok(entries)
    }

    /// Removes the entry of `id` (delivered, or refused for good). Absent is fine.
    pub fn remove(&self, id: &ExecutionId) -> Result<(), PathIoError> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(PathIoError::maker("remove", path)(e))
            }
            _ => Ok(()),
        }
    }
}

fn read_entry(path: &Path) -> Result<Outgoing, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let entry: Outgoing = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    // The file's name must be the entry's own: a renamed file is not trusted.
    if path
        .file_stem()
        .is_none_or(|s| s != entry.execution_id.as_str())
    {
        return Err("its name is not its execution id".into());
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn entry(id: &str, finished_at: DateTime<Utc>) -> Outgoing {
        Outgoing {
            execution_id: ExecutionId::parse(id).unwrap(),
            result: ExecutionResult {
                status: ExecutionStatus::Failed,
                exit_code: Some(3),
                message: Some("exited with code 3".into()),
            },
            finished_at,
            logs: Some(LogFiles {
                stdout: "/x/output.log".into(),
                stderr: "/x/error.log".into(),
            }),
        }
    }

    #[test]
    fn entries_survive_a_reopen_in_order_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let outbox = Outbox::open(dir.path().join("outbox")).unwrap();
        let late = entry("b-late", now);
        let early = entry("a-early", now - TimeDelta::seconds(5));
        outbox.put(&late).unwrap();
        outbox.put(&early).unwrap();
        drop(outbox);

        let outbox = Outbox::open(dir.path().join("outbox")).unwrap();
        assert_eq!(outbox.list().unwrap(), [early.clone(), late.clone()]);
        let text = std::fs::read_to_string(dir.path().join("outbox/b-late.json")).unwrap();
        assert!(text.contains("\"status\": \"Failed\""), "{text}");
        assert!(text.contains("\"exitCode\": 3"), "{text}");

        outbox.remove(&early.execution_id).unwrap();
        outbox.remove(&early.execution_id).unwrap();
        assert_eq!(outbox.list().unwrap(), [late]);
    }

    #[test]
    fn an_unreadable_or_renamed_entry_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        outbox.put(&entry("good", Utc::now())).unwrap();
        std::fs::write(dir.path().join("junk.json"), "{").unwrap();
        std::fs::copy(dir.path().join("good.json"), dir.path().join("other.json")).unwrap();
        let listed = outbox.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].execution_id.as_str(), "good");
        assert!(dir.path().join("junk.json.bad").exists());
        assert!(dir.path().join("other.json.bad").exists());
        assert_eq!(outbox.list().unwrap().len(), 1);
    }
}
