//! Shutdown, as SIGTERM asks for it (the shutdown token, in-process): the worker stops
//! reading, running jobs get the drain deadline to finish, and those still running
//! after it stay pending for another worker. Nothing is lost.

use std::time::Duration;

use bosun_worker::Role;

use crate::support::{Bench, LIMIT, Step, wait_for_async, wait_until};

#[tokio::test]
async fn on_shutdown_a_running_job_finishes_and_nothing_more_is_read() {
    let bench = Bench::new().await;
    bench
        .llm
        .script("<running>", [Step::echo().after(Duration::from_secs(1))]);
    let worker = bench.worker(bench.config("w1")).await;
    bench.job(Role::Agent, "running", "<running>").await;
    assert!(wait_for_async(LIMIT, || bench.llm.in_flight() == 1).await);

    worker.shutdown.cancel();
    let waiting = bench.job(Role::Agent, "waiting", "<waiting>").await;
    assert!(worker.stop().await, "the worker did not stop");

    let running = vec!["running".to_owned()];
    assert!(
        bench.all_done(&running).await,
        "the running job was not finished"
    );
    bench.assert_once_each(&running).await;
    assert!(bench.result("waiting").await.is_none());
    assert_eq!(
        bench.llm.calls_with("<waiting>"),
        0,
        "nothing is read after shutdown"
    );
    assert!(
        bench
            .entries(&bench.stream(Role::Agent))
            .await
            .iter()
            .any(|(id, _)| *id == waiting),
        "the waiting job is still in its stream"
    );

    let _next = bench.worker(bench.config("w2")).await;
    let both = vec!["running".to_owned(), "waiting".to_owned()];
    assert!(
        bench.all_done(&both).await,
        "the next worker did not run it"
    );
    bench.assert_once_each(&both).await;
    assert_eq!(
        bench.result("waiting").await.expect("done").saved.consumer,
        "w2"
    );
}

#[tokio::test]
async fn past_the_drain_deadline_a_job_stays_pending_and_another_worker_takes_it_over() {
    let bench = Bench::new().await;
    // The first call outlasts the deadline; the next one answers at once.
    bench
        .llm
        .script("<slow>", [Step::echo().after(Duration::from_secs(120))]);
    let mut config = bench.config("w1");
    config.drain_timeout = Duration::from_millis(100);
    let worker = bench.worker(config).await;
    let entry = bench.job(Role::Agent, "slow", "<slow>").await;
    assert!(wait_for_async(LIMIT, || bench.llm.in_flight() == 1).await);

    assert!(
        worker.stop().await,
        "the worker did not stop after its deadline"
    );
    assert!(bench.result("slow").await.is_none(), "it did not finish");
    assert_eq!(
        bench.pending(Role::Agent).await,
        [(entry.clone(), "w1".to_owned(), 1)],
        "it stays pending on w1"
    );

    let _next = bench.worker(bench.config("w2")).await;
    let job = vec!["slow".to_owned()];
    assert!(bench.all_done(&job).await, "w2 did not take it over");
    bench.assert_once_each(&job).await;
    let saved = bench.result("slow").await.expect("done").saved;
    assert_eq!((saved.consumer.as_str(), saved.attempts), ("w2", 2));
    assert!(saved.succeeded, "{}", saved.output);
    assert!(bench.dead().await.is_empty());
}

#[tokio::test]
async fn past_the_drain_deadline_a_process_job_is_stopped_and_stays_pending() {
    let bench = Bench::new().await;
    // The first run sleeps (its pid in the marker file); a later one ends at once.
    let marker = bench.dir.path().join("first-run.pid");
    let script = format!(
        "if [ -s {m} ]; then exit 0; fi; echo $$ > {m}; exec sleep 60",
        m = marker.display()
    );
    let payload =
        serde_json::json!({"process": {"command": "sh", "arguments": ["-c", script]}}).to_string();
    let mut config = bench.config("w1");
    config.drain_timeout = Duration::from_millis(100);
    let worker = bench.worker(config).await;
    let entry = bench
        .add(
            Role::Process,
            &[("jobId", "sleeper"), ("payload", &payload)],
        )
        .await;
    let pid = || {
        std::fs::read_to_string(&marker)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
    };
    assert!(
        wait_for_async(LIMIT, || pid().is_some()).await,
        "the process did not start"
    );
    let pid = pid().expect("waited for");

    assert!(
        worker.stop().await,
        "the worker did not stop after its deadline"
    );
    assert!(
        wait_for_async(LIMIT, || !bosun_test_utils::exists(pid)).await,
        "the process outlived its worker"
    );
    assert!(bench.result("sleeper").await.is_none());
    assert_eq!(
        bench.pending(Role::Process).await,
        [(entry, "w1".to_owned(), 1)]
    );

    let _next = bench.worker(bench.config("w2")).await;
    let job = vec!["sleeper".to_owned()];
    assert!(bench.all_done(&job).await, "w2 did not take it over");
    bench.assert_once_each(&job).await;
    let saved = bench.result("sleeper").await.expect("done").saved;
    assert!(saved.succeeded, "{}", saved.output);
    assert_eq!((saved.consumer.as_str(), saved.attempts), ("w2", 2));
}

/// How many clients the test's Redis has connected.
async fn clients(bench: &Bench) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("clients")
        .query_async(&mut bench.redis().await)
        .await
        .expect("INFO works");
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO clients says how many are connected")
}

#[tokio::test]
async fn a_worker_whose_run_is_dropped_lets_go_of_redis() {
    let bench = Bench::new().await;
    if !bench.redis.is_own() {
        eprintln!("skipped: on a shared server (REDIS_URL) other clients come and go");
        return;
    }
    // Each count is taken on a connection of its own, which it counts too.
    let before = clients(&bench).await;
    let worker = bench.worker(bench.config("dropped")).await;
    bench.job(Role::Agent, "before-the-drop", "hello").await;
    assert!(bench.all_done(&["before-the-drop".to_owned()]).await);
    assert!(
        clients(&bench).await >= before + 2,
        "the worker is connected"
    );
    worker.crash();
    let gone = wait_until(LIMIT, || async { clients(&bench).await == before }).await;
    assert!(
        gone,
        "{} clients left of {before}: the worker's tasks outlived it",
        clients(&bench).await
    );
}
