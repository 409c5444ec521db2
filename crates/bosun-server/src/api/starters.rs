//! What starts a job without a request: its schedules and its file triggers. Both are
//! listed (of one job, or all of a tenant) and removed the same way, so one set of
//! handlers serves both; [`Kind`] says where each kind's rows are and how they look.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::{Action, Resource};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// A kind of starter.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// `/api/schedules`.
    Schedules,
    /// `/api/triggers`: file triggers.
    Triggers,
}

/// A route's kind of starter, as a type: what the handlers are generic over.
pub(super) trait Starter {
    /// The kind.
    const KIND: Kind;
}

/// Schedules, as a type.
pub(super) struct Schedules;

impl Starter for Schedules {
    const KIND: Kind = Kind::Schedules;
}

/// File triggers, as a type.
pub(super) struct Triggers;

impl Starter for Triggers {
    const KIND: Kind = Kind::Triggers;
}

impl Kind {
    /// The resource a token needs permissions on.
    fn resource(self) -> Resource {
        match self {
            Kind::Schedules => Resource::Schedules,
            Kind::Triggers => Resource::Triggers,
        }
    }

    /// The tenant's starters (of one job, or all) as the API shows them; `job_name`
    /// names the job of each.
    async fn views<'n>(
        self,
        state: &AppState,
        tenant_id: &str,
        job_id: Option<&str>,
        job_name: impl Fn(&str) -> &'n str,
    ) -> Result<Vec<Value>, ApiError> {
        Ok(match self {
            Kind::Schedules => {
                let rows = state.store.schedules(tenant_id, job_id).await?;
                let view = |r: &_| super::schedules::view(r, job_name(&r.job_id));
                rows.iter().map(view).collect()
            }
            Kind::Triggers => {
                let rows = state.store.file_triggers(Some(tenant_id), job_id).await?;
                let view = |r: &_| super::triggers::view(state, r, job_name(&r.job_id));
                rows.iter().map(view).collect()
            }
        })
    }

    /// Removes one of the tenant's starters; 404 when it has none of that id.
    async fn remove(self, state: &AppState, tenant_id: &str, id: &str) -> Result<(), ApiError> {
        let (found, missing) = match self {
            Kind::Schedules => (
                state.store.delete_schedule(tenant_id, id).await?,
                "schedule",
            ),
            Kind::Triggers => (
                state.store.delete_file_trigger(tenant_id, id).await?,
                "trigger",
            ),
        };
        if found {
            Ok(())
        } else {
            Err(ApiError::NotFound(missing))
        }
    }

    /// What is told when a starter goes away: the clock, or the watches.
    fn changed(self, state: &AppState) -> &Notify {
        match self {
            Kind::Schedules => &state.schedules_changed,
            Kind::Triggers => &state.triggers_changed,
        }
    }
}

/// `GET /api/jobs/{job}/schedules` and `…/triggers`.
pub(super) async fn list_of_job<S: Starter>(
    State(state): State<AppState>,
    caller: Caller,
    Path(job): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(S::KIND.resource(), Action::View)?;
    let job = super::jobs::found(&state, &caller, &job).await?;
    let items = S::KIND
        .views(&state, &caller.tenant.id, Some(&job.id), |_| {
            job.name.as_str()
        })
        .await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/schedules` and `/api/triggers`.
pub(super) async fn list<S: Starter>(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(S::KIND.resource(), Action::View)?;
    let names = super::jobs::names(&state, &caller).await?;
    let name = |job_id: &str| names.get(job_id).map_or("", String::as_str);
    let items = S::KIND.views(&state, &caller.tenant.id, None, name).await?;
    Ok(Json(json!({ "items": items })))
}

/// `DELETE /api/schedules/{id}` and `/api/triggers/{id}`.
pub(super) async fn delete<S: Starter>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(S::KIND.resource(), Action::Delete)?;
    S::KIND.remove(&state, &caller.tenant.id, &id).await?;
    S::KIND.changed(&state).notify_one();
    Ok(StatusCode::NO_CONTENT)
}
