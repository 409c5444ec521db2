//! The command line, as clap derive types. Help texts here are the first manual a
//! user reads: each says what the option does and its default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bosun_core::role::{Role, UnknownRole};
use bosun_core::{ExecutionStatus, FileMissed, MissedPolicy};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::durations::{parse_duration, parse_size};

mod admin;

pub(crate) use admin::*;

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

    /// Start the server: an HTTP API that stores jobs and runs them here, supervised.
    ///
    /// On its very first start it creates a tenant and an admin token, prints the token
    /// once and saves it with the URL in <home>/client.json (mode 0600), where the
    /// client commands (jobs, submit, ps, logs, …) find it. SIGINT or SIGTERM stops it:
    /// running jobs get --drain-timeout to finish, then they are cancelled.
    ///
    /// Exit codes: 0 stopped cleanly, 2 a bad flag or setting (an S3 key missing from
    /// the environment, …), 6 another `bosun up` uses the data directory, 130 stopped
    /// by a second signal without draining, 99 could not start (the port is taken, the
    /// database cannot be opened, …).
    #[command(after_help = UP_EXAMPLES)]
    Up(UpArgs),

    /// List the jobs the server knows.
    #[command(after_help = JOBS_EXAMPLES)]
    Jobs(JobsArgs),

    /// Start a job on the server: a job JSON file (created or updated first) or the name
    /// of a job it already has.
    ///
    /// Prints the execution's id. With --wait, waits for it to end and exits like
    /// `bosun run`: 0 success, 1 failed, 124 timed out, 130 cancelled.
    #[command(after_help = SUBMIT_EXAMPLES)]
    Submit(SubmitArgs),

    /// List executions that are running or waiting to run.
    #[command(after_help = PS_EXAMPLES)]
    Ps(PsArgs),

    /// Print an execution's output, as it was written (or follow it with -f).
    #[command(after_help = LOGS_EXAMPLES)]
    Logs(LogsArgs),

    /// Ask the server to stop an execution (its process group gets SIGTERM, then
    /// SIGKILL after the grace period).
    #[command(after_help = CANCEL_EXAMPLES)]
    Cancel(CancelArgs),

    /// List past and present executions, newest first.
    #[command(after_help = HISTORY_EXAMPLES)]
    History(HistoryArgs),

    /// List running executions that look stuck: running too long, or silent too long
    /// (no output and no status update).
    #[command(after_help = STUCK_EXAMPLES)]
    Stuck(StuckArgs),

    /// Run a job on a schedule: a cron expression in a time zone, or a fixed interval.
    ///
    /// Schedules live on the server and survive its restarts; no fire time ever runs
    /// twice. What happens to fire times missed while the server was down is the
    /// schedule's --missed policy.
    #[command(subcommand)]
    Schedule(ScheduleCommand),

    /// Run a job for each file that arrives in a directory on the server.
    ///
    /// The job gets the file's absolute path as its last argument, once per version
    /// of the file (a rewritten file runs again), across restarts.
    #[command(subcommand)]
    Trigger(TriggerCommand),

    /// Run jobs from Redis Streams: LLM roles (manager, inspector, agent), chat, and
    /// process jobs, in the consumer group executor-group.
    ///
    /// Every setting is a flag, else a BOSUN_* variable, else the seeds' variable
    /// (REDIS_CONNECTION, MAX_MANAGER, MAX_INSPECTOR, MAX_AGENT, MAX_TOTAL,
    /// LLM_ENDPOINT), else the default. Results are saved in the store, notified on
    /// signalr:updates, then acknowledged. SIGINT or SIGTERM stops reading; running
    /// jobs get --drain-timeout, the rest stay pending for other workers.
    ///
    /// Exit codes: 0 stopped cleanly, 2 bad settings, 99 could not start.
    #[command(after_help = WORKER_EXAMPLES)]
    Worker(WorkerArgs),

    /// Run this machine as a bot agent of a server: connect to its hub, download the
    /// packages it sends, run them and report back.
    ///
    /// Results are kept on disk until the server has them, and an execution is never
    /// run twice, also across restarts. SIGINT or SIGTERM stops taking executions;
    /// running ones get --drain-timeout, then they are cancelled and reported.
    #[command(after_help = AGENT_EXAMPLES)]
    Agent(AgentArgs),

    /// Manage tokens and tenants on the store itself, without the API: to get back
    /// in when no token is left, or to set up before a server starts.
    ///
    /// Uses the store `bosun up` uses for the same --home / --database-url, whether
    /// the server is running or not.
    #[command(subcommand, after_help = admin::ADMIN_EXAMPLES)]
    Admin(AdminCommand),

    /// Create and list tenants on the server.
    #[command(subcommand)]
    Tenant(TenantCommand),

    /// Upload bot packages to the server, list them and delete them.
    ///
    /// A package is a ZIP holding a bot folder (bot.py or main.py at its top), stored
    /// in versions that are written once; machines download a version by a link that
    /// expires.
    #[command(subcommand)]
    Package(PackageCommand),

    /// Add remote agents (machines that run bots for the server), list them, give
    /// them new machine keys, deactivate and delete them.
    ///
    /// An agent connects to the server with its machine key, which is printed once,
    /// when it is added or rotated; the server keeps only its hash.
    #[command(subcommand)]
    Agents(AgentsCommand),

    /// Print a shell completion script for bosun's subcommands and flags.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
}

