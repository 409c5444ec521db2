//! How a worker is set up: which streams it reads for which roles, how many jobs of each
//! it runs at once, where the LLM, the store and Redis are, and how it retries.
//!
//! Defaults follow seeds 003/004: group `executor-group`, streams `jobs:manager`,
//! `jobs:inspector`, `jobs:agent`, models `trt-llm-ROLE` with 256/512/128 tokens, limits 0
//! (unlimited). bosun adds `jobs:process` (a process job to run here) and
//! `chat:requests` (a message that gets an LLM reply).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use bosun_core::role::Role;

use crate::llm::LlmConfig;

/// One role's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// Read this role's stream at all.
    pub enabled: bool,
    /// The stream.
    pub stream: String,
    /// The most of its jobs running at once; 0 = no limit of its own.
    pub limit: usize,
    /// The LLM model (not used by `process`).
    pub model: String,
    /// The reply's `max_tokens`.
    pub max_tokens: u32,
}

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub redis_url: String,
    /// The consumer group, on every stream.
    pub group: String,
    /// This worker's name in the group; unique per instance.
    pub consumer: String,
    /// Per role, indexed by [`Role`].
    pub roles: [RoleConfig; 5],
    /// The most jobs running at once in all; 0 = no limit.
    pub max_total: usize,
    /// The LLM endpoint.
    pub llm: LlmConfig,
    /// Where results are saved (`sqlite://…`, `postgres://…`).
    pub database_url: String,
    /// The data directory: process jobs' logs go under `Logs/worker/`.
    pub home: PathBuf,
    /// An entry pending this long on any consumer is taken over and tried again.
    pub claim_idle: Duration,
    /// How many deliveries an entry gets before it goes to the dead-letter stream.
    pub max_attempts: u32,
    /// The dead-letter stream.
    pub dead_letter: String,
    /// The notification stream.
    pub updates: String,
    /// Roughly how many entries the notification and dead-letter streams keep.
    pub keep: usize,
    /// Where `/metrics` is served; `None` for nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// How long running jobs get to finish on shutdown; the rest stay pending for others.
    pub drain_timeout: Duration,
    /// How long one blocking read waits before the worker looks around again.
    pub block: Duration,
}

impl WorkerConfig {
    /// The seeds' defaults, with Redis at `redis_url` and results in `database_url`.
    pub fn new(
        redis_url: impl Into<String>,
        database_url: impl Into<String>,
        home: impl Into<PathBuf>,
    ) -> Self {
        let role = |role: Role, model: &str, max_tokens| RoleConfig {
            enabled: true,
            stream: role.default_stream().to_owned(),
            limit: 0,
            model: model.to_owned(),
            max_tokens,
        };
        Self {
            redis_url: redis_url.into(),
            group: "executor-group".to_owned(),
            consumer: default_consumer(),
            roles: [
                role(Role::Manager, "trt-llm-manager", 256),
                role(Role::Inspector, "trt-llm-inspector", 512),
                role(Role::Agent, "trt-llm-agent", 128),
                role(Role::Process, "", 0),
                role(Role::Chat, "trt-llm-agent", 256),
            ],
            max_total: 0,
            llm: LlmConfig::new("http://localhost:11434/v1/chat/completions"),
            database_url: database_url.into(),
            home: home.into(),
            claim_idle: Duration::from_secs(60),
            max_attempts: 5,
            dead_letter: "jobs:dead".to_owned(),
            updates: "signalr:updates".to_owned(),
            keep: 100_000,
            metrics_listen: None,
            drain_timeout: Duration::from_secs(30),
            block: Duration::from_secs(5),
        }
    }

    /// A role's settings.
    pub fn role(&self, role: Role) -> &RoleConfig {
        &self.roles[role as usize]
    }

    /// A role's settings, to change.
    pub fn role_mut(&mut self, role: Role) -> &mut RoleConfig {
        &mut self.roles[role as usize]
    }
}

/// `HOST-PID`: unique per instance on a host, readable in `XINFO CONSUMERS`.
pub fn default_consumer() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}-{}", std::process::id())
}

