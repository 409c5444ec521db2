//! `bosun worker`, the real binary: two workers against the test's own `redis-server`
//! and a fake LLM inside the test, one killed with SIGKILL mid-job; and bad settings.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::Duration;

use bosun_test_utils::fake_llm::FakeLlm;
use bosun_test_utils::redis_server::RedisServer;
use bosun_test_utils::{wait_for_async, wait_until};
use nix::sys::signal::Signal;
use redis::AsyncCommands;

use crate::support::{TestHome, code, signal, stderr, wait_for};

/// Generous: a passing test never waits this long.
const LIMIT: Duration = Duration::from_secs(30);

/// The seeds' and bosun's worker settings, which the tests' environment must not set.
const SETTINGS: &[&str] = &[
    "REDIS_CONNECTION",
    "LLM_ENDPOINT",
    "MAX_MANAGER",
    "MAX_INSPECTOR",
    "MAX_AGENT",
    "MAX_TOTAL",
    "BOSUN_REDIS",
    "BOSUN_LLM_ENDPOINT",
    "BOSUN_LLM_API_KEY",
    "BOSUN_MAX_MANAGER",
    "BOSUN_MAX_INSPECTOR",
    "BOSUN_MAX_AGENT",
    "BOSUN_MAX_PROCESS",
    "BOSUN_MAX_CHAT",
    "BOSUN_MAX_TOTAL",
    "BOSUN_CONSUMER",
    "BOSUN_DATABASE_URL",
    "BOSUN_METRICS",
];

/// `bosun worker` with this home and none of the settings from the environment.
fn worker_command(home: &TestHome) -> std::process::Command {
    let mut command = home.bosun();
    command.arg("worker");
    for name in SETTINGS {
        command.env_remove(name);
    }
    command
}

/// A `bosun worker` process, its log in a file; killed if the test ends first.
struct WorkerProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl WorkerProcess {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the workers share.
struct Fleet<'a> {
    home: &'a TestHome,
    redis: &'a RedisServer,
    llm: &'a FakeLlm,
    database_url: String,
    group: String,
}

impl Fleet<'_> {
    fn start(&self, consumer: &str) -> WorkerProcess {
        let log = self.home.path().join(format!("{consumer}.log"));
        let stderr = std::fs::File::create(&log).expect("the log file can be made");
        let child = worker_command(self.home)
            .args(["--redis", &self.redis.url()])
            .args(["--llm-endpoint", self.llm.url()])
            .args(["--roles", "agent", "--max-agent", "2"])
            .args(["--claim-idle", "1s", "--drain-timeout", "10s"])
            .args(["--consumer", consumer, "--group", &self.group])
            .args(["--database-url", &self.database_url])
            .arg("--home")
            .arg(self.home.path())
            .env("BOSUN_LOG", "bosun_worker=info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("bosun worker can be started");
        WorkerProcess { child, log }
    }
}

/// Entries of `jobs:agent` pending in `group`: (entry id, consumer).
async fn pending(
    conn: &mut redis::aio::MultiplexedConnection,
    group: &str,
) -> Vec<(String, String)> {
    let rows: redis::RedisResult<Vec<(String, String, u64, u64)>> = redis::cmd("XPENDING")
        .arg("jobs:agent")
        .arg(group)
        .arg("-")
        .arg("+")
        .arg(1000)
        .query_async(conn)
        .await;
    rows.unwrap_or_default()
        .into_iter()
        .map(|(id, consumer, ..)| (id, consumer))
        .collect()
}

