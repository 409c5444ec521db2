//! File triggers of jobs: add (a directory on the server, a glob, a debounce, a
//! missed-run policy), list, remove. The watches are told at once.
//!
//! The directory is checked when the trigger is added, so a typo answers 400 instead
//! of a watch that never fires.

use std::path::Path as FsPath;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_store::{FileTriggerRow, NewFileTrigger};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::watcher;
use bosun_core::{Action, FileMissed, Resource};

/// The longest debounce accepted: a day.
const MAX_DEBOUNCE_MS: i64 = 24 * 60 * 60 * 1000;

/// The body of `POST /api/jobs/{job}/triggers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewTriggerBody {
    directory: String,
    glob: String,
    debounce_ms: Option<i64>,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    missed: FileMissed,
}

/// A file trigger as the API shows it, with whether it is being watched.
fn view(state: &AppState, row: &FileTriggerRow, job_name: &str) -> Value {
    let health = state.trigger_health.of(&row.id);
    json!({
        "id": row.id,
        "jobId": row.job_id,
        "jobName": job_name,
        "directory": row.trigger.directory,
        "glob": row.trigger.glob,
        "debounceMs": row.trigger.debounce_ms,
        "recursive": row.trigger.recursive,
        "missed": row.trigger.missed_policy,
        "watching": matches!(health, Some(None)),
        "problem": health.flatten(),
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    ApiJson(body): ApiJson<NewTriggerBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    bosun_sched::check(&probe).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let row = state
        .store
        .create_file_trigger(&caller.tenant.id, &job.id, &new)
        .await?;
    state.triggers_changed.notify_one();
    Ok((StatusCode::CREATED, Json(view(&state, &row, &job.name))))
}

pub(super) async fn list_of_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Triggers, Action::View)?;
    let job = super::jobs::found(&state, &caller, &job).await?;
    let rows = state
        .store
        .file_triggers(Some(&caller.tenant.id), Some(&job.id))
        .await?;
    let items: Vec<Value> = rows.iter().map(|r| view(&state, r, &job.name)).collect();
    Ok(Json(json!({ "items": items })))
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Triggers, Action::View)?;
    let rows = state
        .store
        .file_triggers(Some(&caller.tenant.id), None)
        .await?;
    let names = super::jobs::names(&state, &caller).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| view(&state, r, names.get(&r.job_id).map_or("", String::as_str)))
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Resource::Triggers, Action::Delete)?;
    if !state
        .store
        .delete_file_trigger(&caller.tenant.id, &id)
        .await?
    {
        return Err(ApiError::NotFound("trigger"));
    }
    state.triggers_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
