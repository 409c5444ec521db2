//! What bosun's supervision costs, against doing the same thing by hand.
//!
//! Each measure is a ratio taken within one run: bosun and its baseline run in
//! rounds, the order rotating every round, so that drift in the machine's speed hits
//! both alike; each ratio is the median of the per-round ratios.
//!
//! - (a) `/bin/true` jobs per second through [`bosun_exec::run`] (own process group,
//!   output pumped into two real log files, group teardown), one after another,
//!   against a bare `std::process::Command::status()` loop: the cost of supervising
//!   a job that does nothing. Goal: bosun ≥ 0.8 × bare. To say where bosun's extra
//!   time goes, the same rounds also time a tokio child (async wait), a tokio child
//!   with both outputs piped and read, and creating the log files alone.
//! - (b) Starting a Python bot whose environment is ready: `ensure` plus the
//!   supervised run of a `bot.py` that prints one line ([`run_bot`], what `bosun run`
//!   does), against running the script bare, both with the venv's interpreter (bosun's
//!   own overhead) and with the base `python3` (the literal alternative). Goal: bosun
//!   ≤ 1.15 × bare.
//! - (c) A first run with requirements into a brand-new venvs directory, against
//!   `python -m venv DIR && DIR/bin/pip install -r requirements.txt`; and the rerun on
//!   the ready environment against the same baseline. Goals: ≥ 5× and ≥ 50× faster.
//!
//! `cargo bench -p bosun-exec --bench executor [-- --quick] [--only a,b,c]`; see
//! [`USAGE`]. docs/PERFORMANCE.md explains the figures and records a run.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use bosun_core::JobSpec;
use bosun_exec::bot::{Bot, EnvChoice, run_bot};
use bosun_exec::python::{Installer, PythonEnvs, Requirements};
use bosun_exec::{Outcome, RunOptions, RunReport, run};
use bosun_test_utils::bench::{self, Parts, Run};
use bosun_test_utils::stats::{list, median, per_round, seconds};

/// The bench's parts (see the module documentation).
const PARTS: [char; 3] = ['a', 'b', 'c'];
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

type Fallible<T> = Result<T, Box<dyn Error>>;

/// The packages of (c): small, pure Python, pinned.
const REQUIREMENTS: &str = "six==1.16.0\ntomli==2.0.1\n";

/// The file bosun writes last into a finished environment; it names the installer.
const READY_MARKER: &str = ".bosun-ready";

const USAGE: &str = "usage: cargo bench -p bosun-exec --bench executor -- \
[--quick] [--only a,b,c] [--python PATH] [--scratch DIR]
  --quick        fewer rounds and iterations: a smoke run, not figures to quote
  --only LIST    the parts to run (also BOSUN_BENCH_ONLY): a = /bin/true jobs/s,
                 b = bot start on a ready environment, c = environment builds
  --python PATH  the base interpreter of (b) and (c), on both sides [default: the
                 file `python3` on PATH runs, so that a pyenv shim is not timed]
  --scratch DIR  where logs, bots and venvs are made, inside a temporary directory
                 removed at the end [default: cargo's target/tmp]";

fn main() {
    let parsed = Settings::from_args(std::env::args().skip(1));
    let settings = bench::settings_or_exit("executor bench", USAGE, parsed);
    bench::exit_if_failed(
        "executor bench",
        Bench::new(&settings).and_then(|bench| bench.run()),
    );
}

// ---------------------------------------------------------------- settings

/// What to run and how much of it.
struct Settings {
    parts: Parts,
    rounds: usize,
    true_jobs: usize,
    bot_starts: usize,
    install_rounds: usize,
    cached_ensures: usize,
    python: Option<PathBuf>,
    scratch: PathBuf,
}

impl Settings {
    /// The settings the arguments ask for; `None` when they ask for help.
    fn from_args(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut settings = Self::full();
        let mut only = std::env::var("BOSUN_BENCH_ONLY").ok();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
            match arg.as_str() {
                // cargo bench passes --bench to every harness = false target.
                "--bench" => {}
                "--quick" => settings = settings.quick(),
                "--only" => only = Some(value("--only")?),
                "--python" => settings.python = Some(value("--python")?.into()),
                "--scratch" => settings.scratch = value("--scratch")?.into(),
                "-h" | "--help" => return Ok(None),
                other => match other.strip_prefix("--only=") {
                    Some(list) => only = Some(list.to_owned()),
                    None => return Err(format!("unknown argument {other:?}")),
                },
            }
        }
        if let Some(list) = only {
            settings.parts = Parts::parse(&list, &PARTS)?;
        }
        Ok(Some(settings))
    }

    fn full() -> Self {
        Self {
            parts: Parts::all(&PARTS),
            rounds: 7,
            true_jobs: 300,
            bot_starts: 40,
            install_rounds: 3,
            cached_ensures: 20,
            python: None,
            scratch: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        }
    }

    fn quick(self) -> Self {
        Self {
            rounds: 3,
            true_jobs: 50,
            bot_starts: 5,
            install_rounds: 1,
            cached_ensures: 5,
            ..self
        }
    }
}

