//! (g) The dashboard with a long history: how long its pages take to open with
//! 100,000 executions in the history, against an identical server whose history is
//! empty, and what open pages cost a server that is otherwise idle.
//!
//! A page open is what the browser asks for as it opens the page, one request after
//! another on keep-alive connections, each with the admin token as a Bearer header,
//! timed from sending the request to its answer's last byte; the open's time is the
//! sum. Every answer must be 2xx, or the bench fails naming the route. The overview
//! is [`FILES`] then [`OVERVIEW`]; the executions page is its first page, the next
//! one by the answer's `next` cursor, and a status filter ([`EXECUTIONS`]).
//!
//! An open page holds the live feed `GET /api/events` (server-sent events) after its
//! initial requests and reads it, as app.js does, until the bench closes it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Fallible;

/// The dashboard's files, in the order the page loads them: the page, its style and
/// its module scripts (the dashboard's `SCRIPTS` table).
pub(crate) const FILES: &[&str] = &[
    "/",
    "/ui/style.css",
    "/ui/app.js",
    "/ui/lib.js",
    "/ui/overview.js",
    "/ui/executions.js",
    "/ui/execution.js",
    "/ui/jobs.js",
    "/ui/fleet.js",
];

/// The overview's API requests, one after another (app.js asks for the first page
/// and the counts at once).
pub(crate) const OVERVIEW: &[&str] = &[
    "/api/me",
    "/api/executions/summary",
    "/api/executions/activity?window=hour",
    "/api/executions?limit=50",
];

/// The executions page: its first page (then the next one, by the first's cursor)
/// and a status filter that matches none of the bench's executions.
pub(crate) const EXECUTIONS: [&str; 2] = [
    "/api/executions?limit=50",
    "/api/executions?status=Failed&limit=50",
];

/// What app.js reads again once the feed is live: the first page and the counts.
const REFRESH: [&str; 2] = ["/api/executions?limit=50", "/api/executions/summary"];

/// The live feed an open page holds.
const FEED: &str = "/api/events";

/// The request for the executions page's second page, as the notes name it.
const NEXT_PAGE: &str = "/api/executions?limit=50&before=NEXT";

/// How long a request may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// One page in a browser: its keep-alive connections and the token it sends.
#[derive(Clone)]
pub(crate) struct Page {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// The times of a side's page opens, in seconds, in the order made.
#[derive(Default)]
pub(crate) struct Opens {
    /// Whole opens of the overview.
    pub(crate) overview: Vec<f64>,
    /// Whole opens of the executions page.
    pub(crate) executions: Vec<f64>,
    /// Each request's times, by the route asked for, in the order first asked.
    pub(crate) requests: Vec<(&'static str, Vec<f64>)>,
}

impl Opens {
    fn record(&mut self, route: &'static str, seconds: f64) {
        match self.requests.iter_mut().find(|(r, _)| *r == route) {
            Some((_, times)) => times.push(seconds),
            None => self.requests.push((route, vec![seconds])),
        }
    }
}

/// An open page's live feed, read by a task until the bench closes it.
pub(crate) struct Feed {
    task: JoinHandle<Fallible<FeedRead>>,
}

/// What a feed brought while it was open.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FeedRead {
    /// Keep-alive comments (`:` lines).
    pub(crate) comments: usize,
    /// Events (`event:` lines).
    pub(crate) events: usize,
}

impl Page {
    /// A page of the server at `url` that sends `token`.
    pub(crate) fn new(url: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(PATIENCE)
                .build()
                .expect("a client with a timeout and no TLS settings builds"),
            url: url.to_owned(),
            token: token.to_owned(),
        }
    }

