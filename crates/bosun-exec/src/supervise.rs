//! The supervisor: one task owns each child and decides how it ends.
//!
//! [`spawn`] starts the job as the leader of a new process group. [`Running::wait`]
//! reads both output pipes while it `select!`s over the child exiting, the deadline
//! and cancellation, all in one future: one wake-up when a job ends, not three.
//! Whatever ends the leader, the job is then emptied: a polite signal, the grace
//! period, `SIGKILL`, and a wait until no process of it is left — its group and, on
//! Linux, the descendants that left the group with `setsid` (see `unix::JobProcs`).
//! A guard kills the job if the [`Running`] is dropped before that, so an aborted task
//! cannot leak processes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bosun_core::JobSpec;
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::outcome::{Outcome, RunReport, StreamStats};
use crate::output::{Observer, Sink, Stream};
use crate::stop::Stoppable;
use crate::unix::{JobProcs, Live, decode, kill_job, new_mark};

/// The first signal sent to a job's group when bosun stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopSignal {
    /// `SIGTERM`, the usual request to stop.
    #[default]
    Terminate,
    /// `SIGINT`, which Python turns into `KeyboardInterrupt` so `finally` blocks run.
    Interrupt,
}

impl StopSignal {
    fn signal(self) -> Signal {
        match self {
            Self::Terminate => Signal::SIGTERM,
            Self::Interrupt => Signal::SIGINT,
        }
    }
}

/// How to supervise one run.
#[derive(Clone)]
pub struct RunOptions {
    /// Where standard output is written (created or truncated).
    pub output_log: PathBuf,
    /// Where standard error is written (created or truncated).
    pub error_log: PathBuf,
    /// A non-zero exit inside this window is reported as a startup failure.
    pub startup_window: Duration,
    /// How long a stopped job has between the polite signal and `SIGKILL`.
    pub grace: Duration,
    /// The polite signal.
    pub stop_signal: StopSignal,
    /// The cap of each log file: past it, the log keeps the first and the last half of
    /// the cap and a marker line says how many bytes in between were left out.
    pub log_limit: u64,
    /// Appends to the log files instead of replacing them; what they hold counts
    /// towards the cap (e.g. the output of the job's environment build).
    pub append_logs: bool,
    /// Whether a bot's environment build writes its output to the start of the output
    /// log ([`crate::bot::run_bot`]); the observer sees it either way.
    pub log_build: bool,
    /// Sees all output live, e.g. to echo it to a terminal.
    pub observer: Option<Observer>,
    /// When fired during a stop, skips the rest of the grace period and kills at once
    /// (a second Ctrl-C).
    pub kill_now: CancellationToken,
    /// Told the job's pid as soon as [`run`] has started it (e.g. to record it).
    pub on_start: Option<Arc<dyn Fn(u32) + Send + Sync>>,
    /// Told when a bot's Python environment starts being built, before the bot starts
    /// ([`crate::bot::run_bot`]; e.g. to show the phase). Not told when it is ready.
    pub on_build: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl RunOptions {
    /// Default startup window: seed 002's five seconds.
    pub const STARTUP_WINDOW: Duration = Duration::from_secs(5);
    /// Default grace period between the polite signal and `SIGKILL`.
    pub const GRACE: Duration = Duration::from_secs(10);
    /// Default cap of each log file: 100 MiB.
    pub const LOG_LIMIT: u64 = 100 * 1024 * 1024;

    /// Options with every default, logging to these two files.
    pub fn new(output_log: impl Into<PathBuf>, error_log: impl Into<PathBuf>) -> Self {
        Self {
            output_log: output_log.into(),
            error_log: error_log.into(),
            startup_window: Self::STARTUP_WINDOW,
            grace: Self::GRACE,
            stop_signal: StopSignal::Terminate,
            log_limit: Self::LOG_LIMIT,
            append_logs: false,
            log_build: true,
            observer: None,
            kill_now: CancellationToken::new(),
            on_start: None,
            on_build: None,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("output_log", &self.output_log)
            .field("error_log", &self.error_log)
            .field("startup_window", &self.startup_window)
            .field("grace", &self.grace)
            .field("stop_signal", &self.stop_signal)
            .field("log_limit", &self.log_limit)
            .field("append_logs", &self.append_logs)
            .field("log_build", &self.log_build)
            .field("observer", &self.observer.is_some())
            .field("on_start", &self.on_start.is_some())
            .field("on_build", &self.on_build.is_some())
            .finish()
    }
}

/// A started job. Call [`Running::wait`] to see it through.
pub struct Running {
    child: Child,
    pid: u32,
    start_time: DateTime<Utc>,
    started: Instant,
    timeout: Duration,
    options: RunOptions,
    output: Option<OutputTask>,
    guard: GroupGuard,
}

/// Kills the whole job (its group and the processes that left it) if dropped while
/// armed: the last line of defence when a [`Running`] is dropped without being waited
/// for.
struct GroupGuard {
    pgid: u32,
    /// The job's mark (see `unix::new_mark`).
    mark: String,
    /// Counts the job as live until its supervisor is done with it.
    live: Live,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            kill_job(self.pgid, &self.mark);
        }
    }
}