/// `bosun completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

const COMPLETIONS_EXAMPLES: &str = "Examples:
  bosun completions bash > ~/.local/share/bash-completion/completions/bosun
  bosun completions zsh > ~/.zfunc/_bosun     # with fpath+=~/.zfunc before compinit
  bosun completions fish > ~/.config/fish/completions/bosun.fish";

/// `bosun schedule …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Add a schedule to a job.
    #[command(after_help = SCHEDULE_EXAMPLES)]
    Add(ScheduleAddArgs),
    /// List schedules (of one job, or all) with their next fire time.
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Remove a schedule by its id.
    #[command(visible_alias = "remove")]
    Rm(RemoveArgs),
}

/// `bosun trigger …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TriggerCommand {
    /// Add a file trigger to a job.
    #[command(after_help = TRIGGER_EXAMPLES)]
    Add(TriggerAddArgs),
    /// List file triggers (of one job, or all) and whether each is being watched.
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Remove a file trigger by its id.
    #[command(visible_alias = "remove")]
    Rm(RemoveArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "every"])))]
pub(crate) struct ScheduleAddArgs {
    /// The job's name.
    pub(crate) job: String,

    /// A cron expression: 5 fields (minute hour day month weekday) or 6 with seconds
    /// first. Quote it.
    #[arg(long, value_name = "EXPR")]
    pub(crate) cron: Option<String>,

    /// The IANA time zone the cron expression is read in [default: UTC].
    #[arg(long, value_name = "ZONE", requires = "cron")]
    pub(crate) tz: Option<String>,

    /// A fixed interval (30s, 5m, 1h30m), counted from now.
    #[arg(long, value_name = "DURATION")]
    pub(crate) every: Option<String>,

    /// Fire times missed while the server was down: skip (run only if at most a minute
    /// late), run-once (once, for the latest), or run-all:N (each, at most the latest N).
    #[arg(long, default_value_t = MissedPolicy::RunOnce, value_name = "POLICY")]
    pub(crate) missed: MissedPolicy,

    /// Print the schedule as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TriggerAddArgs {
    /// The job's name.
    pub(crate) job: String,

    /// The directory files arrive in, on the server (a relative path is made absolute
    /// from the current directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,

    /// Which files count: without '/', a file name pattern ("*.csv"); with '/', a
    /// pattern of the path under DIR ("in/**/*.csv").
    #[arg(long, value_name = "GLOB")]
    pub(crate) glob: String,

    /// How long a file's writes must be quiet before the job starts.
    #[arg(long, value_parser = parse_duration, default_value = "500ms", value_name = "DURATION")]
    pub(crate) debounce: Duration,

    /// Count files in subdirectories too.
    #[arg(long)]
    pub(crate) recursive: bool,

    /// Files already in DIR when the watch starts that have not run yet: run-all runs
    /// each, skip leaves them.
    #[arg(long, default_value_t = FileMissed::RunAll, value_name = "POLICY", value_parser = file_missed())]
    pub(crate) missed: FileMissed,

