//! Job definitions as the API takes them, checked when stored and turned into
//! something to run when an execution starts.
//!
//! A definition is seed 002's process job (`{name, process: {command, arguments,
//! workingDirectory, timeoutMinutes | timeoutSeconds, environment, limits}}`) or a
//! Python bot (`{name, bot: {path, arguments, timeoutSeconds}}`), plus the monitor's
//! settings: `duplicatePolicy`, `historyLimit`, `stuckAfterSeconds`,
//! `silentAfterSeconds`. Field names are matched in any case; a field none of these
//! has is refused with the likely intended one, and the name must pass
//! [`bosun_core::check_name`].

use std::path::PathBuf;
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::job::{LIMITS_FIELDS, PROCESS_FIELDS};
use bosun_core::{JobSpec, check_fields, check_name};
use serde_json::Value;

/// The fields of a definition's root: seed 002's, the bot form's, the monitor's.
const FIELDS: &[&str] = &[
    "name",
    "process",
    "bot",
    "duplicatePolicy",
    "historyLimit",
    "stuckAfterSeconds",
    "silentAfterSeconds",
];
/// The fields of `bot`.
const BOT_FIELDS: &[&str] = &["path", "arguments", "timeoutSeconds"];

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
    /// Checks `value`, a definition a user sent; the error is one sentence saying
    /// what to fix.
    pub(crate) fn check(value: &Value) -> Result<Self, String> {
        let Some(root) = value.as_object() else {
            return Err("a job definition is a JSON object".to_owned());
        };
        check_fields(root, "the job", FIELDS).map_err(|e| chain(&e).to_string())?;
        if let Some(Value::String(name)) = field(value, "name") {
            check_name("job", name.trim()).map_err(|e| chain(&e).to_string())?;
        }
        Self::read(value)
    }

    /// Reads a stored definition, checked by [`Definition::check`] when it was
    /// stored: one stored when the rules were looser (before unknown fields and
    /// misleading names were refused) still runs, its unknown fields ignored as they
    /// were then.
    pub(crate) fn parse(value: &Value) -> Result<Self, String> {
        Self::read(&known_fields_only(value))
    }

    /// Reads a definition whose fields are known.
    fn read(value: &Value) -> Result<Self, String> {
        let Some(root) = value.as_object() else {
            return Err("a job definition is a JSON object".to_owned());
        };
        let name = match field(value, "name") {
            None | Some(Value::Null) => return Err("a job definition needs a \"name\"".to_owned()),
            Some(Value::String(name)) => name.trim().to_owned(),
            Some(_) => return Err("a job's \"name\" is a string".to_owned()),
        };
        if name.is_empty() {
            return Err("a job definition needs a \"name\"".to_owned());
        }
        let work = match (field(value, "process"), field(value, "bot")) {
            (Some(_), Some(_)) => {
                return Err("give either \"process\" or \"bot\", not both".to_owned());
            }
            (Some(_), None) => {
                let spec = JobSpec::from_object(root).map_err(|e| chain(&e).to_string())?;
                Work::Process(spec)
            }
            (None, Some(bot)) => {
                let Some(fields) = bot.as_object() else {
                    return Err("\"bot\" is an object: {\"path\": …}".to_owned());
                };
                check_fields(fields, "bot", BOT_FIELDS).map_err(|e| chain(&e).to_string())?;
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
                        bosun_core::job::split_arguments(s).map_err(|e| chain(&e).to_string())?
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

/// `value` without the fields [`Definition::check`] would refuse as unknown.
fn known_fields_only(value: &Value) -> Value {
    fn keep(object: &mut serde_json::Map<String, Value>, known: &[&str]) {
        object.retain(|key, _| known.iter().any(|k| k.eq_ignore_ascii_case(key)));
    }
    let mut value = value.clone();
    let Some(root) = value.as_object_mut() else {
        return value;
    };
    keep(root, FIELDS);
    for (key, inner) in root.iter_mut() {
        let Some(inner) = inner.as_object_mut() else {
            continue;
        };
        if key.eq_ignore_ascii_case("bot") {
            keep(inner, BOT_FIELDS);
        } else if key.eq_ignore_ascii_case("process") {
            keep(inner, PROCESS_FIELDS);
            for (key, limits) in inner.iter_mut() {
                if let (true, Some(limits)) =
                    (key.eq_ignore_ascii_case("limits"), limits.as_object_mut())
                {
                    keep(limits, LIMITS_FIELDS);
                }
            }
        }
    }
    value
}

/// A field of `value`, its name matched in any case (a `null` is returned as it is);
/// `None` when `value` is no object.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    bosun_core::case::get(value.as_object()?, name)
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
    fn a_definition_stored_before_unknown_fields_were_refused_still_runs() {
        let stored = json!({"name": "old..one", "process": {"command": "true",
            "timeoutSecs": 5, "limits": {"memory": 1}}, "owner": "ops"});
        assert!(Definition::check(&stored).is_err());
        let d = Definition::parse(&stored).unwrap();
        assert_eq!(d.name, "old..one");
        let Work::Process(spec) = d.work else {
            panic!("a process job")
        };
        assert_eq!(spec.timeout, bosun_core::DEFAULT_TIMEOUT);
        let bot = json!({"name": "b", "bot": {"path": "/b", "args": ["x"]}});
        assert!(Definition::parse(&bot).is_ok());
    }

    #[test]
    fn a_process_job_in_seed_002_form_is_accepted_in_any_case() {
        let d = Definition::check(&json!({
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
            (json!({"name": "a/b", "bot": {"path": "/b"}}), "'/'"),
            (json!({"name": 7, "bot": {"path": "/b"}}), "is a string"),
            (json!({"name": "a", "bot": "/b"}), "is an object"),
            (
                json!({"name": "a", "bot": {"path": "/b"}, "historylimt": 3}),
                "did you mean \"historyLimit\"?",
            ),
        ] {
            let e = Definition::check(&value).unwrap_err();
            assert!(e.contains(expected), "{value}: {e}");
        }
    }
}
