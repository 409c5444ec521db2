//! The status lines a running job prints, told to people watching its tenant as
//! `ExecutionStatusUpdate` events (`Running`, the line as the message), at most one
//! per execution every [`EVERY`]: a job may print thousands of lines a second, and
//! every watcher's feed and page would pay for each. The latest line wins; the last
//! of a burst is told when its wait is over, or, if the output ends first, before the
//! run's end is told. Nothing is read from the store to tell them.

use std::time::Duration;

use tokio::time::Instant;

/// The shortest time between two status-line events of one execution.
pub(crate) const EVERY: Duration = Duration::from_millis(250);

/// What is due to be told of one execution's lines, and when.
#[derive(Debug)]
pub(crate) struct Throttle<T> {
    every: Duration,
    /// When the last one was told.
    last: Option<Instant>,
    /// The latest not yet told.
    held: Option<T>,
}

impl<T> Throttle<T> {
    /// Nothing told yet: the first line is told at once.
    pub(crate) fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            held: None,
        }
    }

    /// A new line at `now`: returned to be told now, or held (replacing any held
    /// before) until [`Throttle::due`].
    pub(crate) fn offer(&mut self, line: T, now: Instant) -> Option<T> {
        if self.last.is_some_and(|last| now < last + self.every) {
            self.held = Some(line);
            return None;
        }
        self.last = Some(now);
        self.held = None;
        Some(line)
    }

    /// When the held line is to be told; `None` when none is held.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.held.as_ref()?;
        self.last.map(|last| last + self.every)
    }

    /// The held line, if its time has come at `now`.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<T> {
        if self.due().is_none_or(|due| now < due) {
            return None;
        }
        self.last = Some(now);
        self.held.take()
    }

    /// The held line, whatever the time: the output ended.
    pub(crate) fn flush(&mut self) -> Option<T> {
        self.held.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_burst_tells_its_first_line_then_its_latest_once_the_wait_is_over() {
        let start = Instant::now();
        let mut lines = Throttle::new(250 * MS);
        assert_eq!(lines.offer("a", start), Some("a"));
        assert_eq!(lines.due(), None, "nothing is held");
        assert_eq!(lines.offer("b", start + 10 * MS), None);
        assert_eq!(lines.offer("c", start + 20 * MS), None);
        assert_eq!(lines.due(), Some(start + 250 * MS));
        assert_eq!(lines.take_due(start + 249 * MS), None, "not yet");
        assert_eq!(
            lines.take_due(start + 250 * MS),
            Some("c"),
            "the latest wins"
        );
        assert_eq!(lines.due(), None);
        // The wait starts again from that one.
        assert_eq!(lines.offer("d", start + 400 * MS), None);
        assert_eq!(lines.due(), Some(start + 500 * MS));
        // A line after a quiet spell is told at once, and drops what was held.
        assert_eq!(lines.offer("e", start + 600 * MS), Some("e"));
        assert_eq!(lines.flush(), None);
    }

    #[test]
    fn the_last_line_held_is_told_when_the_output_ends() {
        let start = Instant::now();
        let mut lines = Throttle::new(250 * MS);
        lines.offer(1, start);
        lines.offer(2, start + MS);
        assert_eq!(lines.flush(), Some(2));
        assert_eq!(lines.flush(), None);
    }
}
