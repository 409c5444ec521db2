//! What `bosun worker`'s full path costs, against the raw Redis Streams ceiling of the
//! same `redis-server` in the same run.
//!
//! - Throughput: N no-op `agent` jobs (the LLM is an in-bench fake that answers at
//!   once) are XADDed to `jobs:agent` while an idle in-process worker
//!   ([`bosun_worker::start`] + [`bosun_worker::Worker::run`], SQLite results store in
//!   a temporary directory) reads them. The clock runs from the first XADD until all N
//!   notifications are on `signalr:updates` and no entry is pending: every job was
//!   read, run (one HTTP call to the fake), saved, notified and acknowledged. The
//!   baseline XADDs the same N entries, from the same producer, to a stream of the same
//!   server, where a plain loop reads them with `XREADGROUP COUNT 64` (the worker's
//!   batch with no limits) and acknowledges each batch with one `XACK`: no store, no
//!   LLM, no notification. Goal: worker ≥ 0.5 × raw.
//! - Enqueue-to-start latency: with the worker idle (its read blocked), one job is
//!   XADDed at a time, and the clock runs until the fake LLM has the call (the runner
//!   started). The baseline is the time from XADD until a blocked `XREADGROUP COUNT 1`
//!   returns.
//!
//! To say where the worker's time goes, the throughput rounds also time the same number
//! of calls to the fake through the worker's [`LlmClient`] alone (64 at a time), and the
//! latency samples also time one such call until the fake has it, and the worker's
//! results lookup ([`bosun_store::Store::worker_results`]) alone. The first contestant
//! of each round (each group of samples) rotates; a ratio is the median of the
//! per-round ratios.
//!
//! `cargo bench -p bosun-worker --bench worker [-- --quick] [--jobs N]`; see [`USAGE`].
//! docs/PERFORMANCE.md explains the figures and records a run.

use std::error::Error;
use std::time::{Duration, Instant};

use bosun_test_utils::fake_llm::FakeLlm;
use bosun_test_utils::redis_server::RedisServer;
use bosun_test_utils::stats::{list, median, percentile, seconds};
use bosun_worker::{LlmClient, Role, WorkerConfig};
use redis::aio::MultiplexedConnection;
use tokio_util::sync::CancellationToken;

type Fallible<T> = Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "usage: cargo bench -p bosun-worker --bench worker -- \
[--quick] [--jobs N] [--rounds N] [--samples N]
  --quick        3 rounds of 300 jobs, 40 latency samples: a smoke run, not figures to quote
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
        tokio::spawn(async move { run(&settings).await.map_err(|e| e.to_string()) }).await
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
}

impl Settings {
    fn from_args(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut settings = Self {
            rounds: 7,
            jobs: 2000,
            samples: 200,
        };
        let (mut jobs, mut rounds, mut samples) = (None, None, None);
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
                    }
                }
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
        Ok(Some(settings))
    }
}

// ------------------------------------------------------------------- bench

/// The streams of one run; on a server of the bench's own these are the default names.
struct Names {
    jobs: String,
    updates: String,
    raw: String,
}

