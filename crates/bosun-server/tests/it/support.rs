//! A server in this process on a free port, and a client for it.

use std::time::Duration;

use bosun_core::error::chain;
use bosun_server::{ServerConfig, ServerError, start};
use bosun_test_utils::{POSTGRES_HELP, database_urls, drop_test_database};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// A running server; stopped (and drained) on [`TestServer::stop`], aborted on drop.
pub(crate) struct TestServer {
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) database_url: String,
    pub(crate) home: std::path::PathBuf,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
    pub(crate) http: reqwest::Client,
}

impl TestServer {
    pub(crate) async fn start(home: &std::path::Path, database_url: &str) -> Self {
        let mut config = ServerConfig::new(home);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(database_url.to_owned());
        config.drain_timeout = Duration::from_secs(5);
        Self::start_with(config, None).await
    }

    pub(crate) async fn start_with(config: ServerConfig, token: Option<String>) -> Self {
        let database_url = config.database_url();
        let home = config.home.clone();
        let server = match start(config).await {
            Ok(s) => s,
            Err(e) if database_url.starts_with("postgres") => {
                panic!("{}\n{POSTGRES_HELP}", chain(&e))
            }
            Err(e) => panic!("{}", chain(&e)),
        };
        let token = token
            .or_else(|| server.first_start.as_ref().map(|f| f.token.clone()))
            .expect("a first start prints the admin token");
        let url = server.url.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        Self {
            url,
            token,
            database_url,
            home,
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server the way SIGTERM does, and waits for it.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    /// Stops the server (drained, as on SIGTERM) and starts another on the same home
    /// and database, with the same token.
    pub(crate) async fn restart(self) -> Self {
        let (home, database_url, token) = (
            self.home.clone(),
            self.database_url.clone(),
            self.token.clone(),
        );
        self.stop().await;
        Self::start_again(&home, &database_url, token).await
    }

    /// A server on the home and database a stopped one used, with its token.
    pub(crate) async fn start_again(
        home: &std::path::Path,
        database_url: &str,
        token: String,
    ) -> Self {
        let mut config = ServerConfig::new(home);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = Some(database_url.to_owned());
        config.drain_timeout = Duration::from_secs(5);
        Self::start_with(config, Some(token)).await
    }

    /// The executions of `job`, newest first.
    pub(crate) async fn executions_of(&self, job: &str) -> Vec<Value> {
        let (status, page) = self
            .get(&format!("/api/executions?job={job}&limit=1000"))
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Ends the server abruptly, as a crash would: nothing is drained or recorded.
    pub(crate) async fn crash(mut self) {
        let task = self.task.take().unwrap();
        task.abort();
        let _ = task.await;
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// GET with the admin token; returns (status, JSON body or Null).
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path)), &self.token).await
    }

    /// GET with the admin token, the body as text.
    pub(crate) async fn text(&self, path: &str) -> String {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send();
        response.await.unwrap().text().await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body), &self.token)
            .await
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder, token: &str) -> (u16, Value) {
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Waits until the execution has ended and returns it.
    pub(crate) async fn finished(&self, id: &str) -> Value {
        for _ in 0..600 {
            let (_, e) = self.get(&format!("/api/executions/{id}")).await;
            if !matches!(e["status"].as_str(), Some("Pending" | "Running")) {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {id} did not finish in 30 s");
    }

    /// Waits until the execution is Running and returns it.
    pub(crate) async fn running(&self, id: &str) -> Value {
        for _ in 0..600 {
            let (_, e) = self.get(&format!("/api/executions/{id}")).await;
            if e["status"] == "Running" && e["pid"].is_number() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("execution {id} did not start in 30 s");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Runs `check` against a fresh server on each engine.
pub(crate) async fn on_each_engine<F, Fut>(check: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let home = dir.path().join(engine);
        let server = TestServer::start(&home, &url).await;
        check(server).await;
        drop_test_database(&url).await;
    }
}

/// A process job running `sh -c SCRIPT`.
pub(crate) fn sh_job(name: &str, script: &str) -> Value {
    serde_json::json!({
        "name": name,
        "process": { "command": "sh", "arguments": ["-c", script, name], "timeoutSeconds": 30 }
    })
}
