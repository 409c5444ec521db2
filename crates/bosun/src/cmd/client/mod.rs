//! The client commands: they talk to a running `bosun up` over its HTTP API.
//!
//! This module holds what they share: where the server is and which token to show it
//! ([`ClientConfig`]: flag, then environment, then `<home>/client.json`), one HTTP
//! client that turns transport failures and the server's `{"code", "message"}` answers
//! into [`ClientError`]s, and [`finish`], which turns those into one line on stderr and
//! a documented exit code.

pub(crate) mod agents;
pub(crate) mod cancel;
pub(crate) mod history;
pub(crate) mod jobs;
pub(crate) mod logs;
pub(crate) mod package;
pub(crate) mod ps;
pub(crate) mod schedule;
pub(crate) mod stuck;
pub(crate) mod submit;
pub(crate) mod tenant;
pub(crate) mod trigger;

mod human;
mod sse;
mod table;
mod wire;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use bosun_core::error::chain;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cli::{ClientArgs, OutputArgs};
use crate::exit;

/// Where the client looks when nothing says otherwise: `bosun up`'s default address.
pub(crate) const DEFAULT_URL: &str = "http://127.0.0.1:8420";

/// How long to wait for a connection; a server on this machine answers in far less.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an ordinary request may take, body included (not log streams).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `<home>/client.json`: the server's URL and the admin token, written by `bosun up` on
/// its first start so that the client commands on the same machine need no flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClientFile {
    /// The server's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// The API token's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
}

impl ClientFile {
    /// Its place in a data directory.
    pub(crate) fn path(home: &Path) -> PathBuf {
        home.join("client.json")
    }

    /// Reads it; `None` when there is none.
    fn read(path: &Path) -> Result<Option<Self>, ClientError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ClientError::Usage(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            ClientError::Usage(format!(
                "{} is not valid: {e} (it holds {{\"url\": ..., \"token\": ...}})",
                path.display()
            ))
        })
    }

    /// Points the file at `path` to `url`, keeping its token, when it names another
    /// URL (its server was started on another address since); `Ok(true)` when it did.
    /// It is replaced whole (a new file, mode 0600, renamed over it), never half
    /// written; a file that cannot be read as client.json is left alone.
    pub(crate) fn repoint(path: &Path, url: &str) -> std::io::Result<bool> {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(Some(mut saved)) = Self::read(path) else {
            return Ok(false);
        };
        if saved.is_for(url) {
            return Ok(false);
        }
        saved.url = Some(url.to_owned());
        let fresh = path.with_extension("json.new");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&fresh)?;
        saved.write_to(file)?;
        std::fs::rename(&fresh, path)?;
        Ok(true)
    }

    /// True when it was saved for the server at `url` (its own URL, or
    /// [`DEFAULT_URL`] when it names none); a trailing `/` makes no difference.
    fn is_for(&self, url: &str) -> bool {
        let saved = self.url.as_deref().unwrap_or(DEFAULT_URL);
        saved.trim_end_matches('/') == url.trim_end_matches('/')
    }

    /// Writes it as pretty JSON into `file`, and syncs it.
    fn write_to(&self, mut file: std::fs::File) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        file.write_all(text.as_bytes())?;
        file.sync_all()
    }

    /// Writes it with mode 0600, only if no such file exists: `Ok(false)` leaves an
    /// existing one untouched.
    pub(crate) fn create_new(&self, path: &Path) -> std::io::Result<bool> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(e),
        };
        self.write_to(file)?;
        Ok(true)
    }
}

/// The server to talk to and the token to show it, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientConfig {
    /// The server's base URL.
    pub(crate) url: String,
    /// The token, if any source had one.
    pub(crate) token: Option<String>,
    /// Where client.json was looked for, for the message when there is no token.
    pub(crate) file: Option<PathBuf>,
}

