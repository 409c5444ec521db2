//! The HTTP API: bosun's own routes under `/api`, seed 000's under `/{tenant}/api`.
//! Every route but `/healthz` and `/api/openapi.json` needs a bearer token, and
//! every object is looked up inside the token's tenant, so another tenant's objects
//! answer 404. Every error, also those axum answers itself (a wrong method, a path it
//! cannot read), has the body `{"code", "message"}` ([`crate::error::json_errors`]).
//!
//! Each handler carries its part of the OpenAPI document (`#[utoipa::path]`), and
//! the router is made from the handlers through `utoipa_axum::routes!`, which takes
//! a handler only with that part: no route is served undocumented, and the document
//! (`/api/openapi.json`, [`document`]) lists nothing that is not served.

mod admin;
mod agent_logs;
mod agents;
mod events;
mod executions;
mod jobs;
mod logs;
mod me;
mod monitor;
mod packages;
mod schedules;
mod seed;
mod starters;

pub(crate) use packages::machine_key;
pub(crate) use seed::same_tenant;
mod triggers;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// The document's frame: what no route says. Every route adds its own part, through
/// [`routes`], which takes a handler only with its `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "bosun",
        description = "bosun's embedded server API. Every route except /healthz and \
/api/openapi.json needs `Authorization: Bearer <token>`. Errors are JSON {code, message}, \
also those answered before a handler: 400 bad input (an unknown field is named, with the \
likely intended one), 401 no or unknown token, 403 missing permission, 404 not found \
(also another tenant's objects and unknown routes), 405 method not allowed (the message \
lists the route's methods), 409 conflict, 413 body too large, 415 body not sent as \
application/json. Names (jobs, tokens, tenants): 1 to 200 characters, no '/', no '..', \
no control or bidirectional control characters, not shaped like a UUID."
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    components(schemas(bosun_core::wire::ErrorBody)),
    tags(
        (name = "jobs", description = "Job definitions, and running one"),
        (name = "executions", description = "Executions, their history and logs"),
        (name = "schedules", description = "Cron and interval schedules of jobs"),
        (name = "triggers", description = "File triggers of jobs"),
        (name = "monitor", description = "Running and stuck executions"),
        (name = "packages", description = "Bot packages, their versions and download links"),
        (name = "access", description = "Tokens, tenants, and agents with their machine keys"),
        (name = "seed", description = "Seed 000's routes, with its field names"),
        (name = "server", description = "Liveness and this document"),
    )
)]
struct ApiDoc;

/// Adds the bearer scheme that every route's security names.
struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its documentation, without the state.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(jobs::list, jobs::create))
        .routes(routes!(jobs::get, jobs::update, jobs::delete))
        .routes(routes!(jobs::run))
        .routes(routes!(schedules::list_of_job, schedules::create))
        .routes(routes!(schedules::list))
        .routes(routes!(schedules::delete))
        .routes(routes!(triggers::list_of_job, triggers::create))
        .routes(routes!(triggers::list))
        .routes(routes!(triggers::delete))
        .routes(routes!(executions::list))
        .routes(routes!(executions::summary))
        .routes(routes!(executions::activity))
        .routes(routes!(executions::get))
        .routes(routes!(executions::cancel))
        .routes(routes!(executions::rerun))
        .routes(routes!(logs::tail))
        .routes(routes!(logs::follow))
        .routes(routes!(events::events))
        .routes(routes!(monitor::running))
        .routes(routes!(monitor::stuck))
        .routes(routes!(admin::tokens, admin::create_token))
        .routes(routes!(admin::delete_token))
        .routes(routes!(admin::agents))
        .routes(routes!(agents::create))
        .routes(routes!(agents::list))
        .routes(routes!(agents::get, agents::update, agents::delete))
        .routes(routes!(agents::regenerate_key))
        .routes(routes!(agents::deactivate))
        .routes(routes!(admin::tenants, admin::create_tenant))
        .routes(routes!(me::me))
        .routes(routes!(seed::trigger))
        .routes(routes!(seed::status))
        .routes(routes!(seed::cancel))
        .routes(unlimited(routes!(agent_logs::upload)))
        .routes(unlimited(routes!(packages::upload)))
        .routes(unlimited(routes!(packages::add_version)))
        .routes(routes!(packages::list))
        .routes(routes!(packages::get, packages::delete))
        .routes(routes!(packages::delete_version))
        .routes(routes!(packages::download))
        .routes(routes!(packages::agent_download))
        .routes(routes!(packages::blob))
}

/// `route` without the body limit of JSON requests: an upload's handler streams its
/// body to disk and applies the upload limit itself.
fn unlimited(route: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method) = route;
    (schemas, paths, method.layer(DefaultBodyLimit::disable()))
}

/// The OpenAPI document of every route, made from the handlers and the wire types.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// Liveness; no token needed.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "server",
    security(()),
    responses((status = 200, description = "the server is up", body = String, content_type = "text/plain"))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// This document; no token needed.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi_json",
    tag = "server",
    security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> impl IntoResponse {
    /// Made once, on the first request.
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        document()
            .to_json()
            .expect("an OpenAPI document always serializes")
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// The router of the whole API.
pub(crate) fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let (routes, _) = routes().split_for_parts();
    let routes = routes
        .merge(crate::fleet::hub::routes())
        .merge(crate::dashboard::routes())
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    // Around the whole router, not each route: axum adds a 405's `Allow` header
    // outside the routes' own layers, and the message names the methods it lists.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(crate::error::json_errors))
}
