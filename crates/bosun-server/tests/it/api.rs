//! The API's contract: auth and tenants, jobs, executions, logs, monitor, seed routes,
//! restarts.

use std::time::Duration;

use bosun_store::Store;
use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine, sh_job};

#[tokio::test]
async fn a_job_runs_with_its_status_lines_history_and_logs() {
    on_each_engine(|server| async move {
        let job = sh_job(
            "report",
            "echo '::status:: fetching'; echo '::progress:: 50'; echo \"hello $1\"; echo oops >&2",
        );
        let (status, created) = server.post("/api/jobs", job).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["kind"], "process");

        let (status, execution) = server
            .post("/api/jobs/report/run", json!({"arguments": ["world"]}))
            .await;
        assert_eq!(status, 202, "{execution}");
        assert_eq!(execution["status"], "Pending");
        let done = server.finished(execution["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
        assert_eq!(done["exitCode"], 0);
        assert_eq!(done["statusMessage"], "fetching");
        assert_eq!(done["progress"], 50);
        assert!(done["pid"].as_i64().unwrap() > 0);
        let history: Vec<&str> = done["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["Pending", "Running", "CompletedSuccessfully"]);

        let id = done["id"].as_str().unwrap();
        let log = server.text(&format!("/api/executions/{id}/logs")).await;
        assert!(log.contains("hello world\n"), "{log}");
        let tail = server
            .text(&format!("/api/executions/{id}/logs?stream=stderr&tail=1"))
            .await;
        assert_eq!(tail, "oops\n");

        let (_, list) = server
            .get("/api/executions?job=report&status=completedsuccessfully")
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_run_after_another_server_changed_the_job_runs_what_the_job_is_now() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("say", "echo first")).await;
        let run = async |server: &TestServer| {
            let (status, execution) = server.post("/api/jobs/say/run", json!({})).await;
            assert_eq!(status, 202, "{execution}");
            let id = execution["id"].as_str().unwrap().to_owned();
            server.finished(&id).await;
            server.text(&format!("/api/executions/{id}/logs")).await
        };
        assert_eq!(run(&server).await, "first\n");
        // Another server on the same store changes it, then deletes it: this one
        // hears of neither.
        let other = Store::open(&server.database_url).await.unwrap();
        let (_, job) = server.get("/api/jobs/say").await;
        let (tenant, id) = (
            job["tenantId"].as_str().unwrap(),
            job["id"].as_str().unwrap(),
        );
        let changed = sh_job("say", "echo second");
        other
            .update_job(tenant, id, "say", &changed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run(&server).await, "second\n");
        assert!(other.delete_job(tenant, id).await.unwrap());
        let (status, body) = server.post("/api/jobs/say/run", json!({})).await;
        assert_eq!(status, 404, "a deleted job ran: {body}");
        other.close().await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_route_needs_a_valid_token_and_the_right_permission() {
    on_each_engine(|server| async move {
        let none = server
            .http
            .get(server.url("/api/jobs"))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401);
        let body: Value = none.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(body["message"].as_str().unwrap().contains("Bearer"));
        let (status, _) = server
            .send(server.http.get(server.url("/api/jobs")), "bsn_forged")
            .await;
        assert_eq!(status, 401);

        server.post("/api/jobs", sh_job("j", "true")).await;
        let (status, viewer) = server
            .post(
                "/api/tokens",
                json!({"name": "viewer", "permissions": ["executions:view"]}),
            )
            .await;
        assert_eq!(status, 201, "{viewer}");
        let viewer_id = viewer["id"].as_str().unwrap().to_owned();
        let viewer = viewer["token"].as_str().unwrap().to_owned();
        let (status, body) = server
            .send(server.http.post(server.url("/api/jobs/j/run")), &viewer)
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("executions:create")
        );
        let (status, _) = server
            .send(server.http.get(server.url("/api/jobs")), &viewer)
            .await;
        assert_eq!(status, 403);
        let (status, _) = server
            .send(server.http.get(server.url("/api/executions")), &viewer)
            .await;
        assert_eq!(status, 200);
        // A token cannot hand out more than it has.
        let (status, _) = server
            .send(
                server
                    .http
                    .post(server.url("/api/tokens"))
                    .json(&json!({"name": "x", "permissions": ["*"]})),
                &viewer,
            )
            .await;
        assert_eq!(status, 403);
        // A deleted token is refused at once, though it was checked a moment ago.
        let delete = server
            .http
            .delete(server.url(&format!("/api/tokens/{viewer_id}")));
        let (status, _) = server.send(delete, &server.token).await;
        assert_eq!(status, 204);
        let (status, _) = server
            .send(server.http.get(server.url("/api/executions")), &viewer)
            .await;
        assert_eq!(status, 401, "a deleted token still let a request in");

        let (status, body) = server.post("/api/jobs", json!({"name": "bad"})).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
        let (status, _) = server.post("/api/jobs", sh_job("j", "true")).await;
        assert_eq!(status, 409, "a taken name");
        let huge = json!({"name": "big", "process": {"command": "x".repeat(2 * 1024 * 1024)}});
        let (status, body) = server.post("/api/jobs", huge.clone()).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("too_large")));
        let (status, body) = server.post("/api/jobs/j/run", huge).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("too_large")));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn another_tenants_objects_are_not_found() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("mine", "true")).await;
        let (_, execution) = server.post("/api/jobs/mine/run", json!({})).await;
        let id = execution["id"].as_str().unwrap();
        server.finished(id).await;

        let store = Store::open(&server.database_url).await.unwrap();
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let (_, secret) = store
            .create_token(&other.id, "o", &[bosun_core::Permission::All])
            .await
            .unwrap();
        for path in [
            format!("/api/executions/{id}"),
            format!("/api/executions/{id}/logs"),
            "/api/jobs/mine".to_owned(),
            format!("/default/api/executions/{id}/status"),
            format!("/other/api/executions/{id}/status"),
        ] {
            let (status, _) = server
                .send(server.http.get(server.url(&path)), &secret)
                .await;
            assert_eq!(status, 404, "{path}");
        }
        let (status, _) = server
            .send(
                server
                    .http
                    .post(server.url(&format!("/api/executions/{id}/cancel"))),
                &secret,
            )
            .await;
        assert_eq!(status, 404);
        store.close().await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn seed_000_routes_trigger_and_report_with_its_field_names() {
    on_each_engine(|server| async move {
        let (_, job) = server
            .post("/api/jobs", sh_job("bot", "echo from-seed"))
            .await;
        let (_, agents) = server.get("/api/agents").await;
        let agent = agents["items"][0]["id"].as_str().unwrap().to_owned();

        let (status, triggered) = server
            .post(
                "/default/api/executions/trigger",
                json!({"botAgentId": agent, "packageId": job["id"], "version": "1.0"}),
            )
            .await;
        assert_eq!(status, 200, "{triggered}");
        assert_eq!(triggered["Status"], "Triggered");
        let id = triggered["ExecutionId"].as_str().unwrap();
        server.finished(id).await;
        let (status, seen) = server
            .get(&format!("/default/api/executions/{id}/status"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(seen["Status"], "CompletedSuccessfully");
        assert_eq!(seen["Success"], true);
        assert_eq!(seen["ExitCode"], 0);
        assert!(seen["StartTime"].is_string() && seen["EndTime"].is_string());

        let (status, _) = server
            .post(
                "/default/api/executions/trigger",
                json!({"BotAgentId": "no-such-agent", "PackageId": job["id"]}),
            )
            .await;
        assert_eq!(status, 404);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_followed_log_arrives_as_written_carriage_returns_and_all() {
    on_each_engine(|server| async move {
        let written = "10%\r50%\r100%\r\nwindows line\r\nlast\n";
        let script = format!(
            "printf '{}'",
            written
                .replace('%', "%%")
                .replace('\r', "\\r")
                .replace('\n', "\\n")
        );
        server.post("/api/jobs", sh_job("bars", &script)).await;
        let (_, execution) = server.post("/api/jobs/bars/run", json!({})).await;
        let id = execution["id"].as_str().unwrap().to_owned();
        server.finished(&id).await;
        let body = server
            .http
            .get(server.url(&format!("/api/executions/{id}/logs/follow")))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Each `log` event's data is one line: a JSON string.
        let mut followed = String::new();
        let mut event = "";
        for line in body.lines() {
            if let Some(name) = line.strip_prefix("event: ") {
                event = name;
            } else if let Some(data) = line.strip_prefix("data: ")
                && event == "log"
            {
                followed.push_str(&serde_json::from_str::<String>(data).unwrap());
            }
        }
        assert_eq!(followed, written, "{body}");
        assert!(
            body.contains("event: end\ndata: CompletedSuccessfully"),
            "{body}"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_running_job_is_followed_live_and_cancelled() {
    on_each_engine(|server| async move {
        server
            .post(
                "/api/jobs",
                sh_job("slow", "echo first; sleep 60; echo never"),
            )
            .await;
        let (_, execution) = server.post("/api/jobs/slow/run", json!({})).await;
        let id = execution["id"].as_str().unwrap().to_owned();
        server.running(&id).await;

        let mut follow = server
            .http
            .get(server.url(&format!("/api/executions/{id}/logs/follow")))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(follow.status(), 200);
        let mut seen = String::new();
        while !seen.contains("first") {
            let chunk = tokio::time::timeout(Duration::from_secs(10), follow.chunk())
                .await
                .expect("the first line arrives while the job runs")
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains("event: log"), "{seen}");

        // A second run of a job that is running is refused (duplicatePolicy skip).
        let (status, body) = server.post("/api/jobs/slow/run", json!({})).await;
        assert_eq!(status, 409, "{body}");

        let (status, _) = server
            .post(&format!("/api/executions/{id}/cancel"), json!({}))
            .await;
        assert_eq!(status, 202);
        let done = server.finished(&id).await;
        assert_eq!(done["status"], "Cancelled");
        while !seen.contains("event: end") {
            let chunk = tokio::time::timeout(Duration::from_secs(10), follow.chunk())
                .await
                .expect("the follow ends with the job")
                .unwrap();
            match chunk {
                Some(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                None => break,
            }
        }
        assert!(seen.contains("event: end\ndata: Cancelled"), "{seen}");
        assert!(!seen.contains("never"));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn after_a_crash_a_running_execution_whose_process_is_gone_is_failed_with_the_reason() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("long", "sleep 60")).await;
        let (_, execution) = server.post("/api/jobs/long/run", json!({})).await;
        let id = execution["id"].as_str().unwrap().to_owned();
        let running = server.running(&id).await;
        let pid = running["pid"].as_i64().unwrap() as u32;
        let (home, database_url, token) = (
            server.home.clone(),
            server.database_url.clone(),
            server.token.clone(),
        );
        server.crash().await;
        assert!(
            bosun_test_utils::wait_for(Duration::from_secs(10), || !bosun_test_utils::alive(pid)),
            "the crashed server's job was stopped with it"
        );

        let mut config = bosun_server::ServerConfig::new(&home);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(database_url);
        let again = TestServer::start_with(config, Some(token)).await;
        let (_, after) = again.get(&format!("/api/executions/{id}")).await;
        assert_eq!(after["status"], "Failed", "{after}");
        assert!(
            after["message"].as_str().unwrap().contains("is gone"),
            "{after}"
        );
        again.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    on_each_engine(|server| async move {
        let doc: Value = server
            .http
            .get(server.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/jobs",
            "/api/jobs/{job}",
            "/api/jobs/{job}/run",
            "/api/jobs/{job}/schedules",
            "/api/schedules",
            "/api/schedules/{id}",
            "/api/jobs/{job}/triggers",
            "/api/triggers",
            "/api/triggers/{id}",
            "/api/executions",
            "/api/executions/{id}",
            "/api/executions/{id}/cancel",
            "/api/executions/{id}/rerun",
            "/api/executions/summary",
            "/api/executions/activity",
            "/api/executions/{id}/logs",
            "/api/executions/{id}/logs/follow",
            "/api/monitor/running",
            "/api/monitor/stuck",
            "/api/tokens",
            "/api/tokens/{id}",
            "/api/tenants",
            "/{tenant}/api/executions/trigger",
            "/{tenant}/api/executions/{id}/status",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        // And an undocumented path is not served.
        let (status, _) = server.get("/api/nothing-here").await;
        assert_eq!(status, 404);
        server.stop().await;
    })
    .await;
}
