//! Redis going away under a running worker: killed and started again, empty (no
//! persistence), on the same port. The worker reconnects, makes its streams and
//! groups again, and runs the jobs added after the restart. And a Redis that goes
//! silent without closing its connections is probed (TCP keepalive).

use bosun_worker::Role;

use crate::support::{Bench, LIMIT, wait_until};

/// On a shared server (`REDIS_URL`) there is nothing the test may restart.
fn restartable(bench: &Bench) -> bool {
    if !bench.redis.is_own() {
        eprintln!("skipped: REDIS_URL is a server this test cannot restart");
    }
    bench.redis.is_own()
}

#[tokio::test]
async fn jobs_added_after_redis_restarts_empty_are_run() {
    let mut bench = Bench::new().await;
    if !restartable(&bench) {
        return;
    }
    let _worker = bench.worker(bench.config("w1")).await;
    let before = vec!["before".to_owned()];
    bench.job(Role::Agent, "before", "before").await;
    assert!(bench.all_done(&before).await);

    bench.redis.restart();
    assert!(
        bench.notifications().await.is_empty(),
        "Redis came back empty"
    );
    let after = vec!["after-agent".to_owned(), "after-manager".to_owned()];
    bench.job(Role::Agent, "after-agent", "after").await;
    bench.job(Role::Manager, "after-manager", "after").await;

    assert!(
        bench.all_done(&after).await,
        "jobs after the restart were not run"
    );
    bench.assert_once_each(&after).await;
    assert_eq!(bench.llm.call_count(), 3);
}

#[tokio::test]
async fn a_worker_started_while_redis_is_down_runs_jobs_once_it_is_up() {
    let mut bench = Bench::new().await;
    if !restartable(&bench) {
        return;
    }
    bench.redis.kill();
    let _worker = bench.worker(bench.config("w1")).await;
    bench.redis.restart();
    let job = vec!["late".to_owned()];
    bench.job(Role::Inspector, "late", "late").await;
    assert!(bench.all_done(&job).await, "the job was not run");
    bench.assert_once_each(&job).await;
}

/// The kernel's timer for each established TCP connection to `port` (`/proc/net/tcp`
/// and `tcp6`): 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero window.
#[cfg(target_os = "linux")]
fn timers_towards(port: u16) -> Vec<u8> {
    let mut timers = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(state), Some(timer)) =
                (fields.get(2), fields.get(3), fields.get(5))
            else {
                continue;
            };
            let remote_port = remote
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            let established = *state == "01";
            if established && remote_port == Some(port) {
                timers.push(
                    timer
                        .split(':')
                        .next()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                );
            }
        }
    }
    timers
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_workers_redis_connections_are_probed_when_quiet() {
    let bench = Bench::new().await;
    if !bench.redis.is_own() {
        eprintln!("skipped: on a shared server (REDIS_URL) the connections cannot be told apart");
        return;
    }
    let port: u16 = bench
        .redis
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let before = timers_towards(port).iter().filter(|t| **t == 2).count();
    let worker = bench.worker(bench.config("probed")).await;
    // Its reader and its shared connection, once both are up.
    bench.job(Role::Agent, "probe-1", "hello").await;
    assert!(
        bench.all_done(&["probe-1".to_owned()]).await,
        "the job was not done"
    );
    // A connection with data in flight shows its retransmit timer instead: wait until
    // both are quiet.
    let probed = || timers_towards(port).iter().filter(|t| **t == 2).count() - before;
    let quiet = wait_until(LIMIT, || async { probed() >= 2 }).await;
    assert!(
        quiet,
        "{} of the worker's connections to Redis have a keepalive timer: {:?}",
        probed(),
        timers_towards(port)
    );
    assert!(worker.stop().await);
}
