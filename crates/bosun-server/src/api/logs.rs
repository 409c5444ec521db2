//! An execution's logs: the tail as text, or a live follow as Server-Sent Events.
//!
//! Both read the log files, never a copy in memory: `tail` reads from the end, and
//! `follow` reads on from where it was each time the runner says bytes arrived. A
//! follower gets `event: log` messages (the text as one JSON string, so carriage
//! returns and CRLF arrive as written) and, once the execution has ended and its log
//! is read to the end, one `event: end` whose data is the final status. A bot whose
//! environment is being built is followed from the build's first line, before it
//! starts. Past its cap, a log's tail (after the marker line) is appended only when the
//! job's output ends.

use std::io::SeekFrom;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bosun_core::wire::ErrorBody;
use bosun_exec::Stream;
use futures_util::stream::{self, Stream as FuturesStream};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ServerError};
use crate::state::AppState;
use bosun_core::{Action, ExecutionStatus, Resource};

/// The query of both log routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct LogQuery {
    /// `stdout` (the default) or `stderr`.
    stream: Option<String>,
    /// Only the last N lines (the text route only).
    tail: Option<usize>,
}

fn which(query: &LogQuery) -> Result<Stream, ApiError> {
    match query.stream.as_deref() {
        None | Some("stdout") | Some("output") => Ok(Stream::Stdout),
        Some("stderr") | Some("error") => Ok(Stream::Stderr),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown stream {other:?}: use stdout or stderr"
        ))),
    }
}

/// What both routes check first, in this order: the caller may view executions, the
/// stream is one there is, and the execution is the caller's.
async fn target(
    state: &AppState,
    caller: &Caller,
    id: &str,
    query: &LogQuery,
) -> Result<(bosun_store::Execution, Stream), ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let stream = which(query)?;
    let execution = super::executions::found(state, caller, id).await?;
    Ok((execution, stream))
}

/// The most bytes `tail` looks back through for its lines.
const TAIL_WINDOW: u64 = 4 * 1024 * 1024;

/// The log as text (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions/{id}/logs",
    operation_id = "logs_tail",
    tag = "executions",
    params(("id" = String, Path), LogQuery),
    responses(
        (status = 200, description = "the log, empty before there is one", body = String, content_type = "text/plain"),
        (status = 400, description = "an unknown stream", body = ErrorBody),
        (status = 404, description = "no such execution", body = ErrorBody),
    )
)]
pub(super) async fn tail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Response, ApiError> {
    let (execution, stream) = target(&state, &caller, &id, &query).await?;
    let Some(path) = log_path(&execution, stream) else {
        return Ok(text(Body::empty()));
    };
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(text(Body::empty())),
        Err(e) => return Err(ServerError::io("open the log", path)(e).into()),
    };
    match query.tail {
        None => Ok(text(Body::from_stream(tokio_util::io::ReaderStream::new(
            file,
        )))),
        Some(lines) => {
            let read = |e| ServerError::io("read the log", &path)(e);
            let len = file.metadata().await.map_err(read)?.len();
            let start = len.saturating_sub(TAIL_WINDOW);
            file.seek(SeekFrom::Start(start)).await.map_err(read)?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).await.map_err(read)?;
            Ok(text(Body::from(last_lines(&bytes, lines).to_vec())))
        }
    }
}

fn text(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn log_path(execution: &bosun_store::Execution, stream: Stream) -> Option<String> {
    match stream {
        Stream::Stdout => execution.output_log.clone(),
        Stream::Stderr => execution.error_log.clone(),
    }
}

/// The last `n` lines of `bytes` (a final line without a newline counts).
fn last_lines(bytes: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &bytes[i + 1..];
            }
        }
    }
    bytes
}

/// Where a follower is.
struct Follow {
    state: AppState,
    tenant: String,
    id: String,
    stream: Stream,
    /// The log file, once the job has started and recorded it.
    path: Option<String>,
    /// Opened on the first read that finds it: the runner creates it while the job
    /// starts, so it may not exist yet when the job is first seen running.
    file: Option<tokio::fs::File>,
    /// Bytes of a UTF-8 sequence split by a read, kept for the next one.
    carry: Vec<u8>,
    /// Told when the job writes; `None` once it has ended.
    written: Option<watch::Receiver<u64>>,
    started: bool,
    done: bool,
}

