//! Jobs that name a remote agent: however their executions start (a run request, a
//! schedule, a file), the agent receives them with the job's package and the version
//! resolved; `"any"` picks a connected agent with the least work; what cannot be sent
//! ends Failed with the reason; a job that cannot run on an agent is refused. Each
//! test runs once per engine.

use std::time::Duration;

use bosun_hub::client::Incoming;
use bosun_server::ServerConfig;
use bosun_test_utils::{database_urls, drop_test_database};
use serde_json::{Value, json};

use crate::hub::{agent, command, connect_agent, trigger, upload};
use crate::support::TestServer;

/// Runs `check` on a server of each engine, with short waits changed by `change`.
async fn on_each_engine_with<F, Fut>(change: impl Fn(&mut ServerConfig), check: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let mut config = ServerConfig::new(dir.path().join(engine));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(url.clone());
        config.drain_timeout = Duration::from_secs(5);
        change(&mut config);
        check(TestServer::start_with(config, None).await).await;
        drop_test_database(&url).await;
    }
}

/// Creates the job `definition`.
async fn job(server: &TestServer, definition: Value) {
    let (status, body) = server.post("/api/jobs", definition).await;
    assert_eq!(status, 201, "{body}");
}

/// Runs the job through the API; answers the execution.
async fn run(server: &TestServer, job: &str) -> Value {
    let (status, body) = server
        .post(&format!("/api/jobs/{job}/run"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    body
}

async fn execution(server: &TestServer, id: &str) -> Value {
    server.get(&format!("/api/executions/{id}")).await.1
}

/// The next `ExecutePackage` the agent receives, acknowledged; answers its payload.
async fn execute_package(commands: &mut Incoming) -> Value {
    let (name, payload) = command(commands).await;
    assert_eq!(name, "ExecutePackage", "{payload}");
    payload
}

/// Reports a run as started and then ended with `status`.
async fn report(agent: &bosun_hub::client::Connection, id: &Value, status: &str) {
    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![id.clone(), json!("Running"), Value::Null],
        )
        .await
        .unwrap();
    agent
        .invoke(
            "SendExecutionResult",
            vec![id.clone(), json!({"status": status, "exitCode": 0})],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_job_naming_an_agent_runs_there_with_the_newest_version_when_run_by_the_api() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            let (agent_id, key) = agent(&server, "robot-1").await;
            let package_id = upload(&server, "hello", "1.0.0").await;
            upload(&server, "hello", "1.1.0").await;
            job(
                &server,
                json!({"name": "scrape", "bot": {"package": "hello"}, "agent": "robot-1"}),
            )
            .await;
            let (robot, mut commands) = connect_agent(&server, &key).await;

            let created = run(&server, "scrape").await;
            let id = created["id"].clone();
            let payload = execute_package(&mut commands).await;
            assert_eq!(payload["executionId"], id);
            assert_eq!(payload["packageId"], package_id.as_str());
            assert_eq!(payload["packageName"], "hello");
            assert_eq!(payload["version"], "1.1.0", "none named: the newest");
            assert_eq!(payload["tenantSlug"], "default");
            let sent = execution(&server, id.as_str().unwrap()).await;
            assert_eq!(sent["jobName"], "scrape", "it stays the job's: {sent}");
            assert_eq!(sent["runner"], agent_id.as_str(), "{sent}");
            assert_eq!(sent["trigger"], "api");

            // Its job's duplicate policy (skip) sees it while the agent has it.
            let (status, refused) = server.post("/api/jobs/scrape/run", json!({})).await;
            assert_eq!(status, 409, "{refused}");

            report(&robot, &id, "Completed").await;
            let done = server.finished(id.as_str().unwrap()).await;
            assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
            server.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_schedule_and_a_file_trigger_of_a_job_naming_an_agent_reach_it() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            let (_, key) = agent(&server, "robot-1").await;
            upload(&server, "hello", "1.0.0").await;
            upload(&server, "hello", "2.0.0").await;
            let inbox = tempfile::tempdir().unwrap();
            let inbox_path = std::fs::canonicalize(inbox.path()).unwrap();
            for name in ["ticker", "ingest"] {
                job(
                    &server,
                    json!({"name": name, "bot": {"package": "hello", "version": "1.0.0"},
                        "agent": "robot-1", "duplicatePolicy": "allow"}),
                )
                .await;
            }
            let (robot, mut commands) = connect_agent(&server, &key).await;
            let (status, schedule) = server
                .post("/api/jobs/ticker/schedules", json!({"every": "1s"}))
                .await;
            assert_eq!(status, 201, "{schedule}");
            let (status, watch) = server
                .post(
                    "/api/jobs/ingest/triggers",
                    json!({"directory": inbox_path, "glob": "*.csv", "debounceMs": 100}),
                )
                .await;
            assert_eq!(status, 201, "{watch}");
            let file = inbox_path.join("orders.csv");
            std::fs::write(&file, "1,2\n").unwrap();

            let (mut scheduled, mut filed) = (None, None);
            while scheduled.is_none() || filed.is_none() {
                let payload = execute_package(&mut commands).await;
                assert_eq!(payload["packageName"], "hello");
                assert_eq!(payload["version"], "1.0.0", "the version the job names");
                let sent = execution(&server, payload["executionId"].as_str().unwrap()).await;
                match (sent["jobName"].as_str(), sent["trigger"].as_str()) {
                    (Some("ticker"), Some("schedule")) => scheduled = Some(sent),
                    (Some("ingest"), Some("file")) => filed = Some(sent),
                    other => panic!("an unexpected execution {other:?}: {sent}"),
                }
            }
            let filed = filed.unwrap();
            assert_eq!(filed["triggerDetail"], file.to_str().unwrap());
            assert_eq!(filed["arguments"], json!([file.to_str().unwrap()]));
            report(&robot, &filed["id"], "Completed").await;
            let done = server.finished(filed["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
            server.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn any_sends_to_the_connected_agent_with_the_least_work() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            let (busy_id, busy_key) = agent(&server, "busy").await;
            let (idle_id, idle_key) = agent(&server, "idle").await;
            // Registered, never connected: not chosen while others are.
            agent(&server, "offline").await;
            upload(&server, "hello", "1.0.0").await;
            job(
                &server,
                json!({"name": "anywhere", "bot": {"package": "hello"}, "agent": "any",
                    "duplicatePolicy": "allow"}),
            )
            .await;
            let (_busy, mut busy_commands) = connect_agent(&server, &busy_key).await;
            let (_idle, mut idle_commands) = connect_agent(&server, &idle_key).await;
            // `busy` has a run that has not ended.
            let running = trigger(&server, &busy_id, "hello").await;
            let payload = execute_package(&mut busy_commands).await;
            assert_eq!(payload["executionId"], running.as_str());

            let created = run(&server, "anywhere").await;
            let payload = execute_package(&mut idle_commands).await;
            assert_eq!(payload["executionId"], created["id"]);
            let sent = execution(&server, created["id"].as_str().unwrap()).await;
            assert_eq!(sent["runner"], idle_id.as_str(), "{sent}");
            server.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn an_unknown_agent_or_package_ends_the_execution_failed_with_the_reason() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            agent(&server, "robot-1").await;
            upload(&server, "hello", "1.0.0").await;
            job(
                &server,
                json!({"name": "lost", "bot": {"package": "hello"}, "agent": "ghost"}),
            )
            .await;
            job(
                &server,
                json!({"name": "unpacked", "bot": {"package": "nothing"}, "agent": "robot-1"}),
            )
            .await;
            job(
                &server,
                json!({"name": "old", "bot": {"package": "hello", "version": "0.9.0"},
                    "agent": "any"}),
            )
            .await;
            for (job, expected) in [
                (
                    "lost",
                    "not sent to an agent: agent \"ghost\" is not registered in this tenant: \
                     register it",
                ),
                (
                    "unpacked",
                    "not sent to an agent: package \"nothing\" is not uploaded in this tenant",
                ),
                (
                    "old",
                    "package \"hello\" has no version 0.9.0 (it has 1.0.0)",
                ),
            ] {
                let created = run(&server, job).await;
                let done = server.finished(created["id"].as_str().unwrap()).await;
                assert_eq!(done["status"], "Failed", "{done}");
                let message = done["message"].as_str().unwrap();
                assert!(message.contains(expected), "{job}: {message}");
            }
            server.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_queue_job_on_an_agent_sends_the_next_run_once_the_last_one_ended() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            let (_, key) = agent(&server, "robot-1").await;
            upload(&server, "hello", "1.0.0").await;
            job(
                &server,
                json!({"name": "serial", "bot": {"package": "hello"}, "agent": "robot-1",
                    "duplicatePolicy": "queue"}),
            )
            .await;
            let (robot, mut commands) = connect_agent(&server, &key).await;
            let first = run(&server, "serial").await;
            let second = run(&server, "serial").await;
            let payload = execute_package(&mut commands).await;
            assert_eq!(payload["executionId"], first["id"]);
            robot
                .invoke(
                    "SendExecutionStatusUpdate",
                    vec![first["id"].clone(), json!("Running"), Value::Null],
                )
                .await
                .unwrap();
            // The runner's tick (2 s) passes at least once: the second still waits.
            let early = tokio::time::timeout(Duration::from_secs(3), commands.recv()).await;
            assert!(early.is_err(), "sent while the first runs: {early:?}");
            let waiting = execution(&server, second["id"].as_str().unwrap()).await;
            assert_eq!(waiting["status"], "Pending");

            robot
                .invoke(
                    "SendExecutionResult",
                    vec![
                        first["id"].clone(),
                        json!({"status": "Completed", "exitCode": 0}),
                    ],
                )
                .await
                .unwrap();
            let payload = execute_package(&mut commands).await;
            assert_eq!(payload["executionId"], second["id"]);
            server.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_job_naming_an_agent_without_a_package_is_refused() {
    on_each_engine_with(
        |_| {},
        |server| async move {
            for (definition, expected) in [
                (
                    json!({"name": "p", "process": {"command": "true"}, "agent": "robot-1"}),
                    "a \"process\" job runs on the server only",
                ),
                (
                    json!({"name": "b", "bot": {"path": "/srv/bot"}, "agent": "any"}),
                    "a bot by \"path\" runs on the server only",
                ),
            ] {
                let (status, body) = server.post("/api/jobs", definition.clone()).await;
                assert_eq!(status, 400, "{definition}: {body}");
                let message = body["message"].as_str().unwrap();
                assert!(message.contains(expected), "{message}");
                assert!(message.contains("give \"bot\": {\"package\""), "{message}");
            }
            let (_, jobs) = server.get("/api/jobs").await;
            assert_eq!(jobs["items"], json!([]), "nothing was stored: {jobs}");
            server.stop().await;
        },
    )
    .await;
}
