//! Reading a child's output: concurrently, into capped log files, with a live observer.
//!
//! Both streams are read at once (one task joins the two [`Sink::pump`]s) in
//! fixed-size chunks as they come, so a child never blocks on a full pipe and bosun's
//! memory does not grow with what a job prints.
//! Each log keeps the start and the end of its stream under a cap (see the `capped`
//! module): past the cap, the middle is left out and a marker line says how much
//! (everything is still shown to the observer). The last few KiB of standard error are
//! kept for failure messages. Bytes are bytes: non-UTF-8 output is logged unchanged.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::capped::CappedLog;
use crate::outcome::StreamStats;
use crate::supervise::RunOptions;

/// Which of the child's streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Sees every chunk of output as it is read, before any cap applies.
pub type Observer = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

/// How much of standard error is kept for messages.
pub(crate) const TAIL_BYTES: usize = 4096;
const CHUNK: usize = 64 * 1024;

/// Where one stream's bytes go: its log file (created on the first call to
/// [`Sink::pump`]), its cap, and the observer.
pub(crate) struct Sink {
    stream: Stream,
    log_path: PathBuf,
    limit: u64,
    append: bool,
    observer: Option<Observer>,
}

impl Sink {
    pub(crate) fn new(stream: Stream, log_path: &Path, options: &RunOptions) -> Self {
        Self {
            stream,
            log_path: log_path.to_owned(),
            limit: options.log_limit,
            append: options.append_logs,
            observer: options.observer.clone(),
        }
    }

    /// Creates the log file and copies `reader` into it until end of file. Returns
    /// the stream's figures and the last [`TAIL_BYTES`] bytes read. A file that
    /// cannot be created or written is noted in the figures; reading goes on, so the
    /// child never blocks on a full pipe.
    pub(crate) async fn pump<R: AsyncRead + Unpin>(self, mut reader: R) -> (StreamStats, Vec<u8>) {
        let Self {
            stream,
            log_path,
            limit,
            append,
            observer,
        } = self;
        let mut stats = StreamStats::default();
        let mut log = CappedLog::create(&log_path, limit, append)
            .map_err(|e| {
                stats.log_error = Some(format!(
                    "could not create log file {}: {e}",
                    log_path.display()
                ));
            })
            .ok();
        let mut buf = vec![0u8; CHUNK];
        let mut tail: VecDeque<u8> = VecDeque::with_capacity(TAIL_BYTES);
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let chunk = &buf[..n];
            stats.bytes += n as u64;
            if let Some(observer) = &observer {
                observer(stream, chunk);
            }
            if tail.len() + n > TAIL_BYTES {
                let excess = (tail.len() + n - TAIL_BYTES).min(tail.len());
                tail.drain(..excess);
            }
            tail.extend(&chunk[n.saturating_sub(TAIL_BYTES)..]);

            if let Some(file) = log.as_mut()
                && let Err(e) = file.write(chunk)
            {
                stats.log_error = Some(format!("writing {}: {e}", log_path.display()));
                log = None;
            }
        }
        if let Some(log) = log {
            match log.finish() {
                Ok(omitted) => stats.truncated = omitted > 0,
                Err(e) => stats.log_error = Some(format!("writing {}: {e}", log_path.display())),
            }
        }
        (stats, tail.into_iter().collect())
    }
}
