//! Remote agents: the hub's side of seed 000's chain. Who is connected, what each
//! agent has still to receive, what its reports change, and what people watching a
//! tenant are told.
//!
//! The store is the memory: an execution for an agent is created Pending and claimed
//! by it, sent with `ReceiveCommand("ExecutePackage", …)` until the agent
//! acknowledges it (the invocation's completion), then changed only by that agent's
//! reports. What lives here only in memory can be lost with the server without
//! losing work: the connections, the keep-alives not yet written, the log counters
//! of runs in progress and the grace periods of runs whose agent went away (a
//! starting server gives every unfinished remote run a fresh grace period).
//!
//! - [`hub`]: the routes, who may connect, and each connection's methods.
//! - [`deliver`]: sending what an agent has still to receive, again until it answers.
//! - [`dispatch`]: moving a job's execution to the agent its definition names.
//! - [`reports`]: applying an agent's reports, and refusing those it may not make.
//! - [`watch`]: the periodic sweep: missed keep-alives, lost agents, overdue deliveries.

mod deliver;
mod dispatch;
pub(crate) mod hub;
mod reports;
mod watch;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_core::error::chain;
use bosun_core::wire::{BotStatusUpdate, ExecutionStatusUpdate};
use bosun_core::{AgentStatus, ExecutionStatus};
use bosun_exec::Stream;
use bosun_hub::server::Client;
use bosun_store::{Agent, Execution, Finish, Store};
use chrono::Utc;
use tokio::sync::{Notify, broadcast, watch as channel};
use tokio_util::sync::CancellationToken;

use crate::config::ServerConfig;
use crate::runner::RunnerHandle;

pub(crate) use dispatch::Dispatched;

/// How many events a slow watcher may fall behind before it misses some.
const EVENT_BACKLOG: usize = 1024;

/// What a hub event tells: the method people's clients receive, and the SSE event's
/// name on `/api/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HubEventKind {
    /// An agent's status changed.
    BotStatusUpdate,
    /// An execution's status changed.
    ExecutionStatusUpdate,
}

impl HubEventKind {
    /// Its name on the wire.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::BotStatusUpdate => "BotStatusUpdate",
            Self::ExecutionStatusUpdate => "ExecutionStatusUpdate",
        }
    }
}

/// An event for the people watching a tenant on the hub.
#[derive(Debug, Clone)]
pub(crate) struct HubEvent {
    /// The tenant whose people get it.
    pub(crate) tenant_id: String,
    /// The method their clients receive.
    pub(crate) kind: HubEventKind,
    /// Its one argument.
    pub(crate) payload: serde_json::Value,
}

/// A connected agent.
struct Session {
    /// The connection; a newer one replaces it.
    client: Client,
    agent: Agent,
    /// When it last sent anything.
    last_seen: Instant,
    /// Told when it has something new to receive.
    wake: Arc<Notify>,
}

/// A run on an agent whose output is arriving.
struct LiveRun {
    /// Bytes of each stream written so far, told to followers.
    stdout: channel::Sender<u64>,
    stderr: channel::Sender<u64>,
}

#[derive(Default)]
struct Maps {
    /// By agent id.
    sessions: HashMap<String, Session>,
    /// By execution id.
    live: HashMap<String, LiveRun>,
    /// Runs whose agent went away, by execution id: when they are given up.
    lost: HashMap<String, Instant>,
    /// Keep-alives not yet written, by agent id (milliseconds since the epoch).
    seen: HashMap<String, i64>,
    /// Executions whose `ExecutePackage` is on its way, not yet acknowledged: a
    /// cancel must reach the agent rather than end them as never received.
    sending: std::collections::HashSet<String>,
}

struct Inner {
    store: Store,
    config: Arc<ServerConfig>,
    logs: PathBuf,
    maps: Mutex<Maps>,
    events: broadcast::Sender<HubEvent>,
    /// One log write at a time per server: chunks are small and arrive in order.
    log_lock: tokio::sync::Mutex<()>,
    /// Fired when the server stops: every hub connection is closed.
    closing: CancellationToken,
    /// Woken when a run on an agent ends: a queued execution of its job may wait
    /// for it (`duplicatePolicy: queue`).
    runner: RunnerHandle,
}

