//! What bosun's supervision costs, against doing the same thing by hand.
//!
//! Three measures, each a ratio taken within one run, bosun and its baseline
//! interleaved in rounds (the order swapping every round) so that drift in the
//! machine's speed hits both alike; each ratio is the median of the per-round ratios.
//!
//! - (a) `/bin/true` jobs per second through [`bosun_exec::run`] (process group, piped
//!   output pumped into real log files, group teardown), one after another, against a
//!   bare `std::process::Command::status()` loop. The cost of supervising a job that
//!   does nothing. Goal: bosun ≥ 0.8 × bare.
//! - (b) Starting a Python bot whose environment is already built: `ensure` on the
//!   cached environment plus the supervised run of a `bot.py` that prints one line,
//!   against running the same script with the same interpreter directly. Goal: bosun
//!   ≤ 1.15 × bare.
//! - (c) A first run with requirements into a brand-new venvs directory, against
//!   `python -m venv DIR && DIR/bin/pip install -r requirements.txt`; and the rerun on
//!   the ready environment against the same baseline. Goals: ≥ 5× and ≥ 50× faster.
//!
//! `cargo bench -p bosun-exec --bench executor [-- --quick] [--only a,b,c]
//! [--python PATH]`; `BOSUN_BENCH_ONLY=a,b` selects parts too. docs/PERFORMANCE.md
//! explains the figures and records a run.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use bosun_core::JobSpec;
use bosun_exec::bot::{Bot, EnvChoice, run_bot};
use bosun_exec::python::{Installer, PythonEnvs, Requirements};
use bosun_exec::{Outcome, RunOptions, RunReport, run};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

type Fallible<T> = Result<T, Box<dyn Error>>;

/// The packages of (c): small, pure Python, pinned.
const REQUIREMENTS: &str = "six==1.16.0\ntomli==2.0.1\n";

fn main() {
    let settings = match Settings::from_args(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("executor bench: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = bench(&settings) {
        eprintln!("executor bench: {e}");
        std::process::exit(1);
    }
}

const USAGE: &str = "usage: cargo bench -p bosun-exec --bench executor -- \
[--quick] [--only a,b,c] [--python PATH] [--scratch DIR]
  --quick        fewer rounds and iterations: a smoke run, not figures to quote
  --only LIST    the parts to run (also BOSUN_BENCH_ONLY): a = /bin/true jobs/s,
                 b = cached bot start, c = environment builds
  --python PATH  the interpreter for (b) and (c), on both sides [default: the one
                 `python3` on PATH resolves to, so that a pyenv shim is not timed]
  --scratch DIR  where logs, venvs and bots are made, in a temporary directory
                 removed at the end [default: cargo's target/tmp]";

/// What to run and how much of it.
struct Settings {
    parts: Vec<char>,
    rounds: usize,
    true_jobs: usize,
    bot_starts: usize,
    install_rounds: usize,
    cached_ensures: usize,
    python: Option<String>,
    scratch: PathBuf,
}

impl Settings {
    fn from_args(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut settings = Self::full();
        let mut only = std::env::var("BOSUN_BENCH_ONLY").ok();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // cargo bench passes --bench to every harness = false target.
                "--bench" => {}
                "--quick" => settings = Self::quick(settings),
                "--only" => only = Some(args.next().ok_or("--only needs a list, e.g. a,c")?),
                "--python" => settings.python = Some(args.next().ok_or("--python needs a path")?),
                "--scratch" => {
                    settings.scratch = args.next().ok_or("--scratch needs a directory")?.into()
                }
                "-h" | "--help" => return Err("help".to_owned()),
                other => match other.strip_prefix("--only=") {
                    Some(list) => only = Some(list.to_owned()),
                    None => return Err(format!("unknown argument {other:?}")),
                },
            }
        }
        if let Some(list) = only {
            settings.parts = parse_parts(&list)?;
        }
        Ok(settings)
    }

    fn full() -> Self {
        Self {
            parts: vec!['a', 'b', 'c'],
            rounds: 5,
            true_jobs: 300,
            bot_starts: 20,
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

    fn wants(&self, part: char) -> bool {
        self.parts.contains(&part)
    }
}

fn parse_parts(list: &str) -> Result<Vec<char>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "a" | "b" | "c" => Ok(p.chars().next().expect("matched a one-letter part")),
            other => Err(format!("unknown part {other:?}: use a, b or c")),
        })
        .collect()
}

