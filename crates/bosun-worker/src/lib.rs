//! `bosun worker`: seeds 003/004's Redis Streams executor, done properly.
//!
//! A worker reads `jobs:manager`, `jobs:inspector` and `jobs:agent` (and bosun's
//! `jobs:process` and `chat:requests`) in the consumer group `executor-group`, runs each
//! job (an LLM call for the roles, a supervised process for `process`), saves its result
//! in the store, notifies on `signalr:updates`, and only then acknowledges it. Limits per
//! role and in all decide how many entries it reads, so waiting work stays in Redis.
//! Entries left pending by a dead worker are taken over; after `max_attempts` an entry
//! goes to the dead-letter stream `jobs:dead` with its last error, as does a malformed
//! one at once. See [`run`].

pub mod config;
pub mod error;
pub mod llm;
pub mod message;
pub mod metrics;
mod runner;
mod slots;
pub mod streams;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use bosun_store::Store;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

pub use config::{Role, RoleConfig, WorkerConfig, redis_url};
pub use error::WorkerError;
pub use llm::{LlmClient, LlmConfig, LlmError};
pub use message::JobMessage;
pub use runner::{JobFailed, JobFuture, JobRunner};
pub use worker::NOTIFICATION_FIELDS;

/// A started worker: its store is open and its metrics endpoint (if any) listens.
pub struct Worker {
    shared: Arc<worker::Shared>,
    finished: tokio::sync::mpsc::UnboundedReceiver<worker::Finished>,
    /// Where `/metrics` is served, when it is.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Opens the store and the metrics endpoint. Redis is not needed yet: the worker waits
/// for it, retrying, once it runs.
pub async fn start(
    config: WorkerConfig,
    shutdown: &CancellationToken,
) -> Result<Worker, WorkerError> {
    metrics::install();
    let store = open_store(&config.database_url).await?;
    let client = redis_client(&config.redis_url)?;
    let manager = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(10)))
        .set_max_delay(Duration::from_secs(5));
    let conn =
        ConnectionManager::new_lazy_with_config(client.clone(), manager).map_err(|source| {
            WorkerError::RedisUrl {
                url: config.redis_url.clone(),
                source,
            }
        })?;
    let llm = LlmClient::new(config.llm.clone()).map_err(|e| WorkerError::Setup(e.to_string()))?;
    let metrics_addr = match config.metrics_listen {
        Some(addr) => Some(metrics::serve(addr, shutdown.clone()).await?),
        None => None,
    };
    let (finished_tx, finished) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(worker::Shared {
        slots: slots::Slots::new(&config),
        config,
        store,
        client,
        conn,
        llm,
        stop_jobs: CancellationToken::new(),
        running: Default::default(),
        unsettled: tokio_util::task::TaskTracker::new(),
        finished: finished_tx,
        runners: Vec::new(),
    });
    Ok(Worker {
        shared,
        finished,
        metrics_addr,
    })
}

impl Worker {
    /// Runs `role`'s jobs with `runner` instead of the built-in one (the LLM call, or
    /// for `process` the supervised process). The role must be enabled in the
    /// configuration for its stream to be read.
    pub fn with_runner(mut self, role: Role, runner: impl JobRunner) -> Self {
        let shared = Arc::get_mut(&mut self.shared)
            .expect("a worker that has not run holds the only reference to its state");
        shared.runners.retain(|(r, _)| *r != role);
        shared.runners.push((role, Box::new(runner)));
        self
    }

    /// Reads and runs jobs until `shutdown`, then drains (see [`WorkerConfig::drain_timeout`]).
    ///
    /// Dropping the future stops the worker at once, as a crash would (nothing more is
    /// saved, notified or acknowledged): its jobs and its helper tasks go with it, and
    /// its connections close.
    pub async fn run(self, shutdown: CancellationToken) {
        let helpers = Helpers(vec![
            tokio::spawn(worker::sample(self.shared.clone(), shutdown.clone())),
            tokio::spawn(worker::keep_claimed(self.shared.clone())),
            tokio::spawn(worker::finish(self.shared.clone(), self.finished)),
        ]);
        worker::run(self.shared.clone(), shutdown).await;
        // Every job has ended and its entry is settled (or left pending).
        drop(helpers);
        self.shared.store.close().await;
    }
}

/// The worker's helper tasks (sampler, keeper, finisher), aborted when dropped: when
/// [`Worker::run`] returns, or when its future is dropped mid-run.
struct Helpers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Helpers {
    fn drop(&mut self) {
        for helper in &self.0 {
            helper.abort();
        }
    }
}

/// How long a Redis connection may be quiet before the kernel probes it, and between
/// probes: a Redis that vanished without closing the connection (its machine died,
/// the network split) is noticed within about a minute, and the worker reconnects,
/// instead of waiting on a blocked read forever.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_PROBES: u32 = 3;

/// The client every Redis connection of the worker comes from: no Nagle delay, TCP
/// keepalive, and on Linux a limit on how long sent data may go unacknowledged.
fn redis_client(url: &str) -> Result<redis::Client, WorkerError> {
    use redis::IntoConnectionInfo;
    use redis::io::tcp::{TcpSettings, socket2::TcpKeepalive};
    let invalid = |source| WorkerError::RedisUrl {
        url: url.to_owned(),
        source,
    };
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    #[cfg(target_os = "linux")]
    let keepalive = keepalive.with_retries(KEEPALIVE_PROBES);
    let tcp = TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive);
    #[cfg(target_os = "linux")]
    let tcp = tcp.set_user_timeout(KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_PROBES);
    let info = url
        .into_connection_info()
        .map_err(invalid)?
        .set_tcp_settings(tcp);
    redis::Client::open(info).map_err(invalid)
}

/// Opens the results store. Workers started together on a new SQLite file race to make
/// its schema, and all but one fail (SQLite migrations take no lock; PostgreSQL's do):
/// those try again, and find the schema made.
async fn open_store(url: &str) -> Result<Store, bosun_store::StoreError> {
    const TRIES: u32 = 5;
    let mut tried = 1;
    loop {
        match Store::open(url).await {
            Err(bosun_store::StoreError::Migrate(e)) if tried < TRIES => {
                tracing::debug!(
                    "making the schema failed (another worker at it?), trying again: {}",
                    bosun_core::error::chain(&e)
                );
                tokio::time::sleep(Duration::from_millis(100) * tried).await;
                tried += 1;
            }
            opened => return opened,
        }
    }
}

/// [`start`], then [`Worker::run`].
pub async fn run(config: WorkerConfig, shutdown: CancellationToken) -> Result<(), WorkerError> {
    let worker = start(config, &shutdown).await?;
    worker.run(shutdown).await;
    Ok(())
}
