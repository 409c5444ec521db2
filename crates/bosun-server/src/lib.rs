//! bosun's embedded orchestration server, what `bosun up` runs: the store (SQLite by
//! default, PostgreSQL by URL), the local runner (the executor library), the
//! monitor, and the HTTP API on loopback.
//!
//! [`start`] locks the data directory (one server per directory: [`HomeInUse`]
//! otherwise), binds the listener, opens the store, makes the default tenant and, on
//! the very first start, an admin token, and settles what a previous server left
//! running (the jobs to kill are stopped while the server serves). [`Server::run`]
//! serves until its shutdown token fires, then drains: no new work, running jobs get
//! the drain deadline, state is saved.

pub mod access;
mod admit;
mod api;
mod auth;
mod config;
mod dashboard;
mod definition;
mod error;
mod example;
mod fleet;
mod home_lock;
mod known_jobs;
mod monitor;
mod recovery;
mod runner;
mod scheduler;
mod state;
mod unpacked;
mod watcher;

use std::sync::Arc;

use bosun_core::Permission;
use bosun_store::Store;
use tokio_util::sync::CancellationToken;

pub use config::{AgentsConfig, PackageStore, PackagesConfig, RestartPolicy, ServerConfig};
pub use error::{ApiError, ServerError};
pub use example::EXAMPLE_JOB;
pub use home_lock::HomeInUse;

use crate::runner::{Runner, RunnerHandle};
use crate::state::AppState;

/// The slug of the tenant every server has.
pub const DEFAULT_TENANT: &str = "default";

/// What the very first start made: shown once, never stored in the clear.
#[derive(Debug, Clone)]
pub struct FirstStart {
    /// The default tenant's slug.
    pub tenant: String,
    /// The admin token's secret.
    pub token: String,
    /// The example job's name, when one was created.
    pub example_job: Option<String>,
}

/// A started server, listening but not yet serving.
pub struct Server {
    /// `http://ADDR:PORT`.
    pub url: String,
    /// Set on the very first start only.
    pub first_start: Option<FirstStart>,
    listener: tokio::net::TcpListener,
    state: AppState,
    recovery: recovery::Recovery,
    /// Held until the server has stopped.
    home_lock: home_lock::HomeLock,
}

/// Locks the data directory, binds the listener, opens the store and recovers. The
/// error is [`ServerError::HomeInUse`] when another server holds the data directory.
pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
    std::fs::create_dir_all(&config.home)
        .map_err(ServerError::io("create the data directory", &config.home))?;
    // The data directory first: a second server on it must stop before it touches
    // the store, or its restart recovery would kill the running server's jobs.
    let mut home_lock = home_lock::HomeLock::acquire(&config.home)?;
    sweep_leftovers(&config).await;
    let listen = |source| ServerError::Listen {
        addr: config.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(listen)?;
    let url = format!("http://{}", listener.local_addr().map_err(listen)?);
    home_lock.write(Some(&url))?;
    let store = Store::open(&config.database_url()).await?;
    let tenant = store.ensure_tenant(DEFAULT_TENANT, "Default").await?;
    let first_start = if store.tokens(&tenant.id).await?.is_empty() {
        let (_, secret) = store
            .create_token(&tenant.id, "admin", &[Permission::All])
            .await?;
        let example_job = if config.example_job && store.jobs(&tenant.id).await?.is_empty() {
            example::create(&store, &tenant.id, &config.home).await?;
            Some(EXAMPLE_JOB.to_owned())
        } else {
            None
        };
        Some(FirstStart {
            tenant: tenant.slug.clone(),
            token: secret,
            example_job,
        })
    } else {
        None
    };
    store.ensure_agent(&tenant.id, runner::RUNNER_NAME).await?;
    let runner = RunnerHandle::default();
    let recovery = recovery::recover(&store, config.on_restart, &runner).await?;
    let packages = Arc::new(open_packages(&config, &url).await?);
    let config = Arc::new(config);
    let state = AppState {
        fleet: fleet::Fleet::new(store.clone(), config.clone(), runner.clone()),
        hub: Arc::new(bosun_hub::negotiate::Negotiations::new(
            config.agents.hub.handshake_timeout * 2,
        )),
        store,
        runner,
        config,
        schedules_changed: Arc::default(),
        triggers_changed: Arc::default(),
        trigger_health: watcher::Health::default(),
        tokens: Arc::default(),
        known_jobs: Arc::default(),
        packages,
    };
    Ok(Server {
        url,
        first_start,
        listener,
        state,
        recovery,
        home_lock,
    })
}

