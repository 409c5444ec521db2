//! A small Rust client of a SignalR hub: negotiate, WebSocket, handshake, then
//! invocations both ways.
//!
//! It speaks what the official clients speak (JSON protocol 1 over WebSockets, text
//! frames) to any server of that protocol, bosun's own or ASP.NET Core's. It pings the
//! server every `keep_alive` and treats `server_timeout` of silence as a lost connection;
//! reconnecting is the caller's choice, made when [`Connection::closed`] resolves.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::ended::Ended;
use crate::error::{ClientError, InvokeError, SendError};
use crate::negotiate::NegotiateResponse;
use crate::pending::Pending;
use crate::protocol::{
    Completed, Message, encode, handshake_request, parse_frame, parse_handshake_response,
};
use crate::writer::{self, Outgoing};

/// The completion error sent for a server invocation nobody answers (the official
/// clients' text).
const NO_RESULT: &str = "Client didn't provide a result.";

/// How many server invocations may wait to be read from [`Incoming`].
const INCOMING_QUEUE: usize = 64;

/// The client's timeouts and limits; the defaults are the official clients'.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Send a Ping when nothing was sent for this long (15 s).
    pub keep_alive: Duration,
    /// Treat the connection as lost when nothing arrived for this long (30 s).
    pub server_timeout: Duration,
    /// Give up when negotiate, the WebSocket's opening or the handshake take longer than
    /// this, each (15 s).
    pub handshake_timeout: Duration,
    /// The longest message accepted from the server, in bytes (1 MiB).
    pub max_message: usize,
    /// Open the WebSocket directly, without negotiate (the server must allow it).
    pub skip_negotiation: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(15),
            server_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            max_message: 1024 * 1024,
            skip_negotiation: false,
        }
    }
}

/// An open connection to a hub. Clones share it; it closes when every clone and its
/// [`Incoming`] are dropped.
#[derive(Debug, Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    _open: Arc<KeepOpen>,
}

/// Held by the application's handles only: the last one dropped closes the connection.
#[derive(Debug)]
struct KeepOpen(CancellationToken);

impl Drop for KeepOpen {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[derive(Debug)]
struct Shared {
    connection_id: Option<String>,
    out: mpsc::Sender<Outgoing>,
    pending: Pending,
    close: CancellationToken,
    ended: watch::Receiver<Option<Ended>>,
}

/// An invocation of a client method by the server.
#[derive(Debug)]
pub struct ServerInvocation {
    /// Present when the server waits for a completion: answer it with
    /// [`ServerInvocation::complete`] or [`Incoming::complete`].
    pub invocation_id: Option<String>,
    /// The client method's name.
    pub target: String,
    /// Its arguments.
    pub arguments: Vec<Value>,
    out: mpsc::Sender<Outgoing>,
}

impl ServerInvocation {
    /// Answers this invocation (when it carries an id; otherwise does nothing):
    /// `Ok(value)` is its result, `Err(text)` its error.
    pub async fn complete(self, result: Result<Value, String>) -> Result<(), SendError> {
        match self.invocation_id {
            Some(id) => send_completion(&self.out, id, result).await,
            None => Ok(()),
        }
    }
}

/// The server's invocations of client methods, in the order they arrived; ends when the
/// connection ends. Read it steadily: while it is full, the connection reads nothing.
#[derive(Debug)]
pub struct Incoming {
    invocations: mpsc::Receiver<ServerInvocation>,
    out: mpsc::Sender<Outgoing>,
    _open: Arc<KeepOpen>,
}

impl Incoming {
    /// The next invocation, or `None` once the connection has ended.
    pub async fn recv(&mut self) -> Option<ServerInvocation> {
        self.invocations.recv().await
    }

    /// Answers the invocation `invocation_id`: `Ok(value)` is its result, `Err(text)` its error.
    pub async fn complete(
        &self,
        invocation_id: String,
        result: Result<Value, String>,
    ) -> Result<(), SendError> {
        send_completion(&self.out, invocation_id, result).await
    }
}

impl Stream for Incoming {
    type Item = ServerInvocation;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.invocations.poll_recv(cx)
    }
}

async fn send_completion(
    out: &mpsc::Sender<Outgoing>,
    invocation_id: String,
    result: Result<Value, String>,
) -> Result<(), SendError> {
    let outcome = match result {
        Ok(value) => Completed::Result(value),
        Err(text) => Completed::Error(text),
    };
    let text = encode(&Message::Completion {
        invocation_id,
        outcome,
    });
    out.send(Outgoing::Text(text))
        .await
        .map_err(|_| SendError::Closed)
}

impl Connection {
    /// The id negotiate handed out; `None` when negotiation was skipped.
    pub fn connection_id(&self) -> Option<&str> {
        self.shared.connection_id.as_deref()
    }

