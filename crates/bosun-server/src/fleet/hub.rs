//! `/{tenant}/hubs/botagent`: seed 000's SignalR hub. Agents connect with their
//! machine key (`?machineKey=` or `X-MachineKey`), people with a token
//! (`?access_token=` or `Authorization: Bearer`). A bad key or token is refused with
//! 401 at the negotiation and at the upgrade; a tenant in the path that is not the
//! key's or the token's is 404, as everywhere.
//!
//! An agent's connection has the agent's methods ([`super::reports`]); a person's
//! has none (nothing on the hub lets one client command an agent) and receives the
//! tenant's `BotStatusUpdate` and `ExecutionStatusUpdate` events.

use std::time::Instant;

use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bosun_core::{Action, AgentStatus, Resource};
use bosun_hub::negotiate::NegotiateResponse;
use bosun_hub::server::{Client, Handler, HubError, serve};
use bosun_store::{Agent, Tenant};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::{Fleet, Session};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Who a connection is.
#[derive(Clone)]
pub(crate) enum Who {
    /// An agent, by its machine key.
    Agent { agent: Agent, tenant: Tenant },
    /// A person, by a token that may view executions: their tenant's id.
    Person { tenant_id: String },
}

/// The query of both routes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HubQuery {
    machine_key: Option<String>,
    access_token: Option<String>,
    negotiate_version: Option<u32>,
    /// The connection token from the negotiation.
    id: Option<String>,
}

/// The hub's two routes, outside the OpenAPI document (a hub is not REST).
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/{tenant}/hubs/botagent/negotiate", post(negotiate))
        .route("/{tenant}/hubs/botagent", get(connect))
}

/// The token a request carries, if any.
fn token(query: &HubQuery, headers: &HeaderMap) -> Option<String> {
    query
        .access_token
        .clone()
        .or_else(|| crate::auth::bearer(headers).map(str::to_owned))
        .filter(|t| !t.is_empty())
}

/// Who the request is, from its key or token; `None` when it carries neither.
async fn who(
    state: &AppState,
    tenant: &str,
    query: &HubQuery,
    headers: &HeaderMap,
) -> Result<Option<Who>, ApiError> {
    if let Some(key) = crate::api::machine_key(query.machine_key.as_deref(), headers) {
        let tenant = state
            .store
            .tenant_by_slug(tenant)
            .await?
            .ok_or(ApiError::BadMachineKey)?;
        let agent = state
            .store
            .agent_by_machine_key(&tenant.id, &key)
            .await?
            .ok_or(ApiError::BadMachineKey)?;
        return Ok(Some(Who::Agent { agent, tenant }));
    }
    if let Some(secret) = token(query, headers) {
        let caller = Caller::from_secret(state, &secret).await?;
        crate::api::same_tenant(&caller, tenant)?;
        caller.require(Resource::Executions, Action::View)?;
        return Ok(Some(Who::Person {
            tenant_id: caller.tenant.id,
        }));
    }
    Ok(None)
}

/// `POST …/negotiate`: a connection token for the WebSocket that follows.
async fn negotiate(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<HubQuery>,
    headers: HeaderMap,
) -> Result<Json<NegotiateResponse>, ApiError> {
    let who = who(&state, &tenant, &query, &headers)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let version = query.negotiate_version.unwrap_or(0);
    Ok(Json(state.hub.negotiate(who, version)))
}

/// `GET …?id=TOKEN`: the WebSocket. Without `id` (skip-negotiation) the key or token
/// must come with it; with one, a key or token it carries must still be good and
/// the same caller's.
async fn connect(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(query): Query<HubQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let presented = who(&state, &tenant, &query, &headers).await?;
    let (who, connection_id) = match &query.id {
        Some(id) => {
            let negotiated = state
                .hub
                .take(id)
                .ok_or(ApiError::NotFound("hub connection"))?;
            if presented.is_some_and(|p| !p.same(&negotiated.context)) {
                return Err(ApiError::Unauthorized);
            }
            (negotiated.context, negotiated.connection_id)
        }
        None => (
            presented.ok_or(ApiError::Unauthorized)?,
            bosun_hub::new_connection_id(),
        ),
    };
    let options = state.config.agents.hub.clone();
    let fleet = state.fleet.clone();
    // The hub refuses a message over its limit with a Close that says why; the
    // socket's own limit, further out, stops a frame too large to read at all.
    // Small read buffers: a thousand agents idle on their sockets would otherwise
    // hold tungstenite's 128 KiB each; a message larger than the buffer is read in
    // more than one go.
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .max_message_size(options.max_message.saturating_mul(4))
        .max_frame_size(options.max_message.saturating_mul(4))
        .on_upgrade(move |socket| async move {
            match who {
                Who::Agent { agent, tenant } => {
                    serve(socket, connection_id, options, move |client| {
                        fleet.connected(agent, tenant, client)
                    })
                    .await;
                }
                Who::Person { tenant_id } => {
                    serve(socket, connection_id, options, move |client| {
                        tokio::spawn(forward(fleet, tenant_id, client));
                        Person
                    })
                    .await;
                }
            }
        })
        .into_response())
}

