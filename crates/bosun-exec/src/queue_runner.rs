//! `bosun queue`: seed 000's TaskQueue.json executor, without its races.
//!
//! The seed reads, edits and rewrites the file with no lock between processes, and
//! replaces a file it cannot parse with an empty queue. bosun instead:
//! - holds an exclusive lock (`flock` on Unix) on `TaskQueue.json.lock` (a sidecar, because the queue
//!   file itself is replaced on every write) for each read-modify-write, so two
//!   `bosun queue` processes never take the same task;
//! - writes a new file beside the old one, syncs it, and renames it over the old one,
//!   so a reader sees the old queue or the new one, never half of one;
//! - treats a file it cannot parse as an error and leaves it untouched;
//! - keeps fields it does not know.
//!
//! A task is marked `Running` (with `StartTime` and the `Pid` of the `bosun queue`
//! process) before its bot starts, and `Completed` or `Failed` (with `EndTime` and
//! `ErrorMessage`) after it ends.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::{BotTask, TaskQueue, TaskState};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::bot::{Bot, EnvChoice, run_bot};
use crate::error::ExecError;
use crate::outcome::{Outcome, RunReport};
use crate::python::PythonEnvs;
use crate::supervise::RunOptions;

/// Why the queue could not be worked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The file is not a task queue. It has been left exactly as it was.
    #[error("{} is corrupt and was left untouched: {message}; fix or move it away", path.display())]
    Corrupt {
        /// The queue file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The file or its lock could not be read or written.
    #[error(transparent)]
    Io(#[from] ExecError),
}

/// What one `bosun queue` did.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once per `bosun queue` pass
pub enum Taken {
    /// No task was `Pending`.
    Nothing,
    /// A task was taken and run (or failed before its bot could start).
    Processed {
        /// The task as finally recorded.
        task: BotTask,
        /// The bot's run, when it started.
        report: Option<Box<RunReport>>,
    },
}

/// Settings for one `bosun queue` pass.
#[derive(Debug, Clone)]
pub struct QueueRun {
    /// Where each task's `output.log` and `error.log` go: `logs_dir/{TaskId}/`.
    pub logs_dir: PathBuf,
    /// Fresh environments go to `fresh_envs/{TaskId}` when set; cached otherwise.
    pub fresh_envs: Option<PathBuf>,
    /// Overrides the default 60-minute timeout.
    pub timeout: Option<Duration>,
    /// Delete the task's script folder afterwards (the seed's behaviour).
    pub cleanup: bool,
}

/// Takes the oldest `Pending` task of the queue at `path` and runs its bot.
pub async fn process_next(
    path: &Path,
    settings: &QueueRun,
    envs: &PythonEnvs,
    options: &RunOptions,
    cancel: &CancellationToken,
) -> Result<Taken, QueueError> {
    let taken = update(path, |queue| {
        let index = queue.next_pending()?;
        let task = &mut queue.tasks[index];
        task.status = TaskState::Running;
        task.start_time = Some(Utc::now());
        task.end_time = None;
        task.pid = Some(std::process::id());
        task.error_message = None;
        Some(task.clone())
    })?;
    let Some(task) = taken else {
        return Ok(Taken::Nothing);
    };
    tracing::info!(task = %task.task_id, script = %task.script_path, "took task");

    let base = path.parent().unwrap_or(Path::new("."));
    let script_dir = base.join(&task.script_path);
    let (error, report) = match Bot::locate(&script_dir) {
        Err(_) if !script_dir.exists() => (
            Some(format!(
                "Script path does not exist: {}",
                script_dir.display()
            )),
            None,
        ),
        Err(why) => (Some(why), None),
        Ok(bot) => {
            let mut options = options.clone();
            let logs = settings.logs_dir.join(safe_component(&task.task_id));
            options.output_log = logs.join("output.log");
            options.error_log = logs.join("error.log");
            let choice = match &settings.fresh_envs {
                Some(dir) => EnvChoice::Fresh(dir.join(safe_component(&task.task_id))),
                None => EnvChoice::Cached,
            };
            let adjust = |job: &mut bosun_core::JobSpec| {
                if let Some(timeout) = settings.timeout {
                    job.timeout = timeout;
                }
                job.environment
                    .insert("BOSUN_TASK_ID".into(), task.task_id.clone());
                if let Some(id) = &task.execution_id {
                    job.environment
                        .insert("BOSUN_EXECUTION_ID".into(), id.clone());
                }
            };
            match run_bot(&bot, &[], envs, &choice, adjust, &options, cancel).await {
                Ok(report) => {
                    let error = (report.outcome != Outcome::Exited(0)).then(|| report.message());
                    (error, Some(Box::new(report)))
                }
                Err(e) => (Some(chain(&e).to_string()), None),
            }
        }
    };

    let finished = update(path, |queue| {
        let now = Utc::now();
        let entry = match queue.task_mut(&task.task_id) {
            Some(entry) => entry,
            None => {
                // Someone removed it while it ran: record it again rather than lose it.
                queue.tasks.push(task.clone());
                queue.tasks.last_mut().expect("a task was just pushed")
            }
        };
        entry.status = if error.is_none() {
            TaskState::Completed
        } else {
            TaskState::Failed
        };
        entry.end_time = Some(now);
        entry.error_message = error.clone();
        Some(entry.clone())
    })?
    .expect("the closure always returns the task");

    if settings.cleanup
        && script_dir.is_dir()
        && let Err(e) = std::fs::remove_dir_all(&script_dir)
    {
        tracing::warn!(path = %script_dir.display(), "could not remove the script folder: {e}");
    }
    Ok(Taken::Processed {
        task: finished,
        report,
    })
}

/// Reads the queue under the lock, lets `edit` change it, and writes it back if it
/// changed. A missing file is an empty queue (and is not created unless edited).
pub fn update<T>(
    path: &Path,
    edit: impl FnOnce(&mut TaskQueue) -> Option<T>,
) -> Result<Option<T>, QueueError> {
    let lock_path = sidecar(path, ".lock");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ExecError::io("create directory", dir))?;
    }
    let lock_file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(ExecError::io("open lock file", &lock_path))?;
    // Held until `lock_file` is dropped at the end of this function.
    lock_file
        .lock()
        .map_err(ExecError::io("lock", &lock_path))?;

    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(QueueError::Corrupt {
                path: path.to_owned(),
                message: "it is not UTF-8 text".into(),
            });
        }
        Err(e) => return Err(ExecError::io("read", path)(e).into()),
    };
    let mut queue = TaskQueue::from_json(&text).map_err(|e| QueueError::Corrupt {
        path: path.to_owned(),
        message: chain(&e).to_string(),
    })?;
    let before = queue.clone();
    let answer = edit(&mut queue);
    if queue != before {
        queue.last_updated = Utc::now();
        write_atomically(path, queue.to_json().as_bytes())?;
    }
    Ok(answer)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExecError> {
    let temp = sidecar(path, &format!(".{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(ExecError::io("write", path))
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Makes a task id safe as one path component.
fn safe_component(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    if cleaned.is_empty() {
        "task".to_owned()
    } else {
        cleaned
    }
}
