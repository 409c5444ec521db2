//! The hub over real loopback sockets: a small axum app serving a test hub, driven by
//! this crate's client, by raw WebSockets, and by the official JavaScript client.

mod app;
mod raw;
mod rust_client;
mod server_rules;
