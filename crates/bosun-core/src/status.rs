//! The states an execution moves through.

use serde::{Deserialize, Serialize};

/// Where an execution is in its life: `Pending → Running → ` one of the four final states.
///
/// The names are seed 002's `JobRunStatus`; seed 000's `Completed` is read as
/// [`ExecutionStatus::CompletedSuccessfully`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionStatus {
    /// Accepted, not started yet.
    Pending,
    /// The process has been started and has not ended.
    Running,
    /// The process exited with code 0.
    #[serde(alias = "Completed")]
    CompletedSuccessfully,
    /// The process exited non-zero, was killed by a signal, failed at startup, or could
    /// not be started at all.
    Failed,
    /// The process ran past its timeout and was stopped.
    TimedOut,
    /// The process was stopped on request (Ctrl-C, SIGTERM, an API call).
    Cancelled,
}

impl ExecutionStatus {
    /// Every status, in the order an execution meets them.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::CompletedSuccessfully,
        Self::Failed,
        Self::TimedOut,
        Self::Cancelled,
    ];

    /// The status with this name, in any case and with seed 000's `Completed` read as
    /// [`ExecutionStatus::CompletedSuccessfully`], as people type them in queries and
    /// flags.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("Completed") {
            return Some(Self::CompletedSuccessfully);
        }
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// True for the four states an execution never leaves.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// True for the two states that say the job did not do its work: `Failed` and
    /// `TimedOut` (a cancelled run was stopped on purpose).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::TimedOut)
    }

    /// The name as written in JSON and shown to people.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::CompletedSuccessfully => "CompletedSuccessfully",
            Self::Failed => "Failed",
            Self::TimedOut => "TimedOut",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// The stored form: exactly [`ExecutionStatus::as_str`] (for what people type, see
/// [`ExecutionStatus::from_name`]).
impl std::str::FromStr for ExecutionStatus {
    type Err = crate::UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const NAMES: &[&str] = &{
            let mut names = [""; 6];
            let mut i = 0;
            while i < names.len() {
                names[i] = ExecutionStatus::ALL[i].as_str();
                i += 1;
            }
            names
        };
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| crate::UnknownName {
                what: "execution status",
                given: text.to_owned(),
                expected: NAMES,
            })
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_completed_reads_as_completed_successfully() {
        let status: ExecutionStatus = serde_json::from_str("\"Completed\"").unwrap();
        assert_eq!(status, ExecutionStatus::CompletedSuccessfully);
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            "\"CompletedSuccessfully\""
        );
    }

    #[test]
    fn the_stored_name_is_the_json_name() {
        for status in ExecutionStatus::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<ExecutionStatus>(), Ok(status));
        }
        let e = "Done".parse::<ExecutionStatus>().unwrap_err().to_string();
        assert!(e.contains("unknown execution status \"Done\""), "{e}");
        assert!("failed".parse::<ExecutionStatus>().is_err());
    }

    #[test]
    fn a_name_in_any_case_is_its_status() {
        assert_eq!(
            ExecutionStatus::from_name("failed"),
            Some(ExecutionStatus::Failed)
        );
        assert_eq!(
            ExecutionStatus::from_name(" completedsuccessfully "),
            Some(ExecutionStatus::CompletedSuccessfully)
        );
        assert_eq!(
            ExecutionStatus::from_name("Completed"),
            Some(ExecutionStatus::CompletedSuccessfully)
        );
        assert_eq!(ExecutionStatus::from_name("done"), None);
    }

    #[test]
    fn only_the_four_end_states_are_final() {
        use ExecutionStatus::*;
        let finals: Vec<_> = ExecutionStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [CompletedSuccessfully, Failed, TimedOut, Cancelled]);
        let failures: Vec<_> = ExecutionStatus::ALL
            .into_iter()
            .filter(|s| s.is_failure())
            .collect();
        assert_eq!(failures, [Failed, TimedOut]);
    }
}
