//! The local runner: takes Pending executions from the store and runs them here with
//! the executor, at most `max_concurrent` at once.
//!
//! It claims at most `max_concurrent` executions beyond those running, so waiting
//! work stays in the store, and it sleeps until woken (a new execution, a finished
//! one) rather than polling; a slow two-second tick also picks up work another
//! process queued. Claiming ahead, as many at once as there is room for, lets the
//! next execution start as soon as a slot frees, without waiting for the store
//! ([`intake`] says how little a claim reads). While a job runs, its status lines go
//! to the store (the latest of each, coalesced) and to people watching the tenant
//! (throttled, [`line_events`]), its pid is recorded as soon as it starts, and
//! followers of its log are told as bytes arrive. A bot whose Python
//! environment must be built first shows [`BUILDING`] as its status message while it
//! is Pending, and the build's output is the start of its log, followed as it is
//! written. A bot that names a package runs from that version's extracted copy, made
//! first if need be while it shows [`package::FETCHING`] ([`package`]). Its end frees
//! its slot
//! at once; the end is recorded after, and its job's history kept to its limit
//! ([`history`]). Starts and ends go to the store through one [`journal`], which
//! writes what queued up together. On shutdown it takes no new work, gives
//! claimed executions back to the queue, gives running jobs the drain deadline, then
//! cancels the rest.
//!
//! An execution the API triggers while the runner has room skips the queue: the API
//! reserves a claim ([`RunnerHandle::reserve`]), creates the execution already
//! claimed by this runner, and hands it over with its definition
//! ([`RunnerHandle::hand_over`]). Its start then costs no read of the queue and no
//! claim, only the one write that creates it. What the API cannot hand over (no
//! room, `duplicatePolicy: queue`, a stopping runner) waits in the queue as before.
//!
//! An execution whose job names a remote `agent` is claimed and handed over the same
//! way, but not run here: the runner gives it to the fleet
//! ([`crate::fleet::Fleet::dispatch`]), which moves it to the agent, and frees its
//! claim. A queued execution of such a job under `duplicatePolicy: queue` waits while
//! one of its job is unfinished on an agent ([`intake`]).

mod history;
mod intake;
mod journal;
mod line_events;
pub(crate) mod package;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bosun_core::ExecutionStatus;
use bosun_core::error::chain;
use bosun_exec::bot::{Bot, EnvChoice, run_bot};
use bosun_exec::python::PythonEnvs;
use bosun_exec::{Home, Outcome, RunOptions, RunReport, Stream};
use bosun_store::{Execution, ExecutionWrite, Finish, Started, Store};
use chrono::Utc;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::definition::{BotSource, Definition, Work};
use crate::monitor::{LineScanner, Report};

use self::intake::{Intake, Taken};
use self::journal::Journal;
pub(crate) use self::journal::remove_logs;
use self::package::Packages;

/// The name this runner claims executions under (also the embedded agent's name).
pub(crate) const RUNNER_NAME: &str = "local";

/// The status message of a claimed execution whose Python environment is being built.
pub(crate) const BUILDING: &str = "building environment";

/// How often the runner looks at the queue when nothing woke it.
const TICK: Duration = Duration::from_secs(2);

/// A running execution, as the API sees it.
struct Active {
    job_id: String,
    cancel: CancellationToken,
    stdout: watch::Receiver<u64>,
    stderr: watch::Receiver<u64>,
    /// Its log files, once written before it starts (its environment's build).
    early_logs: Arc<OnceLock<[PathBuf; 2]>>,
}

#[derive(Default)]
struct Shared {
    wake: Notify,
    active: Mutex<HashMap<String, Active>>,
    /// The way around the queue, open once the runner runs.
    direct: OnceLock<Direct>,
    /// Set when the drain deadline passed and the jobs still running are cancelled,
    /// so that their end says why.
    past_drain: AtomicBool,
}

/// The runner's claims (running or waiting for a slot), and where executions
/// created already claimed are handed over.
struct Direct {
    claims: Arc<Semaphore>,
    handoffs: mpsc::UnboundedSender<Handoff>,
}

