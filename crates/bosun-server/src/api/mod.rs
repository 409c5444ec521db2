//! The HTTP API: bosun's own routes under `/api`, seed 000's under `/{tenant}/api`.
//! Every route but `/healthz` and `/api/openapi.json` needs a bearer token, and
//! every object is looked up inside the token's tenant, so another tenant's objects
//! answer 404. Every error, also those axum answers itself (a wrong method, a path it
//! cannot read), has the body `{"code", "message"}` ([`crate::error::json_errors`]).

mod admin;
mod executions;
mod jobs;
mod logs;
mod monitor;
mod schedules;
mod seed;
mod starters;
mod triggers;

#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};

use crate::error::ApiError;
use crate::state::AppState;
use starters::{Schedules, Triggers};

/// The OpenAPI document of every route.
const OPENAPI: &str = include_str!("../openapi.json");

/// The router of the whole API.
pub(crate) fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/api/jobs", get(jobs::list).post(jobs::create))
        .route(
            "/api/jobs/{job}",
            get(jobs::get).put(jobs::update).delete(jobs::delete),
        )
        .route("/api/jobs/{job}/run", post(jobs::run))
        .route(
            "/api/jobs/{job}/schedules",
            get(starters::list_of_job::<Schedules>).post(schedules::create),
        )
        .route("/api/schedules", get(starters::list::<Schedules>))
        .route("/api/schedules/{id}", delete(starters::delete::<Schedules>))
        .route(
            "/api/jobs/{job}/triggers",
            get(starters::list_of_job::<Triggers>).post(triggers::create),
        )
        .route("/api/triggers", get(starters::list::<Triggers>))
        .route("/api/triggers/{id}", delete(starters::delete::<Triggers>))
        .route("/api/executions", get(executions::list))
        .route("/api/executions/{id}", get(executions::get))
        .route("/api/executions/{id}/cancel", post(executions::cancel))
        .route("/api/executions/{id}/logs", get(logs::tail))
        .route("/api/executions/{id}/logs/follow", get(logs::follow))
        .route("/api/monitor/running", get(monitor::running))
        .route("/api/monitor/stuck", get(monitor::stuck))
        .route("/api/tokens", get(admin::tokens).post(admin::create_token))
        .route("/api/tokens/{id}", delete(admin::delete_token))
        .route("/api/agents", get(admin::agents))
        .route(
            "/api/tenants",
            get(admin::tenants).post(admin::create_tenant),
        )
        .route("/{tenant}/api/executions/trigger", post(seed::trigger))
        .route("/{tenant}/api/executions/{id}/status", get(seed::status))
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    // Around the whole router, not each route: axum adds a 405's `Allow` header
    // outside the routes' own layers, and the message names the methods it lists.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(crate::error::json_errors))
}
