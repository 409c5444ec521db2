//! Invocations this side sent with an id and is waiting to see completed.
//!
//! Both the server (server→client invocations) and the client keep one table; the reader
//! completes entries, and the end of the connection fails all that are left.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::InvokeError;
use crate::protocol::{Completed, Message, encode};
use crate::writer::Outgoing;

/// Sends an invocation of `target` with an id on `out` and waits for its completion
/// in `pending`: how both sides invoke the other.
pub(crate) async fn invoke(
    pending: &Pending,
    out: &tokio::sync::mpsc::Sender<Outgoing>,
    target: &str,
    arguments: Vec<Value>,
) -> Result<Value, InvokeError> {
    let (id, answer) = pending.register().ok_or(InvokeError::ConnectionEnded)?;
    let message = Message::Invocation {
        invocation_id: Some(id.clone()),
        target: target.to_owned(),
        arguments,
    };
    if out.send(Outgoing::Text(encode(&message))).await.is_err() {
        pending.forget(&id);
        return Err(InvokeError::ConnectionEnded);
    }
    answer.await.unwrap_or(Err(InvokeError::ConnectionEnded))
}

/// Where the completion of one invocation goes.
type Answer = oneshot::Sender<Result<Value, InvokeError>>;

/// The table of outstanding invocations of one connection.
#[derive(Debug)]
pub(crate) struct Pending {
    next: AtomicU64,
    /// `None` once the connection has ended.
    waiting: Mutex<Option<HashMap<String, Answer>>>,
}

impl Pending {
    pub(crate) fn new() -> Self {
        Self {
            next: AtomicU64::new(0),
            waiting: Mutex::new(Some(HashMap::new())),
        }
    }

    /// A new invocation id and where its completion will arrive; `None` once the
    /// connection has ended.
    pub(crate) fn register(
        &self,
    ) -> Option<(String, oneshot::Receiver<Result<Value, InvokeError>>)> {
        let id = self.next.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        let mut waiting = self
            .waiting
            .lock()
            .expect("the pending table's lock is never poisoned");
        waiting.as_mut()?.insert(id.clone(), tx);
        Some((id, rx))
    }

    /// Forgets an invocation that could not be sent.
    pub(crate) fn forget(&self, id: &str) {
        let mut waiting = self
            .waiting
            .lock()
            .expect("the pending table's lock is never poisoned");
        if let Some(waiting) = waiting.as_mut() {
            waiting.remove(id);
        }
    }

    /// Delivers a completion; `false` when no invocation has that id.
    pub(crate) fn complete(&self, id: &str, outcome: Completed) -> bool {
        let sender = {
            let mut waiting = self
                .waiting
                .lock()
                .expect("the pending table's lock is never poisoned");
            waiting.as_mut().and_then(|waiting| waiting.remove(id))
        };
        let Some(sender) = sender else { return false };
        let result = match outcome {
            Completed::Result(value) => Ok(value),
            Completed::Void => Ok(Value::Null),
            Completed::Error(text) => Err(InvokeError::Remote(text)),
        };
        // The caller may have stopped waiting; that is its choice.
        let _ = sender.send(result);
        true
    }

    /// Ends every outstanding invocation with [`InvokeError::ConnectionEnded`] and refuses
    /// new ones.
    pub(crate) fn end(&self) {
        let left = self
            .waiting
            .lock()
            .expect("the pending table's lock is never poisoned")
            .take();
        for (_, sender) in left.into_iter().flatten() {
            let _ = sender.send(Err(InvokeError::ConnectionEnded));
        }
    }
}