    /// Invokes the hub method `target` and waits for its completion: `Ok` with its result
    /// (`Value::Null` for a method that returns nothing), [`InvokeError::Remote`] with the
    /// server's error text, or [`InvokeError::ConnectionEnded`].
    pub async fn invoke(&self, target: &str, arguments: Vec<Value>) -> Result<Value, InvokeError> {
        crate::pending::invoke(&self.shared.pending, &self.shared.out, target, arguments).await
    }

    /// Invokes the hub method `target` without waiting for it to run.
    pub fn send(&self, target: &str, arguments: Vec<Value>) -> Result<(), SendError> {
        if self.shared.ended.borrow().is_some() {
            return Err(SendError::Closed);
        }
        let message = Message::Invocation {
            invocation_id: None,
            target: target.to_owned(),
            arguments,
        };
        self.shared
            .out
            .try_send(Outgoing::Text(encode(&message)))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.shared.close.cancel();
    }

    /// Waits for the connection to end and says why.
    pub async fn closed(&self) -> Ended {
        let mut ended = self.shared.ended.clone();
        let why = ended.wait_for(Option::is_some).await.map(|why| why.clone());
        why.ok().flatten().unwrap_or(Ended::SocketClosed)
    }
}

/// Connects to the hub at `hub_url` (`http://host:port/path/to/hub?query`, the query kept
/// on every request, e.g. `?machineKey=K`), sending `headers` on negotiate and on the
/// WebSocket upgrade. Returns once the handshake is done.
pub async fn connect(
    hub_url: &str,
    headers: &[(String, String)],
    options: ClientOptions,
) -> Result<(Connection, Incoming), ClientError> {
    let url_error = |reason: &str| ClientError::Url {
        url: hub_url.to_owned(),
        reason: reason.to_owned(),
    };
    let base = Url::parse(hub_url).map_err(|error| url_error(&error.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(url_error("the scheme must be http or https"));
    }

    let negotiated = if options.skip_negotiation {
        None
    } else {
        Some(negotiate(&base, headers, options.handshake_timeout).await?)
    };

    let mut socket_url = base.clone();
    let scheme = if base.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    socket_url
        .set_scheme(scheme)
        .map_err(|()| url_error("cannot switch to a WebSocket scheme"))?;
    if let Some(answer) = &negotiated {
        socket_url
            .query_pairs_mut()
            .append_pair("id", answer.websocket_id());
    }
    let mut request = socket_url
        .as_str()
        .into_client_request()
        .map_err(|source| ClientError::Connect {
            source: Box::new(source),
        })?;
    for (name, value) in headers {
        let name = HeaderName::try_from(name.as_str())
            .map_err(|_| url_error("a header name is invalid"))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|_| url_error("a header value is invalid"))?;
        request.headers_mut().insert(name, value);
    }
    let (socket, _response) = tokio::time::timeout(
        options.handshake_timeout,
        // Nagle's algorithm off: an invocation is one small write that should leave at
        // once, not wait for the ack of the one before (40 ms with delayed acks).
        tokio_tungstenite::connect_async_with_config(request, None, true),
    )
    .await
    .map_err(|_elapsed| ClientError::Handshake("the WebSocket did not open in time".into()))?
    .map_err(|source| ClientError::Connect {
        source: Box::new(source),
    })?;
    let (mut sink, mut stream) = socket.split();

    sink.send(Frame::Text(handshake_request().into()))
        .await
        .map_err(|error| ClientError::Handshake(format!("sending the request: {error}")))?;
    let answer = tokio::time::timeout(options.handshake_timeout, async {
        loop {
            match stream.next().await {
                Some(Ok(Frame::Text(text))) => return Ok(text),
                Some(Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_))) => continue,
                Some(Ok(Frame::Binary(_))) => {
                    return Err(ClientError::Handshake("a binary frame".into()));
                }
                Some(Ok(Frame::Close(_))) | None => {
                    return Err(ClientError::Handshake("the server closed".into()));
                }
                Some(Err(error)) => return Err(ClientError::Handshake(error.to_string())),
            }
        }
    })
    .await
    .map_err(|_elapsed| ClientError::Handshake("no answer in time".into()))??;
    let (accepted, rest) = parse_handshake_response(answer.as_str())
        .map_err(|error| ClientError::Handshake(error.to_string()))?;
    accepted.map_err(ClientError::HandshakeRefused)?;
    let early = (!rest.is_empty()).then(|| rest.to_owned());

    let (out, queue) = mpsc::channel(writer::QUEUE);
    let (ended_tx, ended) = watch::channel(None);
    let shared = Arc::new(Shared {
        connection_id: negotiated.map(|answer| answer.connection_id),
        out: out.clone(),
        pending: Pending::new(),
        close: CancellationToken::new(),
        ended,
    });
    let (invocations_tx, invocations) = mpsc::channel(INCOMING_QUEUE);
    let writer = tokio::spawn(writer::write(
        sink,
        queue,
        options.keep_alive,
        |text| Frame::Text(text.into()),
        || Frame::Close(None),
    ));
    let run_shared = shared.clone();
    tokio::spawn(async move {
        let why = read(&run_shared, stream, early, invocations_tx, &options).await;
        run_shared.pending.end();
        let _ = ended_tx.send(Some(why));
        writer::finish(run_shared.out.clone(), Outgoing::Hangup, writer).await;
    });
    let open = Arc::new(KeepOpen(shared.close.clone()));
    Ok((
        Connection {
            shared,
            _open: open.clone(),
        },
        Incoming {
            invocations,
            out,
            _open: open,
        },
    ))
}