    /// Print the trigger as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `bosun trigger add --missed`: one of [`FileMissed`]'s names.
fn file_missed() -> impl clap::builder::TypedValueParser<Value = FileMissed> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(FileMissed::NAMES).map(|name| {
        name.parse()
            .expect("the parser lets through only the names of policies")
    })
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this job's.
    pub(crate) job: Option<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The id, as `ls` shows it.
    pub(crate) id: String,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Redis: redis://HOST:PORT[/DB] or the seeds' HOST:PORT[,password=…]
    /// [env: BOSUN_REDIS, else REDIS_CONNECTION; default localhost:6379].
    #[arg(long, env = "BOSUN_REDIS", hide_env_values = true, value_name = "URL")]
    pub(crate) redis: Option<String>,

    /// The OpenAI-compatible chat-completions URL [env: BOSUN_LLM_ENDPOINT, else
    /// LLM_ENDPOINT; default http://localhost:11434/v1/chat/completions]. An API key,
    /// if one is needed, goes in BOSUN_LLM_API_KEY (never on the command line).
    #[arg(long, env = "BOSUN_LLM_ENDPOINT", value_name = "URL")]
    pub(crate) llm_endpoint: Option<String>,

    /// Most manager jobs at once, 0 = no limit [env: BOSUN_MAX_MANAGER, else MAX_MANAGER].
    #[arg(long, env = "BOSUN_MAX_MANAGER", value_name = "N")]
    pub(crate) max_manager: Option<usize>,
    /// Most inspector jobs at once [env: BOSUN_MAX_INSPECTOR, else MAX_INSPECTOR].
    #[arg(long, env = "BOSUN_MAX_INSPECTOR", value_name = "N")]
    pub(crate) max_inspector: Option<usize>,
    /// Most agent jobs at once [env: BOSUN_MAX_AGENT, else MAX_AGENT].
    #[arg(long, env = "BOSUN_MAX_AGENT", value_name = "N")]
    pub(crate) max_agent: Option<usize>,
    /// Most process jobs at once [env: BOSUN_MAX_PROCESS].
    #[arg(long, env = "BOSUN_MAX_PROCESS", value_name = "N")]
    pub(crate) max_process: Option<usize>,
    /// Most chat replies at once [env: BOSUN_MAX_CHAT].
    #[arg(long, env = "BOSUN_MAX_CHAT", value_name = "N")]
    pub(crate) max_chat: Option<usize>,
    /// Most jobs at once in all [env: BOSUN_MAX_TOTAL, else MAX_TOTAL].
    #[arg(long, env = "BOSUN_MAX_TOTAL", value_name = "N")]
    pub(crate) max_total: Option<usize>,

    /// Which roles' streams to read, comma-separated [default: all].
    #[arg(long, value_delimiter = ',', value_parser = role_names(), value_name = "ROLES")]
    pub(crate) roles: Vec<Role>,

    /// A role's model, as ROLE=MODEL (repeatable) [default: trt-llm-ROLE; chat uses
    /// trt-llm-agent].
    #[arg(long, value_name = "ROLE=MODEL", value_parser = parse_role_setting)]
    pub(crate) model: Vec<(Role, String)>,

    /// A role's max_tokens, as ROLE=N (repeatable) [default: manager 256, inspector 512,
    /// agent 128, chat 256].
    #[arg(long, value_name = "ROLE=N", value_parser = parse_role_setting)]
    pub(crate) max_tokens: Vec<(Role, String)>,

    /// This worker's consumer name, unique per instance [env: BOSUN_CONSUMER; default
    /// HOST-PID].
    #[arg(long, env = "BOSUN_CONSUMER", value_name = "NAME")]
    pub(crate) consumer: Option<String>,

