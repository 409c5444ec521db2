//! The exit codes of `bosun`, in one place so that docs and code agree.
//!
//! `bosun run`: 0 success, 1 the job failed, 2 bad invocation or job file, 3 the job
//! could not be started (command, working directory, Python environment), 124 timed
//! out, 130 cancelled, 99 an unexpected error in bosun itself.
//! `bosun exec` keeps seed 001's codes; `bosun queue` seed 000's (see their modules).

use bosun_exec::Outcome;

/// The job completed successfully.
pub(crate) const SUCCESS: u8 = 0;
/// The job ran and failed: non-zero exit, killed by a signal, or a startup failure.
pub(crate) const FAILED: u8 = 1;
/// The command line or the job file is wrong; nothing was run.
pub(crate) const USAGE: u8 = 2;
/// The job could not be started.
pub(crate) const NOT_STARTED: u8 = 3;
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
