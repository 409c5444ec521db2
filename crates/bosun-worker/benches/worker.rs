//! What `bosun worker`'s full path costs, against the raw Redis Streams ceiling of the
//! same `redis-server` in the same run.
//!
//! - Throughput: N no-op jobs are XADDed to `jobs:manager` while an idle in-process
//!   worker ([`bosun_worker::start`] + [`bosun_worker::Worker::run`], SQLite results
//!   store in a temporary directory) reads them. A no-op job is one whose runner has
//!   nothing to do: the `manager` role's runner is replaced
//!   ([`bosun_worker::Worker::with_runner`]) by one that answers at once. The clock
//!   runs from the first XADD until all N notifications are on `signalr:updates` and no
//!   entry is pending: every job was read, looked up, run, saved, notified and
//!   acknowledged. The baseline XADDs the same N entries, from the same producer, to a
//!   stream of the same server, where a plain loop reads them with `XREADGROUP COUNT
//!   64` (the worker's batch with no limits) and acknowledges each batch with one
//!   `XACK`: no store, no runner, no notification. Goal: worker ≥ 0.5 × raw.
//! - The same N jobs done by hand: a plain loop that keeps the worker's promises with
//!   none of its machinery (no tasks, slots, metrics, retries or runner): it reads
//!   `COUNT 64`, looks the jobs' saved results up in one request, saves their results
//!   together, and XADDs their notifications (the worker's fields) and XACKs the batch
//!   in one MULTI ([`bosun_worker::streams::settle`]). What the contract costs, beside what bosun
//!   costs on top of it.
//! - The same N jobs as `agent` jobs, whose runner is the built-in one: an HTTP call
//!   to an in-bench fake OpenAI endpoint that answers at once; and, to say what that
//!   call costs, the same number of calls through the worker's [`LlmClient`] alone
//!   (64 at a time). Reported beside the goal, not against it.
//! - Enqueue-to-start latency: with the worker idle (its read blocked), one no-op job
//!   is XADDed at a time, and the clock runs until its runner is called. The baseline
//!   is the time from XADD until a blocked `XREADGROUP COUNT 1` returns. The samples
//!   also time one LLM call until the fake has it (what an `agent` job adds to its
//!   start) and the worker's results lookup
//!   ([`bosun_store::Store::worker_results`]) alone.
//!
//! The first contestant of each round (each group of samples) rotates; a ratio is the
//! median of the per-round ratios.
//!
//! `--noop-only` runs the worker's no-op rounds alone, with no baseline, and prints what
//! Redis spent per job on each command: a run to profile the worker's path with.
//!
//! `--limits` measures the limits instead: a worker reading every role, each role's
//! runner replaced by one that sleeps `L` (`--job-ms`, default 50), with `MAX_TOTAL=N`
//! for N in 1, 2 and 4, runs 25 × N jobs (`--jobs` a slot) XADDed at once, either all
//! to `jobs:agent` or spread over the five roles' streams. The clock runs from the
//! first XADD until the last notification; the figure is jobs/s ÷ (N / L), the
//! throughput of N slots kept busy. Goal: ≥ 0.9, whatever roles have work.
//!
//! `cargo bench -p bosun-worker --bench worker [-- --quick] [--jobs N]`; see [`USAGE`].
//! docs/PERFORMANCE.md explains the figures and records a run.

use std::error::Error;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use bosun_store::NewWorkerResult;
use bosun_test_utils::fake_llm::FakeLlm;
use bosun_test_utils::redis_server::RedisServer;
use bosun_test_utils::stats::{list, median, percentile, seconds};
use bosun_worker::{JobFuture, JobMessage, JobRunner, LlmClient, Role, WorkerConfig, streams};
use redis::aio::MultiplexedConnection;
use tokio_util::sync::CancellationToken;

type Fallible<T> = Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "usage: cargo bench -p bosun-worker --bench worker -- \
[--quick] [--jobs N] [--rounds N] [--samples N] [--noop-only] [--limits [--job-ms L]]
  --quick        3 rounds of 300 jobs, 40 latency samples: a smoke run, not figures to quote
  --noop-only    only the worker's no-op rounds, and what Redis spent on each job (for
                 profiling the worker's path; no baseline, so no ratio)
  --limits       throughput under MAX_TOTAL=1, 2, 4 of jobs that take L each, against
                 N / L; --jobs is then jobs per slot [default: 25], --rounds rounds per
                 case [default: 3]
  --job-ms L     with --limits, how long a job takes, in ms [default: 50]
  --jobs N       jobs per round and side [default: 2000]
  --rounds N     throughput rounds [default: 7]
  --samples N    latency samples per side [default: 200]";

/// The raw side's `XREADGROUP` COUNT: what the worker asks for with no limits
/// (`slots::MAX_BATCH`).
const RAW_COUNT: usize = 64;

/// XADDs per pipeline of the producer, on both sides.
const ENQUEUE_BATCH: usize = 100;

/// How often the worker side looks whether all its jobs are done.
const POLL: Duration = Duration::from_millis(1);

