//! bosun's domain and wire types.
//!
//! Everything here is plain data and pure functions: the job specification a user
//! writes (seed 002's process-job JSON), the states an execution moves through, the
//! result object bosun reports, the file formats kept from the seeds
//! (`execution.json`, `TaskQueue.json`) and the HTTP API's replies ([`wire`]). No
//! I/O happens in this crate, so every parser is tested beside its code and every
//! other crate can depend on it cheaply.

pub mod activity;
pub mod agent;
pub mod backoff;
pub mod case;
pub mod error;
pub mod execution_info;
pub mod job;
pub mod missed;
pub mod name;
mod named;
pub mod package;
pub mod path_error;
pub mod permission;
pub mod requirements;
pub mod result;
pub mod role;
pub mod status;
pub mod task_queue_file;
pub mod timespan;
pub mod trigger;
pub mod wire;

pub use activity::ActivityWindow;
pub use agent::{AgentStatus, LOCAL_AGENT};
pub use backoff::Backoff;
pub use case::check_fields;
pub use error::SpecError;
pub use execution_info::ExecutionInfo;
pub use job::{DEFAULT_TIMEOUT, JobSpec, Limits};
pub use missed::{FileMissed, MissedPolicy};
pub use name::{NameError, check_name, check_slug};
pub use named::UnknownName;
pub use path_error::PathIoError;
pub use permission::{Action, Permission, Resource};
pub use result::JobRunResult;
pub use role::Role;
pub use status::ExecutionStatus;
pub use task_queue_file::{BotTask, TaskQueue, TaskState};
pub use trigger::TriggerKind;
