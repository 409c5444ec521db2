//! The runner's promises that its batching and claiming ahead must keep: a job's
//! history stays within its limit (logs included), a `queue` job runs one at a time,
//! and an execution cancelled while it waits for a slot never starts.

use std::time::Duration;

use bosun_server::ServerConfig;
use bosun_test_utils::{database_urls, drop_test_database};
use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine, sh_job};

/// Polls `check` until it holds, for at most ten seconds.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn run(server: &TestServer, job: &str) -> String {
    let (status, execution) = server
        .post(&format!("/api/jobs/{job}/run"), json!({}))
        .await;
    assert_eq!(status, 202, "{execution}");
    execution["id"].as_str().unwrap().to_owned()
}

async fn history(server: &TestServer, job: &str) -> Vec<Value> {
    let (_, list) = server.get(&format!("/api/executions?job={job}")).await;
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_jobs_history_is_kept_to_its_limit_and_the_pruned_logs_go_too() {
    on_each_engine(|server| async move {
        let mut job = sh_job("short", "echo hi");
        job["duplicatePolicy"] = json!("allow");
        job["historyLimit"] = json!(3);
        assert_eq!(server.post("/api/jobs", job).await.0, 201);
        let mut ids = Vec::new();
        for _ in 0..7 {
            ids.push(run(&server, "short").await);
        }
        for id in &ids {
            // A pruned one answers 404, which ends the wait too.
            server.finished(id).await;
        }
        let kept = async || history(&server, "short").await.len() == 3;
        assert!(
            eventually(kept).await,
            "{:?}",
            history(&server, "short").await
        );
        let kept: Vec<Value> = history(&server, "short").await;
        let newest: Vec<&str> = ids.iter().rev().take(3).map(String::as_str).collect();
        let kept_ids: Vec<&str> = kept.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(kept_ids, newest, "the newest are kept");
        assert!(kept.iter().all(|e| e["status"] == "CompletedSuccessfully"));
        let logs = server.home.join("Logs");
        let dirs = std::fs::read_dir(&logs).unwrap().count();
        assert_eq!(dirs, 3, "only the kept executions keep their logs");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_queue_job_runs_one_execution_at_a_time() {
    on_each_engine(|server| async move {
        let mut job = sh_job("one-by-one", "sleep 0.2");
        job["duplicatePolicy"] = json!("queue");
        assert_eq!(server.post("/api/jobs", job).await.0, 201);
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(run(&server, "one-by-one").await);
        }
        let mut spans = Vec::new();
        for id in &ids {
            let done = server.finished(id).await;
            assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
            let at = |field: &str| {
                chrono::DateTime::parse_from_rfc3339(done[field].as_str().unwrap()).unwrap()
            };
            spans.push((at("startTime"), at("endTime")));
        }
        spans.sort();
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "two ran at once: {spans:?}");
        }
        server.stop().await;
    })
    .await;
}

/// A server with one slot and this drain deadline, its slot taken by an execution of
/// `long` (`sleep 60`, `duplicatePolicy: allow`), which is returned.
async fn one_slot_taken(
    home: &std::path::Path,
    url: String,
    drain: Duration,
) -> (TestServer, String) {
    let mut config = ServerConfig::new(home);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(url);
    config.max_concurrent = 1;
    config.drain_timeout = drain;
    let server = TestServer::start_with(config, None).await;
    let mut job = sh_job("long", "sleep 60");
    job["duplicatePolicy"] = json!("allow");
    assert_eq!(server.post("/api/jobs", job).await.0, 201);
    let first = run(&server, "long").await;
    server.running(&first).await;
    (server, first)
}

#[tokio::test]
async fn an_execution_cancelled_while_it_waits_for_a_slot_never_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let (server, first) = one_slot_taken(
            &dir.path().join(engine),
            url.clone(),
            Duration::from_secs(5),
        )
        .await;
        let second = run(&server, "long").await;
        // Claimed ahead of a free slot, or still in the queue: either way it waits.
        let waiting = async || {
            let (_, e) = server.get(&format!("/api/executions/{second}")).await;
            e["runner"] == "local" && e["status"] == "Pending"
        };
        assert!(eventually(waiting).await);

        let (status, _) = server
            .post(&format!("/api/executions/{second}/cancel"), json!({}))
            .await;
        assert_eq!(status, 202);
        let done = server.finished(&second).await;
        assert_eq!(done["status"], "Cancelled", "{done}");
        assert_eq!(done["message"], "cancelled before it started", "{done}");
        assert_eq!(done["pid"], Value::Null, "it never started: {done}");
        let events: Vec<&str> = done["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["Pending", "Cancelled"]);

        server
            .post(&format!("/api/executions/{first}/cancel"), json!({}))
            .await;
        assert_eq!(server.finished(&first).await["status"], "Cancelled");
        server.stop().await;
        drop_test_database(&url).await;
    }
}

#[tokio::test]
async fn an_execution_waiting_for_a_slot_when_the_server_stops_runs_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let drain = Duration::from_millis(500);
        let (server, first) = one_slot_taken(&dir.path().join(engine), url.clone(), drain).await;
        // Taken by the runner as it was created, behind the running one.
        let second = run(&server, "long").await;
        let (_, waiting) = server.get(&format!("/api/executions/{second}")).await;
        assert_eq!(
            (waiting["status"].as_str(), waiting["runner"].as_str()),
            (Some("Pending"), Some("local")),
            "{waiting}"
        );
        let (home, token) = (server.home.clone(), server.token.clone());
        server.stop().await;

        let again = TestServer::start_again(&home, &url, token).await;
        let (_, first) = again.get(&format!("/api/executions/{first}")).await;
        assert_eq!(
            first["status"], "Cancelled",
            "the drain deadline stops it: {first}"
        );
        let started = again.running(&second).await;
        assert_eq!(started["status"], "Running", "{started}");
        again
            .post(&format!("/api/executions/{second}/cancel"), json!({}))
            .await;
        assert_eq!(again.finished(&second).await["status"], "Cancelled");
        again.stop().await;
        drop_test_database(&url).await;
    }
}
