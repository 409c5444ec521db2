//! Tokens and agents of the caller's tenant, and tenants (for the server's own
//! tenant's tokens). The rules are [`crate::access`]'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::{Action, Permission, Resource};
use bosun_store::Token;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::DEFAULT_TENANT;
use crate::access;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::runner::RUNNER_NAME;
use crate::state::AppState;

pub(super) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Tokens, Action::View)?;
    let tokens = state.store.tokens(&caller.tenant.id).await?;
    Ok(Json(json!({ "items": tokens })))
}

/// The body of `POST /api/tokens`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
    permissions: Vec<String>,
}

/// A token with its secret, as the answer that made it shows it.
fn with_secret(token: Token, secret: String) -> Value {
    let mut value = serde_json::to_value(token).expect("a token serializes");
    value["token"] = Value::from(secret);
    value
}

pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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

pub(super) async fn tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    require_tenants(&caller, Action::View)?;
    let tenants = state.store.tenants().await?;
    Ok(Json(json!({ "items": tenants })))
}

/// The body of `POST /api/tenants`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewTenant {
    slug: String,
    name: Option<String>,
}

pub(super) async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_tenants(&caller, Action::Create)?;
    let (tenant, token, secret) =
        access::create_tenant(&state.store, &body.slug, body.name.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "tenant": tenant, "token": with_secret(token, secret) })),
    ))
}

pub(super) async fn agents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let local = state
        .store
        .ensure_agent(&caller.tenant.id, RUNNER_NAME)
        .await?;
    Ok(Json(json!({ "items": [local] })))
}