async fn run(settings: &Settings) -> Fallible<()> {
    let redis = RedisServer::start();
    let ns = redis.namespace().to_owned();
    let names = Names {
        jobs: format!("{ns}{}", Role::Agent.default_stream()),
        updates: format!("{ns}signalr:updates"),
        raw: format!("{ns}bench:raw"),
    };
    let llm = FakeLlm::start().await;
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(scratch)?;
    let dir = tempfile::tempdir_in(scratch)?;
    let database_url = format!("sqlite://{}", dir.path().join("results.db").display());

    let mut config = WorkerConfig::new(redis.url(), &database_url, dir.path());
    for role in Role::ALL {
        config.role_mut(role).enabled = role == Role::Agent;
    }
    config.role_mut(Role::Agent).stream = names.jobs.clone();
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
    let worker = bosun_worker::start(config, &shutdown).await?;
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));
    wait_for_blocked(&mut producer, 1).await?;
    let _: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&names.raw)
        .arg(&group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut producer)
        .await;
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
        notes: Vec::new(),
    };
    bench.notes.push(format!(
        "redis-server: {} ({}); worker: `agent` role only, limits 0 (reads COUNT {RAW_COUNT}), \
         SQLite results store {}",
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
    notes: Vec<String>,
}

impl Bench<'_> {
    async fn measure(&mut self) -> Fallible<()> {
        let started = Instant::now();
        let (jobs, rounds) = (self.settings.jobs, self.settings.rounds);
        // One untimed round of each first: connections, the fake's HTTP pool, the
        // SQLite file and Redis's allocations warm up.
        self.worker_round("warm", jobs.min(500)).await?;
        self.raw_round("warm", jobs.min(500)).await?;

        self.llm_alone(jobs.min(500)).await?;

        // Three contestants; the first of each round rotates.
        let mut figures = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..rounds {
            let tag = format!("r{round}");
            for step in 0..3 {
                let which = (round + step) % 3;
                let seconds = match which {
                    0 => self.worker_round(&tag, jobs).await?,
                    1 => self.raw_round(&tag, jobs).await?,
                    _ => self.llm_alone(jobs).await?,
                };
                figures[which].push(jobs as f64 / seconds);
            }
        }
        let [worker, raw, alone] = figures;
        let ratios: Vec<f64> = worker.iter().zip(&raw).map(|(w, r)| w / r).collect();
        let worker_share: Vec<f64> = worker.iter().zip(&alone).map(|(w, a)| w / a).collect();

        let [worker_lat, raw_lat, call_lat, lookup_lat] =
            self.latency(self.settings.samples).await?;

        println!("| measure | worker | raw Redis | ratio | goal | result |");
        println!("|---|---:|---:|---:|---|---|");
        let ratio = median(&ratios);
        println!(
            "| no-op `agent` jobs/s, full path ÷ raw XADD/XREADGROUP/XACK | {:.0} jobs/s | {:.0} jobs/s | {ratio:.3} | ≥ 0.5 | {} |",
            median(&worker),
            median(&raw),
            if ratio >= 0.5 { "pass" } else { "FAIL" }
        );
        for (name, q) in [("p50", 50.0), ("p99", 99.0)] {
            let (w, r) = (percentile(&worker_lat, q), percentile(&raw_lat, q));
            println!(
                "| enqueue → start, {name} (worker: XADD → LLM call received; raw: XADD → XREADGROUP returns) | {} | {} | {:.1} | — | — |",
                seconds(w),
                seconds(r),
                w / r
            );
        }
        println!();
        self.notes.push(format!(
            "throughput: {rounds} rounds of {jobs} jobs a side, the first contestant rotating; per-round worker {} jobs/s, raw {} jobs/s, ratios {}",
            list(&worker, |v| format!("{v:.0}")),
            list(&raw, |v| format!("{v:.0}")),
            list(&ratios, |v| format!("{v:.3}")),
        ));
        self.notes.push(format!(
            "where the worker's time goes: the same {jobs} calls to the fake LLM through the worker's `LlmClient` alone, {RAW_COUNT} at a time, with no Redis and no store: {:.0} calls/s (per round {}), i.e. {} a call against {} a job through the worker; worker ÷ calls alone {:.3} (median of per-round ratios)",
            median(&alone),
            list(&alone, |v| format!("{v:.0}")),
            seconds(1.0 / median(&alone)),
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

    /// XADDs `n` jobs to the worker's stream and returns the seconds until all are
    /// notified and acknowledged.
    async fn worker_round(&mut self, tag: &str, n: usize) -> Fallible<f64> {
        let calls_before = self.llm.call_count();
        let stream = self.names.jobs.clone();
        let start = Instant::now();
        enqueue(&mut self.producer, &stream, tag, n).await?;
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
        if notified != n as u64 || calls != n {
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
                let entries = bosun_worker::streams::read(
                    &mut conn,
                    &group,
                    RAW_CONSUMER,
                    &[stream.as_str()],
                    RAW_COUNT,
                    LIMIT.as_millis() as u64,
                )
                .await?;
                if entries.is_empty() {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::Io,
                        "the raw loop read nothing for too long",
                    )));
                }
                let ids: Vec<&str> = entries.iter().map(|(_, e)| e.id.as_str()).collect();
                let _: u64 = redis::cmd("XACK")
                    .arg(&stream)
                    .arg(&group)
                    .arg(&ids)
                    .query_async(&mut conn)
                    .await?;
                acked += ids.len();
            }
            Ok(Instant::now())
        });
        // Let the loop block in its first read, as the worker's reader is.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stream = self.names.raw.clone();
        let start = Instant::now();
        enqueue(&mut self.producer, &stream, tag, n).await?;
        let end = consumer.await??;
        let elapsed = end.duration_since(start).as_secs_f64();
        self.trim(&[&stream]).await?;
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

    /// `samples` enqueue-to-start latencies of each side, with two parts of the
    /// worker's alone: an LLM call until the fake has it, and the results lookup. The
    /// first of each four samples rotates.
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
        let jobs = self.names.jobs.clone();
        let raw_stream = self.names.raw.clone();
        for i in 0..samples * 4 {
            // Both readers are blocked again after the last sample.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let which = (i / 4 + i % 4) % 4;
            let seconds = match which {
                0 => {
                    let before = self.llm.call_count();
                    let start = Instant::now();
                    enqueue(&mut self.producer, &jobs, &format!("lat{i}"), 1).await?;
                    let received = self.received(before).await?;
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
