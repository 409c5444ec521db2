//! Executions: list with filters and paging, get with history, cancel.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::ExecutionStatus;
use bosun_store::{Execution, ExecutionFilter};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use bosun_core::{Action, Resource};

/// The query of `GET /api/executions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListQuery {
    job: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    before: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
    if let Some(limit) = query.limit.filter(|l| !(1..=1000).contains(l)) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is out of range: use 1 to 1000"
        )));
    }
    let filter = ExecutionFilter {
        job_id,
        status,
        limit: query.limit,
        before: query.before,
    };
    let page = state.store.executions(&caller.tenant.id, &filter).await?;
    Ok(Json(serde_json::to_value(page).expect("a page serializes")))
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

pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let execution = found(&state, &caller, &id).await?;
    let events = state.store.events(&execution.id).await?;
    let mut value = serde_json::to_value(&execution).expect("an execution serializes");
    value["durationSeconds"] =
        serde_json::to_value(execution.duration_seconds()).expect("a number");
    value["events"] = serde_json::to_value(events).expect("events serialize");
    Ok(Json(value))
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Execution>), ApiError> {
    caller.require(Resource::Executions, Action::Update)?;
    let execution = state
        .store
        .request_cancel(&caller.tenant.id, &id)
        .await?
        .ok_or(ApiError::NotFound("execution"))?;
    if execution.is_finished() && execution.status != ExecutionStatus::Cancelled {
        return Err(ApiError::Conflict(format!(
            "execution {id} has already ended ({})",
            execution.status
        )));
    }
    state.runner.cancel(&id);
    Ok((StatusCode::ACCEPTED, Json(execution)))
}
