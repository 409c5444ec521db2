//! What starts a job without a request: its schedules and its file triggers. Both are
//! listed (of one job, or all of a tenant) and removed the same way, so one set of
//! handlers serves both; a [`Starter`] says where each kind's rows are and how they
//! look. Each kind's routes keep a thin handler of their own, which carries its
//! OpenAPI description and calls these.

use std::future::Future;

use axum::http::StatusCode;
use bosun_core::wire::Page;
use bosun_core::{Action, Resource};
use bosun_store::StoreError;
use tokio::sync::Notify;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// A kind of starter: schedules or file triggers.
pub(super) trait Starter {
    /// A stored one.
    type Row: Send + Sync;
    /// One as the API shows it.
    type View;
    /// What a token needs permissions on.
    const RESOURCE: Resource;
    /// What a 404 says is missing.
    const NOUN: &'static str;

    /// The tenant's starters, of one job or all.
    fn rows(
        state: &AppState,
        tenant_id: &str,
        job_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;

    /// The job a row starts.
    fn job_id(row: &Self::Row) -> &str;

    /// A row as the API shows it, with its job's name.
    fn view(state: &AppState, row: &Self::Row, job_name: &str) -> Self::View;

    /// Removes one of the tenant's; false when it has none of that id.
    fn remove(
        state: &AppState,
        tenant_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// What is told when one goes away: the clock, or the watches.
    fn changed(state: &AppState) -> &Notify;
}

/// `GET /api/jobs/{job}/schedules` and `…/triggers`.
pub(super) async fn list_of_job<S: Starter>(
    state: &AppState,
    caller: &Caller,
    job: &str,
) -> Result<Page<S::View>, ApiError> {
    caller.require(S::RESOURCE, Action::View)?;
    let job = super::jobs::found(state, caller, job).await?;
    let rows = S::rows(state, &caller.tenant.id, Some(&job.id)).await?;
    Ok(Page::all(
        rows.iter().map(|r| S::view(state, r, &job.name)).collect(),
    ))
}

/// `GET /api/schedules` and `/api/triggers`.
pub(super) async fn list<S: Starter>(
    state: &AppState,
    caller: &Caller,
) -> Result<Page<S::View>, ApiError> {
    caller.require(S::RESOURCE, Action::View)?;
    let rows = S::rows(state, &caller.tenant.id, None).await?;
    let names = super::jobs::names(state, caller).await?;
    let name = |row: &S::Row| names.get(S::job_id(row)).map_or("", String::as_str);
    Ok(Page::all(
        rows.iter().map(|r| S::view(state, r, name(r))).collect(),
    ))
}

/// `DELETE /api/schedules/{id}` and `/api/triggers/{id}`.
pub(super) async fn delete<S: Starter>(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<StatusCode, ApiError> {
    caller.require(S::RESOURCE, Action::Delete)?;
    if !S::remove(state, &caller.tenant.id, id).await? {
        return Err(ApiError::NotFound(S::NOUN));
    }
    S::changed(state).notify_one();
    Ok(StatusCode::NO_CONTENT)
}
