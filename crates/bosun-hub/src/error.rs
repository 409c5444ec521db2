//! The crate's errors: a frame that breaks the protocol, an invocation that did not
//! complete, and a client that could not connect.

/// A frame or message that breaks the JSON hub protocol. Its text is what follows
/// `InvalidDataException: ` in the Close message the server sends before closing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame does not end with the record separator (a message split across frames).
    #[error("Missing record separator: a message must end within its frame.")]
    MissingSeparator,
    /// One message is longer than the connection allows.
    #[error("The maximum message size of {max}B was exceeded ({size}B).")]
    TooLarge {
        /// The message's length in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A binary frame, which the JSON protocol never uses.
    #[error("Binary frames are not supported by the JSON hub protocol.")]
    BinaryFrame,
    /// The message is not JSON.
    #[error("Error reading JSON: {source}")]
    Json {
        /// What serde_json found.
        #[source]
        source: serde_json::Error,
    },
    /// The message is JSON, but not a message of the protocol.
    #[error("{what}")]
    Invalid {
        /// What is wrong, in the words ASP.NET Core uses where it has them.
        what: String,
    },
}

/// Why an invocation that expected a completion did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The other side completed it with an error; the text is theirs.
    #[error("{0}")]
    Remote(String),
    /// The connection ended before the completion arrived.
    #[error("the connection ended before the invocation completed")]
    ConnectionEnded,
}

/// Why [`client::connect`](crate::client::connect) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The hub URL cannot be used.
    #[error("invalid hub URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The negotiate request failed on the way.
    #[error("negotiate request to the hub failed")]
    Negotiate {
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered negotiate with an error status.
    #[error("the hub refused to negotiate: HTTP {status}")]
    NegotiateStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The negotiate answer is not one this client can use.
    #[error("unusable negotiate answer: {reason}")]
    NegotiateAnswer {
        /// What is missing or unsupported.
        reason: String,
    },
    /// The WebSocket could not be opened (an HTTP 404 means the connection id was unknown).
    #[error("WebSocket connection to the hub failed")]
    Connect {
        /// What tungstenite reported.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The server refused the handshake, with its reason.
    #[error("the hub refused the handshake: {0}")]
    HandshakeRefused(String),
    /// The handshake did not complete: no answer in time, a closed socket, or a bad answer.
    #[error("handshake with the hub failed: {0}")]
    Handshake(String),
}

/// Why a client's send could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection has ended.
    #[error("the connection has ended")]
    Closed,
    /// The outgoing queue is full: the socket is not keeping up.
    #[error("the connection's outgoing queue is full")]
    Full,
}
