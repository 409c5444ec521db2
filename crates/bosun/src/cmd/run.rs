//! `bosun run JOB`: one job, here, supervised, with its output live and a summary.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use bosun_core::error::chain;
use bosun_core::{JobRunResult, JobSpec, Limits};
use bosun_exec::RunReport;
use bosun_exec::bot::{Bot, EnvChoice, run_bot};

use crate::cli::RunArgs;
use crate::exit;

/// What JOB turned out to be.
enum Job {
    Process(JobSpec),
    Bot(Bot),
}

pub(crate) async fn run(args: RunArgs) -> Result<u8> {
    let job = match load(&args.job) {
        Ok(job) => job,
        Err(message) => {
            eprintln!("bosun: {message}");
            return Ok(exit::USAGE);
        }
    };
    let home = super::home(&args.env_args)?;
    let stop = super::prepare()?;
    let run_id = uuid::Uuid::now_v7().to_string();

    let name = match &job {
        Job::Process(spec) => spec.name.clone(),
        Job::Bot(bot) => bot.name.clone(),
    };
    let log_dir = args
        .log_dir
        .clone()
        .unwrap_or_else(|| home.logs().join(safe_name(&name)).join(&run_id));
    let mut options = super::run_options(&args.supervise, &stop);
    options.output_log = log_dir.join("output.log");
    options.error_log = log_dir.join("error.log");
    if !args.json && !args.quiet {
        options.observer = Some(super::echo());
    }

    let adjust = |spec: &mut JobSpec| {
        spec.args.extend(args.args.iter().cloned());
        if let Some(timeout) = args.supervise.timeout {
            spec.timeout = timeout;
        }
        if let Some(dir) = &args.cwd {
            spec.working_directory = Some(dir.clone());
        }
        spec.environment.extend(args.env.iter().cloned());
        spec.environment
            .insert("BOSUN_RUN_ID".into(), run_id.clone());
        let limits = Limits {
            memory_bytes: args
                .memory
                .map(|mb| mb.saturating_mul(1 << 20))
                .or(spec.limits.memory_bytes),
            cpu_seconds: args.cpu_seconds.or(spec.limits.cpu_seconds),
            open_files: args.open_files.or(spec.limits.open_files),
        };
        spec.limits = limits;
    };

    let report: RunReport = match job {
        Job::Process(mut spec) => {
            adjust(&mut spec);
            bosun_exec::run(&spec, &options, &stop.cancel).await
        }
        Job::Bot(bot) => {
            let envs = super::python_envs(&home, &args.env_args);
            let choice = if args.env_args.fresh_env {
                EnvChoice::Fresh(home.venvs().join(format!("run-{run_id}")))
            } else {
                EnvChoice::Cached
            };
            // The bot's own arguments (after `--`) are appended by `adjust`.
            match run_bot(&bot, &[], &envs, &choice, adjust, &options, &stop.cancel).await {
                Ok(report) => report,
                Err(e) => {
                    eprintln!("bosun: {}", chain(&e));
                    return Ok(exit::NOT_STARTED);
                }
            }
        }
    };

    let result = report.to_result(&name);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        eprintln!("{}", summary(&result));
    }
    Ok(exit::for_outcome(&report.outcome))
}

/// Reads JOB: a directory is a bot folder, `*.py` a bot script, anything else a job
/// JSON file. The error is one line for the user.
fn load(path: &Path) -> Result<Job, String> {
    if path.is_dir() || path.extension().is_some_and(|e| e == "py") {
        return Bot::locate(path).map(Job::Bot);
    }
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{} does not exist: JOB is a job JSON file, a bot folder or a .py file",
            path.display()
        ),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    let mut spec = JobSpec::from_json(&text)
        .map_err(|e| format!("bad job file {}: {}", path.display(), chain(&e)))?;
    spec.anchor(path);
    Ok(Job::Process(spec))
}

/// The closing lines for people.
fn summary(r: &JobRunResult) -> String {
    let mark = if r.success { "ok" } else { "FAILED" };
    let code = match (r.exit_code, r.signal) {
        (_, Some(sig)) => format!("signal {sig}"),
        (Some(code), None) => format!("exit {code}"),
        (None, None) => "no exit code".to_owned(),
    };
    let mut text = format!(
        "bosun: {mark} · {} · {} · {} · {}\nbosun: {}",
        r.job_name,
        r.status,
        code,
        human(Duration::from_millis(r.duration_ms)),
        r.message
    );
    if let (Some(out), Some(err)) = (&r.output_log, &r.error_log) {
        text.push_str(&format!(
            "\nbosun: logs {} {}",
            out.display(),
            err.display()
        ));
    }
    text
}

fn human(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

/// Makes a job name safe as a directory name.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    match cleaned.trim_matches('.') {
        "" => "job".to_owned(),
        _ => cleaned,
    }
}
