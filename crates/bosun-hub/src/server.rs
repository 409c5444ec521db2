//! The server side of one hub connection, on an axum WebSocket.
//!
//! [`serve`] runs a connection from the handshake to its end: it answers the handshake,
//! pings the client, closes it when it falls silent, runs its invocations one at a time
//! in order through a [`Handler`], and gives the application a [`Client`] handle to
//! call the client from any task. Routing (negotiate, which `id` opens which socket,
//! authentication) stays with the application; see [`crate::negotiate`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message as Frame, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ended::Ended;
use crate::error::{InvokeError, ProtocolError};
use crate::pending::Pending;
use crate::protocol::{
    Completed, Message, encode, handshake_response, parse_frame, parse_handshake_request,
};
use crate::writer::{self, Outgoing};

/// The error text a server sends in its Close message to a client that fell silent.
pub const CLIENT_TIMEOUT_ERROR: &str =
    "Server timeout elapsed without receiving a message from the client.";

/// How many invocations of one client may wait for the one running.
const INVOCATION_QUEUE: usize = 64;

/// The timeouts and limits of a connection; the defaults are ASP.NET Core's.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send a Ping when nothing was sent for this long (15 s).
    pub keep_alive: Duration,
    /// Close the connection when nothing arrived from the client for this long (30 s).
    pub client_timeout: Duration,
    /// Close the connection when the handshake has not arrived after this long (15 s).
    pub handshake_timeout: Duration,
    /// The longest message accepted, in bytes (64 KiB).
    pub max_message: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            max_message: 64 * 1024,
        }
    }
}

/// Why a hub method did not return a value; each becomes the completion error text the
/// ASP.NET Core server would send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// No method has that name.
    MethodDoesNotExist,
    /// The method takes `expected` arguments and was given `given`.
    WrongArguments {
        /// How many arguments the invocation carried.
        given: usize,
        /// How many the method takes.
        expected: usize,
    },
    /// A failure the caller may read (ASP.NET's `HubException`): the text is shown.
    Shown(String),
    /// A failure whose details stay on the server: the text is logged, the caller is told
    /// only that an error occurred.
    Hidden(String),
}

impl HubError {
    /// The completion error text for an invocation of `target`.
    pub fn completion_text(&self, target: &str) -> String {
        match self {
            HubError::MethodDoesNotExist => {
                format!(
                    "Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
                )
            }
            HubError::WrongArguments { given, expected } => format!(
                "Failed to invoke '{target}' due to an error on the server. InvalidDataException: \
                 Invocation provides {given} argument(s) but target expects {expected}."
            ),
            HubError::Shown(text) => {
                format!(
                    "An unexpected error occurred invoking '{target}' on the server. HubException: {text}"
                )
            }
            HubError::Hidden(_) => {
                format!("An unexpected error occurred invoking '{target}' on the server.")
            }
        }
    }
}

/// One connection's hub methods.
///
/// Method names match case-insensitively in ASP.NET Core; match `target` with
/// [`str::eq_ignore_ascii_case`] (or lowercase it) to do the same.
pub trait Handler: Send + 'static {
    /// Runs the method `target`; returns its result (`Value::Null` for a method that
    /// returns nothing). Invocations of one connection run one at a time, in order.
    fn invoke(
        &mut self,
        target: &str,
        arguments: Vec<Value>,
    ) -> impl Future<Output = Result<Value, HubError>> + Send;

    /// Called once when the connection has ended, after the last invocation.
    fn closed(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A cheap-to-clone handle to send to one client, usable from any task.
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    connection_id: String,
    out: mpsc::Sender<Outgoing>,
    pending: Pending,
    close: CancellationToken,
    close_error: Mutex<Option<String>>,
    ended: CancellationToken,
}

impl Client {
    /// The connection's id (the one negotiate handed out, or the one given to [`serve`]).
    pub fn connection_id(&self) -> &str {
        &self.shared.connection_id
    }

    /// Invokes `target` on the client without waiting for an answer; `false` when the
    /// connection has ended or its outgoing queue is full.
    pub fn send(&self, target: &str, arguments: Vec<Value>) -> bool {
        if self.shared.ended.is_cancelled() {
            return false;
        }
        let message = Message::Invocation {
            invocation_id: None,
            target: target.to_owned(),
            arguments,
        };
        self.shared
            .out
            .try_send(Outgoing::Text(encode(&message)))
            .is_ok()
    }

    /// Invokes `target` on the client and waits for its completion: `Ok` with its result
    /// (`Value::Null` when it returned nothing), `Err` with its error text, or
    /// [`InvokeError::ConnectionEnded`] when the connection ends first.
    pub async fn invoke(&self, target: &str, arguments: Vec<Value>) -> Result<Value, InvokeError> {
        crate::pending::invoke(&self.shared.pending, &self.shared.out, target, arguments).await
    }