/// The longest anything may take before the bench gives up.
const LIMIT: Duration = Duration::from_secs(120);

const GROUP: &str = "executor-group";
const RAW_CONSUMER: &str = "raw-loop";

fn main() {
    let settings = match Settings::from_args(std::env::args().skip(1)) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("worker bench: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    // Multi-threaded, as in the `bosun` binary, and the bench itself runs as a task on
    // a runtime worker, as the binary runs its commands.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    let outcome = runtime.block_on(async {
        tokio::spawn(async move {
            let outcome = match settings.limits {
                Some(job) => limits(&settings, job).await,
                None => run(&settings).await,
            };
            outcome.map_err(|e| e.to_string())
        })
        .await
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("worker bench: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("worker bench: the bench task failed: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------- settings

struct Settings {
    rounds: usize,
    jobs: usize,
    samples: usize,
    noop_only: bool,
    /// `--limits`: how long a job takes.
    limits: Option<Duration>,
}

impl Settings {
    fn from_args(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut settings = Self {
            rounds: 7,
            jobs: 2000,
            samples: 200,
            noop_only: false,
            limits: None,
        };
        let (mut jobs, mut rounds, mut samples) = (None, None, None);
        let (mut noop_only, mut limits, mut job_ms) = (false, false, 50);
        while let Some(arg) = args.next() {
            let mut number = |flag: &str| -> Result<usize, String> {
                let value = args.next().ok_or(format!("{flag} needs a value"))?;
                match value.parse() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("{flag} needs a positive number, not {value:?}")),
                }
            };
            match arg.as_str() {
                // cargo bench passes --bench to every harness = false target.
                "--bench" => {}
                "--quick" => {
                    settings = Self {
                        rounds: 3,
                        jobs: 300,
                        samples: 40,
                        noop_only: false,
                        limits: None,
                    }
                }
                "--noop-only" => noop_only = true,
                "--limits" => limits = true,
                "--job-ms" => job_ms = number("--job-ms")?,
                "--jobs" => jobs = Some(number("--jobs")?),
                "--rounds" => rounds = Some(number("--rounds")?),
                "--samples" => samples = Some(number("--samples")?),
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        settings.jobs = jobs.unwrap_or(settings.jobs);
        settings.rounds = rounds.unwrap_or(settings.rounds);
        settings.samples = samples.unwrap_or(settings.samples);
        settings.noop_only = noop_only;
        if limits {
            settings.limits = Some(Duration::from_millis(job_ms as u64));
            settings.jobs = jobs.unwrap_or(25);
            settings.rounds = rounds.unwrap_or(3);
        }
        Ok(Some(settings))
    }
}

// ------------------------------------------------------------------- bench

/// The streams of one run; on a server of the bench's own these are the default names.
struct Names {
    /// The no-op jobs' stream (the `manager` role's).
    noop: String,
    /// The LLM jobs' stream (the `agent` role's).
    jobs: String,
    updates: String,
    raw: String,
    /// The by-hand loop's jobs and notifications.
    hand: String,
    hand_updates: String,
}

/// The no-op jobs' runner: answers at once. A job whose id starts with `lat` (a
/// latency sample) also says when its run began.
struct NoOp {
    started: mpsc::UnboundedSender<Instant>,
}

impl JobRunner for NoOp {
    fn run<'a>(&'a self, job: &'a JobMessage, _stop: &'a CancellationToken) -> JobFuture<'a> {
        if job.job_id.starts_with("lat") {
            let _ = self.started.send(Instant::now());
        }
        Box::pin(std::future::ready(Ok(String::new())))
    }
}

async fn run(settings: &Settings) -> Fallible<()> {
    let redis = RedisServer::start();
    let ns = redis.namespace().to_owned();
    let names = Names {
        noop: format!("{ns}{}", Role::Manager.default_stream()),
        jobs: format!("{ns}{}", Role::Agent.default_stream()),
        updates: format!("{ns}signalr:updates"),
        raw: format!("{ns}bench:raw"),
        hand: format!("{ns}bench:hand"),
        hand_updates: format!("{ns}bench:hand-updates"),
    };
    let llm = FakeLlm::start().await;
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(scratch)?;
    let dir = tempfile::tempdir_in(scratch)?;
    let database_url = format!("sqlite://{}", dir.path().join("results.db").display());

    let mut config = WorkerConfig::new(redis.url(), &database_url, dir.path());
    for role in Role::ALL {
        config.role_mut(role).enabled = matches!(role, Role::Agent | Role::Manager);
    }
    config.role_mut(Role::Agent).stream = names.jobs.clone();
    config.role_mut(Role::Manager).stream = names.noop.clone();
    config.updates = names.updates.clone();
    config.dead_letter = format!("{ns}jobs:dead");
    config.group = format!("{ns}{GROUP}");
    config.llm.endpoint = llm.url().to_owned();
    config.llm.attempts = 1;
    let llm_client = LlmClient::new(config.llm.clone())?;
    let group = config.group.clone();

    let client = redis::Client::open(redis.url())?;
    let mut producer = client.get_multiplexed_async_connection().await?;
    let shutdown = CancellationToken::new();
    let (started, noop_started) = mpsc::unbounded_channel();
    let worker = bosun_worker::start(config, &shutdown)
        .await?
        .with_runner(Role::Manager, NoOp { started });
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));
    wait_for_blocked(&mut producer, 1).await?;
    for stream in [&names.raw, &names.hand] {
        let _: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream)
            .arg(&group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut producer)
            .await;
    }
    let hand_url = format!("sqlite://{}", dir.path().join("by-hand.db").display());
    let raw_conn = client.get_multiplexed_async_connection().await?;

    let mut bench = Bench {
        settings,
        names: &names,
        group: &group,
        llm: &llm,
        producer,
        raw_conn,
        client: &client,
        llm_client,
        store: bosun_store::Store::open(&database_url).await?,
        hand_store: bosun_store::Store::open(&hand_url).await?,
        noop_started,
        notes: Vec::new(),
    };
    bench.notes.push(format!(
        "redis-server: {} ({}); worker: `manager` (no-op runner) and `agent` (fake LLM) roles, \
         limits 0 (reads COUNT {RAW_COUNT} a stream), SQLite results store {}",
        redis.url(),
        redis_version(&mut bench.producer).await?,
        dir.path().join("results.db").display()
    ));
    let outcome = bench.measure().await;
    shutdown.cancel();
    worker_task.await?;
    outcome
}

