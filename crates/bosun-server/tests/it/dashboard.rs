//! The dashboard's files, served by the server itself, and the live feed it reads.

use std::time::Duration;

use serde_json::json;

use crate::support::{TestServer, sh_job};

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
    let mut feed = server
        .http
        .get(server.url("/api/events"))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let (code, run) = server.post("/api/jobs/brief/run", json!({})).await;
    assert!(code == 200 || code == 202, "{run}");
    let id = run["id"].as_str().unwrap().to_owned();

    let mut seen = String::new();
    while !seen.contains("\"status\":\"CompletedSuccessfully\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), feed.chunk())
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
