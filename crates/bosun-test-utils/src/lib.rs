//! Helpers shared by bosun's integration tests and benches, so each crate's tests check processes
//! and wait for conditions the same way.
#![forbid(unsafe_code)]

pub mod bench;
pub mod browser;
pub mod fake_llm;
pub mod redis_server;
pub mod s3_server;
pub mod signalr_js;
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
            "bosun_test_{}_{}_{}",
            host_tag(),
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

/// This machine's name as it goes into a test database's name: up to 12 letters and
/// digits, so that a sweep of stale databases keeps to its own machine's.
fn host_tag() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let tag: String = host
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    if tag.is_empty() {
        "host".to_owned()
    } else {
        tag
    }
}

/// Drops the PostgreSQL database of `url`, one [`database_urls`] named, once its test
/// is done, and those left by test processes that are gone (a run that failed or was
/// killed before it dropped its own), so that test runs do not fill the server: each
/// database is several megabytes. Open connections to it are ended (`WITH (FORCE)`). A
/// SQLite URL, or a server that cannot be reached, is left alone: the test said what
/// it needed already.
pub async fn drop_test_database(url: &str) {
    use sqlx::{Connection, Executor};
    let Some((server, name)) = url.rsplit_once('/') else {
        return;
    };
    if !url.starts_with("postgres") || !name.starts_with("bosun_test_") {
        return;
    }
    let Ok(mut conn) = sqlx::PgConnection::connect(&format!("{server}/postgres")).await else {
        return;
    };
    let mut gone = vec![name.to_owned()];
    let listed: Result<Vec<(String,)>, _> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'bosun\\_test\\_%'")
            .fetch_all(&mut conn)
            .await;
    // Only this machine's: a pid says nothing of a process elsewhere.
    let mine = format!("bosun_test_{}_", host_tag());
    for (other,) in listed.unwrap_or_default() {
        let pid = other
            .strip_prefix(&mine)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !exists(pid)) {
            gone.push(other);
        }
    }
    for name in gone {
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = conn.execute(drop.as_str()).await;
    }
    let _ = conn.close().await;
}

/// The message for a PostgreSQL test that could not reach its server.
pub const POSTGRES_HELP: &str = "these tests need PostgreSQL: start one on 127.0.0.1:5432 \
that lets user `postgres` in without a password (e.g. `apt-get install postgresql`), point \
BOSUN_TEST_POSTGRES at another server (postgres://user:pass@host:port), or set \
BOSUN_TEST_POSTGRES=off to skip them";
