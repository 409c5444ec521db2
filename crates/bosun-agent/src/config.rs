//! Where the agent finds its server and its machine key, and everything else it is told.
//!
//! The server URL and the machine key each come from the first of: the command line
//! (`--server`, `--machine-key`), the environment (`BOSUN_SERVER`,
//! `BOSUN_MACHINE_KEY`), and seed 000's `<home>/Config/agent-config.json`
//! (`{"ServerUrl": "...", "MachineKey": "..."}`, in PascalCase or camelCase; other
//! fields are left to the tools that write them). The file is only read when one of
//! the two is still missing, and a file that is there but unreadable is an error, not
//! silently skipped: a service that ignored its configuration would connect nowhere
//! and say nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bosun_exec::RunOptions;
use bosun_exec::python::PythonEnvs;
use reqwest::Url;
use serde::Deserialize;

/// The variable naming the server when `--server` is not given.
pub const SERVER_VAR: &str = "BOSUN_SERVER";
/// The variable holding the machine key when `--machine-key` is not given.
pub const MACHINE_KEY_VAR: &str = "BOSUN_MACHINE_KEY";
/// The configuration file, relative to the data directory (seed 000's place).
pub const CONFIG_FILE: &str = "Config/agent-config.json";

/// Why the agent's settings could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No source names the server.
    #[error("no server URL: give --server, set {SERVER_VAR}, or put \"ServerUrl\" in {}", .file.display())]
    NoServer {
        /// The configuration file looked at.
        file: PathBuf,
    },
    /// No source holds the machine key.
    #[error("no machine key: give --machine-key, set {MACHINE_KEY_VAR}, or put \"MachineKey\" in {}", .file.display())]
    NoMachineKey {
        /// The configuration file looked at.
        file: PathBuf,
    },
    /// The server URL is not an `http(s)://HOST[:PORT]/TENANT` URL.
    #[error("the server URL {url:?} {problem}")]
    BadServer {
        /// The URL as given.
        url: String,
        /// What is wrong, phrased to follow the URL.
        problem: &'static str,
    },
    /// The configuration file exists but could not be read.
    #[error("could not read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not the JSON object expected.
    #[error("{} is not valid (expected {{\"ServerUrl\": \"http://HOST:PORT/TENANT\", \"MachineKey\": \"…\"}})", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// A machine key: a secret. It is never printed; `Debug` shows a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct MachineKey(String);

impl MachineKey {
    /// Wraps the key's text.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, to put in a request. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MachineKey(<secret>)")
    }
}

/// The server's base URL, `http://HOST:PORT/TENANT`: the hub and the API are below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    /// Checks `text`: `http` or `https`, a host, no query or fragment. A trailing `/`
    /// is dropped.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |problem| ConfigError::BadServer {
            url: text.to_owned(),
            problem,
        };
        let mut url = Url::parse(text.trim())
            .map_err(|_| bad("is not a URL (expected http://HOST:PORT/TENANT)"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("is not an http:// or https:// URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "has a query or a fragment; give only http://HOST:PORT/TENANT",
            ));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(Self(url))
    }

    /// The URL `{server}/{segments…}`, each segment escaped as needed.
    pub fn join(&self, segments: &[&str]) -> Url {
        let mut url = self.0.clone();
        url.path_segments_mut()
            .expect("an http(s) URL with a host has path segments")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// The hub: `{server}/hubs/botagent?machineKey=K`.
    pub fn hub(&self, key: &MachineKey) -> Url {
        let mut url = self.join(&["hubs", "botagent"]);
        url.query_pairs_mut()
            .append_pair("machineKey", key.expose());
        url
    }

    /// The server's origin, `scheme://host:port`: what a relative download link is
    /// relative to.
    pub fn origin(&self) -> Url {
        let mut url = self.0.clone();
        url.set_path("/");
        url
    }

    /// The URL as given (it holds no secret).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Seed 000's `agent-config.json`: only the two fields bosun reads.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default, rename = "ServerUrl", alias = "serverUrl")]
    server_url: Option<String>,
    #[serde(default, rename = "MachineKey", alias = "machineKey")]
    machine_key: Option<String>,
}