/// Follow the log as Server-Sent Events: `log` events whose data is the new output as a JSON string (carriage returns and line ends as written), then one `end` event with the final status (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions/{id}/logs/follow",
    operation_id = "logs_follow",
    tag = "executions",
    params(("id" = String, Path), LogQuery),
    responses(
        (status = 200, description = "the event stream", body = String, content_type = "text/event-stream"),
        (status = 400, description = "an unknown stream", body = ErrorBody),
        (status = 404, description = "no such execution", body = ErrorBody),
    )
)]
pub(super) async fn follow(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Sse<impl FuturesStream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let (execution, stream) = target(&state, &caller, &id, &query).await?;
    let follow = Follow {
        written: state
            .runner
            .follow(&execution.id, stream)
            .or_else(|| state.fleet.follow(&execution.id, stream)),
        state,
        tenant: caller.tenant.id,
        id: execution.id,
        stream,
        path: None,
        file: None,
        carry: Vec::new(),
        started: false,
        done: false,
    };
    let events = stream::unfold(follow, |mut f| async move {
        let event = f.next_event().await?;
        Some((Ok(event), f))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

impl Follow {
    /// The next event; `None` after `end`. The store is read only to see the job
    /// start and, once nothing is left to read and no writer is left, to see it end:
    /// never once per chunk.
    async fn next_event(&mut self) -> Option<Event> {
        const CHUNK: usize = 64 * 1024;
        while !self.done {
            if !self.started {
                let execution = match self.execution().await {
                    Some(e) => e,
                    None => return Some(self.end("Unknown")),
                };
                let path = if execution.status == ExecutionStatus::Pending {
                    // Not started yet: its environment's build may write the log already.
                    match self.state.runner.early_log(&self.id, self.stream) {
                        Some(path) => Some(path.to_string_lossy().into_owned()),
                        None => {
                            // No log to follow yet: look again shortly.
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            continue;
                        }
                    }
                } else {
                    log_path(&execution, self.stream)
                };
                self.started = true;
                if self.written.is_none() {
                    self.written = self
                        .state
                        .runner
                        .follow(&self.id, self.stream)
                        .or_else(|| self.state.fleet.follow(&self.id, self.stream));
                }
                self.path = path;
            }
            if let Some(text) = self.read(CHUNK).await {
                // As a JSON string: SSE data cannot hold a `\r`, which a receiver
                // would take for a line end (progress bars and CRLF output).
                let quoted = serde_json::Value::String(text).to_string();
                return Some(Event::default().event("log").data(quoted));
            }
            // At the end of what is written: wait for more, or end with the job.
            match &mut self.written {
                Some(rx) => {
                    if rx.changed().await.is_err() {
                        self.written = None;
                    }
                }
                None => match self.execution().await {
                    None => return Some(self.end("Unknown")),
                    Some(e) if e.is_finished() => return Some(self.end(e.status.as_str())),
                    // Running but not on this server's runner (adopted, or on an
                    // agent whose output has not arrived yet): look again.
                    Some(_) => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        self.written = self.state.fleet.follow(&self.id, self.stream);
                    }
                },
            }
        }
        None
    }

    async fn execution(&self) -> Option<bosun_store::Execution> {
        self.state
            .store
            .execution(&self.tenant, &self.id)
            .await
            .ok()
            .flatten()
    }

    fn end(&mut self, status: &str) -> Event {
        self.done = true;
        Event::default().event("end").data(status)
    }

    /// Up to `chunk` more bytes of the log as text, holding back a UTF-8 sequence
    /// split by the read; `None` at the end of what is written so far.
    async fn read(&mut self, chunk: usize) -> Option<String> {
        if self.file.is_none() {
            self.file = tokio::fs::File::open(self.path.as_ref()?).await.ok();
        }
        let file = self.file.as_mut()?;
        let mut buf = vec![0u8; chunk];
        let n = file.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.truncate(n);
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(&buf);
        let valid = match std::str::from_utf8(&bytes) {
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            _ => bytes.len(),
        };
        self.carry = bytes.split_off(valid);
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn the_tail_is_the_last_lines_with_or_without_a_final_newline() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\n", 0), b"");
    }
}
