//! The web dashboard `bosun up` serves at `/`, used as a user does: Debian's Chromium,
//! headless, driven by playwright-core, logs in with a token and finds the execution
//! the API just ran in the executions table.

use std::process::Command;

use bosun_test_utils::browser;
use serde_json::Value;

use crate::support::{TestHome, Up, saved_token};

/// `POST url` with `token` and an empty body: the status code and the JSON answer.
fn post(url: &str, token: &str) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("the body can be read");
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, json)
    })
}

#[test]
fn a_user_logs_in_with_a_token_and_sees_the_execution_that_ran() {
    let browser = match browser::installed() {
        Ok(browser) => browser,
        Err(missing) => {
            eprintln!("{missing}");
            return;
        }
    };
    let home = TestHome::new();
    let up = Up::start(&home);
    let token = saved_token(&home);

    let (status, execution) = post(&format!("{}/api/jobs/hello-bot/run", up.url()), &token);
    assert_eq!(status, 202, "POST /api/jobs/hello-bot/run: {execution}");
    let id = execution["id"]
        .as_str()
        .expect("an execution has an id")
        .to_owned();
    let screenshot = home.path().join("dashboard.png");
    let out = Command::new("node")
        .arg(browser.dir.join("login.mjs"))
        .arg(&browser.chromium)
        .arg(up.url())
        .arg(&id)
        .arg(&screenshot)
        .env("BOSUN_TOKEN", &token)
        // The first run builds the bot's environment; the page shows it end live.
        .env("BOSUN_TEST_BROWSER_TIMEOUT_MS", "240000")
        .current_dir(&browser.dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("login.mjs printed no JSON\nstdout: {stdout}\nstderr: {stderr}"));
    assert!(
        out.status.success(),
        "the row never showed: {seen}\nstderr: {stderr}"
    );

    assert_eq!(seen["tenant"], "default", "{seen}");
    let rows = seen["rows"].as_array().expect("rows is a list");
    assert_eq!(rows.len(), 1, "one row per execution, and one ran: {seen}");
    assert_eq!(rows[0]["id"], id.as_str(), "{seen}");
    assert_eq!(rows[0]["status"], "CompletedSuccessfully", "{seen}");
    assert_eq!(seen["pageErrors"], serde_json::json!([]), "{seen}");
    // What the page showed is what the server holds.
    assert_eq!(up.execution(&home, &id)["status"], "CompletedSuccessfully");
    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");

    drop(up.stop());
}
