//! The local runner: takes Pending executions from the store and runs them here with
//! the executor, at most `max_concurrent` at once.
//!
//! It reads the queue only when it has a free slot, so waiting work stays in the
//! store, and it sleeps until woken (a new execution, a finished one) rather than
//! polling; a slow two-second tick also picks up work another process queued. While
//! a job runs, its status lines go to the store (the latest of each, coalesced), its
//! pid is recorded as soon as it starts, and followers of its log are told as bytes
//! arrive. On shutdown it takes no new work, gives running jobs the drain deadline,
//! then cancels the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_exec::bot::{Bot, EnvChoice, run_bot};
use bosun_exec::python::PythonEnvs;
use bosun_exec::{Home, Outcome, RunOptions, RunReport, Stream};
use bosun_store::{Execution, Finish, Store};
use chrono::Utc;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::definition::{Definition, DuplicatePolicy, Work};
use crate::monitor::{LineScanner, Report};

/// The name this runner claims executions under (also the embedded agent's name).
pub(crate) const RUNNER_NAME: &str = "local";

/// How often the runner looks at the queue when nothing woke it.
const TICK: Duration = Duration::from_secs(2);

/// A running execution, as the API sees it.
struct Active {
    job_id: String,
    cancel: CancellationToken,
    stdout: watch::Receiver<u64>,
    stderr: watch::Receiver<u64>,
}

#[derive(Default)]
struct Shared {
    wake: Notify,
    active: Mutex<HashMap<String, Active>>,
}

/// The API's handle on the runner: wake it, cancel a job, follow a log.
#[derive(Clone, Default)]
pub(crate) struct RunnerHandle {
    shared: Arc<Shared>,
}

impl RunnerHandle {
    /// Tells the runner there may be work.
    pub(crate) fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Stops a running execution; false when it is not running here.
    pub(crate) fn cancel(&self, id: &str) -> bool {
        let active = self
            .shared
            .active
            .lock()
            .expect("the active map is never poisoned");
        match active.get(id) {
            Some(a) => {
                a.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// A counter of the bytes a running execution has written to a stream so far;
    /// `None` when it is not running here. The sender is dropped when it ends.
    pub(crate) fn follow(&self, id: &str, stream: Stream) -> Option<watch::Receiver<u64>> {
        let active = self
            .shared
            .active
            .lock()
            .expect("the active map is never poisoned");
        active.get(id).map(|a| match stream {
            Stream::Stdout => a.stdout.clone(),
            Stream::Stderr => a.stderr.clone(),
        })
    }

    fn runs_job(&self, job_id: &str) -> bool {
        let active = self
            .shared
            .active
            .lock()
            .expect("the active map is never poisoned");
        active.values().any(|a| a.job_id == job_id)
    }

    fn count(&self) -> usize {
        self.shared
            .active
            .lock()
            .expect("the active map is never poisoned")
            .len()
    }

    fn cancel_all(&self) {
        let active = self
            .shared
            .active
            .lock()
            .expect("the active map is never poisoned");
        for a in active.values() {
            a.cancel.cancel();
        }
    }
}

/// The runner itself; [`Runner::run`] is its loop.
pub(crate) struct Runner {
    store: Store,
    config: Arc<ServerConfig>,
    handle: RunnerHandle,
    envs: PythonEnvs,
    logs: PathBuf,
}

impl Runner {
    pub(crate) fn new(store: Store, config: Arc<ServerConfig>, handle: RunnerHandle) -> Self {
        let home = Home::new(&config.home);
        Self {
            store,
            envs: PythonEnvs::new(home.venvs()),
            logs: home.logs(),
            config,
            handle,
        }
    }

    /// Runs until `stop` fires, then drains: running jobs get the drain deadline,
    /// then are cancelled; returns when none is left.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.config.max_concurrent.max(1)));
        // A JoinSet, not detached tasks: if this future is dropped (the server is
        // aborted), every job's supervisor is dropped too, and its guard kills the job.
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break,
            };
            match this.next().await {
                Ok(Some((execution, definition))) => {
                    tasks.spawn(this.clone().execute(execution, definition, permit));
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = this.handle.shared.wake.notified() => {}
                        _ = tokio::time::sleep(TICK) => {}
                        _ = stop.cancelled() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::error!("runner could not read the queue: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(TICK) => {}
                        _ = stop.cancelled() => break,
                    }
                }
            }
        }
        let running = this.handle.count();
        if running > 0 {
            tracing::info!(
                running,
                deadline = ?this.config.drain_timeout,
                "shutting down: waiting for running jobs"
            );
        }
        let drained = tokio::time::timeout(this.config.drain_timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("drain deadline passed: cancelling the jobs still running");
            this.handle.cancel_all();
            while tasks.join_next().await.is_some() {}
        }
    }

    /// The next execution to run, claimed; `None` when there is nothing to run now.
    async fn next(&self) -> Result<Option<(Execution, Definition)>, bosun_store::StoreError> {
        for execution in self.store.pending(50).await? {
            let job = self
                .store
                .job(&execution.tenant_id, &execution.job_id)
                .await?;
            let definition = job
                .as_ref()
                .ok_or_else(|| "its job definition was deleted".to_owned())
                .and_then(|job| Definition::parse(&job.definition));
            let definition = match definition {
                Ok(d) => d,
                Err(why) => {
                    if self.store.claim(&execution.id, RUNNER_NAME).await? {
                        self.fail(&execution.id, format!("not started: {why}"))
                            .await;
                    }
                    continue;
                }
            };
            if definition.duplicate_policy == DuplicatePolicy::Queue
                && self.handle.runs_job(&execution.job_id)
            {
                continue;
            }
            if self.store.claim(&execution.id, RUNNER_NAME).await? {
                return Ok(Some((execution, definition)));
            }
        }
        Ok(None)
    }