// ------------------------------------------------------------------- bench

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
            "scratch directory: {}",
            self.run.scratch.path().display()
        ));
        if self.settings.parts.wants('a') {
            self.true_jobs()?;
        }
        if self.settings.parts.wants('b') || self.settings.parts.wants('c') {
            let python = Interpreter::find(self.settings.python.as_deref())?;
            self.run.note(format!("interpreter: {}", python.describe()));
            if self.settings.parts.wants('b') {
                self.bot_start(&python)?;
            }
            if self.settings.parts.wants('c') {
                self.env_builds(&python.path)?;
            }
        }
        self.run.report(print_table);
        Ok(())
    }

    // ------------------------------------------------------------ (a) /bin/true

    /// (a): `/bin/true` jobs/s through the supervisor against a bare `status()` loop.
    ///
    /// Three more contestants in the same rounds say where bosun's extra time goes:
    /// an async child (tokio's `status().await`), an async child with piped output
    /// read to the end (what bosun's supervisor is built on), and creating the log
    /// files alone.
    fn true_jobs(&mut self) -> Fallible<()> {
        let (n, rounds) = (self.settings.true_jobs, self.settings.rounds);
        let logs = self.run.dir("true");
        let runtime = &self.run.runtime;
        // Warm-up: page cache, the runtime's threads, the allocator.
        supervised_true(runtime, &logs.join("warm"), 20)?;
        bare_true(20)?;
        let figures = interleave(
            rounds,
            &mut [
                Box::new(|round| supervised_true(runtime, &logs.join(round.to_string()), n)),
                Box::new(|_| bare_true(n)),
                Box::new(|_| async_true(runtime, n, Output::Inherited)),
                Box::new(|_| async_true(runtime, n, Output::Piped)),
                Box::new(|round| log_files_alone(&logs.join(format!("files-{round}")), n)),
            ],
        )?;
        let [bosun, bare, waited, piped, files] =
            <[Vec<f64>; 5]>::try_from(figures).expect("interleave returns one list per contestant");
        let ratios = per_round(&bosun, &bare, |bosun, bare| bosun / bare);
        self.run.note(format!(
            "(a) rounds: {rounds}, of {n} jobs each side; per-round ratios {}",
            list(&ratios, |r| format!("{r:.2}"))
        ));
        self.run
            .note(time_breakdown(&bosun, &bare, &waited, &piped, &files));
        self.run.rows.push(Row {
            measure: "(a) `/bin/true` jobs/s, sequential (bosun ÷ bare)".to_owned(),
            bosun: format!("{:.0} jobs/s", median(&bosun)),
            baseline: format!("{:.0} jobs/s", median(&bare)),
            ratio: median(&ratios),
            goal: Goal::AtLeast(0.8),
        });
        Ok(())
    }

    // --------------------------------------------------------- (b) bot start

    /// (b): a bot's start on a ready environment against running its script bare.
    fn bot_start(&mut self, python: &Interpreter) -> Fallible<()> {
        let (n, rounds) = (self.settings.bot_starts, self.settings.rounds);
        let dir = self.run.dir("hello-bot");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("bot.py"), "print('hello from the bot')\n")?;
        let bot = Bot::locate(&dir)?;
        let envs = python_envs(&self.run.dir("venvs-b"), &python.path);
        let built = Instant::now();
        let env = self
            .run
            .runtime
            .block_on(envs.ensure(&Requirements::None))?;
        self.run.note(format!(
            "(b) the environment (no requirements) is built once before timing, in {}",
            seconds(built.elapsed().as_secs_f64())
        ));
        let logs = self.run.dir("bot-logs");
        let runtime = &self.run.runtime;
        // Warm-up, which also checks that every side works.
        supervised_bot(runtime, &bot, &envs, &logs.join("warm"), 2)?;
        bare_bot(&env.python, &dir, 2)?;
        bare_bot(&python.path, &dir, 2)?;
        let figures = interleave(
            rounds,
            &mut [
                Box::new(|round| {
                    supervised_bot(runtime, &bot, &envs, &logs.join(round.to_string()), n)
                }),
                Box::new(|_| bare_bot(&env.python, &dir, n)),
                Box::new(|_| bare_bot(&python.path, &dir, n)),
                Box::new(|_| ensure_alone(runtime, &envs, n)),
                Box::new(|round| log_files_alone(&logs.join(format!("files-{round}")), n)),
            ],
        )?;
        let [bosun, venv, base, ensure, files] =
            <[Vec<f64>; 5]>::try_from(figures).expect("interleave returns one list per contestant");
        let venv_ratios = per_round(&bosun, &venv, |bosun, bare| bosun / bare);
        let base_ratios = per_round(&bosun, &base, |bosun, bare| bosun / bare);
        self.run.note(format!(
            "(b) rounds: {rounds}, of {n} starts each side; per-round ratios against the \
             venv's python {}, against the base python {}",
            list(&venv_ratios, |r| format!("{r:.3}")),
            list(&base_ratios, |r| format!("{r:.3}"))
        ));
        let extra = per_round(&bosun, &venv, |bosun, bare| bosun - bare);
        let rest: Vec<f64> = (0..extra.len())
            .map(|i| extra[i] - ensure[i] - files[i])
            .collect();
        self.run.note(format!(
            "(b) where bosun's extra {} per start goes (medians of per-round figures): \
             `ensure` on the ready environment {}, creating the two log files {} (per \
             round: {}), the rest (supervising the run) {}",
            seconds(median(&extra)),
            seconds(median(&ensure)),
            seconds(median(&files)),
            list(&files, seconds),
            seconds(median(&rest))
        ));
        if !python.site_hooks.is_empty() {
            self.run.note(format!(
                "(b) the base interpreter's site-packages has .pth files ({}) that run at \
                 every start; a venv without system site-packages skips them, which is the \
                 gap between the two (b) baselines",
                python.site_hooks.join(", ")
            ));
        }
        self.run.rows.push(Row {
            measure: "(b) bot start, env ready: `ensure` + supervised run ÷ \
                      `venv/bin/python bot.py`"
                .to_owned(),
            bosun: seconds(median(&bosun)),
            baseline: seconds(median(&venv)),
            ratio: median(&venv_ratios),
            goal: Goal::AtMost(1.15),
        });
        self.run.rows.push(Row {
            measure: "(b) the same ÷ `python3 bot.py` (base interpreter)".to_owned(),
            bosun: seconds(median(&bosun)),
            baseline: seconds(median(&base)),
            ratio: median(&base_ratios),
            goal: Goal::AtMost(1.15),
        });
        Ok(())
    }

    // -------------------------------------------------- (c) environment builds

    /// (c): building an environment with requirements into an empty venvs directory,
    /// and the rerun on the ready environment, against `python -m venv` + `pip install`.
    fn env_builds(&mut self, python: &Path) -> Fallible<()> {
        let (rounds, reruns) = (self.settings.install_rounds, self.settings.cached_ensures);
        let file = self.run.dir("requirements.txt");
        std::fs::write(&file, REQUIREMENTS)?;
        let requirements = Requirements::File(file.clone());
        let work = self.run.dir("builds");
        let runtime = &self.run.runtime;
        // Warm-up: fills uv's and pip's own download and wheel caches, so that every
        // timed round starts alike: bosun's venvs directory empty, both installers'
        // caches warm.
        let warm = build_and_rerun(runtime, &work.join("warm"), python, &requirements, 1)?;
        baseline_venv(python, &work.join("warm-baseline"), &file)?;

        let mut cached = Vec::new();
        let figures = interleave(
            rounds,
            &mut [
                Box::new(|round| {
                    let venvs = work.join(format!("venvs-{round}"));
                    let built = build_and_rerun(runtime, &venvs, python, &requirements, reruns)?;
                    cached.push(built.rerun);
                    Ok(built.first)
                }),
                Box::new(|round| baseline_venv(python, &work.join(format!("pip-{round}")), &file)),
            ],
        )?;
        let [first, baseline] =
            <[Vec<f64>; 2]>::try_from(figures).expect("interleave returns one list per contestant");
        let speedup = |bosun: &[f64]| per_round(bosun, &baseline, |bosun, bare| bare / bosun);
        let (first_speedups, rerun_speedups) = (speedup(&first), speedup(&cached));
        self.run.note(format!(
            "(c) Installer::Auto built with {} ({})",
            warm.installer, warm.tool_version
        ));
        self.run.note(format!(
            "(c) rounds: {rounds}; packages {}; per-round speed-ups: first run {}, rerun {} \
             (each rerun figure the mean of {reruns} `ensure` calls)",
            REQUIREMENTS.trim().replace('\n', ", "),
            list(&first_speedups, |r| format!("{r:.1}")),
            list(&rerun_speedups, |r| format!("{r:.0}"))
        ));
        self.run.note(
            "(c) bosun's venvs directory is new in every round; uv's and pip's own caches \
             are warm on both sides (one untimed build each first), so neither downloads"
                .to_owned(),
        );
        self.run.rows.push(Row {
            measure: "(c) first run with requirements, new venvs dir (baseline ÷ bosun)".to_owned(),
            bosun: seconds(median(&first)),
            baseline: seconds(median(&baseline)),
            ratio: median(&first_speedups),
            goal: Goal::AtLeast(5.0),
        });
        self.run.rows.push(Row {
            measure: "(c) rerun, environment ready (baseline ÷ bosun)".to_owned(),
            bosun: seconds(median(&cached)),
            baseline: seconds(median(&baseline)),
            ratio: median(&rerun_speedups),
            goal: Goal::AtLeast(50.0),
        });
        Ok(())
    }
}

