//! The run step: one execution's bot, from its extracted folder to its final result.
//!
//! The execution is recorded in seed 000's `<home>/TaskQueue.json` through the queue
//! file's lock ([`bosun_exec::queue_runner::update`]), so a tool that reads the queue
//! sees what the agent runs. It goes in as `Running` straight away (with the agent's
//! pid, `"Runner": "agent"` and the `ExecutionId`), never `Pending`: a `bosun queue` on
//! the same data directory must not take it too. It ends `Completed` or `Failed` (a
//! timeout or a cancellation is `Failed`, its `ErrorMessage` says which), as the seed's
//! four states allow.
//!
//! The bot runs through the executor ([`bosun_exec::bot::run_bot`]): its cached Python
//! environment, startup monitoring, the whole process group stopped on a timeout or a
//! cancellation. Its output goes to `<home>/agent/runs/<execution id>/output.log` and
//! `error.log`, which the live log shipping reads as they grow.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::{BotTask, ExecutionStatus, TaskState};
use bosun_exec::bot::{Bot, EnvChoice, run_bot};
use bosun_exec::python::PythonEnvs;
use bosun_exec::queue_runner::update;
use bosun_exec::{Outcome, RunOptions};
use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::ids::ExecutionId;
use crate::outbox::{ExecutionResult, LogFiles};

/// The value of the extra `Runner` field on the agent's tasks in `TaskQueue.json`.
pub const RUNNER: &str = "agent";

/// What an `ExecutePackage` asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutePackage {
    /// The execution.
    pub execution_id: ExecutionId,
    /// The package.
    pub package_id: crate::ids::PackageId,
    /// The package's name, for people and the task queue.
    pub package_name: String,
    /// The version to run.
    pub version: bosun_package::Version,
    /// The tenant, as the server names it (informational).
    pub tenant_slug: Option<String>,
}

/// How to run bots: shared by every execution.
#[derive(Debug, Clone)]
pub struct Runner {
    /// The data directory.
    pub home: PathBuf,
    /// Python environments.
    pub envs: PythonEnvs,
    /// Supervision settings; log paths and `on_start` are set per execution.
    pub supervise: RunOptions,
    /// Overrides the bots' default timeout.
    pub timeout: Option<Duration>,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its result, as reported.
    pub result: ExecutionResult,
    /// Its logs.
    pub logs: LogFiles,
    /// How the bot ended, when it was run.
    pub outcome: Option<Outcome>,
}

impl Runner {
    /// The folder of an execution's logs.
    pub fn run_dir(&self, id: &ExecutionId) -> PathBuf {
        self.home.join("agent").join("runs").join(id.as_str())
    }

    /// The log files of an execution.
    pub fn logs(&self, id: &ExecutionId) -> LogFiles {
        let dir = self.run_dir(id);
        LogFiles {
            stdout: dir.join("output.log"),
            stderr: dir.join("error.log"),
        }
    }

    /// Runs the bot in `bot_dir` for `command`, recorded in the task queue. `on_start`
    /// is told the bot's pid once it runs; `cancel` stops it (the whole group).
    pub async fn run(
        &self,
        command: &ExecutePackage,
        bot_dir: &Path,
        on_start: Arc<dyn Fn(u32) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> Finished {
        let logs = self.logs(&command.execution_id);
        let task_id = uuid::Uuid::new_v4().to_string();
        let queue = self.home.join("TaskQueue.json");
        let task = BotTask {
            task_id: task_id.clone(),
            script_path: bot_dir.to_string_lossy().into_owned(),
            package_id: Some(command.package_id.to_string()),
            package_name: Some(command.package_name.clone()),
            version: Some(command.version.to_string()),
            status: TaskState::Running,
            created_time: Utc::now(),
            start_time: Some(Utc::now()),
            end_time: None,
            pid: Some(std::process::id()),
            error_message: None,
            execution_id: Some(command.execution_id.to_string()),
            extra: [("Runner".to_owned(), Value::from(RUNNER))]
                .into_iter()
                .collect(),
        };
        let recorded = update(&queue, |q| {
            q.tasks.push(task.clone());
            Some(())
        });
        if let Err(e) = recorded {
            // The queue file is a record for other tools; the run does not depend on it.
            tracing::warn!(execution = %command.execution_id, "could not add the task to TaskQueue.json: {}", chain(&e));
        }

        let (result, outcome) = self
            .run_bot(command, &task_id, bot_dir, &logs, on_start, cancel)
            .await;

        let ended = update(&queue, |q| {
            let entry = match q.task_mut(&task_id) {
                Some(entry) => entry,
                None => {
                    q.tasks.push(task.clone());
                    q.tasks.last_mut().expect("a task was just pushed")
                }
            };
            let ok = result.status == ExecutionStatus::CompletedSuccessfully;
            entry.status = if ok {
                TaskState::Completed
            } else {
                TaskState::Failed
            };
            entry.end_time = Some(Utc::now());
            entry.error_message = if ok { None } else { result.message.clone() };
            Some(())
        });
        if let Err(e) = ended {
            tracing::warn!(execution = %command.execution_id, "could not record the task's end in TaskQueue.json: {}", chain(&e));
        }
        Finished {
            result,
            logs,
            outcome,
        }
    }

    async fn run_bot(
        &self,
        command: &ExecutePackage,
        task_id: &str,
        bot_dir: &Path,
        logs: &LogFiles,
        on_start: Arc<dyn Fn(u32) + Send + Sync>,
        cancel: &CancellationToken,
    ) -> (ExecutionResult, Option<Outcome>) {
        let failed = |message: String| ExecutionResult {
            status: ExecutionStatus::Failed,
            exit_code: None,
            message: Some(message),
        };
        let bot = match Bot::locate(bot_dir) {
            Ok(bot) => bot,
            Err(why) => return (failed(why), None),
        };
        let mut options = self.supervise.clone();
        options.output_log = logs.stdout.clone();
        options.error_log = logs.stderr.clone();
        options.on_start = Some(on_start);
        let adjust = |job: &mut bosun_core::JobSpec| {
            if let Some(timeout) = self.timeout {
                job.timeout = timeout;
            }
            let env = &mut job.environment;
            env.insert("BOSUN_TASK_ID".into(), task_id.to_owned());
            env.insert(
                "BOSUN_EXECUTION_ID".into(),
                command.execution_id.to_string(),
            );
            env.insert("BOSUN_PACKAGE_ID".into(), command.package_id.to_string());
            env.insert("BOSUN_PACKAGE_VERSION".into(), command.version.to_string());
        };
        tracing::info!(execution = %command.execution_id, bot = %bot.dir.display(), "running the bot");
        match run_bot(
            &bot,
            &[],
            &self.envs,
            &EnvChoice::Cached,
            adjust,
            &options,
            cancel,
        )
        .await
        {
            Ok(report) => {
                let result = ExecutionResult {
                    status: report.outcome.status(),
                    exit_code: report.outcome.exit_code(),
                    message: Some(report.message()),
                };
                (result, Some(report.outcome))
            }
            Err(e) => (
                failed(format!(
                    "the Python environment could not be made: {}",
                    chain(&e)
                )),
                None,
            ),
        }
    }
}