impl ClientConfig {
    /// Each of URL and token from the first source that has it: the flag, the
    /// environment (`BOSUN_SERVER`, `BOSUN_TOKEN`; empty counts as unset), client.json;
    /// the URL falls back to [`DEFAULT_URL`]. client.json's token is only ever shown
    /// to the server it was saved with: for another URL it is not used.
    pub(crate) fn resolve(
        args: &ClientArgs,
        env: impl Fn(&str) -> Option<String>,
        file: Option<&ClientFile>,
    ) -> Self {
        let env = |name| env(name).filter(|v| !v.trim().is_empty());
        let url = args
            .server
            .clone()
            .or_else(|| env("BOSUN_SERVER"))
            .or_else(|| file.and_then(|f| f.url.clone()))
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let token = args
            .token
            .clone()
            .or_else(|| env("BOSUN_TOKEN"))
            .or_else(|| {
                file.filter(|f| f.is_for(&url))
                    .and_then(|f| f.token.clone())
            });
        Self {
            url,
            token,
            file: None,
        }
    }

    /// Resolves from the real environment and `<home>/client.json`.
    pub(crate) fn load(args: &ClientArgs) -> Result<Self, ClientError> {
        let home = args
            .home
            .clone()
            .or_else(|| bosun_exec::Home::from_env().map(|h| h.root().to_path_buf()));
        let path = home.as_deref().map(ClientFile::path);
        let file = match &path {
            Some(path) => ClientFile::read(path)?,
            None => None,
        };
        let mut config = Self::resolve(args, |name| std::env::var(name).ok(), file.as_ref());
        config.file = path;
        Ok(config)
    }
}

/// Why a client command could not do what was asked; each maps to an exit code.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// No token from any source.
    NoToken {
        /// The server it would have gone to.
        url: String,
        /// Where client.json was looked for.
        file: Option<PathBuf>,
    },
    /// Nothing answered at the URL.
    Unreachable {
        /// The server's URL.
        url: String,
        /// Connection refused (or no route): no server there, as far as we can tell.
        refused: bool,
        /// What went wrong, for the other cases.
        detail: String,
    },
    /// The server answered with an error status.
    Server {
        /// The HTTP status.
        status: StatusCode,
        /// Its `message`, or a description of a non-JSON answer.
        message: String,
    },
    /// The command line, a job file or client.json is wrong.
    Usage(String),
}

impl ClientError {
    /// The documented exit code (see `exit.rs`).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::NoToken { .. } | Self::Usage(_) => exit::USAGE,
            Self::Unreachable { .. } => exit::UNREACHABLE,
            Self::Server { .. } => exit::SERVER_SAID_NO,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoToken { url, file } => {
                write!(
                    f,
                    "no API token for {url}: pass --token or set BOSUN_TOKEN; `bosun up` \
                     prints one on its first start"
                )?;
                match file {
                    Some(file) => write!(f, " and saves it in {}", file.display()),
                    None => Ok(()),
                }
            }
            Self::Unreachable {
                url, refused: true, ..
            } => write!(f, "no bosun server at {url}: start one with `bosun up`"),
            Self::Unreachable { url, detail, .. } => {
                write!(f, "could not reach the bosun server at {url}: {detail}")
            }
            // The server's own message tells an HTTP client which header to send; a
            // user of this command needs to know where the token came from instead.
            Self::Server { status, .. } if *status == StatusCode::UNAUTHORIZED => f.write_str(
                "the server did not accept the token: check --token, BOSUN_TOKEN or \
                 client.json (`bosun up` prints the admin token on its first start)",
            ),
            Self::Server { message, .. } => f.write_str(message),
            Self::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}

/// Maps a client command's result to its exit code at the edge: a [`ClientError`] is
/// printed as one line, a closed stdout (`bosun logs ID | head`) is success, anything
/// else is left for `main` (an internal error).
pub(crate) fn finish(result: Result<u8>) -> Result<u8> {
    let error = match result {
        Ok(code) => return Ok(code),
        Err(error) => error,
    };
    if let Some(client) = error.chain().find_map(|e| e.downcast_ref::<ClientError>()) {
        eprintln!("bosun: {client}");
        return Ok(client.exit_code());
    }
    let broken_pipe = error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return Ok(exit::SUCCESS);
    }
    Err(error)
}

/// A connection to one server, with its token.
pub(crate) struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// A JSON answer, parsed and as it came (for `--json`).
pub(crate) struct Answer<T> {
    /// The parsed value.
    pub(crate) value: T,
    /// The body as the server sent it.
    pub(crate) raw: String,
}

