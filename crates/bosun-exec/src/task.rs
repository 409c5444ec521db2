//! `bosun exec ID`: seed 001's executor, behind the same files and exit codes.
//!
//! 1. Validate the id (it becomes a path, so only `[A-Za-z0-9._-]`, no `..`).
//! 2. Take `Locks/{id}.lock` (exit 2 when another live process holds it).
//! 3. Read `Tasks/{id}/execution.json` (exit 3 when absent, 4 when unusable).
//! 4. Prepare the Python environment: the cached one for the requirements, or a fresh
//!    `venvs/{id}` removed afterwards (exit 5 creation, 6 requirements).
//! 5. Run the script in `Tasks/{id}` with `Temp/{id}` as its `TMPDIR`; output goes to
//!    `Tasks/{id}/output.log` and `error.log`; the exit code is the script's own.
//! 6. Remove `Temp/{id}` and release the lock, whatever happened.

use std::path::Path;

use bosun_core::ExecutionInfo;
use bosun_core::error::chain;
use tokio_util::sync::CancellationToken;

use crate::bot::{Bot, EnvChoice, run_bot};
use crate::home::Home;
use crate::lock::{LockError, acquire};
use crate::outcome::{Outcome, RunReport};
use crate::python::{EnvError, PythonEnvs, Requirements};
use crate::supervise::RunOptions;

/// Seed 001's exit codes.
pub mod code {
    /// The id argument is missing or unusable.
    pub const INVALID_ARGUMENTS: u8 = 1;
    /// The lock is held by another live process.
    pub const LOCK: u8 = 2;
    /// `execution.json` is missing.
    pub const MISSING_INFO: u8 = 3;
    /// `execution.json` is unreadable or invalid.
    pub const INVALID_INFO: u8 = 4;
    /// The virtual environment could not be created.
    pub const VENV: u8 = 5;
    /// The requirements could not be installed.
    pub const REQUIREMENTS: u8 = 6;
    /// bosun's own addition: the script ran past its timeout and was stopped.
    pub const TIMED_OUT: u8 = 124;
    /// bosun's own addition: the script was cancelled (SIGINT/SIGTERM to bosun).
    pub const CANCELLED: u8 = 130;
    /// Anything unexpected.
    pub const UNEXPECTED: u8 = 99;
}

/// How `bosun exec` ended: the exit code and one line for people.
#[derive(Debug)]
pub struct ExecEnd {
    /// The process exit code (seed 001's table, or the script's own).
    pub code: u8,
    /// What happened.
    pub message: String,
    /// The run, when the script was started.
    pub report: Option<RunReport>,
}

impl ExecEnd {
    fn early(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            report: None,
        }
    }
}

/// True when `id` is safe to use as one path component.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Runs execution `id` from `home`.
///
/// `options` supplies the supervision settings; its log paths are replaced by the
/// task's `output.log` and `error.log`. `timeout` overrides the default 60 minutes.
pub async fn execute(
    home: &Home,
    id: &str,
    envs: &PythonEnvs,
    fresh_env: bool,
    timeout: Option<std::time::Duration>,
    options: &RunOptions,
    cancel: &CancellationToken,
) -> ExecEnd {
    if !valid_id(id) {
        return ExecEnd::early(
            code::INVALID_ARGUMENTS,
            format!("invalid execution id {id:?}: use letters, digits, '-', '_' and '.' only"),
        );
    }
    let lock = match acquire(&home.locks(), id) {
        Ok(lock) => lock,
        Err(e @ LockError::Held { .. }) => return ExecEnd::early(code::LOCK, e.to_string()),
        Err(e) => {
            return ExecEnd::early(
                code::LOCK,
                format!("could not take the lock: {}", chain(&e)),
            );
        }
    };
    if let Some(note) = &lock.reclaimed {
        tracing::warn!(id, "{note}");
    }

    let task_dir = home.tasks().join(id);
    let info_path = task_dir.join("execution.json");
    let text = match std::fs::read_to_string(&info_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ExecEnd::early(
                code::MISSING_INFO,
                format!(
                    "{} does not exist: write the task's execution.json first",
                    info_path.display()
                ),
            );
        }
        Err(e) => {
            return ExecEnd::early(
                code::INVALID_INFO,
                format!("cannot read {}: {e}", info_path.display()),
            );
        }
    };
    let info = match ExecutionInfo::from_json(&text, id) {
        Ok(info) => info,
        Err(e) => {
            return ExecEnd::early(
                code::INVALID_INFO,
                format!("{}: {}", info_path.display(), chain(&e)),
            );
        }
    };
    let script = task_dir.join(&info.script_path);
    if !script.is_file() {
        return ExecEnd::early(
            code::INVALID_INFO,
            format!(
                "ScriptPath {} does not exist in {}",
                info.script_path.display(),
                task_dir.display()
            ),
        );
    }

    let temp = home.temp().join(id);
    if let Err(e) = std::fs::create_dir_all(&temp) {
        return ExecEnd::early(
            code::UNEXPECTED,
            format!("cannot create {}: {e}", temp.display()),
        );
    }
    let bot = Bot {
        name: id.to_owned(),
        dir: task_dir.clone(),
        entry: script,
        requirements: if info.requirements.is_empty() {
            Requirements::None
        } else {
            Requirements::Lines(info.requirements.clone())
        },
    };
    let mut options = options.clone();
    options.output_log = task_dir.join("output.log");
    options.error_log = task_dir.join("error.log");
    // Seed 001's output.log is the script's output alone.
    options.log_build = false;
    let choice = if fresh_env {
        EnvChoice::Fresh(home.venvs().join(id))
    } else {
        EnvChoice::Cached
    };
    let temp_str = temp.to_string_lossy().into_owned();
    let adjust = |job: &mut bosun_core::JobSpec| {
        if let Some(timeout) = timeout {
            job.timeout = timeout;
        }
        for var in ["TMPDIR", "TEMP", "TMP"] {
            job.environment.insert(var.into(), temp_str.clone());
        }
        job.environment
            .insert("BOSUN_EXECUTION_ID".into(), id.to_owned());
    };

    let end = match run_bot(
        &bot,
        &info.arguments,
        envs,
        &choice,
        adjust,
        &options,
        cancel,
    )
    .await
    {
        Ok(report) => {
            let code = match &report.outcome {
                Outcome::Exited(c) | Outcome::StartupFailed { code: c, .. } => (*c & 0xff) as u8,
                Outcome::Signalled(sig) => (128 + sig).clamp(0, 255) as u8,
                Outcome::TimedOut(_) => code::TIMED_OUT,
                Outcome::Cancelled => code::CANCELLED,
                Outcome::SpawnFailed(_) => code::VENV,
            };
            ExecEnd {
                code,
                message: report.message(),
                report: Some(report),
            }
        }
        Err(e @ EnvError::Install { .. }) | Err(e @ EnvError::Requirements { .. }) => {
            ExecEnd::early(code::REQUIREMENTS, chain(&e).to_string())
        }
        Err(e) => ExecEnd::early(code::VENV, chain(&e).to_string()),
    };
    remove_dir(&temp);
    drop(lock);
    end
}

fn remove_dir(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), "could not remove: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_escape_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\0", &"a".repeat(129)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        for good in ["12345678-1234-1234-1234-123456789012", "job_1.retry"] {
            assert!(valid_id(good), "{good:?}");
        }
    }
}
