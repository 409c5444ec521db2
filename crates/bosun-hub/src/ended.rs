//! Why a connection ended, for the server's logs and the client's reconnect decisions.

/// Why a connection ended. Both the server's [`serve`](crate::server::serve) and the
/// client's [`Connection::closed`](crate::client::Connection::closed) report one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// No handshake arrived in time (server) or no answer to it (client).
    HandshakeTimeout,
    /// The handshake was malformed or asked for a protocol this crate does not speak.
    HandshakeFailed(String),
    /// The other side sent a Close message, with its error if any.
    PeerClosed {
        /// The Close message's error.
        error: Option<String>,
    },
    /// The socket closed or failed without a Close message.
    SocketClosed,
    /// Nothing arrived from the other side within the timeout.
    PeerTimeout,
    /// The other side broke the protocol; the text says how.
    Malformed(String),
    /// This side closed it ([`server::Client::close`](crate::server::Client::close) or
    /// [`client::Connection::close`](crate::client::Connection::close)).
    ClosedHere,
}
