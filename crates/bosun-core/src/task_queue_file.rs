//! `TaskQueue.json`, the bot agent's local queue from seed 000.
//!
//! ```json
//! { "Tasks": [ { "TaskId": "…", "ScriptPath": "/…/BotScripts/web-scraper_1.0.0_abc123",
//!                "PackageId": "…", "PackageName": "web-scraper", "Version": "1.0.0",
//!                "Status": "Pending", "CreatedTime": "2024-12-29T10:00:00Z" } ],
//!   "LastUpdated": "2024-12-29T10:00:00Z" }
//! ```
//!
//! Fields bosun does not know are kept and written back unchanged, so another tool's
//! additions survive a round trip. Field names are read in PascalCase or camelCase and
//! written in PascalCase.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::SpecError;

/// The whole queue file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskQueue {
    /// Every task, in file order.
    #[serde(default, alias = "tasks")]
    pub tasks: Vec<BotTask>,
    /// When the file was last written.
    #[serde(
        default = "Utc::now",
        alias = "lastUpdated",
        deserialize_with = "lenient_time"
    )]
    pub last_updated: DateTime<Utc>,
    /// Fields bosun does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One task of the queue. `Status` is one of `Pending`, `Running`, `Completed`, `Failed`
/// ([`TaskState`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)] // the fields are seed 000's, documented there and in docs/
pub struct BotTask {
    #[serde(alias = "taskId")]
    pub task_id: String,
    #[serde(default, alias = "scriptPath")]
    pub script_path: String,
    #[serde(default, alias = "packageId")]
    pub package_id: Option<String>,
    #[serde(default, alias = "packageName")]
    pub package_name: Option<String>,
    #[serde(default, alias = "version")]
    pub version: Option<String>,
    #[serde(default, alias = "status")]
    pub status: TaskState,
    #[serde(
        default = "Utc::now",
        alias = "createdTime",
        deserialize_with = "lenient_time"
    )]
    pub created_time: DateTime<Utc>,
    #[serde(default, alias = "startTime", deserialize_with = "lenient_opt_time")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, alias = "endTime", deserialize_with = "lenient_opt_time")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default, alias = "pid")]
    pub pid: Option<u32>,
    #[serde(default, alias = "errorMessage")]
    pub error_message: Option<String>,
    #[serde(default, alias = "executionId")]
    pub execution_id: Option<String>,
    /// Fields bosun does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A task's state, as seed 000 spells it. A state the seed does not name (another
/// tool's) is kept as it was written, and such a task is left alone; a known name is
/// read in any case and written as the seed spells it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to be taken.
    #[default]
    Pending,
    /// Taken by a `bosun queue` process; `Pid` names it.
    Running,
    /// The bot exited with code 0.
    Completed,
    /// The bot failed or could not be run; `ErrorMessage` says why.
    Failed,
    /// A state the seed does not name, as written.
    Other(String),
}

impl TaskState {
    /// The states the seed names.
    const KNOWN: [TaskState; 4] = [
        TaskState::Pending,
        TaskState::Running,
        TaskState::Completed,
        TaskState::Failed,
    ];

    /// Its text, as written to the file.
    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Pending => "Pending",
            TaskState::Running => "Running",
            TaskState::Completed => "Completed",
            TaskState::Failed => "Failed",
            TaskState::Other(text) => text,
        }
    }

    /// The state written as `text`: a known name in any case, else [`TaskState::Other`].
    pub fn from_text(text: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(text))
            .unwrap_or_else(|| TaskState::Other(text.to_owned()))
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TaskState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(TaskState::from_text(&text))
    }
}

