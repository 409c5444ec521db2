//! The whole agent, driven through bosun-hub's own server: a hub whose methods record
//! what the agent reports, and the package routes of the download tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bosun_agent::config::{AgentConfig, MachineKey, ServerUrl};
use bosun_agent::{AgentError, Summary};
use bosun_core::ExecutionStatus;
use bosun_exec::python::PythonEnvs;
use bosun_hub::negotiate::Negotiations;
use bosun_hub::server::{Client, Handler, HubError, Options, serve};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::download::{KEY, PACKAGE_ID, Served, blob, link, served};

/// What the hub saw.
#[derive(Default)]
struct Seen {
    calls: Vec<(String, Vec<Value>)>,
    /// The bytes of each (execution, stream) applied.
    output: HashMap<(String, String), Vec<u8>>,
    /// The latest connection.
    client: Option<Client>,
}

#[derive(Clone)]
struct Hub {
    negotiations: Arc<Negotiations<()>>,
    seen: Arc<Mutex<Seen>>,
    /// Answer negotiate with 503, as a server that is down.
    down: Arc<AtomicBool>,
}

struct Methods {
    seen: Arc<Mutex<Seen>>,
}

impl Handler for Methods {
    async fn invoke(&mut self, target: &str, arguments: Vec<Value>) -> Result<Value, HubError> {
        let mut seen = self.seen.lock().unwrap();
        seen.calls.push((target.to_owned(), arguments.clone()));
        if target != "SendExecutionLog" {
            return Ok(Value::Null);
        }
        use base64::Engine;
        let key = (
            arguments[0].as_str().unwrap().to_owned(),
            arguments[1].as_str().unwrap().to_owned(),
        );
        let offset = arguments[2].as_u64().unwrap() as usize;
        let data = base64::engine::general_purpose::STANDARD
            .decode(arguments[3].as_str().unwrap())
            .unwrap();
        let have = seen.output.entry(key).or_default();
        if offset == have.len() {
            have.extend_from_slice(&data);
        }
        Ok(json!(have.len()))
    }
}

async fn negotiate(
    State(hub): State<Hub>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("machineKey").map(String::as_str) != Some(KEY) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if hub.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    axum::Json(hub.negotiations.negotiate((), 1)).into_response()
}

async fn upgrade(
    State(hub): State<Hub>,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let header_key = headers.get("x-machinekey").and_then(|v| v.to_str().ok());
    if header_key != Some(KEY) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(taken) = query.get("id").and_then(|id| hub.negotiations.take(id)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ws.on_upgrade(move |socket| async move {
        let seen = hub.seen.clone();
        serve(
            socket,
            taken.connection_id,
            Options::default(),
            move |client| {
                seen.lock().unwrap().client = Some(client);
                Methods { seen }
            },
        )
        .await;
    })
}

struct TestServer {
    url: ServerUrl,
    seen: Arc<Mutex<Seen>>,
    down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    async fn start(served: Served) -> Self {
        let hub = Hub {
            negotiations: Arc::new(Negotiations::new(Duration::from_secs(30))),
            seen: Arc::default(),
            down: Arc::default(),
        };
        let packages = Router::new()
            .route(
                "/acme/api/packages/{id}/versions/{version}/agent-download",
                get(link),
            )
            .route("/packages/blob/pkg.zip", get(blob))
            .with_state(served);
        let app = Router::new()
            .route("/acme/hubs/botagent/negotiate", post(negotiate))
            .route("/acme/hubs/botagent", get(upgrade))
            .with_state(hub.clone())
            .merge(packages);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: ServerUrl::parse(&format!("http://{addr}/acme")).unwrap(),
            seen: hub.seen,
            down: hub.down,
            task,
        }
    }

    fn calls(&self, target: &str) -> Vec<Vec<Value>> {
        self.seen
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(t, _)| t == target)
            .map(|(_, a)| a.clone())
            .collect()
    }

    fn client(&self) -> Option<Client> {
        self.seen.lock().unwrap().client.clone()
    }

    fn output(&self, id: &str, stream: &str) -> Vec<u8> {
        let key = (id.to_owned(), stream.to_owned());
        self.seen
            .lock()
            .unwrap()
            .output
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    async fn wait(&self, what: &str, mut cond: impl FnMut(&Self) -> bool) {
        assert!(
            bosun_test_utils::wait_for_async(Duration::from_secs(90), || cond(self)).await,
            "timed out waiting for {what}"
        );
    }
}

