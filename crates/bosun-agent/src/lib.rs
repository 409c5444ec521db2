//! `bosun agent`: a bot machine. It connects to the server's hub, takes
//! `ExecutePackage` commands, downloads and runs the packages, and reports back.
//!
//! The pieces, each usable and tested on its own:
//! - [`config`]: the server URL and machine key (flags, environment, seed 000's
//!   `agent-config.json`) and the agent's settings;
//! - [`ids`]: the ids a server sends, checked before they name a path;
//! - [`accepted`]: the execution ids accepted, on disk, so none runs twice;
//! - [`outbox`]: final results on disk until the server has them;
//! - [`download`]: package versions fetched once, checked and extracted;
//! - [`execute`]: the run step, a bot through the executor, recorded in
//!   `TaskQueue.json`.

pub mod accepted;
pub mod config;
pub mod download;
pub mod error;
pub mod execute;
pub mod ids;
pub mod outbox;
