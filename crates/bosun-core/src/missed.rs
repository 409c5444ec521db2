//! What to do about what a trigger missed while nothing watched: a schedule's fire
//! times that passed while the server was down ([`MissedPolicy`]), a file trigger's
//! files that arrived meanwhile ([`FileMissed`]).
//!
//! The API and the store write a schedule's policy as JSON (`"skip"`, `"run-once"`,
//! `{"run-all": {"max": 10}}`); people write it as `skip`, `run-once` or `run-all:N`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::named::named;

/// What to do with scheduled instants that passed while the scheduler was not running.
///
/// In JSON: `"skip"`, `"run-once"` (the default) or `{"run-all": {"max": 10}}`; as
/// text ([`FromStr`], [`Display`](fmt::Display)): `skip`, `run-once`, `run-all:10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissedPolicy {
    /// Drop missed instants. Only the latest due instant runs, and only if it is at most
    /// a grace period (a minute) old.
    Skip,
    /// However many instants were missed, run once, for the latest of them.
    #[default]
    RunOnce,
    /// Run every missed instant, oldest first, but at most `max` of them: the latest
    /// `max` (a `max` of 0 counts as 1, so the on-time run is never dropped).
    RunAll {
        /// The most runs to start in one catch-up.
        max: u32,
    },
}

/// Text that is not a [`MissedPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given:?} is not a policy: use skip, run-once or run-all:N (N the most missed runs to \
     start, e.g. run-all:10)"
)]
pub struct MissedPolicyError {
    /// The text given.
    pub given: String,
}

impl FromStr for MissedPolicy {
    type Err = MissedPolicyError;

    fn from_str(text: &str) -> Result<Self, MissedPolicyError> {
        match text {
            "skip" => Ok(Self::Skip),
            "run-once" => Ok(Self::RunOnce),
            _ => text
                .strip_prefix("run-all:")
                .and_then(|n| n.parse::<u32>().ok())
                .map(|max| Self::RunAll { max })
                .ok_or_else(|| MissedPolicyError {
                    given: text.to_owned(),
                }),
        }
    }
}

impl fmt::Display for MissedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Skip => f.write_str("skip"),
            Self::RunOnce => f.write_str("run-once"),
            Self::RunAll { max } => write!(f, "run-all:{max}"),
        }
    }
}

named! {
    /// What a file trigger does about files that arrived while nothing watched.
    #[derive(Default)]
    pub enum FileMissed ("missed-file policy") {
        /// Start the job for each of them, like a file that arrives while watched.
        #[default]
        RunAll = "run-all",
        /// Leave them: only files arriving from now on start the job.
        Skip = "skip",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_serialize_with_kebab_case_names() {
        for (policy, json) in [
            (MissedPolicy::Skip, r#""skip""#),
            (MissedPolicy::RunOnce, r#""run-once""#),
            (
                MissedPolicy::RunAll { max: 10 },
                r#"{"run-all":{"max":10}}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&policy).unwrap(), json);
            assert_eq!(serde_json::from_str::<MissedPolicy>(json).unwrap(), policy);
        }
        assert_eq!(MissedPolicy::default(), MissedPolicy::RunOnce);
        assert!(serde_json::from_str::<MissedPolicy>(r#""run_once""#).is_err());
    }

    #[test]
    fn policies_read_and_print_as_people_write_them() {
        for text in ["skip", "run-once", "run-all:3"] {
            assert_eq!(text.parse::<MissedPolicy>().unwrap().to_string(), text);
        }
        for bad in ["run-all", "run-all:x", "RunOnce", ""] {
            let e = bad.parse::<MissedPolicy>().unwrap_err().to_string();
            assert!(e.contains("run-all:N"), "{e}");
        }
    }

    #[test]
    fn file_policies_keep_their_names() {
        assert_eq!(FileMissed::default(), FileMissed::RunAll);
        assert_eq!(
            serde_json::to_string(&FileMissed::RunAll).unwrap(),
            r#""run-all""#
        );
        assert_eq!("skip".parse::<FileMissed>(), Ok(FileMissed::Skip));
        let e = serde_json::from_str::<FileMissed>(r#""never""#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown variant `never`, expected `run-all` or `skip`");
    }
}
