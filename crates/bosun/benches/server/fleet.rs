//! (f) A thousand agents connected at once, each invoking `KeepAlive` every second:
//! what holding them costs the server in CPU and memory.
//!
//! The agents are created through the API (`POST /default/api/agents/create`), then
//! connected from this process with the hub's own client (`bosun_hub::client`, what
//! `bosun agent` uses), the key in the `X-MachineKey` header: negotiate, WebSocket, handshake, then `SendStatusUpdate
//! ("Available")` as an agent introduces itself. Each connection invokes `KeepAlive`
//! every second, the connections' first calls spread evenly over one second, and
//! answers any call of the server. Once all are connected and a few seconds have
//! passed, the server's CPU time is read from `/proc/PID/stat` at the start and the
//! end of the window; its memory at the end. A connection that ends or a call that
//! fails is an error of the bench, not a figure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_hub::client::{ClientOptions, Connection, Incoming, connect};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Fallible;
use crate::api::Api;

/// Requests in flight while creating agents, and connections being opened at once.
pub(crate) const AT_ONCE: usize = 16;

/// How often each connection invokes `KeepAlive`.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

/// Creates `n` agents; their machine keys.
pub(crate) async fn create_agents(api: Api, n: usize) -> Fallible<Vec<String>> {
    futures_util::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let body = json!({"name": format!("load-{i}"), "machineName": "loopback"});
                let created = api
                    .post(
                        "/default/api/agents/create",
                        &body,
                        201,
                        "creating an agent",
                    )
                    .await?;
                created["machineKey"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "a new agent came without its machineKey".into())
            }
        })
        .buffer_unordered(AT_ONCE)
        .try_collect()
        .await
}

/// What the connections counted, shared by them all.
#[derive(Default)]
pub(crate) struct Counters {
    /// `KeepAlive` calls answered.
    pub(crate) answered: AtomicU64,
    /// Calls that failed, and connections that ended.
    pub(crate) failed: AtomicU64,
    /// The first failure, in words.
    pub(crate) first_failure: Mutex<Option<String>>,
    /// Round trips of the `KeepAlive` calls, each with when it was answered.
    pub(crate) round_trips: Mutex<Vec<(Instant, f64)>>,
}

impl Counters {
    fn fail(&self, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        let mut first = self.first_failure.lock().expect("never poisoned");
        first.get_or_insert(what);
    }

    /// The failures so far as an error, if any.
    pub(crate) fn check(&self) -> Fallible<()> {
        match self.failed.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => {
                let first = self.first_failure.lock().expect("never poisoned").clone();
                Err(format!(
                    "{n} keep-alive calls or connections failed; the first: {}",
                    first.unwrap_or_default()
                )
                .into())
            }
        }
    }
}

/// Connects one agent per key to the hub at `url` (the server's root) and starts
/// its keep-alives; the connections are served until `stop`.
pub(crate) async fn connect_all(
    url: String,
    keys: Vec<String>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) -> Fallible<Vec<tokio::task::JoinHandle<()>>> {
    let n = keys.len();
    let connections: Vec<(usize, Connection, Incoming)> =
        futures_util::stream::iter(keys.into_iter().enumerate())
            .map(|(i, key)| {
                // The key goes in the header, not the URL, so that no error shows it.
                let hub = format!("{url}/default/hubs/botagent");
                let headers = [("X-MachineKey".to_owned(), key)];
                async move {
                    let (connection, incoming) = connect(&hub, &headers, ClientOptions::default())
                        .await
                        .map_err(|e| format!("connecting agent {i} to the hub: {e}"))?;
                    connection
                        .invoke("SendStatusUpdate", vec![json!("Available"), Value::Null])
                        .await
                        .map_err(|e| format!("agent {i}'s SendStatusUpdate: {e}"))?;
                    Ok::<_, crate::Error>((i, connection, incoming))
                }
            })
            .buffer_unordered(AT_ONCE)
            .try_collect()
            .await?;
    // Every connection's first keep-alive in the next second, spread evenly.
    let first = Instant::now() + PERIOD;
    Ok(connections
        .into_iter()
        .map(|(i, connection, incoming)| {
            let at = first + PERIOD.mul_f64(i as f64 / n as f64);
            tokio::spawn(serve(
                connection,
                incoming,
                at,
                counters.clone(),
                stop.clone(),
            ))
        })
        .collect())
}

/// One agent's connection: `KeepAlive` every period from `first`, any call of the
/// server answered, until `stop`.
async fn serve(
    connection: Connection,
    mut incoming: Incoming,
    first: Instant,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval_at(first, PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            invocation = incoming.recv() => match invocation {
                Some(invocation) => {
                    if let Err(e) = invocation.complete(Ok(Value::Null)).await {
                        counters.fail(format!("answering the server: {e}"));
                    }
                }
                None => {
                    let why = connection.closed().await;
                    counters.fail(format!("a connection ended: {why:?}"));
                    return;
                }
            },
            _ = ticks.tick() => {
                let sent = Instant::now();
                match connection.invoke("KeepAlive", Vec::new()).await {
                    Ok(_) => {
                        let now = Instant::now();
                        counters.answered.fetch_add(1, Ordering::SeqCst);
                        counters
                            .round_trips
                            .lock()
                            .expect("never poisoned")
                            .push((now, (now - sent).as_secs_f64()));
                    }
                    Err(e) => counters.fail(format!("KeepAlive: {e}")),
                }
            }
        }
    }
    connection.close();
}

/// How many of the tenant's agents the server records `Available`.
pub(crate) async fn available(api: Api) -> Fallible<usize> {
    let agents = api.get("/default/api/agents").await?;
    let agents = agents
        .as_array()
        .ok_or_else(|| format!("the agents' list is not an array: {agents}"))?;
    Ok(agents
        .iter()
        .filter(|a| {
            a["status"] == "Available" && a["name"].as_str().is_some_and(|n| n.starts_with("load-"))
        })
        .count())
}
