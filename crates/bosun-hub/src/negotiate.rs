//! The negotiate step: `POST {hub}/negotiate` hands out a connection id and the token
//! that opens the hub's WebSocket once.
//!
//! [`Negotiations`] is the table of tokens handed out and not yet used, each with a
//! context value of the application's choosing (who authenticated, which tenant), so
//! the upgrade can trust what negotiate checked. It does no I/O; the application's
//! routes call it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::id::{new_connection_id, new_connection_token};

/// The body of a negotiate answer, in the JSON the SignalR clients read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NegotiateResponse {
    /// The connection's id, as others see it.
    pub connection_id: String,
    /// The secret the client passes as `?id=` on the WebSocket (version 1 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_token: Option<String>,
    /// The negotiate version answered: 1, or 0 when the client asked for none.
    #[serde(default)]
    pub negotiate_version: u32,
    /// The transports the server offers; this crate offers WebSockets with text frames.
    #[serde(default)]
    pub available_transports: Vec<AvailableTransport>,
}

impl NegotiateResponse {
    /// What the client passes as `?id=` on the WebSocket: the token, or with negotiate
    /// version 0 the connection id.
    pub fn websocket_id(&self) -> &str {
        self.connection_token
            .as_deref()
            .unwrap_or(&self.connection_id)
    }
}

/// One transport offered in a negotiate answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableTransport {
    /// The transport's name, e.g. `WebSockets`.
    pub transport: String,
    /// The frame formats it carries, e.g. `Text`.
    #[serde(default)]
    pub transfer_formats: Vec<String>,
}

/// A negotiation taken at the WebSocket upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated<T> {
    /// The connection id handed out with the token.
    pub connection_id: String,
    /// The context value given to [`Negotiations::negotiate`].
    pub context: T,
}

/// Connection tokens handed out by negotiate, each with a context value `T`, taken once
/// at the upgrade and forgotten after `ttl` if never used.
#[derive(Debug)]
pub struct Negotiations<T> {
    ttl: Duration,
    open: Mutex<HashMap<String, Entry<T>>>,
}

#[derive(Debug)]
struct Entry<T> {
    connection_id: String,
    context: T,
    expires: Instant,
}

impl<T> Negotiations<T> {
    /// An empty table whose tokens expire `ttl` after negotiate (ASP.NET uses 30 s).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Hands out a new connection for `context`. `version` is the client's
    /// `negotiateVersion` query parameter (0 when absent): from 1 on, the answer carries a
    /// separate secret `connectionToken`; with 0, the connection id itself opens the socket.
    pub fn negotiate(&self, context: T, version: u32) -> NegotiateResponse {
        let connection_id = new_connection_id();
        let connection_token = (version >= 1).then(new_connection_token);
        let key = connection_token
            .clone()
            .unwrap_or_else(|| connection_id.clone());
        let now = Instant::now();
        {
            let mut open = self
                .open
                .lock()
                .expect("the negotiations' lock is never poisoned");
            open.retain(|_, entry| entry.expires > now);
            open.insert(
                key,
                Entry {
                    connection_id: connection_id.clone(),
                    context,
                    expires: now + self.ttl,
                },
            );
        }
        NegotiateResponse {
            connection_id,
            connection_token,
            negotiate_version: version.min(1),
            available_transports: vec![AvailableTransport {
                transport: "WebSockets".into(),
                transfer_formats: vec!["Text".into()],
            }],
        }
    }

    /// Takes the negotiation whose WebSocket `id` this is; `None` when it is unknown,
    /// already taken or expired (answer HTTP 404 before the upgrade).
    pub fn take(&self, id: &str) -> Option<Negotiated<T>> {
        let entry = self
            .open
            .lock()
            .expect("the negotiations' lock is never poisoned")
            .remove(id)?;
        (entry.expires > Instant::now()).then_some(Negotiated {
            connection_id: entry.connection_id,
            context: entry.context,
        })
    }

    /// How many negotiations are waiting for their WebSocket (expired ones included until
    /// the next negotiate clears them).
    pub fn len(&self) -> usize {
        self.open
            .lock()
            .expect("the negotiations' lock is never poisoned")
            .len()
    }

    /// Whether no negotiation is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_hands_out_a_secret_token_taken_once() {
        let table = Negotiations::new(Duration::from_secs(30));
        let answer = table.negotiate("agent-1", 1);
        let token = answer
            .connection_token
            .clone()
            .expect("version 1 has a token");
        assert_ne!(token, answer.connection_id);
        assert_eq!(answer.negotiate_version, 1);
        assert!(
            table.take(&answer.connection_id).is_none(),
            "the id alone does not open the socket"
        );
        let taken = table.take(&token).expect("the token opens it");
        assert_eq!(
            taken,
            Negotiated {
                connection_id: answer.connection_id.clone(),
                context: "agent-1"
            }
        );
        assert!(table.take(&token).is_none(), "only once");
    }

    #[test]
    fn version_0_uses_the_connection_id() {
        let table = Negotiations::new(Duration::from_secs(30));
        let answer = table.negotiate((), 0);
        assert_eq!(answer.connection_token, None);
        assert_eq!(answer.websocket_id(), answer.connection_id);
        assert!(table.take(&answer.connection_id).is_some());
    }

    #[test]
    fn the_answer_is_what_signalr_clients_read() {
        let table = Negotiations::new(Duration::from_secs(30));
        let answer = serde_json::to_value(table.negotiate((), 1)).expect("serializes");
        assert_eq!(answer["negotiateVersion"], 1);
        assert!(answer["connectionToken"].is_string());
        assert_eq!(
            answer["availableTransports"],
            serde_json::json!([{"transport": "WebSockets", "transferFormats": ["Text"]}])
        );
        let old = serde_json::to_value(table.negotiate((), 0)).expect("serializes");
        assert!(old.get("connectionToken").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn unused_tokens_expire() {
        let table = Negotiations::new(Duration::from_secs(30));
        let late = table.negotiate((), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(table.take(late.websocket_id()).is_none());
        let _fresh = table.negotiate((), 1);
        assert_eq!(table.len(), 1, "negotiate clears expired entries");
    }
}
