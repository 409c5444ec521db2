//! What each role does with a job: the LLM roles send it to their model (the inspector
//! as `{"code": payload, "task": task}`, as in seed 003); `process` runs the process job
//! in the payload here, under the executor's supervision. A program that embeds the
//! worker can give a role a [`JobRunner`] of its own instead.

use std::future::Future;
use std::pin::Pin;

use bosun_core::JobSpec;
use bosun_exec::RunOptions;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config::{Role, WorkerConfig};
use crate::llm::LlmClient;
use crate::message::JobMessage;

/// How a job ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailed {
    /// What went wrong (for a process job, its result object as JSON).
    pub message: String,
    /// True when trying again later may succeed: the entry stays pending, and is
    /// taken over and run again after `claim_idle`, up to `max_attempts`.
    pub transient: bool,
}

impl JobFailed {
    /// A failure that running again would not mend: its error is saved and notified.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }

    /// A failure worth another attempt later (a service that was down, say).
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }
}

/// The future a [`JobRunner`] returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<String, JobFailed>> + Send + 'a>>;

/// Runs one role's jobs in place of its built-in runner, in a program that embeds the
/// worker ([`crate::Worker::with_runner`]). Everything else stays the worker's: reading
/// within the limits, the saved-result check, retries and dead letters, saving,
/// notifying and acknowledging.
///
/// ```
/// use bosun_worker::{JobFailed, JobFuture, JobMessage, JobRunner, Role, WorkerConfig};
/// use tokio_util::sync::CancellationToken;
///
/// /// Answers every manager job with its task in capitals.
/// struct Shout;
///
/// impl JobRunner for Shout {
///     fn run<'a>(&'a self, job: &'a JobMessage, _stop: &'a CancellationToken) -> JobFuture<'a> {
///         Box::pin(async move {
///             if job.task.is_empty() {
///                 return Err(JobFailed::permanent("nothing to shout")); // saved as the error
///             }
///             Ok(job.task.to_uppercase()) // saved, then notified as the result
///         })
///     }
/// }
///
/// async fn serve(config: WorkerConfig, shutdown: CancellationToken) -> Result<(), bosun_worker::WorkerError> {
///     let worker = bosun_worker::start(config, &shutdown).await?;
///     worker.with_runner(Role::Manager, Shout).run(shutdown).await;
///     Ok(())
/// }
/// ```
///
/// (docs/WORKER.md, "A runner of your own", shows the same.)
pub trait JobRunner: Send + Sync + 'static {
    /// Runs `job`; its result text, or why it failed. `stop` fires when the worker
    /// stops waiting (its drain deadline passed): return soon after, with a transient
    /// failure, and the entry stays pending for another worker.
    fn run<'a>(&'a self, job: &'a JobMessage, stop: &'a CancellationToken) -> JobFuture<'a>;
}

/// Runs `job` as `role` with its built-in runner; its result text.
pub(crate) async fn run(
    config: &WorkerConfig,
    llm: &LlmClient,
    role: Role,
    job: &JobMessage,
    entry_id: &str,
    cancel: &CancellationToken,
) -> Result<String, JobFailed> {
    let settings = config.role(role);
    let content = match role {
        Role::Process => return run_process(config, job, entry_id, cancel).await,
        Role::Inspector => json!({ "code": job.payload, "task": job.task }).to_string(),
        Role::Manager | Role::Agent | Role::Chat if job.task.trim().is_empty() => {
            job.payload.clone()
        }
        Role::Manager | Role::Agent | Role::Chat => job.task.clone(),
    };
    let reply = tokio::select! {
        reply = llm.chat(&settings.model, &content, settings.max_tokens) => reply,
        () = cancel.cancelled() => {
            return Err(JobFailed::transient("the worker shut down during the LLM call"));
        }
    };
    reply.map_err(|e| JobFailed {
        transient: e.is_transient(),
        message: e.to_string(),
    })
}

/// Runs seed 002's process job from the payload; its result object as JSON.
async fn run_process(
    config: &WorkerConfig,
    job: &JobMessage,
    entry_id: &str,
    cancel: &CancellationToken,
) -> Result<String, JobFailed> {
    let mut spec = JobSpec::from_json(&job.payload)
        .map_err(|e| JobFailed::permanent(format!("the payload is not a process job: {e}")))?;
    if spec.name.is_empty() {
        spec.name = job.job_id.clone();
    }
    // The entry id (digits and a dash, from Redis) names the log directory: the job id
    // is the sender's text and could hold `/` or `..`.
    let dir = config.home.join("Logs").join("worker").join(entry_id);
    let options = RunOptions::new(dir.join("output.log"), dir.join("error.log"));
    let report = bosun_exec::run(&spec, &options, cancel).await;
    if cancel.is_cancelled() {
        return Err(JobFailed::transient(
            "the worker shut down while the process ran",
        ));
    }
    let result = report.to_result(&spec.name);
    let text = serde_json::to_string(&result).expect("a run result serializes");
    if report.outcome.status() == bosun_core::ExecutionStatus::CompletedSuccessfully {
        Ok(text)
    } else {
        Err(JobFailed::permanent(text))
    }
}