    /// The consumer group.
    #[arg(long, default_value = "executor-group", value_name = "NAME")]
    pub(crate) group: String,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Take over entries pending this long on any consumer (a dead worker's).
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub(crate) claim_idle: Duration,

    /// Deliveries of an entry before it goes to the dead-letter stream jobs:dead.
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_attempts: u32,

    /// How long one LLM call may take.
    #[arg(long, value_parser = parse_duration, default_value = "120s", value_name = "DURATION")]
    pub(crate) llm_timeout: Duration,

    /// LLM calls per attempt at a job, the first included (429, 5xx and connection
    /// errors are retried with backoff).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) llm_calls: u32,

    /// Serve Prometheus metrics at http://ADDR/metrics [env: BOSUN_METRICS].
    #[arg(long, env = "BOSUN_METRICS", value_name = "ADDR")]
    pub(crate) metrics: Option<SocketAddr>,

    /// How long running jobs get to finish on shutdown.
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub(crate) drain_timeout: Duration,

    /// The data directory: the default database and process jobs' logs
    /// [default: ~/.local/share/bosun].
    #[arg(long, env = "BOSUN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
}

/// The roles of `bosun worker` by name, each with the stream it reads by default.
fn role_names() -> impl clap::builder::TypedValueParser<Value = Role> {
    let names = Role::ALL.map(|r| PossibleValue::new(r.name()).help(r.default_stream()));
    PossibleValuesParser::new(names)
        .map(|name| Role::from_name(&name).expect("a possible value is a role's name"))
}

/// `ROLE=VALUE`; the role in any case.
fn parse_role_setting(text: &str) -> Result<(Role, String), String> {
    let (role, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write ROLE=VALUE, e.g. agent=llama3"))?;
    let role = Role::from_name(&role.trim().to_ascii_lowercase())
        .ok_or_else(|| UnknownRole(role.to_owned()).to_string())?;
    Ok((role, value.trim().to_owned()))
}

/// The exit codes every client command shares, appended to each one's help.
macro_rules! client_exit_codes {
    () => {
        "Exit codes: 0 ok, 2 bad command line or no token, 4 the server refused the request \
         (its message is printed), 5 no server at the URL."
    };
}

// After `client_exit_codes!`, which their help texts use.
mod agent;
mod agents;
mod package;

pub(crate) use agent::*;
pub(crate) use agents::*;
pub(crate) use package::*;

const UP_EXAMPLES: &str = "Examples:
  bosun up                                    # http://127.0.0.1:8420, state in <home>
  bosun up --listen 0.0.0.0:8420 --max-concurrent 8
  bosun up --database-url postgres://bosun@db/bosun --on-restart adopt
  BOSUN_HOME=/srv/bosun bosun up --drain-timeout 2m
  bosun up --packages s3://bots --s3-endpoint http://minio:9000   # keys from AWS_* vars

The admin token is printed only on the first start; it is saved in <home>/client.json.
The first start also defines the example job hello-bot (unless --no-example): run it
with `bosun submit hello-bot --follow`.";

const JOBS_EXAMPLES: &str = concat!(
    "Examples:
  bosun jobs
  bosun jobs --json | jq -r '.items[].name'
  bosun jobs --server http://build-box:8420 --token $TOKEN

",
    client_exit_codes!()
);

const SUBMIT_EXAMPLES: &str = concat!(
    "Examples:
  bosun submit examples/jobs/hello.json         # create or update the job, then run it
  bosun submit hello --wait                     # run the job named hello, wait for its end
  bosun submit hello --follow -- --name Ada     # pass arguments, stream its output
  id=$(bosun submit nightly-report)             # the execution id, for logs/cancel

Exit codes with --wait or --follow: as `bosun run` (0 success, 1 failed, 124 timed out,
130 cancelled); Ctrl-C stops waiting (130) and leaves the execution running.
",
    client_exit_codes!()
);

const PS_EXAMPLES: &str = concat!(
    "Examples:
  bosun ps
  bosun ps --json | jq -r '.items[].id'

",
    client_exit_codes!()
);

const LOGS_EXAMPLES: &str = concat!(
    "Examples:
  bosun logs 0193f6d2-…                          # everything it printed so far
  bosun logs 0193f6d2-… --tail 20 --stderr       # the last 20 lines of its stderr
  bosun logs 0193f6d2-… -f                       # follow until it ends

",
    client_exit_codes!()
);

const CANCEL_EXAMPLES: &str = concat!(
    "Examples:
  bosun cancel 0193f6d2-…
  bosun ps --json | jq -r '.items[].id' | xargs -n1 bosun cancel

",
    client_exit_codes!()
);

const HISTORY_EXAMPLES: &str = concat!(
    "Examples:
  bosun history                                 # the 20 newest executions
  bosun history hello --status Failed --limit 5
  bosun history --before CURSOR                 # the next page, as the last line says

",
    client_exit_codes!()
);

const SCHEDULE_EXAMPLES: &str = concat!(
    "Examples:
  bosun schedule add report --cron '0 30 6 * * Mon-Fri' --tz Europe/Berlin
  bosun schedule add poll --every 5m --missed skip
  bosun schedule add backup --cron '0 2 * * *' --missed run-all:3
  bosun schedule ls                              # every schedule, with its next fire time
  bosun schedule rm 0193f6d2-…

",
    client_exit_codes!()
);

const TRIGGER_EXAMPLES: &str = concat!(
    "Examples:
  bosun trigger add ingest --dir /srv/inbox --glob '*.csv'
  bosun trigger add ingest --dir /srv/inbox --glob '**/*.xml' --recursive --debounce 2s
  bosun trigger add ingest --dir ./drop --glob '*.pdf' --missed skip
  bosun trigger ls                               # with whether each is being watched
  bosun trigger rm 0193f6d2-…

A job started by a file gets its absolute path as the last argument.

",
    client_exit_codes!()
);

const WORKER_EXAMPLES: &str = "Examples:
  bosun worker                                       # localhost Redis and LLM, every role
  REDIS_CONNECTION=redis:6379 MAX_AGENT=20 MAX_TOTAL=50 bosun worker
  bosun worker --redis redis://cache:6379/0 --llm-endpoint http://llm:8000/v1/chat/completions
  bosun worker --roles process --max-process 4 --database-url postgres://bosun@db/bosun
  bosun worker --model agent=llama3 --max-tokens agent=512 --metrics 127.0.0.1:9464

A job entry: XADD jobs:agent * jobId J1 task \"summarise\" payload \"...\" (docs/WORKER.md).";

const STUCK_EXAMPLES: &str = concat!(
    "Examples:
  bosun stuck                                   # the server's own thresholds
  bosun stuck --running-over 2h --silent-over 10m

",
    client_exit_codes!()
);

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

    #[command(flatten)]
    pub(crate) log_cap: LogCapArgs,
}

/// The cap of a job's logs, for the commands that run jobs (`run`, `exec`, `queue`,
/// `up`).
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct LogCapArgs {
    /// The cap of each of a job's output.log and error.log. Past it, a log keeps the
    /// first and the last half of the cap (where the final error is), and a marker line
    /// says how many bytes in between were left out.
    #[arg(
        long,
        alias = "log-cap",
        env = "BOSUN_LOG_CAP",
        value_parser = parse_size,
        default_value = "100MiB",
        value_name = "SIZE"
    )]
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

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// The address and port the API listens on: an IP address or a host name
    /// (`localhost:8420`; a name's loopback address is preferred), port 8420 if none.
    #[arg(
        long,
        env = "BOSUN_LISTEN",
        default_value = "127.0.0.1:8420",
        value_name = "ADDR",
        value_parser = crate::listen::parse_listen
    )]
    pub(crate) listen: SocketAddr,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// How many executions run at once; more wait as Pending.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_concurrent: u32,

    /// Finished executions kept per job; older ones and their logs are deleted.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) history_limit: i64,

    /// What to do with jobs still running from before a restart: kill their process
    /// groups and mark them Failed, or adopt them and keep watching.
    #[arg(long, value_enum, default_value_t = OnRestart::Kill, value_name = "POLICY")]
    pub(crate) on_restart: OnRestart,

    /// How long running jobs get to finish on shutdown before they are cancelled.
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub(crate) drain_timeout: Duration,

    #[command(flatten)]
    pub(crate) log_cap: LogCapArgs,

    /// The data directory: database, logs, Python environments, client.json
    /// [default: ~/.local/share/bosun].
    #[arg(long, env = "BOSUN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    /// On the very first start, do not define the example job `hello-bot` (a Python
    /// bot written into <home>/examples).
    #[arg(long)]
    pub(crate) no_example: bool,

    #[command(flatten)]
    pub(crate) packages: PackageStoreArgs,

    /// How long an execution triggered for a remote agent waits for the agent to take
    /// it (it is offline, or never acknowledges) before it fails with the reason.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub(crate) agent_delivery_wait: Duration,

    /// How long the runs of an agent whose connection ended have to be reported again
    /// (it reconnects) before they fail "agent lost".
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub(crate) agent_lost_grace: Duration,
}

