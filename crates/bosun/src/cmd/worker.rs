//! `bosun worker`: the Redis Streams worker in the foreground, until SIGINT or SIGTERM.
//!
//! Settings come from the flag, else a `BOSUN_*` variable (both through clap), else the
//! seeds' variable (read here), else the default, so a seed deployment's environment
//! file works unchanged.

use anyhow::{Context, Result};
use bosun_worker::{Role, WorkerConfig};

use crate::cli::WorkerArgs;
use crate::exit;
use crate::signals::Stop;

/// The seeds' variable `name`, when it is set and not empty.
fn seed_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A limit from the flag or BOSUN_ variable, else the seeds' variable.
fn limit(given: Option<usize>, seed: &str) -> Result<Option<usize>> {
    match (given, seed_var(seed)) {
        (Some(n), _) => Ok(Some(n)),
        (None, Some(text)) => text
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{seed}={text:?} is not a number (0 means no limit)")),
        (None, None) => Ok(None),
    }
}

/// The LLM endpoint must be a plain `http://` URL: a scheme left out
/// (`localhost:11434/v1/…`) would otherwise fail every job, later, one by one.
fn check_endpoint(endpoint: &str) -> Result<()> {
    match reqwest::Url::parse(endpoint) {
        Ok(url) if url.scheme() == "http" && url.host().is_some() => Ok(()),
        Ok(url) if url.scheme() == "https" => anyhow::bail!(
            "{endpoint}: this build of bosun speaks plain HTTP only; reach the endpoint through a local proxy"
        ),
        _ => anyhow::bail!(
            "the LLM endpoint {endpoint:?} is not an http:// URL (e.g. http://localhost:11434/v1/chat/completions)"
        ),
    }
}

/// The worker's settings from the command line and the environment.
fn config(args: WorkerArgs) -> Result<WorkerConfig> {
    let home = super::home_at(args.home.as_deref())?;
    let redis = args
        .redis
        .or_else(|| seed_var("REDIS_CONNECTION"))
        .unwrap_or_else(|| "localhost:6379".to_owned());
    let redis = bosun_worker::redis_url(&redis).map_err(anyhow::Error::msg)?;
    let database = args
        .database
        .url
        .unwrap_or_else(|| format!("sqlite://{}", home.root().join("bosun.db").display()));
    let mut config = WorkerConfig::new(redis, database, home.root());
    if let Some(endpoint) = args.llm_endpoint.or_else(|| seed_var("LLM_ENDPOINT")) {
        config.llm.endpoint = endpoint;
    }
    check_endpoint(&config.llm.endpoint)?;
    config.llm.api_key = seed_var("BOSUN_LLM_API_KEY");
    config.llm.timeout = args.llm_timeout;
    config.llm.attempts = args.llm_calls;
    for (given, seed, r) in [
        (args.max_manager, "MAX_MANAGER", Role::Manager),
        (args.max_inspector, "MAX_INSPECTOR", Role::Inspector),
        (args.max_agent, "MAX_AGENT", Role::Agent),
        (args.max_process, "", Role::Process),
        (args.max_chat, "", Role::Chat),
    ] {
        let n = if seed.is_empty() {
            given
        } else {
            limit(given, seed)?
        };
        if let Some(n) = n {
            config.role_mut(r).limit = n;
        }
    }
    if let Some(n) = limit(args.max_total, "MAX_TOTAL")? {
        config.max_total = n;
    }
    if !args.roles.is_empty() {
        for r in Role::ALL {
            config.role_mut(r).enabled = false;
        }
        for r in &args.roles {
            config.role_mut(*r).enabled = true;
        }
    }
    for (r, model) in args.model {
        config.role_mut(r).model = model;
    }
    for (r, text) in args.max_tokens {
        config.role_mut(r).max_tokens = text
            .parse()
            .with_context(|| format!("--max-tokens {r:?}={text}: not a number"))?;
    }
    if let Some(consumer) = args.consumer {
        config.consumer = consumer;
    }
    config.group = args.group;
    config.claim_idle = args.claim_idle;
    config.max_attempts = args.max_attempts;
    config.metrics_listen = args.metrics;
    config.drain_timeout = args.drain_timeout;
    Ok(config)
}

/// Runs the worker until a signal, then drains.
pub(crate) async fn worker(args: WorkerArgs) -> Result<u8> {
    let config = match config(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("bosun: {e:#}");
            return Ok(exit::USAGE);
        }
    };
    std::fs::create_dir_all(&config.home)
        .with_context(|| format!("cannot create the data directory {}", config.home.display()))?;
    let stop = Stop::listen_saying(format!(
        "bosun: shutting down: no new jobs; running ones get {} to finish (press Ctrl-C again to stop now)",
        humantime::format_duration(config.drain_timeout)
    ))
    .context("could not install signal handlers")?;
    let (consumer, group) = (config.consumer.clone(), config.group.clone());
    let roles: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|r| config.role(*r).enabled)
        .map(|r| r.name())
        .collect();
    let worker = bosun_worker::start(config, &stop.cancel)
        .await
        .context("could not start the worker")?;
    println!(
        "bosun: worker {consumer} in group {group}, roles {}{}",
        roles.join(", "),
        worker
            .metrics_addr
            .map(|a| format!(", metrics on http://{a}/metrics"))
            .unwrap_or_default()
    );
    tokio::select! {
        () = worker.run(stop.cancel.clone()) => {}
        () = stop.kill_now.cancelled() => {
            eprintln!("bosun: stopped without waiting for running jobs; their entries stay pending");
            std::process::exit(exit::CANCELLED.into());
        }
    }
    println!("bosun: stopped");
    Ok(exit::SUCCESS)
}