fn bench(settings: &Settings) -> Fallible<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    std::fs::create_dir_all(&settings.scratch)?;
    let scratch = tempfile::tempdir_in(&settings.scratch)?;
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    if settings.wants('a') {
        rows.push(true_jobs(settings, &runtime, scratch.path(), &mut notes)?);
    }
    if settings.wants('b') || settings.wants('c') {
        let python = interpreter(settings)?;
        notes.push(format!("interpreter (both sides): {}", python.describe()));
        if settings.wants('b') {
            rows.push(bot_start(
                settings,
                &runtime,
                scratch.path(),
                &python.path,
                &mut notes,
            )?);
        }
        if settings.wants('c') {
            notes.push(format!("installer: {}", installer_used()));
            rows.extend(env_builds(
                settings,
                &runtime,
                scratch.path(),
                &python.path,
                &mut notes,
            )?);
        }
    }
    print_table(&rows);
    println!();
    for note in notes {
        println!("- {note}");
    }
    Ok(())
}

// ---------------------------------------------------------------- (a) /bin/true

/// (a): `/bin/true` jobs/s through the supervisor against a bare `status()` loop.
fn true_jobs(
    settings: &Settings,
    runtime: &Runtime,
    scratch: &Path,
    notes: &mut Vec<String>,
) -> Fallible<Row> {
    let n = settings.true_jobs;
    let logs = scratch.join("true");
    // Warm-up: page cache, the runtime's threads, the allocator.
    supervised_true(runtime, &logs.join("warm"), 20)?;
    bare_true(20)?;
    let samples = interleave(
        settings.rounds,
        |round| supervised_true(runtime, &logs.join(round.to_string()), n),
        || bare_true(n),
        |bosun, bare| bosun / bare,
    )?;
    notes.push(format!(
        "(a) {} rounds of {n} jobs each side; per-round ratios {}",
        settings.rounds,
        list(&samples.ratios, 2)
    ));
    Ok(Row {
        measure: "(a) `/bin/true` jobs/s, sequential (bosun ÷ bare)".to_owned(),
        bosun: format!("{:.0} jobs/s", median(&samples.bosun)),
        baseline: format!("{:.0} jobs/s", median(&samples.baseline)),
        ratio: median(&samples.ratios),
        goal: Goal::AtLeast(0.8),
    })
}

/// Runs `/bin/true` `n` times through [`run`], each with its own pair of log files in
/// `dir`, and returns jobs per second.
fn supervised_true(runtime: &Runtime, dir: &Path, n: usize) -> Fallible<f64> {
    std::fs::create_dir_all(dir)?;
    let job = JobSpec::new("/bin/true", vec![]);
    let cancel = CancellationToken::new();
    let start = Instant::now();
    runtime.block_on(async {
        for i in 0..n {
            let options =
                RunOptions::new(dir.join(format!("{i}.out")), dir.join(format!("{i}.err")));
            expect_success(&run(&job, &options, &cancel).await)?;
        }
        Ok::<_, Box<dyn Error>>(())
    })?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
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

// ------------------------------------------------------------- (b) bot start

/// (b): a bot's start on a cached environment against running its script directly.
fn bot_start(
    settings: &Settings,
    runtime: &Runtime,
    scratch: &Path,
    python: &Path,
    notes: &mut Vec<String>,
) -> Fallible<Row> {
    let n = settings.bot_starts;
    let dir = scratch.join("hello-bot");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("bot.py"), "print('hello from the bot')\n")?;
    let bot = Bot::locate(&dir)?;
    let envs = python_envs(&scratch.join("venvs-b"), python);
    let built = Instant::now();
    let env = runtime.block_on(envs.ensure(&Requirements::None))?;
    notes.push(format!(
        "(b) environment for no requirements built once before timing ({}, reused: {})",
        seconds(built.elapsed().as_secs_f64()),
        env.reused
    ));
    let logs = scratch.join("bot-logs");
    // Warm-up, which also checks that both sides work.
    supervised_bot(runtime, &bot, &envs, &logs.join("warm"), 2)?;
    bare_bot(python, &dir, 2)?;
    let samples = interleave(
        settings.rounds,
        |round| supervised_bot(runtime, &bot, &envs, &logs.join(round.to_string()), n),
        || bare_bot(python, &dir, n),
        |bosun, bare| bosun / bare,
    )?;
    notes.push(format!(
        "(b) {} rounds of {n} starts each side; per-round ratios {}",
        settings.rounds,
        list(&samples.ratios, 3)
    ));
    Ok(Row {
        measure: "(b) bot start, cached env: `ensure` + run (bosun ÷ bare)".to_owned(),
        bosun: seconds(median(&samples.bosun)),
        baseline: seconds(median(&samples.baseline)),
        ratio: median(&samples.ratios),
        goal: Goal::AtMost(1.15),
    })
}

