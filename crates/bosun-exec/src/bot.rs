//! Python bots: finding the entry script and turning a bot into a process job.
//!
//! A bot is a folder holding `bot.py` (else `main.py`) and an optional
//! `requirements.txt` — seed 000's package layout — or a single `.py` file. It runs
//! with the interpreter of its environment, unbuffered (`-u`), in its own folder, and
//! is stopped with `SIGINT` first so Python raises `KeyboardInterrupt` and its
//! `finally` blocks and context managers run.
//!
//! When its environment has to be built first, the build's output (pip's or uv's
//! lines, between two `bosun:` lines) goes to the start of the run's output log and to
//! the run's observer, as it comes: the run's log tells the whole story, and a build
//! of minutes is not silent.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bosun_core::JobSpec;
use tokio_util::sync::CancellationToken;

use crate::outcome::{Outcome, RunReport};
use crate::output::Stream;
use crate::python::{BuildEvent, BuildObserver, EnvError, PythonEnvs, Requirements};
use crate::supervise::{RunOptions, StopSignal};

/// The entry scripts looked for in a bot folder, in order.
pub const ENTRY_SCRIPTS: [&str; 2] = ["bot.py", "main.py"];

/// A located bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    /// A name for people: the folder's name, or the script's file stem.
    pub name: String,
    /// The folder the bot runs in.
    pub dir: PathBuf,
    /// The script to run.
    pub entry: PathBuf,
    /// What the bot's environment needs: `requirements.txt` in a bot folder.
    pub requirements: Requirements,
}

/// The signal a bot is stopped with first.
pub const BOT_STOP_SIGNAL: StopSignal = StopSignal::Interrupt;

impl Bot {
    /// Finds the bot at `path`: a folder with `bot.py` or `main.py`, or a `.py` file.
    /// The error is one sentence saying what was expected.
    pub fn locate(path: &Path) -> Result<Self, String> {
        let path = std::path::absolute(path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        if path.is_dir() {
            let entry = ENTRY_SCRIPTS
                .iter()
                .map(|name| path.join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "{} has neither bot.py nor main.py: add one of them",
                        path.display()
                    )
                })?;
            let file = path.join("requirements.txt");
            let requirements = if file.is_file() {
                Requirements::File(file)
            } else {
                Requirements::None
            };
            let name = file_name(path.file_name());
            return Ok(Self {
                name,
                dir: path,
                entry,
                requirements,
            });
        }
        if path.is_file() {
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"));
            let name = file_name(path.file_stem());
            return Ok(Self {
                name,
                dir,
                entry: path,
                requirements: Requirements::None,
            });
        }
        Err(format!("{} does not exist", path.display()))
    }

    /// The process job that runs this bot with `python` and `args`.
    pub fn job(&self, python: &Path, args: &[String]) -> JobSpec {
        let mut argv = vec!["-u".to_owned(), self.entry.to_string_lossy().into_owned()];
        argv.extend_from_slice(args);
        let mut job = JobSpec::new(python.to_string_lossy().into_owned(), argv);
        job.name = self.name.clone();
        job.working_directory = Some(self.dir.clone());
        job.environment
            .insert("PYTHONUNBUFFERED".into(), "1".into());
        job
    }
}

/// Where a bot's Python environment comes from.
#[derive(Debug, Clone)]
pub enum EnvChoice {
    /// The cached environment for the bot's requirements, built once and reused.
    Cached,
    /// A fresh environment in this directory, removed after the run (seed 001's way).
    Fresh(PathBuf),
}

/// Prepares the bot's environment, runs it with `args`, and removes a fresh
/// environment afterwards. `adjust` may change the job before it starts (timeout,
/// working directory, environment variables). Cancellation while the environment is
/// being built gives a report with [`Outcome::Cancelled`] and no pid.
///
/// A build is told to `options.on_build`, and its output goes to the start of the
/// output log and to `options.observer` (see the module's description).
pub async fn run_bot(
    bot: &Bot,
    args: &[String],
    envs: &PythonEnvs,
    choice: &EnvChoice,
    adjust: impl FnOnce(&mut JobSpec),
    options: &RunOptions,
    cancel: &CancellationToken,
) -> Result<RunReport, EnvError> {
    let build_log = Arc::new(BuildLog::new(options));
    let observer: BuildObserver = {
        let build_log = build_log.clone();
        Arc::new(move |event| build_log.see(event))
    };
    let env = tokio::select! {
        env = async {
            match choice {
                EnvChoice::Cached => envs.ensure_with(&bot.requirements, Some(&observer)).await,
                EnvChoice::Fresh(dir) => envs.fresh_with(dir, &bot.requirements, Some(&observer)).await,
            }
        } => env?,
        _ = cancel.cancelled() => return Ok(RunReport::not_started(Outcome::Cancelled, options)),
    };
    let mut job = bot.job(&env.python, args);
    adjust(&mut job);
    let mut options = options.clone();
    options.stop_signal = BOT_STOP_SIGNAL;
    // The job's output goes after the build's.
    options.append_logs |= build_log.wrote();
    let report = crate::supervise::run(&job, &options, cancel).await;
    if matches!(choice, EnvChoice::Fresh(_)) {
        let root = env.root.clone();
        if let Err(e) = env.remove().await {
            tracing::warn!(path = %root.display(), "could not remove the fresh environment: {e}");
        }
    }
    Ok(report)
}