impl Who {
    fn same(&self, other: &Who) -> bool {
        match (self, other) {
            (Who::Agent { agent: a, .. }, Who::Agent { agent: b, .. }) => a.id == b.id,
            (Who::Person { tenant_id: a }, Who::Person { tenant_id: b }) => a == b,
            _ => false,
        }
    }
}

/// Sends a person the events of their tenant until their connection ends. One that
/// falls too far behind misses the oldest, never holds the others up.
async fn forward(fleet: Fleet, tenant_id: String, client: Client) {
    let mut events = fleet.subscribe();
    loop {
        tokio::select! {
            _ = client.closed() => return,
            _ = fleet.closing().cancelled() => {
                client.close(Some("the server is stopping".to_owned()));
                return;
            }
            event = events.recv() => match event {
                Ok(event) if event.tenant_id == tenant_id => {
                    if !client.send(event.kind.as_str(), vec![event.payload]) {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a hub watcher fell behind and missed events");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

/// A person's connection: no methods.
struct Person;

impl Handler for Person {
    async fn invoke(&mut self, _target: &str, _arguments: Vec<Value>) -> Result<Value, HubError> {
        Err(HubError::MethodDoesNotExist)
    }
}

/// An agent's connection: its methods are in [`super::reports`].
pub(crate) struct AgentConnection {
    pub(super) fleet: Fleet,
    pub(super) agent: Agent,
    pub(super) tenant: Tenant,
    pub(super) client: Client,
}

impl Fleet {
    /// Registers an agent's new connection (closing an older one of the same agent),
    /// records it connected, and starts sending what it has to receive.
    fn connected(&self, agent: Agent, tenant: Tenant, client: Client) -> AgentConnection {
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let old = self.maps().sessions.insert(
            agent.id.clone(),
            Session {
                client: client.clone(),
                agent: agent.clone(),
                last_seen: Instant::now(),
                wake: wake.clone(),
            },
        );
        if let Some(old) = old {
            old.client
                .close(Some("the agent connected again".to_owned()));
        }
        tracing::info!(agent = %agent.name, tenant = %tenant.slug, "agent connected");
        let fleet = self.clone();
        let (id, delivering) = (agent.id.clone(), client.clone());
        let slug = tenant.slug.clone();
        tokio::spawn(async move {
            if let Err(e) = fleet.store().agent_connected(&id, chrono::Utc::now()).await {
                tracing::warn!(agent = %id, "could not record the connection: {}", bosun_core::error::chain(&e));
            }
            super::deliver::run(fleet, id, slug, delivering, wake).await;
        });
        self.tell_agent(&agent, AgentStatus::Available, None);
        AgentConnection {
            fleet: self.clone(),
            agent,
            tenant,
            client,
        }
    }

    /// Forgets an agent's connection that ended (unless a newer one replaced it),
    /// records it Disconnected, and gives its runs the grace period to be reported
    /// again.
    async fn disconnected(&self, agent: &Agent, client: &Client) {
        {
            let mut maps = self.maps();
            match maps.sessions.get(&agent.id) {
                Some(s) if s.client.connection_id() == client.connection_id() => {
                    maps.sessions.remove(&agent.id);
                }
                _ => return,
            }
        }
        tracing::info!(agent = %agent.name, "agent disconnected");
        if let Err(e) = self
            .store()
            .set_agent_status(&agent.id, AgentStatus::Disconnected)
            .await
        {
            tracing::warn!(agent = %agent.name, "could not record the disconnection: {}", bosun_core::error::chain(&e));
        }
        self.tell_agent(agent, AgentStatus::Disconnected, None);
        match self.store().remote_active(Some(&agent.id)).await {
            Ok(runs) => {
                let deadline = Instant::now() + self.grace();
                let mut maps = self.maps();
                for run in runs.iter().filter(|r| r.delivered_at.is_some()) {
                    maps.lost.entry(run.id.clone()).or_insert(deadline);
                }
            }
            Err(e) => {
                tracing::error!(agent = %agent.name, "could not read the agent's executions: {}", bosun_core::error::chain(&e))
            }
        }
    }
}

impl Handler for AgentConnection {
    async fn invoke(&mut self, target: &str, arguments: Vec<Value>) -> Result<Value, HubError> {
        self.fleet.seen(&self.agent.id);
        self.call(target, arguments).await
    }

    async fn closed(&mut self) {
        self.fleet.disconnected(&self.agent, &self.client).await;
    }
}
