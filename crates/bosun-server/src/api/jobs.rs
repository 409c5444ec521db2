//! Job definitions: create, list, get, update, delete, and run one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::wire::{self, ErrorBody, Page};
use bosun_store::{Execution, Job, NewExecution, StoreError};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::admit;
use crate::auth::Caller;
use crate::definition::{Definition, DuplicatePolicy};
use crate::error::{ApiError, ApiJson};
use crate::runner::RUNNER_NAME;
use crate::state::AppState;
use bosun_core::{Action, Resource, TriggerKind};

/// A job as the API shows it: the stored row plus what kind of work it is.
fn view(job: Job) -> wire::Job {
    let kind = Definition::parse(&job.definition)
        .map(|d| d.kind())
        .unwrap_or("invalid");
    wire::Job {
        kind: kind.to_owned(),
        ..job.into()
    }
}

/// List job definitions (jobs:view).
#[utoipa::path(
    get,
    path = "/api/jobs",
    operation_id = "jobs_list",
    tag = "jobs",
    responses((status = 200, description = "every job of the tenant", body = Page<wire::Job>))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::Job>>, ApiError> {
    caller.require(Resource::Jobs, Action::View)?;
    let jobs = state.store.jobs(&caller.tenant.id).await?;
    Ok(Json(Page::all(jobs.into_iter().map(view).collect())))
}

/// Create a job definition (jobs:create).
#[utoipa::path(
    post,
    path = "/api/jobs",
    operation_id = "jobs_create",
    tag = "jobs",
    request_body(content = Object, description = "Seed 002's process job or a Python bot, plus monitor settings. Field names match in any case; any other field is refused (400)."),
    responses(
        (status = 201, description = "created", body = wire::Job),
        (status = 400, description = "an invalid definition", body = ErrorBody),
        (status = 409, description = "a job of that name exists", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<wire::Job>), ApiError> {
    caller.require(Resource::Jobs, Action::Create)?;
    let definition = Definition::check(&body).map_err(ApiError::BadRequest)?;
    let job = state
        .store
        .create_job(&caller.tenant.id, &definition.name, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(view(job))))
}

pub(super) async fn found(state: &AppState, caller: &Caller, job: &str) -> Result<Job, ApiError> {
    state
        .store
        .job(&caller.tenant.id, job)
        .await?
        .ok_or(ApiError::NotFound("job"))
}

/// The names of the caller's jobs, by id.
pub(super) async fn names(
    state: &AppState,
    caller: &Caller,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let jobs = state.store.jobs(&caller.tenant.id).await?;
    Ok(jobs.into_iter().map(|j| (j.id, j.name)).collect())
}

