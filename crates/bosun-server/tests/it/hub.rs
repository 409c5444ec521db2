//! The hub end to end over loopback: agents (bosun's own SignalR client speaking
//! OpenAutomate's methods) receive triggers, report and are refused what is not
//! theirs; people watching a tenant get its events only; runs nobody takes, and runs
//! whose agent went away, end with the reason.

use std::time::Duration;

use base64::Engine as _;
use bosun_hub::client::{self, ClientOptions, Connection, Incoming, ServerInvocation};
use bosun_server::ServerConfig;
use bosun_test_utils::database_urls;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::TestServer;

/// A server with short waits, on SQLite.
async fn server(dir: &std::path::Path, change: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let (_, url) = database_urls(dir).into_iter().next().unwrap();
    let mut config = ServerConfig::new(dir.join("home"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(url);
    config.drain_timeout = Duration::from_secs(5);
    change(&mut config);
    TestServer::start_with(config, None).await
}

/// Registers an agent; answers its id and machine key.
pub(crate) async fn agent(server: &TestServer, name: &str) -> (String, String) {
    let (status, body) = server
        .post(
            "/default/api/agents/create",
            json!({"name": name, "machineName": format!("{name}-machine")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["machineKey"].as_str().unwrap().to_owned(),
    )
}

/// Uploads a one-file bot as `name` 1.0.0.
async fn package(server: &TestServer, name: &str) {
    upload(server, name, "1.0.0").await;
}

/// Uploads a one-file bot as `name` `version`; answers the package's id.
pub(crate) async fn upload(server: &TestServer, name: &str, version: &str) -> String {
    let zip = {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("bot.py", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"print('hi')\n").unwrap();
        zip.finish().unwrap().into_inner()
    };
    let form = Form::new()
        .text("name", name.to_owned())
        .text("version", version.to_owned())
        .part("file", Part::bytes(zip).file_name("bot.zip"));
    let request = server
        .http
        .post(server.url("/default/api/packages/upload"))
        .multipart(form);
    let (status, body) = server.send(request, &server.token).await;
    assert!(status == 200 || status == 201, "{status} {body}");
    body["id"].as_str().unwrap().to_owned()
}

fn options() -> ClientOptions {
    ClientOptions::default()
}

pub(crate) async fn connect_agent(server: &TestServer, key: &str) -> (Connection, Incoming) {
    let url = server.url(&format!("/default/hubs/botagent?machineKey={key}"));
    client::connect(&url, &[], options()).await.unwrap()
}

async fn connect_person(server: &TestServer, tenant: &str, token: &str) -> (Connection, Incoming) {
    let url = server.url(&format!("/{tenant}/hubs/botagent"));
    let headers = [("Authorization".to_owned(), format!("Bearer {token}"))];
    client::connect(&url, &headers, options()).await.unwrap()
}

pub(crate) async fn trigger(server: &TestServer, agent_id: &str, package: &str) -> String {
    let (status, body) = server
        .post(
            "/default/api/executions/trigger",
            json!({"botAgentId": agent_id, "packageId": package}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["ExecutionId"].as_str().unwrap().to_owned()
}

/// The next server invocation, within a while.
async fn next(incoming: &mut Incoming) -> ServerInvocation {
    tokio::time::timeout(Duration::from_secs(20), incoming.recv())
        .await
        .expect("an invocation arrives in time")
        .expect("the connection is open")
}

/// The next `ReceiveCommand`, acknowledged; answers its command and payload.
pub(crate) async fn command(incoming: &mut Incoming) -> (String, Value) {
    loop {
        let call = next(incoming).await;
        if call.target != "ReceiveCommand" {
            continue;
        }
        let name = call.arguments[0].as_str().unwrap().to_owned();
        let payload = call.arguments.get(1).cloned().unwrap_or(Value::Null);
        call.complete(Ok(Value::Null)).await.unwrap();
        return (name, payload);
    }
}

/// The next event named `target` a person receives.
async fn event(incoming: &mut Incoming, target: &str) -> Value {
    loop {
        let call = next(incoming).await;
        if call.target == target {
            return call.arguments[0].clone();
        }
    }
}

async fn status(server: &TestServer, id: &str) -> Value {
    server.get(&format!("/api/executions/{id}")).await.1
}

/// Waits until the execution has ended; answers it.
async fn ended(server: &TestServer, id: &str) -> Value {
    server.finished(id).await
}

#[tokio::test]
async fn an_agent_runs_what_it_is_sent_and_people_of_the_tenant_watch_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "bot-1").await;
    let (_, other_key) = agent(&server, "bot-2").await;
    package(&server, "hello").await;
    let (_person, mut watching) = connect_person(&server, "default", &server.token).await;

    let (agent, mut commands) = connect_agent(&server, &key).await;
    let online = event(&mut watching, "BotStatusUpdate").await;
    assert_eq!(online["botAgentId"], agent_id);
    assert_eq!(online["status"], "Available");

    let id = trigger(&server, &agent_id, "hello").await;
    let (name, payload) = command(&mut commands).await;
    assert_eq!(name, "ExecutePackage");
    assert_eq!(payload["executionId"], id);
    assert_eq!(payload["packageName"], "hello");
    assert_eq!(payload["version"], "1.0.0");
    assert_eq!(payload["tenantSlug"], "default");

    // Another agent may not report on it.
    let (intruder, _intruder_commands) = connect_agent(&server, &other_key).await;
    let refused = intruder
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Failed"), Value::Null],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("was not sent to this agent"), "{refused}");

    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Running"), Value::Null],
        )
        .await
        .unwrap();
    agent
        .invoke("SendExecutionStarted", vec![json!(id), json!(4242)])
        .await
        .unwrap();
    let chunk = base64::engine::general_purpose::STANDARD.encode("hello from afar\n");
    let count = agent
        .invoke(
            "SendExecutionLog",
            vec![json!(id), json!("stdout"), json!(0), json!(chunk)],
        )
        .await
        .unwrap();
    assert_eq!(count, json!(16));
    // The same chunk again (a re-send) is not appended twice.
    let again = agent
        .invoke(
            "SendExecutionLog",
            vec![json!(id), json!("stdout"), json!(0), json!(chunk)],
        )
        .await
        .unwrap();
    assert_eq!(again, json!(16));
    let running = status(&server, &id).await;
    assert_eq!(running["status"], "Running");
    assert_eq!(running["pid"], 4242);

    // Followers get the output while it runs, and the end once it has ended.
    let mut follow = server
        .http
        .get(server.url(&format!("/api/executions/{id}/logs/follow")))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    let mut followed = String::new();
    while !followed.contains("hello from afar") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), follow.chunk())
            .await
            .expect("the live output is followed")
            .unwrap()
            .expect("the follow goes on while it runs");
        followed.push_str(&String::from_utf8_lossy(&chunk));
    }
    let more = base64::engine::general_purpose::STANDARD.encode("and more\n");
    agent
        .invoke(
            "SendExecutionLog",
            vec![json!(id), json!("stdout"), json!(16), json!(more)],
        )
        .await
        .unwrap();
    while !followed.contains("and more") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), follow.chunk())
            .await
            .expect("a later chunk is followed")
            .unwrap()
            .expect("the follow goes on while it runs");
        followed.push_str(&String::from_utf8_lossy(&chunk));
    }

    agent
        .invoke(
            "SendExecutionResult",
            vec![
                json!(id),
                json!({"status": "Failed", "exitCode": 3, "message": null}),
            ],
        )
        .await
        .unwrap();
    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "Failed");
    assert_eq!(done["exitCode"], 3);
    assert_eq!(
        server.text(&format!("/api/executions/{id}/logs")).await,
        "hello from afar\nand more\n"
    );
    let rest = tokio::time::timeout(Duration::from_secs(10), follow.text())
        .await
        .expect("the follow ends with the execution")
        .unwrap();
    assert!(
        rest.contains("event: end") && rest.contains("Failed"),
        "{rest}"
    );

    // People saw it go by: Pending, Running, then the end.
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("Failed") {
        let update = event(&mut watching, "ExecutionStatusUpdate").await;
        assert_eq!(update["executionId"], id);
        assert_eq!(update["botAgentName"], "bot-1");
        seen.push(update["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["Pending", "Running", "Failed"]);

    // A late, different end is refused; the same end again is accepted.
    let late = agent
        .invoke(
            "SendExecutionResult",
            vec![
                json!(id),
                json!({"status": "CompletedSuccessfully", "exitCode": 0}),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(late.contains("has already ended"), "{late}");
    agent
        .invoke(
            "SendExecutionResult",
            vec![json!(id), json!({"status": "Failed", "exitCode": 3})],
        )
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_trigger_waits_for_an_offline_agent_and_a_cancel_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "late").await;
    package(&server, "hello").await;

    let id = trigger(&server, &agent_id, "hello").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&server, &id).await["status"], "Pending");

    let (agent, mut commands) = connect_agent(&server, &key).await;
    let (name, payload) = command(&mut commands).await;
    assert_eq!(
        (name.as_str(), &payload["executionId"]),
        ("ExecutePackage", &json!(id))
    );
    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Running"), Value::Null],
        )
        .await
        .unwrap();

    let (code, _) = server
        .post(&format!("/default/api/executions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(code, 202);
    let (name, payload) = command(&mut commands).await;
    assert_eq!(
        (name.as_str(), &payload["executionId"]),
        ("CancelExecution", &json!(id))
    );
    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Cancelled"), json!("stopped")],
        )
        .await
        .unwrap();
    assert_eq!(ended(&server, &id).await["status"], "Cancelled");
    server.stop().await;
}

#[tokio::test]
async fn a_run_whose_agent_went_away_fails_agent_lost_and_a_late_report_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |c| c.agents.lost_grace = Duration::from_secs(1)).await;
    let (agent_id, key) = agent(&server, "flaky").await;
    package(&server, "hello").await;
    let id = trigger(&server, &agent_id, "hello").await;
    let (agent, mut commands) = connect_agent(&server, &key).await;
    command(&mut commands).await;
    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Running"), Value::Null],
        )
        .await
        .unwrap();
    agent.close();

    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "Failed");
    assert!(
        done["message"].as_str().unwrap().contains("agent lost"),
        "{done}"
    );
    let (_, listed) = server.get(&format!("/default/api/agents/{agent_id}")).await;
    assert_eq!(listed["status"], "Disconnected");

    let (back, _commands) = connect_agent(&server, &key).await;
    let refused = back
        .invoke(
            "SendExecutionResult",
            vec![
                json!(id),
                json!({"status": "CompletedSuccessfully", "exitCode": 0}),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("agent lost"), "{refused}");
    server.stop().await;
}

