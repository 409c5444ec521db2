//! The agent's side of the hub connection as the rest of the agent sees it: the current
//! connection (none while disconnected) and one way to invoke a server method whose
//! answer says whether it arrived, was refused, or was lost with the connection.

use bosun_hub::InvokeError;
use bosun_hub::client::Connection;
use serde_json::Value;
use tokio::sync::watch;

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sent {
    /// The server completed it with this result.
    Done(Value),
    /// The server completed it with an error: final, do not send it again.
    Refused(String),
    /// No connection, or it ended first: send it again on the next one.
    Lost,
}

/// The current connection, shared by every task of the agent.
#[derive(Debug)]
pub(crate) struct Hub {
    link: watch::Sender<Option<Connection>>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Self {
            link: watch::Sender::new(None),
        }
    }

    /// Makes `connection` the current one (`None`: disconnected).
    pub(crate) fn set(&self, connection: Option<Connection>) {
        self.link.send_replace(connection);
    }

    /// The current connection.
    pub(crate) fn current(&self) -> Option<Connection> {
        self.link.borrow().clone()
    }

    /// Sees each change of connection.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<Connection>> {
        self.link.subscribe()
    }

    /// Invokes `target` on the current connection.
    pub(crate) async fn invoke(&self, target: &str, arguments: Vec<Value>) -> Sent {
        let Some(connection) = self.current() else {
            return Sent::Lost;
        };
        match connection.invoke(target, arguments).await {
            Ok(value) => Sent::Done(value),
            Err(InvokeError::Remote(text)) => Sent::Refused(text),
            Err(_) => Sent::Lost,
        }
    }
}
