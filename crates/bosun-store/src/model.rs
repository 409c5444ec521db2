//! The rows the store hands out. They are not the API's replies: each converts into
//! its wire type (`bosun_core::wire`, see `wire.rs`), which is what the API answers.

use bosun_core::{AgentStatus, ExecutionStatus, FileMissed, MissedPolicy, Permission, TriggerKind};
use chrono::{DateTime, Utc};

/// A tenant: everything else belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// The short name used in seed 000's routes (`/{tenant}/api/...`).
    pub slug: String,
    /// A display name.
    pub name: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// An API token. Its secret is shown once, when created, and stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its id (also the visible prefix of the secret).
    pub id: String,
    /// The tenant it acts for.
    pub tenant_id: String,
    /// A name to recognise it by.
    pub name: String,
    /// What it may do, e.g. `executions:view`, `jobs:*`, `*`.
    pub permissions: Vec<Permission>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A machine that runs executions for a tenant (seed 000's BotAgent): the server's
/// own runner ([`bosun_core::LOCAL_AGENT`]), or a remote agent that connects to the
/// hub with its machine key (kept only as a hash, so never part of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Its id (seed 000's `BotAgentId`).
    pub id: String,
    /// The tenant it serves.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The name of the machine it runs on, as its owner gave it (may be empty).
    pub machine_name: String,
    /// Whether it takes executions; a remote agent is `Disconnected` until it
    /// connects.
    pub status: AgentStatus,
    /// False once deactivated: its machine key no longer finds it.
    pub active: bool,
    /// When it last showed it was alive.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// When it last connected to the hub.
    pub last_connected: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A bot package: a name in a tenant, and the versions uploaded under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: bosun_core::package::PackageName,
    /// What it does, if said.
    pub description: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When a version was last added.
    pub updated_at: DateTime<Utc>,
    /// Its versions, oldest first.
    pub versions: Vec<PackageVersion>,
}

/// One uploaded version of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageVersion {
    /// The version.
    pub version: bosun_core::package::Version,
    /// The archive's size in bytes.
    pub size: u64,
    /// The archive's SHA-256, in hex.
    pub sha256: String,
    /// Where the package storage keeps it.
    pub object_key: String,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// A job definition: a name and what to run, as JSON the server validates.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The definition as submitted.
    pub definition: serde_json::Value,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One execution of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Its id.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The job it ran.
    pub job_id: String,
    /// The job's name when it ran.
    pub job_name: String,
    /// Where it is in its life (seed 002's status names).
    pub status: ExecutionStatus,
    /// What started it.
    pub trigger: TriggerKind,
    /// About the trigger: the schedule's id, the file's path.
    pub trigger_detail: Option<String>,
    /// Extra arguments for this execution.
    pub arguments: Vec<String>,
    /// Which runner took it.
    pub runner: Option<String>,
    /// The job's process id while and after it ran.
    pub pid: Option<i64>,
    /// Its exit code, when it exited.
    pub exit_code: Option<i64>,
    /// How it ended, in a sentence.
    pub message: Option<String>,
    /// The last `::status::` line it printed; before it started, what the runner is
    /// doing for it ("building environment").
    pub status_message: Option<String>,
    /// The last `::progress::` it printed, 0–100.
    pub progress: Option<i64>,
    /// True once someone asked for it to be cancelled.
    pub cancel_requested: bool,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When its process started.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// When anything about it last changed (status, a status line, progress).
    pub last_update: DateTime<Utc>,
    /// Where its standard output is logged.
    pub output_log: Option<String>,
    /// Where its standard error is logged.
    pub error_log: Option<String>,
    /// The remote agent it was sent to; `None`: the local runner's.
    pub agent_id: Option<String>,
    /// The package it runs, by id, when it was sent to an agent (`None` for one sent
    /// before this was recorded: its `job_id` is the package's).
    pub package_id: Option<String>,
    /// The package version it runs, when it was sent to an agent.
    pub package_version: Option<String>,
    /// When its agent acknowledged it (sent to an agent only).
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Execution {
    /// True when it has ended, one way or another.
    pub fn is_finished(&self) -> bool {
        self.status.is_final()
    }

    /// Seconds from start to end (or to now, while it runs).
    pub fn duration_seconds(&self) -> Option<f64> {
        let start = self.start_time?;
        let end = self.end_time.unwrap_or_else(Utc::now);
        Some((end - start).num_milliseconds() as f64 / 1000.0)
    }
}

/// One step of an execution's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The status it entered.
    pub status: ExecutionStatus,
    /// Why, when known.
    pub message: Option<String>,
}

/// A schedule: when it fires. Stored, it is part of a [`ScheduleRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// A cron expression, or `None` for an interval.
    pub cron: Option<String>,
    /// The cron expression's time zone.
    pub timezone: Option<String>,
    /// The interval in milliseconds, or `None` for cron.
    pub every_ms: Option<i64>,
    /// What to do about missed fire times (stored as JSON).
    pub missed_policy: MissedPolicy,
    /// What intervals count from.
    pub anchor: DateTime<Utc>,
    /// When it fires next (to store a new one: the first time).
    pub next_fire: DateTime<Utc>,
}

/// A stored schedule of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The job it starts.
    pub job_id: String,
    /// When it fires.
    pub schedule: NewSchedule,
    /// When it last fired.
    pub last_fire: Option<DateTime<Utc>>,
}

/// A file trigger: which files start its job. Stored, it is part of a
/// [`FileTriggerRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFileTrigger {
    /// The directory watched.
    pub directory: String,
    /// The glob a file's path (relative to the directory) must match.
    pub glob: String,
    /// How long a file must be quiet before it fires.
    pub debounce_ms: i64,
    /// Whether subdirectories are watched.
    pub recursive: bool,
    /// What to do about files that arrived while nothing watched.
    pub missed_policy: FileMissed,
}

/// A stored file trigger of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTriggerRow {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The job it starts.
    pub job_id: String,
    /// Which files start it.
    pub trigger: NewFileTrigger,
}
