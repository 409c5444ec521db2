//! The LLM client: one OpenAI chat-completions call, with a timeout, and retries with
//! backoff where trying again can help.
//!
//! A 429, a 5xx, a timeout or a failed connection is retried (honouring `Retry-After`),
//! up to the configured number of attempts; any other 4xx is the request's fault and is
//! not retried; a success whose body has no `choices[0].message.content` is a bad reply.
//! Request: `{"model", "messages": [{"role": "user", "content"}], "max_tokens"}`.

use std::time::{Duration, Instant};

use bosun_core::backoff::Backoff;
use bosun_core::error::chain;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Where and how to call the LLM.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The chat-completions URL, e.g. `http://localhost:11434/v1/chat/completions`.
    pub endpoint: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// How long one call may take, body included.
    pub timeout: Duration,
    /// How many calls at most, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles each time, up to [`MAX_BACKOFF`]
    /// (each wait shortened by a little jitter, see [`Backoff`]).
    pub backoff: Duration,
}

/// The longest wait between two calls, whatever `Retry-After` asks.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl LlmConfig {
    /// The seeds' default endpoint (a local Ollama), 120 s timeout, 4 attempts.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The endpoint refused the request (a 4xx other than 429): retrying cannot help.
    #[error("the LLM endpoint refused the request with {status}: {body}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// The endpoint answered 2xx without a reply in it.
    #[error("the LLM endpoint's answer has no choices[0].message.content: {body}")]
    BadReply {
        /// The start of its answer.
        body: String,
    },
    /// Every attempt failed in a way a later try might not.
    #[error("the LLM endpoint failed {attempts} times; last: {last}")]
    Unavailable {
        /// How many calls were made.
        attempts: u32,
        /// What went wrong the last time.
        last: String,
    },
}

impl LlmError {
    /// True when the job may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A client for one endpoint; cheap to clone.
#[derive(Debug, Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
}

/// One failed attempt: whether to retry, and after at least how long.
enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fail(LlmError),
}

impl LlmClient {
    /// A client for `config.endpoint`.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("bosun/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Unavailable {
                attempts: 0,
                last: format!("cannot set up an HTTP client: {}", chain(&e)),
            })?;
        Ok(Self { http, config })
    }

    /// Sends `content` as the user's message to `model`; the reply's text.
    pub async fn chat(
        &self,
        model: &str,
        content: &str,
        max_tokens: u32,
    ) -> Result<String, LlmError> {
        let body = json!({
            "model": model,
            "messages": [{ "role": "user", "content": content }],
            "max_tokens": max_tokens,
        });
        let attempts = self.config.attempts.max(1);
        let mut backoff = Backoff::new(self.config.backoff, MAX_BACKOFF);
        let mut last = String::new();
        for attempt in 1..=attempts {
            let started = Instant::now();
            let outcome = self.call(&body).await;
            metrics::histogram!("bosun_worker_llm_seconds", "model" => model.to_owned())
                .record(started.elapsed().as_secs_f64());
            match outcome {
                Ok(reply) => return Ok(reply),
                Err(Attempt::Fail(e)) => {
                    metrics::counter!("bosun_worker_llm_errors_total", "kind" => "rejected")
                        .increment(1);
                    return Err(e);
                }
                Err(Attempt::Retry { why, after }) => {
                    metrics::counter!("bosun_worker_llm_errors_total", "kind" => "transient")
                        .increment(1);
                    tracing::warn!(model, attempt, attempts, "LLM call failed: {why}");
                    last = why;
                    if attempt < attempts {
                        let wait = backoff.next_delay();
                        tokio::time::sleep(after.unwrap_or(wait).max(wait).min(MAX_BACKOFF)).await;
                    }
                }
            }
        }
        Err(LlmError::Unavailable { attempts, last })
    }

    async fn call(&self, body: &Value) -> Result<String, Attempt> {
        let mut request = self.http.post(&self.config.endpoint).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| Attempt::Retry {
            why: transport(&e),
            after: None,
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| Attempt::Retry {
            why: transport(&e),
            after: None,
        })?;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Attempt::Retry {
                why: format!("{status}: {}", clip(&text)),
                after: retry_after,
            });
        }
        if !status.is_success() {
            return Err(Attempt::Fail(LlmError::Rejected {
                status: status.as_u16(),
                body: clip(&text),
            }));
        }
        // Only `choices` becomes a `Value`: the rest of the answer (id, usage, …) is
        // skipped, not built and dropped.
        serde_json::from_str::<Completion>(&text)
            .ok()
            .and_then(|c| {
                c.choices
                    .first()
                    .and_then(|first| first["message"]["content"].as_str())
                    .map(str::to_owned)
            })
            .ok_or_else(|| Attempt::Fail(LlmError::BadReply { body: clip(&text) }))
    }
}

/// The part of a chat-completions answer the reply is read from.
#[derive(serde::Deserialize)]
struct Completion {
    choices: Vec<Value>,
}

/// A transport error in words: timeout, connection, or what reqwest says.
fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("cannot connect: {}", chain(e))
    } else {
        chain(e).to_string()
    }
}

/// The first 300 characters of a body, for messages.
fn clip(text: &str) -> String {
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
