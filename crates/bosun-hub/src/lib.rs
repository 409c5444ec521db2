//! ASP.NET Core SignalR's JSON hub protocol, version 1, over WebSockets: a server on
//! axum and a small client.
//!
//! No Rust crate serves SignalR, and bosun's hub must accept the official clients
//! (`@microsoft/signalr`, the .NET client) unchanged, so this crate implements the
//! protocol from its specification (`TransportProtocols.md`, `HubProtocol.md`):
//!
//! - [`protocol`]: the messages and their text, pure and shared by both sides;
//! - [`negotiate`]: the tokens `POST {hub}/negotiate` hands out for the WebSocket;
//! - [`server`]: one connection on an axum WebSocket, run to its end by [`server::serve`];
//! - [`client`]: a Rust client, for bosun's agents and load tests.
//!
//! Only WebSockets with text frames are offered (no Server-Sent Events, no long polling,
//! no MessagePack), and no streaming or stateful reconnect.

mod ended;
mod error;
mod id;
mod pending;
mod writer;

pub mod client;
pub mod negotiate;
pub mod protocol;
pub mod server;

pub use ended::Ended;
pub use error::{ClientError, InvokeError, ProtocolError, SendError};
pub use id::new_connection_id;