impl Client {
    /// A client for the server the flags, environment or client.json name.
    pub(crate) fn new(args: &ClientArgs) -> Result<Self, ClientError> {
        let config = ClientConfig::load(args)?;
        let display_url = config.url.trim_end_matches('/').to_owned();
        let Some(token) = config.token else {
            return Err(ClientError::NoToken {
                url: display_url,
                file: config.file,
            });
        };
        let base = Url::parse(&config.url).map_err(|e| {
            ClientError::Usage(format!(
                "{:?} is not a server URL ({e}): write e.g. {DEFAULT_URL}",
                config.url
            ))
        })?;
        match base.scheme() {
            "http" => {}
            "https" => {
                return Err(ClientError::Usage(format!(
                    "{display_url}: this build of bosun speaks plain HTTP only; reach a \
                     remote server through an SSH tunnel or a local proxy"
                )));
            }
            other => {
                return Err(ClientError::Usage(format!(
                    "{display_url}: {other}:// is not a server URL: write e.g. {DEFAULT_URL}"
                )));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("bosun/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Self { http, base, token })
    }

    /// The URL of an API path, each segment percent-encoded: `["api", "jobs", name]`.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("the base URL is http, which always has a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// A request with the token and the usual time limit.
    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.stream_request(method, segments)
            .timeout(REQUEST_TIMEOUT)
    }

    /// A request with the token and no time limit, for streams that last as long as a
    /// job does.
    pub(crate) fn stream_request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http
            .request(method, self.url(segments))
            .bearer_auth(&self.token)
    }

    /// Sends a request; a transport failure or an error status becomes a
    /// [`ClientError`].
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(ClientError::Server {
            status,
            message: error_message(status, &body),
        })
    }

    /// Sends a request and reads a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<Answer<T>, ClientError> {
        let response = self.send(request).await?;
        let raw = response.text().await.map_err(|e| self.transport(e))?;
        let value = serde_json::from_str(&raw).map_err(|e| ClientError::Server {
            status: StatusCode::OK,
            message: format!(
                "the server at {} sent an answer bosun does not understand ({e}): is it a \
                 bosun server of a matching version?",
                self.display_url()
            ),
        })?;
        Ok(Answer { value, raw })
    }

    /// The server's URL as people wrote it.
    pub(crate) fn display_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// Names a transport failure.
    pub(crate) fn transport(&self, error: reqwest::Error) -> ClientError {
        tracing::debug!("request failed: {error:?}");
        let url = self.display_url();
        if error.is_connect() {
            return ClientError::Unreachable {
                url,
                refused: true,
                detail: chain(&error).to_string(),
            };
        }
        let detail = if error.is_timeout() {
            "it did not answer in time".to_owned()
        } else {
            chain(&error).to_string()
        };
        ClientError::Unreachable {
            url,
            refused: false,
            detail,
        }
    }
}

/// The `message` of the server's `{"code", "message"}` error body, or a description of
/// an answer that is not one (a proxy's page, another program on the port).
fn error_message(status: StatusCode, body: &str) -> String {
    if let Ok(error) = serde_json::from_str::<wire::ErrorBody>(body)
        && !error.message.is_empty()
    {
        return error.message;
    }
    let first_line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match first_line {
        "" => format!("the server answered {status}"),
        line => format!(
            "the server answered {status}: {}",
            table::clip(line.trim(), 200)
        ),
    }
}

