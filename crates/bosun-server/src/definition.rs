//! Job definitions as the API takes them, checked when stored and turned into
//! something to run when an execution starts.
//!
//! A definition is seed 002's process job (`{name, process: {command, arguments,
//! workingDirectory, timeoutMinutes | timeoutSeconds, environment, limits}}`) or a
//! Python bot (`{name, bot: {path, arguments, timeoutSeconds}}`), plus the monitor's
//! settings: `duplicatePolicy`, `historyLimit`, `stuckAfterSeconds`,
//! `silentAfterSeconds`. Field names are matched in any case.

use std::path::PathBuf;
use std::time::Duration;

use bosun_core::JobSpec;
use serde_json::Value;

/// What happens when a job is triggered while an execution of it is still active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DuplicatePolicy {
    /// The new execution is refused (seed 002's `IsJobRunning` check).
    #[default]
    Skip,
    /// The new execution waits until the active one ends.
    Queue,
    /// Both run.
    Allow,
}

/// What an execution runs.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    /// A process job.
    Process(JobSpec),
    /// A Python bot folder or file.
    Bot {
        path: PathBuf,
        arguments: Vec<String>,
        timeout: Option<Duration>,
    },
}

/// A checked job definition.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub(crate) name: String,
    pub(crate) work: Work,
    pub(crate) duplicate_policy: DuplicatePolicy,
    pub(crate) history_limit: Option<i64>,
    pub(crate) stuck_after: Option<Duration>,
    pub(crate) silent_after: Option<Duration>,
}

impl Definition {
    /// Checks `value`; the error is one sentence saying what to fix.
    pub(crate) fn parse(value: &Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("a job definition is a JSON object".to_owned());
        }
        let name = field(value, "name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or("a job definition needs a \"name\"")?
            .to_owned();
        if name.len() > 200 || name.chars().any(|c| c.is_control() || c == '/') {
            return Err(
                "a job name has at most 200 characters and no '/' or control characters".to_owned(),
            );
        }
        let work = match (field(value, "process"), field(value, "bot")) {
            (Some(_), Some(_)) => {
                return Err("give either \"process\" or \"bot\", not both".to_owned());
            }
            (Some(_), None) => {
                let spec = JobSpec::from_json(&value.to_string()).map_err(|e| e.to_string())?;
                Work::Process(spec)
            }
            (None, Some(bot)) => {
                let path = field(bot, "path").and_then(Value::as_str).ok_or(
                    "\"bot\" needs a \"path\": the bot's folder or .py file on the server",
                )?;
                let path = PathBuf::from(path);
                if !path.is_absolute() {
                    return Err(format!(
                        "bot path {} is relative: give the absolute path on the server",
                        path.display()
                    ));
                }
                let arguments = match field(bot, "arguments") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or("bot \"arguments\" must be strings")?,
                    Some(Value::String(s)) => {
                        bosun_core::job::split_arguments(s).map_err(|e| e.to_string())?
                    }
                    Some(_) => return Err("bot \"arguments\" is a list of strings".to_owned()),
                };
                let timeout = seconds(bot, "timeoutSeconds")?;
                Work::Bot {
                    path,
                    arguments,
                    timeout,
                }
            }
            (None, None) => {
                return Err(
                    "a job definition needs \"process\" (a command) or \"bot\" (a Python bot)"
                        .to_owned(),
                );
            }
        };
        let duplicate_policy = match field(value, "duplicatePolicy").and_then(Value::as_str) {
            None => DuplicatePolicy::default(),
            Some(p) => match p.to_ascii_lowercase().as_str() {
                "skip" => DuplicatePolicy::Skip,
                "queue" => DuplicatePolicy::Queue,
                "allow" => DuplicatePolicy::Allow,
                other => {
                    return Err(format!(
                        "unknown duplicatePolicy {other:?}: use \"skip\", \"queue\" or \"allow\""
                    ));
                }
            },
        };
        let history_limit = match field(value, "historyLimit") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .filter(|n| *n >= 1)
                    .ok_or("historyLimit is a whole number of executions, at least 1")?,
            ),
        };
        Ok(Self {
            name,
            work,
            duplicate_policy,
            history_limit,
            stuck_after: seconds(value, "stuckAfterSeconds")?,
            silent_after: seconds(value, "silentAfterSeconds")?,
        })
    }

    /// `process` or `bot`.
    pub(crate) fn kind(&self) -> &'static str {
        match self.work {
            Work::Process(_) => "process",
            Work::Bot { .. } => "bot",
        }
    }
}

/// A field of `value`, its name matched in any case.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn seconds(value: &Value, name: &str) -> Result<Option<Duration>, String> {
    match field(value, name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|s| *s > 0.0 && s.is_finite())
            .map(|s| Some(Duration::from_secs_f64(s)))
            .ok_or(format!("{name} is a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_process_job_in_seed_002_form_is_accepted_in_any_case() {
        let d = Definition::parse(&json!({
            "Name": "nightly",
            "Process": {"Command": "python3", "Arguments": "report.py --day 'last monday'", "TimeoutMinutes": 5},
            "duplicatePolicy": "queue", "historyLimit": 10, "stuckAfterSeconds": 60
        }))
        .unwrap();
        assert_eq!(d.name, "nightly");
        assert_eq!(d.duplicate_policy, DuplicatePolicy::Queue);
        assert_eq!(d.history_limit, Some(10));
        assert_eq!(d.stuck_after, Some(Duration::from_secs(60)));
        let Work::Process(spec) = d.work else {
            panic!("a process job")
        };
        assert_eq!(spec.args, ["report.py", "--day", "last monday"]);
        assert_eq!(spec.timeout, Duration::from_secs(300));
    }

    #[test]
    fn bad_definitions_say_what_to_fix() {
        for (value, expected) in [
            (json!([]), "JSON object"),
            (json!({"process": {"command": "x"}}), "needs a \"name\""),
            (json!({"name": "a"}), "needs \"process\""),
            (json!({"name": "a", "bot": {"path": "rel/bot"}}), "relative"),
            (
                json!({"name": "a", "bot": {"path": "/b"}, "process": {}}),
                "not both",
            ),
            (
                json!({"name": "a", "bot": {"path": "/b"}, "duplicatePolicy": "twice"}),
                "unknown duplicatePolicy",
            ),
            (json!({"name": "a/b", "bot": {"path": "/b"}}), "no '/'"),
        ] {
            let e = Definition::parse(&value).unwrap_err();
            assert!(e.contains(expected), "{value}: {e}");
        }
    }
}
