//! Reading a child's output: concurrently, into capped log files, with a live observer.
//!
//! Each stream has its own task that reads fixed-size chunks as they come, so a child
//! never blocks on a full pipe and bosun's memory does not grow with what a job prints.
//! Bytes go to the log file until it reaches its cap; then a marker line is written and
//! the rest is counted and dropped (still shown to the observer). The last few KiB of
//! standard error are kept for failure messages. Bytes are bytes: non-UTF-8 output is
//! logged unchanged.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::outcome::StreamStats;

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

/// Copies `reader` into `log` until end of file. Returns the stream's figures and the
/// last [`TAIL_BYTES`] bytes read.
pub(crate) async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    stream: Stream,
    mut log: File,
    log_path: PathBuf,
    limit: u64,
    observer: Option<Observer>,
) -> (StreamStats, Vec<u8>) {
    let mut buf = vec![0u8; CHUNK];
    let mut tail: VecDeque<u8> = VecDeque::with_capacity(TAIL_BYTES);
    let mut stats = StreamStats {
        bytes: 0,
        truncated: false,
        log_error: None,
    };
    let mut written: u64 = 0;
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

        if stats.truncated || stats.log_error.is_some() {
            continue;
        }
        let room = limit.saturating_sub(written);
        let take = (n as u64).min(room) as usize;
        let mut result = log.write_all(&chunk[..take]);
        written += take as u64;
        if take < n && result.is_ok() {
            stats.truncated = true;
            result = writeln!(
                log,
                "\n[bosun] this log reached its limit of {limit} bytes; further output is not kept"
            );
        }
        if let Err(e) = result {
            stats.log_error = Some(format!("writing {}: {e}", log_path.display()));
        }
    }
    if stats.truncated {
        let dropped = stats.bytes - written;
        let _ = writeln!(
            log,
            "[bosun] {dropped} bytes of output were dropped after the limit"
        );
    }
    (stats, tail.into_iter().collect())
}