impl TaskQueue {
    /// Parses the file's text. An empty or whitespace-only file is an empty queue.
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|source| SpecError::Json {
            what: "TaskQueue.json",
            source,
        })
    }

    /// Serializes the queue as indented JSON, the way the seed writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("a TaskQueue always serializes: it holds only JSON values")
    }

    /// The index of the oldest `Pending` task (by `CreatedTime`, then file order).
    pub fn next_pending(&self) -> Option<usize> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.status == TaskState::Pending)
            .min_by_key(|(i, t)| (t.created_time, *i))
            .map(|(i, _)| i)
    }

    /// The task with this id.
    pub fn task_mut(&mut self, task_id: &str) -> Option<&mut BotTask> {
        self.tasks.iter_mut().find(|t| t.task_id == task_id)
    }
}

/// Reads RFC 3339 times, and also the zone-less form .NET writes for
/// `DateTimeKind.Unspecified` (taken as UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_time(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("not a date and time: {text:?}")))
}

fn lenient_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse_time(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("not a date and time: {text:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{
      "Tasks": [
        { "TaskId": "b", "ScriptPath": "/s/b", "PackageId": "p", "PackageName": "web-scraper",
          "Version": "1.0.0", "Status": "Pending", "CreatedTime": "2024-12-29T10:00:05Z",
          "StartTime": null, "EndTime": null, "Pid": null, "ErrorMessage": null,
          "ExecutionId": "e", "Priority": 7 },
        { "taskId": "a", "scriptPath": "/s/a", "status": "Pending",
          "createdTime": "2024-12-29T10:00:00.1234567" },
        { "TaskId": "c", "ScriptPath": "/s/c", "Status": "Running", "CreatedTime": "2024-12-28T00:00:00Z" }
      ],
      "LastUpdated": "2024-12-29T10:00:00Z",
      "Owner": "agent-7"
    }"#;

    #[test]
    fn oldest_pending_wins_whatever_the_case_of_the_fields() {
        let queue = TaskQueue::from_json(SEED).unwrap();
        assert_eq!(queue.tasks[queue.next_pending().unwrap()].task_id, "a");
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let queue = TaskQueue::from_json(SEED).unwrap();
        let back: Value = serde_json::from_str(&queue.to_json()).unwrap();
        assert_eq!(back["Owner"], "agent-7");
        assert_eq!(back["Tasks"][0]["Priority"], 7);
        assert_eq!(back["Tasks"][1]["TaskId"], "a");
        assert_eq!(
            back["Tasks"][1]["CreatedTime"],
            "2024-12-29T10:00:00.123456700Z"
        );
    }

    #[test]
    fn empty_text_is_an_empty_queue_and_garbage_is_an_error() {
        assert!(TaskQueue::from_json("  \n").unwrap().tasks.is_empty());
        assert!(TaskQueue::from_json("{\"Tasks\": [").is_err());
        assert!(
            TaskQueue::from_json(r#"{"Tasks":[{"TaskId":"x","CreatedTime":"yesterday"}]}"#)
                .is_err()
        );
    }

    #[test]
    fn a_state_is_read_in_any_case_and_an_unknown_one_is_kept_as_written() {
        let text = r#"{"Tasks":[{"TaskId":"x","Status":"pending"},
            {"TaskId":"y","Status":"Paused"},{"TaskId":"z"}]}"#;
        let queue = TaskQueue::from_json(text).unwrap();
        let states: Vec<&TaskState> = queue.tasks.iter().map(|t| &t.status).collect();
        assert_eq!(
            states,
            [
                &TaskState::Pending,
                &TaskState::Other("Paused".to_owned()),
                &TaskState::Pending
            ]
        );
        let back: Value = serde_json::from_str(&queue.to_json()).unwrap();
        assert_eq!(back["Tasks"][0]["Status"], "Pending");
        assert_eq!(back["Tasks"][1]["Status"], "Paused");
    }

    #[test]
    fn nothing_pending_gives_none() {
        let queue =
            TaskQueue::from_json(r#"{"Tasks":[{"TaskId":"x","Status":"Completed"}]}"#).unwrap();
        assert_eq!(queue.next_pending(), None);
    }
}