/// Writes to stdout; a closed pipe comes back as an error that [`finish`] treats as
/// success.
pub(crate) fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// What a listing prints instead of its table: with `--json`, the server's answer as it
/// came; with nothing to list (`none`), the message `empty` gives, on stderr. False when
/// the table is still to be printed.
pub(crate) fn printed_instead(
    output: OutputArgs,
    raw: &str,
    none: bool,
    empty: impl FnOnce() -> String,
) -> std::io::Result<bool> {
    if output.json {
        print(raw)?;
    } else if none {
        eprintln!("bosun: {}", empty());
    }
    Ok(output.json || none)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: Option<&str>, token: Option<&str>) -> ClientArgs {
        ClientArgs {
            server: server.map(str::to_owned),
            token: token.map(str::to_owned),
            home: None,
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn file(url: &str, token: &str) -> ClientFile {
        ClientFile {
            url: Some(url.to_owned()),
            token: Some(token.to_owned()),
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let vars = [
            ("BOSUN_SERVER", "http://env:1"),
            ("BOSUN_TOKEN", "env-token"),
        ];
        let file = file("http://file:2", "file-token");

        let both = ClientConfig::resolve(
            &args(Some("http://flag:3"), Some("flag-token")),
            env(&vars),
            Some(&file),
        );
        assert_eq!(both.url, "http://flag:3");
        assert_eq!(both.token.as_deref(), Some("flag-token"));

        let from_env = ClientConfig::resolve(&args(None, None), env(&vars), Some(&file));
        assert_eq!(from_env.url, "http://env:1");
        assert_eq!(from_env.token.as_deref(), Some("env-token"));

        let from_file = ClientConfig::resolve(&args(None, None), env(&[]), Some(&file));
        assert_eq!(from_file.url, "http://file:2");
        assert_eq!(from_file.token.as_deref(), Some("file-token"));
    }

    #[test]
    fn client_json_s_token_goes_only_to_the_server_it_was_saved_with() {
        let file = file("http://127.0.0.1:8420", "file-token");
        let other = ClientConfig::resolve(
            &args(Some("http://elsewhere:1"), None),
            env(&[]),
            Some(&file),
        );
        assert_eq!(other.url, "http://elsewhere:1");
        assert_eq!(
            other.token, None,
            "the saved token was offered to another server"
        );
        let vars = [("BOSUN_SERVER", "http://elsewhere:1")];
        let other = ClientConfig::resolve(&args(None, None), env(&vars), Some(&file));
        assert_eq!(other.token, None);
        let same = ClientConfig::resolve(
            &args(Some("http://127.0.0.1:8420/"), None),
            env(&[]),
            Some(&file),
        );
        assert_eq!(
            same.token.as_deref(),
            Some("file-token"),
            "a trailing slash is the same server"
        );
    }

    #[test]
    fn a_later_start_on_another_address_repoints_client_json_and_keeps_its_token() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = ClientFile::path(dir.path());
        assert!(
            !ClientFile::repoint(&path, "http://a:1").unwrap(),
            "no file, nothing to do"
        );
        assert!(file("http://a:1", "secret").create_new(&path).unwrap());
        assert!(!ClientFile::repoint(&path, "http://a:1/").unwrap());
        assert!(ClientFile::repoint(&path, "http://a:2").unwrap());
        assert_eq!(
            ClientFile::read(&path).unwrap().unwrap(),
            file("http://a:2", "secret")
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "not json").unwrap();
        assert!(!ClientFile::repoint(&path, "http://a:3").unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "not json",
            "a bad file is left alone"
        );
    }

    #[test]
    fn each_setting_falls_back_on_its_own() {
        let vars = [("BOSUN_TOKEN", "env-token"), ("BOSUN_SERVER", "  ")];
        let file = ClientFile {
            url: None,
            token: Some("file-token".into()),
        };
        let config = ClientConfig::resolve(&args(None, None), env(&vars), Some(&file));
        assert_eq!(config.url, DEFAULT_URL, "an empty variable counts as unset");
        assert_eq!(config.token.as_deref(), Some("env-token"));

        let nothing = ClientConfig::resolve(&args(None, None), env(&[]), None);
        assert_eq!(nothing.url, DEFAULT_URL);
        assert_eq!(nothing.token, None);
    }

    #[test]
    fn client_json_is_created_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = ClientFile::path(dir.path());
        assert!(file("http://a:1", "first").create_new(&path).unwrap());
        assert!(!file("http://b:2", "second").create_new(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = ClientFile::read(&path).unwrap().unwrap();
        assert_eq!(read, file("http://a:1", "first"));
        assert!(
            ClientFile::read(&dir.path().join("none.json"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn server_errors_use_the_message_else_describe_the_answer() {
        let json = r#"{"code":"not_found","message":"no job named nope"}"#;
        assert_eq!(
            error_message(StatusCode::NOT_FOUND, json),
            "no job named nope"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, "\n<html>bad gateway</html>"),
            "the server answered 502 Bad Gateway: <html>bad gateway</html>"
        );
        assert_eq!(
            error_message(StatusCode::NOT_FOUND, ""),
            "the server answered 404 Not Found"
        );
    }
}
