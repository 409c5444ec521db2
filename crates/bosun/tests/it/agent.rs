//! `bosun agent` end to end against `bosun up`, both real binaries on loopback: a
//! trigger runs a pushed package on the agent, its output is the execution's log while
//! it runs, its exit code and outcome are recorded; a cancel takes the whole process
//! tree down; an agent offline at the trigger runs it when it connects; a killed agent
//! loses its run ("agent lost"); a server restarted mid-run records the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    TestHome, Up, alive, code, free_port, output, saved_token, stderr, stdout, wait_for,
};

/// A request to the server; the status and the body as JSON (`Null` when empty).
fn http(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("the server answers");
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

/// A server for agents: the lost grace short, so a killed agent's run ends soon.
fn serve(home: &TestHome) -> Up {
    Up::start_with(home, &["--no-example", "--agent-lost-grace", "2s"])
}

/// Registers an agent with `bosun agents add`; its id and machine key.
fn add_agent(up: &Up, home: &TestHome, name: &str) -> (String, String) {
    let out = output(up.client(home).args(["agents", "add", name]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("machine key (shown only this once): "))
        .unwrap_or_else(|| panic!("no key in {text}"))
        .to_owned();
    let (_, agents) = http(
        "GET",
        &format!("{}/default/api/agents", up.url()),
        &saved_token(home),
        None,
    );
    let id = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, key)
}

/// Pushes the bot `source` as package `name` 1.0.0.
fn push(up: &Up, home: &TestHome, work: &Path, name: &str, source: &str) {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bot.py"), source).unwrap();
    let out = output(
        up.client(home)
            .args(["package", "push"])
            .arg(&dir)
            .args(["--version", "1.0.0"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Triggers `package` on `agent`; the execution's id.
fn trigger(up: &Up, home: &TestHome, agent: &str, package: &str) -> String {
    let (status, body) = http(
        "POST",
        &format!("{}/default/api/executions/trigger", up.url()),
        &saved_token(home),
        Some(json!({"botAgentId": agent, "packageId": package})),
    );
    assert_eq!(status, 200, "{body}");
    body["ExecutionId"].as_str().unwrap().to_owned()
}

/// `bosun agent` in a child process, killed when dropped.
struct Agent {
    child: Child,
}

impl Agent {
    fn start(up_url: &str, key: &str, home: &TestHome) -> Self {
        let child = home
            .bosun()
            .args([
                "agent",
                "--server",
                &format!("{up_url}/default"),
                "--machine-key",
                key,
                "--home",
            ])
            .arg(home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bosun agent can be started");
        Self { child }
    }

    fn kill9(&mut self) {
        crate::support::signal(self.child.id(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The execution, once `done` says so (within a minute: the first run builds the
/// bot's environment).
fn until(up: &Up, home: &TestHome, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let reached = wait_for(Duration::from_secs(60), || {
        last = up.execution(home, id);
        done(&last)
    });
    assert!(reached, "execution {id} never got there: {last}");
    last
}

fn finished(e: &Value) -> bool {
    !matches!(e["status"].as_str(), Some("Pending" | "Running"))
}

fn log(up: &Up, home: &TestHome, id: &str) -> String {
    let (_, body) = http(
        "GET",
        &format!("{}/api/executions/{id}/logs", up.url()),
        &saved_token(home),
        None,
    );
    body.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string())
}

/// A bot that prints, waits for `go` to exist, prints again and exits `code`.
fn waiting_bot(go: &Path, code: i32) -> String {
    format!(
        "import os, sys, time\nprint('started on the agent', flush=True)\n\
         while not os.path.exists({go:?}):\n    time.sleep(0.05)\n\
         print('finished', flush=True)\nsys.exit({code})\n"
    )
}

#[test]
fn a_triggered_package_runs_on_the_agent_with_live_output_and_its_exit_code() {
    let home = TestHome::new();
    let up = serve(&home);
    let work = tempfile::tempdir().unwrap();
    let go = work.path().join("go");
    push(&up, &home, work.path(), "waits", &waiting_bot(&go, 0));
    push(
        &up,
        &home,
        work.path(),
        "fails",
        "import sys\nprint('about to fail')\nsys.exit(3)\n",
    );
    let (agent_id, key) = add_agent(&up, &home, "worker-1");

    // Triggered while no agent is connected: it waits, then runs when one connects.
    let id = trigger(&up, &home, &agent_id, "waits");
    assert_eq!(up.execution(&home, &id)["status"], "Pending");
    let agent_home = TestHome::new();
    let _agent = Agent::start(&up.url(), &key, &agent_home);

    // Its output reaches the server while it runs.
    let running = until(&up, &home, &id, |e| {
        e["status"] == "Running" && log(&up, &home, e["id"].as_str().unwrap()).contains("started")
    });
    assert_eq!(running["status"], "Running");
    std::fs::write(&go, "").unwrap();
    let done = until(&up, &home, &id, finished);
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    assert_eq!(done["exitCode"], 0);
    assert_eq!(log(&up, &home, &id), "started on the agent\nfinished\n");

    let failing = trigger(&up, &home, &agent_id, "fails");
    let done = until(&up, &home, &failing, finished);
    assert_eq!(done["status"], "Failed", "{done}");
    assert_eq!(done["exitCode"], 3);
    assert!(log(&up, &home, &failing).contains("about to fail"));
    up.stop();
}

#[test]
fn a_cancel_stops_the_whole_process_tree_on_the_agent() {
    let home = TestHome::new();
    let up = serve(&home);
    let work = tempfile::tempdir().unwrap();
    let pids = work.path().join("pids");
    let bot = format!(
        "import subprocess, time\n\
         child = subprocess.Popen(['sh', '-c', 'sleep 300 & echo $! > {pids}.grandchild; wait'])\n\
         open({pids:?}, 'w').write(str(child.pid))\n\
         print('spawned', flush=True)\ntime.sleep(300)\n",
        pids = pids.display()
    );
    push(&up, &home, work.path(), "spawner", &bot);
    let (agent_id, key) = add_agent(&up, &home, "worker-2");
    let agent_home = TestHome::new();
    let _agent = Agent::start(&up.url(), &key, &agent_home);

    let id = trigger(&up, &home, &agent_id, "spawner");
    let grandchild = PathBuf::from(format!("{}.grandchild", pids.display()));
    assert!(
        wait_for(Duration::from_secs(60), || grandchild.exists()
            && pids.exists()),
        "the bot never spawned"
    );
    let read = |p: &Path| -> u32 { std::fs::read_to_string(p).unwrap().trim().parse().unwrap() };
    let (child, grandchild) = (read(&pids), read(&grandchild));
    assert!(alive(child) && alive(grandchild));

    let (status, body) = http(
        "POST",
        &format!("{}/default/api/executions/{id}/cancel", up.url()),
        &saved_token(&home),
        None,
    );
    assert_eq!(status, 202, "{body}");
    let done = until(&up, &home, &id, finished);
    assert_eq!(done["status"], "Cancelled", "{done}");
    assert!(
        wait_for(Duration::from_secs(15), || !alive(child)
            && !alive(grandchild)),
        "a process of the cancelled bot survived"
    );
    up.stop();
}

#[test]
fn a_killed_agent_loses_its_run_and_a_restarted_server_records_the_end() {
    let home = TestHome::new();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let flags = ["--no-example", "--agent-lost-grace", "2s"];
    let up = Up::start_listening(&home, &listen, port, &flags);
    let work = tempfile::tempdir().unwrap();
    let (go, go_again) = (work.path().join("go"), work.path().join("go-again"));
    push(&up, &home, work.path(), "waits", &waiting_bot(&go, 0));
    push(
        &up,
        &home,
        work.path(),
        "waits-again",
        &waiting_bot(&go_again, 0),
    );
    let (agent_id, key) = add_agent(&up, &home, "worker-3");

    // kill -9 of the agent mid-run: after the grace period, the run fails "agent lost".
    let agent_home = TestHome::new();
    let mut agent = Agent::start(&up.url(), &key, &agent_home);
    let lost = trigger(&up, &home, &agent_id, "waits");
    until(&up, &home, &lost, |e| e["status"] == "Running");
    agent.kill9();
    let done = until(&up, &home, &lost, finished);
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(
        done["message"].as_str().unwrap().contains("agent lost"),
        "{done}"
    );
    // The killed agent's bot is left running; let it end.
    std::fs::write(&go, "").unwrap();

    // The server restarts mid-run: the agent reconnects, and the end is recorded.
    let other_home = TestHome::new();
    let _agent = Agent::start(&up.url(), &key, &other_home);
    let id = trigger(&up, &home, &agent_id, "waits-again");
    until(&up, &home, &id, |e| {
        e["status"] == "Running" && log(&up, &home, e["id"].as_str().unwrap()).contains("started")
    });
    up.stop();
    std::fs::write(&go_again, "").unwrap();
    let up = Up::start_listening(&home, &listen, port, &["--no-example"]);
    let done = until(&up, &home, &id, finished);
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    assert!(log(&up, &home, &id).contains("finished"));
    up.stop();
}

#[test]
fn agent_once_runs_what_waits_for_it_and_a_bad_key_is_one_line_and_exit_7() {
    let home = TestHome::new();
    let up = serve(&home);
    let work = tempfile::tempdir().unwrap();
    push(
        &up,
        &home,
        work.path(),
        "quick",
        "print('quick and done')\n",
    );
    let (agent_id, key) = add_agent(&up, &home, "smoke");
    let id = trigger(&up, &home, &agent_id, "quick");

    let agent_home = TestHome::new();
    let server = format!("{}/default", up.url());
    let out = output(
        agent_home
            .bosun()
            .args([
                "agent",
                "--once",
                "--server",
                &server,
                "--machine-key",
                &key,
                "--home",
            ])
            .arg(agent_home.path()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let done = up.execution(&home, &id);
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    assert_eq!(log(&up, &home, &id), "quick and done\n");

    let out = output(
        agent_home
            .bosun()
            .args([
                "agent",
                "--once",
                "--server",
                &server,
                "--machine-key",
                "bmk_not-a-key",
                "--home",
            ])
            .arg(agent_home.path()),
    );
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    let said = stderr(&out);
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(
        !said.contains("bmk_not-a-key"),
        "the key is never printed: {said}"
    );
    up.stop();
}
