//! How a server is set up: where it listens, where it keeps its state, how much it
//! runs at once, and what it does about jobs it finds running when it starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What to do with an execution recorded Running whose process still lives when the
/// server starts (one whose process is gone is always marked Failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Stop its process group and mark it Failed.
    #[default]
    Kill,
    /// Keep it running and watch it; its end is recorded (without an exit code, which
    /// only its parent could read).
    Adopt,
}

/// A server's settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the API listens. Port 0 picks a free one.
    pub listen: SocketAddr,
    /// The data dir: the SQLite file, logs and Python environments live here.
    pub home: PathBuf,
    /// `sqlite://…` or `postgres://…`; default the SQLite file `bosun.db` in `home`.
    pub database_url: Option<String>,
    /// How many executions run at once on this machine.
    pub max_concurrent: usize,
    /// Finished executions kept per job (older ones and their logs are deleted).
    pub history_limit: i64,
    /// What to do about executions found running at start.
    pub on_restart: RestartPolicy,
    /// How long running jobs get to finish on shutdown before they are cancelled.
    pub drain_timeout: Duration,
    /// The cap of each execution's log files (see [`bosun_exec::RunOptions::log_limit`]).
    pub log_limit: u64,
    /// The largest request body accepted.
    pub body_limit: usize,
    /// Whether the very first start defines the example job `hello-bot`.
    pub example_job: bool,
    /// Where bot packages are kept and how they are handed out.
    pub packages: PackagesConfig,
    /// How the hub treats remote agents.
    pub agents: AgentsConfig,
}

/// How the hub treats remote agents: the waits before it gives up on one.
#[derive(Debug, Clone)]
pub struct AgentsConfig {
    /// How long an execution for an agent waits for the agent to take it before it
    /// fails (the agent is offline, or never acknowledges it).
    pub delivery_wait: Duration,
    /// How long the runs of an agent whose connection ended have to be reported
    /// again (after it reconnects) before they fail "agent lost".
    pub lost_grace: Duration,
    /// The agents' keep-alive period; three missed disconnect an agent.
    pub keep_alive: Duration,
    /// How soon a command an agent has not acknowledged is sent again.
    pub resend: Duration,
    /// The hub's protocol timers and the largest message it takes.
    pub hub: bosun_hub::server::Options,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            delivery_wait: Duration::from_secs(10 * 60),
            lost_grace: Duration::from_secs(60),
            keep_alive: Duration::from_secs(15),
            resend: Duration::from_secs(5),
            hub: bosun_hub::server::Options::default(),
        }
    }
}

/// Where bot packages are kept, and the limits of uploads and links.
#[derive(Debug, Clone)]
pub struct PackagesConfig {
    /// Where their bytes go.
    pub storage: PackageStore,
    /// How long a download link works.
    pub link_lifetime: Duration,
    /// The largest upload accepted, in bytes.
    pub upload_limit: u64,
    /// What an archive may unpack to: entries and total size.
    pub limits: bosun_package::Limits,
    /// What the server's own download links start with (`http://HOST:PORT`); default
    /// the address it listens on, which suits machines that reach it there.
    pub public_url: Option<bosun_storage::Url>,
}

impl Default for PackagesConfig {
    fn default() -> Self {
        Self {
            storage: PackageStore::Disk(None),
            link_lifetime: Duration::from_secs(15 * 60),
            upload_limit: 100 * 1024 * 1024,
            limits: bosun_package::Limits::default(),
            public_url: None,
        }
    }
}

/// Where packages' bytes go.
#[derive(Debug, Clone)]
pub enum PackageStore {
    /// Files in a directory (default `packages` in the data directory); the server
    /// serves the download links itself, signed with a secret kept there.
    Disk(Option<PathBuf>),
    /// Objects in an S3-compatible bucket; links are presigned.
    S3(bosun_storage::S3Config),
}

impl ServerConfig {
    /// The default port of `bosun up`.
    pub const PORT: u16 = 8420;

    /// Settings with every default, keeping state in `home`.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], Self::PORT)),
            home: home.into(),
            database_url: None,
            max_concurrent: 4,
            history_limit: 100,
            on_restart: RestartPolicy::Kill,
            drain_timeout: Duration::from_secs(30),
            log_limit: bosun_exec::RunOptions::LOG_LIMIT,
            body_limit: 1024 * 1024,
            example_job: false,
            packages: PackagesConfig::default(),
            agents: AgentsConfig::default(),
        }
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.home.join("bosun.db").display()))
    }
}