fn config(server: &ServerUrl, key: &str, home: &std::path::Path) -> AgentConfig {
    let mut config = AgentConfig::new(server.clone(), MachineKey::new(key), home);
    config.keep_alive = Duration::from_millis(300);
    config.envs =
        PythonEnvs::new(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent-venvs"));
    config
}

fn start(
    config: AgentConfig,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<Summary, AgentError>>,
) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(bosun_agent::run(config, shutdown.clone()));
    (shutdown, task)
}

fn execute(id: &str) -> Vec<Value> {
    vec![
        json!("ExecutePackage"),
        json!({"executionId": id, "packageId": PACKAGE_ID, "packageName": "hello",
               "version": "1.0.0", "tenantSlug": "acme"}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_runs_once_reports_its_output_and_result_and_survives_a_restart() {
    let zip = super::support::package(
        "import sys\nprint('hello from the bot')\nprint('to stderr', file=sys.stderr)\n",
    );
    let server = TestServer::start(served(zip, false)).await;
    let home = tempfile::tempdir().unwrap();
    let (shutdown, agent) = start(config(&server.url, KEY, home.path()));

    server
        .wait("the agent to say it is available", |s| {
            s.calls("SendStatusUpdate")
                .contains(&vec![json!("Available"), Value::Null])
        })
        .await;
    let client = server.client().unwrap();
    let id = "5f0c2a8e-0000-4000-8000-000000000001";
    assert_eq!(
        client.invoke("ReceiveCommand", execute(id)).await.unwrap(),
        Value::Null
    );
    let accepted = std::fs::read_to_string(home.path().join("agent/accepted")).unwrap();
    assert!(accepted.contains(id), "recorded before it was acknowledged");
    // Sent again (a lost acknowledgment): acknowledged, not run again.
    assert_eq!(
        client.invoke("ReceiveCommand", execute(id)).await.unwrap(),
        Value::Null
    );

    server
        .wait("the result", |s| !s.calls("SendExecutionResult").is_empty())
        .await;
    let results = server.calls("SendExecutionResult");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0][0], json!(id));
    assert_eq!(results[0][1]["status"], json!("CompletedSuccessfully"));
    assert_eq!(results[0][1]["exitCode"], json!(0));
    let log = std::fs::read(home.path().join(format!("agent/runs/{id}/output.log"))).unwrap();
    assert_eq!(
        server.output(id, "stdout"),
        log,
        "all output, before the result"
    );
    assert!(String::from_utf8_lossy(&log).contains("hello from the bot"));
    assert!(String::from_utf8_lossy(&server.output(id, "stderr")).contains("to stderr"));
    assert_eq!(
        server.calls("SendExecutionStatusUpdate")[0],
        vec![json!(id), json!("Running"), Value::Null]
    );
    assert_eq!(server.calls("SendExecutionStarted").len(), 1, "run once");
    assert!(
        server
            .calls("SendStatusUpdate")
            .contains(&vec![json!("Busy"), json!(id)])
    );
    server
        .wait("a keep-alive", |s| !s.calls("KeepAlive").is_empty())
        .await;
    assert!(
        !home.path().join(format!("agent/outbox/{id}.json")).exists(),
        "delivered, so no longer in the outbox"
    );

    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(
        summary.results[0].1.status,
        ExecutionStatus::CompletedSuccessfully
    );

    // A new agent on the same data directory: the same command is not run again.
    let (shutdown, agent) = start(config(&server.url, KEY, home.path()));
    server
        .wait("the agent to connect again", |s| {
            s.calls("SendStatusUpdate")
                .iter()
                .filter(|a| a[0] == json!("Available"))
                .count()
                >= 3
        })
        .await;
    let client = server.client().unwrap();
    assert_eq!(
        client.invoke("ReceiveCommand", execute(id)).await.unwrap(),
        Value::Null
    );
    // A bad id is refused with a reason, never used.
    let refused = client
        .invoke("ReceiveCommand", execute("../../etc"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("execution id"), "{refused}");
    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert!(summary.results.is_empty());
    assert_eq!(server.calls("SendExecutionStarted").len(), 1, "still once");
}

#[tokio::test]
async fn a_refused_machine_key_stops_the_agent_with_its_own_error() {
    let server = TestServer::start(served(super::support::package("print(1)\n"), false)).await;
    let home = tempfile::tempdir().unwrap();
    let (_shutdown, agent) = start(config(&server.url, "not-the-key", home.path()));
    let error = tokio::time::timeout(Duration::from_secs(30), agent)
        .await
        .expect("it stops by itself")
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, AgentError::KeyRefused { .. }), "{error:?}");
    assert!(!error.to_string().contains("not-the-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_the_execution_it_is_sent_and_returns_its_result() {
    let zip = super::support::package("import sys\nsys.exit(4)\n");
    let server = TestServer::start(served(zip, false)).await;
    let home = tempfile::tempdir().unwrap();
    let mut config = config(&server.url, KEY, home.path());
    config.once = Some(Duration::from_secs(60));
    let (_shutdown, agent) = start(config);
    server.wait("a connection", |s| s.client().is_some()).await;
    let id = "once-1";
    server
        .client()
        .unwrap()
        .invoke("ReceiveCommand", execute(id))
        .await
        .unwrap();
    // One execution only: a second is refused, not queued.
    let second = server
        .client()
        .unwrap()
        .invoke("ReceiveCommand", execute("once-2"))
        .await;
    assert!(second.is_err(), "{second:?}");
    let summary = tokio::time::timeout(Duration::from_secs(120), agent)
        .await
        .expect("it stops by itself")
        .unwrap()
        .unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(summary.results[0].1.status, ExecutionStatus::Failed);
    assert_eq!(summary.results[0].1.exit_code, Some(4));
    assert_eq!(
        server.calls("SendExecutionResult").len(),
        1,
        "delivered before it returned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_disconnections_and_its_result_waits_for_the_server() {
    let home = tempfile::tempdir().unwrap();
    let release = home.path().join("release");
    let script = format!(
        "import os, time\nprint('start', flush=True)\nwhile not os.path.exists({release:?}):\n    time.sleep(0.05)\nprint('end')\n"
    );
    let server = TestServer::start(served(super::support::package(&script), false)).await;
    let (shutdown, agent) = start(config(&server.url, KEY, home.path()));
    server.wait("a connection", |s| s.client().is_some()).await;
    let id = "survivor";
    server
        .client()
        .unwrap()
        .invoke("ReceiveCommand", execute(id))
        .await
        .unwrap();
    server
        .wait("the bot to start", |s| {
            s.output(id, "stdout").starts_with(b"start")
        })
        .await;

    // The connection drops and comes back while the bot runs: the agent says again
    // that the execution is running.
    let first = server.client().unwrap();
    first.close(None);
    server
        .wait("Running said again on the new connection", |s| {
            s.calls("SendExecutionStatusUpdate")
                .iter()
                .filter(|a| a[0] == json!(id) && a[1] == json!("Running"))
                .count()
                == 2
        })
        .await;

    // The server goes away; the run ends meanwhile; its result waits on disk.
    server.down.store(true, Ordering::SeqCst);
    server.client().unwrap().close(None);
    std::fs::write(&release, "").unwrap();
    let entry = home.path().join(format!("agent/outbox/{id}.json"));
    server
        .wait("the result in the outbox", |_| entry.exists())
        .await;
    assert!(server.calls("SendExecutionResult").is_empty());

    // The server is back: the rest of the output, then the result.
    server.down.store(false, Ordering::SeqCst);
    server
        .wait("the result", |s| !s.calls("SendExecutionResult").is_empty())
        .await;
    let log = std::fs::read(home.path().join(format!("agent/runs/{id}/output.log"))).unwrap();
    assert_eq!(server.output(id, "stdout"), log);
    assert!(log.ends_with(b"end\n"));
    assert_eq!(
        server.calls("SendExecutionResult")[0][1]["status"],
        json!("CompletedSuccessfully")
    );
    server.wait("the outbox emptied", |_| !entry.exists()).await;
    assert_eq!(server.calls("SendExecutionStarted").len(), 1);
    shutdown.cancel();
    agent.await.unwrap().unwrap();
}

/// A bot that prints `start`, then waits for `<dir>/release-<its execution id>`.
fn waiting_bot(dir: &std::path::Path) -> Vec<u8> {
    let script = format!(
        "import os, time\nid = os.environ['BOSUN_EXECUTION_ID']\nprint('start', id, flush=True)\n\
         path = os.path.join({dir:?}, 'release-' + id)\nwhile not os.path.exists(path):\n    time.sleep(0.05)\nprint('end')\n",
        dir = dir.display().to_string()
    );
    super::support::package(&script)
}

fn cancel(id: &str) -> Vec<Value> {
    vec![json!("CancelExecution"), json!({"executionId": id})]
}

fn result_of(server: &TestServer, id: &str) -> Option<Value> {
    server
        .calls("SendExecutionResult")
        .into_iter()
        .find(|a| a[0] == json!(id))
        .map(|a| a[1].clone())
}

fn started(server: &TestServer) -> Vec<Value> {
    server
        .calls("SendExecutionStarted")
        .into_iter()
        .map(|a| a[0].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_wait_their_turn_and_cancels_reach_waiting_and_running_ones() {
    let home = tempfile::tempdir().unwrap();
    let server = TestServer::start(served(waiting_bot(home.path()), false)).await;
    let (shutdown, agent) = start(config(&server.url, KEY, home.path()));
    server.wait("a connection", |s| s.client().is_some()).await;
    let client = server.client().unwrap();
    for id in ["run-a", "run-b"] {
        client.invoke("ReceiveCommand", execute(id)).await.unwrap();
    }
    server
        .wait("a to start", |s| {
            s.output("run-a", "stdout").starts_with(b"start")
        })
        .await;
    assert!(
        server
            .calls("SendStatusUpdate")
            .contains(&vec![json!("Busy"), json!("run-a")])
    );

    // b waits behind a: cancelled, it never runs.
    client
        .invoke("ReceiveCommand", cancel("run-b"))
        .await
        .unwrap();
    server
        .wait("b's result", |s| result_of(s, "run-b").is_some())
        .await;
    assert_eq!(
        result_of(&server, "run-b").unwrap()["status"],
        json!("Cancelled")
    );
    client
        .invoke("ReceiveCommand", execute("run-c"))
        .await
        .unwrap();

    // a is cancelled while it runs; c takes its place and completes.
    client
        .invoke("ReceiveCommand", cancel("run-a"))
        .await
        .unwrap();
    server
        .wait("a's result", |s| result_of(s, "run-a").is_some())
        .await;
    assert_eq!(
        result_of(&server, "run-a").unwrap()["status"],
        json!("Cancelled")
    );
    server
        .wait("c to start", |s| {
            s.output("run-c", "stdout").starts_with(b"start")
        })
        .await;
    std::fs::write(home.path().join("release-run-c"), "").unwrap();
    server
        .wait("c's result", |s| result_of(s, "run-c").is_some())
        .await;
    assert_eq!(
        result_of(&server, "run-c").unwrap()["status"],
        json!("CompletedSuccessfully")
    );
    assert_eq!(started(&server), [json!("run-a"), json!("run-c")]);
    assert!(
        !server
            .calls("SendExecutionStatusUpdate")
            .iter()
            .any(|a| a[0] == json!("run-b")),
        "b never ran"
    );
    server
        .wait("the agent available again", |s| {
            s.calls("SendStatusUpdate").last() == Some(&vec![json!("Available"), Value::Null])
        })
        .await;
    shutdown.cancel();
    agent.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_a_run_past_the_drain_deadline_is_cancelled_and_reported() {
    let home = tempfile::tempdir().unwrap();
    let server = TestServer::start(served(waiting_bot(home.path()), false)).await;
    let mut config = config(&server.url, KEY, home.path());
    config.drain_timeout = Duration::from_millis(300);
    let (shutdown, agent) = start(config);
    server.wait("a connection", |s| s.client().is_some()).await;
    let client = server.client().unwrap();
    client
        .invoke("ReceiveCommand", execute("drained"))
        .await
        .unwrap();
    server
        .wait("the bot to start", |s| {
            s.output("drained", "stdout").starts_with(b"start")
        })
        .await;
    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(summary.results[0].1.status, ExecutionStatus::Cancelled);
    assert_eq!(
        result_of(&server, "drained").expect("reported before the agent returned")["status"],
        json!("Cancelled")
    );
    assert!(!home.path().join("agent/outbox/drained.json").exists());
}