    /// `GET path`: the time from sending it to the last byte of its 2xx answer, and
    /// the answer's body.
    async fn fetch(&self, path: &str) -> Fallible<(f64, Vec<u8>)> {
        let sent = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("GET {path}: reading the answer: {e}"))?;
        let seconds = sent.elapsed().as_secs_f64();
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body);
            return Err(format!("GET {path} answered {status}, not 2xx: {body}").into());
        }
        Ok((seconds, body.to_vec()))
    }

    /// Opens the overview: its files, then its API requests; the total time.
    async fn overview(&self, opens: &mut Opens) -> Fallible<f64> {
        let mut total = 0.0;
        for &path in FILES.iter().chain(OVERVIEW) {
            let (seconds, _) = self.fetch(path).await?;
            opens.record(path, seconds);
            total += seconds;
        }
        Ok(total)
    }

    /// Opens the executions page: the first page, the next one by its cursor, then
    /// the status filter; the total time. A history with no second page (the empty
    /// one) is asked for the page before the present, the same request.
    async fn executions(&self, opens: &mut Opens) -> Fallible<f64> {
        let [first, filtered] = EXECUTIONS;
        let (first_seconds, body) = self.fetch(first).await?;
        opens.record(first, first_seconds);
        let page: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| format!("GET {first}: the answer is not JSON: {e}"))?;
        let cursor = match page["next"].as_str() {
            Some(next) => next.to_owned(),
            None if page["items"]
                .as_array()
                .is_some_and(|items| items.len() < 50) =>
            {
                format!("{}_0", now_ms())
            }
            None => return Err(format!("GET {first}: a full page without a next cursor").into()),
        };
        let (next_seconds, _) = self.fetch(&format!("{first}&before={cursor}")).await?;
        opens.record(NEXT_PAGE, next_seconds);
        let (filtered_seconds, _) = self.fetch(filtered).await?;
        opens.record(filtered, filtered_seconds);
        Ok(first_seconds + next_seconds + filtered_seconds)
    }

    /// Opens the page as a browser does once logged in: the overview, its live feed
    /// (answered 200 with `text/event-stream`, then read by a task until `close` is
    /// cancelled), and the re-read app.js makes once the feed is live.
    pub(crate) async fn open(&self, close: CancellationToken) -> Fallible<Feed> {
        self.overview(&mut Opens::default()).await?;
        let response = self
            .http
            .get(format!("{}{FEED}", self.url))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            // The feed stays open for as long as the page does.
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .map_err(|e| format!("GET {FEED}: {e}"))?;
        let status = response.status();
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if !status.is_success() || !kind.starts_with("text/event-stream") {
            return Err(
                format!("GET {FEED} answered {status} ({kind:?}), not an event stream").into(),
            );
        }
        let task = tokio::spawn(read_feed(response, close));
        for path in REFRESH {
            self.fetch(path).await?;
        }
        Ok(Feed { task })
    }
}

impl Feed {
    /// What it brought, once closed; an error if it ended before.
    pub(crate) async fn closed(self) -> Fallible<FeedRead> {
        self.task.await?
    }
}

/// Reads `response`, an event stream, until `close` is cancelled; counts its
/// comments and events. The stream ending first is an error.
async fn read_feed(
    mut response: reqwest::Response,
    close: CancellationToken,
) -> Fallible<FeedRead> {
    let (mut read, mut line) = (FeedRead::default(), Vec::new());
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk.map_err(|e| format!("reading {FEED}: {e}"))?,
            () = close.cancelled() => return Ok(read),
        };
        let Some(chunk) = chunk else {
            return Err(format!("{FEED} ended while its page was open").into());
        };
        for &byte in chunk.iter() {
            if byte != b'\n' {
                line.push(byte);
                continue;
            }
            if line.starts_with(b":") {
                read.comments += 1;
            } else if line.starts_with(b"event:") {
                read.events += 1;
            }
            line.clear();
        }
    }
}

/// `n` opens of the overview and of the executions page, one after another, by `page`.
pub(crate) async fn opens(page: Page, n: usize) -> Fallible<Opens> {
    let mut opens = Opens::default();
    for _ in 0..n {
        let overview = page.overview(&mut opens).await?;
        opens.overview.push(overview);
        let executions = page.executions(&mut opens).await?;
        opens.executions.push(executions);
    }
    Ok(opens)
}

/// Opens `n` pages of the server at `url`, one after another, each with its own
/// connections; they stay open until `close` is cancelled.
pub(crate) async fn open_pages(
    url: String,
    token: String,
    n: usize,
    close: CancellationToken,
) -> Fallible<(Vec<Page>, Vec<Feed>)> {
    let (mut pages, mut feeds) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let page = Page::new(&url, &token);
        feeds.push(page.open(close.clone()).await?);
        pages.push(page);
    }
    Ok((pages, feeds))
}

/// Milliseconds since the Unix epoch, as a page cursor counts them.
fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis()
}
