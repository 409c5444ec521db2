//! The web dashboard `bosun up` serves at `/`, used as a person does: Debian's Chromium,
//! headless, driven by playwright-core (tests/browser/dashboard.mjs), against the real
//! server. It logs in, runs a job and watches it live, cancels a long one, filters the
//! history, uploads a package, and stays live across a restart of the server; the screenshots it takes are
//! the ones docs/SERVER.md shows when `BOSUN_SCREENSHOTS` names where to put them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use bosun_test_utils::browser;
use serde_json::{Value, json};

use crate::support::{TestHome, Up, saved_token};

/// `method url` with `token` and a JSON body: the status code and the JSON answer.
fn call(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method.clone(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("the body can be read");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, json)
    })
}

/// Defines a job through the API.
fn define(up: &Up, token: &str, definition: Value) {
    let (status, answer) = call(
        reqwest::Method::POST,
        &format!("{}/api/jobs", up.url()),
        token,
        Some(definition),
    );
    assert_eq!(status, 201, "POST /api/jobs: {answer}");
}

/// Runs a job through the API; the new execution's id.
fn run(up: &Up, token: &str, job: &str) -> String {
    let url = format!("{}/api/jobs/{job}/run", up.url());
    let (status, execution) = call(reqwest::Method::POST, &url, token, None);
    assert_eq!(status, 202, "POST {url}: {execution}");
    execution["id"]
        .as_str()
        .expect("an execution has an id")
        .to_owned()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect()
}

