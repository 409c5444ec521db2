//! (b) Sustained executions per second: `n` no-op jobs (`/bin/true`) through the
//! API, submitted as fast as it accepts them, timed until every one has ended;
//! against the bare supervisor loop, `bosun_exec::run` of `/bin/true` `n` times with
//! the server's concurrency, each job with its own two log files in a directory of
//! its own, as the server gives them.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bosun_core::JobSpec;
use bosun_exec::{Outcome, RunOptions, run};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Fallible;
use crate::api::{Api, ended};

/// The job's name on the server.
pub(crate) const JOB: &str = "noop";

/// How often the API side asks whether the last execution has ended.
const POLL: Duration = Duration::from_millis(10);

/// The job definition of the API side.
pub(crate) fn definition() -> Value {
    json!({
        "name": JOB,
        "process": {"command": "/bin/true"},
        "duplicatePolicy": "allow",
    })
}

/// What one round of the API side found.
pub(crate) struct ApiRound {
    /// Executions per second, from the first request sent to the moment the bench
    /// saw that none was left Pending or Running.
    pub(crate) rate: f64,
    /// Run requests answered per second while submitting.
    pub(crate) accepted: f64,
    /// Executions per second by the server's own record: from the first request
    /// sent to the latest `endTime` of the timed executions.
    pub(crate) recorded: f64,
    /// How many of the timed executions the history still held to check.
    pub(crate) checked: usize,
}

/// Runs `n` executions of [`JOB`] with `submitters` requests in flight and waits
/// until all have ended. Every execution still in the history (all of them, unless
/// the history limit is lower than `n`) must have succeeded.
pub(crate) async fn through_api(api: Api, n: usize, submitters: usize) -> Fallible<ApiRound> {
    let first_sent = SystemTime::now();
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = JoinSet::new();
    for _ in 0..submitters.min(n) {
        let (api, next) = (api.clone(), next.clone());
        senders.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, crate::Error>(ids);
                }
                ids.push((i, api.run(JOB).await?));
            }
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(sent) = senders.join_next().await {
        ids.extend(sent??);
    }
    let submitted = start.elapsed().as_secs_f64();
    ids.sort_unstable();
    let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();

    // The last one asked for ends among the last; then nothing may be left waiting
    // or running. Both checks are cheap enough not to slow the server down.
    let last = ids.last().ok_or("no execution was submitted")?;
    // Generous: a hundred times the time of a bare /bin/true job, and a minute.
    let deadline = Instant::now() + Duration::from_secs(60) + Duration::from_millis(n as u64 * 100);
    while !ended(&api.execution(last).await?) {
        if Instant::now() > deadline {
            return Err(format!("execution {last} has not ended; the server is stuck").into());
        }
        tokio::time::sleep(POLL).await;
    }
    loop {
        let running = api.get("/api/monitor/running").await?;
        let pending = api
            .get(&format!("/api/executions?job={JOB}&status=Pending&limit=1"))
            .await?;
        if empty(&running) && empty(&pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();

    let timed: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut checked = 0;
    let mut last_end = first_sent;
    for execution in api.all_executions(JOB).await? {
        let Some(id) = execution["id"].as_str().filter(|id| timed.contains(id)) else {
            continue;
        };
        if !ended(&execution) || execution["status"] != "CompletedSuccessfully" {
            return Err(format!("execution {id} did not succeed: {execution}").into());
        }
        let end = execution["endTime"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| format!("execution {id} has no endTime: {execution}"))?;
        last_end = last_end.max(SystemTime::from(end));
        checked += 1;
    }
    let recorded = last_end
        .duration_since(first_sent)
        .map_err(|_| "every execution ended before the first was asked for")?;
    Ok(ApiRound {
        rate: n as f64 / elapsed,
        accepted: n as f64 / submitted,
        recorded: n as f64 / recorded.as_secs_f64(),
        checked,
    })
}

fn empty(list: &Value) -> bool {
    list["items"].as_array().is_some_and(Vec::is_empty)
}

/// Runs `/bin/true` `n` times through [`run`], `concurrency` at once, each with its
/// log files in `dir/<i>/`; returns jobs per second.
pub(crate) async fn bare(dir: PathBuf, n: usize, concurrency: usize) -> Fallible<f64> {
    let job = Arc::new(JobSpec::new("/bin/true", vec![]));
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    for i in 0..n {
        let permit = slots.clone().acquire_owned().await?;
        let (job, logs) = (job.clone(), dir.join(i.to_string()));
        tasks.spawn(async move {
            let options = RunOptions::new(logs.join("output.log"), logs.join("error.log"));
            let report = run(&job, &options, &CancellationToken::new()).await;
            drop(permit);
            match report.outcome {
                Outcome::Exited(0) => Ok(()),
                _ => Err(format!("a bare /bin/true failed: {}", report.message())),
            }
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
