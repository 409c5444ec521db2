//! Redis going away under a running worker: killed and started again, empty (no
//! persistence), on the same port. The worker reconnects, makes its streams and
//! groups again, and runs the jobs added after the restart.

use bosun_worker::Role;

use crate::support::Bench;

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
