//! Agents under `/{tenant}/api/agents`, with OpenAutomate's routes and field names:
//! make a remote agent and get its machine key (shown in that answer only, stored as
//! its SHA-256), list, read, rename, give a new key, deactivate and delete.
//!
//! Bodies take their fields in any case (`machineName`, `MachineName`), as seed 000's
//! clients send them; answers are camelCase. The list is a bare JSON array, as
//! OpenAutomate answers it (bosun's own `GET /api/agents` answers a page). Agents are
//! addressed by id; `{tenant}` must be the token's own, any other is 404. The
//! built-in agent `local`, the server's own runner, is listed but cannot be renamed,
//! deactivated, given a key or deleted (409), nor can an agent with executions
//! pending or running be deleted (409).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bosun_core::wire::{self, ErrorBody};
use bosun_core::{Action, Resource, check_name};
use bosun_store::StoreError;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::definition::field;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

use super::seed::same_tenant;

/// The most characters a machine name may have (a host name's limit, with room).
const MAX_MACHINE_NAME_CHARS: usize = 255;

/// `/{tenant}/api/agents/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct AgentPath {
    /// The tenant, by slug or id.
    tenant: String,
    /// The agent's id.
    id: String,
}

/// A store error of an agent route: a refusal by the agents' rules is 409.
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::BuiltInAgent { .. } | StoreError::AgentInUse { .. } => {
            ApiError::Conflict(e.to_string())
        }
        e => e.into(),
    }
}

/// The body, which must be an object.
fn object(body: &Value) -> Result<(), ApiError> {
    if body.is_object() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "send a JSON object, e.g. {\"name\": \"robot-1\", \"machineName\": \"box-1\"}"
                .to_owned(),
        ))
    }
}

/// The text field `name` (any case): `None` when left out or null, 400 when not text.
fn text<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match field(body, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(ApiError::BadRequest(format!("{name} is text"))),
    }
}

/// An agent's name, checked by the rule of every name.
fn agent_name(name: &str) -> Result<&str, ApiError> {
    check_name("agent", name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(name)
}

/// A machine name: at most [`MAX_MACHINE_NAME_CHARS`] characters, none a control.
fn machine_name(name: &str) -> Result<&str, ApiError> {
    if name.chars().count() > MAX_MACHINE_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a machine name has at most {MAX_MACHINE_NAME_CHARS} characters: shorten it"
        )));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(ApiError::BadRequest(format!(
            "a machine name cannot contain control characters (U+{:04X} found): remove it",
            u32::from(c)
        )));
    }
    Ok(name)
}

/// The tenant's agent `id`, or 404.
async fn found(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<bosun_store::Agent, ApiError> {
    state
        .store
        .agent(&caller.tenant.id, id)
        .await?
        .ok_or(ApiError::NotFound("agent"))
}

/// Make a remote agent; its machine key is in this answer only (agents:create).
#[utoipa::path(
    post,
    path = "/{tenant}/api/agents/create",
    operation_id = "agents_create",
    tag = "access",
    params(("tenant" = String, Path, description = "the token's tenant, by slug or id")),
    request_body(content = Object, description = "{name, machineName?}, names in any case; the name by the rule of every name"),
    responses(
        (status = 201, description = "made, `Disconnected` until it connects; `machineKey` is shown only here", body = wire::CreatedAgent),
        (status = 400, description = "a missing or bad name or machine name", body = ErrorBody),
        (status = 409, description = "the tenant has an agent of that name", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<wire::CreatedAgent>), ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::Create)?;
    object(&body)?;
    let name = text(&body, "name")?.ok_or_else(|| {
        ApiError::BadRequest("name is required: the agent's name, e.g. \"robot-1\"".to_owned())
    })?;
    let name = agent_name(name)?;
    let machine = machine_name(text(&body, "machineName")?.unwrap_or_default())?;
    let (agent, machine_key) = state
        .store
        .create_agent(&caller.tenant.id, name, machine)
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(wire::CreatedAgent {
            agent: agent.into(),
            machine_key,
        }),
    ))
}

/// The tenant's agents, by name, the built-in `local` among them: a bare array, as
/// OpenAutomate answers (agents:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/agents",
    operation_id = "agents_list",
    tag = "access",
    params(("tenant" = String, Path, description = "the token's tenant, by slug or id")),
    responses((status = 200, description = "the agents, never their machine keys", body = Vec<wire::Agent>))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<wire::Agent>>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::View)?;
    let agents = state.store.agents(&caller.tenant.id).await?;
    Ok(Json(agents.into_iter().map(Into::into).collect()))
}

/// One agent (agents:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/agents/{id}",
    operation_id = "agents_get",
    tag = "access",
    params(AgentPath),
    responses(
        (status = 200, description = "the agent", body = wire::Agent),
        (status = 404, description = "no such agent", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { tenant, id }): Path<AgentPath>,
) -> Result<Json<wire::Agent>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::View)?;
    Ok(Json(found(&state, &caller, &id).await?.into()))
}

