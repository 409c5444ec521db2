//! Helpers shared by the integration tests.

use std::path::Path;
use std::time::Duration;

use bosun_core::JobSpec;
use bosun_exec::RunOptions;

/// A job running `sh -c script`.
pub(crate) fn sh(script: &str) -> JobSpec {
    JobSpec::new("sh", vec!["-c".into(), script.into()])
}

/// Options logging into `dir`, with a short grace period for quick tests.
pub(crate) fn options(dir: &Path) -> RunOptions {
    let mut options = RunOptions::new(dir.join("output.log"), dir.join("error.log"));
    options.grace = Duration::from_millis(500);
    options
}

/// True while a process with this pid exists in any state, zombies included.
pub(crate) fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Reads whitespace-separated pids from a file written by a job.
pub(crate) fn pids_in(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("pid files hold numbers"))
        .collect()
}

/// Polls `cond` until it holds or `limit` passes.
pub(crate) async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