/// Where package uploads are spooled while they arrive: hidden in the directory
/// store, so that a finished upload is linked into it (on one filesystem); with a
/// bucket, hidden in the data directory.
pub(crate) fn uploads_dir(config: &ServerConfig) -> std::path::PathBuf {
    match &config.packages.storage {
        config::PackageStore::Disk(dir) => dir
            .clone()
            .unwrap_or_else(|| config.home.join("packages"))
            .join(".uploads"),
        config::PackageStore::S3(_) => config.home.join(".uploads"),
    }
}

/// Removes what a crash left of package work: spooled uploads and cut-short
/// extractions. Called with the data directory held, so none is under way.
async fn sweep_leftovers(config: &ServerConfig) {
    let uploads = uploads_dir(config);
    match tokio::fs::remove_dir_all(&uploads).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %uploads.display(), "could not remove old uploads: {e}"),
    }
    unpacked::Unpacked::new(&config.home).sweep().await;
}

/// How long `bosun up` waits for the package bucket to answer at start.
const BUCKET_CHECK: std::time::Duration = std::time::Duration::from_secs(20);

/// Opens the package storage `config` names; the server's own links start with
/// `url` unless `public_url` says otherwise.
pub(crate) async fn open_packages(
    config: &ServerConfig,
    url: &str,
) -> Result<bosun_storage::PackageStorage, ServerError> {
    use bosun_storage::{DiskStorage, PackageStorage, S3Storage, Url};
    match &config.packages.storage {
        config::PackageStore::Disk(dir) => {
            let dir = dir.clone().unwrap_or_else(|| config.home.join("packages"));
            let base = match &config.packages.public_url {
                Some(base) => base.clone(),
                None => Url::parse(url).map_err(|_| ServerError::PublicUrl(url.to_owned()))?,
            };
            Ok(PackageStorage::Disk(
                DiskStorage::open(dir, base)
                    .await
                    .map_err(ServerError::Packages)?,
            ))
        }
        config::PackageStore::S3(s3) => {
            let storage = S3Storage::new(s3.clone()).map_err(ServerError::Packages)?;
            // A wrong key, region or endpoint shows now, not at the first upload.
            let probe =
                bosun_storage::ObjectKey::new("bosun-start-check").expect("a plain name is a key");
            let unreachable = |source| ServerError::BucketUnreachable {
                bucket: s3.bucket.clone(),
                source,
            };
            match tokio::time::timeout(BUCKET_CHECK, storage.exists(&probe)).await {
                Ok(Ok(_)) => Ok(PackageStorage::S3(storage)),
                Ok(Err(e)) => Err(unreachable(Box::new(e))),
                Err(elapsed) => Err(unreachable(Box::new(elapsed))),
            }
        }
    }
}

impl Server {
    /// Serves until `shutdown` fires, then drains and returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServerError> {
        let state = self.state;
        let runner = Runner::new(
            state.store.clone(),
            state.config.clone(),
            state.runner.clone(),
            state.packages.clone(),
            state.fleet.clone(),
        );
        let mut runner = AbortOnDrop(tokio::spawn(runner.run(shutdown.clone())));
        // The clock and the watches stop with the API: a draining server starts nothing.
        let mut clock = AbortOnDrop(tokio::spawn(scheduler::run(
            state.store.clone(),
            state.runner.clone(),
            state.fleet.clone(),
            state.schedules_changed.clone(),
            shutdown.clone(),
        )));
        let mut watches = AbortOnDrop(tokio::spawn(watcher::run(
            state.store.clone(),
            state.runner.clone(),
            state.fleet.clone(),
            state.triggers_changed.clone(),
            state.trigger_health.clone(),
            shutdown.clone(),
        )));
        let fleet = state.fleet.start(shutdown.clone()).await;
        let app = api::router(state.clone());
        tracing::info!(url = %self.url, "serving");
        let stop = shutdown.clone();
        // Nagle's algorithm off on every connection: the hub's messages and the API's
        // small answers leave at once rather than wait for the peer's delayed ack.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("could not turn Nagle's algorithm off on a connection: {e}");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(ServerError::Serve)?;
        (&mut runner.0).await.map_err(ServerError::Runner)?;
        let _ = (&mut clock.0).await;
        let _ = (&mut watches.0).await;
        let _ = fleet.await;
        let mut recovery = self.recovery;
        for watcher in recovery.adopted {
            watcher.abort();
        }
        // Jobs still being stopped from before the start: their ends are recorded
        // within two grace periods.
        while recovery.stopping.join_next().await.is_some() {}
        state.store.close().await;
        drop(self.home_lock);
        tracing::info!("stopped");
        Ok(())
    }
}

/// Aborts a task when dropped, so aborting [`Server::run`] takes its runner (and so
/// the jobs it supervises) down with it, as a crash would.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