/// What the command line gave (each `None` when the flag was not used).
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// `--server`.
    pub server: Option<String>,
    /// `--machine-key`.
    pub machine_key: Option<MachineKey>,
}

/// The server and key from the flags, else `env` (a lookup of a variable, e.g.
/// `std::env::var`), else `<home>/Config/agent-config.json`.
pub fn resolve(
    given: Given,
    env: impl Fn(&str) -> Option<String>,
    home: &Path,
) -> Result<(ServerUrl, MachineKey), ConfigError> {
    let env = |name| env(name).filter(|v| !v.trim().is_empty());
    let mut server = given
        .server
        .filter(|s| !s.trim().is_empty())
        .or_else(|| env(SERVER_VAR));
    let mut key = given
        .machine_key
        .filter(|k| !k.expose().is_empty())
        .or_else(|| env(MACHINE_KEY_VAR).map(MachineKey::new));
    let file = home.join(CONFIG_FILE);
    if server.is_none() || key.is_none() {
        let read = read_file(&file)?;
        server = server.or(read.server_url.filter(|s| !s.trim().is_empty()));
        key = key.or(read
            .machine_key
            .filter(|k| !k.is_empty())
            .map(MachineKey::new));
    }
    let server = server.ok_or_else(|| ConfigError::NoServer { file: file.clone() })?;
    let key = key.ok_or(ConfigError::NoMachineKey { file })?;
    Ok((ServerUrl::parse(&server)?, key))
}

/// The file's two fields; a missing file has none.
fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    // A UTF-8 byte order mark, as Windows editors write, is not an error.
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Everything the agent needs to run. Made with [`AgentConfig::new`], then adjusted.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The server, `http://HOST:PORT/TENANT`.
    pub server: ServerUrl,
    /// This machine's key.
    pub machine_key: MachineKey,
    /// The data directory: `TaskQueue.json`, `packages/`, `agent/`, `venvs/`, `Logs/`.
    pub home: PathBuf,
    /// How many executions run at once; more wait in the order they came.
    pub max_concurrent: usize,
    /// How often `KeepAlive` is sent.
    pub keep_alive: Duration,
    /// `Some(wait)`: connect, run at most one execution sent within `wait`, deliver
    /// its result and return.
    pub once: Option<Duration>,
    /// On shutdown, how long running executions get to finish before they are
    /// cancelled.
    pub drain_timeout: Duration,
    /// Python environments for the bots.
    pub envs: PythonEnvs,
    /// Supervision settings (grace, startup window, log cap); log paths are set per
    /// execution.
    pub supervise: RunOptions,
    /// Overrides each bot's default timeout (60 minutes) when set.
    pub timeout: Option<Duration>,
}

impl AgentConfig {
    /// Default keep-alive interval.
    pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
    /// Default drain deadline on shutdown.
    pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default `--once-wait`.
    pub const ONCE_WAIT: Duration = Duration::from_secs(10);

