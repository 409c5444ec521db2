//! Errors of bosun-sched: a schedule or a file trigger that cannot be used.
//!
//! Each message is one line that names the offending input and says how to fix it, so
//! the server can hand it to the user unchanged when a job definition is rejected.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bosun_core::PathIoError;

/// A schedule could not be built from what the user wrote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("invalid cron expression {expr:?}: {problem}")]
    Cron {
        /// The expression as the user wrote it.
        expr: String,
        /// What is wrong and what is allowed, e.g. `minute must be 0-59, got "61"`.
        problem: String,
    },
    /// The cron expression parses but no instant can ever match it (`0 0 30 2 *`).
    #[error(
        "cron expression {expr:?} never fires: no date matches it; check the day of month against the month"
    )]
    NeverFires {
        /// The expression as the user wrote it.
        expr: String,
    },
    /// The time zone is not an IANA name known to the built-in tz database.
    #[error("unknown time zone {name:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    UnknownTimeZone {
        /// The name as the user wrote it.
        name: String,
    },
    /// The interval text is not a duration.
    #[error(
        "invalid interval {text:?}: {problem}; write a duration such as \"30s\", \"5m\" or \"1h30m\""
    )]
    Interval {
        /// The text as the user wrote it.
        text: String,
        /// The duration parser's complaint.
        problem: String,
    },
    /// The interval is below the one-second resolution bosun schedules at.
    #[error(
        "interval {} is too short: use at least 1s",
        humantime::format_duration(*.interval)
    )]
    IntervalTooShort {
        /// The interval that was asked for.
        interval: Duration,
    },
}

/// A file trigger could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The directory to watch does not exist.
    #[error("watch directory {path} does not exist: create it or correct the trigger's directory")]
    MissingDirectory {
        /// The directory as given in the trigger.
        path: PathBuf,
    },
    /// The path to watch exists but is not a directory.
    #[error(
        "watch path {path} is not a directory: point the trigger at the directory files arrive in"
    )]
    NotADirectory {
        /// The path as given in the trigger.
        path: PathBuf,
    },
    /// The glob does not parse.
    #[error("invalid glob {glob:?}")]
    Glob {
        /// The glob as the user wrote it.
        glob: String,
        /// globset's complaint.
        #[source]
        source: globset::Error,
    },
    /// A filesystem operation on the watched tree failed.
    #[error(transparent)]
    Io(#[from] PathIoError),
    /// The watched directory was removed or renamed while it was watched.
    #[error("watch directory {path} was removed or renamed: it is watched again once it is back")]
    DirectoryGone {
        /// The directory that was watched (canonical).
        path: PathBuf,
    },
    /// The kernel's queue of file events overflowed, so arrivals may have been lost.
    #[error(
        "the watch on {path} lost events (the kernel's event queue overflowed): it is watched and scanned again"
    )]
    Overflow {
        /// The directory being watched (canonical).
        path: PathBuf,
    },
    /// The operating system refused the watch or failed it later (for example the
    /// inotify watch limit).
    #[error("could not watch {path}")]
    Notify {
        /// The directory being watched.
        path: PathBuf,
        /// notify's error, which names the limit or permission that failed.
        #[source]
        source: notify::Error,
    },
}

impl WatchError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(
        about: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        PathIoError::maker(about, path)
    }
}
