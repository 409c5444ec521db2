//! The progress line of a long upload, on stderr: what is being sent, how much of it,
//! and how fast. Redrawn in place at most ten times a second and erased at the end,
//! so that what stays on the terminal is the command's result. Shown only when
//! stderr is a terminal: in a pipe or a log file a redrawn line is noise.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The least time between two redraws.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// True when stderr is a terminal a line can be redrawn on.
pub(super) fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress line; clones share it. A hidden one counts nothing and draws nothing.
#[derive(Clone)]
pub(super) struct Progress(Option<Arc<Mutex<Line>>>);

struct Line {
    label: String,
    total: u64,
    sent: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// A line for sending `total` bytes, labelled `label`; drawn only if `shown`.
    pub(super) fn new(label: String, total: u64, shown: bool) -> Self {
        Self(shown.then(|| {
            Arc::new(Mutex::new(Line {
                label,
                total,
                sent: 0,
                started: Instant::now(),
                drawn: None,
            }))
        }))
    }

    /// Counts `bytes` more as sent, and redraws if it is time to.
    pub(super) fn advance(&self, bytes: u64) {
        let Some(line) = &self.0 else { return };
        let mut line = line
            .lock()
            .expect("the progress line is never poisoned: drawing does not panic");
        line.sent = line.sent.saturating_add(bytes);
        let now = Instant::now();
        let due = line.sent >= line.total
            || line
                .drawn
                .is_none_or(|at| now.duration_since(at) >= REDRAW_EVERY);
        if due {
            line.drawn = Some(now);
            let text = render(
                &line.label,
                line.sent,
                line.total,
                now.duration_since(line.started),
            );
            // A closed terminal must not fail the upload: write errors are ignored.
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }

    /// Erases the line, if one was drawn.
    pub(super) fn finish(&self) {
        let Some(line) = &self.0 else { return };
        let line = line
            .lock()
            .expect("the progress line is never poisoned: drawing does not panic");
        if line.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `uploading scraper 2.1.0  12.0 MiB / 48.0 MiB  25%  8.0 MiB/s`.
fn render(label: &str, sent: u64, total: u64, elapsed: Duration) -> String {
    let percent = (sent.min(total) * 100).checked_div(total).unwrap_or(100);
    let mut text = format!(
        "{label}  {} / {}  {percent}%",
        super::size(sent.min(total)),
        super::size(total)
    );
    let secs = elapsed.as_secs_f64();
    if secs >= 0.5 {
        text.push_str(&format!("  {}/s", super::size((sent as f64 / secs) as u64)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_much_of_what_and_how_fast() {
        assert_eq!(
            render(
                "uploading scraper 2.1.0",
                12 << 20,
                48 << 20,
                Duration::from_secs(2)
            ),
            "uploading scraper 2.1.0  12.0 MiB / 48.0 MiB  25%  6.0 MiB/s"
        );
        // No rate before there is anything to measure it over.
        assert_eq!(
            render("uploading a 1.0.0", 0, 8 << 20, Duration::ZERO),
            "uploading a 1.0.0  0 B / 8.0 MiB  0%"
        );
        // A file that grew while it was sent does not go past 100%.
        assert!(render("x", 10, 5, Duration::ZERO).contains(" 5 B / 5 B  100%"));
        assert!(render("x", 0, 0, Duration::ZERO).ends_with("100%"));
    }
}
