//! How a run ended, and the result object made from it.

use std::path::PathBuf;
use std::time::Duration;

use bosun_core::{ExecutionStatus, JobRunResult};
use chrono::{DateTime, Utc};

/// How a child ended. Data, not an error: every variant is a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited by itself with this code (after the startup window, or with 0).
    Exited(i32),
    /// The process was ended by this signal, not sent by bosun.
    Signalled(i32),
    /// The process ran past its timeout; bosun stopped its whole process group.
    TimedOut(Duration),
    /// bosun was asked to stop it and did.
    Cancelled,
    /// The process exited non-zero inside the startup window.
    StartupFailed {
        /// Its exit code (128 + n for a signal n).
        code: i32,
        /// The last lines it wrote to standard error.
        stderr_tail: String,
        /// The startup window it failed in.
        window: Duration,
    },
    /// The process could not be started; the text says why and names the culprit.
    SpawnFailed(String),
}

/// Figures for one output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes the child wrote.
    pub bytes: u64,
    /// True when the log reached its cap and the middle of the output was left out.
    pub truncated: bool,
    /// Set when the log file could not be written.
    pub log_error: Option<String>,
}

/// Everything known about a finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The child's pid, when one was started.
    pub pid: Option<u32>,
    /// When it was started.
    pub start_time: DateTime<Utc>,
    /// When bosun saw it and its whole process group gone.
    pub end_time: DateTime<Utc>,
    /// Standard output figures.
    pub stdout: StreamStats,
    /// Standard error figures.
    pub stderr: StreamStats,
    /// The last few KiB of standard error, lossily decoded.
    pub stderr_tail: String,
    /// Where standard output was written.
    pub output_log: PathBuf,
    /// Where standard error was written.
    pub error_log: PathBuf,
}

impl Outcome {
    /// The execution state this outcome ends in.
    pub fn status(&self) -> ExecutionStatus {
        match self {
            Self::Exited(0) => ExecutionStatus::CompletedSuccessfully,
            Self::TimedOut(_) => ExecutionStatus::TimedOut,
            Self::Cancelled => ExecutionStatus::Cancelled,
            _ => ExecutionStatus::Failed,
        }
    }

    /// The exit code to report: the process's own, 128 + n for a signal n, none when it
    /// never ran or bosun stopped it.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Self::Exited(code) | Self::StartupFailed { code, .. } => Some(*code),
            Self::Signalled(sig) => Some(128 + sig),
            _ => None,
        }
    }
}

impl RunReport {
    /// A report for a run that never started a process.
    pub fn not_started(outcome: Outcome, options: &crate::RunOptions) -> Self {
        let now = Utc::now();
        Self {
            outcome,
            pid: None,
            start_time: now,
            end_time: now,
            stdout: StreamStats::default(),
            stderr: StreamStats::default(),
            stderr_tail: String::new(),
            output_log: options.output_log.clone(),
            error_log: options.error_log.clone(),
        }
    }

    /// The seed 002 result object for this run.
    pub fn to_result(&self, job_name: &str) -> JobRunResult {
        let duration = (self.end_time - self.start_time)
            .to_std()
            .unwrap_or_default();
        let status = self.outcome.status();
        JobRunResult {
            job_name: job_name.to_owned(),
            success: status == ExecutionStatus::CompletedSuccessfully,
            status,
            exit_code: self.outcome.exit_code(),
            signal: match self.outcome {
                Outcome::Signalled(sig) => Some(sig),
                _ => None,
            },
            message: self.message(),
            start_time: self.start_time,
            end_time: self.end_time,
            duration,
            duration_ms: duration.as_millis() as u64,
            pid: self.pid,
            output_log: self.pid.map(|_| self.output_log.clone()),
            error_log: self.pid.map(|_| self.error_log.clone()),
        }
    }

    /// One sentence saying what happened.
    pub fn message(&self) -> String {
        let last_error_line = || {
            self.stderr_tail
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        };
        let mut message = match &self.outcome {
            Outcome::Exited(0) => "exited with code 0".to_owned(),
            Outcome::Exited(code) => format!("exited with code {code}{}", last_error_line()),
            Outcome::Signalled(sig) => format!("killed by signal {}", signal_name(*sig)),
            Outcome::TimedOut(after) => format!(
                "timed out after {} and was stopped with its process group",
                humanize(*after)
            ),
            Outcome::Cancelled => "cancelled; the process group was stopped".to_owned(),
            Outcome::StartupFailed {
                code,
                stderr_tail,
                window,
            } => {
                let tail = stderr_tail.trim();
                format!(
                    "startup failure: exited with code {code} within the {} startup window{}",
                    humanize(*window),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; stderr: {tail}")
                    }
                )
            }
            Outcome::SpawnFailed(why) => why.clone(),
        };
        for (name, stats) in [("output", &self.stdout), ("error", &self.stderr)] {
            if stats.truncated {
                message.push_str(&format!(
                    " ({name} log truncated at its size limit: its middle was left out)"
                ));
            }
            if let Some(e) = &stats.log_error {
                message.push_str(&format!(" ({name} log incomplete: {e})"));
            }
        }
        message
    }
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{}s", (secs * 1000.0).round() / 1000.0)
    } else {
        humantime_like(d)
    }
}

fn humantime_like(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => format!("{} ({sig})", s.as_str()),
        Err(_) => sig.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome) -> RunReport {
        let now = Utc::now();
        RunReport {
            outcome,
            pid: Some(7),
            start_time: now,
            end_time: now,
            stdout: StreamStats::default(),
            stderr: StreamStats::default(),
            stderr_tail: "warning\nValueError: bad input\n\n".into(),
            output_log: "o".into(),
            error_log: "e".into(),
        }
    }

    #[test]
    fn statuses_and_codes_follow_the_outcome() {
        let cases = [
            (
                Outcome::Exited(0),
                ExecutionStatus::CompletedSuccessfully,
                Some(0),
            ),
            (Outcome::Exited(3), ExecutionStatus::Failed, Some(3)),
            (Outcome::Signalled(9), ExecutionStatus::Failed, Some(137)),
            (
                Outcome::TimedOut(Duration::from_secs(2)),
                ExecutionStatus::TimedOut,
                None,
            ),
            (Outcome::Cancelled, ExecutionStatus::Cancelled, None),
            (
                Outcome::SpawnFailed("x".into()),
                ExecutionStatus::Failed,
                None,
            ),
        ];
        for (outcome, status, code) in cases {
            let result = report(outcome.clone()).to_result("job");
            assert_eq!(
                (result.status, result.exit_code),
                (status, code),
                "{outcome:?}"
            );
            assert_eq!(
                result.success,
                status == ExecutionStatus::CompletedSuccessfully
            );
        }
    }

    #[test]
    fn messages_say_what_happened() {
        assert_eq!(
            report(Outcome::Exited(2)).message(),
            "exited with code 2: ValueError: bad input"
        );
        assert_eq!(
            report(Outcome::Signalled(9)).message(),
            "killed by signal SIGKILL (9)"
        );
        assert!(
            report(Outcome::TimedOut(Duration::from_millis(1500)))
                .message()
                .contains("1.5s")
        );
        let startup = Outcome::StartupFailed {
            code: 4,
            stderr_tail: "no config".into(),
            window: Duration::from_secs(5),
        };
        assert_eq!(
            report(startup).message(),
            "startup failure: exited with code 4 within the 5s startup window; stderr: no config"
        );
        let mut truncated = report(Outcome::Exited(0));
        truncated.stdout.truncated = true;
        assert!(
            truncated
                .message()
                .ends_with("(output log truncated at its size limit: its middle was left out)")
        );
    }
}