/// Starts `bot` `n` times the way `bosun run` does (cached environment, supervised
/// run) and returns the mean seconds per start.
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
            let options =
                RunOptions::new(logs.join(format!("{i}.out")), logs.join(format!("{i}.err")));
            let report = run_bot(
                bot,
                &[],
                envs,
                &EnvChoice::Cached,
                |_| {},
                &options,
                &cancel,
            )
            .await?;
            expect_success(&report)?;
            if report.stdout.bytes == 0 {
                return Err("the bot printed nothing".into());
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

// ------------------------------------------------------- (c) environment builds

/// (c): building an environment with requirements into an empty cache, and the rerun
/// on the ready environment, against `python -m venv` + `pip install -r`.
fn env_builds(
    settings: &Settings,
    runtime: &Runtime,
    scratch: &Path,
    python: &Path,
    notes: &mut Vec<String>,
) -> Fallible<Vec<Row>> {
    let requirements = scratch.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS)?;
    let requirements = Requirements::File(requirements.clone());
    let work = scratch.join("builds");
    // Warm-up: fills uv's and pip's own download/wheel caches, so every timed round
    // starts from the same state (bosun's venvs cache empty, both installers' caches
    // warm).
    cold_and_cached(runtime, &work.join("warm"), python, &requirements, 1)?;
    baseline_venv(python, &work.join("warm-baseline"), &requirements)?;

    let (mut cold, mut cached, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..settings.install_rounds {
        let dir = work.join(round.to_string());
        let bosun = || {
            cold_and_cached(
                runtime,
                &dir.join("venvs"),
                python,
                &requirements,
                settings.cached_ensures,
            )
        };
        let bare = || baseline_venv(python, &dir.join("baseline"), &requirements);
        let ((c, w), b) = if round % 2 == 0 {
            let first = bosun()?;
            (first, bare()?)
        } else {
            let second = bare()?;
            (bosun()?, second)
        };
        cold.push(c);
        cached.push(w);
        baseline.push(b);
    }
    let speedup =
        |bosun: &[f64]| -> Vec<f64> { baseline.iter().zip(bosun).map(|(b, x)| b / x).collect() };
    let (cold_ratios, cached_ratios) = (speedup(&cold), speedup(&cached));
    notes.push(format!(
        "(c) {} rounds; packages: {}; per-round speed-ups, first run {}, rerun {}",
        settings.install_rounds,
        REQUIREMENTS.trim().replace('\n', ", "),
        list(&cold_ratios, 1),
        list(&cached_ratios, 0)
    ));
    notes.push(
        "(c) bosun's venvs directory is new in every round; uv's and pip's own caches are \
         warm on both sides (one untimed warm-up build each), so neither side downloads"
            .to_owned(),
    );
    Ok(vec![
        Row {
            measure: "(c) first run with requirements, new venvs dir (baseline ÷ bosun)".to_owned(),
            bosun: seconds(median(&cold)),
            baseline: seconds(median(&baseline)),
            ratio: median(&cold_ratios),
            goal: Goal::AtLeast(5.0),
        },
        Row {
            measure: "(c) rerun, environment ready (baseline ÷ bosun)".to_owned(),
            bosun: seconds(median(&cached)),
            baseline: seconds(median(&baseline)),
            ratio: median(&cached_ratios),
            goal: Goal::AtLeast(50.0),
        },
    ])
}

/// Builds the environment into the empty `venvs` directory, then calls `ensure` on it
/// `reruns` times. Returns (seconds for the build, mean seconds per rerun).
fn cold_and_cached(
    runtime: &Runtime,
    venvs: &Path,
    python: &Path,
    requirements: &Requirements,
    reruns: usize,
) -> Fallible<(f64, f64)> {
    let envs = python_envs(venvs, python);
    runtime.block_on(async {
        let start = Instant::now();
        let env = envs.ensure(requirements).await?;
        let cold = start.elapsed().as_secs_f64();
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
        let cached = start.elapsed().as_secs_f64() / reruns.max(1) as f64;
        check_imports(&env.python)?;
        Ok((cold, cached))
    })
}

/// `python -m venv DIR && DIR/bin/pip install -r requirements.txt`; returns seconds.
fn baseline_venv(python: &Path, dir: &Path, requirements: &Requirements) -> Fallible<f64> {
    let Requirements::File(file) = requirements else {
        unreachable!("(c) writes its requirements to a file");
    };
    let start = Instant::now();
    checked(Command::new(python).arg("-m").arg("venv").arg(dir))?;
    checked(
        Command::new(dir.join("bin/pip"))
            .arg("install")
            .arg("-r")
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

// ------------------------------------------------------------------ shared

/// bosun's environments in `venvs`, built from `python` by the default installer.
fn python_envs(venvs: &Path, python: &Path) -> PythonEnvs {
    PythonEnvs::new(venvs)
        .with_interpreter(python.to_string_lossy().into_owned())
        .with_installer(Installer::Auto)
}

/// The interpreter both sides of (b) and (c) use.
struct Interpreter {
    path: PathBuf,
    /// What `python3` on PATH is, when the path was resolved from it.
    resolved_from: Option<PathBuf>,
    version: String,
}

impl Interpreter {
    fn describe(&self) -> String {
        let origin = match &self.resolved_from {
            Some(shim) if shim != &self.path => format!(
                "; `python3` on PATH is {}, resolved once so that neither side times a shim",
                shim.display()
            ),
            _ => String::new(),
        };
        format!("{} ({}){origin}", self.path.display(), self.version)
    }
}

/// `--python`, else the real executable behind `python3` on PATH: pyenv's `python3`
/// is a shell script that costs more than the interpreter's own start.
fn interpreter(settings: &Settings) -> Fallible<Interpreter> {
    let ask = |program: &str, code: &str| -> Fallible<String> {
        let output = Command::new(program).args(["-c", code]).output()?;
        if !output.status.success() {
            return Err(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    };
    let (path, resolved_from) = match &settings.python {
        Some(path) => (PathBuf::from(path), None),
        None => {
            let real = ask("python3", "import sys; print(sys.executable)")?;
            (PathBuf::from(real), which("python3"))
        }
    };
    let version = ask(
        &path.to_string_lossy(),
        "import platform; print('Python', platform.python_version())",
    )?;
    Ok(Interpreter {
        path,
        resolved_from,
        version,
    })
}

/// The first `program` on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// What [`Installer::Auto`] picks here: uv when it is on PATH, else pip.
fn installer_used() -> String {
    let uv = Command::new("uv").arg("--version").output();
    match uv {
        Ok(out) if out.status.success() => format!(
            "{} (Installer::Auto: uv is on PATH at {})",
            String::from_utf8_lossy(&out.stdout).trim(),
            which("uv")
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        _ => "pip (Installer::Auto: uv is not on PATH)".to_owned(),
    }
}

/// Runs `command` to the end, its output captured; an error quotes its stderr.
fn checked(command: &mut Command) -> Fallible<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} ended with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    )
    .into())
}

fn expect_success(report: &RunReport) -> Fallible<()> {
    match &report.outcome {
        Outcome::Exited(0) => Ok(()),
        _ => Err(format!("a supervised job failed: {}", report.message()).into()),
    }
}

/// Per-round figures of one measure.
struct Samples {
    bosun: Vec<f64>,
    baseline: Vec<f64>,
    ratios: Vec<f64>,
}

/// Runs `rounds` rounds of bosun and the baseline, bosun first in even rounds and
/// second in odd ones, and keeps each round's figures and `ratio(bosun, baseline)`.
fn interleave(
    rounds: usize,
    mut bosun: impl FnMut(usize) -> Fallible<f64>,
    mut baseline: impl FnMut() -> Fallible<f64>,
    ratio: impl Fn(f64, f64) -> f64,
) -> Fallible<Samples> {
    let mut samples = Samples {
        bosun: Vec::with_capacity(rounds),
        baseline: Vec::with_capacity(rounds),
        ratios: Vec::with_capacity(rounds),
    };
    for round in 0..rounds {
        let (x, b) = if round % 2 == 0 {
            let x = bosun(round)?;
            (x, baseline()?)
        } else {
            let b = baseline()?;
            (bosun(round)?, b)
        };
        samples.bosun.push(x);
        samples.baseline.push(b);
        samples.ratios.push(ratio(x, b));
    }
    Ok(samples)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn list(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds as people read them: `2.41 s`, `38.2 ms`, `412 µs`.
fn seconds(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.2} s"),
        s if s >= 1e-3 => format!("{:.1} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
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
            format!("{:.2}", row.ratio)
        };
        let result = if row.goal.met(row.ratio) {
            "pass"
        } else {
            "FAIL"
        };
        println!(
            "| {} | {} | {} | {} | {} | {result} |",
            row.measure, row.bosun, row.baseline, ratio, row.goal
        );
    }
}
