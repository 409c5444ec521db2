//! `duplicatePolicy: "skip"` under concurrent run requests: exactly one is admitted,
//! the others answer 409, on each engine and across two servers sharing one
//! PostgreSQL database.
//!
//! Regression: the policy was a count of the job's active executions read before the
//! insert, so requests that arrived together all read zero and all were admitted.

use std::time::Duration;

use bosun_server::ServerConfig;
use bosun_test_utils::{database_urls, drop_test_database};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine, sh_job};

/// How many run requests are sent at once.
const REQUESTS: usize = 16;

/// Sends `count` run requests for `job` to each server at once; their answers.
async fn run_together(servers: &[&TestServer], job: &str, count: usize) -> Vec<(u16, Value)> {
    let path = format!("/api/jobs/{job}/run");
    let requests = servers
        .iter()
        .flat_map(|server| (0..count).map(|_| server.post(&path, json!({}))))
        .collect::<Vec<_>>();
    join_all(requests).await
}

/// Exactly one answer is 202 and every other one 409; the admitted execution's id.
fn exactly_one_admitted(answers: &[(u16, Value)]) -> String {
    let admitted: Vec<_> = answers.iter().filter(|(s, _)| *s == 202).collect();
    assert_eq!(admitted.len(), 1, "exactly one run admitted: {answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 409, "{body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("is already running")),
            "{body}"
        );
    }
    admitted[0].1["id"]
        .as_str()
        .expect("an execution has an id")
        .to_owned()
}

/// Cancels the execution and waits for its end.
async fn cancel(server: &TestServer, id: &str) {
    let (status, body) = server
        .post(&format!("/api/executions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    server.finished(id).await;
}

#[tokio::test]
async fn concurrent_runs_of_a_skip_job_admit_exactly_one() {
    on_each_engine(|server| async move {
        let (status, body) = server.post("/api/jobs", sh_job("long", "sleep 30")).await;
        assert_eq!(status, 201, "{body}");
        // Several rounds: one that happened to be serialized proves little.
        for _ in 0..3 {
            let answers = run_together(&[&server], "long", REQUESTS).await;
            let id = exactly_one_admitted(&answers);
            assert_eq!(
                server
                    .executions_of("long")
                    .await
                    .iter()
                    .filter(|e| { matches!(e["status"].as_str(), Some("Pending" | "Running")) })
                    .count(),
                1,
                "one execution is active"
            );
            cancel(&server, &id).await;
        }
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn two_servers_on_one_postgresql_admit_one_run_of_a_skip_job() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_, url)) = database_urls(dir.path())
        .into_iter()
        .find(|(engine, _)| *engine == "postgres")
    else {
        eprintln!("PostgreSQL is off: nothing to test");
        return;
    };
    let first = TestServer::start(&dir.path().join("first"), &url).await;
    let mut config = ServerConfig::new(dir.path().join("second"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(url.clone());
    config.drain_timeout = Duration::from_secs(5);
    let second = TestServer::start_with(config, Some(first.token.clone())).await;

    let (status, body) = first.post("/api/jobs", sh_job("long", "sleep 30")).await;
    assert_eq!(status, 201, "{body}");
    for _ in 0..3 {
        let answers = run_together(&[&first, &second], "long", REQUESTS / 2).await;
        let id = exactly_one_admitted(&answers);
        // Either server's runner may have it, and a cancel reaches the runner of the
        // server it is sent to: send it to both.
        let path = format!("/api/executions/{id}/cancel");
        let (a, b) = tokio::join!(first.post(&path, json!({})), second.post(&path, json!({})));
        assert_eq!((a.0, b.0), (202, 202), "{a:?} {b:?}");
        first.finished(&id).await;
    }
    first.stop().await;
    second.stop().await;
    drop_test_database(&url).await;
}
