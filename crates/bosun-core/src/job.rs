//! The process-job specification, seed 002's job JSON.
//!
//! ```json
//! { "name": "My Job",
//!   "process": { "command": "/usr/bin/env", "arguments": "--input data.txt",
//!                "workingDirectory": "/srv/work", "timeoutMinutes": 30,
//!                "environment": { "MY_VAR": "value" } } }
//! ```
//!
//! `arguments` is split the way a POSIX shell splits words (quotes and backslashes
//! work) but is never run through a shell. bosun also accepts an argv array for
//! `command` or `arguments`, `timeoutSeconds` for finer timeouts, and `limits`.
//!
//! A field none of these formats has is refused, naming the one it most likely
//! means (`unknown field "timeoutSecs" in process; did you mean "timeoutSeconds"?`):
//! ignoring it would run the job with the default the user meant to change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::case::{check_fields, get_mut, get_non_null};
use crate::error::SpecError;
use crate::name::check_name;

/// The timeout a job gets when it sets none, or sets 0 (seed 002: 60 minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

const WHAT: &str = "job file";

/// The fields of a job file's root.
pub const ROOT_FIELDS: &[&str] = &["name", "process"];
/// The fields of `process`: seed 002's, and bosun's `timeoutSeconds` and `limits`.
pub const PROCESS_FIELDS: &[&str] = &[
    "command",
    "arguments",
    "workingDirectory",
    "timeoutMinutes",
    "timeoutSeconds",
    "environment",
    "limits",
];
/// The fields of `process.limits`.
pub const LIMITS_FIELDS: &[&str] = &["memoryMb", "cpuSeconds", "openFiles"];

/// One process to run under supervision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// A name for people and logs; defaults to the command's file name.
    pub name: String,
    /// The program: a path, or a name looked up on `PATH`.
    pub command: String,
    /// Arguments passed to the program, one element per argv entry.
    pub args: Vec<String>,
    /// Where the process starts; bosun's own working directory when `None`.
    pub working_directory: Option<PathBuf>,
    /// How long the process may run before it is stopped.
    pub timeout: Duration,
    /// Variables added to (or overriding) the inherited environment.
    pub environment: BTreeMap<String, String>,
    /// Resource limits applied to the process and everything it starts.
    pub limits: Limits,
}

/// Optional resource limits (Unix `setrlimit`), inherited by every descendant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Address-space limit in bytes (`RLIMIT_AS`).
    pub memory_bytes: Option<u64>,
    /// CPU time limit in seconds (`RLIMIT_CPU`); the kernel sends SIGXCPU, then SIGKILL.
    pub cpu_seconds: Option<u64>,
    /// Maximum number of open file descriptors (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
}

impl Limits {
    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl JobSpec {
    /// A job that runs `command` with `args`, with every other setting at its default.
    pub fn new(command: impl Into<String>, args: Vec<String>) -> Self {
        let command = command.into();
        Self {
            name: default_name(&command),
            command,
            args,
            working_directory: None,
            timeout: DEFAULT_TIMEOUT,
            environment: BTreeMap::new(),
            limits: Limits::default(),
        }
    }

    /// Parses seed 002's job JSON (field names in any case). A field it does not have
    /// is refused, naming the likely intended one.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let value: Value =
            serde_json::from_str(text).map_err(|source| SpecError::Json { what: WHAT, source })?;
        Self::from_value(&value)
    }

    /// Reads seed 002's job JSON that is already parsed.
    pub fn from_value(value: &Value) -> Result<Self, SpecError> {
        let root = value
            .as_object()
            .ok_or_else(|| invalid("(root)", "must be a JSON object"))?;
        check_fields(root, "the job", ROOT_FIELDS)?;
        let spec = Self::from_object(root)?;
        // A name becomes a log folder's: no "..", no control characters.
        if get_non_null(root, "name").is_some() {
            check_name("job", &spec.name)
                .map_err(|source| SpecError::Name { what: WHAT, source })?;
        }
        Ok(spec)
    }