/// What the output task hands back: each stream's figures, and standard error's tail.
type Pumped = ((StreamStats, Vec<u8>), (StreamStats, Vec<u8>));

/// Reads both streams to their end; polled by [`Running::wait`].
type OutputTask = std::pin::Pin<Box<dyn std::future::Future<Output = Pumped> + Send>>;

/// Starts `spec`. The error is one sentence naming what could not be started and why.
///
/// The log directories are made before the child starts, so a bad log location stops
/// the job before it runs. The files themselves are created by the output task while
/// the child starts: on a busy disk that creation can cost more than a short job's
/// whole run, and nothing needs the files before the first byte arrives. A file that
/// cannot be created is reported in the job's message (its output is still drained,
/// and standard error's tail still kept).
pub fn spawn(spec: &JobSpec, options: &RunOptions) -> Result<Running, String> {
    for path in [&options.output_log, &options.error_log] {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("could not create log directory {}: {e}", parent.display()))?;
        }
    }

    let start_time = Utc::now();
    let started = Instant::now();
    let (mark, mark_value) = new_mark();
    let mut child = crate::spawn::spawn_child(spec, &mark_value)?;
    let pid = child
        .id()
        .expect("a child that was just spawned has a pid: it has not been waited for");
    let guard = GroupGuard {
        pgid: pid,
        mark,
        live: Live::new(),
        armed: true,
    };
    tracing::info!(job = %spec.name, pid, command = %spec.command, "started");

    let stdout = child.stdout.take().expect("stdout is piped by spawn_child");
    let stderr = child.stderr.take().expect("stderr is piped by spawn_child");
    // Both pipes are read at once, neither waiting for the other, by the future
    // that waits for the job.
    let out = Sink::new(Stream::Stdout, &options.output_log, options);
    let err = Sink::new(Stream::Stderr, &options.error_log, options);
    let output: OutputTask =
        Box::pin(async move { tokio::join!(out.pump(stdout), err.pump(stderr)) });

    Ok(Running {
        child,
        pid,
        start_time,
        started,
        timeout: spec.timeout,
        options: options.clone(),
        output: Some(output),
        guard,
    })
}

impl Running {
    /// The leader's pid, which is also the process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When the process was started.
    pub fn start_time(&self) -> DateTime<Utc> {
        self.start_time
    }

    /// Waits for the job to end, stopping it on timeout or when `cancel` fires, and
    /// returns once no process of it is left (see the module's description).
    ///
    /// The job's output is read by this future too, alongside the wait: one task, so
    /// the child's exit and its pipes' end wake bosun once, not once per stream. Call
    /// it as soon as the job is spawned; until it is polled, nothing drains the pipes.
    pub async fn wait(mut self, cancel: &CancellationToken) -> RunReport {
        let mut output = self
            .output
            .take()
            .expect("the output is taken only here, and wait consumes the Running");
        let mut pumped = None;
        let (status, stopped_by, elapsed) = {
            let mut ending = std::pin::pin!(self.end(cancel));
            loop {
                tokio::select! {
                    ended = &mut ending => break ended,
                    done = &mut output, if pumped.is_none() => pumped = Some(done),
                }
            }
        };
        let pgid = self.pid;
        let (stdout, stderr, stderr_tail) = collect_output(pumped, output).await;
        let outcome = stopped_by.unwrap_or_else(|| match status {
            Ok(status) => match decode(status) {
                (Some(code), _) if code != 0 && elapsed < self.options.startup_window => {
                    Outcome::StartupFailed {
                        code,
                        stderr_tail: stderr_tail.clone(),
                        window: self.options.startup_window,
                    }
                }
                (Some(code), _) => Outcome::Exited(code),
                (None, Some(signal)) => Outcome::Signalled(signal),
                (None, None) => Outcome::Exited(-1),
            },
            Err(e) => Outcome::SpawnFailed(format!("lost track of process {pgid}: {e}")),
        });
        let report = RunReport {
            outcome,
            pid: Some(pgid),
            start_time: self.start_time,
            end_time: Utc::now(),
            stdout,
            stderr,
            stderr_tail,
            output_log: self.options.output_log.clone(),
            error_log: self.options.error_log.clone(),
        };
        tracing::info!(pid = pgid, status = %report.outcome.status(), "ended");
        report
    }