    /// Closes the connection, telling the client `error` in the Close message.
    pub fn close(&self, error: Option<String>) {
        *self
            .shared
            .close_error
            .lock()
            .expect("the close error's lock is never poisoned") = error;
        self.shared.close.cancel();
    }

    /// Resolves when the connection has ended.
    pub async fn closed(&self) {
        self.shared.ended.cancelled().await;
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.ended.is_cancelled()
    }
}

/// An invocation waiting for the handler.
struct Call {
    invocation_id: Option<String>,
    target: String,
    arguments: Vec<Value>,
}

/// Runs one connection to its end: handshake, pings, timeouts, dispatch. `make` builds
/// the connection's handler once the handshake succeeded, from the handle to its client.
///
/// A message over `options.max_message` is refused with a Close message, but only once
/// its frame has been read: cap the frame at the upgrade too
/// ([`WebSocketUpgrade::max_message_size`](axum::extract::ws::WebSocketUpgrade::max_message_size),
/// 64 MiB by default), at a few times `max_message` since one frame may carry several
/// messages.
pub async fn serve<H: Handler>(
    socket: WebSocket,
    connection_id: String,
    options: Options,
    make: impl FnOnce(Client) -> H,
) -> Ended {
    let (mut sink, mut stream) = socket.split();

    let early = match handshake(&mut stream, &options).await {
        Ok(rest) => rest,
        Err(HandshakeEnd::Refuse(reason)) => {
            let _ = sink
                .send(Frame::Text(handshake_response(Some(&reason)).into()))
                .await;
            let _ = sink.send(Frame::Close(None)).await;
            tracing::debug!(connection_id, reason, "hub handshake refused");
            return Ended::HandshakeFailed(reason);
        }
        Err(HandshakeEnd::Timeout) => {
            let _ = sink.send(Frame::Close(None)).await;
            return Ended::HandshakeTimeout;
        }
        Err(HandshakeEnd::Gone) => return Ended::SocketClosed,
    };
    if sink
        .send(Frame::Text(handshake_response(None).into()))
        .await
        .is_err()
    {
        return Ended::SocketClosed;
    }

    let (out, queue) = mpsc::channel(writer::QUEUE);
    let writer = tokio::spawn(writer::write(
        sink,
        queue,
        options.keep_alive,
        |text| Frame::Text(text.into()),
        || Frame::Close(None),
    ));
    let shared = Arc::new(Shared {
        connection_id,
        out: out.clone(),
        pending: Pending::new(),
        close: CancellationToken::new(),
        close_error: Mutex::new(None),
        ended: CancellationToken::new(),
    });
    let client = Client {
        shared: shared.clone(),
    };
    let handler = make(client);
    let (calls, call_queue) = mpsc::channel(INVOCATION_QUEUE);
    let dispatcher = tokio::spawn(dispatch(
        handler,
        call_queue,
        out.clone(),
        shared.ended.clone(),
    ));

    let mut reader = Reader {
        shared: &shared,
        calls,
        out: &out,
        max_message: options.max_message,
    };
    let mut end = match early {
        Some(text) => reader.frame(&text).await.err(),
        None => None,
    };
    while end.is_none() {
        let next = tokio::select! {
            () = shared.close.cancelled() => {
                let error = shared.close_error.lock().expect("the close error's lock is never poisoned").take();
                end = Some((Ended::ClosedHere, Outgoing::Close(error)));
                break;
            }
            next = tokio::time::timeout(options.client_timeout, stream.next()) => next,
        };
        end = match next {
            Err(_elapsed) => Some((
                Ended::PeerTimeout,
                Outgoing::Close(Some(CLIENT_TIMEOUT_ERROR.to_owned())),
            )),
            Ok(None | Some(Err(_)) | Some(Ok(Frame::Close(_)))) => {
                Some((Ended::SocketClosed, Outgoing::Hangup))
            }
            Ok(Some(Ok(Frame::Text(text)))) => reader.frame(text.as_str()).await.err(),
            Ok(Some(Ok(Frame::Binary(_)))) => Some(malformed(&ProtocolError::BinaryFrame)),
            Ok(Some(Ok(Frame::Ping(_) | Frame::Pong(_)))) => None,
        };
    }
    let (ended, last) = end.expect("the loop ends only with an end");
    drop(reader);

    // Stop taking invocations, fail the client's outstanding ones, write the last message.
    shared.ended.cancel();
    shared.pending.end();
    if !writer::finish(out, last, writer).await {
        tracing::debug!(
            connection_id = shared.connection_id,
            "hub socket did not drain; writer aborted"
        );
    }
    if let Err(error) = dispatcher.await {
        tracing::error!(connection_id = shared.connection_id, %error, "hub handler panicked");
    }
    tracing::debug!(
        connection_id = shared.connection_id,
        ?ended,
        "hub connection ended"
    );
    ended
}

