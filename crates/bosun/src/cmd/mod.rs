//! One module per subcommand, plus what they share: the data directory, Python
//! environments and supervision settings taken from the command line. The commands
//! that talk to a running server live in [`client`].

pub(crate) mod admin;
mod agent;
mod client;
mod completions;
mod exec;
mod queue;
mod run;
mod up;
mod worker;

use std::sync::Arc;

use anyhow::{Context, Result};
use bosun_exec::python::PythonEnvs;
use bosun_exec::{Home, Observer, RunOptions, Stream};

use crate::cli::{Cli, Command, EnvArgs, SuperviseArgs};
use crate::signals::Stop;

/// Runs the parsed command; the answer is the process exit code.
pub(crate) async fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Exec(args) => exec::exec(args).await,
        Command::Queue(args) => queue::queue(args).await,
        Command::Up(args) => up::up(args).await,
        Command::Jobs(args) => client::finish(client::jobs::jobs(args).await),
        Command::Submit(args) => client::finish(client::submit::submit(args).await),
        Command::Ps(args) => client::finish(client::ps::ps(args).await),
        Command::Logs(args) => client::finish(client::logs::logs(args).await),
        Command::Cancel(args) => client::finish(client::cancel::cancel(args).await),
        Command::History(args) => client::finish(client::history::history(args).await),
        Command::Stuck(args) => client::finish(client::stuck::stuck(args).await),
        Command::Schedule(command) => client::finish(client::schedule::schedule(command).await),
        Command::Trigger(command) => client::finish(client::trigger::trigger(command).await),
        Command::Worker(args) => worker::worker(args).await,
        Command::Agent(args) => agent::agent(args).await,
        Command::Admin(command) => admin::admin(command).await,
        Command::Tenant(command) => client::finish(client::tenant::tenant(command).await),
        Command::Package(command) => client::finish(client::package::package(command).await),
        Command::Agents(command) => client::finish(client::agents::agents(command).await),
        Command::Completions(args) => completions::completions(&args),
    }
}

/// The data directory from `--home`/`BOSUN_HOME`, else the default.
fn home(env: &EnvArgs) -> Result<Home> {
    home_at(env.home.as_deref())
}

/// The data directory `dir`, else the one `BOSUN_HOME`, `XDG_DATA_HOME` or `HOME` name.
fn home_at(dir: Option<&std::path::Path>) -> Result<Home> {
    match dir {
        Some(dir) => Ok(Home::new(dir)),
        None => Home::from_env().context("no data directory: set BOSUN_HOME or HOME"),
    }
}

fn python_envs(home: &Home, env: &EnvArgs) -> PythonEnvs {
    PythonEnvs::new(home.venvs())
        .with_interpreter(env.python.clone())
        .with_installer(env.installer)
}

/// Supervision settings from the command line; log paths are filled in by the caller.
fn run_options(args: &SuperviseArgs, stop: &Stop) -> RunOptions {
    let mut options = RunOptions::new("", "");
    options.grace = args.grace;
    options.startup_window = args.startup_window;
    options.log_limit = args.log_cap.max_log_size;
    options.kill_now = stop.kill_now.clone();
    options
}

/// Supervises the process like a service would: a subreaper, and signals handled.
fn prepare() -> Result<Stop> {
    if let Err(e) = bosun_exec::become_subreaper() {
        tracing::warn!("could not become a child subreaper: {e}");
    }
    Stop::listen().context("could not install signal handlers")
}

/// Echoes the job's stdout to ours and its stderr to ours, byte for byte.
fn echo() -> Observer {
    use std::io::Write;
    Arc::new(|stream, bytes| {
        // A closed terminal or pipe must not stop the job: write errors are ignored.
        let _ = match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(bytes),
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    })
}
