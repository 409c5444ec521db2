//! Executions: list with filters and paging, counts by status and over time, get
//! with history, cancel, run again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::wire::{self, ErrorBody, Page};
use bosun_core::{ActivityWindow, ExecutionStatus, LOCAL_AGENT, TriggerKind};
use bosun_store::{Execution, ExecutionFilter, RunBy};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use bosun_core::{Action, Resource};

/// The query of `GET /api/executions`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only this job's (id or name).
    job: Option<String>,
    /// Only in this status (any case).
    #[param(value_type = Option<bosun_core::ExecutionStatus>)]
    status: Option<String>,
    /// Only those run by this agent (id or name), or by the server's own runner:
    /// `local`.
    agent: Option<String>,
    /// Only those started this way: `api`, `schedule`, `file` or `seed` (any case).
    trigger: Option<String>,
    /// Only those that ran this package (id or name) on an agent.
    package: Option<String>,
    /// Only those created at or after this time (RFC 3339).
    from: Option<String>,
    /// Only those created before this time (RFC 3339).
    to: Option<String>,
    /// At most this many, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` cursor of the previous page.
    before: Option<String>,
}

/// List executions, newest first (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions",
    operation_id = "executions_list",
    tag = "executions",
    params(ListQuery),
    responses(
        (status = 200, description = "one page; `next` is absent on the last", body = Page<wire::Execution>),
        (status = 400, description = "an unknown status or trigger, a time that is not RFC 3339, `from` not before `to`, a limit out of range or a bad cursor", body = ErrorBody),
        (status = 404, description = "no such job, agent or package", body = ErrorBody),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<wire::Execution>>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let job_id = match &query.job {
        Some(job) => Some(super::jobs::found(&state, &caller, job).await?.id),
        None => None,
    };
    let status = match query.status {
        Some(s) => Some(ExecutionStatus::from_name(&s).ok_or_else(|| {
            let names: Vec<&str> = ExecutionStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(format!(
                "unknown status {s:?}: use one of {}",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let trigger = query
        .trigger
        .as_deref()
        .map(TriggerKind::from_name)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (from, to) = (time("from", &query.from)?, time("to", &query.to)?);
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) is not before `to` ({to}): give a `from` earlier than `to`"
        )));
    }
    if let Some(limit) = query.limit.filter(|l| !(1..=1000).contains(l)) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is out of range: use 1 to 1000"
        )));
    }
    let run_by = match &query.agent {
        Some(agent) => Some(run_by(&state, &caller, agent).await?),
        None => None,
    };
    let package_id = match &query.package {
        Some(package) => Some(
            state
                .store
                .package(&caller.tenant.id, package)
                .await?
                .ok_or(ApiError::NotFound("package"))?
                .id,
        ),
        None => None,
    };
    let filter = ExecutionFilter {
        job_id,
        status,
        run_by,
        trigger,
        package_id,
        from,
        to,
        limit: query.limit,
        before: query.before,
    };
    let page = state.store.executions(&caller.tenant.id, &filter).await?;
    Ok(Json(page.into()))
}

/// The query parameter `name`, an RFC 3339 time, if given.
fn time(name: &str, text: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "`{name}` {text:?} is not a time ({e}): use RFC 3339, e.g. \
                 2026-01-02T15:04:05Z (in a URL, write an offset's + as %2B)"
            ))
        })
}

/// Where the agent a list is filtered by runs executions: `local` (or the built-in
/// agent's id) is the server's own runner, any other the tenant's agent of that id
/// or name.
async fn run_by(state: &AppState, caller: &Caller, agent: &str) -> Result<RunBy, ApiError> {
    if agent.trim().eq_ignore_ascii_case(LOCAL_AGENT) {
        return Ok(RunBy::Local);
    }
    let found = state
        .store
        .agent_by_id_or_name(&caller.tenant.id, agent)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    Ok(if found.name == LOCAL_AGENT {
        RunBy::Local
    } else {
        RunBy::Agent(found.id)
    })
}

/// The query of `GET /api/executions/activity`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct ActivityQuery {
    /// `hour` (the default: 60 one-minute buckets) or `day` (96 quarter hours).
    window: Option<String>,
}

/// How many of the tenant's executions were created, and how many of those failed
/// (`Failed`, `TimedOut`), in each minute of the last hour or each quarter hour of the
/// last day: every bucket, oldest first, the last one holding now (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions/activity",
    operation_id = "executions_activity",
    tag = "executions",
    params(ActivityQuery),
    responses(
        (status = 200, description = "the counts, one per bucket", body = wire::ExecutionActivity),
        (status = 400, description = "an unknown window", body = ErrorBody),
    )
)]
pub(super) async fn activity(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Json<wire::ExecutionActivity>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let window = match query.window.as_deref() {
        Some(name) => {
            ActivityWindow::from_name(name).map_err(|e| ApiError::BadRequest(e.to_string()))?
        }
        None => ActivityWindow::Hour,
    };
    let counts = state
        .store
        .execution_activity(
            &caller.tenant.id,
            window.first_bucket(Utc::now()),
            chrono::TimeDelta::seconds(window.bucket_seconds()),
            window.buckets(),
        )
        .await?;
    Ok(Json(wire::ExecutionActivity {
        window: Some(window),
        bucket_seconds: window.bucket_seconds(),
        buckets: counts
            .into_iter()
            .map(|c| wire::ActivityBucket {
                start: Some(c.start),
                total: c.total,
                failed: c.failed,
            })
            .collect(),
    }))
}

