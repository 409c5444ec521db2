//! The tenant's live events as Server-Sent Events, for clients that do not speak
//! SignalR (the dashboard): the hub's `ExecutionStatusUpdate` and `BotStatusUpdate`,
//! the same payloads, each as an event of that name. A client that falls too far
//! behind gets a `lagged` event (re-read what it shows); the stream ends when the
//! server stops, and a client reconnects.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use bosun_core::{Action, Resource};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Follow the tenant's execution and agent status changes as Server-Sent Events: `ExecutionStatusUpdate` and `BotStatusUpdate` events whose data is the hub's JSON payload, and `lagged` when some were missed (executions:view).
#[utoipa::path(
    get,
    path = "/api/events",
    operation_id = "events",
    tag = "executions",
    responses((status = 200, description = "the event stream", body = String, content_type = "text/event-stream"))
)]
pub(super) async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Resource::Executions, Action::View)?;
    let feed = (
        state.fleet.subscribe(),
        state.fleet.clone(),
        caller.tenant.id,
    );
    let events = stream::unfold(feed, |(mut rx, fleet, tenant)| async move {
        loop {
            let received = tokio::select! {
                received = rx.recv() => received,
                () = fleet.closing().cancelled() => return None,
            };
            let event = match received {
                Ok(e) if e.tenant_id == tenant => Event::default()
                    .event(e.kind.as_str())
                    .data(e.payload.to_string()),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    Event::default().event("lagged").data(missed.to_string())
                }
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), (rx, fleet, tenant)));
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