struct Bench<'a> {
    settings: &'a Settings,
    names: &'a Names,
    group: &'a str,
    llm: &'a FakeLlm,
    /// The connection that XADDs jobs, on both sides.
    producer: MultiplexedConnection,
    /// The raw side's consumer connection.
    raw_conn: MultiplexedConnection,
    client: &'a redis::Client,
    /// A client like the worker's, for the LLM calls alone.
    llm_client: LlmClient,
    /// The worker's results store, opened a second time, for the lookups alone.
    store: bosun_store::Store,
    /// The by-hand loop's results, a file of its own.
    hand_store: bosun_store::Store,
    /// When the no-op runner began each latency sample's job.
    noop_started: mpsc::UnboundedReceiver<Instant>,
    notes: Vec<String>,
}

/// Which jobs a worker round sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoOp,
    Llm,
}

impl Bench<'_> {
    async fn measure(&mut self) -> Fallible<()> {
        if self.settings.noop_only {
            return self.noop_only().await;
        }
        let started = Instant::now();
        let (jobs, rounds) = (self.settings.jobs, self.settings.rounds);
        // One untimed round of each first: connections, the fake's HTTP pool, the
        // SQLite file and Redis's allocations warm up.
        self.worker_round(Kind::NoOp, "warm", jobs.min(500)).await?;
        self.worker_round(Kind::Llm, "warm", jobs.min(500)).await?;
        self.raw_round("warm", jobs.min(500)).await?;
        self.hand_round("warm", jobs.min(500)).await?;
        self.llm_alone(jobs.min(500)).await?;

        // Five contestants; the first of each round rotates.
        let mut figures: [Vec<f64>; 5] = Default::default();
        for round in 0..rounds {
            let tag = format!("r{round}");
            for step in 0..5 {
                let which = (round + step) % 5;
                let seconds = match which {
                    0 => self.worker_round(Kind::NoOp, &tag, jobs).await?,
                    1 => self.raw_round(&tag, jobs).await?,
                    2 => self.hand_round(&tag, jobs).await?,
                    3 => self.worker_round(Kind::Llm, &tag, jobs).await?,
                    _ => self.llm_alone(jobs).await?,
                };
                figures[which].push(jobs as f64 / seconds);
            }
        }
        let [worker, raw, hand, llm_jobs, alone] = figures;
        let ratios: Vec<f64> = worker.iter().zip(&raw).map(|(w, r)| w / r).collect();
        let hand_ratios: Vec<f64> = hand.iter().zip(&raw).map(|(h, r)| h / r).collect();
        let over_hand: Vec<f64> = worker.iter().zip(&hand).map(|(w, h)| w / h).collect();
        let llm_ratios: Vec<f64> = llm_jobs.iter().zip(&raw).map(|(w, r)| w / r).collect();
        let worker_share: Vec<f64> = llm_jobs.iter().zip(&alone).map(|(w, a)| w / a).collect();

        let [worker_lat, raw_lat, call_lat, lookup_lat] =
            self.latency(self.settings.samples).await?;

        println!("| measure | worker | raw Redis | ratio | goal | result |");
        println!("|---|---:|---:|---:|---|---|");
        let ratio = median(&ratios);
        println!(
            "| no-op jobs/s, full path ÷ raw XADD/XREADGROUP/XACK | {:.0} jobs/s | {:.0} jobs/s | {ratio:.3} | ≥ 0.5 | {} |",
            median(&worker),
            median(&raw),
            if ratio >= 0.5 { "pass" } else { "FAIL" }
        );
        println!(
            "| the same no-op jobs done by hand (read, look up, save, notify + ack; no tasks) ÷ raw | {:.0} jobs/s | {:.0} jobs/s | {:.3} | — | — |",
            median(&hand),
            median(&raw),
            median(&hand_ratios),
        );
        println!(
            "| no-op jobs/s, full path ÷ done by hand | {:.0} jobs/s | {:.0} jobs/s (by hand) | {:.3} | — | — |",
            median(&worker),
            median(&hand),
            median(&over_hand),
        );
        println!(
            "| `agent` jobs/s with the fake LLM, full path ÷ raw | {:.0} jobs/s | {:.0} jobs/s | {:.3} | — | — |",
            median(&llm_jobs),
            median(&raw),
            median(&llm_ratios),
        );
        for (name, q) in [("p50", 50.0), ("p99", 99.0)] {
            let (w, r) = (percentile(&worker_lat, q), percentile(&raw_lat, q));
            println!(
                "| enqueue → start, {name} (worker: XADD → no-op runner called; raw: XADD → XREADGROUP returns) | {} | {} | {:.1} | — | — |",
                seconds(w),
                seconds(r),
                w / r
            );
        }
        println!();
        self.notes.push(format!(
            "throughput: {rounds} rounds of {jobs} jobs a contestant, the first contestant rotating; per-round no-op worker {} jobs/s, raw {} jobs/s, ratios {}",
            list(&worker, |v| format!("{v:.0}")),
            list(&raw, |v| format!("{v:.0}")),
            list(&ratios, |v| format!("{v:.3}")),
        ));
        self.notes.push(format!(
            "by hand: per round {} jobs/s, ratios to raw {}; the worker's no-op jobs ÷ by hand, per round {}",
            list(&hand, |v| format!("{v:.0}")),
            list(&hand_ratios, |v| format!("{v:.3}")),
            list(&over_hand, |v| format!("{v:.3}")),
        ));
        self.notes.push(format!(
            "`agent` jobs with the fake LLM: per round {} jobs/s, ratios to raw {}; the same {jobs} calls to the fake through the worker's `LlmClient` alone, {RAW_COUNT} at a time, with no Redis and no store: {:.0} calls/s (per round {}), i.e. {} a call against {} an `agent` job and {} a no-op job through the worker; `agent` jobs ÷ calls alone {:.3}",
            list(&llm_jobs, |v| format!("{v:.0}")),
            list(&llm_ratios, |v| format!("{v:.3}")),
            median(&alone),
            list(&alone, |v| format!("{v:.0}")),
            seconds(1.0 / median(&alone)),
            seconds(1.0 / median(&llm_jobs)),
            seconds(1.0 / median(&worker)),
            median(&worker_share),
        ));
        self.notes.push(format!(
            "latency: {} samples a side, the first of each four rotating, each with its reader blocked; worker min {} max {}, raw min {} max {}",
            worker_lat.len(),
            seconds(percentile(&worker_lat, 0.0)),
            seconds(percentile(&worker_lat, 100.0)),
            seconds(percentile(&raw_lat, 0.0)),
            seconds(percentile(&raw_lat, 100.0)),
        ));
        self.notes.push(format!(
            "where the worker's start time goes (p50 / p99, the same samples rotating with the two above): an LLM call alone, from `LlmClient::chat` until the fake has it, {} / {}; looking up one job's saved result in the store alone (what the reader does before starting a read's jobs), {} / {}",
            seconds(percentile(&call_lat, 50.0)),
            seconds(percentile(&call_lat, 99.0)),
            seconds(percentile(&lookup_lat, 50.0)),
            seconds(percentile(&lookup_lat, 99.0)),
        ));
        self.notes
            .push(format!("run took {:.1} s", started.elapsed().as_secs_f64()));
        for note in &self.notes {
            println!("- {note}");
        }
        Ok(())
    }

    /// `--noop-only`: a warm-up round, then the rounds of no-op jobs alone, and Redis's
    /// own time per job for each command it ran in them (`INFO commandstats`, reset
    /// after the warm-up; the bench's progress checks included).
    async fn noop_only(&mut self) -> Fallible<()> {
        let (jobs, rounds) = (self.settings.jobs, self.settings.rounds);
        self.worker_round(Kind::NoOp, "warm", jobs.min(500)).await?;
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut self.producer)
            .await?;
        let mut rates = Vec::new();
        for round in 0..rounds {
            let seconds = self
                .worker_round(Kind::NoOp, &format!("o{round}"), jobs)
                .await?;
            rates.push(jobs as f64 / seconds);
        }
        println!(
            "no-op jobs/s through the worker, {rounds} rounds of {jobs}: median {:.0} (per round {})",
            median(&rates),
            list(&rates, |v| format!("{v:.0}"))
        );
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.producer)
            .await?;
        let total = (jobs * rounds) as f64;
        println!("Redis's time per job, by command (calls per job):");
        for line in stats.lines() {
            let Some((name, fields)) = line
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let field = |key: &str| -> Option<f64> {
                fields
                    .split(',')
                    .find_map(|f| f.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            };
            if let (Some(calls), Some(usec)) = (field("calls"), field("usec")) {
                println!(
                    "- {name}: {:.2} µs ({:.3} calls)",
                    usec / total,
                    calls / total
                );
            }
        }
        Ok(())
    }

    /// XADDs `n` jobs of `kind` to the worker's stream for them and returns the
    /// seconds until all are notified and acknowledged.
    async fn worker_round(&mut self, kind: Kind, tag: &str, n: usize) -> Fallible<f64> {
        let calls_before = self.llm.call_count();
        let stream = match kind {
            Kind::NoOp => self.names.noop.clone(),
            Kind::Llm => self.names.jobs.clone(),
        };
        // Results are kept by jobId: each kind's rounds have ids of their own.
        let tag = match kind {
            Kind::NoOp => format!("noop-{tag}"),
            Kind::Llm => format!("llm-{tag}"),
        };
        let start = Instant::now();
        enqueue(&mut self.producer, &stream, &tag, n).await?;
        let deadline = start + LIMIT;
        loop {
            let (notified, pending) = self.progress(&stream).await?;
            if notified >= n as u64 && pending == 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the worker did {notified} of {n} jobs ({pending} pending) in {LIMIT:?}"
                )
                .into());
            }
            tokio::time::sleep(POLL).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let (notified, _) = self.progress(&stream).await?;
        let calls = self.llm.call_count() - calls_before;
        let expected = if kind == Kind::Llm { n } else { 0 };
        if notified != n as u64 || calls != expected {
            return Err(
                format!("{n} jobs gave {notified} notifications and {calls} LLM calls").into(),
            );
        }
        self.trim(&[&stream, &self.names.updates.clone()]).await?;
        Ok(elapsed)
    }

    /// Makes `n` calls to the fake LLM through an [`LlmClient`] like the worker's,
    /// [`RAW_COUNT`] at a time (a read's worth), and returns the seconds they took: the
    /// HTTP share of a job.
    async fn llm_alone(&mut self, n: usize) -> Fallible<f64> {
        let client = self.llm_client.clone();
        let calls_before = self.llm.call_count();
        let start = Instant::now();
        let mut calls = tokio::task::JoinSet::new();
        let room = std::sync::Arc::new(tokio::sync::Semaphore::new(RAW_COUNT));
        for i in 0..n {
            let client = client.clone();
            let turn = room.clone().acquire_owned().await?;
            calls.spawn(async move {
                let reply = client
                    .chat("trt-llm-agent", &format!("say ok {i}"), 128)
                    .await;
                drop(turn);
                reply
            });
        }
        while let Some(call) = calls.join_next().await {
            call??;
        }
        let elapsed = start.elapsed().as_secs_f64();
        if self.llm.call_count() - calls_before != n {
            return Err("the fake LLM did not get every call".into());
        }
        Ok(elapsed)
    }

    /// How many notifications there are and how many entries of `stream` are pending.
    async fn progress(&mut self, stream: &str) -> Fallible<(u64, u64)> {
        let (notified, (pending, ..)): (u64, (u64, redis::Value, redis::Value, redis::Value)) =
            redis::pipe()
                .cmd("XLEN")
                .arg(&self.names.updates)
                .cmd("XPENDING")
                .arg(stream)
                .arg(self.group)
                .query_async(&mut self.producer)
                .await?;
        Ok((notified, pending))
    }

    /// XADDs `n` jobs to the raw stream and returns the seconds until the raw loop has
    /// acknowledged them all.
    async fn raw_round(&mut self, tag: &str, n: usize) -> Fallible<f64> {
        let mut conn = self.raw_conn.clone();
        let (stream, group) = (self.names.raw.clone(), self.group.to_owned());
        let consumer = tokio::spawn(async move {
            let mut acked = 0;
            while acked < n {
                let entries = read_batch(&mut conn, &group, &stream).await?;
                let ids: Vec<&str> = entries.iter().map(|(_, e)| e.id.as_str()).collect();
                acked += xack(&mut conn, &stream, &group, &ids).await?;
            }
            Ok(Instant::now())
        });
        let stream = self.names.raw.clone();
        self.time_loop(consumer, &stream, tag, n, &[]).await
    }

    /// XADDs `n` jobs to the by-hand stream and returns the seconds until the by-hand
    /// loop (see the module's notes) has acknowledged them all.
    async fn hand_round(&mut self, tag: &str, n: usize) -> Fallible<f64> {
        let mut conn = self.raw_conn.clone();
        let store = self.hand_store.clone();
        let (stream, group) = (self.names.hand.clone(), self.group.to_owned());
        let updates = self.names.hand_updates.clone();
        let dead = format!("{stream}:dead");
        let consumer = tokio::spawn(async move {
            let mut acked = 0;
            while acked < n {
                let entries = read_batch(&mut conn, &group, &stream).await?;
                let mut jobs = Vec::with_capacity(entries.len());
                for (_, entry) in &entries {
                    let fields = bosun_worker::message::fields(&entry.map)?;
                    jobs.push((
                        JobMessage::parse(Role::Manager, &fields)?,
                        entry.id.as_str(),
                    ));
                }
                let ids: Vec<&str> = jobs.iter().map(|(j, _)| j.job_id.as_str()).collect();
                if !store.worker_results(&ids).await?.is_empty() {
                    return Err("a job of the by-hand loop was done before".into());
                }
                let rows: Vec<NewWorkerResult> = jobs
                    .iter()
                    .map(|(job, entry_id)| NewWorkerResult {
                        job_id: job.job_id.clone(),
                        role: Role::Manager,
                        stream: stream.clone(),
                        entry_id: (*entry_id).to_owned(),
                        workflow_id: job.workflow_id.clone(),
                        user_id: job.user_id.clone(),
                        project_id: job.project_id.clone(),
                        connection_id: job.connection_id.clone(),
                        succeeded: true,
                        output: String::new(),
                        consumer: RAW_CONSUMER.to_owned(),
                        attempts: 1,
                    })
                    .collect();
                let saved = store.save_worker_results(rows).await?;
                let mut notifications = Vec::with_capacity(jobs.len());
                for ((job, _), at) in jobs.iter().zip(&saved) {
                    let at = at.ok_or("a by-hand result was not saved")?;
                    notifications.push(vec![
                        ("MessageId", uuid::Uuid::now_v7().to_string()),
                        ("NodeId", job.job_id.clone()),
                        ("ProjectId", job.project_id.clone()),
                        ("UserId", job.user_id.clone()),
                        ("Type", "result".to_owned()),
                        ("Payload", String::new()),
                        ("Timestamp", at.to_rfc3339()),
                        ("JobId", job.job_id.clone()),
                        ("WorkflowId", job.workflow_id.clone()),
                        ("ConnectionId", job.connection_id.clone()),
                        ("Role", "manager".to_owned()),
                    ]);
                }
                let entries: Vec<streams::Settle<'_>> = jobs
                    .iter()
                    .zip(&notifications)
                    .map(|((_, id), notification)| streams::Settle {
                        stream: &stream,
                        id,
                        notification: Some(notification),
                        dead: None,
                        retried: false,
                    })
                    .collect();
                streams::settle(&mut conn, &group, &updates, &dead, 10_000, &entries).await?;
                acked += entries.len();
            }
            Ok(Instant::now())
        });
        let (stream, updates) = (self.names.hand.clone(), self.names.hand_updates.clone());
        // Results are kept by jobId: the by-hand rounds have ids of their own.
        let tag = format!("hand-{tag}");
        self.time_loop(consumer, &stream, &tag, n, &[&updates])
            .await
    }

    /// Lets `consumer`, a loop reading `stream`, block in its first read (as the
    /// worker's reader is), XADDs `n` jobs tagged `tag` to `stream`, and returns the
    /// seconds until the loop has acknowledged them all; then empties `stream` and
    /// `also`.
    async fn time_loop(
        &mut self,
        consumer: tokio::task::JoinHandle<Fallible<Instant>>,
        stream: &str,
        tag: &str,
        n: usize,
        also: &[&str],
    ) -> Fallible<f64> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = Instant::now();
        enqueue(&mut self.producer, stream, tag, n).await?;
        let end = consumer.await??;
        let elapsed = end.duration_since(start).as_secs_f64();
        let mut emptied = vec![stream];
        emptied.extend_from_slice(also);
        self.trim(&emptied).await?;
        Ok(elapsed)
    }

    /// Empties streams whose entries are all acknowledged; their groups stay.
    async fn trim(&mut self, streams: &[&str]) -> Fallible<()> {
        for stream in streams {
            let _: u64 = redis::cmd("XTRIM")
                .arg(stream)
                .arg("MAXLEN")
                .arg(0)
                .query_async(&mut self.producer)
                .await?;
        }
        Ok(())
    }

    /// `samples` enqueue-to-start latencies of each side (the worker's for a no-op
    /// job), with an LLM call until the fake has it and the worker's results lookup
    /// alone. The first of each four samples rotates.
    async fn latency(&mut self, samples: usize) -> Fallible<[Vec<f64>; 4]> {
        // The raw side: a reader blocked in XREADGROUP COUNT 1 that says when each
        // read returned, then acknowledges.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut conn = self.client.get_multiplexed_async_connection().await?;
        let (stream, group) = (self.names.raw.clone(), self.group.to_owned());
        let reader = tokio::spawn(async move {
            loop {
                let entries =
                    bosun_worker::streams::read(&mut conn, &group, RAW_CONSUMER, &[&stream], 1, 0)
                        .await;
                let returned = Instant::now();
                let Ok(entries) = entries else { return };
                for (_, entry) in entries {
                    let _: redis::RedisResult<u64> = redis::cmd("XACK")
                        .arg(&stream)
                        .arg(&group)
                        .arg(&entry.id)
                        .query_async(&mut conn)
                        .await;
                    if tx.send(returned).is_err() {
                        return;
                    }
                }
            }
        });
        let mut figures: [Vec<f64>; 4] = Default::default();
        let jobs = self.names.noop.clone();
        let raw_stream = self.names.raw.clone();
        for i in 0..samples * 4 {
            // Both readers are blocked again after the last sample.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let which = (i / 4 + i % 4) % 4;
            let seconds = match which {
                0 => {
                    let start = Instant::now();
                    enqueue(&mut self.producer, &jobs, &format!("lat{i}"), 1).await?;
                    let received = tokio::time::timeout(LIMIT, self.noop_started.recv())
                        .await?
                        .ok_or("the worker stopped")?;
                    // Idle again: notified and acknowledged.
                    let deadline = Instant::now() + LIMIT;
                    while self.progress(&jobs).await? != (1, 0) {
                        if Instant::now() > deadline {
                            return Err("a latency job was not finished in time".into());
                        }
                        tokio::time::sleep(POLL).await;
                    }
                    self.trim(&[&jobs, &self.names.updates.clone()]).await?;
                    received.duration_since(start)
                }
                1 => {
                    let start = Instant::now();
                    enqueue(&mut self.producer, &raw_stream, &format!("lat{i}"), 1).await?;
                    let returned = tokio::time::timeout(LIMIT, rx.recv())
                        .await?
                        .ok_or("the raw reader stopped")?;
                    returned.duration_since(start)
                }
                2 => {
                    let before = self.llm.call_count();
                    let start = Instant::now();
                    self.llm_client
                        .chat("trt-llm-agent", &format!("lat{i}"), 128)
                        .await?;
                    self.received(before).await?.duration_since(start)
                }
                _ => {
                    let start = Instant::now();
                    let found = self.store.worker_results(&[&format!("lat{i}")]).await?;
                    let elapsed = start.elapsed();
                    if !found.is_empty() {
                        return Err("a lookup found a result that was never saved".into());
                    }
                    elapsed
                }
            };
            figures[which].push(seconds.as_secs_f64());
        }
        reader.abort();
        Ok(figures)
    }

    /// When the fake LLM received its call number `n` (from 0), once it has.
    async fn received(&self, n: usize) -> Fallible<Instant> {
        tokio::time::timeout(LIMIT, self.llm.wait_for_calls(n + 1)).await?;
        Ok(self
            .llm
            .call(n)
            .ok_or("the fake LLM lost a call it counted")?
            .received)
    }
}

