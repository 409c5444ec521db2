//! The whole agent against the real server, both in this process: bosun-server on a
//! free loopback port with SQLite in a temporary directory. Each test registers an
//! agent, uploads a bot package and triggers it through the server's API, then reads
//! what the server recorded (the execution, its log, the agent's status) through the
//! same API.
//!
//! One thing here cannot be made to happen with a server that behaves: the same
//! `ExecutePackage` sent again after its acknowledgment was lost. That an accepted
//! execution is acknowledged and not run twice, also after a restart of the agent, is
//! shown by the tests of `bosun_agent::accepted`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bosun_agent::config::{AgentConfig, MachineKey, ServerUrl};
use bosun_agent::{AgentError, Summary};
use bosun_core::ExecutionStatus;
use bosun_exec::python::PythonEnvs;
use bosun_server::{ServerConfig, ServerError};
use chrono::{DateTime, Utc};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// How long a wait may take: the first run of a bot builds its Python environment.
const WAIT: Duration = Duration::from_secs(90);

/// A bosun server running in this process; aborted on drop.
struct Server {
    /// `http://127.0.0.1:PORT`.
    url: String,
    token: String,
    home: PathBuf,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Server {
    /// A new server whose data directory (and SQLite file) is `home`.
    async fn start(home: &Path) -> Self {
        Self::start_on(home, "127.0.0.1:0", None).await
    }

    async fn start_on(home: &Path, listen: &str, token: Option<String>) -> Self {
        let mut config = ServerConfig::new(home);
        config.listen = listen.parse().unwrap();
        config.drain_timeout = Duration::from_secs(5);
        // A command the agent refused is offered again soon.
        config.agents.resend = Duration::from_millis(200);
        let server = bosun_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("{}", bosun_core::error::chain(&e)));
        let token = token
            .or_else(|| server.first_start.as_ref().map(|f| f.token.clone()))
            .expect("a first start makes the admin token");
        let url = server.url.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        Self {
            url,
            token,
            home: home.to_owned(),
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server as SIGTERM does, and waits for it.
    async fn stop(mut self) {
        self.shutdown.cancel();
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    /// Stops the server and starts it again on the same data directory and port.
    async fn restart_after(self, meanwhile: impl AsyncFnOnce()) -> Self {
        let (home, token) = (self.home.clone(), self.token.clone());
        let listen = self.url.strip_prefix("http://").unwrap().to_owned();
        self.stop().await;
        meanwhile().await;
        Self::start_on(&home, &listen, Some(token)).await
    }

    /// The base URL an agent is given: the default tenant's.
    fn agent_url(&self) -> ServerUrl {
        ServerUrl::parse(&format!("{}/default", self.url)).unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "GET {path}: {response:?}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Registers an agent; its id and machine key.
    async fn agent(&self, name: &str) -> (String, MachineKey) {
        let (status, body) = self
            .post(
                "/default/api/agents/create",
                json!({"name": name, "machineName": format!("{name}-machine")}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            MachineKey::new(body["machineKey"].as_str().unwrap()),
        )
    }

    /// Uploads the bot `script` as package `name` 1.0.0.
    async fn package(&self, name: &str, script: &str) {
        let form = Form::new()
            .text("name", name.to_owned())
            .text("version", "1.0.0")
            .part(
                "file",
                Part::bytes(super::support::package(script)).file_name("bot.zip"),
            );
        let response = self
            .http
            .post(format!("{}/default/api/packages/upload", self.url))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }

    /// Triggers `package` on the agent `agent_id`; the execution's id.
    async fn trigger(&self, agent_id: &str, package: &str) -> String {
        let (status, body) = self
            .post(
                "/default/api/executions/trigger",
                json!({"botAgentId": agent_id, "packageId": package}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["ExecutionId"].as_str().unwrap().to_owned()
    }

    async fn cancel(&self, id: &str) {
        let (status, body) = self
            .post(&format!("/default/api/executions/{id}/cancel"), json!({}))
            .await;
        assert_eq!(status, 202, "{body}");
    }

    async fn execution(&self, id: &str) -> Value {
        self.get(&format!("/api/executions/{id}")).await
    }

    /// The server's log of an execution's `stream` (`stdout` or `stderr`).
    async fn log(&self, id: &str, stream: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!(
                "{}/api/executions/{id}/logs?stream={stream}",
                self.url
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
        response.bytes().await.unwrap().to_vec()
    }

    async fn agent_record(&self, id: &str) -> Value {
        self.get(&format!("/default/api/agents/{id}")).await
    }

    /// Waits until `done` holds for the execution; answers it.
    async fn until(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let reached = eventually(async || {
            last = self.execution(id).await;
            done(&last)
        })
        .await;
        assert!(reached, "execution {id} never got to {what}: {last}");
        last
    }

    /// Waits until the execution has ended; answers it.
    async fn ended(&self, id: &str) -> Value {
        self.until(id, "an end", |e| {
            !matches!(e["status"].as_str(), Some("Pending" | "Running"))
        })
        .await
    }

    /// Waits until the execution runs and its output has `start` in it (after what
    /// the agent says while it builds the bot's Python environment, if it does).
    async fn started(&self, id: &str, start: &[u8]) {
        let mut last = (Value::Null, Vec::new());
        let reached = eventually(async || {
            last = (self.execution(id).await, self.log(id, "stdout").await);
            last.0["status"] == "Running" && last.1.windows(start.len()).any(|w| w == start)
        })
        .await;
        assert!(
            reached,
            "execution {id} never started and printed: {} {:?}",
            last.0,
            String::from_utf8_lossy(&last.1)
        );
    }

    /// Waits until the agent's status, as the server has it, is `status`.
    async fn agent_becomes(&self, id: &str, status: &str) {
        let mut last = Value::Null;
        let reached = eventually(async || {
            last = self.agent_record(id).await;
            last["status"] == status
        })
        .await;
        assert!(reached, "the agent never became {status}: {last}");
    }
}

/// Polls `cond` every 20 ms until it holds or [`WAIT`] has passed; whether it held.
async fn eventually(mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config(server: &Server, key: &MachineKey, home: &Path) -> AgentConfig {
    let mut config = AgentConfig::new(server.agent_url(), key.clone(), home);
    config.keep_alive = Duration::from_millis(300);
    config.envs = PythonEnvs::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent-venvs"));
    config
}

type Running = tokio::task::JoinHandle<Result<Summary, AgentError>>;

fn start(config: AgentConfig) -> (CancellationToken, Running) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(bosun_agent::run(config, shutdown.clone()));
    (shutdown, task)
}

/// Waits for the agent to return by itself.
async fn returned(agent: Running) -> Result<Summary, AgentError> {
    tokio::time::timeout(2 * WAIT, agent)
        .await
        .expect("the agent returns by itself")
        .unwrap()
}

/// A bot that prints `start`, a line on stderr, then waits for
/// `<dir>/release-<its execution id>` and prints `end`.
fn waiting_bot(dir: &Path) -> String {
    format!(
        "import os, sys, time\nid = os.environ['BOSUN_EXECUTION_ID']\nprint('start', id, flush=True)\n\
         print('to stderr', file=sys.stderr, flush=True)\n\
         path = os.path.join({dir:?}, 'release-' + id)\nwhile not os.path.exists(path):\n    time.sleep(0.05)\nprint('end')\n",
        dir = dir.display().to_string()
    )
}

fn release(dir: &Path, id: &str) {
    std::fs::write(dir.join(format!("release-{id}")), "").unwrap();
}

/// The agent's own copy of an execution's output.
fn agent_log(home: &Path, id: &str) -> Vec<u8> {
    std::fs::read(home.join(format!("agent/runs/{id}/output.log"))).unwrap()
}

fn outbox_entry(home: &Path, id: &str) -> PathBuf {
    home.join(format!("agent/outbox/{id}.json"))
}

/// Whether the agent has recorded that it accepted `id` (it does so before it
/// acknowledges the command).
fn accepted(home: &Path, id: &str) -> bool {
    std::fs::read_to_string(home.join("agent/accepted")).is_ok_and(|text| text.contains(id))
}

fn heartbeat(agent: &Value) -> DateTime<Utc> {
    agent["lastHeartbeat"]
        .as_str()
        .unwrap_or_else(|| panic!("no lastHeartbeat: {agent}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triggered_execution_runs_and_the_server_has_its_output_result_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("runner").await;
    let bots = dir.path().join("bots");
    std::fs::create_dir_all(&bots).unwrap();
    server.package("hello", &waiting_bot(&bots)).await;
    let home = dir.path().join("agent");
    let (shutdown, agent) = start(config(&server, &key, &home));
    server.agent_becomes(&agent_id, "Available").await;

    let id = server.trigger(&agent_id, "hello").await;
    server.started(&id, b"start").await;
    let running = server.execution(&id).await;
    assert!(running["pid"].as_i64().is_some_and(|p| p > 0), "{running}");
    server.agent_becomes(&agent_id, "Busy").await;

    release(&bots, &id);
    let done = server.ended(&id).await;
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    assert_eq!(done["exitCode"], 0, "{done}");
    let log = agent_log(&home, &id);
    assert_eq!(
        server.log(&id, "stdout").await,
        log,
        "all output, before the result"
    );
    assert!(
        log.ends_with(format!("start {id}\nend\n").as_bytes()),
        "{}",
        String::from_utf8_lossy(&log)
    );
    let errors = std::fs::read(home.join(format!("agent/runs/{id}/error.log"))).unwrap();
    assert_eq!(server.log(&id, "stderr").await, errors);
    assert!(errors.ends_with(b"to stderr\n"));
    server.agent_becomes(&agent_id, "Available").await;
    assert!(
        bosun_test_utils::wait_for_async(WAIT, || !outbox_entry(&home, &id).exists()).await,
        "delivered, so no longer in the outbox"
    );

    // Idle now, the agent sends only keep-alives: they move its last heartbeat.
    let idle = Utc::now();
    let moved = eventually(async || heartbeat(&server.agent_record(&agent_id).await) > idle).await;
    assert!(moved, "no keep-alive moved the heartbeat past {idle}");

    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(summary.results[0].0.as_str(), id);
    assert_eq!(
        summary.results[0].1.status,
        ExecutionStatus::CompletedSuccessfully
    );
    server.agent_becomes(&agent_id, "Disconnected").await;
    server.stop().await;
}

#[tokio::test]
async fn a_refused_machine_key_stops_the_agent_with_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    server.agent("someone").await;
    let wrong = MachineKey::new("bmk_not-the-key");
    let (_shutdown, agent) = start(config(&server, &wrong, &dir.path().join("agent")));
    let error = returned(agent).await.unwrap_err();
    assert!(matches!(error, AgentError::KeyRefused { .. }), "{error:?}");
    assert!(!error.to_string().contains("not-the-key"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_one_execution_returns_its_result_and_leaves_the_next_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("one-shot").await;
    server.package("fails", "import sys\nsys.exit(4)\n").await;
    // Both wait for the agent; it takes the first, and refuses the second.
    let first = server.trigger(&agent_id, "fails").await;
    let second = server.trigger(&agent_id, "fails").await;

    let home = dir.path().join("agent");
    let mut config = config(&server, &key, &home);
    config.once = Some(WAIT);
    let summary = returned(start(config).1).await.unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(summary.results[0].0.as_str(), first);
    assert_eq!(summary.results[0].1.status, ExecutionStatus::Failed);
    assert_eq!(summary.results[0].1.exit_code, Some(4));

    // Delivered before it returned.
    let done = server.execution(&first).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["exitCode"], 4, "{done}");
    let waiting = server.execution(&second).await;
    assert_eq!(waiting["status"], "Pending", "{waiting}");
    assert!(!accepted(&home, &second), "the second was not taken");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_outlives_server_restarts_and_its_result_waits_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("survivor").await;
    let bots = dir.path().join("bots");
    std::fs::create_dir_all(&bots).unwrap();
    // Prints `start`, then `middle` once `middle-<id>` exists, then `end` once
    // `release-<id>` does.
    let bot = format!(
        "import os, time\nid = os.environ['BOSUN_EXECUTION_ID']\n\
         def wait(name):\n    while not os.path.exists(os.path.join({dir:?}, name + '-' + id)):\n        time.sleep(0.05)\n\
         print('start', flush=True)\nwait('middle')\nprint('middle', flush=True)\nwait('release')\nprint('end')\n",
        dir = bots.display().to_string()
    );
    server.package("waits", &bot).await;
    let home = dir.path().join("agent");
    let (shutdown, agent) = start(config(&server, &key, &home));
    let id = server.trigger(&agent_id, "waits").await;
    server.started(&id, b"start\n").await;

    // The server restarts on the same port while the bot runs: the agent connects
    // again, and the run's output goes on reaching it.
    let server = server.restart_after(async || {}).await;
    std::fs::write(bots.join(format!("middle-{id}")), "").unwrap();
    server.started(&id, b"middle\n").await;

    // The server stops; the run ends meanwhile; its result waits on disk until the
    // server is back.
    let entry = outbox_entry(&home, &id);
    let server = server
        .restart_after(async || {
            release(&bots, &id);
            assert!(
                bosun_test_utils::wait_for_async(WAIT, || entry.exists()).await,
                "the result never reached the outbox"
            );
        })
        .await;

    let done = server.ended(&id).await;
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    let log = agent_log(&home, &id);
    assert!(
        log.ends_with(b"start\nmiddle\nend\n"),
        "{}",
        String::from_utf8_lossy(&log)
    );
    assert_eq!(server.log(&id, "stdout").await, log, "all of the output");
    assert!(
        bosun_test_utils::wait_for_async(WAIT, || !entry.exists()).await,
        "the outbox emptied"
    );
    server.agent_becomes(&agent_id, "Available").await;
    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert_eq!(summary.results.len(), 1, "ran once");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_wait_their_turn_and_cancels_reach_waiting_and_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("queue").await;
    let bots = dir.path().join("bots");
    std::fs::create_dir_all(&bots).unwrap();
    server.package("waits", &waiting_bot(&bots)).await;
    let home = dir.path().join("agent");
    let (shutdown, agent) = start(config(&server, &key, &home));
    server.agent_becomes(&agent_id, "Available").await;

    let a = server.trigger(&agent_id, "waits").await;
    let b = server.trigger(&agent_id, "waits").await;
    let c = server.trigger(&agent_id, "waits").await;
    server.started(&a, b"start").await;
    // The server sends them one at a time, each after the one before was
    // acknowledged: once c is taken, the server knows b is on the agent.
    assert!(
        bosun_test_utils::wait_for_async(WAIT, || accepted(&home, &c)).await,
        "c never reached the agent"
    );
    server.agent_becomes(&agent_id, "Busy").await;
    for waiting in [&b, &c] {
        let e = server.execution(waiting).await;
        assert_eq!(e["status"], "Pending", "one at a time: {e}");
    }

    // b waits behind a: cancelled, it never runs.
    server.cancel(&b).await;
    let done = server.ended(&b).await;
    assert_eq!(done["status"], "Cancelled", "{done}");
    assert!(
        done["message"]
            .as_str()
            .is_some_and(|m| m.contains("before it started")),
        "{done}"
    );
    assert_eq!(done["pid"], Value::Null, "{done}");
    assert!(server.log(&b, "stdout").await.is_empty());

    // a is cancelled while it runs; c, next in line, takes its place and completes.
    assert_eq!(server.execution(&a).await["status"], "Running");
    server.cancel(&a).await;
    let done = server.ended(&a).await;
    assert_eq!(done["status"], "Cancelled", "{done}");
    server.started(&c, b"start").await;
    release(&bots, &c);
    let done = server.ended(&c).await;
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    let log = server.log(&c, "stdout").await;
    assert_eq!(log, agent_log(&home, &c));
    assert!(
        log.ends_with(format!("start {c}\nend\n").as_bytes()),
        "{}",
        String::from_utf8_lossy(&log)
    );
    server.agent_becomes(&agent_id, "Available").await;

    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    let ended: Vec<(&str, ExecutionStatus)> = summary
        .results
        .iter()
        .map(|(id, result)| (id.as_str(), result.status))
        .collect();
    assert_eq!(
        ended,
        [
            (b.as_str(), ExecutionStatus::Cancelled),
            (a.as_str(), ExecutionStatus::Cancelled),
            (c.as_str(), ExecutionStatus::CompletedSuccessfully),
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_a_run_past_the_drain_deadline_is_cancelled_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("drained").await;
    let bots = dir.path().join("bots");
    std::fs::create_dir_all(&bots).unwrap();
    server.package("waits", &waiting_bot(&bots)).await;
    let home = dir.path().join("agent");
    let mut config = config(&server, &key, &home);
    config.drain_timeout = Duration::from_millis(300);
    let (shutdown, agent) = start(config);
    let id = server.trigger(&agent_id, "waits").await;
    server.started(&id, b"start").await;

    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    assert_eq!(summary.results.len(), 1);
    assert_eq!(summary.results[0].1.status, ExecutionStatus::Cancelled);
    let done = server.execution(&id).await;
    assert_eq!(
        done["status"], "Cancelled",
        "reported before the agent returned: {done}"
    );
    assert!(!outbox_entry(&home, &id).exists());
    server.stop().await;
}

/// A cancel that reaches the server while its `ExecutePackage` is on the way to the
/// agent (sent, not yet acknowledged) is recorded "cancelled before its agent
/// received it", yet the agent has taken the command and runs the bot; its reports
/// are then refused. The server's record must be what happened on the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_command_is_on_its_way_is_recorded_as_what_the_agent_did() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("server")).await;
    let (agent_id, key) = server.agent("racer").await;
    server.package("quick", "print('ran')\n").await;
    let home = dir.path().join("agent");
    let (shutdown, agent) = start(config(&server, &key, &home));
    server.agent_becomes(&agent_id, "Available").await;
    // Each cancel follows its trigger at once: some reach the server while the
    // command is on its way, the window this is about.
    let mut ids = Vec::new();
    for _ in 0..30 {
        let id = server.trigger(&agent_id, "quick").await;
        server.cancel(&id).await;
        ids.push(id);
    }
    for id in &ids {
        server.ended(id).await;
    }
    let settled = eventually(async || {
        server.agent_record(&agent_id).await["status"] == "Available"
            && std::fs::read_dir(home.join("agent/outbox")).is_ok_and(|d| d.count() == 0)
    })
    .await;
    assert!(settled, "the agent never settled");
    shutdown.cancel();
    let summary = agent.await.unwrap().unwrap();
    for (id, result) in &summary.results {
        let recorded = server.execution(id.as_str()).await;
        assert_eq!(
            recorded["status"],
            result.status.as_str(),
            "the agent's end of {id} is not the server's: {recorded}"
        );
    }
    server.stop().await;
}
