//! Helpers shared by bosun's integration tests, so each crate's tests check processes
//! and wait for conditions the same way.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// True while a process with this pid exists in any state, zombies included.
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Reads whitespace-separated pids from a file a job wrote (none if it is absent).
pub fn pids_in(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("pid files hold numbers"))
        .collect()
}

/// Polls `cond` every 20 ms until it holds or `limit` passes; blocks the thread.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// [`wait_for`] for async tests: sleeps without blocking the runtime.
pub async fn wait_for_async(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
