//! The monitor's view of a running job: the status lines it prints.
//!
//! A job reports by printing lines of its own to standard output:
//!
//! ```text
//! ::status:: downloading invoices
//! ::progress:: 40
//! ```
//!
//! `::status::` sets the execution's status message (up to 500 characters);
//! `::progress::` sets its progress, a whole number 0–100 (a trailing `%` is allowed).
//! The lines stay in the log like any other. Only the latest of each is kept, so a
//! job that prints thousands of them costs one pending update, not thousands.

use tokio::sync::watch;

/// The latest report of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) status: Option<String>,
    pub(crate) progress: Option<i64>,
}

/// Longest line looked at; longer lines cannot be status lines and are skipped.
const MAX_LINE: usize = 4096;
const MAX_STATUS: usize = 500;

/// Assembles standard output into lines and picks out status lines.
pub(crate) struct LineScanner {
    partial: Vec<u8>,
    overflow: bool,
    reports: watch::Sender<Report>,
}

impl LineScanner {
    pub(crate) fn new(reports: watch::Sender<Report>) -> Self {
        Self {
            partial: Vec::new(),
            overflow: false,
            reports,
        }
    }

    /// Feeds one chunk of output.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(end);
            if !self.overflow {
                if self.partial.is_empty() {
                    self.line(line);
                } else {
                    let mut whole = std::mem::take(&mut self.partial);
                    whole.extend_from_slice(line);
                    self.line(&whole);
                }
            }
            self.partial.clear();
            self.overflow = false;
            rest = &tail[1..];
        }
        if !self.overflow {
            if self.partial.len() + rest.len() > MAX_LINE {
                self.partial.clear();
                self.overflow = true;
            } else {
                self.partial.extend_from_slice(rest);
            }
        }
    }

    fn line(&self, line: &[u8]) {
        let Ok(text) = std::str::from_utf8(line) else {
            return;
        };
        let text = text.trim_end_matches('\r');
        if let Some(status) = text.strip_prefix("::status::") {
            let status: String = status.trim().chars().take(MAX_STATUS).collect();
            self.reports.send_modify(|r| r.status = Some(status));
        } else if let Some(progress) = text.strip_prefix("::progress::") {
            let progress = progress.trim().trim_end_matches('%').trim();
            if let Ok(p) = progress.parse::<f64>() {
                let p = p.clamp(0.0, 100.0).round() as i64;
                self.reports.send_modify(|r| r.progress = Some(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_progress_lines_are_found_across_chunk_boundaries() {
        let (tx, rx) = watch::channel(Report::default());
        let mut scanner = LineScanner::new(tx);
        scanner.feed(b"hello\n::sta");
        scanner.feed(b"tus:: step one\r\n::progress:: 40%\nnot ::status:: this\n");
        assert_eq!(
            *rx.borrow(),
            Report {
                status: Some("step one".to_owned()),
                progress: Some(40)
            }
        );
        scanner.feed(b"::progress:: 250\n::progress:: soon\n");
        assert_eq!(rx.borrow().progress, Some(100));
    }

    #[test]
    fn an_endless_line_is_skipped_without_growing_memory() {
        let (tx, rx) = watch::channel(Report::default());
        let mut scanner = LineScanner::new(tx);
        scanner.feed(b"::status:: ");
        for _ in 0..1000 {
            scanner.feed(&[b'x'; 1024]);
        }
        assert!(scanner.partial.len() <= MAX_LINE);
        scanner.feed(b"\n::status:: ok\n");
        assert_eq!(rx.borrow().status.as_deref(), Some("ok"));
    }
}
