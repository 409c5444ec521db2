//! `bosun logs ID`: an execution's stdout or stderr as it was written, its last lines,
//! or live (`-f`) over Server-Sent Events until the execution ends.

use std::io::Write;

use anyhow::Result;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::ACCEPT;

use super::sse::Parser;
use super::{Client, ClientError};
use crate::cli::LogsArgs;
use crate::exit;

/// Which of the job's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Its standard output.
    Stdout,
    /// Its standard error.
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Prints the log, or follows it.
pub(crate) async fn logs(args: LogsArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let stream = if args.stderr {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    if args.follow {
        let status = follow(&client, &args.id, stream, std::io::stdout()).await?;
        return match status {
            Some(status) => {
                eprintln!("bosun: {} ended: {status}", args.id);
                Ok(exit::SUCCESS)
            }
            None => Err(closed_early(&client).into()),
        };
    }
    let mut request = client
        .stream_request(Method::GET, &["api", "executions", &args.id, "logs"])
        .query(&[("stream", stream.as_str())]);
    if let Some(lines) = args.tail {
        request = request.query(&[("tail", lines)]);
    }
    let response = client.send(request).await?;
    let mut body = response.bytes_stream();
    let mut out = std::io::stdout();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| client.transport(e))?;
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// Writes an execution's log to `out` as it grows, until the server's `end` event.
/// Returns the final status it names, or `None` when the stream closed before that
/// (the server stopped, or the connection broke).
pub(crate) async fn follow(
    client: &Client,
    id: &str,
    stream: Stream,
    mut out: impl Write,
) -> Result<Option<String>> {
    let request = client
        .stream_request(Method::GET, &["api", "executions", id, "logs", "follow"])
        .query(&[("stream", stream.as_str())])
        .header(ACCEPT, "text/event-stream");
    let response = client.send(request).await?;
    let mut body = response.bytes_stream();
    let mut parser = Parser::new();
    let mut events = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                tracing::debug!("the log stream broke: {e:?}");
                return Ok(None);
            }
        };
        parser.feed(&chunk, &mut events);
        for event in events.drain(..) {
            match event.name.as_str() {
                // The text as the job wrote it, `\r`s and all, as a JSON string.
                "log" => {
                    let text: String = serde_json::from_str(&event.data).map_err(|e| {
                        std::io::Error::other(format!(
                            "the server sent a log event that is not a JSON string: {e}"
                        ))
                    })?;
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                }
                "end" => return Ok(Some(event.data.trim().to_owned())),
                _ => {}
            }
        }
    }
    Ok(None)
}

/// The error for a log stream that closed before its execution ended.
pub(crate) fn closed_early(client: &Client) -> ClientError {
    ClientError::Unreachable {
        url: client.display_url(),
        refused: false,
        detail: "the log stream closed before the execution ended (did the server stop?)"
            .to_owned(),
    }
}
