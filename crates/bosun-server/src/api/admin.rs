//! Tokens and agents of the caller's tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, check_permission};
use crate::error::{ApiError, ApiJson};
use crate::runner::RUNNER_NAME;
use crate::state::AppState;

pub(super) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require("tokens", "view")?;
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

pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require("tokens", "create")?;
    for p in &body.permissions {
        check_permission(p)?;
        // A token can hand on only what it has.
        let granted = match p.split_once(':') {
            Some((r, "*")) => crate::auth::ACTIONS
                .iter()
                .all(|a| crate::auth::allows(&caller.token.permissions, r, a)),
            Some((r, a)) => crate::auth::allows(&caller.token.permissions, r, a),
            None => caller.token.permissions.iter().any(|own| own == "*"),
        };
        if !granted {
            return Err(ApiError::Forbidden(format!(
                "{p} (a token cannot grant more than it has)"
            )));
        }
    }
    let (token, secret) = state
        .store
        .create_token(&caller.tenant.id, &body.name, &body.permissions)
        .await?;
    let mut value = serde_json::to_value(token).expect("a token serializes");
    value["token"] = Value::from(secret);
    Ok((StatusCode::CREATED, Json(value)))
}

pub(super) async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require("tokens", "delete")?;
    if state.store.delete_token(&caller.tenant.id, &id).await? {
        state.tokens.clear();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("token"))
    }
}

pub(super) async fn agents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require("executions", "view")?;
    let local = state
        .store
        .ensure_agent(&caller.tenant.id, RUNNER_NAME)
        .await?;
    Ok(Json(json!({ "items": [local] })))
}
