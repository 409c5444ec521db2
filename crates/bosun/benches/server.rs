//! What the server costs on top of the bare supervisor, and how much memory it holds.
//!
//! Runs the real binary as `bosun up` in a child process (its own data directory, a
//! free port, the admin token from `client.json`) and talks HTTP to it, as a user's
//! client would. Each ratio is taken within one run: the API side and the bare side
//! run in rounds, their order alternating, and the ratio is the median of the
//! per-round ratios.
//!
//! - (a) Trigger-to-process-start latency, p50 and p99: from sending
//!   `POST /api/jobs/{job}/run` to the job's program running, against calling
//!   `bosun_exec::run` in this process. Both sides observe the start the same way: the
//!   program is `/bin/date +%s%N`, which prints the wall clock as it starts.
//!   Goal: bare ÷ API ≥ 0.5.
//! - (b) Sustained executions/s: 10,000 `/bin/true` jobs submitted through the API as
//!   fast as it accepts them, timed until all have ended, against the bare supervisor
//!   loop (`bosun_exec::run`, the same concurrency as the server's `--max-concurrent`,
//!   two log files per job). Goal: API ÷ bare ≥ 0.5.
//! - (c) The server's resident memory, idle after start and with 100,000 history rows
//!   after a client has listed and run things. Goal: ≤ 40 MiB.
//! - (d) A 50 MiB package uploaded and downloaded through the server (embedded
//!   storage), against a plain copy of the same file. Goal: copy ÷ API ≥ 0.8 each way.
//!   And the server's peak resident memory after a 100 MiB upload: ≤ 60 MiB (uploads
//!   are streamed, never held whole).
//! - (e) Trigger-to-process-start latency of a Python bot, p50 and p99: on a remote
//!   agent (a `bosun agent` child process on the hub, triggered with
//!   `POST /default/api/executions/trigger`) against the server's local runner
//!   (`POST /api/jobs/{job}/run`), the same package, its start seen the same way.
//!   Goal: agent ÷ local ≤ 1.5.
//! - (f) 1,000 agents connected to the hub from this process, each invoking
//!   `KeepAlive` every second: the server's CPU over a window, as a share of one
//!   core, and its resident memory. Goals: < 10 % and ≤ 100 MiB.
//! - (g) The dashboard with 100,000 history rows (written as in (c)) against an
//!   identical server with none: the time of opening its overview and its
//!   executions page, every request the browser makes one after another, p50 and
//!   p99. Goal: < 300 ms with the rows. Then 20 pages held open, each with its live
//!   feed: the server's resident memory they add, and its CPU over an idle window
//!   against the same window with none open. Goals: ≤ 5 MiB, and no more CPU than
//!   the clock's resolution can tell apart.
//!
//! `cargo bench -p bosun --bench server [-- --quick] [--only a,b,c,d,e,f,g]`; see
//! [`settings::USAGE`]. docs/PERFORMANCE.md explains the figures and records a run.

// A crate root finds its modules beside it; these live in server/.
#[path = "server/api.rs"]
mod api;
#[path = "server/dashboard.rs"]
mod dashboard;
#[path = "server/figures.rs"]
mod figures;
#[path = "server/fleet.rs"]
mod fleet;
#[path = "server/latency.rs"]
mod latency;
#[path = "server/memory.rs"]
mod memory;
#[path = "server/packages.rs"]
mod packages;
#[path = "server/process.rs"]
mod process;
#[path = "server/remote.rs"]
mod remote;
#[path = "server/settings.rs"]
mod settings;
#[path = "server/throughput.rs"]
mod throughput;

use bosun_test_utils::bench::{self, Run};

use crate::api::Api;
use crate::dashboard::Page;
use crate::figures::{Goal, Row, list, median, mib, per_round, percentile, print_table, seconds};
use crate::latency::Sample;
use crate::process::{AgentProcess, ServerProcess, UpFlags};
use crate::remote::Side;
use crate::settings::{Settings, USAGE};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Fallible<T> = Result<T, Error>;

/// The goal of (c).
const MEMORY_GOAL_MIB: f64 = 40.0;

/// The goal of (d)'s memory.
const UPLOAD_MEMORY_GOAL_MIB: f64 = 60.0;

/// The goal of (e): agent ÷ local.
const REMOTE_GOAL: f64 = 1.5;