/// `POST {hub}/negotiate?negotiateVersion=1`, answered within `within`.
async fn negotiate(
    base: &Url,
    headers: &[(String, String)],
    within: Duration,
) -> Result<NegotiateResponse, ClientError> {
    let mut url = base.clone();
    url.set_path(&format!("{}/negotiate", base.path().trim_end_matches('/')));
    url.query_pairs_mut().append_pair("negotiateVersion", "1");
    let mut request = reqwest::Client::new().post(url).timeout(within);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request
        .send()
        .await
        .map_err(|source| ClientError::Negotiate { source })?;
    if !answer.status().is_success() {
        return Err(ClientError::NegotiateStatus {
            status: answer.status().as_u16(),
        });
    }
    let body = answer
        .bytes()
        .await
        .map_err(|source| ClientError::Negotiate { source })?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|error| ClientError::NegotiateAnswer {
            reason: format!("not JSON: {error}"),
        })?;
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(ClientError::NegotiateAnswer {
            reason: error.to_owned(),
        });
    }
    if value.get("url").is_some() {
        return Err(ClientError::NegotiateAnswer {
            reason: "redirects to another server are not supported".into(),
        });
    }
    let answer: NegotiateResponse =
        serde_json::from_value(value).map_err(|error| ClientError::NegotiateAnswer {
            reason: error.to_string(),
        })?;
    let websockets = answer
        .available_transports
        .iter()
        .any(|t| t.transport == "WebSockets" && t.transfer_formats.iter().any(|f| f == "Text"));
    if !websockets {
        return Err(ClientError::NegotiateAnswer {
            reason: "the server offers no WebSockets with text frames".into(),
        });
    }
    Ok(answer)
}

/// Reads the server's frames until the connection ends; says why it ended.
async fn read<S, E>(
    shared: &Shared,
    mut stream: S,
    early: Option<String>,
    invocations: mpsc::Sender<ServerInvocation>,
    options: &ClientOptions,
) -> Ended
where
    S: Stream<Item = Result<Frame, E>> + Unpin,
{
    if let Some(text) = early
        && let Err(why) = frame(shared, &text, &invocations, options).await
    {
        return why;
    }
    loop {
        let next = tokio::select! {
            () = shared.close.cancelled() => return Ended::ClosedHere,
            next = tokio::time::timeout(options.server_timeout, stream.next()) => next,
        };
        let result = match next {
            Err(_elapsed) => Err(Ended::PeerTimeout),
            Ok(None | Some(Err(_)) | Some(Ok(Frame::Close(_)))) => Err(Ended::SocketClosed),
            Ok(Some(Ok(Frame::Text(text)))) => {
                frame(shared, text.as_str(), &invocations, options).await
            }
            Ok(Some(Ok(Frame::Binary(_)))) => Err(Ended::Malformed(
                crate::error::ProtocolError::BinaryFrame.to_string(),
            )),
            Ok(Some(Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_)))) => Ok(()),
        };
        if let Err(why) = result {
            return why;
        }
    }
}

async fn frame(
    shared: &Shared,
    text: &str,
    invocations: &mpsc::Sender<ServerInvocation>,
    options: &ClientOptions,
) -> Result<(), Ended> {
    let messages = parse_frame(text, options.max_message)
        .map_err(|error| Ended::Malformed(error.to_string()))?;
    for message in messages {
        match message {
            Message::Invocation {
                invocation_id,
                target,
                arguments,
            } => {
                let call = ServerInvocation {
                    invocation_id,
                    target,
                    arguments,
                    out: shared.out.clone(),
                };
                let delivered = tokio::select! {
                    sent = invocations.send(call) => sent,
                    () = shared.close.cancelled() => return Err(Ended::ClosedHere),
                };
                // Nobody reads the invocations: answer for them, as the official clients do.
                if let Err(mpsc::error::SendError(call)) = delivered {
                    let _ = call.complete(Err(NO_RESULT.to_owned())).await;
                }
            }
            Message::Completion {
                invocation_id,
                outcome,
            } => {
                shared.pending.complete(&invocation_id, outcome);
            }
            Message::Close { error, .. } => return Err(Ended::PeerClosed { error }),
            Message::Ping | Message::Other { .. } => {}
        }
    }
    Ok(())
}
