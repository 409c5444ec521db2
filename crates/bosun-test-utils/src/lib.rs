//! Helpers shared by bosun's integration tests, so each crate's tests check processes
//! and wait for conditions the same way.
#![forbid(unsafe_code)]

pub mod fake_llm;
pub mod redis_server;
pub mod stats;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

/// True while a process with this pid exists in any state, zombies included.
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// True while a process with this pid runs: it exists and is not a zombie. A job
/// orphaned by a killed server is reparented to init, which may never reap it (a
/// container's init often does not), so "gone" means "not running" here.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name's closing bracket; Z is a zombie, X dead.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
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

/// [`wait_for_async`] for a condition that must await (a query): polls every 20 ms.
pub async fn wait_until<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond().await
}

/// The database URLs a store test runs against: a fresh SQLite file in `dir`, and a
/// fresh PostgreSQL database (created by the store on first open) on the server
/// `BOSUN_TEST_POSTGRES` names, default `postgres://postgres@127.0.0.1:5432`.
/// `BOSUN_TEST_POSTGRES=off` leaves PostgreSQL out, for a machine without it.
pub fn database_urls(dir: &Path) -> Vec<(&'static str, String)> {
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}", dir.join("bosun.db").display()),
    )];
    let server = std::env::var("BOSUN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    if server != "off" {
        let unique = format!(
            "bosun_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        urls.push((
            "postgres",
            format!("{}/{unique}", server.trim_end_matches('/')),
        ));
    }
    urls
}

/// The message for a PostgreSQL test that could not reach its server.
pub const POSTGRES_HELP: &str = "these tests need PostgreSQL: start one on 127.0.0.1:5432 \
that lets user `postgres` in without a password (e.g. `apt-get install postgresql`), point \
BOSUN_TEST_POSTGRES at another server (postgres://user:pass@host:port), or set \
BOSUN_TEST_POSTGRES=off to skip them";