/// The goals of (f): the server's CPU, in % of one core, and its memory.
const FLEET_CPU_GOAL_PERCENT: f64 = 10.0;
const FLEET_MEMORY_GOAL_MIB: f64 = 100.0;

/// The goals of (g): a page open with the long history, in seconds; the memory open
/// pages add; their feeds' idle CPU above none open, in % of one core: three of
/// `/proc`'s clock ticks in a 30 s window, about what two reads of it can tell apart.
const PAGE_OPEN_GOAL_SECONDS: f64 = 0.3;
const OPEN_PAGES_MEMORY_GOAL_MIB: f64 = 5.0;
const OPEN_PAGES_CPU_MARGIN_PERCENT: f64 = 0.1;

fn main() {
    let parsed = Settings::from_args(std::env::args().skip(1));
    let settings = bench::settings_or_exit("server bench", USAGE, parsed);
    // (f) holds a thousand sockets on each side: the servers inherit this limit.
    if let Err(e) = raise_open_files() {
        eprintln!("server bench: {e}");
        std::process::exit(1);
    }
    bench::exit_if_failed(
        "server bench",
        Bench::new(&settings).and_then(|bench| bench.run()),
    );
}

/// Raises this process's soft limit of open files to its hard limit.
fn raise_open_files() -> Fallible<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
        .map_err(|e| format!("raising the limit of open files to {hard}: {e}"))?;
    Ok(())
}

/// Runs `work` as a task on one of the runtime's workers, as the `bosun` binary runs
/// its commands, rather than on the thread that called `block_on`.
pub(crate) async fn on_worker<T: Send + 'static>(
    work: impl Future<Output = Fallible<T>> + Send + 'static,
) -> Fallible<T> {
    tokio::spawn(work).await?
}

/// One run of the benchmark: its runtime, scratch directory and findings.
struct Bench<'a> {
    settings: &'a Settings,
    run: Run<Row>,
}

impl<'a> Bench<'a> {
    fn new(settings: &'a Settings) -> Fallible<Self> {
        let run = Run::new(&settings.scratch)?;
        Ok(Self { settings, run })
    }

