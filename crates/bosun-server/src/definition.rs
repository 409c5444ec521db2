//! Job definitions as the API takes them, checked when stored and turned into
//! something to run when an execution starts.
//!
//! A definition is seed 002's process job (`{name, process: {command, arguments,
//! workingDirectory, timeoutMinutes | timeoutSeconds, environment, limits}}`) or a
//! Python bot (`{name, bot: {path | package [, version], arguments, timeoutSeconds}}`:
//! a folder on the server, or an uploaded package), plus the monitor's
//! settings: `duplicatePolicy`, `historyLimit`, `stuckAfterSeconds`,
//! `silentAfterSeconds`. A package bot may name the remote `agent` that runs it (or
//! `"any"`); a process job or a bot by path runs on the server only. Field names are matched in any case; a field none of these
//! has is refused with the likely intended one, and the name must pass
//! [`bosun_core::check_name`].

use std::path::PathBuf;
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::job::{LIMITS_FIELDS, PROCESS_FIELDS};
use bosun_core::package::{PackageName, Version};
use bosun_core::{JobSpec, check_fields, check_name};
use serde_json::Value;

/// The fields of a definition's root: seed 002's, the bot form's, the monitor's.
const FIELDS: &[&str] = &[
    "name",
    "process",
    "bot",
    "agent",
    "duplicatePolicy",
    "historyLimit",
    "stuckAfterSeconds",
    "silentAfterSeconds",
];
/// The fields of `bot`.
const BOT_FIELDS: &[&str] = &["path", "package", "version", "arguments", "timeoutSeconds"];

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
    /// A Python bot.
    Bot {
        source: BotSource,
        arguments: Vec<String>,
        timeout: Option<Duration>,
    },
}

/// Where a bot's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BotSource {
    /// A folder or `.py` file on the server, an absolute path.
    Path(PathBuf),
    /// An uploaded package of the execution's tenant, extracted when it starts.
    Package(PackageRef),
}

/// A package a job names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageRef {
    /// The package's name or id: an id is a valid name too, so one check covers both.
    pub(crate) package: PackageName,
    /// The version to run; `None`: the newest uploaded when an execution starts.
    pub(crate) version: Option<Version>,
}

/// Where a job's executions run, when not on the server's own runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AgentChoice {
    /// The tenant's agent of this name (or id).
    Named(String),
    /// A connected agent of the tenant with the least work, else the one that
    /// connected last.
    Any,
}

/// A checked job definition.
#[derive(Debug, Clone)]
pub(crate) struct Definition {
    pub(crate) name: String,
    pub(crate) work: Work,
    /// The remote agent that runs it; `None`: the server's own runner.
    pub(crate) agent: Option<AgentChoice>,
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
                let source = bot_source(bot)?;
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
                    source,
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
        let agent = agent(value, &work)?;
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
            agent,
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

/// The agent the definition `value` names, which only a package bot (`work`) may.
fn agent(value: &Value, work: &Work) -> Result<Option<AgentChoice>, String> {
    let name = match field(value, "agent") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(name)) => name.trim(),
        Some(_) => {
            return Err("\"agent\" is a string: a remote agent's name, or \"any\"".to_owned());
        }
    };
    if name.is_empty() {
        return Err(
            "\"agent\" is empty: give a remote agent's name or \"any\", or leave it out to \
             run on the server"
                .to_owned(),
        );
    }
    if name.eq_ignore_ascii_case(bosun_core::LOCAL_AGENT) {
        return Err(format!(
            "agent \"{}\" is the server's own runner: leave \"agent\" out to run on the \
             server",
            bosun_core::LOCAL_AGENT
        ));
    }
    let from = match work {
        Work::Bot {
            source: BotSource::Package(_),
            ..
        } => None,
        Work::Bot {
            source: BotSource::Path(_),
            ..
        } => Some("a bot by \"path\""),
        Work::Process(_) => Some("a \"process\" job"),
    };
    if let Some(from) = from {
        return Err(format!(
            "\"agent\" runs an uploaded package on a remote agent, and {from} runs on the \
             server only: give \"bot\": {{\"package\": …, \"version\": …}} instead, or \
             remove \"agent\""
        ));
    }
    Ok(Some(if name.eq_ignore_ascii_case("any") {
        AgentChoice::Any
    } else {
        AgentChoice::Named(name.to_owned())
    }))
}