/// How many of the tenant's executions are in each status (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions/summary",
    operation_id = "executions_summary",
    tag = "executions",
    responses((status = 200, description = "the counts", body = wire::ExecutionSummary))
)]
pub(super) async fn summary(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<wire::ExecutionSummary>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let counts = state.store.execution_counts(&caller.tenant.id).await?;
    Ok(Json(wire::ExecutionSummary {
        total: counts.iter().map(|(_, n)| n).sum(),
        counts: counts
            .into_iter()
            .map(|(status, count)| wire::StatusCount {
                status: Some(status),
                count,
            })
            .collect(),
    }))
}

pub(super) async fn found(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Execution, ApiError> {
    state
        .store
        .execution(&caller.tenant.id, id)
        .await?
        .ok_or(ApiError::NotFound("execution"))
}

/// An execution with its status history (executions:view).
#[utoipa::path(
    get,
    path = "/api/executions/{id}",
    operation_id = "executions_get",
    tag = "executions",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the execution", body = wire::ExecutionDetail),
        (status = 404, description = "no such execution", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<wire::ExecutionDetail>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let execution = found(&state, &caller, &id).await?;
    let events = state.store.events(&execution.id).await?;
    Ok(Json(wire::ExecutionDetail {
        duration_seconds: execution.duration_seconds(),
        execution: execution.into(),
        events: events.into_iter().map(Into::into).collect(),
    }))
}

/// Cancel: a Pending execution ends at once, a Running one is stopped (executions:update).
#[utoipa::path(
    post,
    path = "/api/executions/{id}/cancel",
    operation_id = "executions_cancel",
    tag = "executions",
    params(("id" = String, Path)),
    responses(
        (status = 202, description = "the execution, cancel requested", body = wire::Execution),
        (status = 404, description = "no such execution", body = ErrorBody),
        (status = 409, description = "it has already ended", body = ErrorBody),
    )
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<wire::Execution>), ApiError> {
    cancel_execution(&state, &caller, &id).await
}

/// Cancels the caller's execution `id`, on the local runner or on its agent.
pub(super) async fn cancel_execution(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(StatusCode, Json<wire::Execution>), ApiError> {
    caller.require(Resource::Executions, Action::Update)?;
    let execution = state
        .store
        .request_cancel(&caller.tenant.id, id)
        .await?
        .ok_or(ApiError::NotFound("execution"))?;
    if execution.is_finished() && execution.status != ExecutionStatus::Cancelled {
        return Err(ApiError::Conflict(format!(
            "execution {id} has already ended ({})",
            execution.status
        )));
    }
    if execution.agent_id.is_some() {
        state.fleet.cancel(&execution).await;
    } else {
        state.runner.cancel(id);
    }
    Ok((StatusCode::ACCEPTED, Json(execution.into())))
}

/// Run an execution's job again, with the same arguments, as `POST
/// /api/jobs/{job}/run` would: the job's duplicate policy, agent and package apply as
/// they are now (executions:create).
#[utoipa::path(
    post,
    path = "/api/executions/{id}/rerun",
    operation_id = "executions_rerun",
    tag = "executions",
    params(("id" = String, Path, description = "the execution to run again")),
    responses(
        (status = 202, description = "the new execution (trigger `api`, detail `rerun of <id>`), Pending or already Running", body = wire::Execution),
        (status = 404, description = "no such execution, or its job was deleted", body = ErrorBody),
        (status = 409, description = "refused by the job's duplicate policy, or the execution ran a package through seed 000's trigger route rather than a job", body = ErrorBody),
    )
)]
pub(super) async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<wire::Execution>), ApiError> {
    caller.require(Resource::Executions, Action::Create)?;
    let execution = found(&state, &caller, &id).await?;
    let Some(job) = state
        .store
        .job(&caller.tenant.id, &execution.job_id)
        .await?
    else {
        // Seed 000's trigger of a package on an agent names the package as its job.
        if execution.package_id.as_deref() == Some(execution.job_id.as_str()) {
            return Err(ApiError::Conflict(format!(
                "execution {id} ran package {:?} through seed 000's trigger route, not a \
                 job: trigger it again with POST /{{tenant}}/api/executions/trigger",
                execution.job_name
            )));
        }
        return Err(ApiError::NotFoundBecause(format!(
            "the job of execution {id}, {:?}, was deleted: create it again and run it",
            execution.job_name
        )));
    };
    let detail = format!("rerun of {}", execution.id);
    let created = super::jobs::enqueue(
        &state,
        &job,
        TriggerKind::Api,
        Some(detail),
        execution.arguments,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(created.into())))
}