/// How many notifications on `signalr:updates` there are per `JobId`.
async fn notified(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, usize> {
    let reply: redis::streams::StreamRangeReply = conn
        .xrange_all("signalr:updates")
        .await
        .expect("XRANGE works");
    let mut counts = HashMap::new();
    for entry in reply.ids {
        if let Some(job) = entry.get::<String>("JobId") {
            *counts.entry(job).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_no_job_and_runs_none_twice() {
    let redis = RedisServer::start();
    let llm = FakeLlm::start().await;
    let home = TestHome::new();
    let ns = redis.namespace();
    let fleet = Fleet {
        home: &home,
        redis: &redis,
        llm: &llm,
        database_url: format!("sqlite://{}", home.path().join("bosun.db").display()),
        group: format!("{ns}executor-group"),
    };
    // Every call waits until released, so w1 is surely mid-job when it is killed.
    llm.hold();
    let w1 = fleet.start("w1");
    let mut w2 = fleet.start("w2");
    let mut conn = redis::Client::open(redis.url())
        .expect("the Redis URL is valid")
        .get_multiplexed_async_connection()
        .await
        .expect("the test's Redis answers");
    let jobs: Vec<String> = (0..20).map(|i| format!("{ns}job-{i}")).collect();
    for id in &jobs {
        let _: String = conn
            .xadd(
                "jobs:agent",
                "*",
                &[("jobId", id.as_str()), ("task", &format!("<{id}>"))],
            )
            .await
            .expect("XADD works");
    }

    // Both are at their limit of 2, held.
    let both_busy = wait_until(LIMIT, || {
        let mut conn = conn.clone();
        let group = fleet.group.clone();
        async move {
            let pending = pending(&mut conn, &group).await;
            ["w1", "w2"]
                .iter()
                .all(|w| pending.iter().filter(|(_, c)| c == w).count() == 2)
        }
    })
    .await;
    assert!(
        both_busy,
        "the workers did not both start jobs: {}\n{}",
        w1.log(),
        w2.log()
    );
    let orphans: Vec<String> = pending(&mut conn, &fleet.group)
        .await
        .into_iter()
        .filter(|(_, c)| c == "w1")
        .map(|(id, _)| id)
        .collect();
    let w1_log = w1.log.clone();
    signal(w1.child.id(), Signal::SIGKILL);
    drop(w1);
    llm.set_delay(Duration::from_millis(100));
    llm.release();

    let store = bosun_store::Store::open(&fleet.database_url)
        .await
        .expect("the workers' store opens");
    let all_done = wait_until(LIMIT, || async {
        for id in &jobs {
            if store.worker_result(id).await.ok().flatten().is_none() {
                return false;
            }
        }
        let notified = notified(&mut conn.clone()).await;
        jobs.iter().all(|id| notified.contains_key(id))
    })
    .await;
    assert!(
        all_done,
        "not every job was done\nw1: {}\nw2: {}",
        std::fs::read_to_string(&w1_log).unwrap_or_default(),
        w2.log()
    );
    // Once w2 is idle nothing more can happen; then count.
    assert!(wait_for_async(LIMIT, || llm.in_flight() == 0).await);
    let notified = notified(&mut conn).await;
    for id in &jobs {
        assert_eq!(notified.get(id), Some(&1), "{id}: one notification");
        let saved = store
            .worker_result(id)
            .await
            .expect("the store can be read")
            .expect("saved")
            .saved;
        assert!(saved.succeeded, "{id}: {}", saved.output);
        assert_eq!(saved.consumer, "w2", "w1 was killed before it finished any");
        let expected = if orphans.contains(&saved.entry_id) {
            2
        } else {
            1
        };
        assert_eq!(saved.attempts, expected, "{id}: deliveries");
    }
    assert_eq!(
        pending(&mut conn, &fleet.group).await,
        [],
        "nothing is left pending"
    );

    // SIGTERM: w2 has nothing running and stops at once, cleanly.
    signal(w2.child.id(), Signal::SIGTERM);
    let exited = wait_for_async(LIMIT, || w2.child.try_wait().ok().flatten().is_some()).await;
    assert!(exited, "w2 did not stop on SIGTERM: {}", w2.log());
    let status = w2.child.wait().expect("w2 was waited for");
    assert_eq!(status.code(), Some(0), "{}", w2.log());
}

/// Runs `command` to its end: a worker that took a bad setting and started is stopped
/// after [`LIMIT`], and the test fails.
fn to_the_end(command: &mut std::process::Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bosun can be started");
    let ended = wait_for(LIMIT, || child.try_wait().ok().flatten().is_some());
    if !ended {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("bosun was waited for");
    assert!(ended, "bosun worker started anyway: {}", stderr(&out));
    out
}

/// A bad setting: a variable of the environment, or flags.
#[derive(Debug)]
enum Bad {
    Env(&'static str, &'static str),
    Flags(&'static [&'static str]),
}

#[test]
fn bad_settings_exit_2_with_one_clear_line() {
    let home = TestHome::new();
    let cases = [
        (
            Bad::Env("MAX_AGENT", "abc"),
            "MAX_AGENT=\"abc\" is not a number",
        ),
        (
            Bad::Env("MAX_TOTAL", "-1"),
            "MAX_TOTAL=\"-1\" is not a number",
        ),
        (
            Bad::Env("REDIS_CONNECTION", "cache:6379,ssl=true"),
            "ssl=true",
        ),
        (
            Bad::Env("REDIS_CONNECTION", "cache:6379,colour=blue"),
            "colour",
        ),
        (
            Bad::Env("REDIS_CONNECTION", "redis://"),
            "not a usable Redis address",
        ),
        (
            Bad::Flags(&["--redis", "redis://:port"]),
            "not a usable Redis address",
        ),
        (
            Bad::Env("LLM_ENDPOINT", "https://llm.example/v1/chat/completions"),
            "plain HTTP",
        ),
        (
            Bad::Env("LLM_ENDPOINT", "localhost:11434/v1/chat/completions"),
            "not an http:// URL",
        ),
        (Bad::Flags(&["--max-tokens", "agent=lots"]), "--max-tokens"),
    ];
    for (bad, says) in cases {
        let mut command = worker_command(&home);
        match bad {
            Bad::Env(name, value) => command.env(name, value),
            Bad::Flags(flags) => command.args(flags),
        };
        let out = to_the_end(&mut command);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{bad:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: one line, not {err:?}");
        assert!(
            err.starts_with("bosun: ") && err.contains(says),
            "{bad:?}: {err}"
        );
    }
}
