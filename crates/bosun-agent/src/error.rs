//! The agent's errors: only what stops it. Once connected, a failed download, a bot
//! that fails or a lost connection is reported or retried, never fatal.
//!
//! A message states its own context only; the cause is its source, printed once by
//! whoever prints the chain.

use bosun_core::PathIoError;

pub use crate::config::ConfigError;

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file of the data directory could not be used.
    #[error(transparent)]
    Io(#[from] PathIoError),
    /// Another agent runs on this data directory.
    #[error("another bosun agent uses the data directory {}", .home.display())]
    HomeInUse {
        /// The data directory.
        home: std::path::PathBuf,
    },
    /// The server refused the machine key (HTTP 401 at the hub's negotiate).
    #[error(
        "the server at {server} refused the machine key (401): check --machine-key, {}, or the agent's record on the server",
        crate::config::MACHINE_KEY_VAR
    )]
    KeyRefused {
        /// The server's URL (it holds no secret).
        server: String,
    },
    /// `--once`: the server could not be reached within the wait.
    #[error("could not connect to the hub at {server} within {wait:?}")]
    Unreachable {
        /// The server's URL.
        server: String,
        /// How long the agent tried.
        wait: std::time::Duration,
        /// The last error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