enum HandshakeEnd {
    Refuse(String),
    Timeout,
    Gone,
}

/// Reads the handshake; returns the rest of its frame when messages followed it.
async fn handshake<S>(stream: &mut S, options: &Options) -> Result<Option<String>, HandshakeEnd>
where
    S: futures_util::Stream<Item = Result<Frame, axum::Error>> + Unpin,
{
    let text = tokio::time::timeout(options.handshake_timeout, async {
        loop {
            match stream.next().await {
                Some(Ok(Frame::Text(text))) => return Ok(text),
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                Some(Ok(Frame::Binary(_))) => {
                    return Err(HandshakeEnd::Refuse(ProtocolError::BinaryFrame.to_string()));
                }
                Some(Ok(Frame::Close(_)) | Err(_)) | None => return Err(HandshakeEnd::Gone),
            }
        }
    })
    .await
    .map_err(|_elapsed| HandshakeEnd::Timeout)??;
    if text.len() > options.max_message {
        return Err(HandshakeEnd::Refuse(
            ProtocolError::TooLarge {
                size: text.len(),
                max: options.max_message,
            }
            .to_string(),
        ));
    }
    let (request, rest) = parse_handshake_request(text.as_str())
        .map_err(|error| HandshakeEnd::Refuse(format!("Handshake request is invalid: {error}")))?;
    request.check().map_err(HandshakeEnd::Refuse)?;
    Ok((!rest.is_empty()).then(|| rest.to_owned()))
}

fn malformed(error: &ProtocolError) -> (Ended, Outgoing) {
    (
        Ended::Malformed(error.to_string()),
        Outgoing::Close(Some(format!(
            "Connection closed with an error. InvalidDataException: {error}"
        ))),
    )
}

/// Routes what the client sends.
struct Reader<'a> {
    shared: &'a Shared,
    calls: mpsc::Sender<Call>,
    out: &'a mpsc::Sender<Outgoing>,
    max_message: usize,
}

impl Reader<'_> {
    /// Handles one text frame; `Err` ends the connection with that reason and last message.
    async fn frame(&mut self, text: &str) -> Result<(), (Ended, Outgoing)> {
        let messages = parse_frame(text, self.max_message).map_err(|error| malformed(&error))?;
        for message in messages {
            self.message(message).await?;
        }
        Ok(())
    }

    async fn message(&mut self, message: Message) -> Result<(), (Ended, Outgoing)> {
        match message {
            Message::Invocation {
                invocation_id,
                target,
                arguments,
            } => {
                let call = Call {
                    invocation_id,
                    target,
                    arguments,
                };
                tokio::select! {
                    sent = self.calls.send(call) => sent.map_err(|_| (Ended::SocketClosed, Outgoing::Hangup)),
                    () = self.shared.close.cancelled() => Ok(()),
                }
            }
            Message::Completion {
                invocation_id,
                outcome,
            } => {
                if !self.shared.pending.complete(&invocation_id, outcome) {
                    tracing::debug!(
                        connection_id = self.shared.connection_id,
                        invocation_id,
                        "completion of no invocation"
                    );
                }
                Ok(())
            }
            Message::Ping => Ok(()),
            Message::Close { error, .. } => Err((Ended::PeerClosed { error }, Outgoing::Hangup)),
            other @ Message::Other { .. } => {
                if let (
                    true,
                    Message::Other {
                        invocation_id: Some(invocation_id),
                        ..
                    },
                ) = (other.is_streaming(), &other)
                {
                    let refusal = Message::Completion {
                        invocation_id: invocation_id.clone(),
                        outcome: Completed::Error("Streaming is not supported.".into()),
                    };
                    let _ = self.out.send(Outgoing::Text(encode(&refusal))).await;
                }
                Ok(())
            }
        }
    }
}

/// Runs the connection's invocations one at a time, in order, and sends their completions.
async fn dispatch<H: Handler>(
    mut handler: H,
    mut calls: mpsc::Receiver<Call>,
    out: mpsc::Sender<Outgoing>,
    ended: CancellationToken,
) {
    loop {
        let call = tokio::select! {
            biased;
            () = ended.cancelled() => break,
            call = calls.recv() => match call {
                Some(call) => call,
                None => break,
            },
        };
        let result = handler.invoke(&call.target, call.arguments).await;
        if let Err(HubError::Hidden(detail)) = &result {
            tracing::warn!(target_method = call.target, detail, "hub method failed");
        }
        let Some(invocation_id) = call.invocation_id else {
            continue;
        };
        let outcome = match result {
            Ok(value) => Completed::Result(value),
            Err(error) => Completed::Error(error.completion_text(&call.target)),
        };
        let completion = Message::Completion {
            invocation_id,
            outcome,
        };
        let _ = out.send(Outgoing::Text(encode(&completion))).await;
    }
    handler.closed().await;
}
