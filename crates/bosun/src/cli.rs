//! The command line, as clap derive types. Help texts here are the first manual a
//! user reads: each says what the option does and its default.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::durations::{parse_duration, parse_size};

/// Runs automation jobs — Python bots and plain processes — under supervision.
#[derive(Debug, Parser)]
#[command(name = "bosun", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug). BOSUN_LOG takes a filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one job here, supervised, streaming its output and printing its result.
    ///
    /// JOB is a job JSON file ({"name", "process": {"command", "arguments",
    /// "workingDirectory", "timeoutMinutes", "environment"}}), a bot folder (bot.py,
    /// else main.py, and an optional requirements.txt), or a single .py file.
    ///
    /// Exit codes: 0 success, 1 the job failed, 2 bad command line or job file,
    /// 3 the job could not be started, 124 timed out, 130 cancelled, 99 internal error.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),

    /// Run Tasks/ID/execution.json the way the OpenAutomate executor does.
    ///
    /// Takes Locks/ID.lock, prepares the Python environment, runs the script with
    /// output in Tasks/ID/output.log and error.log, and exits with the script's code,
    /// or: 1 invalid arguments, 2 lock held, 3 execution.json missing, 4 execution.json
    /// invalid, 5 environment creation failed, 6 requirements install failed, 99
    /// unexpected error.
    Exec(ExecArgs),

    /// Take the oldest Pending task of TaskQueue.json and run its bot.
    ///
    /// Exit codes: 0 a task was processed (see its Status), 1 nothing to do,
    /// 255 (-1) error: the queue file is unreadable or corrupt (it is left as it is).
    Queue(QueueArgs),
}

const RUN_EXAMPLES: &str = "Examples:
  bosun run examples/hello-bot                  # a bot folder
  bosun run examples/hello-bot -- --name Ada    # arguments after -- go to the bot
  bosun run job.json --timeout 30s --json       # a process job, result as JSON
  bosun run script.py --fresh-env               # a throwaway environment";

/// Where bosun keeps its data and how it builds Python environments.
#[derive(Debug, Args, Clone)]
pub(crate) struct EnvArgs {
    /// The data directory [default: ~/.local/share/bosun].
    #[arg(long, env = "BOSUN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    /// The Python interpreter environments are built from: a name on PATH or a path.
    #[arg(
        long,
        env = "BOSUN_PYTHON",
        default_value = "python3",
        value_name = "PYTHON"
    )]
    pub(crate) python: String,

    /// What builds environments: uv (fast), pip (python -m venv + pip), or auto (uv when
    /// it is on PATH).
    #[arg(
        long,
        env = "BOSUN_INSTALLER",
        default_value = "auto",
        value_name = "auto|uv|pip"
    )]
    pub(crate) installer: bosun_exec::python::Installer,

    /// Build a fresh environment for this run and remove it afterwards, instead of
    /// reusing the cached one for the same requirements.
    #[arg(long)]
    pub(crate) fresh_env: bool,
}

/// How a job is supervised.
#[derive(Debug, Args, Clone)]
pub(crate) struct SuperviseArgs {
    /// Stop the job after this long (30s, 5m, 1h30m). Overrides the job file's timeout
    /// [default: the job's, else 60m].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) timeout: Option<Duration>,

    /// Time between the polite stop signal and SIGKILL.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub(crate) grace: Duration,

    /// A non-zero exit within this window is reported as a startup failure.
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    pub(crate) startup_window: Duration,

    /// The most bytes kept in each of output.log and error.log; later output is
    /// dropped and a marker line says so.
    #[arg(long, value_parser = parse_size, default_value = "100M", value_name = "SIZE")]
    pub(crate) max_log_size: u64,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A job JSON file, a bot folder, or a .py file.
    pub(crate) job: PathBuf,

    /// Arguments appended to the job's own (for a bot: passed to the script).
    #[arg(last = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// Print the result as one JSON object (seed 002 JobRunResult) instead of a
    /// summary; the job's output then goes to the log files only.
    #[arg(long)]
    pub(crate) json: bool,

    /// Do not echo the job's output (it still goes to the log files).
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Where output.log and error.log go [default: <home>/Logs/<job name>/<run id>].
    #[arg(long, value_name = "DIR")]
    pub(crate) log_dir: Option<PathBuf>,

    /// Working directory [default: the job file's, or the bot's folder].
    #[arg(long, value_name = "DIR")]
    pub(crate) cwd: Option<PathBuf>,

    /// Set an environment variable for the job (repeatable).
    #[arg(short, long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub(crate) env: Vec<(String, String)>,

    /// Address-space limit for the job and its children, in MiB.
    #[arg(long, value_name = "MIB")]
    pub(crate) memory: Option<u64>,

    /// CPU-time limit in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) cpu_seconds: Option<u64>,

    /// Limit on open files.
    #[arg(long, value_name = "N")]
    pub(crate) open_files: Option<u64>,

    #[command(flatten)]
    pub(crate) supervise: SuperviseArgs,

    #[command(flatten)]
    pub(crate) env_args: EnvArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The execution id: a directory name under <home>/Tasks.
    pub(crate) id: String,

    #[command(flatten)]
    pub(crate) supervise: SuperviseArgs,

    #[command(flatten)]
    pub(crate) env_args: EnvArgs,
}

#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    /// The queue file [default: <home>/TaskQueue.json].
    #[arg(long, value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// Print the processed task as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// Delete the task's script folder after the run, as the original executor did.
    #[arg(long)]
    pub(crate) cleanup: bool,

    #[command(flatten)]
    pub(crate) supervise: SuperviseArgs,

    #[command(flatten)]
    pub(crate) env_args: EnvArgs,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
