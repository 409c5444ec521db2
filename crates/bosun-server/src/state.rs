//! What every request handler shares.

use std::sync::Arc;

use bosun_store::Store;
use tokio::sync::Notify;

use crate::config::ServerConfig;
use crate::runner::RunnerHandle;

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) runner: RunnerHandle,
    pub(crate) config: Arc<ServerConfig>,
    /// Told when a schedule is added or removed, so the clock rereads them.
    pub(crate) schedules_changed: Arc<Notify>,
    /// Told when a file trigger is added or removed, so the watches follow.
    pub(crate) triggers_changed: Arc<Notify>,
    /// Whether each file trigger is being watched.
    pub(crate) trigger_health: crate::watcher::Health,
    /// The jobs run requests found lately.
    pub(crate) known_jobs: Arc<crate::known_jobs::KnownJobs>,
    /// Tokens checked in the last few seconds.
    pub(crate) tokens: Arc<crate::auth::cache::TokenCache>,
    /// Where packages' bytes are kept.
    pub(crate) packages: Arc<bosun_storage::PackageStorage>,
    /// The remote agents and the people watching the hub.
    pub(crate) fleet: crate::fleet::Fleet,
    /// The hub's connection tokens handed out by negotiations, not yet used.
    pub(crate) hub: Arc<bosun_hub::negotiate::Negotiations<crate::fleet::hub::Who>>,
}