/// A claimed, registered execution, ready to start: taken from the queue, or created
/// claimed by the API and handed over.
struct Handoff {
    execution: Execution,
    definition: Definition,
    registered: Registered,
    claim: OwnedSemaphorePermit,
}

/// Room for one execution in the runner, taken before the execution is created
/// claimed, and the way to hand it over; dropping it gives the room back.
pub(crate) struct Reservation {
    claim: OwnedSemaphorePermit,
    handoffs: mpsc::UnboundedSender<Handoff>,
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

    /// Room for an execution to be created claimed by this runner
    /// ([`RUNNER_NAME`]) and handed over with [`RunnerHandle::hand_over`]; `None`
    /// when the runner is not running, is stopping, or has no room (the execution
    /// then waits in the queue). The claims are a fair semaphore: while the runner
    /// itself waits for room to take queued work, freed room goes to it first.
    pub(crate) fn reserve(&self) -> Option<Reservation> {
        let direct = self.shared.direct.get()?;
        if direct.handoffs.is_closed() {
            return None;
        }
        let claim = direct.claims.clone().try_acquire_owned().ok()?;
        Some(Reservation {
            claim,
            handoffs: direct.handoffs.clone(),
        })
    }

    /// Starts `execution`, created claimed by this runner under `room`, as if the
    /// runner had claimed it from the queue. If the runner stopped meanwhile, the
    /// claim stays in the store and the next start of the server gives it back to
    /// the queue.
    pub(crate) fn hand_over(
        &self,
        room: Reservation,
        execution: Execution,
        definition: Definition,
    ) {
        let id = execution.id.clone();
        let handoff = Handoff {
            registered: self.register(&execution),
            execution,
            definition,
            claim: room.claim,
        };
        if room.handoffs.send(handoff).is_err() {
            tracing::warn!(execution = %id, "the runner stopped before it could start a new execution: it waits in the queue for the next start");
            self.deregister(&id);
        }
    }

    /// Enters a claimed execution in the active map, where the API can cancel and
    /// follow it.
    fn register(&self, execution: &Execution) -> Registered {
        let cancel = CancellationToken::new();
        if execution.cancel_requested {
            cancel.cancel();
        }
        let (stdout_tx, stdout_rx) = watch::channel(0u64);
        let (stderr_tx, stderr_rx) = watch::channel(0u64);
        let early_logs = Arc::new(OnceLock::new());
        self.shared.active.lock().expect("never poisoned").insert(
            execution.id.clone(),
            Active {
                job_id: execution.job_id.clone(),
                cancel: cancel.clone(),
                stdout: stdout_rx,
                stderr: stderr_rx,
                early_logs: early_logs.clone(),
            },
        );
        Registered {
            cancel,
            stdout_tx,
            stderr_tx,
            early_logs,
        }
    }