// ------------------------------------------------------------------ limits

/// `--limits`' runner, for every role: sleeps its job's length, and counts the most
/// jobs it had at once.
struct Sleep {
    length: Duration,
    running: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JobRunner for Sleep {
    fn run<'a>(&'a self, _job: &'a JobMessage, _stop: &'a CancellationToken) -> JobFuture<'a> {
        use std::sync::atomic::Ordering::SeqCst;
        Box::pin(async move {
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.peak.fetch_max(now, SeqCst);
            tokio::time::sleep(self.length).await;
            self.running.fetch_sub(1, SeqCst);
            Ok(String::new())
        })
    }
}

/// `--limits`: for each total limit and each spread of the work, a worker of its own
/// (every role enabled, every runner a [`Sleep`] of `length`), rounds of `jobs` a slot
/// XADDed at once; jobs/s against `N / length`.
async fn limits(settings: &Settings, length: Duration) -> Fallible<()> {
    const TOTALS: [usize; 3] = [1, 2, 4];
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url())?;
    let mut producer = client.get_multiplexed_async_connection().await?;
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(scratch)?;
    let dir = tempfile::tempdir_in(scratch)?;
    let database_url = format!("sqlite://{}", dir.path().join("results.db").display());
    println!(
        "| MAX_TOTAL | work on | jobs a round | jobs/s (median) | N / L | ratio (goal ≥ 0.9) | per round | most at once |"
    );
    println!("|---:|---|---:|---:|---:|---:|---|---:|");
    let mut worst = f64::INFINITY;
    for total in TOTALS {
        for all_roles in [false, true] {
            let case = format!(
                "{}c{total}{}:",
                redis.namespace(),
                if all_roles { "all" } else { "one" }
            );
            let mut config = WorkerConfig::new(redis.url(), &database_url, dir.path());
            for role in Role::ALL {
                let stream = &mut config.role_mut(role).stream;
                *stream = format!("{case}{stream}");
            }
            config.updates = format!("{case}signalr:updates");
            config.dead_letter = format!("{case}jobs:dead");
            config.group = format!("{case}{GROUP}");
            config.max_total = total;
            let streams: Vec<String> = if all_roles {
                Role::ALL
                    .iter()
                    .map(|r| config.role(*r).stream.clone())
                    .collect()
            } else {
                vec![config.role(Role::Agent).stream.clone()]
            };
            let updates = config.updates.clone();
            let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let shutdown = CancellationToken::new();
            let mut worker = bosun_worker::start(config, &shutdown).await?;
            for role in Role::ALL {
                let sleep = Sleep {
                    length,
                    running: running.clone(),
                    peak: peak.clone(),
                };
                worker = worker.with_runner(role, sleep);
            }
            let worker_task = tokio::spawn(worker.run(shutdown.clone()));
            wait_for_blocked(&mut producer, 1).await?;
            let n = settings.jobs * total;
            let mut rates = Vec::new();
            for round in 0..settings.rounds {
                // The reader blocked again after the round before.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let start = Instant::now();
                enqueue_over(&mut producer, &streams, &format!("{case}r{round}"), n).await?;
                let deadline = start + LIMIT;
                loop {
                    let notified: usize = redis::cmd("XLEN")
                        .arg(&updates)
                        .query_async(&mut producer)
                        .await?;
                    if notified >= n * (round + 1) {
                        break;
                    }
                    if Instant::now() > deadline {
                        return Err(format!(
                            "MAX_TOTAL={total}: a round was not done in {LIMIT:?}"
                        )
                        .into());
                    }
                    tokio::time::sleep(POLL).await;
                }
                rates.push(n as f64 / start.elapsed().as_secs_f64());
            }
            shutdown.cancel();
            worker_task.await?;
            let ideal = total as f64 / length.as_secs_f64();
            let ratios: Vec<f64> = rates.iter().map(|r| r / ideal).collect();
            worst = worst.min(median(&ratios));
            println!(
                "| {total} | {} | {n} | {:.1} | {ideal:.1} | {:.3} | {} | {} |",
                if all_roles {
                    "all five roles"
                } else {
                    "`agent` only"
                },
                median(&rates),
                median(&ratios),
                list(&ratios, |v| format!("{v:.3}")),
                peak.load(std::sync::atomic::Ordering::SeqCst),
            );
        }
    }
    println!();
    println!(
        "- {} ({}); every role enabled, block 5 s; jobs of {} ms; {} rounds a case, {} jobs a slot; worst median ratio {worst:.3}: {}",
        redis.url(),
        redis_version(&mut producer).await?,
        length.as_millis(),
        settings.rounds,
        settings.jobs,
        if worst >= 0.9 { "pass" } else { "FAIL" }
    );
    Ok(())
}