    /// Reads a job from its JSON object: `name` and `process`, whose fields (and
    /// those of its `limits`) must be known ones. Other fields of `root`, and the
    /// name's rules, are left to the caller, whose format may have more (the
    /// server's job definitions do).
    pub fn from_object(root: &Map<String, Value>) -> Result<Self, SpecError> {
        let process = match get_non_null(root, "process") {
            Some(Value::Object(process)) => process,
            Some(_) => return Err(invalid("process", "must be an object")),
            None => {
                return Err(SpecError::Missing {
                    what: WHAT,
                    field: "process",
                });
            }
        };
        check_fields(process, "process", PROCESS_FIELDS)?;

        let (command, mut args) = match get_non_null(process, "command") {
            Some(Value::String(s)) if !s.trim().is_empty() => (s.trim().to_owned(), Vec::new()),
            Some(Value::Array(items)) => {
                let mut argv = string_array(items, "command")?;
                if argv.is_empty() || argv[0].is_empty() {
                    return Err(SpecError::Missing {
                        what: WHAT,
                        field: "command",
                    });
                }
                let program = argv.remove(0);
                (program, argv)
            }
            Some(Value::String(_)) | None => {
                return Err(SpecError::Missing {
                    what: WHAT,
                    field: "command",
                });
            }
            Some(_) => {
                return Err(invalid(
                    "command",
                    "must be a string or an array of strings",
                ));
            }
        };
        match get_non_null(process, "arguments") {
            None => {}
            Some(Value::String(s)) => args.extend(split_arguments(s)?),
            Some(Value::Array(items)) => args.extend(string_array(items, "arguments")?),
            Some(_) => {
                return Err(invalid(
                    "arguments",
                    "must be a string or an array of strings",
                ));
            }
        }

        let name = match get_non_null(root, "name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::String(_)) | None => default_name(&command),
            Some(_) => return Err(invalid("name", "must be a string")),
        };

        let working_directory = match get_non_null(process, "workingDirectory") {
            Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
            Some(Value::String(_)) | None => None,
            Some(_) => return Err(invalid("workingDirectory", "must be a string")),
        };

        Ok(Self {
            name,
            command,
            args,
            working_directory,
            timeout: timeout(process)?,
            environment: environment(process)?,
            limits: limits(process)?,
        })
    }

    /// Makes relative paths absolute: `workingDirectory` against `base` (the directory
    /// holding the job file), and a `command` containing a `/` against the working
    /// directory, where the process will look for it.
    pub fn resolve_paths(&mut self, base: &Path) {
        let cwd = match &self.working_directory {
            Some(dir) => base.join(dir),
            None => base.to_path_buf(),
        };
        if self.working_directory.is_some() {
            self.working_directory = Some(cwd.clone());
        }
        let command = Path::new(&self.command);
        if command.is_relative() && self.command.contains('/') {
            self.command = cwd.join(command).to_string_lossy().into_owned();
        }
    }
}

impl JobSpec {
    /// Places a job read from `job_file` in that file's folder, as `bosun run` does:
    /// relative paths resolved against it as [`resolve_paths`](Self::resolve_paths)
    /// says, and the folder as the working directory when the file names none.
    pub fn anchor(&mut self, job_file: &Path) {
        let base = folder_of(job_file);
        self.resolve_paths(&base);
        if self.working_directory.is_none() {
            self.working_directory = Some(base);
        }
    }
}

