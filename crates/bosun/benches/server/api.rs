//! The HTTP calls the bench makes to the server, each checking the status it expects,
//! as docs/SERVER.md documents them.

use std::time::Duration;

use serde_json::Value;

use crate::Fallible;

/// How long an execution may take to end before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// A client of one server: its URL and admin token, one connection pool.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    pub(crate) fn new(url: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: token.to_owned(),
        }
    }

    /// `POST /api/jobs`.
    pub(crate) async fn create_job(&self, definition: &Value) -> Fallible<()> {
        let request = self.http.post(self.at("/api/jobs")).json(definition);
        self.send(request, 201, "creating a job").await?;
        Ok(())
    }

    /// `POST /api/jobs/{job}/run`; the new execution's id.
    pub(crate) async fn run(&self, job: &str) -> Fallible<String> {
        let request = self.http.post(self.at(&format!("/api/jobs/{job}/run")));
        let execution = self.send(request, 202, "running a job").await?;
        execution["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the run request answered no id: {execution}").into())
    }

    /// `POST path` with a JSON body, answered `expected` with JSON.
    pub(crate) async fn post(
        &self,
        path: &str,
        body: &Value,
        expected: u16,
        about: &str,
    ) -> Fallible<Value> {
        let request = self.http.post(self.at(path)).json(body);
        self.send(request, expected, about).await
    }

    /// `POST /default/api/packages/upload`: `zip` as version `version` of package `name`.
    pub(crate) async fn upload(&self, name: &str, version: &str, zip: Vec<u8>) -> Fallible<()> {
        let form = reqwest::multipart::Form::new()
            .text("name", name.to_owned())
            .text("version", version.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(zip).file_name(format!("{name}.zip")),
            );
        let request = self
            .http
            .post(self.at("/default/api/packages/upload"))
            .multipart(form);
        self.send(request, 201, "uploading a package").await?;
        Ok(())
    }

    /// `GET /api/executions/{id}/logs`: the execution's standard output as text.
    pub(crate) async fn log(&self, id: &str) -> Fallible<String> {
        let about = "reading an execution's log";
        let response = self
            .http
            .get(self.at(&format!("/api/executions/{id}/logs")))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{about}: {e}"))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{about}: reading the answer: {e}"))?;
        if status != 200 {
            return Err(format!("{about}: answered {status}, not 200: {text}").into());
        }
        Ok(text)
    }

    /// `GET path`, answered 200 with JSON.
    pub(crate) async fn get(&self, path: &str) -> Fallible<Value> {
        self.send(self.http.get(self.at(path)), 200, path).await
    }

    /// `GET /api/executions/{id}`.
    pub(crate) async fn execution(&self, id: &str) -> Fallible<Value> {
        self.get(&format!("/api/executions/{id}")).await
    }

    /// Asks for the execution every `poll` until it has ended; returns it.
    pub(crate) async fn finished(&self, id: &str, poll: Duration) -> Fallible<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let execution = self.execution(id).await?;
            if ended(&execution) {
                return Ok(execution);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("execution {id} has not ended: {execution}").into());
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Every execution of `job`, newest first, read in pages of 1000.
    pub(crate) async fn all_executions(&self, job: &str) -> Fallible<Vec<Value>> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut path = format!("/api/executions?job={job}&limit=1000");
            if let Some(cursor) = &before {
                path.push_str(&format!("&before={cursor}"));
            }
            let mut page = self.get(&path).await?;
            if let Value::Array(items) = page["items"].take() {
                all.extend(items);
            }
            match page["next"].as_str() {
                Some(next) => before = Some(next.to_owned()),
                None => return Ok(all),
            }
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        expected: u16,
        about: &str,
    ) -> Fallible<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{about}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{about}: reading the answer: {e}"))?;
        if status != expected {
            let body = String::from_utf8_lossy(&body);
            return Err(format!("{about}: answered {status}, not {expected}: {body}").into());
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("{about}: the answer is not JSON: {e}").into())
    }
}

/// True once an execution's status is final.
pub(crate) fn ended(execution: &Value) -> bool {
    !matches!(execution["status"].as_str(), Some("Pending" | "Running"))
}
