//! Seed 000's routes, with its field names, so an OpenAutomate client can move over.
//!
//! `POST /{tenant}/api/executions/trigger` takes `{BotAgentId, PackageId, Version?,
//! ScheduleId?}` (any case) and answers `{ExecutionId, Status: "Triggered"}`. In the
//! embedded server the bot agent is the local runner (its id is listed by
//! `GET /api/agents`) and a package is a job definition (`PackageId` is the job's id
//! or name). `GET /{tenant}/api/executions/{id}/status` answers the execution with
//! PascalCase fields. `{tenant}` must be the token's tenant; any other is 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::package::Version;
use bosun_core::wire::{self, ErrorBody, SeedStatus, SeedTriggerStatus, SeedTriggered};
use bosun_store::{Agent, NewExecution, RemoteTarget};
use chrono::Utc;
use serde_json::Value;

use crate::auth::Caller;
use crate::definition::field;
use crate::error::{ApiError, ApiJson};
use crate::runner::RUNNER_NAME;
use crate::state::AppState;
use bosun_core::{Action, AgentStatus, ExecutionStatus, Resource, TriggerKind};

/// Succeeds when `tenant` (a slug or id, from a route) is the caller's own; any other
/// is 404, as if it did not exist.
pub(crate) fn same_tenant(caller: &Caller, tenant: &str) -> Result<(), ApiError> {
    if caller.tenant.slug == tenant || caller.tenant.id == tenant {
        Ok(())
    } else {
        Err(ApiError::NotFound("tenant"))
    }
}

fn text<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    field(body, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Seed 000: trigger a package (job) on a bot agent (executions:create).
#[utoipa::path(
    post,
    path = "/{tenant}/api/executions/trigger",
    operation_id = "seed_trigger",
    tag = "seed",
    params(("tenant" = String, Path, description = "the token's tenant, by slug or id")),
    request_body(content = Object, description = "{BotAgentId, PackageId, Version?, ScheduleId?}, names in any case"),
    responses(
        (status = 200, description = "triggered", body = SeedTriggered),
        (status = 400, description = "a missing id, or the agent is not available", body = ErrorBody),
        (status = 404, description = "no such tenant, agent or package", body = ErrorBody),
    )
)]
pub(super) async fn trigger(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<SeedTriggered>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Executions, Action::Create)?;
    let agent_id = text(&body, "BotAgentId").ok_or_else(|| {
        ApiError::BadRequest("BotAgentId is required: see GET /api/agents".to_owned())
    })?;
    let package_id = text(&body, "PackageId").ok_or_else(|| {
        ApiError::BadRequest("PackageId is required: the id or name of a job".to_owned())
    })?;
    let agent = state
        .store
        .agent_by_id_or_name(&caller.tenant.id, agent_id)
        .await?
        .ok_or(ApiError::NotFound("bot agent"))?;
    if agent.name != RUNNER_NAME {
        return remote(&state, &caller, agent, package_id, &body).await;
    }
    if agent.status != AgentStatus::Available {
        return Err(ApiError::BadRequest(
            "Bot agent is not available".to_owned(),
        ));
    }
    let job = state
        .store
        .job(&caller.tenant.id, package_id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let detail = text(&body, "ScheduleId").map(|s| format!("schedule {s}"));
    let execution =
        super::jobs::enqueue(&state, &job, TriggerKind::Seed, detail, Vec::new()).await?;
    Ok(Json(SeedTriggered {
        execution_id: execution.id,
        status: SeedTriggerStatus::Triggered,
    }))
}

/// A trigger for a remote agent: the execution waits, Pending, until the agent takes
/// it (at once if it is connected), or fails when the wait runs out.
async fn remote(
    state: &AppState,
    caller: &Caller,
    agent: Agent,
    package_id: &str,
    body: &Value,
) -> Result<Json<SeedTriggered>, ApiError> {
    if !agent.active {
        return Err(ApiError::Conflict(format!(
            "bot agent {} is deactivated: trigger another agent",
            agent.name
        )));
    }
    let package = state
        .store
        .package(&caller.tenant.id, package_id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let version = match text(body, "Version") {
        Some(wanted) => {
            let wanted: Version =
                wanted
                    .parse()
                    .map_err(|e: bosun_core::package::VersionError| {
                        ApiError::BadRequest(e.to_string())
                    })?;
            package
                .versions
                .iter()
                .find(|v| v.version == wanted)
                .ok_or(ApiError::NotFound("package version"))?
                .version
                .clone()
        }
        None => package
            .versions
            .last()
            .ok_or_else(|| {
                ApiError::Conflict(format!(
                    "package {} has no versions: upload one first",
                    package.name
                ))
            })?
            .version
            .clone(),
    };
    let new = NewExecution {
        tenant_id: caller.tenant.id.clone(),
        job_id: package.id.clone(),
        job_name: package.name.to_string(),
        trigger: TriggerKind::Seed,
        trigger_detail: text(body, "ScheduleId").map(|s| format!("schedule {s}")),
        arguments: Vec::new(),
        runner: None,
        alone: false,
    };
    let target = RemoteTarget {
        agent_id: agent.id.clone(),
        package_id: package.id.clone(),
        package_version: version.to_string(),
        deliver_by: Utc::now() + state.config.agents.delivery_wait,
    };
    let execution = state.store.create_remote_execution(new, &target).await?;
    state
        .fleet
        .tell_execution(&execution, &agent.name, ExecutionStatus::Pending, None);
    state.fleet.wake(&agent.id);
    Ok(Json(SeedTriggered {
        execution_id: execution.id,
        status: SeedTriggerStatus::Triggered,
    }))
}

/// Seed 000: cancel an execution; on an agent, the whole process tree there is
/// stopped (executions:update).
#[utoipa::path(
    post,
    path = "/{tenant}/api/executions/{id}/cancel",
    operation_id = "seed_cancel",
    tag = "seed",
    params(
        ("tenant" = String, Path, description = "the token's tenant, by slug or id"),
        ("id" = String, Path),
    ),
    responses(
        (status = 202, description = "the execution, cancel requested", body = wire::Execution),
        (status = 404, description = "no such tenant or execution", body = ErrorBody),
        (status = 409, description = "it has already ended", body = ErrorBody),
    )
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<wire::Execution>), ApiError> {
    same_tenant(&caller, &tenant)?;
    super::executions::cancel_execution(&state, &caller, &id).await
}

/// Seed 000: an execution's status, PascalCase fields (executions:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/executions/{id}/status",
    operation_id = "seed_status",
    tag = "seed",
    params(
        ("tenant" = String, Path, description = "the token's tenant, by slug or id"),
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "the execution", body = SeedStatus),
        (status = 404, description = "no such tenant or execution", body = ErrorBody),
    )
)]
pub(super) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<SeedStatus>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Executions, Action::View)?;
    let e = super::executions::found(&state, &caller, &id).await?;
    Ok(Json(SeedStatus {
        id: e.id.clone(),
        execution_id: e.id.clone(),
        package_id: e.job_id.clone(),
        package_name: e.job_name.clone(),
        status: Some(e.status),
        success: e.status == ExecutionStatus::CompletedSuccessfully,
        exit_code: e.exit_code,
        message: e.message.clone(),
        status_message: e.status_message.clone(),
        progress: e.progress,
        start_time: e.start_time,
        end_time: e.end_time,
        duration_ms: e.duration_seconds().map(|s| (s * 1000.0).round() as i64),
        pid: e.pid,
    }))
}
