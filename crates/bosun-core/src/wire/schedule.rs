//! What starts a job on its own: its schedules and its file triggers.

use crate::{FileMissed, MissedPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lenient;

/// A schedule of a job: a cron expression in a time zone, or a fixed interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Schedule {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The job it starts.
    #[serde(deserialize_with = "lenient::text")]
    pub job_id: String,
    /// That job's name.
    #[serde(deserialize_with = "lenient::text")]
    pub job_name: String,
    /// A cron expression, or null for an interval.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub cron: Option<String>,
    /// The cron expression's IANA time zone.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub time_zone: Option<String>,
    /// The interval, e.g. `1h 30m`, or null for cron.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub every: Option<String>,
    /// What to do about fire times missed while the server was down: `"skip"`,
    /// `"run-once"` or `{"run-all": {"max": N}}`.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = Object)]
    pub missed: Option<MissedPolicy>,
    /// When it fires next; null when it never fires again.
    #[serde(deserialize_with = "lenient::value")]
    pub next_fire: Option<DateTime<Utc>>,
    /// When it last fired.
    #[serde(deserialize_with = "lenient::value")]
    pub last_fire: Option<DateTime<Utc>>,
}

/// A file trigger of a job, with whether it is being watched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FileTrigger {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The job it starts.
    #[serde(deserialize_with = "lenient::text")]
    pub job_id: String,
    /// That job's name.
    #[serde(deserialize_with = "lenient::text")]
    pub job_name: String,
    /// The directory watched, on the server.
    #[serde(deserialize_with = "lenient::text")]
    pub directory: String,
    /// The glob a file must match.
    #[serde(deserialize_with = "lenient::text")]
    pub glob: String,
    /// How long a file's writes must be quiet before it fires, in milliseconds.
    #[serde(deserialize_with = "lenient::value")]
    pub debounce_ms: i64,
    /// Whether subdirectories are watched.
    #[serde(deserialize_with = "lenient::value")]
    pub recursive: bool,
    /// What to do about files that arrived while nothing watched: `run-all` or `skip`.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String)]
    pub missed: Option<FileMissed>,
    /// True while the watch runs.
    #[serde(deserialize_with = "lenient::value")]
    pub watching: bool,
    /// Why it is not being watched, when it is not.
    #[serde(deserialize_with = "lenient::text_opt")]
    pub problem: Option<String>,
}