    /// Counts `execution`, a job the previous server left running that recovery is
    /// stopping, as running here until the returned guard is dropped: the runner
    /// then holds back its job's queued executions (`duplicatePolicy: queue`) until
    /// its process group is gone.
    pub(crate) fn leftover(&self, execution: &Execution) -> Leftover {
        Leftover {
            registered: self.register(execution),
            handle: self.clone(),
            id: execution.id.clone(),
        }
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

    /// The log file of an execution that has not started but already writes its log
    /// (its environment is being built); `None` otherwise.
    pub(crate) fn early_log(&self, id: &str, stream: Stream) -> Option<PathBuf> {
        let active = self
            .shared
            .active
            .lock()
            .expect("the active map is never poisoned");
        let [out, err] = active.get(id)?.early_logs.get()?.clone();
        Some(match stream {
            Stream::Stdout => out,
            Stream::Stderr => err,
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

    fn deregister(&self, id: &str) {
        self.shared
            .active
            .lock()
            .expect("the active map is never poisoned")
            .remove(id);
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

/// A job left running by the previous server, counted as running here while
/// recovery stops it ([`RunnerHandle::leftover`]). Dropping it lets the runner know
/// it is gone.
pub(crate) struct Leftover {
    handle: RunnerHandle,
    id: String,
    /// Held so that followers of its log wait until it is gone; it writes nothing.
    #[expect(dead_code, reason = "held for its senders, which are dropped with it")]
    registered: Registered,
}

impl Drop for Leftover {
    fn drop(&mut self) {
        self.handle.deregister(&self.id);
        self.handle.wake();
    }
}

/// A registered execution's controls: its cancellation, its byte counters, and where
/// its logs are told to followers before it starts.
struct Registered {
    cancel: CancellationToken,
    stdout_tx: watch::Sender<u64>,
    stderr_tx: watch::Sender<u64>,
    early_logs: Arc<OnceLock<[PathBuf; 2]>>,
}

/// A claimed execution waiting for its slot; [`Execute::until`] sees it through.
struct Execute {
    runner: Arc<Runner>,
    execution: Execution,
    definition: Definition,
    registered: Registered,
    slots: Arc<Semaphore>,
    /// Its place among the claimed executions, given up when its process ends.
    claim: OwnedSemaphorePermit,
}

impl Execute {
    /// Waits for a slot and runs the execution. If it is cancelled first, its end
    /// is recorded without starting it; if `stop` fires first, it goes back to the
    /// queue for the next server. Once running, `stop` does not touch it: the drain
    /// deadline does.
    async fn until(self, stop: CancellationToken) {
        let Self {
            runner,
            execution,
            definition,
            registered,
            slots,
            claim,
        } = self;
        let cancel = registered.cancel.clone();
        tokio::select! {
            // A stopping server starts nothing, and a cancelled execution never starts.
            biased;
            _ = stop.cancelled() => {
                if let Err(e) = runner.store.release_claim(&execution.id, RUNNER_NAME).await {
                    tracing::warn!(execution = %execution.id, "could not give a claimed execution back to the queue: {}", chain(&e));
                }
            }
            _ = cancel.cancelled() => {
                let finish = Finish {
                    status: ExecutionStatus::Cancelled,
                    exit_code: None,
                    message: "cancelled before it started".to_owned(),
                    end_time: Utc::now(),
                };
                let keep = definition.history_limit.unwrap_or(runner.config.history_limit);
                runner.end(&execution, &finish, keep).await;
            }
            slot = slots.acquire_owned() => {
                let slot = slot.expect("the semaphore is never closed");
                runner.run_in_slot(execution, definition, registered, (slot, claim)).await;
                return;
            }
        }
        drop(claim);
        runner.handle.deregister(&execution.id);
        runner.handle.wake();
    }
}

/// The runner itself; [`Runner::run`] is its loop.
pub(crate) struct Runner {
    store: Store,
    config: Arc<ServerConfig>,
    handle: RunnerHandle,
    envs: PythonEnvs,
    logs: PathBuf,
    journal: Journal,
    packages: Packages,
    /// Told each start and end, for the people watching the hub.
    fleet: crate::fleet::Fleet,
}

impl Runner {
    /// A runner, with its journal's task started (so: inside the runtime).
    pub(crate) fn new(
        store: Store,
        config: Arc<ServerConfig>,
        handle: RunnerHandle,
        packages: Arc<bosun_storage::PackageStorage>,
        fleet: crate::fleet::Fleet,
    ) -> Self {
        let home = Home::new(&config.home);
        Self {
            journal: Journal::start(store.clone(), home.logs()),
            store,
            envs: PythonEnvs::new(home.venvs()),
            logs: home.logs(),
            packages: Packages::new(config.clone(), packages),
            config,
            handle,
            fleet,
        }
    }

    /// Runs until `stop` fires, then drains: claimed executions go back to the
    /// queue, running jobs get the drain deadline, then are cancelled; returns when
    /// none is left.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let this = Arc::new(self);
        let most = this.config.max_concurrent.max(1);
        // Running jobs, and claimed executions running or waiting for a slot.
        let slots = Arc::new(Semaphore::new(most));
        let claims = Arc::new(Semaphore::new(most * 2));
        let mut intake = Intake::new(this.store.clone());
        let (handoffs_tx, mut handoffs) = mpsc::unbounded_channel();
        let direct = Direct {
            claims: claims.clone(),
            handoffs: handoffs_tx,
        };
        if this.handle.shared.direct.set(direct).is_err() {
            tracing::warn!(
                "a runner handle served two runners: the second takes work from the queue only"
            );
        }
        // A JoinSet, not detached tasks: if this future is dropped (the server is
        // aborted), every job's supervisor is dropped too, and its guard kills the job.
        let mut tasks = JoinSet::new();
        // Starts a claimed, registered execution: one taken from the queue, or one the
        // API created claimed and handed over.
        let start = |tasks: &mut JoinSet<()>, handoff: Handoff| {
            if handoff.definition.agent.is_some() {
                tasks.spawn(this.clone().send_away(handoff));
                return;
            }
            let task = Execute {
                runner: this.clone(),
                execution: handoff.execution,
                definition: handoff.definition,
                registered: handoff.registered,
                slots: slots.clone(),
                claim: handoff.claim,
            };
            tasks.spawn(task.until(stop.clone()));
        };
        loop {
            while tasks.try_join_next().is_some() {}
            let claim = tokio::select! {
                claim = claims.clone().acquire_owned() => claim.expect("the semaphore is never closed"),
                Some(handoff) = handoffs.recv() => {
                    start(&mut tasks, handoff);
                    continue;
                }
                _ = stop.cancelled() => break,
            };
            // As many as there is room for, claimed in one batch.
            let mut room = vec![claim];
            while let Ok(more) = claims.clone().try_acquire_owned() {
                room.push(more);
            }
            let taken = intake
                .next(room.len(), |job_id| this.handle.runs_job(job_id))
                .await;
            match taken {
                Ok(taken) if !taken.is_empty() => {
                    for (taken, claim) in taken.into_iter().zip(room.drain(..)) {
                        match taken {
                            Taken::Start(execution, definition) => {
                                // Registered before the task starts, so that the next
                                // claim sees this job running (duplicatePolicy `queue`).
                                let handoff = Handoff {
                                    registered: this.handle.register(&execution),
                                    execution,
                                    definition: *definition,
                                    claim,
                                };
                                start(&mut tasks, handoff);
                            }
                            Taken::Unstartable(execution, why) => {
                                drop(claim);
                                let keep = this.config.history_limit;
                                this.fail(&execution, format!("not started: {why}"), keep)
                                    .await;
                            }
                        }
                    }
                }
                Ok(_) => {
                    drop(room);
                    tokio::select! {
                        _ = this.handle.shared.wake.notified() => {}
                        _ = tokio::time::sleep(TICK) => {}
                        // Handed over, not queued: the queue is as it was.
                        Some(handoff) = handoffs.recv() => {
                            start(&mut tasks, handoff);
                            continue;
                        }
                        _ = stop.cancelled() => break,
                    }
                    intake.woken();
                }
                Err(e) => {
                    drop(room);
                    tracing::error!("runner could not read the queue: {}", chain(&e));
                    tokio::select! {
                        _ = tokio::time::sleep(TICK) => {}
                        _ = stop.cancelled() => break,
                    }
                    intake.woken();
                }
            }
        }
        // Nothing more is handed over; what was, and did not start, goes back to the
        // queue with the claimed executions.
        handoffs.close();
        while let Ok(handoff) = handoffs.try_recv() {
            let id = &handoff.execution.id;
            if let Err(e) = this.store.release_claim(id, RUNNER_NAME).await {
                tracing::warn!(execution = %id, "could not give a claimed execution back to the queue: {}", chain(&e));
            }
            this.handle.deregister(id);
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
            this.handle.shared.past_drain.store(true, Ordering::SeqCst);
            this.handle.cancel_all();
            while tasks.join_next().await.is_some() {}
        }
    }

    /// Hands a claimed execution whose job names an agent to the fleet, which
    /// moves it to that agent, then lets go of it: from then on it is the agent's,
    /// and its claim is free. One the fleet cannot send ends Failed with the reason.
    /// It counts as running here until it has left, so that a queued execution of
    /// its job waits (`duplicatePolicy: queue`); after, the intake sees it on its
    /// agent.
    async fn send_away(self: Arc<Self>, handoff: Handoff) {
        let Handoff {
            execution,
            definition,
            registered,
            claim,
        } = handoff;
        match self.fleet.dispatch(&execution, &definition).await {
            Ok(crate::fleet::Dispatched::Sent { agent }) => {
                tracing::debug!(execution = %execution.id, %agent, "sent to an agent");
            }
            Ok(crate::fleet::Dispatched::Gone) => {}
            Err(why) => {
                let keep = definition
                    .history_limit
                    .unwrap_or(self.config.history_limit);
                self.fail(&execution, format!("not sent to an agent: {why}"), keep)
                    .await;
            }
        }
        drop((claim, registered));
        self.handle.deregister(&execution.id);
        self.handle.wake();
    }

    async fn fail(&self, execution: &Execution, message: String, keep: i64) {
        let finish = Finish {
            status: ExecutionStatus::Failed,
            exit_code: None,
            message,
            end_time: Utc::now(),
        };
        self.end(execution, &finish, keep).await;
    }

    /// Records how an execution ended and keeps its job's history to `keep`.
    async fn end(&self, execution: &Execution, finish: &Finish, keep: i64) {
        let (id, job_id) = (&execution.id, &execution.job_id);
        let ended = self.journal.ended(id, job_id, finish.clone(), keep).await;
        match ended {
            Ok(true) => self.fleet.tell_execution(
                execution,
                RUNNER_NAME,
                finish.status,
                Some(finish.message.clone()),
            ),
            Ok(false) => {}
            Err(e) => tracing::error!(execution = %id, "could not record the end: {}", chain(&e)),
        }
    }

    /// Runs a claimed, registered execution holding `held`, its slot and its claim,
    /// then records its end.
    async fn run_in_slot(
        &self,
        execution: Execution,
        definition: Definition,
        registered: Registered,
        held: (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) {
        let id = execution.id.clone();
        let dir = self.logs.join(&id);
        let mut options = RunOptions::new(dir.join("output.log"), dir.join("error.log"));
        options.log_limit = self.config.log_limit;
        let Registered {
            cancel,
            stdout_tx,
            stderr_tx,
            early_logs,
        } = registered;
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

        let (build_tx, mut build_rx) = tokio::sync::oneshot::channel::<()>();
        let build_tx = Mutex::new(Some(build_tx));
        let logs = [options.output_log.clone(), options.error_log.clone()];
        options.on_build = Some(Arc::new(move || {
            let _ = early_logs.set(logs.clone());
            if let Some(tx) = build_tx.lock().expect("never poisoned").take() {
                let _ = tx.send(());
            }
        }));

        // Records the build's phase if there is one, the start, then the latest status
        // line whenever one arrives, until the job's output ends (the observer, holding
        // the sender, is dropped).
        let reporter = {
            let (store, journal) = (self.store.clone(), self.journal.clone());
            let (fleet, execution) = (self.fleet.clone(), execution.clone());
            let id = id.clone();
            let (out, err) = (options.output_log.clone(), options.error_log.clone());
            tokio::spawn(async move {
                let mut pid_rx = pid_rx;
                let started = tokio::select! {
                    biased;
                    started = &mut pid_rx => started,
                    Ok(()) = &mut build_rx => {
                        let building = store.report(&id, Some(BUILDING), None, Utc::now()).await;
                        if let Err(e) = building {
                            tracing::warn!(execution = %id, "could not record the build phase: {}", chain(&e));
                        }
                        pid_rx.await
                    }
                };
                if let Ok((pid, at)) = started {
                    let running = ExecutionWrite::Running {
                        id: id.clone(),
                        started: Started {
                            pid: i64::from(pid),
                            start_time: at,
                            output_log: path(&out),
                            error_log: path(&err),
                        },
                    };
                    match journal.started(running).await {
                        Ok(()) => fleet.tell_execution(
                            &execution,
                            RUNNER_NAME,
                            ExecutionStatus::Running,
                            None,
                        ),
                        Err(e) => {
                            tracing::error!(execution = %id, "could not record the start: {}", chain(&e))
                        }
                    }
                }
                let tell = |report: Report| {
                    fleet.tell_execution(
                        &execution,
                        RUNNER_NAME,
                        ExecutionStatus::Running,
                        report.status,
                    );
                };
                let mut lines = line_events::Throttle::new(line_events::EVERY);
                loop {
                    let due = lines.due();
                    tokio::select! {
                        changed = report_rx.changed() => {
                            if changed.is_err() {
                                break;
                            }
                            let latest = report_rx.borrow_and_update().clone();
                            let stored = store
                                .report(&id, latest.status.as_deref(), latest.progress, Utc::now())
                                .await;
                            if let Err(e) = stored {
                                tracing::warn!(execution = %id, "could not record a status line: {}", chain(&e));
                            }
                            if let Some(line) = lines.offer(latest, tokio::time::Instant::now()) {
                                tell(line);
                            }
                        }
                        () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                            if let Some(held) = lines.take_due(tokio::time::Instant::now()) {
                                tell(held);
                            }
                        }
                    }
                }
                // The output ended: its last line is told before its end is.
                if let Some(held) = lines.flush() {
                    tell(held);
                }
            })
        };

        let report = self.work(&definition, &execution, &options, &cancel).await;
        // Its process group is gone: its slot and claim are free for the next while
        // this end is recorded. The job counts as running (for `duplicatePolicy`
        // `queue`, for cancel and follow) until its end is recorded and it leaves
        // the active map.
        drop(held);
        drop(options);
        let _ = reporter.await;

        let status = report.outcome.status();
        let past_drain = self.handle.shared.past_drain.load(Ordering::SeqCst);
        let message = if past_drain && matches!(report.outcome, Outcome::Cancelled) {
            format!(
                "cancelled: the server shut down and its drain deadline ({}) passed; the \
                 process group was stopped",
                humantime::format_duration(self.config.drain_timeout)
            )
        } else {
            report.message()
        };
        let finish = Finish {
            status,
            exit_code: report.outcome.exit_code().map(i64::from),
            message,
            end_time: report.end_time,
        };
        let keep = definition
            .history_limit
            .unwrap_or(self.config.history_limit);
        self.end(&execution, &finish, keep).await;
        self.handle.deregister(&id);
        self.handle.wake();
    }

    async fn work(
        &self,
        definition: &Definition,
        execution: &Execution,
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> RunReport {
        let arguments = &execution.arguments;
        match &definition.work {
            Work::Process(spec) => {
                let mut spec = spec.clone();
                spec.args.extend(arguments.iter().cloned());
                bosun_exec::run(&spec, options, cancel).await
            }
            Work::Bot {
                source,
                arguments: fixed,
                timeout,
            } => {
                let bot = match source {
                    BotSource::Path(path) => Bot::locate(path),
                    BotSource::Package(reference) => {
                        let fetched = tokio::select! {
                            fetched = self.packages.fetch(&self.store, execution, reference) => fetched,
                            _ = cancel.cancelled() => {
                                return RunReport::not_started(Outcome::Cancelled, options);
                            }
                        };
                        match fetched {
                            Ok(fetched) => Bot::locate(&fetched.dir).map(|mut bot| {
                                bot.name = fetched.name.to_string();
                                bot
                            }),
                            Err(why) => Err(why.message()),
                        }
                    }
                };
                let bot = match bot {
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
                    Err(e) => {
                        RunReport::not_started(Outcome::SpawnFailed(chain(&e).to_string()), options)
                    }
                }
            }
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
