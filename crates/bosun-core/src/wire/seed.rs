//! Seed 000's replies, with its PascalCase field names, so an OpenAutomate client can
//! move over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lenient;
use crate::ExecutionStatus;

/// What `POST /{tenant}/api/executions/trigger` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct SeedTriggered {
    /// The execution's id.
    #[serde(deserialize_with = "lenient::text")]
    pub execution_id: String,
    /// Always `Triggered`.
    pub status: SeedTriggerStatus,
}

/// The one status seed 000's trigger answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SeedTriggerStatus {
    /// The execution was created.
    #[default]
    Triggered,
}

/// What `GET /{tenant}/api/executions/{id}/status` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct SeedStatus {
    /// The execution's id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The execution's id again, as seed 000 names it.
    #[serde(deserialize_with = "lenient::text")]
    pub execution_id: String,
    /// The job's id (a package, in seed 000).
    #[serde(deserialize_with = "lenient::text")]
    pub package_id: String,
    /// The job's name.
    #[serde(deserialize_with = "lenient::text")]
    pub package_name: String,
    /// Where it is in its life.
    #[serde(deserialize_with = "lenient::status")]
    #[schema(value_type = ExecutionStatus)]
    pub status: Option<ExecutionStatus>,
    /// True once it completed successfully.
    #[serde(deserialize_with = "lenient::value")]
    pub success: bool,
    /// Its exit code, when it exited.
    #[serde(deserialize_with = "lenient::value")]
    pub exit_code: Option<i64>,
    /// How it ended, in a sentence.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub message: Option<String>,
    /// The last status line it printed.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub status_message: Option<String>,
    /// The last progress it printed, 0–100.
    #[serde(deserialize_with = "lenient::value")]
    pub progress: Option<i64>,
    /// When its process started.
    #[serde(deserialize_with = "lenient::value")]
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(deserialize_with = "lenient::value")]
    pub end_time: Option<DateTime<Utc>>,
    /// Milliseconds from start to end (or to now, while it runs).
    #[serde(deserialize_with = "lenient::value")]
    pub duration_ms: Option<i64>,
    /// Its process id.
    #[serde(deserialize_with = "lenient::value")]
    pub pid: Option<i64>,
}
