//! A server in this process on a free loopback port, its records in SQLite or
//! PostgreSQL, its packages on disk or in a real S3 server (s3s-fs), and a client
//! speaking to it as users and agents do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bosun_core::error::chain;
use bosun_server::{PackageStore, PackagesConfig, ServerConfig, ServerError};
use bosun_storage::{S3Config, Url};
use bosun_test_utils::s3_server::S3Server;
use bosun_test_utils::{POSTGRES_HELP, database_urls, drop_test_database};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Where a server keeps its packages' bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    Disk,
    S3,
}

impl Storage {
    pub(crate) const ALL: [Storage; 2] = [Storage::Disk, Storage::S3];
}

/// Where a server keeps its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// A file in the data directory.
    Sqlite,
    /// A fresh database on the server `BOSUN_TEST_POSTGRES` names.
    Postgres,
}

/// Every engine and storage, for the checks whose records either engine keeps: with
/// PostgreSQL unless `BOSUN_TEST_POSTGRES=off`.
pub(crate) fn everywhere() -> Vec<(Engine, Storage)> {
    let postgres = database_urls(Path::new("")).len() > 1;
    let engines = [Engine::Sqlite, Engine::Postgres]
        .into_iter()
        .filter(|e| *e == Engine::Sqlite || postgres);
    engines.flat_map(|e| Storage::ALL.map(|s| (e, s))).collect()
}

/// The default tenant's routes start with this.
pub(crate) const PACKAGES: &str = "/default/api/packages";

/// A running server; aborted on drop, with its S3 server and data directory.
pub(crate) struct Fixture {
    pub(crate) storage: Storage,
    pub(crate) url: String,
    /// The admin token of the default tenant.
    pub(crate) token: String,
    pub(crate) http: reqwest::Client,
    home: PathBuf,
    database_url: String,
    s3: Option<S3Server>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// A server on SQLite with default package settings.
    pub(crate) async fn start(storage: Storage) -> Self {
        Self::start_on(Engine::Sqlite, storage, |_| {}).await
    }

    /// A server on SQLite whose package settings `adjust` changes.
    pub(crate) async fn start_with(
        storage: Storage,
        adjust: impl FnOnce(&mut PackagesConfig),
    ) -> Self {
        Self::start_on(Engine::Sqlite, storage, adjust).await
    }

