//! File triggers of jobs: add (a directory on the server, a glob, a debounce, a
//! missed-run policy), list, remove. The watches are told at once.
//!
//! The directory is checked when the trigger is added, so a typo answers 400 instead
//! of a watch that never fires.

use std::path::Path as FsPath;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::error::chain;
use bosun_core::wire::{self, ErrorBody, Page};
use bosun_store::{FileTriggerRow, NewFileTrigger, StoreError};
use serde::Deserialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::starters::{self, Starter};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::watcher;
use bosun_core::{Action, FileMissed, Resource};

/// The longest debounce accepted: a day.
const MAX_DEBOUNCE_MS: i64 = 24 * 60 * 60 * 1000;

/// The body of `POST /api/jobs/{job}/triggers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewTriggerBody {
    /// The absolute path of a directory on the server.
    directory: String,
    /// Without '/', matches file names ("*.csv"); with '/', the path relative to the
    /// directory.
    glob: String,
    /// How long a file's writes must be quiet, 0 to 86400000 (a day); default 500.
    #[schema(minimum = 0, maximum = 86_400_000)]
    debounce_ms: Option<i64>,
    /// Watch subdirectories too; default false.
    #[serde(default)]
    recursive: bool,
    /// Files found when the watch starts that arrived while nothing watched:
    /// "run-all" (the default) starts the job for each, "skip" leaves them.
    #[serde(default)]
    #[schema(value_type = String)]
    missed: FileMissed,
}

/// A file trigger as the API shows it, with whether it is being watched.
fn view(state: &AppState, row: &FileTriggerRow, job_name: &str) -> wire::FileTrigger {
    let health = state.trigger_health.of(&row.id);
    wire::FileTrigger {
        id: row.id.clone(),
        job_id: row.job_id.clone(),
        job_name: job_name.to_owned(),
        directory: row.trigger.directory.clone(),
        glob: row.trigger.glob.clone(),
        debounce_ms: row.trigger.debounce_ms,
        recursive: row.trigger.recursive,
        missed: Some(row.trigger.missed_policy),
        watching: matches!(health, Some(None)),
        problem: health.flatten(),
    }
}

/// Add a file trigger: each matching file that arrives in the directory starts the job, with its path as the last argument (triggers:create).
#[utoipa::path(
    post,
    path = "/api/jobs/{job}/triggers",
    operation_id = "triggers_create",
    tag = "triggers",
    params(("job" = String, Path, description = "id or name")),
    request_body = NewTriggerBody,
    responses(
        (status = 201, description = "added", body = wire::FileTrigger),
        (status = 400, description = "a relative or missing directory, an empty or bad glob, a debounce out of range", body = ErrorBody),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    ApiJson(body): ApiJson<NewTriggerBody>,
) -> Result<(StatusCode, Json<wire::FileTrigger>), ApiError> {
    caller.require(Resource::Triggers, Action::Create)?;
    let job = super::jobs::found(&state, &caller, &job).await?;
    if !FsPath::new(&body.directory).is_absolute() {
        return Err(ApiError::BadRequest(format!(
            "directory {:?} is relative: give the absolute path of a directory on the server",
            body.directory
        )));
    }
    if body.glob.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "glob is empty: give the files to watch for, e.g. \"*.csv\" (or \"*\" for all)"
                .to_owned(),
        ));
    }
    let debounce_ms = body
        .debounce_ms
        .unwrap_or(bosun_sched::DEFAULT_DEBOUNCE.as_millis() as i64);
    if !(0..=MAX_DEBOUNCE_MS).contains(&debounce_ms) {
        return Err(ApiError::BadRequest(format!(
            "debounceMs {debounce_ms} is out of range: use 0 to {MAX_DEBOUNCE_MS} (a day)"
        )));
    }
    let new = NewFileTrigger {
        directory: body.directory,
        glob: body.glob,
        debounce_ms,
        recursive: body.recursive,
        missed_policy: body.missed,
    };
    // The directory must exist and the glob parse: the checks a watch would make.
    let probe = watcher::parse(&new);
    bosun_sched::check(&probe).map_err(|e| ApiError::BadRequest(chain(&e).to_string()))?;
    let row = state
        .store
        .create_file_trigger(&caller.tenant.id, &job.id, &new)
        .await?;
    state.triggers_changed.notify_one();
    Ok((StatusCode::CREATED, Json(view(&state, &row, &job.name))))
}

/// The job's file triggers (triggers:view).
#[utoipa::path(
    get,
    path = "/api/jobs/{job}/triggers",
    operation_id = "triggers_list_of_job",
    tag = "triggers",
    params(("job" = String, Path, description = "id or name")),
    responses(
        (status = 200, description = "the job's file triggers", body = Page<wire::FileTrigger>),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn list_of_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<Page<wire::FileTrigger>>, ApiError> {
    starters::list_of_job::<Triggers>(&state, &caller, &job)
        .await
        .map(Json)
}

/// Every file trigger of the tenant (triggers:view).
#[utoipa::path(
    get,
    path = "/api/triggers",
    operation_id = "triggers_list",
    tag = "triggers",
    responses((status = 200, description = "every file trigger", body = Page<wire::FileTrigger>))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::FileTrigger>>, ApiError> {
    starters::list::<Triggers>(&state, &caller).await.map(Json)
}

/// Remove a file trigger (triggers:delete).
#[utoipa::path(
    delete,
    path = "/api/triggers/{id}",
    operation_id = "triggers_delete",
    tag = "triggers",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such trigger", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    starters::delete::<Triggers>(&state, &caller, &id).await
}

/// File triggers, for the handlers they share with schedules.
pub(super) struct Triggers;

impl Starter for Triggers {
    type Row = FileTriggerRow;
    type View = wire::FileTrigger;
    const RESOURCE: Resource = Resource::Triggers;
    const NOUN: &'static str = "trigger";

    async fn rows(
        state: &AppState,
        tenant_id: &str,
        job_id: Option<&str>,
    ) -> Result<Vec<FileTriggerRow>, StoreError> {
        state.store.file_triggers(Some(tenant_id), job_id).await
    }

    fn job_id(row: &FileTriggerRow) -> &str {
        &row.job_id
    }

    fn view(state: &AppState, row: &FileTriggerRow, job_name: &str) -> Self::View {
        view(state, row, job_name)
    }

    async fn remove(state: &AppState, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        state.store.delete_file_trigger(tenant_id, id).await
    }

    fn changed(state: &AppState) -> &Notify {
        &state.triggers_changed
    }
}
