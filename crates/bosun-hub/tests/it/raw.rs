//! A bare WebSocket to the hub, for sending what a well-behaved client never would and
//! reading exactly what the server writes.

use std::collections::VecDeque;
use std::time::Duration;

use bosun_hub::protocol::{Message, handshake_request, parse_frame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What the server did next.
#[derive(Debug, PartialEq)]
pub(crate) enum Seen {
    /// One protocol message.
    Message(Message),
    /// The raw text of a frame that is not protocol messages (the handshake answer).
    Text(String),
    /// The socket closed.
    Closed,
}

pub(crate) struct Raw {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    buffered: VecDeque<Message>,
}

impl Raw {
    /// Opens a WebSocket without negotiate (the hub allows it).
    pub(crate) async fn open(ws_url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .expect("WebSocket opens");
        Self {
            socket,
            buffered: VecDeque::new(),
        }
    }

    /// Opens a WebSocket and completes the handshake.
    pub(crate) async fn open_with_handshake(ws_url: &str) -> Self {
        let mut raw = Self::open(ws_url).await;
        raw.send(&handshake_request()).await;
        assert_eq!(
            raw.next().await,
            Seen::Text("{}\u{1e}".into()),
            "handshake accepted"
        );
        raw
    }

    pub(crate) async fn send(&mut self, text: &str) {
        self.socket
            .send(Frame::Text(text.into()))
            .await
            .expect("send a frame");
    }

    pub(crate) async fn send_binary(&mut self, bytes: &[u8]) {
        self.socket
            .send(Frame::Binary(bytes.to_vec().into()))
            .await
            .expect("send a frame");
    }

    /// What the server does next, within 10 s.
    pub(crate) async fn next(&mut self) -> Seen {
        loop {
            if let Some(message) = self.buffered.pop_front() {
                return Seen::Message(message);
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("the server does something within 10 s");
            match frame {
                Some(Ok(Frame::Text(text))) => match parse_frame(text.as_str(), usize::MAX) {
                    Ok(messages) => self.buffered.extend(messages),
                    Err(_) => return Seen::Text(text.to_string()),
                },
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => return Seen::Closed,
                Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// What the server does next, Pings skipped.
    pub(crate) async fn next_but_ping(&mut self) -> Seen {
        loop {
            match self.next().await {
                Seen::Message(Message::Ping) => {}
                other => return other,
            }
        }
    }
}