/// Writes an environment build's output to the start of the run's output log, and
/// shows it to the run's observer.
struct BuildLog {
    output_log: PathBuf,
    error_log: PathBuf,
    /// The most bytes of build output written: the head of the log's cap, or none
    /// when the build is not logged.
    limit: u64,
    observer: Option<crate::output::Observer>,
    on_build: Option<Arc<dyn Fn() + Send + Sync>>,
    state: Mutex<BuildLogState>,
}

#[derive(Default)]
struct BuildLogState {
    file: Option<File>,
    written: u64,
}

impl BuildLog {
    fn new(options: &RunOptions) -> Self {
        Self {
            output_log: options.output_log.clone(),
            error_log: options.error_log.clone(),
            limit: if options.log_build {
                options.log_limit / 2
            } else {
                0
            },
            observer: options.observer.clone(),
            on_build: options.on_build.clone(),
            state: Mutex::default(),
        }
    }

    /// True once a build started: the logs hold its output.
    fn wrote(&self) -> bool {
        self.state.lock().expect("never poisoned").file.is_some()
    }

    fn see(&self, event: BuildEvent<'_>) {
        let line;
        let bytes = match event {
            BuildEvent::Started(installer) => {
                self.start();
                line = format!("bosun: building the Python environment with {installer} …\n");
                line.as_bytes()
            }
            BuildEvent::Output(bytes) => bytes,
            BuildEvent::Finished { ok, elapsed } => {
                let took = format!("{:.1} s", elapsed.as_secs_f64());
                line = if ok {
                    format!("bosun: the Python environment is ready ({took})\n")
                } else {
                    format!("bosun: the Python environment could not be built ({took})\n")
                };
                line.as_bytes()
            }
        };
        if let Some(observer) = &self.observer {
            observer(Stream::Stdout, bytes);
        }
        let mut state = self.state.lock().expect("never poisoned");
        let room = self.limit.saturating_sub(state.written);
        let take = bytes.len().min(room as usize);
        state.written += take as u64;
        if let Some(file) = state.file.as_mut()
            && let Err(e) = file.write_all(&bytes[..take])
        {
            tracing::warn!(log = %self.output_log.display(), "could not write the environment build's output: {e}");
            state.file = None;
        }
    }

    /// Creates both logs (the job's output is appended to them) and says a build began.
    fn start(&self) {
        if let Some(on_build) = &self.on_build {
            on_build();
        }
        if self.limit == 0 {
            return;
        }
        let mut state = self.state.lock().expect("never poisoned");
        let create = |path: &Path| {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            File::create(path)
        };
        let _ = create(&self.error_log);
        match create(&self.output_log) {
            Ok(file) => state.file = Some(file),
            Err(e) => {
                tracing::warn!(log = %self.output_log.display(), "could not create the log for the environment build: {e}")
            }
        }
    }
}

fn file_name(name: Option<&std::ffi::OsStr>) -> String {
    name.map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bot".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_prefers_bot_py_then_main_py() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "").unwrap();
        assert!(Bot::locate(dir.path()).unwrap().entry.ends_with("main.py"));
        std::fs::write(dir.path().join("bot.py"), "").unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "six").unwrap();
        let bot = Bot::locate(dir.path()).unwrap();
        assert!(bot.entry.ends_with("bot.py"));
        assert!(
            matches!(bot.requirements, Requirements::File(f) if f.ends_with("requirements.txt"))
        );
    }

    #[test]
    fn an_empty_folder_or_missing_path_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Bot::locate(dir.path())
                .unwrap_err()
                .contains("neither bot.py nor main.py")
        );
        assert!(
            Bot::locate(&dir.path().join("nope"))
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn the_job_runs_unbuffered_in_the_bot_folder() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hello.py");
        std::fs::write(&script, "").unwrap();
        let bot = Bot::locate(&script).unwrap();
        let job = bot.job(Path::new("/venv/bin/python"), &["--n".into(), "2".into()]);
        assert_eq!(job.name, "hello");
        assert_eq!(job.command, "/venv/bin/python");
        assert_eq!(job.args, ["-u", script.to_str().unwrap(), "--n", "2"]);
        assert_eq!(job.working_directory.as_deref(), Some(dir.path()));
        assert_eq!(job.environment["PYTHONUNBUFFERED"], "1");
    }
}
