//! The executions routes the dashboard reads beyond the plain list: its filters by
//! agent, trigger, package and time, the activity counts, and running an execution
//! again. Each test runs once per engine.

use serde_json::{Value, json};

use crate::hub::{agent, trigger, upload};
use crate::support::{TestServer, on_each_engine, sh_job};

/// The ids `GET /api/executions?{query}` lists, newest first.
async fn ids(server: &TestServer, query: &str) -> Vec<String> {
    let (status, page) = server.get(&format!("/api/executions?{query}")).await;
    assert_eq!(status, 200, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts `GET path` answers `status` with a message holding `says`.
async fn refused(server: &TestServer, path: &str, status: u16, says: &str) {
    let (code, body) = server.get(path).await;
    assert_eq!(code, status, "{path}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(says), "{path}: {message}");
}

/// Runs `job` through the API with `arguments` and waits for its end.
async fn ran(server: &TestServer, job: &str, arguments: Value) -> Value {
    let (status, execution) = server
        .post(
            &format!("/api/jobs/{job}/run"),
            json!({ "arguments": arguments }),
        )
        .await;
    assert_eq!(status, 202, "{execution}");
    server.finished(execution["id"].as_str().unwrap()).await
}

#[tokio::test]
async fn the_list_filters_by_agent_trigger_package_and_time() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("here", "true")).await;
        let first = ran(&server, "here", json!([])).await;
        let second = ran(&server, "here", json!([])).await;
        let local = vec![
            second["id"].as_str().unwrap().to_owned(),
            first["id"].as_str().unwrap().to_owned(),
        ];
        // Sent to an agent that is not connected: it waits there, Pending.
        let (robot, _) = agent(&server, "robot-1").await;
        let package = upload(&server, "hello", "1.0.0").await;
        let remote = trigger(&server, &robot, "hello").await;
        let (_, sent) = server.get(&format!("/api/executions/{remote}")).await;
        let remote = vec![remote];

        let (_, agents) = server.get("/api/agents").await;
        let builtin = agents["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "local")
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .unwrap();
        for (query, expected) in [
            ("agent=local", &local),
            ("agent=LOCAL", &local),
            (&format!("agent={builtin}"), &local),
            ("agent=robot-1", &remote),
            (&format!("agent={robot}"), &remote),
            ("trigger=SEED", &remote),
            ("trigger=api", &local),
            ("package=hello", &remote),
            (&format!("package={package}"), &remote),
            (
                &format!("from={}", sent["createdAt"].as_str().unwrap()),
                &remote,
            ),
            (
                &format!("to={}", sent["createdAt"].as_str().unwrap()),
                &local,
            ),
            ("agent=local&trigger=seed", &vec![]),
            (
                "job=here&agent=local&trigger=api&status=completedsuccessfully",
                &local,
            ),
        ] {
            assert_eq!(&ids(&server, query).await, expected, "{query}");
        }
        // Filters hold across pages.
        let (_, page) = server
            .get("/api/executions?agent=local&trigger=api&limit=1")
            .await;
        assert_eq!(page["items"][0]["id"], local[0].as_str());
        let next = page["next"].as_str().unwrap();
        let rest = ids(&server, &format!("agent=local&trigger=api&before={next}")).await;
        assert_eq!(rest, local[1..]);

        refused(
            &server,
            "/api/executions?trigger=cron",
            400,
            "use one of api, schedule, file, seed",
        )
        .await;
        refused(&server, "/api/executions?from=yesterday", 400, "RFC 3339").await;
        refused(&server, "/api/executions?to=2026-01-02", 400, "RFC 3339").await;
        refused(
            &server,
            "/api/executions?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            400,
            "is not before",
        )
        .await;
        refused(
            &server,
            "/api/executions?agent=robot-9",
            404,
            "agent not found",
        )
        .await;
        refused(
            &server,
            "/api/executions?package=nothing",
            404,
            "package not found",
        )
        .await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn activity_counts_the_last_hour_by_minute_and_the_last_day_by_quarter_hour() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("fine", "true")).await;
        server.post("/api/jobs", sh_job("broken", "exit 3")).await;
        ran(&server, "fine", json!([])).await;
        let failed = ran(&server, "broken", json!([])).await;
        assert_eq!(failed["status"], "Failed");

        for (query, window, seconds, count) in
            [("", "hour", 60, 60), ("?window=Day", "day", 900, 96)]
        {
            let (status, activity) = server
                .get(&format!("/api/executions/activity{query}"))
                .await;
            assert_eq!(status, 200, "not taken for an execution's id: {activity}");
            assert_eq!(activity["window"], window);
            assert_eq!(activity["bucketSeconds"], seconds);
            let buckets = activity["buckets"].as_array().unwrap();
            assert_eq!(buckets.len(), count, "every bucket, also the empty ones");
            let starts: Vec<chrono::DateTime<chrono::Utc>> = buckets
                .iter()
                .map(|b| b["start"].as_str().unwrap().parse().unwrap())
                .collect();
            assert!(
                starts
                    .windows(2)
                    .all(|w| (w[1] - w[0]).num_seconds() == seconds),
                "{starts:?}"
            );
            let last = *starts.last().unwrap();
            let now = chrono::Utc::now();
            assert!(last <= now && now - last < chrono::TimeDelta::seconds(seconds));
            let sum = |field: &str| {
                buckets
                    .iter()
                    .map(|b| b[field].as_i64().unwrap())
                    .sum::<i64>()
            };
            assert_eq!((sum("total"), sum("failed")), (2, 1), "{activity}");
        }
        refused(
            &server,
            "/api/executions/activity?window=week",
            400,
            "use one of hour, day",
        )
        .await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_rerun_runs_the_job_again_with_the_same_arguments_under_its_rules() {
    on_each_engine(|server| async move {
        server
            .post("/api/jobs", sh_job("echo", "echo \"got $1\""))
            .await;
        let first = ran(&server, "echo", json!(["x"])).await;
        let id = first["id"].as_str().unwrap();

        let (status, again) = server
            .post(&format!("/api/executions/{id}/rerun"), json!({}))
            .await;
        assert_eq!(status, 202, "{again}");
        assert_ne!(again["id"], first["id"]);
        assert_eq!(again["jobId"], first["jobId"]);
        assert_eq!(again["arguments"], json!(["x"]));
        assert_eq!(again["trigger"], "api");
        assert_eq!(again["triggerDetail"], format!("rerun of {id}"));
        let again_id = again["id"].as_str().unwrap();
        let done = server.finished(again_id).await;
        assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
        let log = server
            .text(&format!("/api/executions/{again_id}/logs"))
            .await;
        assert_eq!(log, "got x\n");

        // The job's duplicate policy (skip) applies as to a run request.
        server.post("/api/jobs", sh_job("slow", "sleep 60")).await;
        let (_, slow) = server.post("/api/jobs/slow/run", json!({})).await;
        let slow_id = slow["id"].as_str().unwrap();
        server.running(slow_id).await;
        let (status, body) = server
            .post(&format!("/api/executions/{slow_id}/rerun"), json!({}))
            .await;
        assert_eq!(status, 409, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("duplicatePolicy"),
            "{body}"
        );
        server
            .post(&format!("/api/executions/{slow_id}/cancel"), json!({}))
            .await;
        server.finished(slow_id).await;

        // Rerunning needs the permission to run.
        let (_, viewer) = server
            .post(
                "/api/tokens",
                json!({"name": "viewer", "permissions": ["executions:view"]}),
            )
            .await;
        let viewer = viewer["token"].as_str().unwrap();
        let rerun = server
            .http
            .post(server.url(&format!("/api/executions/{id}/rerun")));
        let (status, body) = server.send(rerun, viewer).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("executions:create")
        );

        let (status, body) = server
            .post("/api/executions/no-such-execution/rerun", json!({}))
            .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (404, Some("execution not found"))
        );
        let delete = server.http.delete(server.url("/api/jobs/echo"));
        assert_eq!(server.send(delete, &server.token).await.0, 204);
        let (status, body) = server
            .post(&format!("/api/executions/{id}/rerun"), json!({}))
            .await;
        assert_eq!(status, 404, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("was deleted"),
            "{body}"
        );
        server.stop().await;
    })
    .await;
}