#[tokio::test]
async fn an_execution_no_agent_takes_in_time_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |c| {
        c.agents.delivery_wait = Duration::from_secs(1)
    })
    .await;
    let (agent_id, _key) = agent(&server, "never").await;
    package(&server, "hello").await;
    let id = trigger(&server, &agent_id, "hello").await;
    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "Failed");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.contains("not delivered") && message.contains("never"),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_keys_and_other_tenants_are_refused_and_events_stay_in_their_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "bot").await;
    package(&server, "hello").await;

    let http = &server.http;
    let negotiate = |query: &str| {
        http.post(server.url(&format!(
            "/default/hubs/botagent/negotiate?negotiateVersion=1{query}"
        )))
        .send()
    };
    assert_eq!(
        negotiate("&machineKey=bmk_wrong").await.unwrap().status(),
        401
    );
    assert_eq!(negotiate("").await.unwrap().status(), 401);
    assert_eq!(
        negotiate(&format!("&machineKey={key}"))
            .await
            .unwrap()
            .status(),
        200
    );
    let wrong = client::connect(
        &server.url("/default/hubs/botagent?machineKey=bmk_wrong"),
        &[],
        ClientOptions {
            skip_negotiation: true,
            ..options()
        },
    )
    .await;
    assert!(wrong.is_err(), "a bad key is refused at the upgrade too");
    let unknown = http
        .get(server.url("/default/hubs/botagent?id=no-such-connection"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // A person of another tenant sees nothing of this one.
    let (code, tenant) = server
        .post("/api/tenants", json!({"slug": "acme", "name": "Acme"}))
        .await;
    assert!(code == 200 || code == 201, "{tenant}");
    let acme_token = tenant["token"]["token"]
        .as_str()
        .expect("a new tenant comes with a token")
        .to_owned();
    let wrong_tenant = client::connect(
        &server.url("/default/hubs/botagent"),
        &[("Authorization".to_owned(), format!("Bearer {acme_token}"))],
        options(),
    )
    .await;
    assert!(
        wrong_tenant.is_err(),
        "a token of acme cannot watch default"
    );
    let (_acme, mut acme_events) = connect_person(&server, "acme", &acme_token).await;
    let (_ours, mut our_events) = connect_person(&server, "default", &server.token).await;

    let (agent, mut commands) = connect_agent(&server, &key).await;
    let id = trigger(&server, &agent_id, "hello").await;
    command(&mut commands).await;
    agent
        .invoke(
            "SendExecutionStatusUpdate",
            vec![json!(id), json!("Completed"), Value::Null],
        )
        .await
        .unwrap();
    let update = event(&mut our_events, "ExecutionStatusUpdate").await;
    assert_eq!(update["executionId"], id);
    let nothing = tokio::time::timeout(Duration::from_millis(500), acme_events.recv()).await;
    assert!(
        nothing.is_err(),
        "acme got an event of default: {nothing:?}"
    );
    assert_eq!(ended(&server, &id).await["status"], "CompletedSuccessfully");
    server.stop().await;
}

#[tokio::test]
async fn the_official_javascript_client_works_as_an_openautomate_agent_and_as_a_person() {
    let Some(js) = bosun_test_utils::signalr_js::installed() else {
        eprintln!("{}", bosun_test_utils::signalr_js::SKIPPED);
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "js-agent").await;
    let (other_id, _) = agent(&server, "someone-else").await;
    package(&server, "hello").await;
    let foreign = trigger(&server, &other_id, "hello").await;
    // Triggered while the agent is offline: delivered when it connects.
    let id = trigger(&server, &agent_id, "hello").await;

    let run = tokio::process::Command::new("node")
        .arg("openautomate.mjs")
        .args([&server.url, "default", &key, &server.token, &foreign])
        .current_dir(&js)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the JavaScript agent finishes within 60 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openautomate.mjs failed:\n{stdout}\n{stderr}"
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON from openautomate.mjs ({e}):\n{stdout}\n{stderr}"));

    assert_eq!(seen["commands"][0]["command"], "ExecutePackage", "{seen}");
    assert_eq!(seen["commands"][0]["payload"]["executionId"], id);
    assert_eq!(seen["commands"][0]["payload"]["packageName"], "hello");
    let refused = seen["refused"].as_str().unwrap_or_default();
    assert!(refused.contains("was not sent to this agent"), "{seen}");
    assert_eq!(
        seen["missing"],
        "Failed to invoke 'RunSomethingElse' due to an error on the server. HubException: Method does not exist."
    );
    let person = seen["personMissing"].as_str().unwrap_or_default();
    assert!(person.contains("Method does not exist"), "{seen}");
    let statuses: Vec<&str> = seen["updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["executionId"] == id)
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["Running", "CompletedSuccessfully"], "{seen}");
    let bots: Vec<&str> = seen["bots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["botAgentId"] == agent_id)
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert!(bots.starts_with(&["Available", "Busy"]), "{seen}");

    let done = ended(&server, &id).await;
    assert_eq!(done["status"], "CompletedSuccessfully");
    assert_eq!(done["message"], "done by js");
    assert_eq!(status(&server, &foreign).await["status"], "Pending");
    server.stop().await;
}

#[tokio::test]
async fn an_agent_uploads_the_whole_log_with_its_machine_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "uploader").await;
    let (_, other_key) = agent(&server, "bystander").await;
    package(&server, "hello").await;
    let id = trigger(&server, &agent_id, "hello").await;
    let upload = |key: &str, field: &str| {
        let form = Form::new().part(
            field.to_owned(),
            Part::bytes(b"line one\nline two\n".to_vec()).file_name("log.txt"),
        );
        server
            .http
            .post(server.url(&format!("/default/api/executions/{id}/logs")))
            .header("X-Machine-Key", key)
            .multipart(form)
            .send()
    };
    assert_eq!(upload("bmk_wrong", "logFile").await.unwrap().status(), 401);
    assert_eq!(upload(&other_key, "logFile").await.unwrap().status(), 404);
    assert_eq!(upload(&key, "file").await.unwrap().status(), 400);
    assert_eq!(upload(&key, "logFile").await.unwrap().status(), 204);
    assert_eq!(
        server.text(&format!("/api/executions/{id}/logs")).await,
        "line one\nline two\n"
    );
    server.stop().await;
}