/// The absolute path of the folder holding `file` (`.` if it cannot be known).
fn folder_of(file: &Path) -> PathBuf {
    std::path::absolute(file)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Rewrites a job definition read from `job_file`, so that wherever it runs (a server
/// with another working directory) it means what it means to `bosun run` here: a
/// `process` gets the working directory and command of [`JobSpec::anchor`], absolute;
/// a relative `bot.path` is taken relative to the file's folder. Every other field, and
/// the spelling of field names, is kept. A `process` that does not parse is left as it
/// is, for whoever reads the definition to refuse with its own message.
pub fn anchor_definition(definition: &mut Value, job_file: &Path) {
    let base = folder_of(job_file);
    // The definition's own fields (a server job's `duplicatePolicy`, …) are not a
    // process job's: only `process` is read here.
    let spec = definition
        .as_object()
        .and_then(|root| JobSpec::from_object(root).ok())
        .map(|mut spec| {
            spec.anchor(job_file);
            spec
        });
    let Some(root) = definition.as_object_mut() else {
        return;
    };
    if let Some(spec) = spec
        && let Some(Value::Object(process)) = get_mut(root, "process")
    {
        if let Some(dir) = spec.working_directory.as_deref().and_then(Path::to_str) {
            set_field(process, "workingDirectory", Value::String(dir.to_owned()));
        }
        match get_mut(process, "command") {
            Some(Value::String(command)) => *command = spec.command,
            Some(Value::Array(argv)) if !argv.is_empty() => argv[0] = Value::String(spec.command),
            _ => {}
        }
    }
    if let Some(Value::Object(bot)) = get_mut(root, "bot")
        && let Some(Value::String(path)) = get_mut(bot, "path")
        && Path::new(path.as_str()).is_relative()
        && let Some(absolute) = base.join(path.as_str()).to_str()
    {
        *path = absolute.to_owned();
    }
}

/// Sets the field called `name` in any case, keeping the spelling it has.
fn set_field(object: &mut Map<String, Value>, name: &str, value: Value) {
    match get_mut(object, name) {
        Some(old) => *old = value,
        None => {
            object.insert(name.to_owned(), value);
        }
    }
}

/// Splits an `arguments` string the way a POSIX shell splits words, without running one.
pub fn split_arguments(text: &str) -> Result<Vec<String>, SpecError> {
    shell_words::split(text).map_err(|_| {
        invalid(
            "arguments",
            "has an unterminated quote: close it, or pass an array of strings",
        )
    })
}

fn default_name(command: &str) -> String {
    Path::new(command)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| command.to_owned())
}

fn invalid(field: &'static str, problem: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        what: WHAT,
        field,
        problem: problem.into(),
    }
}

fn string_array(items: &[Value], name: &'static str) -> Result<Vec<String>, SpecError> {
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            _ => Err(invalid(name, "must contain only strings")),
        })
        .collect()
}

fn non_negative(
    process: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<f64>, SpecError> {
    match get_non_null(process, name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v >= 0.0 && v.is_finite() => Ok(Some(v)),
            _ => Err(invalid(name, "must be a number of 0 or more")),
        },
        Some(_) => Err(invalid(name, "must be a number")),
    }
}

fn timeout(process: &Map<String, Value>) -> Result<Duration, SpecError> {
    let minutes = non_negative(process, "timeoutMinutes")?;
    let seconds = non_negative(process, "timeoutSeconds")?;
    let secs = match (minutes, seconds) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "timeoutSeconds",
                "conflicts with \"timeoutMinutes\": set only one of them",
            ));
        }
        (Some(m), None) => m * 60.0,
        (None, Some(s)) => s,
        (None, None) => 0.0,
    };
    if secs == 0.0 {
        return Ok(DEFAULT_TIMEOUT);
    }
    Duration::try_from_secs_f64(secs).map_err(|_| invalid("timeoutSeconds", "is too large"))
}

fn environment(process: &Map<String, Value>) -> Result<BTreeMap<String, String>, SpecError> {
    let Some(value) = get_non_null(process, "environment") else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(vars) = value else {
        return Err(invalid("environment", "must be an object of string values"));
    };
    vars.iter()
        .map(|(key, value)| {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(invalid(
                    "environment",
                    format!("has an invalid variable name {key:?}"),
                ));
            }
            match value {
                Value::String(s) if !s.contains('\0') => Ok((key.clone(), s.clone())),
                Value::Number(n) => Ok((key.clone(), n.to_string())),
                Value::Bool(b) => Ok((key.clone(), b.to_string())),
                _ => Err(invalid(
                    "environment",
                    format!("value of {key:?} must be a string"),
                )),
            }
        })
        .collect()
}