    /// Sees the leader out (stopping it on timeout or cancellation), then the rest of
    /// its group. Returns the leader's status, what stopped it if bosun did, and how
    /// long it ran.
    async fn end(
        &mut self,
        cancel: &CancellationToken,
    ) -> (
        std::io::Result<std::process::ExitStatus>,
        Option<Outcome>,
        Duration,
    ) {
        let pgid = self.pid;
        let grace = self.options.grace;
        let polite = self.options.stop_signal.signal();
        let deadline = self.started + self.timeout;
        let mut procs = JobProcs::new(pgid, self.guard.mark.clone());

        let (status, stopped_by, grace_end) = tokio::select! {
            status = self.child.wait() => (status, None, None),
            _ = tokio::time::sleep_until(deadline) => {
                tracing::info!(pid = pgid, "timed out; stopping the job");
                let (status, end) = stop(&mut self.child, &mut procs, polite, grace, &self.options.kill_now).await;
                (status, Some(Outcome::TimedOut(self.timeout)), Some(end))
            }
            _ = cancel.cancelled() => {
                tracing::info!(pid = pgid, "cancelled; stopping the job");
                let (status, end) = stop(&mut self.child, &mut procs, polite, grace, &self.options.kill_now).await;
                (status, Some(Outcome::Cancelled), Some(end))
            }
        };
        let elapsed = self.started.elapsed();

        // The leader is gone; whatever it left, in its group or out of it, goes too.
        let grace_end = match grace_end {
            Some(end) => end,
            None if procs.left_behind(&self.guard.live, Signal::SIGTERM, grace) => {
                tracing::debug!(pid = pgid, "leader exited; stopping the processes it left");
                procs.signal(Signal::SIGTERM);
                Instant::now() + grace
            }
            None => Instant::now(),
        };
        crate::stop::finish(&mut procs, grace_end, &self.options.kill_now).await;
        self.guard.armed = false;
        (status, stopped_by, elapsed)
    }
}

/// The output's figures once the group is gone. The pipes end when the last holder
/// exits; a process that left the group with `setsid` may hold them longer, so the
/// wait for the rest is bounded.
async fn collect_output(
    pumped: Option<Pumped>,
    output: OutputTask,
) -> (StreamStats, StreamStats, String) {
    const LIMIT: Duration = Duration::from_secs(2);
    let pumped = match pumped {
        Some(pumped) => Some(pumped),
        None => tokio::time::timeout(LIMIT, output).await.ok(),
    };
    match pumped {
        Some(((out, _), (err, tail))) => (out, err, String::from_utf8_lossy(&tail).into_owned()),
        None => {
            let lost = StreamStats {
                log_error: Some(
                    "a process outside the job's group still holds its output; reading stopped"
                        .to_owned(),
                ),
                ..StreamStats::default()
            };
            (lost.clone(), lost, String::new())
        }
    }
}

/// Stops the leader: the polite signal to the job (its group and the processes that
/// left it), up to `grace` for the leader to exit, then `SIGKILL` to the job. Returns
/// the leader's status and the end of the grace period (which also bounds the wait for
/// the rest of the job).
async fn stop(
    child: &mut Child,
    procs: &mut JobProcs,
    polite: Signal,
    grace: Duration,
    kill_now: &CancellationToken,
) -> (std::io::Result<std::process::ExitStatus>, Instant) {
    let grace_end = Instant::now() + grace;
    procs.signal(polite);
    tokio::select! {
        waited = tokio::time::timeout_at(grace_end, child.wait()) => {
            if let Ok(status) = waited {
                return (status, grace_end);
            }
        }
        _ = kill_now.cancelled() => {}
    }
    procs.signal(Signal::SIGKILL);
    (child.wait().await, Instant::now())
}

/// Runs `spec` to the end: [`spawn`] then [`Running::wait`]. A job that cannot be
/// started gives a report with [`Outcome::SpawnFailed`].
pub async fn run(spec: &JobSpec, options: &RunOptions, cancel: &CancellationToken) -> RunReport {
    match spawn(spec, options) {
        Ok(running) => {
            if let Some(on_start) = &options.on_start {
                on_start(running.pid());
            }
            running.wait(cancel).await
        }
        Err(message) => RunReport::not_started(Outcome::SpawnFailed(message), options),
    }
}
