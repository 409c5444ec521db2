//! The exit codes of `bosun`, in one place so that docs and code agree.
//!
//! `bosun run`: 0 success, 1 the job failed, 2 bad invocation or job file, 3 the job
//! could not be started (command, working directory, Python environment), 124 timed
//! out, 130 cancelled, 99 an unexpected error in bosun itself.
//! `bosun exec` keeps seed 001's codes; `bosun queue` seed 000's (see their modules).
//!
//! The client commands (`jobs`, `submit`, `ps`, `logs`, `cancel`, `history`, `stuck`):
//! 0 success, 2 bad invocation or no token, 4 the server answered with an error (its
//! message is printed), 5 no server could be reached; `submit --wait` and `--follow`
//! then exit like `bosun run` does for the execution's final status.
//!
//! `bosun up`: 0 stopped, 2 a bad flag or setting (an S3 key missing from the
//! environment, …), 6 the data directory is in use by another `bosun up` (nothing was
//! touched), 130 stopped at once by a second signal, 99 it could not start or failed.
//!
//! `bosun agent`: 0 stopped cleanly (with `--once`: the execution's code, as `bosun
//! run` gives it), 2 bad settings, 5 the server was not reached within `--once-wait`,
//! 6 another agent uses the data directory, 7 the server refused the machine key.

use bosun_core::ExecutionStatus;
use bosun_exec::Outcome;

/// The job completed successfully.
pub(crate) const SUCCESS: u8 = 0;
/// The job ran and failed: non-zero exit, killed by a signal, or a startup failure.
pub(crate) const FAILED: u8 = 1;
/// The command line or the job file is wrong; nothing was run.
pub(crate) const USAGE: u8 = 2;
/// The job could not be started.
pub(crate) const NOT_STARTED: u8 = 3;
/// The server answered with an error (4xx or 5xx): the request was refused or failed.
pub(crate) const SERVER_SAID_NO: u8 = 4;
/// No server answered at the URL: nothing listens there, or it did not answer in time.
pub(crate) const UNREACHABLE: u8 = 5;
/// `bosun up`: another `bosun up` holds the data directory; nothing was touched.
pub(crate) const HOME_IN_USE: u8 = 6;
/// `bosun agent`: the server refused the machine key (HTTP 401).
pub(crate) const KEY_REFUSED: u8 = 7;
/// The job ran past its timeout and was stopped.
pub(crate) const TIMED_OUT: u8 = 124;
/// The job was cancelled (Ctrl-C, SIGTERM).
pub(crate) const CANCELLED: u8 = 130;
/// bosun itself failed unexpectedly.
pub(crate) const INTERNAL: u8 = 99;

/// The `bosun run` exit code for an outcome.
pub(crate) fn for_outcome(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Exited(0) => SUCCESS,
        Outcome::Exited(_) | Outcome::Signalled(_) | Outcome::StartupFailed { .. } => FAILED,
        Outcome::TimedOut(_) => TIMED_OUT,
        Outcome::Cancelled => CANCELLED,
        Outcome::SpawnFailed(_) => NOT_STARTED,
    }
}

/// The exit code for an execution's final status, the same as `bosun run` gives for the
/// outcome that led to it (`submit --wait`). A status still in progress is not final:
/// `None`.
pub(crate) fn for_status(status: ExecutionStatus) -> Option<u8> {
    match status {
        ExecutionStatus::Pending | ExecutionStatus::Running => None,
        ExecutionStatus::CompletedSuccessfully => Some(SUCCESS),
        ExecutionStatus::Failed => Some(FAILED),
        ExecutionStatus::TimedOut => Some(TIMED_OUT),
        ExecutionStatus::Cancelled => Some(CANCELLED),
    }
}