fn limits(process: &Map<String, Value>) -> Result<Limits, SpecError> {
    let Some(value) = get_non_null(process, "limits") else {
        return Ok(Limits::default());
    };
    let Value::Object(limits) = value else {
        return Err(invalid("limits", "must be an object"));
    };
    check_fields(limits, "limits", LIMITS_FIELDS)?;
    let whole = |name: &'static str| -> Result<Option<u64>, SpecError> {
        match get_non_null(limits, name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(invalid(name, "must be a whole number above 0")),
            },
        }
    };
    Ok(Limits {
        memory_bytes: whole("memoryMb")?.map(|mb| mb.saturating_mul(1024 * 1024)),
        cpu_seconds: whole("cpuSeconds")?,
        open_files: whole("openFiles")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::chain;

    #[test]
    fn reads_the_seed_002_example() {
        let job = JobSpec::from_json(
            r#"{ "name": "My Job", "process": { "command": "C:/scripts/myjob.bat",
                 "arguments": "--input data.txt", "workingDirectory": "C:/workspace",
                 "timeoutMinutes": 30, "environment": { "MY_VAR": "value" } } }"#,
        )
        .unwrap();
        assert_eq!(job.name, "My Job");
        assert_eq!(job.command, "C:/scripts/myjob.bat");
        assert_eq!(job.args, ["--input", "data.txt"]);
        assert_eq!(
            job.working_directory.as_deref(),
            Some(Path::new("C:/workspace"))
        );
        assert_eq!(job.timeout, Duration::from_secs(30 * 60));
        assert_eq!(job.environment["MY_VAR"], "value");
    }

    #[test]
    fn pascal_case_fields_are_accepted() {
        let job = JobSpec::from_json(
            r#"{"Name":"x","Process":{"Command":"echo","Arguments":"a","TimeoutSeconds":2}}"#,
        )
        .unwrap();
        assert_eq!(
            (job.name.as_str(), job.args.as_slice()),
            ("x", &["a".to_owned()][..])
        );
        assert_eq!(job.timeout, Duration::from_secs(2));
    }

    #[test]
    fn arguments_split_like_a_shell_without_expansion() {
        let job = JobSpec::from_json(
            r#"{"process":{"command":"echo","arguments":"'a b' \"c d\" e\\ f $HOME ; rm"}}"#,
        )
        .unwrap();
        assert_eq!(job.args, ["a b", "c d", "e f", "$HOME", ";", "rm"]);
    }

    #[test]
    fn argv_arrays_are_taken_verbatim() {
        let job = JobSpec::from_json(
            r#"{"process":{"command":["python3","-c","print('x y')"],"arguments":["--flag"]}}"#,
        )
        .unwrap();
        assert_eq!(job.command, "python3");
        assert_eq!(job.args, ["-c", "print('x y')", "--flag"]);
        assert_eq!(job.name, "python3");
    }

    #[test]
    fn zero_or_missing_timeout_means_the_default() {
        for text in [
            r#"{"process":{"command":"x","timeoutMinutes":0}}"#,
            r#"{"process":{"command":"x"}}"#,
        ] {
            assert_eq!(JobSpec::from_json(text).unwrap().timeout, DEFAULT_TIMEOUT);
        }
    }

    #[test]
    fn limits_are_read() {
        let job = JobSpec::from_json(
            r#"{"process":{"command":"x","limits":{"memoryMb":64,"cpuSeconds":5,"openFiles":32}}}"#,
        )
        .unwrap();
        assert_eq!(
            job.limits,
            Limits {
                memory_bytes: Some(64 << 20),
                cpu_seconds: Some(5),
                open_files: Some(32)
            }
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases = [
            ("{", "job file is not valid"),
            ("[]", "\"(root)\" must be a JSON object"),
            (r#"{"name":"x"}"#, "has no process"),
            (r#"{"process":{}}"#, "has no command"),
            (r#"{"process":{"command":"  "}}"#, "has no command"),
            (
                r#"{"process":{"command":"x","arguments":"'open"}}"#,
                "unterminated quote",
            ),
            (
                r#"{"process":{"command":"x","timeoutMinutes":-1}}"#,
                "\"timeoutMinutes\" must be",
            ),
            (
                r#"{"process":{"command":"x","timeoutMinutes":1,"timeoutSeconds":1}}"#,
                "set only one",
            ),
            (
                r#"{"process":{"command":"x","environment":{"A":[1]}}}"#,
                "value of \"A\"",
            ),
            (
                r#"{"process":{"command":"x","environment":{"A=B":"1"}}}"#,
                "invalid variable name",
            ),
            (
                r#"{"process":{"command":"x","limits":{"memoryMb":0}}}"#,
                "\"memoryMb\" must be",
            ),
        ];
        for (text, expected) in cases {
            let message = chain(&JobSpec::from_json(text).unwrap_err()).to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn a_name_that_could_escape_its_log_folder_is_refused() {
        let message = chain(
            &JobSpec::from_json(r#"{"name":"../../etc","process":{"command":"x"}}"#).unwrap_err(),
        )
        .to_string();
        assert!(message.contains("\"..\""), "{message}");
    }

    #[test]
    fn an_unknown_field_is_refused_with_the_likely_intended_one() {
        for (text, expected) in [
            (
                r#"{"process":{"command":"x","timeoutSecs":5}}"#,
                r#"unknown field "timeoutSecs" in process; did you mean "timeoutSeconds"?"#,
            ),
            (
                r#"{"nmae":"x","process":{"command":"x"}}"#,
                r#"unknown field "nmae" in the job; did you mean "name"?"#,
            ),
            (
                r#"{"process":{"command":"x","limits":{"memory":5}}}"#,
                r#"unknown field "memory" in limits; did you mean "memoryMb"?"#,
            ),
            (
                r#"{"process":{"command":"x","retries":3}}"#,
                r#"unknown field "retries" in process: known fields are"#,
            ),
        ] {
            let message = chain(&JobSpec::from_json(text).unwrap_err()).to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn a_definition_is_anchored_in_its_files_folder_keeping_its_other_fields() {
        let base = Path::new("/jobs/job.json");
        let mut definition: Value = serde_json::from_str(
            r#"{"Name": "x", "duplicatePolicy": "queue",
                "Process": {"Command": ["./run.sh", "-v"], "WorkingDirectory": "work"}}"#,
        )
        .unwrap();
        anchor_definition(&mut definition, base);
        assert_eq!(
            definition,
            serde_json::json!({"Name": "x", "duplicatePolicy": "queue",
                "Process": {"Command": ["/jobs/work/./run.sh", "-v"],
                            "WorkingDirectory": "/jobs/work"}})
        );

        // No working directory: the file's folder, as `bosun run` has it.
        let mut definition = serde_json::json!({"process": {"command": "sh"}});
        anchor_definition(&mut definition, base);
        assert_eq!(
            definition,
            serde_json::json!({"process": {"command": "sh", "workingDirectory": "/jobs"}})
        );
        // Absolute paths stay; a bot's relative path is the file's folder's.
        let mut definition = serde_json::json!({"process": {"command": "/bin/true",
            "workingDirectory": "/srv"}});
        let unchanged = definition.clone();
        anchor_definition(&mut definition, base);
        assert_eq!(definition, unchanged);
        let mut definition = serde_json::json!({"bot": {"path": "bots/hello"}});
        anchor_definition(&mut definition, base);
        assert_eq!(definition["bot"]["path"], "/jobs/bots/hello");
        // What does not parse is left for the server to refuse.
        let mut definition = serde_json::json!({"process": {"command": 3}});
        anchor_definition(&mut definition, base);
        assert_eq!(definition, serde_json::json!({"process": {"command": 3}}));
    }

    #[test]
    fn relative_paths_resolve_against_the_job_file_then_the_working_directory() {
        let mut job =
            JobSpec::from_json(r#"{"process":{"command":"./run.sh","workingDirectory":"work"}}"#)
                .unwrap();
        job.resolve_paths(Path::new("/jobs"));
        assert_eq!(
            job.working_directory.as_deref(),
            Some(Path::new("/jobs/work"))
        );
        assert_eq!(job.command, "/jobs/work/./run.sh");

        let mut on_path = JobSpec::new("python3", vec![]);
        on_path.resolve_paths(Path::new("/jobs"));
        assert_eq!(
            (on_path.command.as_str(), on_path.working_directory),
            ("python3", None)
        );
    }
}