/// The server's handle on its agents; cheap to clone.
#[derive(Clone)]
pub(crate) struct Fleet {
    inner: Arc<Inner>,
}

impl Fleet {
    pub(crate) fn new(store: Store, config: Arc<ServerConfig>, runner: RunnerHandle) -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let logs = bosun_exec::Home::new(&config.home).logs();
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                logs,
                maps: Mutex::new(Maps::default()),
                events,
                log_lock: tokio::sync::Mutex::new(()),
                closing: CancellationToken::new(),
                runner,
            }),
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.inner
            .maps
            .lock()
            .expect("the fleet's maps are never poisoned")
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Starts the sweep, after giving every unfinished run on an agent a grace period
    /// to be reported again (the agents reconnect to a restarted server).
    pub(crate) async fn start(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        match self.store().remote_active(None).await {
            Ok(runs) => {
                let deadline = Instant::now() + self.inner.config.agents.lost_grace;
                let mut maps = self.maps();
                for run in runs.iter().filter(|r| r.delivered_at.is_some()) {
                    maps.lost.insert(run.id.clone(), deadline);
                }
            }
            Err(e) => tracing::error!(
                "could not read the agents' unfinished executions: {}",
                chain(&e)
            ),
        }
        tokio::spawn(watch::sweep(self.clone(), stop))
    }

    /// Closes every hub connection: the server is stopping.
    fn close_all(&self) {
        self.inner.closing.cancel();
        for session in self.maps().sessions.values() {
            session
                .client
                .close(Some("the server is stopping".to_owned()));
        }
    }

    /// Fires when the server stops.
    pub(crate) fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    /// New events for people watching the hub.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.inner.events.subscribe()
    }

    fn tell(&self, tenant_id: &str, kind: HubEventKind, payload: impl serde::Serialize) {
        let payload = serde_json::to_value(payload).expect("hub events always serialize");
        // No receiver: nobody watches, nothing to do.
        let _ = self.inner.events.send(HubEvent {
            tenant_id: tenant_id.to_owned(),
            kind,
            payload,
        });
    }

    /// Tells people an agent's status.
    fn tell_agent(&self, agent: &Agent, status: AgentStatus, execution_id: Option<String>) {
        let now = Utc::now();
        self.tell(
            &agent.tenant_id,
            HubEventKind::BotStatusUpdate,
            BotStatusUpdate {
                bot_agent_id: agent.id.clone(),
                bot_agent_name: agent.name.clone(),
                status: Some(status),
                last_heartbeat: Some(now),
                execution_id,
                timestamp: now,
            },
        );
    }

    /// Tells people an execution's status.
    pub(crate) fn tell_execution(
        &self,
        execution: &Execution,
        agent_name: &str,
        status: ExecutionStatus,
        message: Option<String>,
    ) {
        self.tell(
            &execution.tenant_id,
            HubEventKind::ExecutionStatusUpdate,
            ExecutionStatusUpdate {
                execution_id: execution.id.clone(),
                bot_agent_id: execution
                    .agent_id
                    .clone()
                    .unwrap_or_else(|| crate::runner::RUNNER_NAME.to_owned()),
                bot_agent_name: agent_name.to_owned(),
                status: Some(status),
                message,
                timestamp: Utc::now(),
            },
        );
    }

    /// Tells people of a new execution, Pending for the local runner (or the queue),
    /// whatever created it: a run request, a schedule, a file, a rerun.
    pub(crate) fn tell_created(&self, execution: &Execution) {
        self.tell_execution(
            execution,
            crate::runner::RUNNER_NAME,
            ExecutionStatus::Pending,
            None,
        );
    }

    /// Tells the agent's connection, if there is one, that it has something to receive.
    pub(crate) fn wake(&self, agent_id: &str) {
        if let Some(session) = self.maps().sessions.get(agent_id) {
            session.wake.notify_one();
        }
    }

    /// Closes an agent's connection, if it has one: it was deactivated, deleted or
    /// given a new key.
    pub(crate) fn drop_agent(&self, agent_id: &str, why: &str) {
        if let Some(session) = self.maps().sessions.get(agent_id) {
            session.client.close(Some(why.to_owned()));
        }
    }

    /// Cancels an execution sent to an agent: one it has not received ends at once;
    /// one it has, or may have (its command is on its way), is stopped there
    /// (`CancelExecution`, sent behind the command), now if it is connected, else when
    /// it reports the run again; the agent's report records the end.
    pub(crate) async fn cancel(&self, execution: &Execution) {
        let Some(agent_id) = &execution.agent_id else {
            return;
        };
        if execution.is_finished() {
            return;
        }
        let in_flight = self.maps().sending.contains(&execution.id);
        if execution.delivered_at.is_none() && !in_flight {
            let finish = Finish {
                status: ExecutionStatus::Cancelled,
                exit_code: None,
                message: "cancelled before its agent received it".to_owned(),
                end_time: Utc::now(),
            };
            self.end(execution, &finish).await;
            return;
        }
        let client = self.maps().sessions.get(agent_id).map(|s| s.client.clone());
        if let Some(client) = client {
            deliver::send_cancel(client, execution.id.clone());
        }
    }

    /// A counter of the bytes an agent's run has sent of a stream; `None` when no
    /// agent's run of that id is in progress here.
    pub(crate) fn follow(&self, id: &str, stream: Stream) -> Option<channel::Receiver<u64>> {
        self.maps().live.get(id).map(|run| match stream {
            Stream::Stdout => run.stdout.subscribe(),
            Stream::Stderr => run.stderr.subscribe(),
        })
    }

    /// Records an execution's end (if it had not ended), tells people, and forgets
    /// its run.
    async fn end(&self, execution: &Execution, finish: &Finish) -> bool {
        let ended = match self.store().finish(&execution.id, finish).await {
            Ok(ended) => ended,
            Err(e) => {
                tracing::error!(execution = %execution.id, "could not record the end: {}", chain(&e));
                false
            }
        };
        {
            let mut maps = self.maps();
            maps.live.remove(&execution.id);
            maps.lost.remove(&execution.id);
        }
        if ended {
            self.inner.runner.wake();
            self.trim_history(execution).await;
            let name = self.agent_name(execution).await;
            self.tell_execution(
                execution,
                &name,
                finish.status,
                Some(finish.message.clone()),
            );
        }
        ended
    }

    /// Keeps the history of `execution`'s job (a seed trigger's: its package's) to
    /// the job's limit, else the server's, as the local runner does for its own ends.
    async fn trim_history(&self, execution: &Execution) {
        let store = self.store();
        let limit = match store.job(&execution.tenant_id, &execution.job_id).await {
            Ok(Some(job)) => crate::admit::definition(&job)
                .ok()
                .and_then(|d| d.history_limit),
            _ => None,
        };
        let keep = limit.unwrap_or(self.inner.config.history_limit);
        let trimmed = async {
            let finished = store.finished_count(&execution.job_id).await?;
            if finished <= keep {
                return Ok(Vec::new());
            }
            store
                .prune_oldest(&execution.job_id, finished - keep)
                .await
                .map(|(_, logs)| logs)
        };
        match trimmed.await {
            Ok(pruned) => crate::runner::remove_logs(&self.inner.logs, &pruned),
            Err(e) => {
                tracing::warn!(job = %execution.job_id, "could not prune history: {}", chain(&e))
            }
        }
    }

    /// The name of the agent that runs `execution`, for events; its id if it
    /// cannot be read.
    async fn agent_name(&self, execution: &Execution) -> String {
        let Some(id) = execution.agent_id.as_deref() else {
            return crate::runner::RUNNER_NAME.to_owned();
        };
        if let Some(session) = self.maps().sessions.get(id) {
            return session.agent.name.clone();
        }
        match self.store().agent(&execution.tenant_id, id).await {
            Ok(Some(agent)) => agent.name,
            _ => id.to_owned(),
        }
    }

    /// Where an execution's log of `stream` is written.
    fn log_path(&self, id: &str, stream: Stream) -> PathBuf {
        let dir = self.inner.logs.join(id);
        match stream {
            Stream::Stdout => dir.join("output.log"),
            Stream::Stderr => dir.join("error.log"),
        }
    }

    /// The time an agent has to re-report its runs after its connection ends.
    fn grace(&self) -> Duration {
        self.inner.config.agents.lost_grace
    }
}