/// XADDs `n` jobs like [`enqueue`]'s, the `i`th to `streams[i % streams.len()]`, in
/// one pipeline.
async fn enqueue_over(
    conn: &mut MultiplexedConnection,
    streams: &[String],
    tag: &str,
    n: usize,
) -> Fallible<()> {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("XADD")
            .arg(&streams[i % streams.len()])
            .arg("*")
            .arg("jobId")
            .arg(format!("{tag}-{i}"))
            .arg("task")
            .arg("sleep")
            .ignore();
    }
    pipe.query_async::<()>(conn).await?;
    Ok(())
}

/// XADDs `n` job entries (seed 003's fields, a short task) to `stream`, in pipelines.
async fn enqueue(
    conn: &mut MultiplexedConnection,
    stream: &str,
    tag: &str,
    n: usize,
) -> Fallible<()> {
    for first in (0..n).step_by(ENQUEUE_BATCH) {
        let mut pipe = redis::pipe();
        for i in first..(first + ENQUEUE_BATCH).min(n) {
            pipe.cmd("XADD")
                .arg(stream)
                .arg("*")
                .arg("jobId")
                .arg(format!("{tag}-{i}"))
                .arg("workflowId")
                .arg("wf-bench")
                .arg("userId")
                .arg("user-1")
                .arg("projectId")
                .arg("project-1")
                .arg("connectionId")
                .arg("conn-1")
                .arg("task")
                .arg("say ok")
                .arg("payload")
                .arg("{}")
                .ignore();
        }
        pipe.query_async::<()>(conn).await?;
    }
    Ok(())
}