/// A bare WebSocket to the hub as the agent with `key`, past the handshake.
async fn raw_agent(
    server: &TestServer,
    key: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let url = format!(
        "{}/default/hubs/botagent?machineKey={key}",
        server.url.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    let answer = socket.next().await.unwrap().unwrap();
    assert_eq!(answer.into_text().unwrap().as_str(), "{}\u{1e}");
    socket
}

/// The text of the hub's Close message on `socket`, skipping pings.
async fn close_error(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> String {
    use futures_util::StreamExt as _;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the hub answers in time")
            .expect("the hub sends its Close before the socket ends")
            .unwrap();
        let Ok(text) = frame.into_text() else {
            continue;
        };
        for message in text.split('\u{1e}').filter(|m| !m.is_empty()) {
            let message: Value = serde_json::from_str(message).unwrap();
            if message["type"] == 7 {
                return message["error"].as_str().unwrap_or_default().to_owned();
            }
        }
    }
}

#[tokio::test]
async fn malformed_and_oversized_hub_messages_close_that_connection_only() {
    use futures_util::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "sturdy").await;
    let (_, rogue) = agent(&server, "rogue").await;
    package(&server, "hello").await;
    let (steady, mut commands) = connect_agent(&server, &key).await;

    let mut broken = raw_agent(&server, &rogue).await;
    broken.send(Message::text("{not json\u{1e}")).await.unwrap();
    let error = close_error(&mut broken).await;
    assert!(error.contains("InvalidDataException"), "{error}");

    let mut huge = raw_agent(&server, &rogue).await;
    let big = format!(
        "{{\"type\":1,\"target\":\"KeepAlive\",\"arguments\":[\"{}\"]}}\u{1e}",
        "x".repeat(100 * 1024)
    );
    huge.send(Message::text(big)).await.unwrap();
    let error = close_error(&mut huge).await;
    assert!(error.contains("InvalidDataException"), "{error}");

    // The server is unharmed: the other agent's connection still works.
    steady.invoke("KeepAlive", vec![]).await.unwrap();
    let id = trigger(&server, &agent_id, "hello").await;
    let (name, payload) = command(&mut commands).await;
    assert_eq!(
        (name.as_str(), &payload["executionId"]),
        ("ExecutePackage", &json!(id))
    );
    drop(steady);
    assert_eq!(server.text("/healthz").await, "ok");
    server.stop().await;
}

