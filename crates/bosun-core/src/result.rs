//! The result of one run, seed 002's `JobRunResult`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::ExecutionStatus;

/// What happened to one run, written with the seed's PascalCase field names.
///
/// `Duration` is .NET `TimeSpan` text (`00:00:01.2500000`), as the seed's serializer
/// writes it; `DurationMs` carries the same figure as a number for scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobRunResult {
    /// The job's name.
    pub job_name: String,
    /// True only for [`ExecutionStatus::CompletedSuccessfully`].
    pub success: bool,
    /// The final state.
    pub status: ExecutionStatus,
    /// The process's exit code; `None` when it was killed by a signal or never started.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// One sentence for people: what happened and, on failure, why.
    pub message: String,
    /// When the process was started (or the attempt made).
    pub start_time: DateTime<Utc>,
    /// When bosun saw it end.
    pub end_time: DateTime<Utc>,
    /// `EndTime - StartTime` as .NET `TimeSpan` text.
    #[serde(with = "timespan_serde")]
    pub duration: Duration,
    /// `EndTime - StartTime` in milliseconds.
    pub duration_ms: u64,
    /// The process id, when a process was started.
    pub pid: Option<u32>,
    /// Where the process's standard output was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_log: Option<PathBuf>,
    /// Where the process's standard error was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_log: Option<PathBuf>,
}

mod timespan_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::timespan::format(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        crate::timespan::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a TimeSpan: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_the_seed_field_names_and_reads_back() {
        let start = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let result = JobRunResult {
            job_name: "nightly".into(),
            success: true,
            status: ExecutionStatus::CompletedSuccessfully,
            exit_code: Some(0),
            signal: None,
            message: "exited with code 0".into(),
            start_time: start,
            end_time: start + Duration::from_millis(1500),
            duration: Duration::from_millis(1500),
            duration_ms: 1500,
            pid: Some(42),
            output_log: None,
            error_log: None,
        };
        let json = serde_json::to_value(&result).unwrap();
        for key in [
            "Success",
            "Status",
            "ExitCode",
            "Message",
            "StartTime",
            "EndTime",
            "Duration",
            "Pid",
        ] {
            assert!(json.get(key).is_some(), "missing {key} in {json}");
        }
        assert_eq!(json["Duration"], "00:00:01.5000000");
        assert_eq!(json["Status"], "CompletedSuccessfully");
        let back: JobRunResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
    }
}