/// Where the bot `bot` (the definition's `bot` object) is: exactly one of `path` and
/// `package`, with `version` only beside `package`.
fn bot_source(bot: &Value) -> Result<BotSource, String> {
    let given = |name| !matches!(field(bot, name), None | Some(Value::Null));
    match (given("path"), given("package")) {
        (true, true) => Err("give \"bot\" either a \"path\" or a \"package\", not both".to_owned()),
        (false, false) => Err(
            "\"bot\" needs a \"path\" (the bot's folder or .py file on the \
             server) or a \"package\" (an uploaded package's name or id)"
                .to_owned(),
        ),
        (true, false) => {
            if given("version") {
                return Err(
                    "a \"version\" goes with a \"package\": a \"path\" bot runs \
                     the files at its path"
                        .to_owned(),
                );
            }
            let path = field(bot, "path")
                .and_then(Value::as_str)
                .ok_or("bot \"path\" is a string: the bot's folder or .py file on the server")?;
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(format!(
                    "bot path {} is relative: give the absolute path on the server",
                    path.display()
                ));
            }
            Ok(BotSource::Path(path))
        }
        (false, true) => {
            let package = field(bot, "package")
                .and_then(Value::as_str)
                .ok_or("bot \"package\" is a string: an uploaded package's name or id")?
                .parse::<PackageName>()
                .map_err(|e| chain(&e).to_string())?;
            let version = match field(bot, "version") {
                None | Some(Value::Null) => None,
                Some(Value::String(version)) => Some(
                    version
                        .parse::<Version>()
                        .map_err(|e| chain(&e).to_string())?,
                ),
                Some(_) => {
                    return Err(
                        "bot \"version\" is a string, such as \"1.0.0\"; leave it out for \
                         the newest uploaded"
                            .to_owned(),
                    );
                }
            };
            Ok(BotSource::Package(PackageRef { package, version }))
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
    fn a_bot_names_a_package_and_optionally_its_version() {
        let d = Definition::check(&json!({"name": "scrape", "bot": {"package": "web-scraper",
            "version": "1.0.0", "arguments": ["--pages", "3"], "timeoutSeconds": 60}}))
        .unwrap();
        let Work::Bot {
            source,
            arguments,
            timeout,
        } = d.work
        else {
            panic!("a bot")
        };
        assert_eq!(
            source,
            BotSource::Package(PackageRef {
                package: "web-scraper".parse().unwrap(),
                version: Some("1.0.0".parse().unwrap()),
            })
        );
        assert_eq!(arguments, ["--pages", "3"]);
        assert_eq!(timeout, Some(Duration::from_secs(60)));

        let d = Definition::check(&json!({"name": "scrape",
            "Bot": {"Package": "0190a7e2-7d1c-7aa0-8000-0123456789ab", "Version": null}}))
        .unwrap();
        let Work::Bot { source, .. } = d.work else {
            panic!("a bot")
        };
        let BotSource::Package(reference) = source else {
            panic!("a package bot")
        };
        assert_eq!(
            reference.package.as_str(),
            "0190a7e2-7d1c-7aa0-8000-0123456789ab"
        );
        assert_eq!(
            reference.version, None,
            "none named: the newest at the start"
        );
    }

    #[test]
    fn a_bot_has_exactly_one_source_and_a_checked_version() {
        for (bot, expected) in [
            (
                json!({"path": "/b", "package": "p"}),
                "either a \"path\" or a \"package\", not both",
            ),
            (json!({"arguments": []}), "needs a \"path\""),
            (json!({"path": null, "package": null}), "needs a \"path\""),
            (
                json!({"path": "/b", "version": "1.0.0"}),
                "a \"version\" goes with a \"package\"",
            ),
            (json!({"path": 7}), "bot \"path\" is a string"),
            (json!({"package": ["p"]}), "bot \"package\" is a string"),
            (
                json!({"package": "p", "version": 1.0}),
                "bot \"version\" is a string",
            ),
            (json!({"package": "a/b"}), "package name `a/b` has `/`"),
        ] {
            let value = json!({"name": "a", "bot": bot});
            let e = Definition::check(&value).unwrap_err();
            assert!(e.contains(expected), "{value}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        // A bad version is refused when the job is stored, in the version's own words.
        let e =
            Definition::check(&json!({"name": "a", "bot": {"package": "p", "version": "../1"}}))
                .unwrap_err();
        assert_eq!(e, "../1".parse::<Version>().unwrap_err().to_string());
    }

    #[test]
    fn a_package_bot_may_name_an_agent_or_any_and_nothing_else_may() {
        let package = json!({"package": "web-scraper", "version": "1.0.0"});
        let d =
            Definition::check(&json!({"name": "a", "bot": package, "agent": "robot-1"})).unwrap();
        assert_eq!(d.agent, Some(AgentChoice::Named("robot-1".to_owned())));
        let d = Definition::check(&json!({"name": "a", "bot": package, "Agent": "ANY"})).unwrap();
        assert_eq!(d.agent, Some(AgentChoice::Any));
        let d = Definition::check(&json!({"name": "a", "bot": package, "agent": null})).unwrap();
        assert_eq!(d.agent, None, "null: the server's own runner");

        for (value, expected) in [
            (
                json!({"name": "a", "process": {"command": "true"}, "agent": "robot-1"}),
                "a \"process\" job runs on the server only: give \"bot\": {\"package\"",
            ),
            (
                json!({"name": "a", "bot": {"path": "/b"}, "agent": "any"}),
                "a bot by \"path\" runs on the server only",
            ),
            (
                json!({"name": "a", "bot": package, "agent": "local"}),
                "the server's own runner",
            ),
            (
                json!({"name": "a", "bot": package, "agent": " "}),
                "is empty",
            ),
            (
                json!({"name": "a", "bot": package, "agent": 7}),
                "is a string",
            ),
        ] {
            let e = Definition::check(&value).unwrap_err();
            assert!(e.contains(expected), "{value}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
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
