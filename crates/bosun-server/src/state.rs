//! What every request handler shares.

use std::sync::Arc;

use bosun_store::Store;

use crate::config::ServerConfig;
use crate::runner::RunnerHandle;

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) runner: RunnerHandle,
    pub(crate) config: Arc<ServerConfig>,
}
