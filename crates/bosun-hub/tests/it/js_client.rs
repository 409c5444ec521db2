//! The official JavaScript client (`@microsoft/signalr`, on Node) against the test hub.
//!
//! The client's package is pinned in `tests/js/package-lock.json`; this test installs it
//! with `npm ci` when `tests/js/node_modules` is missing. Without `node` on PATH the test
//! says so and passes without running.

use std::time::Duration;

use bosun_hub::Ended;
use bosun_hub::server::Options;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::app::TestHub;

#[tokio::test]
async fn the_official_javascript_client_works_with_the_hub() {
    let Some(dir) = bosun_test_utils::signalr_js::installed() else {
        eprintln!("{}", bosun_test_utils::signalr_js::SKIPPED);
        return;
    };
    let hub = TestHub::start().await;
    let fast = TestHub::with(Options {
        keep_alive: Duration::from_millis(100),
        client_timeout: Duration::from_millis(1500),
        ..Options::default()
    })
    .await;

    let mut child = Command::new("node");
    child
        .arg("client.mjs")
        .arg(hub.url())
        .arg(fast.url())
        .current_dir(&dir)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), child.output())
        .await
        .expect("the JavaScript client finishes within 60 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client.mjs failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| {
            panic!("client.mjs printed no JSON ({error}):\n{stdout}\n{stderr}")
        });

    assert!(
        seen["connectionId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{seen}"
    );
    assert_eq!(seen["echo"], json!({"a": [1, "two"]}));
    assert_eq!(seen["add"], json!(42));
    assert_eq!(seen["nothing"], Value::Null);
    assert_eq!(
        seen["keys"],
        json!(["js-key", "js-key"]),
        "the query string reaches negotiate and the socket"
    );
    assert_eq!(
        seen["notified"],
        json!("hello"),
        "a server→client send arrives"
    );
    assert_eq!(
        seen["asked"],
        json!({"answer": "js heard: what?"}),
        "the client answers a server→client invoke"
    );
    assert_eq!(
        seen["missing"],
        json!(
            "Failed to invoke 'Missing' due to an error on the server. HubException: Method does not exist."
        )
    );
    assert_eq!(
        seen["fail"],
        json!(
            "An unexpected error occurred invoking 'Fail' on the server. HubException: it failed on purpose"
        )
    );
    assert_eq!(
        seen["wrongArguments"],
        json!(
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: \
             Invocation provides 1 argument(s) but target expects 2."
        )
    );
    assert_eq!(seen["stopped"], json!("Disconnected"));
    assert_eq!(
        seen["directEcho"],
        json!("direct"),
        "skip-negotiation connects too"
    );
    assert_eq!(
        seen["idleState"],
        json!("Connected"),
        "each side reads the other's pings"
    );
    assert_eq!(seen["idleEcho"], json!("still here"));
    assert_eq!(
        seen["closeError"],
        json!("Server returned an error on close: closed by the hub")
    );
    crate::app::wait_for("the fast hub's end of it", || {
        fast.ended() == vec![Ended::ClosedHere]
    })
    .await;
}