/// Get a job (jobs:view).
#[utoipa::path(
    get,
    path = "/api/jobs/{job}",
    operation_id = "jobs_get",
    tag = "jobs",
    params(("job" = String, Path, description = "id or name")),
    responses(
        (status = 200, description = "the job", body = wire::Job),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<wire::Job>, ApiError> {
    caller.require(Resource::Jobs, Action::View)?;
    Ok(Json(view(found(&state, &caller, &job).await?)))
}

/// Replace a job's definition (jobs:update).
#[utoipa::path(
    put,
    path = "/api/jobs/{job}",
    operation_id = "jobs_update",
    tag = "jobs",
    params(("job" = String, Path, description = "id or name")),
    request_body(content = Object, description = "the whole new definition, as for creating"),
    responses(
        (status = 200, description = "the job as changed", body = wire::Job),
        (status = 400, description = "an invalid definition", body = ErrorBody),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<wire::Job>, ApiError> {
    caller.require(Resource::Jobs, Action::Update)?;
    let existing = found(&state, &caller, &job).await?;
    let definition = Definition::check(&body).map_err(ApiError::BadRequest)?;
    state.known_jobs.forget(&existing.id);
    let updated = state
        .store
        .update_job(&caller.tenant.id, &existing.id, &definition.name, &body)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    Ok(Json(view(updated)))
}

/// Delete a job; its executions stay as history (jobs:delete).
#[utoipa::path(
    delete,
    path = "/api/jobs/{job}",
    operation_id = "jobs_delete",
    tag = "jobs",
    params(("job" = String, Path, description = "id or name")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Resource::Jobs, Action::Delete)?;
    let existing = found(&state, &caller, &job).await?;
    state.known_jobs.forget(&existing.id);
    state
        .store
        .delete_job(&caller.tenant.id, &existing.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /api/jobs/{job}/run`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RunRequest {
    /// Extra arguments for this execution, after the job's own.
    #[serde(default, alias = "Arguments")]
    arguments: Vec<String>,
}

/// Trigger an execution (executions:create).
#[utoipa::path(
    post,
    path = "/api/jobs/{job}/run",
    operation_id = "jobs_run",
    tag = "jobs",
    params(("job" = String, Path, description = "id or name")),
    request_body(content = Option<RunRequest>, description = "optional"),
    responses(
        (status = 202, description = "the execution, Pending or already Running", body = wire::Execution),
        (status = 404, description = "no such job", body = ErrorBody),
        (status = 409, description = "refused by the job's duplicate policy", body = ErrorBody),
    )
)]
pub(super) async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<wire::Execution>), ApiError> {
    caller.require(Resource::Executions, Action::Create)?;
    let body = body?;
    let key = job;
    // The body is optional: none means no extra arguments.
    let request: RunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RunRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let arguments = request.arguments;
    // The job as a run request last found it, if the store says it still is.
    if let Some(known) = state.known_jobs.get(&caller.tenant.id, &key) {
        let new = NewExecution::of(&known, TriggerKind::Api, None, arguments.clone());
        match admit_and_create(&state, &known, Some(known.updated_at), new).await {
            Ok(Some(execution)) => {
                return Ok((StatusCode::ACCEPTED, Json(execution.into())));
            }
            // Changed since: decided again on what it is. A refusal was decided on
            // what it is already, by the write that found it current.
            Ok(None) => state.known_jobs.forget(&known.id),
            Err(e) => return Err(e),
        }
    }
    let job = found(&state, &caller, &key).await?;
    let execution = enqueue(&state, &job, TriggerKind::Api, None, arguments).await?;
    state.known_jobs.put(&key, &job);
    Ok((StatusCode::ACCEPTED, Json(execution.into())))
}

/// Creates an execution of `job` for the runner, applying its duplicate policy.
pub(crate) async fn enqueue(
    state: &AppState,
    job: &Job,
    trigger: TriggerKind,
    detail: Option<String>,
    arguments: Vec<String>,
) -> Result<Execution, ApiError> {
    let new = NewExecution::of(job, trigger, detail, arguments);
    let created = admit_and_create(state, job, None, new).await?;
    Ok(created.expect("an execution with no condition is always created"))
}

/// Applies the duplicate policy and creates `new`, an execution of `job`; with a
/// `version`, only if the job's `updated_at` is still that (`None` otherwise).
async fn admit_and_create(
    state: &AppState,
    job: &Job,
    version: Option<chrono::DateTime<chrono::Utc>>,
    new: NewExecution,
) -> Result<Option<Execution>, ApiError> {
    let definition = admit::definition(job).map_err(ApiError::Conflict)?;
    // `skip` is applied by the write that creates the execution, atomically.
    let new = admit::under_policy(new, &definition);
    // With room in the runner, the execution is created claimed and handed straight
    // to it; a job that runs one at a time goes through the queue, which keeps order.
    let room = match definition.duplicate_policy {
        DuplicatePolicy::Queue => None,
        DuplicatePolicy::Skip | DuplicatePolicy::Allow => state.runner.reserve(),
    };
    let new = match room {
        Some(_) => new.claimed_by(RUNNER_NAME),
        None => new,
    };
    let created = match version {
        Some(version) => state.store.create_execution_if_current(new, version).await,
        None => state.store.create_execution(new).await.map(Some),
    };
    let created = match created {
        Err(StoreError::AlreadyActive { .. }) => {
            return Err(ApiError::Conflict(admit::refusal(job)));
        }
        created => created?,
    };
    let Some(execution) = created else {
        return Ok(None);
    };
    // Told before the runner has it, so that its start is told after.
    state.fleet.tell_created(&execution);
    match room {
        Some(room) => state.runner.hand_over(room, execution.clone(), definition),
        None => state.runner.wake(),
    }
    Ok(Some(execution))
}