#[test]
fn a_person_runs_watches_cancels_and_filters_and_the_page_outlives_a_restart() {
    let Some(browser) = browser::or_skip() else {
        return;
    };
    let home = TestHome::new();
    let mut up = Up::start(&home);
    let port = up.port;
    let token = saved_token(&home);
    define(
        &up,
        &token,
        json!({"name": "ticker", "process": {"command": "python3", "arguments": ["-u", "-c",
            "import time\nfor i in range(1, 4):\n    print(f'tick {i}')\n    print(f'::status:: ticked {i}')\n    print(f'::progress:: {i * 33}')\n    time.sleep(1)\n"]}}),
    );
    define(
        &up,
        &token,
        json!({"name": "sleeper", "process": {"command": "sleep", "arguments": ["600"]}}),
    );
    // Two failures already in the history, as a day of real bots has.
    define(
        &up,
        &token,
        json!({"name": "flaky", "duplicatePolicy": "allow", "process": {"command": "python3", "arguments": ["-c",
            "import sys\nprint('the portal timed out', file=sys.stderr)\nsys.exit(3)\n"]}}),
    );
    for _ in 0..2 {
        run(&up, &token, "flaky");
    }

    let shots = match std::env::var_os("BOSUN_SCREENSHOTS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => home.path().join("screenshots"),
    };
    std::fs::create_dir_all(&shots).expect("the screenshot folder can be made");
    // A bot package for the upload, as `bosun package pack` makes one.
    let bot = home.write("invoices/bot.py", "print('invoices done')\n");
    let zip = home.path().join("invoices.zip");
    bosun_package::pack_dir(
        bot.parent().expect("bot.py is in a folder"),
        std::fs::File::create(&zip).expect("the zip can be made"),
    )
    .expect("the bot packs");
    let mut node = Command::new("node")
        .arg(browser.dir.join("dashboard.mjs"))
        .arg(&browser.chromium)
        .arg(up.url())
        .arg(&shots)
        .env("BOSUN_TOKEN", &token)
        .env("BOSUN_TEST_PACKAGE", &zip)
        .current_dir(&browser.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().expect("stdin is piped");
    let stdout = BufReader::new(node.stdout.take().expect("stdout is piped"));
    let mut seen = Value::Null;
    let mut restarted = None;
    for line in stdout.lines() {
        let line = line.expect("node's output is text");
        let Ok(said) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if said["phase"] == "restart" {
            // The page stays open while the server goes away and comes back on the
            // same port; then something new happens, which the page must show.
            up.stop();
            up = Up::start_listening(&home, &format!("127.0.0.1:{port}"), port, &[]);
            let id = run(&up, &token, "ticker");
            writeln!(stdin, "{id}").expect("node reads its stdin");
            restarted = Some(id);
        } else {
            seen = said;
        }
    }
    let status = node.wait().expect("node was waited for");
    assert!(status.success(), "the page did not do it all: {seen}");

    // 1. Login: a wrong token is refused, the right one shows its tenant; the token
    // is never in a URL the page asks for.
    assert!(
        seen["refused"]
            .as_str()
            .is_some_and(|s| s.contains("refused")),
        "{seen}"
    );
    assert_eq!(seen["tenant"], "default", "{seen}");
    assert_eq!(seen["tokenInUrl"], json!([]), "{seen}");
    assert_eq!(seen["pageErrors"], json!([]), "{seen}");

    // 2. The run from the Jobs page: its own page, live from Running to the end.
    let ticker = &seen["ticker"];
    let id = ticker["id"].as_str().expect("the ticker's page had an id");
    assert_eq!(ticker["hash"], format!("#/executions/{id}"), "{ticker}");
    let statuses = strings(&ticker["statuses"]);
    assert_eq!(statuses.last(), Some(&"CompletedSuccessfully"), "{ticker}");
    assert!(statuses.contains(&"Running"), "{ticker}");
    assert!(
        !strings(&ticker["liveLines"]).is_empty(),
        "log lines showed while it ran, not only at the end: {ticker}"
    );
    assert!(
        strings(&ticker["liveStatusLines"])
            .iter()
            .any(|l| l.starts_with("ticked ")),
        "its status line showed while it ran: {ticker}"
    );
    let log = ticker["finalLog"].as_str().unwrap_or_default();
    assert!(
        log.contains("tick 1") && log.contains("tick 3"),
        "the whole log: {log:?}"
    );
    assert_eq!(
        up.execution(&home, id)["status"],
        "CompletedSuccessfully",
        "the page showed what the server holds"
    );

    // 2b. Run again: a new execution of the same job, on its own page.
    let rerun = &seen["rerun"];
    let again = rerun["id"].as_str().expect("the rerun's page had an id");
    assert_ne!(rerun["of"], rerun["id"], "{rerun}");
    assert_eq!(rerun["hash"], format!("#/executions/{again}"), "{rerun}");
    let of = rerun["of"].as_str().unwrap_or_default();
    assert_eq!(rerun["trigger"], format!("api: rerun of {of}"), "{rerun}");
    assert_eq!(up.execution(&home, again)["jobName"], "flaky");

    // 3. Cancel.
    let sleeper = &seen["sleeper"];
    let cancelled = sleeper["id"]
        .as_str()
        .expect("the sleeper's page had an id");
    assert_eq!(
        strings(&sleeper["statuses"]).last(),
        Some(&"Cancelled"),
        "{sleeper}"
    );
    assert_eq!(sleeper["cancelHidden"], true, "nothing left to cancel");
    assert_eq!(up.execution(&home, cancelled)["status"], "Cancelled");

    // 4. The filter: in the hash, applied by the server, kept by a reload.
    let only_cancelled = json!([{"id": cancelled, "status": "Cancelled"}]);
    assert_eq!(seen["filtered"]["hash"], "#/executions?status=Cancelled");
    assert_eq!(seen["filtered"]["rows"], only_cancelled, "{seen}");
    assert_eq!(seen["reloaded"]["hash"], "#/executions?status=Cancelled");
    assert_eq!(seen["reloaded"]["select"], "Cancelled");
    assert_eq!(seen["reloaded"]["rows"], only_cancelled, "{seen}");

    // 5. The upload, from the browser's own multipart form.
    let uploaded = &seen["uploaded"];
    assert_eq!(uploaded["row"][0], "invoices", "{uploaded}");
    assert_eq!(uploaded["row"][1], "1.0.0", "{uploaded}");
    assert_eq!(
        uploaded["message"], "Uploaded invoices 1.0.0.",
        "{uploaded}"
    );

    // 6. The overview's counts, and the page live again after the restart.
    let counts = strings(&seen["counts"]);
    assert!(counts.contains(&"1 succeeded"), "{counts:?}");
    assert!(counts.contains(&"1 cancelled"), "{counts:?}");
    assert!(counts.contains(&"3 failed"), "{counts:?}");
    let after = restarted.expect("the page got to the restart");
    assert_eq!(seen["afterRestart"]["id"], after.as_str(), "{seen}");
    assert_eq!(seen["afterRestart"]["live"], "live", "{seen}");
    assert_eq!(seen["afterRestart"]["loginShown"], false, "{seen}");

    for name in ["login", "overview", "executions", "execution", "jobs"] {
        let png = std::fs::read(shots.join(format!("{name}.png")))
            .unwrap_or_else(|e| panic!("{name}.png: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "{name}.png is a PNG");
    }
    up.stop();
}

#[test]
fn a_token_that_may_only_look_is_offered_no_action_and_the_server_refuses_one() {
    let Some(browser) = browser::or_skip() else {
        return;
    };
    let home = TestHome::new();
    let up = Up::start(&home);
    let admin = saved_token(&home);
    define(
        &up,
        &admin,
        json!({"name": "ticker", "process": {"command": "true"}}),
    );
    let id = run(&up, &admin, "ticker");
    let (status, created) = call(
        reqwest::Method::POST,
        &format!("{}/api/tokens", up.url()),
        &admin,
        Some(json!({"name": "watcher", "permissions": ["executions:view", "jobs:view"]})),
    );
    assert_eq!(status, 201, "POST /api/tokens: {created}");
    let watcher = created["token"].as_str().expect("the new token's secret");

    let out = Command::new("node")
        .arg(browser.dir.join("viewer.mjs"))
        .arg(&browser.chromium)
        .arg(up.url())
        .arg(&id)
        .env("BOSUN_TOKEN", watcher)
        .current_dir(&browser.dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            panic!("viewer.mjs printed no JSON\nstdout: {stdout}\nstderr: {stderr}")
        });
    assert!(out.status.success(), "the page did not do it all: {seen}");

    // Pages it may not read are not in the menu; no button it may not use shows.
    assert_eq!(
        seen["menu"],
        json!(["Overview", "Executions", "Jobs"]),
        "{seen}"
    );
    assert_eq!(seen["runButtons"], 0, "{seen}");
    assert_eq!(seen["executionButtons"], json!(["Download log"]), "{seen}");
    // And the server, not the page, is what refuses.
    assert_eq!(seen["runAnyway"], 403, "{seen}");
    assert_eq!(seen["pageErrors"], json!([]), "{seen}");
    up.stop();
}
