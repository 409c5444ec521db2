//! Executions as the API shows them: one, one with its history, the monitor's view
//! of a running one, and the counts the dashboard charts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lenient;
use crate::{ActivityWindow, ExecutionStatus, TriggerKind};

/// One execution of a job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Execution {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The tenant it belongs to.
    #[serde(deserialize_with = "lenient::text")]
    pub tenant_id: String,
    /// The job it ran.
    #[serde(deserialize_with = "lenient::text")]
    pub job_id: String,
    /// The job's name when it ran.
    #[serde(deserialize_with = "lenient::text")]
    pub job_name: String,
    /// Where it is in its life; `None` only when read from a server with a status
    /// this build does not know.
    #[serde(deserialize_with = "lenient::status")]
    #[schema(value_type = ExecutionStatus)]
    pub status: Option<ExecutionStatus>,
    /// What started it: `api`, `schedule`, `file`, `seed`; `None` only when read from
    /// a server with a kind this build does not know.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String)]
    pub trigger: Option<TriggerKind>,
    /// About the trigger: the schedule's id, the file's path.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub trigger_detail: Option<String>,
    /// Extra arguments for this execution.
    #[serde(deserialize_with = "lenient::value")]
    pub arguments: Vec<String>,
    /// Which runner took it.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub runner: Option<String>,
    /// The job's process id while and after it ran.
    #[serde(deserialize_with = "lenient::value")]
    pub pid: Option<i64>,
    /// Its exit code, when it exited.
    #[serde(deserialize_with = "lenient::value")]
    pub exit_code: Option<i64>,
    /// How it ended, in a sentence.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub message: Option<String>,
    /// The last `::status::` line it printed; before it started, what the runner is
    /// doing for it ("building environment").
    #[serde(deserialize_with = "lenient::text_opt")]
    pub status_message: Option<String>,
    /// The last `::progress::` it printed, 0–100.
    #[serde(deserialize_with = "lenient::value")]
    pub progress: Option<i64>,
    /// True once someone asked for it to be cancelled.
    #[serde(deserialize_with = "lenient::value")]
    pub cancel_requested: bool,
    /// When it was asked for.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
    /// When its process started.
    #[serde(deserialize_with = "lenient::value")]
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(deserialize_with = "lenient::value")]
    pub end_time: Option<DateTime<Utc>>,
    /// When anything about it last changed (status, a status line, progress).
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub last_update: Option<DateTime<Utc>>,
    /// Where its standard output is logged.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub output_log: Option<String>,
    /// Where its standard error is logged.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub error_log: Option<String>,
    /// The remote agent it was sent to; absent for the local runner's.
    #[serde(
        default,
        deserialize_with = "lenient::text_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_id: Option<String>,
    /// The package version it runs on that agent.
    #[serde(
        default,
        deserialize_with = "lenient::text_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub package_version: Option<String>,
}

impl Execution {
    /// True once it has ended: a final status or, with a status this build does not
    /// know, an end time.
    pub fn is_finished(&self) -> bool {
        match self.status {
            Some(status) => status.is_final(),
            None => self.end_time.is_some(),
        }
    }
}

/// An execution with how long it ran and its status history
/// (`GET /api/executions/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionDetail {
    /// The execution.
    #[serde(flatten)]
    pub execution: Execution,
    /// Seconds from start to end (or to now, while it runs); null before it starts.
    #[serde(deserialize_with = "lenient::value")]
    pub duration_seconds: Option<f64>,
    /// The statuses it went through, oldest first.
    #[serde(deserialize_with = "lenient::value")]
    pub events: Vec<ExecutionEvent>,
}

/// One step of an execution's status history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionEvent {
    /// When.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Option<DateTime<Utc>>,
    /// The status it entered.
    #[serde(deserialize_with = "lenient::status")]
    #[schema(value_type = ExecutionStatus)]
    pub status: Option<ExecutionStatus>,
    /// Why, when known.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub message: Option<String>,
}