#[tokio::test]
async fn an_agents_runs_are_kept_to_the_history_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |c| c.history_limit = 1).await;
    let (agent_id, key) = agent(&server, "keeper").await;
    package(&server, "hello").await;
    let (agent, mut commands) = connect_agent(&server, &key).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = trigger(&server, &agent_id, "hello").await;
        command(&mut commands).await;
        agent
            .invoke(
                "SendExecutionResult",
                vec![
                    json!(id),
                    json!({"status": "CompletedSuccessfully", "exitCode": 0}),
                ],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let (gone, _) = server.get(&format!("/api/executions/{}", ids[0])).await;
    assert_eq!(gone, 404, "the older run is pruned");
    assert_eq!(
        status(&server, &ids[1]).await["status"],
        "CompletedSuccessfully"
    );
    server.stop().await;
}

#[tokio::test]
async fn renaming_an_agent_keeps_it_connected_and_rotating_its_key_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), |_| {}).await;
    let (agent_id, key) = agent(&server, "renamed").await;
    let (agent, _commands) = connect_agent(&server, &key).await;
    let request = server
        .http
        .put(server.url(&format!("/default/api/agents/{agent_id}")))
        .json(&json!({"name": "renamed-2"}));
    let (code, body) = server.send(request, &server.token).await;
    assert_eq!(code, 200, "{body}");
    agent.invoke("KeepAlive", vec![]).await.unwrap();

    let (code, body) = server
        .post(
            &format!("/default/api/agents/{agent_id}/regenerateKey"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let closed = tokio::time::timeout(Duration::from_secs(10), agent.closed()).await;
    assert!(
        closed.is_ok(),
        "a replaced key closes the agent's connection"
    );
    server.stop().await;
}