    /// A configuration with every default: one execution at a time, a keep-alive every
    /// 15 s, Python environments cached in `<home>/venvs`.
    pub fn new(server: ServerUrl, machine_key: MachineKey, home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        Self {
            server,
            machine_key,
            envs: PythonEnvs::new(home.join("venvs")),
            home,
            max_concurrent: 1,
            keep_alive: Self::KEEP_ALIVE,
            once: None,
            drain_timeout: Self::DRAIN_TIMEOUT,
            supervise: RunOptions::new("", ""),
            timeout: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn write_config(home: &Path, text: &str) {
        std::fs::create_dir_all(home.join("Config")).unwrap();
        std::fs::write(home.join(CONFIG_FILE), text).unwrap();
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file() {
        let home = tempfile::tempdir().unwrap();
        write_config(
            home.path(),
            r#"{"ServerUrl": "http://file:1/t", "MachineKey": "file-key", "AgentName": "x"}"#,
        );
        let vars = env(&[(SERVER_VAR, "http://env:2/t"), (MACHINE_KEY_VAR, "env-key")]);

        let given = Given {
            server: Some("http://flag:3/t/".into()),
            machine_key: Some(MachineKey::new("flag-key")),
        };
        let (server, key) = resolve(given, &vars, home.path()).unwrap();
        assert_eq!(server.as_str(), "http://flag:3/t");
        assert_eq!(key.expose(), "flag-key");

        let (server, key) = resolve(Given::default(), &vars, home.path()).unwrap();
        assert_eq!(server.as_str(), "http://env:2/t");
        assert_eq!(key.expose(), "env-key");

        // Each field falls back on its own.
        let (server, key) = resolve(
            Given::default(),
            env(&[(MACHINE_KEY_VAR, "env-key")]),
            home.path(),
        )
        .unwrap();
        assert_eq!(server.as_str(), "http://file:1/t");
        assert_eq!(key.expose(), "env-key");

        let (server, key) = resolve(Given::default(), env(&[]), home.path()).unwrap();
        assert_eq!(server.as_str(), "http://file:1/t");
        assert_eq!(key.expose(), "file-key");
    }

    #[test]
    fn the_file_is_read_in_camel_case_too_and_empty_values_do_not_count() {
        let home = tempfile::tempdir().unwrap();
        write_config(
            home.path(),
            "\u{feff}{\"serverUrl\": \"https://oa.example/acme\", \"machineKey\": \"k\"}",
        );
        let vars = env(&[(SERVER_VAR, " "), (MACHINE_KEY_VAR, "")]);
        let given = Given {
            server: Some(String::new()),
            machine_key: None,
        };
        let (server, key) = resolve(given, vars, home.path()).unwrap();
        assert_eq!(server.as_str(), "https://oa.example/acme");
        assert_eq!(key.expose(), "k");
    }

    #[test]
    fn a_bad_file_is_an_error_naming_it_and_a_missing_one_says_what_to_give() {
        let home = tempfile::tempdir().unwrap();
        let error = resolve(Given::default(), env(&[]), home.path()).unwrap_err();
        assert!(matches!(error, ConfigError::NoServer { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("give --server, set BOSUN_SERVER")
        );

        let error = resolve(
            Given::default(),
            env(&[(SERVER_VAR, "http://h:1/t")]),
            home.path(),
        )
        .unwrap_err();
        assert!(
            matches!(error, ConfigError::NoMachineKey { .. }),
            "{error:?}"
        );

        write_config(home.path(), "{\"ServerUrl\": 7}");
        let error = resolve(Given::default(), env(&[]), home.path()).unwrap_err();
        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains(&home.path().join(CONFIG_FILE).display().to_string())
        );

        write_config(home.path(), "not json");
        let error = resolve(Given::default(), env(&[]), home.path()).unwrap_err();
        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");

        // With both given, the file is not read at all.
        let given = Given {
            server: Some("http://h:1/t".into()),
            machine_key: Some(MachineKey::new("k")),
        };
        assert!(resolve(given, env(&[]), home.path()).is_ok());
    }

    #[test]
    fn server_urls_are_checked_and_give_the_hub_and_api_urls() {
        for bad in ["h:1/t", "ftp://h/t", "http://h/t?x=1", "nonsense"] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
        let server = ServerUrl::parse("http://127.0.0.1:8080/acme/").unwrap();
        let key = MachineKey::new("a b&c");
        assert_eq!(
            server.hub(&key).as_str(),
            "http://127.0.0.1:8080/acme/hubs/botagent?machineKey=a+b%26c"
        );
        assert_eq!(
            server
                .join(&["api", "packages", "p", "versions", "1.0+b/x"])
                .as_str(),
            "http://127.0.0.1:8080/acme/api/packages/p/versions/1.0+b%2Fx"
        );
        assert_eq!(server.origin().as_str(), "http://127.0.0.1:8080/");
        assert_eq!(format!("{key:?}"), "MachineKey(<secret>)");
    }
}
