//! The one task that writes to a connection's socket.
//!
//! Everything outgoing (invocations, completions, pings, the final Close) goes through a
//! bounded channel to this task, so a slow handler never holds up a ping or a completion,
//! and a slow socket makes `send` report a full queue instead of growing memory.

use std::time::Duration;

use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::protocol::{Message, encode};

/// How many messages may wait for the socket.
pub(crate) const QUEUE: usize = 256;

/// What the writer is asked to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Send one encoded message.
    Text(String),
    /// Send a Close message with this error, close the socket and stop.
    Close(Option<String>),
    /// Close the socket without a Close message and stop.
    Hangup,
}

/// Writes until told to close, the socket fails, or every sender is gone. Sends a Ping
/// whenever nothing was written for `keep_alive`.
pub(crate) async fn write<S, M>(
    mut sink: S,
    mut queue: mpsc::Receiver<Outgoing>,
    keep_alive: Duration,
    frame: impl Fn(String) -> M,
    close_frame: impl Fn() -> M,
) where
    S: Sink<M> + Unpin,
{
    let mut next_ping = Instant::now() + keep_alive;
    loop {
        let item = tokio::select! {
            item = queue.recv() => item,
            () = sleep_until(next_ping) => Some(Outgoing::Text(encode(&Message::Ping))),
        };
        let sent = match item {
            Some(Outgoing::Text(text)) => sink.send(frame(text)).await,
            Some(Outgoing::Close(error)) => {
                let close = encode(&Message::Close {
                    error,
                    allow_reconnect: false,
                });
                if sink.send(frame(close)).await.is_ok() {
                    let _ = sink.send(close_frame()).await;
                }
                break;
            }
            Some(Outgoing::Hangup) | None => {
                let _ = sink.send(close_frame()).await;
                break;
            }
        };
        if sent.is_err() {
            break;
        }
        next_ping = Instant::now() + keep_alive;
    }
    let _ = sink.close().await;
}
