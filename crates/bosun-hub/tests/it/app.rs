//! A test hub on `127.0.0.1:0`: negotiate, the WebSocket route, and methods that exercise
//! every path of the protocol.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bosun_hub::negotiate::Negotiations;
use bosun_hub::server::{Client, Handler, HubError, Options, serve};
use bosun_hub::{Ended, new_connection_id};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A running test hub; stops when dropped.
pub(crate) struct TestHub {
    pub(crate) addr: SocketAddr,
    state: Arc<HubState>,
    task: JoinHandle<()>,
}

struct HubState {
    options: Options,
    negotiations: Negotiations<Option<String>>,
    ended: Mutex<Vec<Ended>>,
    closed_calls: Mutex<usize>,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestHub {
    pub(crate) async fn start() -> Self {
        Self::with(Options::default()).await
    }

    pub(crate) async fn with(options: Options) -> Self {
        let state = Arc::new(HubState {
            options,
            negotiations: Negotiations::new(Duration::from_secs(30)),
            ended: Mutex::new(Vec::new()),
            closed_calls: Mutex::new(0),
        });
        let app = Router::new()
            .route("/t/hubs/test/negotiate", post(negotiate))
            .route("/t/hubs/test", get(upgrade))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self { addr, state, task }
    }

    /// The hub's URL for clients (`http://…/t/hubs/test`).
    pub(crate) fn url(&self) -> String {
        format!("http://{}/t/hubs/test", self.addr)
    }

    /// The hub's WebSocket URL, without `id`.
    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/t/hubs/test", self.addr)
    }

    /// Why each finished connection ended, in order.
    pub(crate) fn ended(&self) -> Vec<Ended> {
        self.state.ended.lock().expect("lock").clone()
    }

    /// How many times a handler's `closed` ran.
    pub(crate) fn closed_calls(&self) -> usize {
        *self.state.closed_calls.lock().expect("lock")
    }
}

/// Polls `condition` every 10 ms until it holds; panics with `what` after 10 s.
pub(crate) async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn negotiate(
    State(state): State<Arc<HubState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let version = query
        .get("negotiateVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let key = query.get("machineKey").cloned();
    axum::Json(state.negotiations.negotiate(key, version)).into_response()
}

async fn upgrade(
    State(state): State<Arc<HubState>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let (connection_id, negotiated_key) = match query.get("id") {
        Some(id) => match state.negotiations.take(id) {
            Some(taken) => (taken.connection_id, taken.context),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        None => (new_connection_id(), None),
    };
    let upgrade_key = query.get("machineKey").cloned();
    ws.on_upgrade(move |socket| async move {
        let options = state.options.clone();
        let hub_state = state.clone();
        let ended = serve(socket, connection_id, options, move |client| Methods {
            client,
            keys: json!([negotiated_key, upgrade_key]),
            state: hub_state,
        })
        .await;
        state.ended.lock().expect("lock").push(ended);
    })
}

/// The test hub's methods.
struct Methods {
    client: Client,
    keys: Value,
    state: Arc<HubState>,
}

fn expect(arguments: &[Value], expected: usize) -> Result<(), HubError> {
    if arguments.len() == expected {
        Ok(())
    } else {
        Err(HubError::WrongArguments {
            given: arguments.len(),
            expected,
        })
    }
}

impl Handler for Methods {
    async fn invoke(&mut self, target: &str, arguments: Vec<Value>) -> Result<Value, HubError> {
        match target.to_ascii_lowercase().as_str() {
            "echo" => {
                expect(&arguments, 1)?;
                Ok(arguments[0].clone())
            }
            "add" => {
                expect(&arguments, 2)?;
                let sum = arguments
                    .iter()
                    .map(|n| n.as_i64().unwrap_or(0))
                    .sum::<i64>();
                Ok(json!(sum))
            }
            "nothing" => Ok(Value::Null),
            "fail" => Err(HubError::Shown("it failed on purpose".into())),
            "hide" => Err(HubError::Hidden("a secret detail".into())),
            "connectionid" => Ok(json!(self.client.connection_id())),
            "keys" => Ok(self.keys.clone()),
            "notifyme" => {
                expect(&arguments, 1)?;
                let sent = self.client.send("Notify", arguments);
                Ok(json!(sent))
            }
            "askclient" => {
                expect(&arguments, 1)?;
                match self.client.invoke("Ask", arguments).await {
                    Ok(answer) => Ok(json!({ "answer": answer })),
                    Err(error) => Err(HubError::Shown(format!("the client said: {error}"))),
                }
            }
            "slow" => {
                expect(&arguments, 1)?;
                let ms = arguments[0].as_u64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(json!(ms))
            }
            "closeme" => {
                self.client.close(Some("closed by the hub".into()));
                Ok(Value::Null)
            }
            _ => Err(HubError::MethodDoesNotExist),
        }
    }

    async fn closed(&mut self) {
        *self.state.closed_calls.lock().expect("lock") += 1;
    }
}