/// Rename an agent or change its machine name (agents:update).
#[utoipa::path(
    put,
    path = "/{tenant}/api/agents/{id}",
    operation_id = "agents_update",
    tag = "access",
    params(AgentPath),
    request_body(content = Object, description = "{name?, machineName?}, names in any case; a field left out stays as it is"),
    responses(
        (status = 200, description = "the agent as it is now", body = wire::Agent),
        (status = 400, description = "a bad name or machine name, or neither given", body = ErrorBody),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the name is taken, or the agent is the built-in `local`", body = ErrorBody),
    )
)]
pub(super) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { tenant, id }): Path<AgentPath>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<wire::Agent>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::Update)?;
    object(&body)?;
    let name = text(&body, "name")?.map(agent_name).transpose()?;
    let machine = text(&body, "machineName")?.map(machine_name).transpose()?;
    if name.is_none() && machine.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: send name, machineName or both".to_owned(),
        ));
    }
    let agent = state
        .store
        .update_agent(&caller.tenant.id, &id, name, machine)
        .await
        .map_err(refused)?
        .ok_or(ApiError::NotFound("agent"))?;
    Ok(Json(agent.into()))
}

/// Give an agent a new machine key, in this answer only; the old one stops working
/// at once (agents:update).
#[utoipa::path(
    post,
    path = "/{tenant}/api/agents/{id}/regenerateKey",
    operation_id = "agents_regenerate_key",
    tag = "access",
    params(AgentPath),
    responses(
        (status = 200, description = "the agent with its new `machineKey`, shown only here", body = wire::CreatedAgent),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the built-in `local`, which has no key", body = ErrorBody),
    )
)]
pub(super) async fn regenerate_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { tenant, id }): Path<AgentPath>,
) -> Result<Json<wire::CreatedAgent>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::Update)?;
    let machine_key = state
        .store
        .regenerate_machine_key(&caller.tenant.id, &id)
        .await
        .map_err(refused)?
        .ok_or(ApiError::NotFound("agent"))?;
    state
        .fleet
        .drop_agent(&id, "the agent's machine key was replaced");
    let agent = found(&state, &caller, &id).await?;
    Ok(Json(wire::CreatedAgent {
        agent: agent.into(),
        machine_key,
    }))
}

/// Deactivate an agent: its machine key no longer lets it in, and it stays
/// `Disconnected` (agents:update).
#[utoipa::path(
    post,
    path = "/{tenant}/api/agents/{id}/deactivate",
    operation_id = "agents_deactivate",
    tag = "access",
    params(AgentPath),
    responses(
        (status = 200, description = "the agent, deactivated", body = wire::Agent),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the built-in `local`", body = ErrorBody),
    )
)]
pub(super) async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { tenant, id }): Path<AgentPath>,
) -> Result<Json<wire::Agent>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::Update)?;
    let agent = state
        .store
        .deactivate_agent(&caller.tenant.id, &id)
        .await
        .map_err(refused)?
        .ok_or(ApiError::NotFound("agent"))?;
    state.fleet.drop_agent(&id, "the agent was deactivated");
    Ok(Json(agent.into()))
}

/// Delete an agent, unless executions sent to it are pending or running
/// (agents:delete).
#[utoipa::path(
    delete,
    path = "/{tenant}/api/agents/{id}",
    operation_id = "agents_delete",
    tag = "access",
    params(AgentPath),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "it has executions pending or running, or it is the built-in `local`", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { tenant, id }): Path<AgentPath>,
) -> Result<StatusCode, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Agents, Action::Delete)?;
    if state
        .store
        .delete_agent(&caller.tenant.id, &id)
        .await
        .map_err(refused)?
    {
        state.fleet.drop_agent(&id, "the agent was deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("agent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_agent_is_the_local_runner() {
        assert_eq!(crate::runner::RUNNER_NAME, bosun_core::LOCAL_AGENT);
    }

    #[test]
    fn the_agents_refusals_are_conflicts() {
        let busy = refused(StoreError::AgentInUse {
            name: "robot".to_owned(),
            executions: 2,
        });
        assert!(
            matches!(&busy, ApiError::Conflict(m) if m.contains("2 execution(s) pending")),
            "{busy}"
        );
        let local = refused(StoreError::BuiltInAgent {
            name: "local".to_owned(),
            action: "deleted",
        });
        assert!(matches!(local, ApiError::Conflict(_)), "{local}");
        let taken = refused(StoreError::Conflict {
            what: "agent",
            name: "robot".to_owned(),
        });
        assert!(matches!(taken, ApiError::Conflict(_)), "{taken}");
    }

    #[test]
    fn machine_names_are_short_and_printable() {
        assert_eq!(
            machine_name("box-1.example.com").ok(),
            Some("box-1.example.com")
        );
        assert_eq!(machine_name("").ok(), Some(""));
        assert!(machine_name(&"x".repeat(256)).is_err());
        let control = machine_name("box\n1").unwrap_err().to_string();
        assert!(control.contains("U+000A"), "{control}");
    }
}