/// The database of the store: `up` serves from it, `worker` saves results in it and
/// `admin` works on it, so all three read the same option the same way.
#[derive(Debug, Args, Clone)]
pub(crate) struct DatabaseArgs {
    /// sqlite://FILE or postgres://USER@HOST/DB [default: sqlite <home>/bosun.db].
    #[arg(
        long = "database-url",
        env = "BOSUN_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub(crate) url: Option<String>,
}

/// `--on-restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnRestart {
    /// Stop the process groups of jobs found running and mark them Failed.
    Kill,
    /// Keep them running and record their end.
    Adopt,
}

/// How a client command that lists things prints them: a table, or JSON.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct OutputArgs {
    /// Print the server's JSON answer unchanged, for scripts.
    #[arg(long)]
    pub(crate) json: bool,

    /// Show long cells whole instead of cutting them to fit the terminal (in a pipe:
    /// 60 columns a cell).
    #[arg(short, long)]
    pub(crate) wide: bool,
}

/// Which server the client commands talk to, and as whom.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Server")]
pub(crate) struct ClientArgs {
    /// The server's URL [default: $BOSUN_SERVER, else the url in <home>/client.json,
    /// else http://127.0.0.1:8420].
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,

    /// The API token [default: $BOSUN_TOKEN, else the token in <home>/client.json if the
    /// server is the one saved there].
    /// `bosun up` prints one on its first start.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,

