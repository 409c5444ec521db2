//! When bosun's jobs fire.
//!
//! Three parts, all free of storage, HTTP and processes so the server can drive them and
//! tests can pin them with fixed instants and temporary directories:
//!
//! - [`schedule`]: a [`Schedule`] is a cron expression in an IANA time zone, or a fixed
//!   interval on a grid that does not drift; [`Schedule::next_after`] gives the next
//!   instant it fires.
//! - [`missed`]: after downtime, [`due`] says which scheduled instants to run now under a
//!   [`MissedPolicy`] (skip, run once, run all up to a cap) and which instant to store
//!   next. Storing that in the same transaction as the executions it starts is what lets
//!   a schedule survive a restart without firing twice.
//! - [`watch`](mod@watch): file triggers. [`watch()`] reports each file that arrives in
//!   a directory and matches a glob, once its writes have been quiet for a debounce;
//!   [`existing_matches`] lists those already there at start.
//!
//! Errors are [`ScheduleError`] and [`WatchError`], each a one-line message that names the
//! input at fault and how to fix it.

pub mod error;
pub mod missed;
pub mod schedule;
pub mod watch;

pub use error::{ScheduleError, WatchError};
pub use missed::{Due, MissedPolicy, ON_TIME_GRACE, due};
pub use schedule::{MIN_INTERVAL, Schedule};
pub use watch::{DEFAULT_DEBOUNCE, FileEvent, FileTrigger, check, existing_matches, watch};