    fn run(mut self) -> Fallible<()> {
        self.run.note(format!(
            "scratch directory: {}; server: {} up, {} CPUs",
            self.run.scratch.path().display(),
            env!("CARGO_BIN_EXE_bosun"),
            std::thread::available_parallelism().map_or(0, usize::from)
        ));
        if self.settings.parts.wants('a') {
            self.latency()?;
        }
        if self.settings.parts.wants('b') {
            self.throughput()?;
        }
        if self.settings.parts.wants('c') {
            self.memory()?;
        }
        if self.settings.parts.wants('d') {
            self.packages()?;
        }
        if self.settings.parts.wants('e') {
            self.remote()?;
        }
        if self.settings.parts.wants('f') {
            self.fleet()?;
        }
        if self.settings.parts.wants('g') {
            self.dashboard()?;
        }
        self.run.report(print_table);
        Ok(())
    }

    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Fallible<T>> + Send + 'static,
    ) -> Fallible<T> {
        self.run.runtime.block_on(on_worker(work))
    }

    // ---------------------------------------------------------- (a) latency

    /// (a): trigger-to-process-start latency through the API against the bare
    /// supervisor, one trigger at a time.
    fn latency(&mut self) -> Fallible<()> {
        let (rounds, n) = (self.settings.latency_rounds, self.settings.samples);
        const WARM: usize = 10;
        let flags = UpFlags {
            max_concurrent: self.settings.max_concurrent,
            history_limit: self
                .settings
                .history_limit
                .unwrap_or(((rounds + 1) * n + WARM + 100) as i64),
            more: Vec::new(),
        };
        let server = ServerProcess::start(&self.run.dir("a-server"), &flags)?;
        let api = Api::new(&server.url, &server.token);
        let bare_dir = self.run.dir("a-bare");
        let setup = api.clone();
        self.block(async move { setup.create_job(&latency::definition()).await })?;
        // Warm-up: the server's caches and connections, the page cache, both sides.
        self.block(latency::through_api(api.clone(), WARM))?;
        self.block(latency::bare(bare_dir.join("warm"), WARM))?;

        let (mut through_api, mut bare) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for step in 0..2 {
                if (round + step) % 2 == 0 {
                    through_api.push(self.block(latency::through_api(api.clone(), n))?);
                } else {
                    let dir = bare_dir.join(round.to_string());
                    bare.push(self.block(latency::bare(dir, n))?);
                }
            }
        }
        server.stop()?;

        let of = |rounds: &[Vec<Sample>], p: f64, pick: fn(&Sample) -> f64| -> Vec<f64> {
            rounds
                .iter()
                .map(|samples| percentile(&samples.iter().map(pick).collect::<Vec<_>>(), p))
                .collect()
        };
        let start = |s: &Sample| s.start;
        for p in [50.0, 99.0] {
            let (api_p, bare_p) = (of(&through_api, p, start), of(&bare, p, start));
            let ratios = per_round(&bare_p, &api_p, |bare, api| bare / api);
            self.run.note(format!(
                "(a) p{p}: rounds {rounds} of {n} triggers each side; per round, API {}; \
                 bare {}; ratios {}",
                list(&api_p, seconds),
                list(&bare_p, seconds),
                list(&ratios, |r| format!("{r:.2}"))
            ));
            self.run.rows.push(Row {
                measure: format!("(a) trigger → process start, p{p} (bare ÷ API)"),
                bosun: seconds(median(&api_p)),
                baseline: seconds(median(&bare_p)),
                figure: median(&ratios),
                goal: Goal::AtLeast(0.5),
            });
        }
        // Where the time goes, as medians of per-round medians.
        let step = |s: &Sample| s.step;
        let rest = |s: &Sample| s.start - s.step;
        let m = |rounds: &[Vec<Sample>], pick: fn(&Sample) -> f64| median(&of(rounds, 50.0, pick));
        self.run.note(format!(
            "(a) where the time goes (medians of per-round medians): API: request sent → 202 \
             received {}, 202 → the program's stamp {}; bare: `run` called → `on_start` (the \
             spawn returned) {}, `on_start` → the program's stamp {} (the exec of the program, \
             on both sides)",
            seconds(m(&through_api, step)),
            seconds(m(&through_api, rest)),
            seconds(m(&bare, step)),
            seconds(m(&bare, rest))
        ));
        Ok(())
    }

    // --------------------------------------------------------- (d) packages

    /// (d): a package's upload and download through the server against a plain copy,
    /// then the server's peak memory after a large upload.
    fn packages(&mut self) -> Fallible<()> {
        let rounds = self.settings.throughput_rounds;
        let (mib_each, big_mib) = (self.settings.package_mib, self.settings.big_package_mib);
        let dir = self.run.dir("d");
        let zip = packages::make_package(&dir, mib_each)?;
        let size = std::fs::metadata(&zip)?.len();
        let flags = UpFlags {
            max_concurrent: self.settings.max_concurrent,
            history_limit: 100,
            more: vec![
                "--package-upload-limit".to_owned(),
                format!("{}MiB", big_mib + 16),
            ],
        };
        let server = ServerProcess::start(&self.run.dir("d-server"), &flags)?;
        let http = reqwest::Client::new();
        let (url, token) = (server.url.clone(), server.token.clone());
        let up = |version: String| {
            packages::upload(
                http.clone(),
                url.clone(),
                token.clone(),
                zip.clone(),
                version,
            )
        };
        let down = |version: String, to: std::path::PathBuf| {
            packages::download(http.clone(), url.clone(), token.clone(), version, to, size)
        };
        // Warm-up: the server's first upload and link, the page cache.
        self.block(up("warm".to_owned()))?;
        self.block(down("warm".to_owned(), dir.join("warm.zip")))?;
        packages::copy(&zip, &dir.join("warm-copy.zip"))?;

        let (mut api_up, mut api_down, mut copy_up, mut copy_down) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            for step in 0..2 {
                if (round + step) % 2 == 0 {
                    let version = format!("1.0.{round}");
                    api_up.push(self.block(up(version.clone()))?);
                    let to = dir.join(format!("down-{round}.zip"));
                    api_down.push(self.block(down(version, to.clone()))?);
                    std::fs::remove_file(to)?;
                } else {
                    let (copied, again) = (
                        dir.join(format!("copy-{round}.zip")),
                        dir.join(format!("copy-again-{round}.zip")),
                    );
                    copy_up.push(packages::copy(&zip, &copied)?);
                    copy_down.push(packages::copy(&copied, &again)?);
                    std::fs::remove_file(copied)?;
                    std::fs::remove_file(again)?;
                }
            }
        }
        let size_mib = size as f64 / (1024.0 * 1024.0);
        let rate = |s: f64| format!("{:.0} MiB/s", size_mib / s);
        for (way, api, copy) in [
            ("upload", &api_up, &copy_up),
            ("download", &api_down, &copy_down),
        ] {
            let ratios = per_round(copy, api, |copy, api| copy / api);
            self.run.note(format!(
                "(d) {way}: {rounds} rounds of a {size_mib:.1} MiB package; per round, API {}; \
                 copy {}; ratios {}",
                list(api, rate),
                list(copy, rate),
                list(&ratios, |r| format!("{r:.2}"))
            ));
            self.run.rows.push(Row {
                measure: format!("(d) {size_mib:.0} MiB package {way} (copy ÷ API)"),
                bosun: rate(median(api)),
                baseline: rate(median(copy)),
                figure: median(&ratios),
                goal: Goal::AtLeast(0.8),
            });
        }

        let big = packages::make_package(&dir, big_mib)?;
        let big_size = std::fs::metadata(&big)?.len();
        self.block(packages::upload(
            http.clone(),
            url.clone(),
            token.clone(),
            big,
            "big".to_owned(),
        ))?;
        let memory = server.memory()?;
        server.stop()?;
        self.run.rows.push(Row {
            measure: format!(
                "(d) server memory, peak, after a {:.0} MiB upload",
                big_size as f64 / (1024.0 * 1024.0)
            ),
            bosun: mib(memory.peak as f64),
            baseline: "–".to_owned(),
            figure: memory.peak as f64,
            goal: Goal::AtMostMib(UPLOAD_MEMORY_GOAL_MIB),
        });
        Ok(())
    }

    // ------------------------------------------------------- (b) throughput

    /// (b): `/bin/true` executions/s through the API against the bare supervisor
    /// loop, both `max_concurrent` at once.
    fn throughput(&mut self) -> Fallible<()> {
        let (rounds, n) = (self.settings.throughput_rounds, self.settings.jobs);
        let (concurrency, submitters) = (self.settings.max_concurrent, self.settings.submitters);
        const WARM: usize = 20;
        let flags = UpFlags {
            max_concurrent: concurrency,
            history_limit: self
                .settings
                .history_limit
                .unwrap_or((n + WARM + 100) as i64),
            more: Vec::new(),
        };
        self.block(throughput::bare(
            self.run.dir("b-bare/warm"),
            WARM,
            concurrency,
        ))?;
        let (mut through_api, mut bare) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for step in 0..2 {
                if (round + step) % 2 == 0 {
                    // A new server each round, so that every round starts alike.
                    let server =
                        ServerProcess::start(&self.run.dir(&format!("b-server-{round}")), &flags)?;
                    let api = Api::new(&server.url, &server.token);
                    let warm = api.clone();
                    self.block(async move {
                        warm.create_job(&throughput::definition()).await?;
                        throughput::through_api(warm, WARM, submitters).await
                    })?;
                    through_api.push(self.block(throughput::through_api(api, n, submitters))?);
                    server.stop()?;
                } else {
                    let dir = self.run.dir(&format!("b-bare/{round}"));
                    bare.push(self.block(throughput::bare(dir, n, concurrency))?);
                }
            }
        }
        let rates: Vec<f64> = through_api.iter().map(|r| r.rate).collect();
        let ratios = per_round(&rates, &bare, |api, bare| api / bare);
        self.run.note(format!(
            "(b) rounds: {rounds} of {n} jobs each side, {concurrency} at once, {submitters} run \
             requests in flight; per round, API {}; bare {}; ratios {}",
            list(&rates, |r| format!("{r:.0}/s")),
            list(&bare, |r| format!("{r:.0}/s")),
            list(&ratios, |r| format!("{r:.2}"))
        ));
        self.run.note(format!(
            "(b) API side per round: run requests accepted {}; executions/s by the server's own \
             record (first request → latest `endTime`) {}; executions checked CompletedSuccessfully \
             in the history {} (server --history-limit {})",
            list(&through_api.iter().map(|r| r.accepted).collect::<Vec<_>>(), |r| {
                format!("{r:.0}/s")
            }),
            list(&through_api.iter().map(|r| r.recorded).collect::<Vec<_>>(), |r| {
                format!("{r:.0}/s")
            }),
            list(&through_api.iter().map(|r| r.checked as f64).collect::<Vec<_>>(), |r| {
                format!("{r:.0}")
            }),
            flags.history_limit
        ));
        self.run.rows.push(Row {
            measure: format!(
                "(b) `/bin/true` executions/s, {n} jobs, {concurrency} at once (API ÷ bare)"
            ),
            bosun: format!("{:.0}/s", median(&rates)),
            baseline: format!("{:.0}/s", median(&bare)),
            figure: median(&ratios),
            goal: Goal::AtLeast(0.5),
        });
        Ok(())
    }

    // ----------------------------------------------------------- (c) memory

    /// (c): the server's resident memory, idle and with a large history.
    fn memory(&mut self) -> Fallible<()> {
        let rows = self.settings.rows;
        let home = self.run.dir("c-server");
        let found = memory::measure(&self.run.runtime, &home, rows, self.settings.max_concurrent)?;
        self.run.note(format!(
            "(c) history of {rows} finished executions written through bosun_store in {} \
             (database and WAL {}); server RSS right after the restart with them {}, after \
             the client listed all {} in pages of 1000 {}, after the rest of the exercise {}",
            seconds(found.fill_seconds),
            mib(found.database_bytes as f64),
            mib(found.loaded_start.rss as f64),
            found.listed,
            mib(found.listed_all.rss as f64),
            mib(found.exercised.rss as f64),
        ));
        let memory_row = |measure: String, bytes: u64| Row {
            measure,
            bosun: mib(bytes as f64),
            baseline: "–".to_owned(),
            figure: bytes as f64,
            goal: Goal::AtMostMib(MEMORY_GOAL_MIB),
        };
        self.run.rows.push(memory_row(
            "(c) server RSS, idle after the first start".to_owned(),
            found.idle.rss,
        ));
        self.run.rows.push(memory_row(
            format!("(c) server RSS with {rows} history rows, after listing and runs"),
            found.exercised.rss,
        ));
        self.run.rows.push(memory_row(
            format!("(c) server peak RSS (VmHWM) with {rows} history rows"),
            found.exercised.peak,
        ));
        Ok(())
    }

    // --------------------------------------------------------- (e) remote

    /// (e): a Python bot's trigger-to-start latency on a remote agent against the
    /// server's local runner, one trigger at a time.
    fn remote(&mut self) -> Fallible<()> {
        let (rounds, n) = (self.settings.latency_rounds, self.settings.bot_samples);
        const WARM: usize = 5;
        let flags = UpFlags {
            max_concurrent: self.settings.max_concurrent,
            history_limit: self
                .settings
                .history_limit
                .unwrap_or((2 * (rounds * n + WARM) + 100) as i64),
            more: vec!["--no-example".to_owned()],
        };
        let server = ServerProcess::start(&self.run.dir("e-server"), &flags)?;
        let api = Api::new(&server.url, &server.token);
        let dir = self.run.dir("e");
        let setup = api.clone();
        let (agent_id, key) = self.block(async move { remote::prepare(setup, &dir).await })?;
        let mut agent = AgentProcess::start(
            &format!("{}/default", server.url),
            &key,
            &self.run.dir("e-agent"),
        )?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            agent.check_running()?;
            let status = self.block(remote::agent_status(api.clone(), agent_id.clone()))?;
            if status == "Available" {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("the agent is still {status} a minute after its start").into());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let sample = |side: Side, n: usize| remote::samples(api.clone(), side, agent_id.clone(), n);
        // Warm-up: each side builds its environment (the agent downloads the package).
        self.block(sample(Side::Local, WARM))?;
        self.block(sample(Side::Agent, WARM))?;

        let (mut local, mut on_agent) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for step in 0..2 {
                if (round + step) % 2 == 0 {
                    on_agent.push(self.block(sample(Side::Agent, n))?);
                } else {
                    local.push(self.block(sample(Side::Local, n))?);
                }
            }
        }
        agent.stop()?;
        server.stop()?;

        let of = |rounds: &[Vec<Sample>], p: f64, pick: fn(&Sample) -> f64| -> Vec<f64> {
            rounds
                .iter()
                .map(|samples| percentile(&samples.iter().map(pick).collect::<Vec<_>>(), p))
                .collect()
        };
        let start = |s: &Sample| s.start;
        for p in [50.0, 99.0] {
            let (agent_p, local_p) = (of(&on_agent, p, start), of(&local, p, start));
            let ratios = per_round(&agent_p, &local_p, |agent, local| agent / local);
            self.run.note(format!(
                "(e) p{p}: rounds {rounds} of {n} bot starts each side; per round, agent {}; \
                 local {}; ratios {}",
                list(&agent_p, seconds),
                list(&local_p, seconds),
                list(&ratios, |r| format!("{r:.2}"))
            ));
            self.run.rows.push(Row {
                measure: format!("(e) bot trigger → start, p{p}, agent (agent ÷ local)"),
                bosun: seconds(median(&agent_p)),
                baseline: seconds(median(&local_p)),
                figure: median(&ratios),
                goal: Goal::AtMost(REMOTE_GOAL),
            });
        }
        let step = |s: &Sample| s.step;
        let rest = |s: &Sample| s.start - s.step;
        let m = |rounds: &[Vec<Sample>], pick: fn(&Sample) -> f64| median(&of(rounds, 50.0, pick));
        self.run.note(format!(
            "(e) where the time goes (medians of per-round medians): agent: trigger sent → 200 \
             received {}, 200 → the bot's stamp {}; local: run request sent → 202 received {}, \
             202 → the bot's stamp {}",
            seconds(m(&on_agent, step)),
            seconds(m(&on_agent, rest)),
            seconds(m(&local, step)),
            seconds(m(&local, rest))
        ));
        Ok(())
    }

    // ---------------------------------------------------------- (f) fleet

    /// (f): the server's CPU and memory while a thousand agents send keep-alives.
    fn fleet(&mut self) -> Fallible<()> {
        use std::sync::Arc;
        use std::sync::atomic::Ordering;
        use std::time::{Duration, Instant};

        let (n, window) = (self.settings.agents, self.settings.window_secs);
        let flags = UpFlags {
            max_concurrent: self.settings.max_concurrent,
            history_limit: 100,
            more: vec!["--no-example".to_owned()],
        };
        let server = ServerProcess::start(&self.run.dir("f-server"), &flags)?;
        let api = Api::new(&server.url, &server.token);
        let made = Instant::now();
        let keys = self.block(fleet::create_agents(api.clone(), n))?;
        let create_seconds = made.elapsed().as_secs_f64();

        let counters = Arc::new(fleet::Counters::default());
        let stop = tokio_util::sync::CancellationToken::new();
        let connecting = Instant::now();
        let tasks = self.block(fleet::connect_all(
            server.url.clone(),
            keys,
            counters.clone(),
            stop.clone(),
        ))?;
        let connect_seconds = connecting.elapsed().as_secs_f64();
        // Settle: every connection's keep-alives under way, the connections' own
        // writes to the store done.
        std::thread::sleep(Duration::from_secs(3));
        counters.check()?;
        let idle_before = server.memory()?;

        let (server_cpu, own_cpu) = (
            server.cpu_seconds()?,
            process::cpu_seconds("/proc/self/stat")?,
        );
        let answered = counters.answered.load(Ordering::SeqCst);
        let window_start = tokio::time::Instant::now();
        std::thread::sleep(Duration::from_secs(window as u64));
        let window_end = tokio::time::Instant::now();
        let elapsed = (window_end - window_start).as_secs_f64();
        let server_cpu = server.cpu_seconds()? - server_cpu;
        let own_cpu = process::cpu_seconds("/proc/self/stat")? - own_cpu;
        let answered = counters.answered.load(Ordering::SeqCst) - answered;
        let memory = server.memory()?;
        counters.check()?;
        let available = self.block(fleet::available(api.clone()))?;
        if available != n {
            return Err(format!(
                "the server records {available} of the {n} connected agents Available"
            )
            .into());
        }
        stop.cancel();
        for task in tasks {
            self.run.runtime.block_on(task)?;
        }
        server.stop()?;

        let round_trips: Vec<f64> = counters
            .round_trips
            .lock()
            .expect("never poisoned")
            .iter()
            .filter(|(at, _)| (window_start..window_end).contains(at))
            .map(|(_, rtt)| *rtt)
            .collect();
        let percent = 100.0 * server_cpu / elapsed;
        self.run.note(format!(
            "(f) {n} agents created in {}, connected (negotiate, WebSocket, handshake, \
             SendStatusUpdate; {} at once) in {}; the server's RSS 3 s later {}; over the {:.1} s \
             window: server CPU {:.2} s ({percent:.2} % of a core), this process (the {n} \
             clients) {:.2} s ({:.1} %); KeepAlive calls answered {answered} ({:.0}/s, \
             expected {}/s), round trip p50 {}, p99 {}; every connection open and every agent \
             recorded Available at the end",
            seconds(create_seconds),
            fleet::AT_ONCE,
            seconds(connect_seconds),
            mib(idle_before.rss as f64),
            elapsed,
            server_cpu,
            own_cpu,
            100.0 * own_cpu / elapsed,
            answered as f64 / elapsed,
            n,
            seconds(percentile(&round_trips, 50.0)),
            seconds(percentile(&round_trips, 99.0)),
        ));
        self.run.rows.push(Row {
            measure: format!("(f) server CPU, {n} agents' keep-alives each second"),
            bosun: format!("{percent:.2} % of a core"),
            baseline: "–".to_owned(),
            figure: percent,
            goal: Goal::UnderPercent(FLEET_CPU_GOAL_PERCENT),
        });
        let memory_row = |measure: String, bytes: u64| Row {
            measure,
            bosun: mib(bytes as f64),
            baseline: "–".to_owned(),
            figure: bytes as f64,
            goal: Goal::AtMostMib(FLEET_MEMORY_GOAL_MIB),
        };
        self.run.rows.push(memory_row(
            format!("(f) server RSS with {n} agents connected, end of the window"),
            memory.rss,
        ));
        self.run.rows.push(memory_row(
            format!("(f) server peak RSS (VmHWM) with {n} agents"),
            memory.peak,
        ));
        Ok(())
    }

    // ------------------------------------------------------- (g) dashboard

    /// (g): the dashboard's pages opened with a long history against an empty one,
    /// then what open pages with their live feeds cost the idle server.
    fn dashboard(&mut self) -> Fallible<()> {
        use std::time::{Duration, Instant};

        let (rounds, n, rows) = (
            self.settings.latency_rounds,
            self.settings.opens,
            self.settings.rows,
        );
        let (pages, window) = (self.settings.pages, self.settings.window_secs);
        const WARM: usize = 5;
        let flags = UpFlags {
            max_concurrent: self.settings.max_concurrent,
            history_limit: (rows + 100) as i64,
            more: Vec::new(),
        };
        let home = self.run.dir("g-loaded");
        let first = ServerProcess::start(&home, &flags)?;
        let written = memory::write_history(&self.run.runtime, first, &home, rows)?;
        let loaded = ServerProcess::start(&home, &flags)?;
        let empty = ServerProcess::start(&self.run.dir("g-empty"), &flags)?;
        let setup = Api::new(&empty.url, &empty.token);
        self.block(async move { setup.create_job(&throughput::definition()).await })?;
        let (loaded_page, empty_page) = (
            Page::new(&loaded.url, &loaded.token),
            Page::new(&empty.url, &empty.token),
        );
        // Warm-up: each server's caches, the connections, the page cache.
        self.block(dashboard::opens(loaded_page.clone(), WARM))?;
        self.block(dashboard::opens(empty_page.clone(), WARM))?;

        let (mut with_rows, mut without) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for step in 0..2 {
                if (round + step) % 2 == 0 {
                    with_rows.push(self.block(dashboard::opens(loaded_page.clone(), n))?);
                } else {
                    without.push(self.block(dashboard::opens(empty_page.clone(), n))?);
                }
            }
        }
        empty.stop()?;
        self.run.note(format!(
            "(g) history of {rows} finished executions written through bosun_store in {} \
             (database and WAL {}); rounds {rounds} of {n} opens of each page a side",
            seconds(written.seconds),
            mib(written.database_bytes as f64),
        ));
        type Pick = fn(&dashboard::Opens) -> &Vec<f64>;
        let pages_opened: [(&str, &str, Pick); 2] = [
            ("overview", "overview open", |o| &o.overview),
            ("executions", "executions page (first, next, Failed)", |o| {
                &o.executions
            }),
        ];
        for (short, name, pick) in pages_opened {
            for p in [50.0, 99.0] {
                let of = |side: &[dashboard::Opens]| -> Vec<f64> {
                    side.iter().map(|o| percentile(pick(o), p)).collect()
                };
                let (loaded_p, empty_p) = (of(&with_rows), of(&without));
                let ratios = per_round(&loaded_p, &empty_p, |loaded, empty| loaded / empty);
                self.run.note(format!(
                    "(g) {short} p{p}: per round, {rows} rows {}; empty {}; ratios {}",
                    list(&loaded_p, seconds),
                    list(&empty_p, seconds),
                    list(&ratios, |r| format!("{r:.2}"))
                ));
                self.run.rows.push(Row {
                    measure: format!("(g) {name} with {rows} rows, p{p} (÷ empty)"),
                    bosun: seconds(median(&loaded_p)),
                    baseline: seconds(median(&empty_p)),
                    figure: median(&loaded_p),
                    goal: Goal::UnderSeconds {
                        limit: PAGE_OPEN_GOAL_SECONDS,
                        ratio: median(&ratios),
                    },
                });
            }
        }
        // Where the time goes: each request's median over all rounds, both sides.
        let by_request = |side: &[dashboard::Opens]| -> Vec<(&'static str, f64)> {
            let mut all: Vec<(&'static str, Vec<f64>)> = Vec::new();
            for opens in side {
                for (route, times) in &opens.requests {
                    match all.iter_mut().find(|(r, _)| r == route) {
                        Some((_, seen)) => seen.extend(times),
                        None => all.push((route, times.clone())),
                    }
                }
            }
            all.into_iter().map(|(r, t)| (r, median(&t))).collect()
        };
        let empty_requests = by_request(&without);
        let requests: Vec<String> = by_request(&with_rows)
            .into_iter()
            .map(|(route, loaded)| {
                let empty = empty_requests
                    .iter()
                    .find(|(r, _)| *r == route)
                    .map_or(f64::NAN, |(_, t)| *t);
                format!("`{route}` {} / {}", seconds(loaded), seconds(empty))
            })
            .collect();
        self.run.note(format!(
            "(g) each request's median, {rows} rows / empty: {}",
            requests.join(", ")
        ));

        // Open pages, on the idle server with the rows.
        let settle = Duration::from_secs(1);
        let window = Duration::from_secs(window as u64);
        std::thread::sleep(settle);
        let idle_window = |server: &ServerProcess| -> Fallible<f64> {
            let (cpu, started) = (server.cpu_seconds()?, Instant::now());
            std::thread::sleep(window);
            let used = server.cpu_seconds()? - cpu;
            Ok(100.0 * used / started.elapsed().as_secs_f64())
        };
        let none_open = idle_window(&loaded)?;
        let (before, cpu_before) = (loaded.memory()?, loaded.cpu_seconds()?);
        let close = tokio_util::sync::CancellationToken::new();
        let (open_pages, feeds) = self.block(dashboard::open_pages(
            loaded.url.clone(),
            loaded.token.clone(),
            pages,
            close.clone(),
        ))?;
        std::thread::sleep(settle);
        let (after, cpu_opening) = (loaded.memory()?, loaded.cpu_seconds()? - cpu_before);
        let with_feeds = idle_window(&loaded)?;
        close.cancel();
        let mut read = dashboard::FeedRead::default();
        for feed in feeds {
            let got = self.run.runtime.block_on(feed.closed())?;
            read.comments += got.comments;
            read.events += got.events;
        }
        drop(open_pages);
        // The server still answers, on new connections.
        self.block(dashboard::opens(Page::new(&loaded.url, &loaded.token), 1))?;
        loaded.stop()?;

        let added = after.rss as f64 - before.rss as f64;
        self.run.note(format!(
            "(g) {pages} open pages: server RSS {} before, {} 1 s after opening them (each \
             its overview, its feed, the re-read), peak {}; opening them took {:.2} s of \
             the server's CPU; over {:.0} s windows its CPU was {none_open:.3} % of a core \
             with none open, {with_feeds:.3} % with the {pages} feeds; the feeds brought \
             {} keep-alive comments and {} events; after closing them the server answered \
             a page open",
            mib(before.rss as f64),
            mib(after.rss as f64),
            mib(after.peak as f64),
            cpu_opening,
            window.as_secs_f64(),
            read.comments,
            read.events,
        ));
        self.run.rows.push(Row {
            measure: format!("(g) server RSS added by {pages} open pages"),
            bosun: mib(added),
            baseline: "–".to_owned(),
            figure: added,
            goal: Goal::AtMostMib(OPEN_PAGES_MEMORY_GOAL_MIB),
        });
        self.run.rows.push(Row {
            measure: format!("(g) server CPU, idle, {pages} pages' feeds, above none open"),
            bosun: format!("{with_feeds:.3} % of a core"),
            baseline: format!("{none_open:.3} % of a core"),
            figure: with_feeds - none_open,
            goal: Goal::AbovePercent(OPEN_PAGES_CPU_MARGIN_PERCENT),
        });
        Ok(())
    }
}
