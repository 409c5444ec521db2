//! The connection loop, kept thin: connect to the hub, introduce the agent, hand each
//! server command to [`Agent::command`], send `KeepAlive`, and connect again when the
//! connection ends — backing off with jitter up to a minute between attempts.
//!
//! The hub is `{server}/hubs/botagent?machineKey=K`, with the key in the
//! `X-MachineKey` header too. A 401 at negotiate means the key is wrong: that is fatal
//! ([`AgentError::KeyRefused`]), since trying again cannot help. The key is never
//! logged: errors that could carry the URL are shown without it.

use std::sync::Arc;
use std::time::Duration;

use bosun_core::Backoff;
use bosun_core::error::chain;
use bosun_hub::ClientError;
use bosun_hub::client::{ClientOptions, Connection, Incoming, connect};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::agent::Agent;
use crate::error::AgentError;

/// The first wait before connecting again.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between attempts.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// How long one attempt to connect (negotiate, WebSocket, handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an attempt to connect failed.
enum Failed {
    /// HTTP 401 at negotiate: the machine key is wrong.
    KeyRefused,
    /// Anything else, in words without the key.
    Other(String),
}

fn describe_or_refused(error: ClientError) -> Failed {
    match error {
        ClientError::NegotiateStatus { status: 401 } => Failed::KeyRefused,
        other => Failed::Other(describe(other)),
    }
}

/// Connects and serves connections until `stop`. `give_up`: a deadline for the first
/// connection (`--once`).
pub(crate) async fn run(
    agent: Arc<Agent>,
    stop: CancellationToken,
    give_up: Option<Instant>,
) -> Result<(), AgentError> {
    let config = &agent.config;
    let hub_url = config.server.hub(&config.machine_key);
    let headers = [(
        "X-MachineKey".to_owned(),
        config.machine_key.expose().to_owned(),
    )];
    let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
    let mut connected_before = false;
    loop {
        let connecting = connect(hub_url.as_str(), &headers, ClientOptions::default());
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(CONNECT_TIMEOUT, connecting) => attempt,
            _ = stop.cancelled() => return Ok(()),
        };
        let attempt = match attempt {
            Ok(attempt) => attempt.map_err(describe_or_refused),
            Err(_) => Err(Failed::Other(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))),
        };
        match attempt {
            Ok((connection, incoming)) => {
                backoff.reset();
                connected_before = true;
                tracing::info!(server = %config.server, "connected to the hub");
                serve(&agent, connection, incoming, &stop).await;
                if stop.is_cancelled() {
                    return Ok(());
                }
                tracing::warn!(server = %config.server, "the connection to the hub ended; connecting again");
            }
            Err(Failed::KeyRefused) => {
                return Err(AgentError::KeyRefused {
                    server: config.server.to_string(),
                });
            }
            Err(Failed::Other(why)) => {
                if let Some(deadline) = give_up
                    && !connected_before
                    && Instant::now() >= deadline
                {
                    return Err(AgentError::Unreachable {
                        server: config.server.to_string(),
                        wait: config.once.unwrap_or_default(),
                        source: why.into(),
                    });
                }
                let wait = backoff.next_delay();
                tracing::warn!(server = %config.server, "could not connect to the hub ({why}); trying again in {:.1} s", wait.as_secs_f64());
                let wait = match give_up.filter(|_| !connected_before) {
                    Some(deadline) => wait.min(deadline.saturating_duration_since(Instant::now())),
                    None => wait,
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => return Ok(()),
                }
            }
        }
    }
}

/// One connection, to its end (or `stop`).
async fn serve(
    agent: &Arc<Agent>,
    connection: Connection,
    mut incoming: Incoming,
    stop: &CancellationToken,
) {
    agent.introduce(&connection).await;
    agent.hub.set(Some(connection.clone()));
    let keep_alive = tokio::spawn({
        let (connection, every) = (connection.clone(), agent.config.keep_alive);
        async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = connection.invoke("KeepAlive", Vec::new()).await {
                    tracing::debug!("KeepAlive was not answered: {e}");
                }
            }
        }
    });
    loop {
        let invocation = tokio::select! {
            invocation = incoming.recv() => invocation,
            _ = stop.cancelled() => {
                connection.close();
                break;
            }
        };
        let Some(invocation) = invocation else {
            break;
        };
        let answer = if invocation.target.eq_ignore_ascii_case("ReceiveCommand") {
            agent.command(invocation.arguments.clone()).await
        } else {
            tracing::warn!(method = %invocation.target, "the server called a method the agent does not have");
            Err(format!("Method '{}' does not exist.", invocation.target))
        };
        if let Err(e) = invocation.complete(answer).await {
            tracing::debug!("could not answer the server: {e}");
        }
    }
    keep_alive.abort();
    agent.hub.set(None);
}

/// A connection error in words, without the hub URL (it holds the machine key).
fn describe(error: ClientError) -> String {
    match error {
        ClientError::Negotiate { source } => format!(
            "negotiate request to the hub failed: {}",
            chain(&source.without_url())
        ),
        ClientError::Url { .. } => "the hub URL is not valid".to_owned(),
        other => chain(&other).to_string(),
    }
}