/// One blocking `XREADGROUP COUNT 64` of `stream` as the baselines' consumer; an
/// error if nothing came for [`LIMIT`].
async fn read_batch(
    conn: &mut MultiplexedConnection,
    group: &str,
    stream: &str,
) -> Fallible<Vec<(String, redis::streams::StreamId)>> {
    let block_ms = LIMIT.as_millis() as u64;
    let entries =
        bosun_worker::streams::read(conn, group, RAW_CONSUMER, &[stream], RAW_COUNT, block_ms)
            .await?;
    if entries.is_empty() {
        return Err(format!("nothing came on {stream} for {LIMIT:?}").into());
    }
    Ok(entries)
}

/// Acknowledges `ids` of `stream` in one `XACK`; how many.
async fn xack(
    conn: &mut MultiplexedConnection,
    stream: &str,
    group: &str,
    ids: &[&str],
) -> Fallible<usize> {
    let acked: u64 = redis::cmd("XACK")
        .arg(stream)
        .arg(group)
        .arg(ids)
        .query_async(conn)
        .await?;
    Ok(usize::try_from(acked)?)
}

/// Waits until `blocked` clients of the server wait in a blocking command: the worker
/// made its group and its reader is blocked in `XREADGROUP`.
async fn wait_for_blocked(conn: &mut MultiplexedConnection, blocked: u64) -> Fallible<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query_async(conn).await?;
        let now = info
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if now >= blocked {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the worker did not start reading within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn redis_version(conn: &mut MultiplexedConnection) -> Fallible<String> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| format!("Redis {}", v.trim()))
        .unwrap_or_else(|| "Redis, version unknown".to_owned()))
}

// ------------------------------------------------------------------ figures
