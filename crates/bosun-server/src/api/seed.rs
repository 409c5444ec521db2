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
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::definition::field;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use bosun_core::{Action, AgentStatus, ExecutionStatus, Resource, TriggerKind};

fn same_tenant(caller: &Caller, tenant: &str) -> Result<(), ApiError> {
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

pub(super) async fn trigger(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
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
        .agent(&caller.tenant.id, agent_id)
        .await?
        .ok_or(ApiError::NotFound("bot agent"))?;
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
    Ok(Json(
        json!({ "ExecutionId": execution.id, "Status": "Triggered" }),
    ))
}

pub(super) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Executions, Action::View)?;
    let e = super::executions::found(&state, &caller, &id).await?;
    Ok(Json(json!({
        "Id": e.id,
        "ExecutionId": e.id,
        "PackageId": e.job_id,
        "PackageName": e.job_name,
        "Status": e.status,
        "Success": e.status == ExecutionStatus::CompletedSuccessfully,
        "ExitCode": e.exit_code,
        "Message": e.message,
        "StatusMessage": e.status_message,
        "Progress": e.progress,
        "StartTime": e.start_time,
        "EndTime": e.end_time,
        "DurationMs": e.duration_seconds().map(|s| (s * 1000.0).round() as i64),
        "Pid": e.pid,
    })))
}