    async fn fail(&self, id: &str, message: String) {
        let finish = Finish {
            status: "Failed".to_owned(),
            exit_code: None,
            message,
            end_time: Utc::now(),
        };
        if let Err(e) = self.store.finish(id, &finish).await {
            tracing::error!(execution = id, "could not record a failure: {e}");
        }
    }

    /// Runs one claimed execution to its end and records it.
    async fn execute(
        self: Arc<Self>,
        execution: Execution,
        definition: Definition,
        _slot: OwnedSemaphorePermit,
    ) {
        let id = execution.id.clone();
        let dir = self.logs.join(&id);
        let mut options = RunOptions::new(dir.join("output.log"), dir.join("error.log"));
        let cancel = CancellationToken::new();
        if execution.cancel_requested {
            cancel.cancel();
        }

        let (stdout_tx, stdout_rx) = watch::channel(0u64);
        let (stderr_tx, stderr_rx) = watch::channel(0u64);
        let (report_tx, mut report_rx) = watch::channel(Report::default());
        let scanner = Mutex::new(LineScanner::new(report_tx));
        options.observer = Some(Arc::new(move |stream, chunk: &[u8]| {
            let n = chunk.len() as u64;
            match stream {
                Stream::Stdout => {
                    scanner
                        .lock()
                        .expect("the scanner is never poisoned")
                        .feed(chunk);
                    stdout_tx.send_modify(|total| *total += n);
                }
                Stream::Stderr => stderr_tx.send_modify(|total| *total += n),
            }
        }));
        let (pid_tx, pid_rx) = tokio::sync::oneshot::channel::<(u32, chrono::DateTime<Utc>)>();
        let pid_tx = Mutex::new(Some(pid_tx));
        options.on_start = Some(Arc::new(move |pid| {
            if let Some(tx) = pid_tx.lock().expect("never poisoned").take() {
                let _ = tx.send((pid, Utc::now()));
            }
        }));
        self.handle
            .shared
            .active
            .lock()
            .expect("never poisoned")
            .insert(
                id.clone(),
                Active {
                    job_id: execution.job_id.clone(),
                    cancel: cancel.clone(),
                    stdout: stdout_rx,
                    stderr: stderr_rx,
                },
            );

        // Records the start, then the latest status line whenever one arrives, until
        // the job's output ends (the observer, holding the sender, is dropped).
        let reporter = {
            let store = self.store.clone();
            let id = id.clone();
            let (out, err) = (options.output_log.clone(), options.error_log.clone());
            tokio::spawn(async move {
                if let Ok((pid, at)) = pid_rx.await
                    && let Err(e) = store
                        .mark_running(&id, i64::from(pid), at, &path(&out), &path(&err))
                        .await
                {
                    tracing::error!(execution = %id, "could not record the start: {e}");
                }
                while report_rx.changed().await.is_ok() {
                    let latest = report_rx.borrow_and_update().clone();
                    let stored = store
                        .report(&id, latest.status.as_deref(), latest.progress, Utc::now())
                        .await;
                    if let Err(e) = stored {
                        tracing::warn!(execution = %id, "could not record a status line: {e}");
                    }
                }
            })
        };

        let report = self
            .work(&definition, &execution.arguments, &options, &cancel)
            .await;
        drop(options);
        let _ = reporter.await;

        let status = report.outcome.status();
        let finish = Finish {
            status: status.as_str().to_owned(),
            exit_code: report.outcome.exit_code().map(i64::from),
            message: report.message(),
            end_time: report.end_time,
        };
        if let Err(e) = self.store.finish(&id, &finish).await {
            tracing::error!(execution = %id, "could not record the end: {e}");
        }
        self.handle
            .shared
            .active
            .lock()
            .expect("never poisoned")
            .remove(&id);
        self.prune(&execution.job_id, definition.history_limit)
            .await;
        self.handle.wake();
    }

    async fn work(
        &self,
        definition: &Definition,
        arguments: &[String],
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> RunReport {
        match &definition.work {
            Work::Process(spec) => {
                let mut spec = spec.clone();
                spec.args.extend(arguments.iter().cloned());
                bosun_exec::run(&spec, options, cancel).await
            }
            Work::Bot {
                path,
                arguments: fixed,
                timeout,
            } => {
                let bot = match Bot::locate(path) {
                    Ok(bot) => bot,
                    Err(why) => return RunReport::not_started(Outcome::SpawnFailed(why), options),
                };
                let mut args = fixed.clone();
                args.extend(arguments.iter().cloned());
                let adjust = |job: &mut bosun_core::JobSpec| {
                    if let Some(timeout) = timeout {
                        job.timeout = *timeout;
                    }
                };
                match run_bot(
                    &bot,
                    &args,
                    &self.envs,
                    &EnvChoice::Cached,
                    adjust,
                    options,
                    cancel,
                )
                .await
                {
                    Ok(report) => report,
                    Err(e) => RunReport::not_started(Outcome::SpawnFailed(e.to_string()), options),
                }
            }
        }
    }

    /// Keeps the job's newest finished executions, deleting older ones and their logs.
    async fn prune(&self, job_id: &str, limit: Option<i64>) {
        let keep = limit.unwrap_or(self.config.history_limit);
        match self.store.prune_history(job_id, keep).await {
            Ok(logs) => {
                for log in logs {
                    let log = Path::new(&log);
                    // Only ever delete inside this server's own log directory.
                    if let Some(dir) = log.parent().filter(|d| d.starts_with(&self.logs)) {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                }
            }
            Err(e) => tracing::warn!(job = job_id, "could not prune history: {e}"),
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
