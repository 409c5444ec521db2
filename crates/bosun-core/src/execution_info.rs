//! `execution.json`, the task description of seed 001's executor.
//!
//! ```json
//! { "ExecutionId": "12345678-1234-1234-1234-123456789012",
//!   "ScriptPath": "script.py",
//!   "Arguments": "--input-file data.csv --output-file results.csv",
//!   "Requirements": ["pandas==1.5.3", "requests>=2.28.2", "openpyxl"] }
//! ```

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::case::get_non_null;
use crate::error::SpecError;
use crate::job::split_arguments;

const WHAT: &str = "execution.json";

/// One task for `bosun exec`, read from `Tasks/{id}/execution.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionInfo {
    /// The execution id; equal to the directory name.
    pub execution_id: String,
    /// The script, relative to the task directory; never escapes it.
    pub script_path: PathBuf,
    /// Arguments for the script, already split.
    pub arguments: Vec<String>,
    /// pip requirement lines.
    pub requirements: Vec<String>,
}

impl ExecutionInfo {
    /// Parses `execution.json` for the task `expected_id`.
    ///
    /// `ExecutionId` may be omitted; when present it must equal `expected_id`.
    /// `ScriptPath` must be a relative path that stays inside the task directory.
    pub fn from_json(text: &str, expected_id: &str) -> Result<Self, SpecError> {
        let value: Value =
            serde_json::from_str(text).map_err(|source| SpecError::Json { what: WHAT, source })?;
        let root = value
            .as_object()
            .ok_or_else(|| invalid("(root)", "must be a JSON object"))?;

        let execution_id = match get_non_null(root, "ExecutionId") {
            None => expected_id.to_owned(),
            Some(Value::String(id)) if id == expected_id => id.clone(),
            Some(Value::String(id)) => {
                return Err(invalid(
                    "ExecutionId",
                    format!("is {id:?} but the task directory is {expected_id:?}"),
                ));
            }
            Some(_) => return Err(invalid("ExecutionId", "must be a string")),
        };

        let script_path = match get_non_null(root, "ScriptPath") {
            Some(Value::String(s)) if !s.trim().is_empty() => PathBuf::from(s.trim()),
            Some(Value::String(_)) | None => {
                return Err(SpecError::Missing {
                    what: WHAT,
                    field: "ScriptPath",
                });
            }
            Some(_) => return Err(invalid("ScriptPath", "must be a string")),
        };
        if !stays_inside(&script_path) {
            return Err(invalid(
                "ScriptPath",
                format!("{script_path:?} leaves the task directory: use a path relative to it"),
            ));
        }

        let arguments = match get_non_null(root, "Arguments") {
            None => Vec::new(),
            Some(Value::String(s)) => split_arguments(s).map_err(|_| {
                invalid(
                    "Arguments",
                    "has an unterminated quote: close it, or pass an array",
                )
            })?,
            Some(Value::Array(items)) => strings(items, "Arguments")?,
            Some(_) => {
                return Err(invalid(
                    "Arguments",
                    "must be a string or an array of strings",
                ));
            }
        };
        let requirements = match get_non_null(root, "Requirements") {
            None => Vec::new(),
            Some(Value::Array(items)) => strings(items, "Requirements")?,
            Some(_) => return Err(invalid("Requirements", "must be an array of strings")),
        };

        Ok(Self {
            execution_id,
            script_path,
            arguments,
            requirements,
        })
    }
}

/// True when `path` is relative and has no `..`, so joining it to a directory stays there.
pub fn stays_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)))
}

fn invalid(field: &'static str, problem: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        what: WHAT,
        field,
        problem: problem.into(),
    }
}

fn strings(items: &[Value], name: &'static str) -> Result<Vec<String>, SpecError> {
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(name, "must contain only strings"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::chain;

    const ID: &str = "12345678-1234-1234-1234-123456789012";

    #[test]
    fn reads_the_seed_001_example() {
        let info = ExecutionInfo::from_json(
            r#"{ "ExecutionId": "12345678-1234-1234-1234-123456789012", "ScriptPath": "script.py",
                 "Arguments": "--input-file data.csv --output-file results.csv",
                 "Requirements": ["pandas==1.5.3", "requests>=2.28.2", "openpyxl"] }"#,
            ID,
        )
        .unwrap();
        assert_eq!(info.script_path, Path::new("script.py"));
        assert_eq!(
            info.arguments,
            ["--input-file", "data.csv", "--output-file", "results.csv"]
        );
        assert_eq!(info.requirements.len(), 3);
    }

    #[test]
    fn camel_case_and_missing_optional_fields_are_fine() {
        let info = ExecutionInfo::from_json(r#"{"scriptPath":"bot.py"}"#, ID).unwrap();
        assert_eq!(info.execution_id, ID);
        assert!(info.arguments.is_empty() && info.requirements.is_empty());
    }

    #[test]
    fn rejects_what_cannot_be_run_safely() {
        let cases = [
            (r#"{"ScriptPath":"../x.py"}"#, "leaves the task directory"),
            (r#"{"ScriptPath":"/etc/x.py"}"#, "leaves the task directory"),
            (
                r#"{"ScriptPath":"a/../../x.py"}"#,
                "leaves the task directory",
            ),
            (r#"{"ScriptPath":""}"#, "has no ScriptPath"),
            (
                r#"{"ExecutionId":"other","ScriptPath":"x.py"}"#,
                "the task directory is",
            ),
            (
                r#"{"ScriptPath":"x.py","Requirements":"pandas"}"#,
                "must be an array",
            ),
            ("not json", "execution.json is not valid"),
        ];
        for (text, expected) in cases {
            let message = chain(&ExecutionInfo::from_json(text, ID).unwrap_err()).to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