    /// A server on `engine` whose package settings `adjust` changes.
    pub(crate) async fn start_on(
        engine: Engine,
        storage: Storage,
        adjust: impl FnOnce(&mut PackagesConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let home = dir.path().join("home");
        let mut config = ServerConfig::new(&home);
        if engine == Engine::Postgres {
            let (_, url) = database_urls(dir.path())
                .pop()
                .expect("PostgreSQL's URL comes last");
            config.database_url = Some(url);
        }
        let database_url = config.database_url();
        config.listen = "127.0.0.1:0".parse().expect("a socket address");
        config.drain_timeout = Duration::from_secs(5);
        let s3 = (storage == Storage::S3).then(S3Server::start);
        if let Some(s3) = &s3 {
            config.packages.storage = PackageStore::S3(S3Config {
                bucket: s3.bucket().to_owned(),
                endpoint: Some(Url::parse(&s3.endpoint()).expect("the S3 server's URL")),
                region: s3.region().to_owned(),
                access_key_id: s3.access_key().to_owned(),
                secret_access_key: s3.secret_key().to_owned(),
                allow_http: true,
            });
        }
        adjust(&mut config.packages);
        let server = match bosun_server::start(config).await {
            Ok(server) => server,
            Err(e) if engine == Engine::Postgres => panic!("{}\n{POSTGRES_HELP}", chain(&e)),
            Err(e) => panic!("{}", chain(&e)),
        };
        let token = server
            .first_start
            .as_ref()
            .expect("a first start makes the admin token")
            .token
            .clone();
        let url = server.url.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        Self {
            storage,
            url,
            token,
            http: reqwest::Client::new(),
            home,
            database_url,
            s3,
            shutdown,
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server as SIGTERM does, waits for it, and drops its PostgreSQL
    /// database (one left by a failed test goes with a later run's sweep).
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("a fixture is stopped once");
        task.await
            .expect("the server's task ends")
            .unwrap_or_else(|e| panic!("{}", chain(&e)));
        drop_test_database(&self.database_url).await;
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A second handle on the server's store, for what no route does (agents'
    /// machine keys).
    pub(crate) async fn store(&self) -> bosun_store::Store {
        bosun_store::Store::open(&self.database_url)
            .await
            .unwrap_or_else(|e| panic!("{}", chain(&e)))
    }

    /// A new machine key for the agent `robot` of the tenant `slug`.
    pub(crate) async fn machine_key(&self, slug: &str) -> String {
        let store = self.store().await;
        let tenant = store
            .tenant_by_slug(slug)
            .await
            .expect("the store answers")
            .expect("the tenant exists");
        let agent = store
            .ensure_agent(&tenant.id, "robot")
            .await
            .expect("an agent can be made");
        let key = store
            .regenerate_machine_key(&tenant.id, &agent.id)
            .await
            .expect("the store answers")
            .expect("the agent was just made");
        store.close().await;
        key
    }

    /// Sends `request` with `token`; the status and the JSON body (`Null` if none).
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder, token: &str) -> (u16, Value) {
        let response = request.bearer_auth(token).send().await.expect("a response");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path)), token).await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.delete(self.url(path)), token).await
    }

    /// POSTs `form` to `path` with `token`.
    pub(crate) async fn post_form(&self, path: &str, form: Form, token: &str) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).multipart(form), token)
            .await
    }

    /// Uploads `zip` as `file_name` with the other fields `fields`, as the admin.
    pub(crate) async fn upload(
        &self,
        zip: &[u8],
        file_name: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Value) {
        let path = format!("{PACKAGES}/upload");
        self.post_form(&path, form(zip, file_name, fields), &self.token)
            .await
    }

    /// Makes the tenant `slug`; its admin token.
    pub(crate) async fn tenant(&self, slug: &str) -> String {
        let request = self.http.post(self.url("/api/tenants"));
        let (status, body) = self
            .send(request.json(&json!({ "slug": slug })), &self.token)
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"]["token"]
            .as_str()
            .expect("a new tenant comes with its token")
            .to_owned()
    }

    /// Makes a token of the default tenant with `permissions`; its secret.
    pub(crate) async fn token_with(&self, permissions: &[&str]) -> String {
        let request = self.http.post(self.url("/api/tokens"));
        let body = json!({ "name": "limited", "permissions": permissions });
        let (status, body) = self.send(request.json(&body), &self.token).await;
        assert_eq!(status, 201, "{body}");
        body["token"]
            .as_str()
            .expect("a new token comes with its secret")
            .to_owned()
    }

    /// GETs a download link as a machine does: no token. The status and the body.
    pub(crate) async fn fetch(&self, link: &str) -> (u16, Vec<u8>) {
        let response = self.http.get(link).send().await.expect("a response");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("the whole body");
        (status, body.to_vec())
    }

    /// The package objects stored, by their paths under the storage: files under
    /// the package directory (but its link secret), or in the bucket's folder of the
    /// S3 server's root (staging objects included).
    pub(crate) fn objects(&self) -> Vec<String> {
        match &self.s3 {
            Some(s3) => files_under(&s3.bucket_dir()),
            None => files_under(&self.home.join("packages"))
                .into_iter()
                .filter(|f| f != ".link-secret")
                .collect(),
        }
    }

    /// Uploads left behind in the data directory's spool folder.
    pub(crate) fn spooled(&self) -> Vec<String> {
        files_under(&self.home.join("packages/.uploads"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A form with the ZIP as `file` (named `file_name`) and the text fields `fields`.
pub(crate) fn form(zip: &[u8], file_name: &str, fields: &[(&str, &str)]) -> Form {
    let part = Part::bytes(zip.to_vec())
        .file_name(file_name.to_owned())
        .mime_str("application/zip")
        .expect("a valid MIME type");
    fields
        .iter()
        .fold(Form::new().part("file", part), |form, (name, value)| {
            form.text(name.to_string(), value.to_string())
        })
}

/// Every file below `dir`, as paths relative to it, sorted; none if `dir` is missing.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("found below dir");
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// The SHA-256 of `bytes`, in hex.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts an error answer: `expected`, with the body `{code, message}`.
#[track_caller]
pub(crate) fn assert_error(answer: &(u16, Value), expected: u16, what: &str) {
    let (status, body) = answer;
    assert_eq!(*status, expected, "{what}: {body}");
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty())
            && body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: not a {{code, message}} body: {body}"
    );
}
