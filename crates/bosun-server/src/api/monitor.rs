//! Seed 002's monitor over HTTP: the running registry and stuck jobs.
//!
//! A job is stuck when it has run longer than `runningOver` seconds (default: its
//! definition's `stuckAfterSeconds`, else two hours), or has printed no status line
//! for `silentOver` seconds (default: its `silentAfterSeconds`, else never).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use bosun_core::wire::{MonitorEntry, Page};
use bosun_store::{Execution, ExecutionFilter};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::definition::Definition;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use bosun_core::{Action, ExecutionStatus, Resource};

const DEFAULT_STUCK_AFTER: f64 = 2.0 * 3600.0;

fn entry(e: &Execution, reason: Option<String>) -> MonitorEntry {
    let now = Utc::now();
    MonitorEntry {
        execution_id: e.id.clone(),
        job_name: e.job_name.clone(),
        start_time: e.start_time,
        last_status_update: Some(e.last_update),
        status_message: e.status_message.clone(),
        progress: e.progress,
        pid: e.pid,
        running_seconds: e
            .start_time
            .map(|s| (now - s).num_milliseconds() as f64 / 1000.0),
        seconds_since_last_update: Some((now - e.last_update).num_milliseconds() as f64 / 1000.0),
        reason,
    }
}

async fn running_of(state: &AppState, caller: &Caller) -> Result<Vec<Execution>, ApiError> {
    let filter = ExecutionFilter {
        status: Some(ExecutionStatus::Running),
        limit: Some(1000),
        ..ExecutionFilter::default()
    };
    Ok(state
        .store
        .executions(&caller.tenant.id, &filter)
        .await?
        .items)
}

/// The running registry (monitor:view).
#[utoipa::path(
    get,
    path = "/api/monitor/running",
    operation_id = "monitor_running",
    tag = "monitor",
    responses((status = 200, description = "every running execution", body = Page<MonitorEntry>))
)]
pub(super) async fn running(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<MonitorEntry>>, ApiError> {
    caller.require(Resource::Monitor, Action::View)?;
    let items = running_of(&state, &caller)
        .await?
        .iter()
        .map(|e| entry(e, None))
        .collect();
    Ok(Json(Page::all(items)))
}

/// The query of `GET /api/monitor/stuck`, in seconds.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct StuckQuery {
    /// Stuck when running longer (default: the job's `stuckAfterSeconds`, else two
    /// hours).
    running_over: Option<f64>,
    /// Stuck when silent longer (default: the job's `silentAfterSeconds`, else never).
    silent_over: Option<f64>,
}

/// Running executions over a time or silence threshold (monitor:view).
#[utoipa::path(
    get,
    path = "/api/monitor/stuck",
    operation_id = "monitor_stuck",
    tag = "monitor",
    params(StuckQuery),
    responses((status = 200, description = "the stuck executions, each with its reason", body = Page<MonitorEntry>))
)]
pub(super) async fn stuck(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<StuckQuery>,
) -> Result<Json<Page<MonitorEntry>>, ApiError> {
    caller.require(Resource::Monitor, Action::View)?;
    let now = Utc::now();
    let mut definitions: HashMap<String, Option<Definition>> = HashMap::new();
    let mut items = Vec::new();
    for e in running_of(&state, &caller).await? {
        if !definitions.contains_key(&e.job_id) {
            let definition = state
                .store
                .job(&caller.tenant.id, &e.job_id)
                .await?
                .and_then(|job| Definition::parse(&job.definition).ok());
            definitions.insert(e.job_id.clone(), definition);
        }
        let definition = definitions.get(&e.job_id).and_then(Option::as_ref);
        let running_over = query
            .running_over
            .or(definition
                .and_then(|d| d.stuck_after)
                .map(|d| d.as_secs_f64()))
            .unwrap_or(DEFAULT_STUCK_AFTER);
        let silent_over = query.silent_over.or(definition
            .and_then(|d| d.silent_after)
            .map(|d| d.as_secs_f64()));
        let ran = e
            .start_time
            .map(|s| (now - s).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0);
        let silent = (now - e.last_update).num_milliseconds() as f64 / 1000.0;
        let reason = if ran > running_over {
            Some(format!("running for {ran:.0}s, over {running_over:.0}s"))
        } else {
            silent_over
                .filter(|limit| silent > *limit)
                .map(|limit| format!("no status for {silent:.0}s, over {limit:.0}s"))
        };
        if reason.is_some() {
            items.push(entry(&e, reason));
        }
    }
    Ok(Json(Page::all(items)))
}