/// A Redis URL from `REDIS_CONNECTION` as the seeds write it (StackExchange.Redis form,
/// `host:port[,password=…][,defaultDatabase=N]`) or as a `redis://` URL, checked: an
/// unusable one is a bad setting, said at once rather than when the worker starts.
pub fn redis_url(connection: &str) -> Result<String, String> {
    let url = unchecked_redis_url(connection)?;
    match redis::Client::open(url.as_str()) {
        Ok(_) => Ok(url),
        Err(e) => Err(format!(
            "{:?} is not a usable Redis address: {e}",
            connection.trim()
        )),
    }
}

fn unchecked_redis_url(connection: &str) -> Result<String, String> {
    let connection = connection.trim();
    if connection.starts_with("redis://") || connection.starts_with("unix://") {
        return Ok(connection.to_owned());
    }
    if connection.starts_with("rediss://") {
        return Err("rediss:// (TLS) is not supported by this build: reach Redis over a TLS tunnel, or use redis://".to_owned());
    }
    let mut parts = connection.split(',').map(str::trim);
    let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(|| {
        "REDIS_CONNECTION is empty: write HOST:PORT or redis://HOST:PORT".to_owned()
    })?;
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    };
    let (mut user, mut password, mut db) = (String::new(), None, None);
    for option in parts.filter(|p| !p.is_empty()) {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        match key.to_ascii_lowercase().as_str() {
            "password" => password = Some(value.to_owned()),
            "user" => user = value.to_owned(),
            "defaultdatabase" => db = Some(value.to_owned()),
            "ssl" if value.eq_ignore_ascii_case("false") => {}
            "ssl" => {
                return Err(
                    "ssl=true is not supported by this build: reach Redis over a TLS tunnel"
                        .to_owned(),
                );
            }
            // Client-side tuning of StackExchange.Redis with no meaning here.
            "abortconnect" | "connecttimeout" | "synctimeout" | "asynctimeout" | "keepalive"
            | "connectretry" | "name" | "allowadmin" => {}
            other => {
                return Err(format!(
                    "unknown REDIS_CONNECTION option {other:?}: use a redis:// URL instead"
                ));
            }
        }
    }
    let auth = match password {
        Some(p) => format!("{user}:{p}@"),
        None if !user.is_empty() => format!("{user}@"),
        None => String::new(),
    };
    let db = db.map(|d| format!("/{d}")).unwrap_or_default();
    Ok(format!("redis://{auth}{host}{db}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_connection_strings_become_urls() {
        assert_eq!(
            redis_url("localhost:6379").unwrap(),
            "redis://localhost:6379"
        );
        assert_eq!(
            redis_url("nodpt-redis").unwrap(),
            "redis://nodpt-redis:6379"
        );
        assert_eq!(
            redis_url("cache:6380,password=s3cret,defaultDatabase=2,abortConnect=false").unwrap(),
            "redis://:s3cret@cache:6380/2"
        );
        assert_eq!(redis_url("redis://h:1/0").unwrap(), "redis://h:1/0");
        assert!(redis_url("h:1,ssl=true").unwrap_err().contains("TLS"));
        assert!(redis_url("h:1,colour=blue").unwrap_err().contains("colour"));
        assert!(redis_url(" ").is_err());
        assert!(
            redis_url("redis://")
                .unwrap_err()
                .contains("not a usable Redis address"),
            "no host"
        );
        assert!(
            redis_url("redis://:abc").is_err(),
            "a port that is not a number"
        );
    }

    #[test]
    fn the_defaults_are_the_seeds() {
        let config = WorkerConfig::new("redis://x", "sqlite://y", "/tmp");
        assert_eq!(config.group, "executor-group");
        let inspector = config.role(Role::Inspector);
        assert_eq!(
            (
                inspector.stream.as_str(),
                inspector.model.as_str(),
                inspector.max_tokens
            ),
            ("jobs:inspector", "trt-llm-inspector", 512)
        );
        assert_eq!(config.role(Role::Manager).max_tokens, 256);
        assert_eq!(config.role(Role::Agent).max_tokens, 128);
        assert_eq!(config.role(Role::Agent).limit, 0, "0 = unlimited");
    }
}
