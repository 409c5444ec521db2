//! A fake OpenAI chat-completions endpoint on `127.0.0.1:0`, for tests of `bosun
//! worker`: it answers with a reply made from the request (so a test can check the
//! model, `max_tokens` and content that were sent), waits as long as it is told, fails
//! as it is scripted to, can hold every call until released, and counts calls and the
//! most it had at once, per model and in all.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What one call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with [`echo`] of the request as the reply.
    Echo,
    /// This status with an error body; a 429 comes with `Retry-After: 0`.
    Status(u16),
    /// 200 without `choices`.
    NoChoices,
}

/// An answer, after a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// How long the call takes.
    pub delay: Duration,
    /// What it answers.
    pub answer: Answer,
}

impl Step {
    /// A reply at once.
    pub fn echo() -> Self {
        Self {
            delay: Duration::ZERO,
            answer: Answer::Echo,
        }
    }

    /// `status` at once.
    pub fn status(status: u16) -> Self {
        Self {
            delay: Duration::ZERO,
            answer: Answer::Status(status),
        }
    }

    /// The same, after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

/// One call, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `model`.
    pub model: String,
    /// `max_tokens`.
    pub max_tokens: Option<u64>,
    /// The user message's content.
    pub content: String,
    /// The whole body.
    pub body: Value,
    /// When the handler got it (its body read and parsed).
    pub received: Instant,
}

/// The reply text for a call: `{"model", "max_tokens", "content"}` as JSON.
pub fn echo(call: &Call) -> String {
    json!({
        "model": call.model,
        "max_tokens": call.max_tokens,
        "content": call.content,
    })
    .to_string()
}

/// Steps for the calls whose content holds `key`.
struct Rule {
    key: String,
    steps: VecDeque<Step>,
    /// After `steps`: this, for good (else the default).
    then: Option<Step>,
}

#[derive(Default)]
struct Counts {
    now: HashMap<String, usize>,
    peak: HashMap<String, usize>,
    now_all: usize,
    peak_all: usize,
}

struct Inner {
    delay: Mutex<Duration>,
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<Vec<Call>>,
    counts: Mutex<Counts>,
    /// True while calls are held.
    held: tokio::sync::watch::Sender<bool>,
    /// How many calls there were, for [`FakeLlm::wait_for_calls`].
    count: tokio::sync::watch::Sender<usize>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A call in flight; counted out when dropped (also when the client goes away).
struct InFlight {
    inner: Arc<Inner>,
    model: String,
}

impl InFlight {
    fn new(inner: Arc<Inner>, model: String) -> Self {
        {
            let mut counts = lock(&inner.counts);
            let now = counts.now.entry(model.clone()).or_default();
            *now += 1;
            let now = *now;
            let peak = counts.peak.entry(model.clone()).or_default();
            *peak = (*peak).max(now);
            counts.now_all += 1;
            counts.peak_all = counts.peak_all.max(counts.now_all);
        }
        Self { inner, model }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = lock(&self.inner.counts);
        if let Some(now) = counts.now.get_mut(&self.model) {
            *now -= 1;
        }
        counts.now_all -= 1;
    }
}

/// The running fake; stopped when dropped.
pub struct FakeLlm {
    url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn complete(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> Response {
    let received = Instant::now();
    let call = Call {
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        max_tokens: body["max_tokens"].as_u64(),
        content: body["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body: body.clone(),
        received,
    };
    let _in_flight = InFlight::new(inner.clone(), call.model.clone());
    let count = {
        let mut calls = lock(&inner.calls);
        calls.push(call.clone());
        calls.len()
    };
    inner.count.send_replace(count);
    let step = {
        let mut rules = lock(&inner.rules);
        rules
            .iter_mut()
            .find(|r| call.content.contains(&r.key))
            .and_then(|r| r.steps.pop_front().or(r.then))
    }
    .unwrap_or(Step {
        delay: *lock(&inner.delay),
        answer: Answer::Echo,
    });
    let mut held = inner.held.subscribe();
    let _ = held.wait_for(|held| !held).await;
    tokio::time::sleep(step.delay).await;
    match step.answer {
        Answer::Echo => Json(json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": call.model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": echo(&call) },
                "finish_reason": "stop",
            }],
            "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2 },
        }))
        .into_response(),
        Answer::NoChoices => Json(json!({ "id": "chatcmpl-fake", "choices": [] })).into_response(),
        Answer::Status(status) => {
            let status =
                StatusCode::from_u16(status).expect("a scripted status is a valid HTTP status");
            let body = json!({ "error": { "message": format!("the fake says {status}") } });
            let mut response = (status, Json(body)).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
            }
            response
        }
    }
}

impl FakeLlm {
    /// Listens on a free loopback port; answers every call at once with its echo.
    pub async fn start() -> Self {
        let inner = Arc::new(Inner {
            delay: Mutex::new(Duration::ZERO),
            rules: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            counts: Mutex::new(Counts::default()),
            held: tokio::sync::watch::Sender::new(false),
            count: tokio::sync::watch::Sender::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port can be bound");
        let addr: SocketAddr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake LLM serves until aborted");
        });
        Self {
            url: format!("http://{addr}/v1/chat/completions"),
            inner,
            server,
        }
    }

    /// The chat-completions URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How long unscripted calls take.
    pub fn set_delay(&self, delay: Duration) {
        *lock(&self.inner.delay) = delay;
    }

    /// Calls whose content holds `key` get `steps`, one each, then the default.
    pub fn script(&self, key: &str, steps: impl IntoIterator<Item = Step>) {
        self.rule(key, steps.into_iter().collect(), None);
    }

    /// Calls whose content holds `key` all get `step`.
    pub fn always(&self, key: &str, step: Step) {
        self.rule(key, VecDeque::new(), Some(step));
    }

    fn rule(&self, key: &str, steps: VecDeque<Step>, then: Option<Step>) {
        lock(&self.inner.rules).push(Rule {
            key: key.to_owned(),
            steps,
            then,
        });
    }

    /// Holds every call, new and running, until [`FakeLlm::release`].
    pub fn hold(&self) {
        self.inner.held.send_replace(true);
    }

    /// Lets held calls go on.
    pub fn release(&self) {
        self.inner.held.send_replace(false);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }

    /// How many calls there were.
    pub fn call_count(&self) -> usize {
        lock(&self.inner.calls).len()
    }

    /// The `n`-th call (from 0), if there was one.
    pub fn call(&self, n: usize) -> Option<Call> {
        lock(&self.inner.calls).get(n).cloned()
    }

    /// Waits until there have been at least `n` calls.
    pub async fn wait_for_calls(&self, n: usize) {
        let mut count = self.inner.count.subscribe();
        // The sender lives in `inner`, which `self` holds: it cannot be dropped here.
        let _ = count.wait_for(|count| *count >= n).await;
    }

    /// How many calls had content holding `key`.
    pub fn calls_with(&self, key: &str) -> usize {
        lock(&self.inner.calls)
            .iter()
            .filter(|c| c.content.contains(key))
            .count()
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.counts).now_all
    }

    /// The most calls to `model` in flight at once.
    pub fn peak(&self, model: &str) -> usize {
        lock(&self.inner.counts)
            .peak
            .get(model)
            .copied()
            .unwrap_or(0)
    }

    /// The most calls in flight at once, to any model.
    pub fn peak_all(&self) -> usize {
        lock(&self.inner.counts).peak_all
    }
}