// ------------------------------------------------------- the timed work: (a)

/// Runs `/bin/true` `n` times through [`run`], each with its own pair of log files in
/// `dir`, and returns jobs per second.
fn supervised_true(runtime: &Runtime, dir: &Path, n: usize) -> Fallible<f64> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.to_owned();
    let start = Instant::now();
    runtime.block_on(on_worker(async move {
        let job = JobSpec::new("/bin/true", vec![]);
        let cancel = CancellationToken::new();
        for i in 0..n {
            let (out, err) = log_pair(&dir, i);
            expect_success(&run(&job, &RunOptions::new(out, err), &cancel).await)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }))?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Runs `work` as a task on one of the runtime's workers, as the `bosun` binary runs
/// its commands, rather than on the thread that called `block_on`.
async fn on_worker<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Fallible<T> {
    Ok(tokio::spawn(work).await??)
}

/// Runs `/bin/true` `n` times with `Command::status()` and returns jobs per second.
fn bare_true(n: usize) -> Fallible<f64> {
    let start = Instant::now();
    for _ in 0..n {
        let status = Command::new("/bin/true").status()?;
        if !status.success() {
            return Err(format!("/bin/true ended with {status}").into());
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// How a child of [`async_true`] is given its output.
#[derive(Clone, Copy)]
enum Output {
    /// Inherited from the bench, as in [`bare_true`].
    Inherited,
    /// Two pipes, each read to the end by its own task: the parts bosun's supervisor
    /// is built from (bosun reads both in the future that waits for the child).
    Piped,
}

/// Runs `/bin/true` `n` times as a tokio child and returns the mean seconds per job.
fn async_true(runtime: &Runtime, n: usize, output: Output) -> Fallible<f64> {
    let start = Instant::now();
    runtime.block_on(on_worker(async move {
        for _ in 0..n {
            let mut command = tokio::process::Command::new("/bin/true");
            if let Output::Piped = output {
                command
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .process_group(0);
            }
            let mut child = command.spawn().map_err(|e| e.to_string())?;
            let readers = [
                child.stdout.take().map(drain),
                child.stderr.take().map(drain),
            ];
            let status = child.wait().await.map_err(|e| e.to_string())?;
            for reader in readers.into_iter().flatten() {
                reader
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            }
            if !status.success() {
                return Err(format!("/bin/true ended with {status}"));
            }
        }
        Ok(())
    }))?;
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

/// Reads `pipe` to its end in a task of its own.
fn drain(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<u64>> {
    tokio::spawn(async move { tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await })
}

/// Splits bosun's extra time per job in (a) into the medians of: an async wait
/// instead of a blocking one, piped output and its readers, the log files, and the
/// rest (bosun's own work). `bosun` and `bare` are jobs/s, the others seconds per job.
fn time_breakdown(
    bosun: &[f64],
    bare: &[f64],
    waited: &[f64],
    piped: &[f64],
    files: &[f64],
) -> String {
    let bare_time: Vec<f64> = bare.iter().map(|jobs| 1.0 / jobs).collect();
    let extra = per_round(bosun, bare, |bosun, bare| 1.0 / bosun - 1.0 / bare);
    let waiting = per_round(waited, &bare_time, |waited, bare| waited - bare);
    let piping = per_round(piped, waited, |piped, waited| piped - waited);
    let rest: Vec<f64> = (0..extra.len())
        .map(|i| extra[i] - (piped[i] - bare_time[i]) - files[i])
        .collect();
    format!(
        "(a) where bosun's extra {} per job goes (medians of per-round figures): \
         async wait instead of a blocking one {}, piped output and its readers {}, \
         creating the two log files {} (per round: {}), the rest {}",
        seconds(median(&extra)),
        seconds(median(&waiting)),
        seconds(median(&piping)),
        seconds(median(files)),
        list(files, seconds),
        seconds(median(&rest))
    )
}

/// Creates the two log files of `n` jobs in `dir`, as [`run`] does while each starts,
/// and returns the mean seconds per job: the filesystem's share of bosun's cost.
fn log_files_alone(dir: &Path, n: usize) -> Fallible<f64> {
    std::fs::create_dir_all(dir)?;
    let start = Instant::now();
    for i in 0..n {
        let (out, err) = log_pair(dir, i);
        std::fs::File::create(out)?;
        std::fs::File::create(err)?;
    }
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

fn log_pair(dir: &Path, i: usize) -> (PathBuf, PathBuf) {
    (dir.join(format!("{i}.out")), dir.join(format!("{i}.err")))
}

// ------------------------------------------------------- the timed work: (b)

/// Starts `bot` `n` times the way `bosun run` does ([`run_bot`] on the cached
/// environment) and returns the mean seconds per start.
fn supervised_bot(
    runtime: &Runtime,
    bot: &Bot,
    envs: &PythonEnvs,
    logs: &Path,
    n: usize,
) -> Fallible<f64> {
    let cancel = CancellationToken::new();
    let start = Instant::now();
    runtime.block_on(async {
        for i in 0..n {
            let (out, err) = log_pair(logs, i);
            let options = RunOptions::new(out, err);
            let cached = &EnvChoice::Cached;
            let report = run_bot(bot, &[], envs, cached, |_| {}, &options, &cancel).await?;
            expect_success(&report)?;
            if report.stdout.bytes == 0 {
                return Err("the bot printed nothing".into());
            }
        }
        Ok::<_, Box<dyn Error>>(())
    })?;
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

/// Calls `ensure` for no requirements `n` times on its ready environment and returns
/// the mean seconds per call.
fn ensure_alone(runtime: &Runtime, envs: &PythonEnvs, n: usize) -> Fallible<f64> {
    let start = Instant::now();
    runtime.block_on(async {
        for _ in 0..n {
            if !envs.ensure(&Requirements::None).await?.reused {
                return Err("the environment was rebuilt, not reused".into());
            }
        }
        Ok::<_, Box<dyn Error>>(())
    })?;
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

/// Runs `python bot.py` in `dir` `n` times, output to /dev/null, and returns the mean
/// seconds per run.
fn bare_bot(python: &Path, dir: &Path, n: usize) -> Fallible<f64> {
    let start = Instant::now();
    for _ in 0..n {
        let status = Command::new(python)
            .arg("bot.py")
            .current_dir(dir)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("{} bot.py ended with {status}", python.display()).into());
        }
    }
    Ok(start.elapsed().as_secs_f64() / n as f64)
}

// ------------------------------------------------------- the timed work: (c)

/// One build of (c) and its reruns.
struct Built {
    /// Seconds for `ensure` into the empty venvs directory.
    first: f64,
    /// Mean seconds of `ensure` once the environment is ready.
    rerun: f64,
    /// The installer the ready marker names.
    installer: String,
    /// What that installer says its version is.
    tool_version: String,
}

/// Builds the environment into the empty `venvs` directory, then calls `ensure` on it
/// `reruns` times; checks that the packages import.
fn build_and_rerun(
    runtime: &Runtime,
    venvs: &Path,
    python: &Path,
    requirements: &Requirements,
    reruns: usize,
) -> Fallible<Built> {
    let envs = python_envs(venvs, python);
    let (env, first, rerun) = runtime.block_on(async {
        let start = Instant::now();
        let env = envs.ensure(requirements).await?;
        let first = start.elapsed().as_secs_f64();
        if env.reused {
            return Err(format!("{} was reused, not built", env.root.display()).into());
        }
        let start = Instant::now();
        for _ in 0..reruns {
            let again = envs.ensure(requirements).await?;
            if !again.reused || again.root != env.root {
                return Err(format!("the rerun did not reuse {}", env.root.display()).into());
            }
        }
        let rerun = start.elapsed().as_secs_f64() / reruns.max(1) as f64;
        Ok::<_, Box<dyn Error>>((env, first, rerun))
    })?;
    check_imports(&env.python)?;
    let installer = installer_of(&env.root)?;
    let tool_version = tool_version(&installer, python);
    Ok(Built {
        first,
        rerun,
        installer,
        tool_version,
    })
}

/// `python -m venv DIR && DIR/bin/pip install -r FILE`, as subprocesses; returns
/// seconds.
fn baseline_venv(python: &Path, dir: &Path, file: &Path) -> Fallible<f64> {
    let start = Instant::now();
    checked(Command::new(python).args(["-m", "venv"]).arg(dir))?;
    checked(
        Command::new(dir.join("bin/pip"))
            .args(["install", "-r"])
            .arg(file),
    )?;
    let elapsed = start.elapsed().as_secs_f64();
    check_imports(&dir.join("bin/python"))?;
    Ok(elapsed)
}

/// Fails unless `python` can import the packages of [`REQUIREMENTS`].
fn check_imports(python: &Path) -> Fallible<()> {
    checked(Command::new(python).args(["-c", "import six, tomli"]))
}

/// The installer named by the environment's ready marker (JSON).
fn installer_of(root: &Path) -> Fallible<String> {
    let marker = std::fs::read_to_string(root.join(READY_MARKER))?;
    let marker: serde_json::Value = serde_json::from_str(&marker)?;
    marker["installer"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the ready marker names no installer".into())
}

/// `uv --version`, or the interpreter's `pip --version`, for the notes.
fn tool_version(installer: &str, python: &Path) -> String {
    let output = match installer {
        "uv" => Command::new("uv").arg("--version").output(),
        _ => Command::new(python)
            .args(["-m", "pip", "--version"])
            .output(),
    };
    match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => format!("{installer}: version unknown"),
    }
}

// ------------------------------------------------------------------ shared

/// bosun's environments in `venvs`, built from `python` by the default installer.
fn python_envs(venvs: &Path, python: &Path) -> PythonEnvs {
    PythonEnvs::new(venvs)
        .with_interpreter(python.to_string_lossy().into_owned())
        .with_installer(Installer::Auto)
}

/// The base interpreter of (b) and (c).
struct Interpreter {
    path: PathBuf,
    version: String,
    /// What `python3` on PATH is, when `path` was found through it.
    found_via: Option<PathBuf>,
    /// The `.pth` files of its site-packages, which run at every start.
    site_hooks: Vec<String>,
}

impl Interpreter {
    /// `given`, else the executable `python3` on PATH ends up running: pyenv's
    /// `python3` is a shell script that costs more than Python's own start.
    fn find(given: Option<&Path>) -> Fallible<Self> {
        let (path, found_via) = match given {
            Some(path) => (path.to_owned(), None),
            None => {
                let real = ask(Path::new("python3"), "import sys; print(sys.executable)")?;
                (PathBuf::from(real), which("python3"))
            }
        };
        let version = ask(&path, "import platform; print(platform.python_version())")?;
        let hooks = ask(
            &path,
            "import glob, os, site\n\
             for d in site.getsitepackages():\n    \
                 for p in sorted(glob.glob(os.path.join(d, '*.pth'))): print(os.path.basename(p))",
        )?;
        Ok(Self {
            path,
            version,
            found_via,
            site_hooks: hooks.lines().map(str::to_owned).collect(),
        })
    }

    fn describe(&self) -> String {
        let via = match &self.found_via {
            Some(shim) if shim != &self.path => format!(
                "; `python3` on PATH is {}, resolved once so that no side times it",
                shim.display()
            ),
            _ => String::new(),
        };
        format!("{} (Python {}){via}", self.path.display(), self.version)
    }
}

/// Runs `python -c code` and returns what it printed, trimmed.
fn ask(python: &Path, code: &str) -> Fallible<String> {
    let output = Command::new(python).args(["-c", code]).output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} -c failed: {}", python.display(), stderr.trim()).into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// The first `program` in the directories of PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `command` to the end, its output captured; an error quotes its stderr.
fn checked(command: &mut Command) -> Fallible<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{command:?} ended with {}: {}",
        output.status,
        stderr.trim()
    )
    .into())
}

fn expect_success(report: &RunReport) -> Fallible<()> {
    match &report.outcome {
        Outcome::Exited(0) => Ok(()),
        _ => Err(format!("a supervised job failed: {}", report.message()).into()),
    }
}

// ------------------------------------------------------------------ rounds

/// One side of a measure: given the round's number, does the timed work and returns
/// its figure.
type Contestant<'a> = Box<dyn FnMut(usize) -> Fallible<f64> + 'a>;

/// Runs every contestant once per round, the first of each round rotating (with two
/// contestants, they alternate), and returns each contestant's per-round figures.
fn interleave(rounds: usize, contestants: &mut [Contestant<'_>]) -> Fallible<Vec<Vec<f64>>> {
    let count = contestants.len();
    let mut figures = vec![Vec::with_capacity(rounds); count];
    for round in 0..rounds {
        for step in 0..count {
            let which = (round + step) % count;
            figures[which].push(contestants[which](round)?);
        }
    }
    Ok(figures)
}

// ------------------------------------------------------------------- table

/// What a ratio must reach.
enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    fn met(&self, ratio: f64) -> bool {
        match *self {
            Self::AtLeast(goal) => ratio >= goal,
            Self::AtMost(goal) => ratio <= goal,
        }
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AtLeast(goal) => write!(f, "≥ {goal}"),
            Self::AtMost(goal) => write!(f, "≤ {goal}"),
        }
    }
}

/// One line of the result table.
struct Row {
    measure: String,
    bosun: String,
    baseline: String,
    ratio: f64,
    goal: Goal,
}

fn print_table(rows: &[Row]) {
    println!("| measure | bosun | baseline | ratio | goal | result |");
    println!("|---|---:|---:|---:|---|---|");
    for row in rows {
        let ratio = if row.ratio >= 10.0 {
            format!("{:.0}", row.ratio)
        } else {
            format!("{:.3}", row.ratio)
        };
        let result = if row.goal.met(row.ratio) {
            "pass"
        } else {
            "FAIL"
        };
        println!(
            "| {} | {} | {} | {ratio} | {} | {result} |",
            row.measure, row.bosun, row.baseline, row.goal
        );
    }
}
