//! The server's JSON answers as the client reads them: leniently. Unknown fields are
//! ignored, every field may be missing or null, and a field of an unexpected type reads
//! as absent, so a newer server does not break an older client's tables.

use bosun_core::ExecutionStatus;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `{"items": [...], "next": "cursor"}`: a listing, maybe one page of it.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub(crate) struct List<T> {
    /// The entries.
    #[serde(default)]
    pub(crate) items: Vec<T>,
    /// The cursor of the next page, when there is one.
    #[serde(default, deserialize_with = "text")]
    pub(crate) next: Option<String>,
}

/// A job as the server stores it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Job {
    /// Its id.
    #[serde(deserialize_with = "text")]
    pub(crate) id: Option<String>,
    /// Its name, unique per tenant.
    #[serde(deserialize_with = "text")]
    pub(crate) name: Option<String>,
    /// What it runs, as the server names it.
    #[serde(deserialize_with = "text")]
    pub(crate) kind: Option<String>,
    /// The definition as submitted.
    pub(crate) definition: Value,
    /// When it last changed (RFC 3339).
    #[serde(deserialize_with = "text")]
    pub(crate) updated_at: Option<String>,
}

impl Job {
    /// What it runs: `process`, `bot`, or whatever the definition says.
    pub(crate) fn kind(&self) -> &str {
        if let Some(kind) = &self.kind {
            return kind;
        }
        let definition = &self.definition;
        let has = |key: &str| {
            definition
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(key)))
        };
        if has("process") {
            "process"
        } else if has("bot") {
            "bot"
        } else {
            "-"
        }
    }
}

/// One execution of a job.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Execution {
    /// Its id.
    #[serde(deserialize_with = "text")]
    pub(crate) id: Option<String>,
    /// The job's name when it ran.
    #[serde(deserialize_with = "text")]
    pub(crate) job_name: Option<String>,
    /// Its status by name.
    #[serde(deserialize_with = "text")]
    pub(crate) status: Option<String>,
    /// The job's process id.
    #[serde(deserialize_with = "lenient")]
    pub(crate) pid: Option<i64>,
    /// Its exit code.
    #[serde(deserialize_with = "lenient")]
    pub(crate) exit_code: Option<i64>,
    /// How it ended, in a sentence.
    #[serde(deserialize_with = "text")]
    pub(crate) message: Option<String>,
    /// The last status line the job printed.
    #[serde(deserialize_with = "text")]
    pub(crate) status_message: Option<String>,
    /// The last progress the job printed, 0–100.
    #[serde(deserialize_with = "lenient")]
    pub(crate) progress: Option<f64>,
    /// Whether someone asked for it to stop.
    #[serde(deserialize_with = "lenient")]
    pub(crate) cancel_requested: Option<bool>,
    /// When it was asked for.
    #[serde(deserialize_with = "text")]
    pub(crate) created_at: Option<String>,
    /// When its process started.
    #[serde(deserialize_with = "text")]
    pub(crate) start_time: Option<String>,
    /// When it ended.
    #[serde(deserialize_with = "text")]
    pub(crate) end_time: Option<String>,
}

impl Execution {
    /// Its status, when it is one bosun knows.
    pub(crate) fn status(&self) -> Option<ExecutionStatus> {
        parse_status(self.status.as_deref()?)
    }

    /// True once it has ended: a final status, or an end time.
    pub(crate) fn is_finished(&self) -> bool {
        match self.status() {
            Some(status) => status.is_final(),
            None => self.end_time.is_some(),
        }
    }

    /// The id, or a dash.
    pub(crate) fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("-")
    }

    /// The job's name, or a dash.
    pub(crate) fn job(&self) -> &str {
        self.job_name.as_deref().unwrap_or("-")
    }

    /// The status's name, or a dash.
    pub(crate) fn status_text(&self) -> &str {
        self.status.as_deref().unwrap_or("-")
    }
}

/// An execution the monitor thinks may be stuck.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Stuck {
    /// The execution's id.
    #[serde(deserialize_with = "text")]
    pub(crate) execution_id: Option<String>,
    /// Its job's name.
    #[serde(deserialize_with = "text")]
    pub(crate) job_name: Option<String>,
    /// Its last status line.
    #[serde(deserialize_with = "text")]
    pub(crate) status_message: Option<String>,
    /// Its last progress, 0–100.
    #[serde(deserialize_with = "lenient")]
    pub(crate) progress: Option<f64>,
    /// How long it has run.
    #[serde(deserialize_with = "lenient")]
    pub(crate) running_seconds: Option<f64>,
    /// How long since it last printed or reported anything.
    #[serde(deserialize_with = "lenient")]
    pub(crate) seconds_since_last_update: Option<f64>,
    /// Why it is listed.
    #[serde(deserialize_with = "text")]
    pub(crate) reason: Option<String>,
}

/// The body of every error answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApiError {
    /// A machine-readable code.
    #[serde(deserialize_with = "text")]
    #[allow(dead_code, reason = "read for completeness; only the message is shown")]
    pub(crate) code: Option<String>,
    /// A sentence for people.
    #[serde(deserialize_with = "text")]
    pub(crate) message: Option<String>,
}

/// A status by its JSON name.
pub(crate) fn parse_status(name: &str) -> Option<ExecutionStatus> {
    ExecutionStatus::from_name(name)
}

/// Any scalar as text (a number id reads as its digits); null and objects as absent.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    })
}

/// The value if it has the expected type, else absent.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(deserializer)?).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_are_read_leniently() {
        let json = r#"{"id": 7, "jobName": "hello", "status": "Running", "pid": "oops",
                       "progress": 40, "exitCode": null, "newField": {"x": 1}}"#;
        let execution: Execution = serde_json::from_str(json).unwrap();
        assert_eq!(execution.id(), "7");
        assert_eq!(execution.status(), Some(ExecutionStatus::Running));
        assert_eq!(execution.pid, None);
        assert_eq!(execution.progress, Some(40.0));
        assert!(!execution.is_finished());
        let empty: Execution = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.job(), "-");
    }

    #[test]
    fn a_job_s_kind_comes_from_its_definition() {
        let job: Job =
            serde_json::from_str(r#"{"name": "a", "definition": {"process": {"command": "x"}}}"#)
                .unwrap();
        assert_eq!(job.kind(), "process");
        let job: Job = serde_json::from_str(r#"{"definition": {"bot": {}}}"#).unwrap();
        assert_eq!(job.kind(), "bot");
        let job: Job = serde_json::from_str(r#"{"kind": "python", "definition": {}}"#).unwrap();
        assert_eq!(job.kind(), "python");
    }
}
