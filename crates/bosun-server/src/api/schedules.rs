//! Schedules of jobs: add (a cron expression in a time zone, or a fixed interval, with
//! a missed-run policy), list, remove. The clock is told at once.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::wire::{self, ErrorBody, Page};
use bosun_sched::{MissedPolicy, Schedule};
use bosun_store::{NewSchedule, ScheduleRow, StoreError};
use chrono::Utc;
use serde::Deserialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::starters::{self, Starter};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ServerError};
use crate::scheduler::{self, NEVER};
use crate::state::AppState;
use bosun_core::{Action, Resource};

/// The body of `POST /api/jobs/{job}/schedules`: give `cron` or `every`, not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewScheduleBody {
    /// 5 fields (minute first) or 6 (seconds first), e.g. "0 */5 * * * *".
    cron: Option<String>,
    /// IANA name, with cron only; default UTC.
    time_zone: Option<String>,
    /// An interval such as "30s", "5m", "1h30m" (at least 1s), counted from when the
    /// schedule is added.
    every: Option<String>,
    /// What to do about fire times missed while the server was down: "skip" (runs
    /// the latest only if at most a minute late), "run-once" (the default) or
    /// {"run-all": {"max": N}}.
    #[serde(default)]
    #[schema(value_type = Object)]
    missed: MissedPolicy,
}

/// A schedule as the API shows it.
fn view(row: &ScheduleRow, job_name: &str) -> wire::Schedule {
    let s = &row.schedule;
    let every = s
        .every_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| humantime::format_duration(Duration::from_millis(ms)).to_string());
    wire::Schedule {
        id: row.id.clone(),
        job_id: row.job_id.clone(),
        job_name: job_name.to_owned(),
        cron: s.cron.clone(),
        time_zone: s.timezone.clone(),
        every,
        missed: Some(s.missed_policy),
        next_fire: (s.next_fire != NEVER).then_some(s.next_fire),
        last_fire: row.last_fire,
    }
}

/// Add a schedule: a cron expression in a time zone, or a fixed interval (schedules:create).
#[utoipa::path(
    post,
    path = "/api/jobs/{job}/schedules",
    operation_id = "schedules_create",
    tag = "schedules",
    params(("job" = String, Path, description = "id or name")),
    request_body = NewScheduleBody,
    responses(
        (status = 201, description = "added", body = wire::Schedule),
        (status = 400, description = "an expression, zone or interval that does not parse, or never fires", body = ErrorBody),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
    ApiJson(body): ApiJson<NewScheduleBody>,
) -> Result<(StatusCode, Json<wire::Schedule>), ApiError> {
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
    scheduler::parse(&row.schedule).map_err(|problem| ServerError::Schedule {
        id: row.id.clone(),
        problem,
    })?;
    state.schedules_changed.notify_one();
    Ok((StatusCode::CREATED, Json(view(&row, &job.name))))
}

/// The job's schedules (schedules:view).
#[utoipa::path(
    get,
    path = "/api/jobs/{job}/schedules",
    operation_id = "schedules_list_of_job",
    tag = "schedules",
    params(("job" = String, Path, description = "id or name")),
    responses(
        (status = 200, description = "the job's schedules", body = Page<wire::Schedule>),
        (status = 404, description = "no such job", body = ErrorBody),
    )
)]
pub(super) async fn list_of_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<Page<wire::Schedule>>, ApiError> {
    starters::list_of_job::<Schedules>(&state, &caller, &job)
        .await
        .map(Json)
}

/// Every schedule of the tenant (schedules:view).
#[utoipa::path(
    get,
    path = "/api/schedules",
    operation_id = "schedules_list",
    tag = "schedules",
    responses((status = 200, description = "every schedule", body = Page<wire::Schedule>))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::Schedule>>, ApiError> {
    starters::list::<Schedules>(&state, &caller).await.map(Json)
}

/// Remove a schedule (schedules:delete).
#[utoipa::path(
    delete,
    path = "/api/schedules/{id}",
    operation_id = "schedules_delete",
    tag = "schedules",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such schedule", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    starters::delete::<Schedules>(&state, &caller, &id).await
}

/// Schedules, for the handlers they share with file triggers.
pub(super) struct Schedules;

impl Starter for Schedules {
    type Row = ScheduleRow;
    type View = wire::Schedule;
    const RESOURCE: Resource = Resource::Schedules;
    const NOUN: &'static str = "schedule";

    async fn rows(
        state: &AppState,
        tenant_id: &str,
        job_id: Option<&str>,
    ) -> Result<Vec<ScheduleRow>, StoreError> {
        state.store.schedules(tenant_id, job_id).await
    }

    fn job_id(row: &ScheduleRow) -> &str {
        &row.job_id
    }

    fn view(_: &AppState, row: &ScheduleRow, job_name: &str) -> Self::View {
        view(row, job_name)
    }

    async fn remove(state: &AppState, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        state.store.delete_schedule(tenant_id, id).await
    }

    fn changed(state: &AppState) -> &Notify {
        &state.schedules_changed
    }
}
