//! Schedules of jobs: add (a cron expression in a time zone, or a fixed interval, with
//! a missed-run policy), list, remove. The clock is told at once.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_sched::{MissedPolicy, Schedule};
use bosun_store::{NewSchedule, ScheduleRow};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::scheduler::{self, NEVER};
use crate::state::AppState;
use bosun_core::{Action, Resource};

/// The body of `POST /api/jobs/{job}/schedules`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewScheduleBody {
    cron: Option<String>,
    time_zone: Option<String>,
    every: Option<String>,
    #[serde(default)]
    missed: MissedPolicy,
}

/// A schedule as the API shows it.
fn view(row: &ScheduleRow, job_name: &str) -> Value {
    let s = &row.schedule;
    let every = s
        .every_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| humantime::format_duration(Duration::from_millis(ms)).to_string());
    json!({
        "id": row.id,
        "jobId": row.job_id,
        "jobName": job_name,
        "cron": s.cron,
        "timeZone": s.timezone,
        "every": every,
        "missed": s.missed_policy,
        "nextFire": (s.next_fire != NEVER).then_some(s.next_fire),
        "lastFire": row.last_fire,
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    ApiJson(body): ApiJson<NewScheduleBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Resource::Schedules, Action::Create)?;
    let job = super::jobs::found(&state, &caller, &job).await?;
    let now = Utc::now();
    let bad = |e: bosun_sched::ScheduleError| ApiError::BadRequest(e.to_string());
    let schedule = match (&body.cron, &body.every, &body.time_zone) {
        (Some(cron), None, zone) => Schedule::cron(cron, zone.as_deref()).map_err(bad)?,
        (None, Some(every), None) => {
            Schedule::every_from(Schedule::parse_interval(every).map_err(bad)?, now).map_err(bad)?
        }
        (None, Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "\"timeZone\" goes with \"cron\"; an interval (\"every\") counts from when it is added".into(),
            ));
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give one of \"cron\" (e.g. \"0 */5 * * * *\") or \"every\" (e.g. \"30s\", \"1h\")"
                    .into(),
            ));
        }
    };
    let next_fire = schedule
        .next_after(now)
        .ok_or_else(|| ApiError::BadRequest("this schedule never fires again".into()))?;
    let new = NewSchedule {
        cron: schedule.expression().map(str::to_owned),
        timezone: schedule.time_zone().map(str::to_owned),
        every_ms: schedule
            .interval()
            .map(|i| i64::try_from(i.as_millis()).unwrap_or(i64::MAX)),
        missed_policy: body.missed,
        anchor: now,
        next_fire,
    };
    let row = state
        .store
        .create_schedule(&caller.tenant.id, &job.id, &new)
        .await?;
    // What the clock will read back must parse: checked here, not at the first fire.
    scheduler::parse(&row.schedule).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    state.schedules_changed.notify_one();
    Ok((StatusCode::CREATED, Json(view(&row, &job.name))))
}

pub(super) async fn list_of_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Schedules, Action::View)?;
    let job = super::jobs::found(&state, &caller, &job).await?;
    let rows = state
        .store
        .schedules(&caller.tenant.id, Some(&job.id))
        .await?;
    let items: Vec<Value> = rows.iter().map(|r| view(r, &job.name)).collect();
    Ok(Json(json!({ "items": items })))
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Schedules, Action::View)?;
    let rows = state.store.schedules(&caller.tenant.id, None).await?;
    let names = super::jobs::names(&state, &caller).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| view(r, names.get(&r.job_id).map_or("", String::as_str)))
        .collect();
    Ok(Json(json!({ "items": items })))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Resource::Schedules, Action::Delete)?;
    if !state.store.delete_schedule(&caller.tenant.id, &id).await? {
        return Err(ApiError::NotFound("schedule"));
    }
    state.schedules_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