    /// The data directory holding client.json [default: $BOSUN_HOME, else
    /// ~/.local/share/bosun].
    #[arg(long, value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// A job JSON file (as for `bosun run`; created on the server, or updated if a job
    /// of that name exists), or the name of a job the server has.
    #[arg(value_name = "FILE|NAME")]
    pub(crate) job: String,

    /// Arguments for this execution, appended to the job's own.
    #[arg(last = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// Wait until the execution ends, showing its progress, and exit with its result.
    #[arg(long)]
    pub(crate) wait: bool,

    /// Stream the execution's output until it ends (stdout to stdout, stderr to
    /// stderr), then exit with its result. Implies --wait.
    #[arg(short, long)]
    pub(crate) follow: bool,

    /// Print the execution as JSON (with --wait: the final one) instead of its id.
    #[arg(long, conflicts_with = "follow")]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PsArgs {
    /// Print {"items": [...]} (running, then pending) as JSON, for scripts.
    #[arg(long)]
    pub(crate) json: bool,

    /// Show long cells whole instead of cutting them to fit the terminal (in a pipe:
    /// 60 columns a cell).
    #[arg(short, long)]
    pub(crate) wide: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// The execution id (from `bosun submit`, `ps` or `history`).
    pub(crate) id: String,

    /// Keep printing output as the job writes it, until the execution ends.
    #[arg(short, long)]
    pub(crate) follow: bool,

    /// Show the job's stderr instead of its stdout.
    #[arg(long)]
    pub(crate) stderr: bool,

    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub(crate) tail: Option<u64>,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The execution id.
    pub(crate) id: String,

    /// Print the execution as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only this job's executions.
    pub(crate) job: Option<String>,

    /// How many executions to show (at most 1000).
    #[arg(long, default_value_t = 20, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) limit: u32,

    /// Only executions in this state: Pending, Running, CompletedSuccessfully, Failed,
    /// TimedOut or Cancelled.
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    pub(crate) status: Option<ExecutionStatus>,

    /// Continue a listing: the cursor the previous page printed.
    #[arg(long, value_name = "CURSOR")]
    pub(crate) before: Option<String>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StuckArgs {
    /// Report executions running longer than this (30m, 2h) [default: the server's].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) running_over: Option<Duration>,

    /// Report executions with no output or status update for this long [default: the
    /// server's].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) silent_over: Option<Duration>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// An execution status by name, in any case: `failed` is `Failed`.
fn parse_status(text: &str) -> Result<ExecutionStatus, String> {
    ExecutionStatus::from_name(text).ok_or_else(|| {
        format!(
            "{text:?} is not a status: Pending, Running, CompletedSuccessfully, Failed, \
                 TimedOut or Cancelled"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn statuses_are_read_in_any_case() {
        assert_eq!(parse_status("failed"), Ok(ExecutionStatus::Failed));
        assert_eq!(parse_status("TimedOut"), Ok(ExecutionStatus::TimedOut));
        assert!(parse_status("done").unwrap_err().contains("Cancelled"));
    }
}
