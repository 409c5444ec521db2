//! Tokens and agents of the caller's tenant, and tenants (for the server's own
//! tenant's tokens). The rules are [`crate::access`]'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::wire::{self, ErrorBody, Page};
use bosun_core::{Action, Permission, Resource};
use bosun_store::Token;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::DEFAULT_TENANT;
use crate::access;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::runner::RUNNER_NAME;
use crate::state::AppState;

/// List the tenant's tokens, never their secrets (tokens:view).
#[utoipa::path(
    get,
    path = "/api/tokens",
    operation_id = "admin_tokens",
    tag = "access",
    responses((status = 200, description = "every token of the tenant", body = Page<wire::Token>))
)]
pub(super) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::Token>>, ApiError> {
    caller.require(Resource::Tokens, Action::View)?;
    let tokens = state.store.tokens(&caller.tenant.id).await?;
    Ok(Json(Page::all(
        tokens.into_iter().map(Into::into).collect(),
    )))
}

/// The body of `POST /api/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewToken {
    /// 1 to 200 characters, by the rule of every name.
    name: String,
    /// What it may do: `*`, `RESOURCE:*` or `RESOURCE:ACTION`, e.g. `executions:view`.
    permissions: Vec<String>,
}

/// A token with its secret, as the answer that made it shows it.
fn with_secret(token: Token, secret: String) -> wire::CreatedToken {
    wire::CreatedToken {
        token: token.into(),
        secret,
    }
}

/// Create a token; its secret is in the answer only (tokens:create; a token grants at most what it has).
#[utoipa::path(
    post,
    path = "/api/tokens",
    operation_id = "admin_create_token",
    tag = "access",
    request_body = NewToken,
    responses(
        (status = 201, description = "created; `token` is the secret", body = wire::CreatedToken),
        (status = 400, description = "a bad name or permission", body = ErrorBody),
        (status = 403, description = "a permission the caller lacks", body = ErrorBody),
    )
)]
pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<wire::CreatedToken>), ApiError> {
    caller.require(Resource::Tokens, Action::Create)?;
    let (token, secret) = access::mint_token(
        &state.store,
        &caller.tenant,
        &body.name,
        &body.permissions,
        Some(&caller.permissions),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(with_secret(token, secret))))
}

/// Revoke a token (tokens:delete; only one whose permissions the caller's cover).
#[utoipa::path(
    delete,
    path = "/api/tokens/{id}",
    operation_id = "admin_delete_token",
    tag = "access",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 403, description = "a token with more permissions than the caller's", body = ErrorBody),
        (status = 404, description = "no such token", body = ErrorBody),
        (status = 409, description = "the tenant's last admin token", body = ErrorBody),
    )
)]
pub(super) async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Resource::Tokens, Action::Delete)?;
    access::revoke_token(&state.store, &caller.tenant, &id, Some(&caller.permissions)).await?;
    state.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// Tenants are the server's own business: only its own tenant's tokens manage them.
fn require_tenants(caller: &Caller, action: Action) -> Result<(), ApiError> {
    caller.require(Resource::Tenants, action)?;
    if caller.tenant.slug != DEFAULT_TENANT {
        return Err(ApiError::Forbidden(format!(
            "{} (only tokens of the tenant {DEFAULT_TENANT:?} manage tenants)",
            Permission::One(Resource::Tenants, action)
        )));
    }
    Ok(())
}

/// List the tenants (tenants:view, tokens of the tenant default only).
#[utoipa::path(
    get,
    path = "/api/tenants",
    operation_id = "admin_tenants",
    tag = "access",
    responses(
        (status = 200, description = "every tenant", body = Page<wire::Tenant>),
        (status = 403, description = "not a token of the default tenant", body = ErrorBody),
    )
)]
pub(super) async fn tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::Tenant>>, ApiError> {
    require_tenants(&caller, Action::View)?;
    let tenants = state.store.tenants().await?;
    Ok(Json(Page::all(
        tenants.into_iter().map(Into::into).collect(),
    )))
}

/// The body of `POST /api/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewTenant {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, not api, healthz or hubs.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    slug: String,
    /// A display name; default the slug.
    name: Option<String>,
}

/// Create a tenant, its local agent and its admin token, whose secret is in the answer only (tenants:create, tokens of the tenant default only).
#[utoipa::path(
    post,
    path = "/api/tenants",
    operation_id = "admin_create_tenant",
    tag = "access",
    request_body = NewTenant,
    responses(
        (status = 201, description = "created", body = wire::CreatedTenant),
        (status = 400, description = "a bad slug or name", body = ErrorBody),
        (status = 403, description = "not a token of the default tenant", body = ErrorBody),
        (status = 409, description = "the slug is taken", body = ErrorBody),
    )
)]
pub(super) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<wire::CreatedTenant>), ApiError> {
    require_tenants(&caller, Action::Create)?;
    let (tenant, token, secret) =
        access::create_tenant(&state.store, &body.slug, body.name.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::CreatedTenant {
            tenant: tenant.into(),
            token: with_secret(token, secret),
        }),
    ))
}

/// The tenant's bot agents, by name: the local runner and remote agents, never their
/// machine keys (executions:view, which starting an execution on one needs).
#[utoipa::path(
    get,
    path = "/api/agents",
    operation_id = "admin_agents",
    tag = "access",
    responses((status = 200, description = "the tenant's agents", body = Page<wire::Agent>))
)]
pub(super) async fn agents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Page<wire::Agent>>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    // A tenant made before it had one gets its local runner here.
    state
        .store
        .ensure_agent(&caller.tenant.id, RUNNER_NAME)
        .await?;
    let agents = state.store.agents(&caller.tenant.id).await?;
    Ok(Json(Page::all(
        agents.into_iter().map(Into::into).collect(),
    )))
}
