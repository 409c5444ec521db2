//! (a) Trigger-to-process-start latency, through the API and through the bare
//! supervisor.
//!
//! "Process start" is observed the same way on both sides: the job is
//! `/bin/date +%s%N`, which prints the wall clock in nanoseconds as soon as it runs.
//! A sample is that stamp minus the wall clock read just before the run request is
//! sent (API) or just before `bosun_exec::run` is called (bare). Both sides therefore
//! include the same `exec` of the same small program, and the stamp has the clock's
//! full resolution; the execution's recorded `startTime` has only milliseconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bosun_core::JobSpec;
use bosun_exec::{Outcome, RunOptions, run};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::Fallible;
use crate::api::Api;

/// The program whose output is its start: GNU `date`, nanoseconds since the epoch.
const STAMP: [&str; 2] = ["/bin/date", "+%s%N"];

/// The job's name on the server.
pub(crate) const JOB: &str = "stamp";

/// How long the API side leaves the server alone after the 202, before it asks
/// whether the execution has ended: asking is work for the server, and would
/// compete with the very start being timed. The start comes well before (see the
/// p99); a later one would only be timed as it is.
const SETTLE: Duration = Duration::from_millis(10);

/// How often the API side then asks whether its execution has ended.
const POLL: Duration = Duration::from_millis(2);

/// The pause between two samples on both sides, so that each trigger meets an idle
/// server (or supervisor) and the samples do not queue behind each other.
const PAUSE: Duration = Duration::from_millis(5);

/// Nanoseconds since the Unix epoch.
pub(crate) fn now_ns() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_nanos()).expect("nanoseconds since 1970 fit an i64 until 2262")
}

pub(crate) fn seconds_between(from_ns: i64, to_ns: i64) -> f64 {
    (to_ns - from_ns) as f64 / 1e9
}

/// One trigger, in seconds from the trigger: to the program's own stamp, and to the
/// side's own intermediate step (API: the 202 answer received; bare: `on_start`,
/// i.e. the spawn returned).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) start: f64,
    pub(crate) step: f64,
}

/// The job definition of the API side: the stamp program, any number at once.
pub(crate) fn definition() -> Value {
    json!({
        "name": JOB,
        "process": {"command": STAMP[0], "arguments": [STAMP[1]]},
        "duplicatePolicy": "allow",
    })
}

/// `n` samples through the API, one at a time.
pub(crate) async fn through_api(api: Api, n: usize) -> Fallible<Vec<Sample>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = now_ns();
        let id = api.run(JOB).await?;
        let answered = now_ns();
        tokio::time::sleep(SETTLE).await;
        let execution = api.finished(&id, POLL).await?;
        if execution["status"] != "CompletedSuccessfully" {
            return Err(format!("execution {id} did not succeed: {execution}").into());
        }
        let log = execution["outputLog"]
            .as_str()
            .ok_or_else(|| format!("execution {id} has no outputLog: {execution}"))?;
        let stamp = read_stamp(Path::new(log))?;
        samples.push(Sample {
            start: seconds_between(sent, stamp),
            step: seconds_between(sent, answered),
        });
        tokio::time::sleep(PAUSE).await;
    }
    Ok(samples)
}

/// `n` samples through `bosun_exec::run`, one at a time, each job with its own log
/// directory under `dir` as the server gives it.
pub(crate) async fn bare(dir: PathBuf, n: usize) -> Fallible<Vec<Sample>> {
    let job = JobSpec::new(STAMP[0], vec![STAMP[1].to_owned()]);
    let cancel = CancellationToken::new();
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let logs = dir.join(i.to_string());
        let mut options = RunOptions::new(logs.join("output.log"), logs.join("error.log"));
        let started = Arc::new(AtomicI64::new(0));
        let seen = started.clone();
        options.on_start = Some(Arc::new(move |_pid| seen.store(now_ns(), Ordering::SeqCst)));
        let sent = now_ns();
        let report = run(&job, &options, &cancel).await;
        if !matches!(report.outcome, Outcome::Exited(0)) {
            return Err(format!("a bare stamp job failed: {}", report.message()).into());
        }
        let stamp = read_stamp(&options.output_log)?;
        samples.push(Sample {
            start: seconds_between(sent, stamp),
            step: seconds_between(sent, started.load(Ordering::SeqCst)),
        });
        tokio::time::sleep(PAUSE).await;
    }
    Ok(samples)
}

/// The stamp a job printed into its log.
fn read_stamp(log: &Path) -> Fallible<i64> {
    let text =
        std::fs::read_to_string(log).map_err(|e| format!("reading {}: {e}", log.display()))?;
    text.trim().parse().map_err(|e| {
        let why = format!("{} holds no stamp ({text:?}): {e}", log.display());
        format!("{why}; {} must be GNU date, which knows %N", STAMP[0]).into()
    })
}