/// A running execution as the monitor shows it (`/api/monitor/running`), and, with
/// a reason, one it thinks is stuck (`/api/monitor/stuck`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MonitorEntry {
    /// The execution's id.
    #[serde(deserialize_with = "lenient::text")]
    pub execution_id: String,
    /// Its job's name.
    #[serde(deserialize_with = "lenient::text")]
    pub job_name: String,
    /// When its process started.
    #[serde(deserialize_with = "lenient::value")]
    pub start_time: Option<DateTime<Utc>>,
    /// When it last printed a status or progress, or changed status.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub last_status_update: Option<DateTime<Utc>>,
    /// Its last status line.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub status_message: Option<String>,
    /// Its last progress, 0–100.
    #[serde(deserialize_with = "lenient::value")]
    pub progress: Option<i64>,
    /// Its process id.
    #[serde(deserialize_with = "lenient::value")]
    pub pid: Option<i64>,
    /// How long it has run.
    #[serde(deserialize_with = "lenient::value")]
    pub running_seconds: Option<f64>,
    /// How long since it last printed or reported anything.
    #[serde(deserialize_with = "lenient::value")]
    pub seconds_since_last_update: Option<f64>,
    /// Why it is listed as stuck; absent in the running list.
    #[serde(
        deserialize_with = "lenient::text_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_are_read_leniently() {
        let json = r#"{"id": 7, "jobName": "hello", "status": "Running", "pid": "oops",
                       "progress": 40, "exitCode": null, "newField": {"x": 1}}"#;
        let execution: Execution = serde_json::from_str(json).unwrap();
        assert_eq!(execution.id, "7");
        assert_eq!(execution.status, Some(ExecutionStatus::Running));
        assert_eq!(execution.pid, None);
        assert_eq!(execution.progress, Some(40));
        assert!(!execution.is_finished());
        let empty: Execution = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.job_name, "");
        let odd: Execution = serde_json::from_str(r#"{"startTime": "yesterday"}"#).unwrap();
        assert_eq!(
            odd.start_time, None,
            "a time that is not RFC 3339 reads as absent"
        );
    }

    #[test]
    fn an_unknown_status_is_finished_by_its_end_time() {
        let json = r#"{"status": "Paused", "endTime": "2026-01-02T03:04:05Z"}"#;
        let execution: Execution = serde_json::from_str(json).unwrap();
        assert_eq!(execution.status, None);
        assert!(execution.is_finished());
    }

    #[test]
    fn activity_is_sent_in_the_shape_the_dashboard_reads() {
        let activity = ExecutionActivity {
            window: Some(ActivityWindow::Hour),
            bucket_seconds: 60,
            buckets: vec![ActivityBucket {
                start: Some("2026-01-02T03:04:00Z".parse().unwrap()),
                total: 3,
                failed: 1,
            }],
        };
        let json = serde_json::to_string(&activity).unwrap();
        assert_eq!(
            json,
            r#"{"window":"hour","bucketSeconds":60,"buckets":[{"start":"2026-01-02T03:04:00Z","total":3,"failed":1}]}"#
        );
        assert_eq!(
            serde_json::from_str::<ExecutionActivity>(&json).unwrap(),
            activity
        );
        let odd: ExecutionActivity = serde_json::from_str(r#"{"window": "week"}"#).unwrap();
        assert_eq!(odd.window, None);
    }

    #[test]
    fn a_detail_reads_its_execution_beside_its_history() {
        let json = r#"{"id": "e", "status": "Failed", "durationSeconds": 1.5,
                       "events": [{"at": "2026-01-02T03:04:05Z", "status": "Running"}]}"#;
        let detail: ExecutionDetail = serde_json::from_str(json).unwrap();
        assert_eq!(detail.execution.id, "e");
        assert_eq!(detail.duration_seconds, Some(1.5));
        assert_eq!(detail.events[0].status, Some(ExecutionStatus::Running));
    }
}

/// How many of a tenant's executions are in each status (`GET /api/executions/summary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionSummary {
    /// Every execution kept, in any status.
    #[serde(deserialize_with = "lenient::value")]
    pub total: i64,
    /// One entry a status that has executions, in the order of the statuses' life.
    #[serde(deserialize_with = "lenient::value")]
    pub counts: Vec<StatusCount>,
}

/// The executions in one status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusCount {
    /// The status; `None` only when read from a server with a status this build
    /// does not know.
    #[serde(deserialize_with = "lenient::status")]
    #[schema(value_type = String)]
    pub status: Option<ExecutionStatus>,
    /// How many.
    #[serde(deserialize_with = "lenient::value")]
    pub count: i64,
}

/// The tenant's executions of a recent window, counted per bucket of time by when
/// they were created (`GET /api/executions/activity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionActivity {
    /// `hour` or `day`; `None` only when read from a server with a window this
    /// build does not know.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String)]
    pub window: Option<ActivityWindow>,
    /// How long each bucket is: 60 (an hour's minutes) or 900 (a day's quarter hours).
    #[serde(deserialize_with = "lenient::value")]
    pub bucket_seconds: i64,
    /// Every bucket of the window, oldest first, the last one holding now; those
    /// with no executions count zero.
    #[serde(deserialize_with = "lenient::value")]
    pub buckets: Vec<ActivityBucket>,
}

/// The executions created in one bucket of time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ActivityBucket {
    /// When the bucket starts; it ends where the next starts.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub start: Option<DateTime<Utc>>,
    /// How many were created in it, in any status.
    #[serde(deserialize_with = "lenient::value")]
    pub total: i64,
    /// How many of those ended `Failed` or `TimedOut`.
    #[serde(deserialize_with = "lenient::value")]
    pub failed: i64,
}
