//! The dashboard's files, served by the server itself, and the live feed it reads.

use std::time::Duration;

use serde_json::json;

use crate::support::{TestServer, on_each_engine, sh_job};

#[tokio::test]
async fn the_page_is_served_without_a_token_and_allows_only_its_own_script() {
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = bosun_test_utils::database_urls(dir.path())
        .into_iter()
        .next()
        .unwrap();
    let server = TestServer::start(&dir.path().join("home"), &url).await;
    for (path, kind, holds) in [
        ("/", "text/html", "form id=\"login\""),
        (
            "/ui/app.js",
            "text/javascript",
            "readEvents(\"/api/events\"",
        ),
        ("/ui/lib.js", "text/javascript", "sessionStorage"),
        (
            "/ui/overview.js",
            "text/javascript",
            "/api/executions/activity",
        ),
        (
            "/ui/executions.js",
            "text/javascript",
            "export async function list",
        ),
        ("/ui/execution.js", "text/javascript", "/logs/follow"),
        ("/ui/jobs.js", "text/javascript", "/run"),
        ("/ui/fleet.js", "text/javascript", "packages/upload"),
        ("/ui/style.css", "text/css", "table"),
    ] {
        let answer = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        let headers = answer.headers().clone();
        let content_type = headers["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe"),
            "{policy}"
        );
        assert!(answer.text().await.unwrap().contains(holds), "{path}");
    }
    // Only the page's own files: any other name, or a way out of the folder, is a 404.
    for path in ["/ui/nope.js", "/ui/..%2FCargo.toml", "/ui/mod.rs"] {
        let answer = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_event_feed_tells_a_runs_start_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = bosun_test_utils::database_urls(dir.path())
        .into_iter()
        .next()
        .unwrap();
    let server = TestServer::start(&dir.path().join("home"), &url).await;
    let (code, _) = server.post("/api/jobs", sh_job("brief", "echo hi")).await;
    assert_eq!(code, 201);

    let refused = server
        .http
        .get(server.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // Opened with the token: 200 (checked by `open`).
    let mut feed = Feed::open(&server).await;
    let (code, run) = server.post("/api/jobs/brief/run", json!({})).await;
    assert!(code == 200 || code == 202, "{run}");
    let id = run["id"].as_str().unwrap().to_owned();

    let mut seen = String::new();
    while !seen.contains("\"status\":\"CompletedSuccessfully\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), feed.response.chunk())
            .await
            .expect("the feed tells the end in time")
            .unwrap()
            .expect("the feed goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: ExecutionStatusUpdate"), "{seen}");
    assert!(
        seen.contains(&id) && seen.contains("\"status\":\"Running\""),
        "{seen}"
    );
    server.stop().await;
}

/// The dashboard's feed, read as it arrives.
struct Feed {
    response: reqwest::Response,
    buffer: String,
}

impl Feed {
    async fn open(server: &TestServer) -> Self {
        let response = server
            .http
            .get(server.url("/api/events"))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next `ExecutionStatusUpdate`'s payload.
    async fn next(&mut self) -> serde_json::Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event
                    .strip_prefix("event: ExecutionStatusUpdate\ndata: ")
                    .map(str::trim_end)
                {
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("the feed tells the next event in time")
                .unwrap()
                .expect("the feed goes on");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The events of execution `id` until it ends, the end included.
    async fn of_until_end(&mut self, id: &str) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            if event["executionId"] != id {
                continue;
            }
            let status = event["status"].as_str().unwrap().to_owned();
            events.push(event);
            if !matches!(status.as_str(), "Pending" | "Running") {
                return events;
            }
        }
    }

    /// The id of the next execution told as created (Pending).
    async fn next_created(&mut self) -> String {
        loop {
            let event = self.next().await;
            if event["status"] == "Pending" {
                return event["executionId"].as_str().unwrap().to_owned();
            }
        }
    }
}

#[tokio::test]
async fn the_event_feed_tells_a_new_execution_then_its_status_lines_a_few_a_second() {
    on_each_engine(|server| async move {
        let script = "echo '::status:: step one'; sleep 0.5; \
                      i=0; while [ $i -lt 200 ]; do echo \"::status:: burst $i\"; i=$((i+1)); done; \
                      sleep 1";
        server.post("/api/jobs", sh_job("steps", script)).await;
        let mut feed = Feed::open(&server).await;
        let (code, run) = server.post("/api/jobs/steps/run", json!({})).await;
        assert_eq!(code, 202, "{run}");
        let id = run["id"].as_str().unwrap().to_owned();

        let events = feed.of_until_end(&id).await;
        let told: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (e["status"].as_str().unwrap(), e["message"].as_str()))
            .collect();
        assert_eq!(told[0], ("Pending", None), "{told:?}");
        assert_eq!(told[1], ("Running", None), "its start: {told:?}");
        assert_eq!(told[2], ("Running", Some("step one")), "{told:?}");
        let burst: Vec<usize> = (0..told.len())
            .filter(|&i| told[i].1.is_some_and(|m| m.starts_with("burst")))
            .collect();
        assert!(
            !burst.is_empty() && burst.len() <= 3,
            "200 lines in a burst are told at most once per 250 ms: {told:?}"
        );
        let last = *burst.last().unwrap();
        assert_eq!(told[last], ("Running", Some("burst 199")), "the latest wins: {told:?}");
        assert_eq!(last, told.len() - 2, "{told:?}");
        assert_eq!(told[last + 1].0, "CompletedSuccessfully");
        // Told by the wait's end, not held until the output ended a second later.
        let at = |i: usize| -> chrono::DateTime<chrono::Utc> {
            events[i]["timestamp"].as_str().unwrap().parse().unwrap()
        };
        assert!(
            at(last + 1) - at(last) > chrono::TimeDelta::milliseconds(500),
            "{events:?}"
        );

        // A rerun, a schedule and a file are told as they create executions too.
        let (code, again) = server
            .post(&format!("/api/executions/{id}/rerun"), json!({}))
            .await;
        assert_eq!(code, 202, "{again}");
        assert_eq!(feed.next_created().await, again["id"].as_str().unwrap());
        let cancel = format!("/api/executions/{}/cancel", again["id"].as_str().unwrap());
        assert_eq!(server.post(&cancel, json!({})).await.0, 202);

        for (name, script) in [("ticks", "true"), ("files", "true")] {
            let mut job = sh_job(name, script);
            job["duplicatePolicy"] = json!("queue");
            server.post("/api/jobs", job).await;
        }
        let (code, schedule) = server
            .post("/api/jobs/ticks/schedules", json!({ "every": "1s" }))
            .await;
        assert_eq!(code, 201, "{schedule}");
        let dir = tempfile::tempdir().unwrap();
        let inbox = std::fs::canonicalize(dir.path()).unwrap();
        let (code, watch) = server
            .post(
                "/api/jobs/files/triggers",
                json!({ "directory": inbox, "glob": "*.csv", "debounceMs": 100 }),
            )
            .await;
        assert_eq!(code, 201, "{watch}");
        std::fs::write(inbox.join("a.csv"), "1\n").unwrap();
        let mut seen = std::collections::HashSet::new();
        let both = tokio::time::timeout(Duration::from_secs(30), async {
            while seen.len() < 2 {
                let created = feed.next_created().await;
                let (_, execution) = server.get(&format!("/api/executions/{created}")).await;
                seen.insert(execution["trigger"].as_str().unwrap().to_owned());
            }
        });
        assert!(both.await.is_ok(), "told only {seen:?}");
        assert!(seen.contains("schedule") && seen.contains("file"), "{seen:?}");
        let schedule = format!("/api/schedules/{}", schedule["id"].as_str().unwrap());
        let delete = server.http.delete(server.url(&schedule));
        assert_eq!(server.send(delete, &server.token).await.0, 204);
        server.stop().await;
    })
    .await;
}
