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
//!
//! # Example
//!
//! A hub with one method, its two routes on axum, and this crate's client calling it:
//!
//! ```
//! use std::{collections::HashMap, sync::Arc, time::Duration};
//!
//! use axum::extract::{Query, State, ws::WebSocketUpgrade};
//! use axum::response::{IntoResponse, Response};
//! use axum::{Json, Router, http::StatusCode, routing::{get, post}};
//! use bosun_hub::negotiate::Negotiations;
//! use bosun_hub::server::{Handler, HubError, Options, serve};
//! use serde_json::{Value, json};
//!
//! struct Greeter;
//!
//! impl Handler for Greeter {
//!     async fn invoke(&mut self, target: &str, arguments: Vec<Value>) -> Result<Value, HubError> {
//!         if !target.eq_ignore_ascii_case("Hello") {
//!             return Err(HubError::MethodDoesNotExist);
//!         }
//!         let [name] = arguments.as_slice() else {
//!             return Err(HubError::WrongArguments { given: arguments.len(), expected: 1 });
//!         };
//!         Ok(json!(format!("hello, {}", name.as_str().unwrap_or("you"))))
//!     }
//! }
//!
//! type Tokens = Arc<Negotiations<()>>;
//!
//! async fn negotiate(State(tokens): State<Tokens>, Query(q): Query<HashMap<String, String>>) -> Response {
//!     let version = q.get("negotiateVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
//!     Json(tokens.negotiate((), version)).into_response()
//! }
//!
//! async fn connect(
//!     State(tokens): State<Tokens>,
//!     Query(q): Query<HashMap<String, String>>,
//!     ws: WebSocketUpgrade,
//! ) -> Response {
//!     let connection_id = match q.get("id") {
//!         Some(id) => match tokens.take(id) {
//!             Some(taken) => taken.connection_id,
//!             None => return StatusCode::NOT_FOUND.into_response(),
//!         },
//!         None => bosun_hub::new_connection_id(),
//!     };
//!     ws.on_upgrade(|socket| async move {
//!         serve(socket, connection_id, Options::default(), |_client| Greeter).await;
//!     })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let tokens: Tokens = Arc::new(Negotiations::new(Duration::from_secs(30)));
//! let app = Router::new()
//!     .route("/hubs/greeter/negotiate", post(negotiate))
//!     .route("/hubs/greeter", get(connect))
//!     .with_state(tokens);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let url = format!("http://{}/hubs/greeter", listener.local_addr().unwrap());
//! tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! let options = bosun_hub::client::ClientOptions::default();
//! let (hub, _incoming) = bosun_hub::client::connect(&url, &[], options).await.unwrap();
//! assert_eq!(hub.invoke("Hello", vec![json!("bosun")]).await, Ok(json!("hello, bosun")));
//! # }
//! ```

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
