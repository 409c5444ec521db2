//! The agent's state and its work: commands accepted, executions waiting and running,
//! the status reported, results delivered.
//!
//! Every task of the agent shares one [`Agent`]. The connection loop
//! ([`crate::session`]) hands it each server command ([`Agent::command`]) and tells
//! the hub when the connection changes; executions run as tasks of their own, at most
//! `max_concurrent` at once, the others waiting in the order they came; two long-lived
//! tasks report the status ([`Agent::report_status`]) and deliver the outbox
//! ([`Agent::deliver`]) whenever there is something to send and a connection to send it
//! on.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bosun_core::error::chain;
use bosun_core::{AgentStatus, ExecutionStatus};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accepted::Accepted;
use crate::config::AgentConfig;
use crate::download::Packages;
use crate::execute::{ExecutePackage, Runner};
use crate::hub::{Hub, Sent};
use crate::ids::{ExecutionId, PackageId};
use crate::logship::{Offsets, Shipped, TICK, ship};
use crate::outbox::{ExecutionResult, Outbox, Outgoing};

/// The agent, shared by its tasks.
pub(crate) struct Agent {
    pub(crate) config: AgentConfig,
    pub(crate) hub: Hub,
    runner: Runner,
    packages: Packages,
    accepted: Mutex<Accepted>,
    outbox: Outbox,
    state: Mutex<State>,
    /// What `SendStatusUpdate` says now.
    status: watch::Sender<(AgentStatus, Option<ExecutionId>)>,
    /// Bumped whenever an execution is accepted, ends or is delivered.
    pub(crate) changed: watch::Sender<u64>,
    /// Something new is in the outbox.
    outbox_kick: Notify,
    /// What the server has of each execution's output.
    offsets: Mutex<HashMap<ExecutionId, Offsets>>,
    /// Pids whose `SendExecutionStarted` found no connection: sent on the next one.
    unreported_pids: Mutex<HashMap<ExecutionId, u32>>,
    /// The executions' tasks.
    pub(crate) executions: TaskTracker,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<ExecutePackage>,
    /// Running executions, oldest first, each with its cancel token.
    running: Vec<(ExecutionId, CancellationToken)>,
    /// False once the agent stops taking work (shutting down, or `--once` took one).
    closed: bool,
    /// Accepted in this run.
    taken: usize,
    /// Ended in this run, in the order they ended.
    finished: Vec<(ExecutionId, ExecutionResult)>,
}

/// `ExecutePackage`'s payload, in camelCase (SignalR's default) or PascalCase.
#[derive(Debug, Deserialize)]
struct ExecutePayload {
    #[serde(alias = "ExecutionId")]
    #[serde(rename = "executionId")]
    execution_id: String,
    #[serde(alias = "PackageId")]
    #[serde(rename = "packageId")]
    package_id: String,
    #[serde(default, alias = "PackageName")]
    #[serde(rename = "packageName")]
    package_name: Option<String>,
    #[serde(alias = "Version")]
    version: String,
    #[serde(default, alias = "TenantSlug")]
    #[serde(rename = "tenantSlug")]
    tenant_slug: Option<String>,
}

impl Agent {
    pub(crate) fn new(
        config: AgentConfig,
        accepted: Accepted,
        outbox: Outbox,
        http: reqwest::Client,
    ) -> Self {
        let runner = Runner {
            home: config.home.clone(),
            envs: config.envs.clone(),
            supervise: config.supervise.clone(),
            timeout: config.timeout,
        };
        let packages = Packages::new(&config.home, http);
        Self {
            config,
            hub: Hub::new(),
            runner,
            packages,
            accepted: Mutex::new(accepted),
            outbox,
            state: Mutex::default(),
            status: watch::Sender::new((AgentStatus::Available, None)),
            changed: watch::Sender::new(0),
            outbox_kick: Notify::new(),
            offsets: Mutex::default(),
            unreported_pids: Mutex::default(),
            executions: TaskTracker::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("never poisoned")
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Answers one `ReceiveCommand(command, payload)`. `Ok` acknowledges it; `Err` is
    /// the completion's error text.
    pub(crate) async fn command(self: &Arc<Self>, arguments: Vec<Value>) -> Result<Value, String> {
        let mut arguments = arguments.into_iter();
        let command = arguments.next().unwrap_or(Value::Null);
        let payload = arguments.next().unwrap_or(Value::Null);
        match command.as_str() {
            Some("ExecutePackage") => self.execute_package(payload).map(|()| Value::Null),
            Some("CancelExecution") => self.cancel_execution(payload).map(|()| Value::Null),
            Some("Heartbeat") => {
                // Says the status again, as the seed's agent does.
                self.status.send_modify(|_| {});
                Ok(Value::Null)
            }
            Some(other) => {
                tracing::warn!(command = other, "unknown command from the server");
                Err(format!("unknown command {other:?}"))
            }
            None => Err("the command is not a string".into()),
        }
    }

    fn execute_package(self: &Arc<Self>, payload: Value) -> Result<(), String> {
        let payload: ExecutePayload = serde_json::from_value(payload)
            .map_err(|e| format!("ExecutePackage's payload is not usable: {e}"))?;
        let command = ExecutePackage {
            execution_id: ExecutionId::parse(&payload.execution_id).map_err(|e| e.to_string())?,
            package_id: PackageId::parse(&payload.package_id).map_err(|e| e.to_string())?,
            version: payload
                .version
                .parse()
                .map_err(|e| format!("ExecutePackage's version: {e}"))?,
            package_name: payload.package_name.unwrap_or_default(),
            tenant_slug: payload.tenant_slug,
        };
        let id = command.execution_id.clone();
        let mut state = self.state();
        let mut accepted = self.accepted.lock().expect("never poisoned");
        if accepted.contains(&id) {
            tracing::info!(execution = %id, "ExecutePackage again for an accepted execution; acknowledged, not run again");
            return Ok(());
        }
        if state.closed {
            return Err("this agent takes no more executions (it is stopping)".into());
        }
        accepted
            .accept(&id, Utc::now())
            .map_err(|e| format!("the agent could not record the execution: {}", chain(&e)))?;
        drop(accepted);
        tracing::info!(execution = %id, package = %command.package_id, version = %command.version, "accepted");
        state.waiting.push_back(command);
        state.taken += 1;
        if self.config.once.is_some() {
            state.closed = true;
        }
        drop(state);
        self.start_waiting();
        self.bump();
        Ok(())
    }

    fn cancel_execution(self: &Arc<Self>, payload: Value) -> Result<(), String> {
        // `{executionId}`, or the bare id as the seed's agent reads it.
        let text = match &payload {
            Value::String(id) => Some(id.as_str()),
            Value::Object(map) => map
                .get("executionId")
                .or_else(|| map.get("ExecutionId"))
                .and_then(Value::as_str),
            _ => None,
        }
        .ok_or("CancelExecution's payload has no executionId")?;
        let id = ExecutionId::parse(text).map_err(|e| e.to_string())?;
        let mut state = self.state();
        if let Some((_, cancel)) = state.running.iter().find(|(r, _)| *r == id) {
            tracing::info!(execution = %id, "cancelling");
            cancel.cancel();
            return Ok(());
        }
        if let Some(at) = state.waiting.iter().position(|c| c.execution_id == id) {
            state.waiting.remove(at);
            drop(state);
            tracing::info!(execution = %id, "cancelled before it started");
            self.finish(id, cancelled("cancelled before it started"), None);
            return Ok(());
        }
        tracing::info!(execution = %id, "CancelExecution for an execution not here (ended already, or never sent)");
        Ok(())
    }

    /// Starts waiting executions while there is room.
    fn start_waiting(self: &Arc<Self>) {
        let mut state = self.state();
        while state.running.len() < self.config.max_concurrent.max(1) {
            let Some(command) = state.waiting.pop_front() else {
                break;
            };
            let cancel = CancellationToken::new();
            state
                .running
                .push((command.execution_id.clone(), cancel.clone()));
            let agent = self.clone();
            self.executions
                .spawn(async move { agent.execute(command, cancel).await });
        }
        self.update_status(&state);
    }

    fn update_status(&self, state: &State) {
        let busy = state.running.len() >= self.config.max_concurrent.max(1);
        let now = if busy {
            (
                AgentStatus::Busy,
                state.running.last().map(|(id, _)| id.clone()),
            )
        } else {
            (AgentStatus::Available, None)
        };
        self.status.send_if_modified(|current| {
            let changed = *current != now;
            *current = now;
            changed
        });
    }

    /// One execution, from its package to its result in the outbox.
    async fn execute(self: Arc<Self>, command: ExecutePackage, cancel: CancellationToken) {
        let id = command.execution_id.clone();
        // Said while the package is made ready, not waited for: the server takes
        // the start (with its pid), the output and the result whatever came first, and
        // a late "Running" for a run already ended is refused, not applied.
        tokio::spawn({
            let (agent, id) = (self.clone(), id.clone());
            async move {
                agent
                    .hub
                    .invoke(
                        "SendExecutionStatusUpdate",
                        vec![json!(id), json!("Running"), Value::Null],
                    )
                    .await;
            }
        });
        let config = &self.config;
        let ready = tokio::select! {
            ready = self.packages.ready(&config.server, &config.machine_key, &command.package_id, &command.version) => Some(ready),
            _ = cancel.cancelled() => None,
        };
        let dir = match ready {
            Some(Ok(dir)) => dir,
            Some(Err(e)) => {
                let message = format!("could not get the package: {}", chain(&e));
                tracing::warn!(execution = %id, "{message}");
                let result = ExecutionResult {
                    status: ExecutionStatus::Failed,
                    exit_code: None,
                    message: Some(message),
                };
                return self.finish(id, result, None);
            }
            None => return self.finish(id, cancelled("cancelled before it started"), None),
        };

        let logs = self.runner.logs(&id);
        let stop_shipping = CancellationToken::new();
        let shipper = tokio::spawn({
            let (agent, id, logs, stop) = (
                self.clone(),
                id.clone(),
                logs.clone(),
                stop_shipping.clone(),
            );
            async move { agent.ship_live(&id, &logs, &stop).await }
        });
        let on_start = {
            let (agent, id) = (self.clone(), id.clone());
            Arc::new(move |pid: u32| {
                let (agent, id) = (agent.clone(), id.clone());
                tokio::spawn(async move {
                    let sent = agent
                        .hub
                        .invoke("SendExecutionStarted", vec![json!(id), json!(pid)])
                        .await;
                    if sent == Sent::Lost {
                        agent
                            .unreported_pids
                            .lock()
                            .expect("never poisoned")
                            .insert(id, pid);
                    }
                });
            })
        };
        let finished = self.runner.run(&command, &dir, on_start, &cancel).await;
        stop_shipping.cancel();
        let _ = shipper.await;
        tracing::info!(execution = %id, status = %finished.result.status.as_str(), "ended");
        self.finish(id, finished.result, Some(finished.logs));
    }

    /// Sends a running execution's output as it grows.
    async fn ship_live(
        &self,
        id: &ExecutionId,
        logs: &crate::outbox::LogFiles,
        stop: &CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.cancelled() => return,
            }
            if self.hub.current().is_none() {
                continue;
            }
            let mut offsets = self.offsets(id);
            let shipped = ship(&self.hub, id, logs, &mut offsets).await;
            self.offsets
                .lock()
                .expect("never poisoned")
                .insert(id.clone(), offsets);
            if let Shipped::Refused(why) = shipped {
                tracing::warn!(execution = %id, "the server refused the output; sending no more: {why}");
                return;
            }
        }
    }

    fn offsets(&self, id: &ExecutionId) -> Offsets {
        self.offsets
            .lock()
            .expect("never poisoned")
            .get(id)
            .copied()
            .unwrap_or_default()
    }

    /// Records an execution's end: its result to the outbox, its slot to the next one.
    fn finish(
        self: &Arc<Self>,
        id: ExecutionId,
        result: ExecutionResult,
        logs: Option<crate::outbox::LogFiles>,
    ) {
        let entry = Outgoing {
            execution_id: id.clone(),
            result: result.clone(),
            finished_at: Utc::now(),
            logs,
        };
        if let Err(e) = self.outbox.put(&entry) {
            tracing::error!(execution = %id, "could not store the result; it will not be reported: {}", chain(&e));
        }
        self.unreported_pids
            .lock()
            .expect("never poisoned")
            .remove(&id);
        {
            let mut state = self.state();
            state.running.retain(|(r, _)| *r != id);
            state.finished.push((id, result));
        }
        self.start_waiting();
        self.outbox_kick.notify_one();
        self.bump();
    }

    /// Stops taking work; waiting executions end as cancelled.
    pub(crate) fn close(self: &Arc<Self>) {
        let waiting: Vec<ExecutePackage> = {
            let mut state = self.state();
            state.closed = true;
            state.waiting.drain(..).collect()
        };
        for command in waiting {
            self.finish(
                command.execution_id,
                cancelled("the agent stopped before it started"),
                None,
            );
        }
    }

    /// Cancels every running execution.
    pub(crate) fn cancel_running(&self) {
        for (id, cancel) in &self.state().running {
            tracing::warn!(execution = %id, "cancelling: the agent is stopping");
            cancel.cancel();
        }
    }

    /// The ids of the running executions.
    pub(crate) fn running(&self) -> Vec<ExecutionId> {
        self.state()
            .running
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// How many executions were accepted in this run.
    pub(crate) fn taken(&self) -> usize {
        self.state().taken
    }

    /// The executions that ended in this run, with their results.
    pub(crate) fn finished(&self) -> Vec<(ExecutionId, ExecutionResult)> {
        self.state().finished.clone()
    }

    /// Whether results wait in the outbox.
    pub(crate) fn undelivered(&self) -> bool {
        self.outbox.list().is_ok_and(|l| !l.is_empty())
    }

    /// The status and what `SendStatusUpdate` says, now.
    pub(crate) fn status_now(&self) -> (AgentStatus, Option<ExecutionId>) {
        self.status.borrow().clone()
    }

    /// Sends `SendStatusUpdate` on each change, and again on each new connection.
    pub(crate) async fn report_status(&self) {
        let mut status = self.status.subscribe();
        loop {
            if status.changed().await.is_err() {
                return;
            }
            let (now, id) = status.borrow_and_update().clone();
            self.hub
                .invoke("SendStatusUpdate", vec![json!(now.as_str()), json!(id)])
                .await;
        }
    }

    /// Delivers the outbox whenever it has entries and there is a connection.
    pub(crate) async fn deliver(&self) {
        let mut link = self.hub.subscribe();
        loop {
            let entries = match self.outbox.list() {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::error!("could not read the outbox: {}", chain(&e));
                    Vec::new()
                }
            };
            for entry in entries {
                if self.hub.current().is_none() {
                    break;
                }
                match self.deliver_one(&entry).await {
                    Delivered::Yes => {}
                    Delivered::Lost => break,
                }
            }
            tokio::select! {
                _ = self.outbox_kick.notified() => {}
                changed = link.changed() => if changed.is_err() { return },
            }
        }
    }

    async fn deliver_one(&self, entry: &Outgoing) -> Delivered {
        let id = &entry.execution_id;
        if let Some(logs) = &entry.logs {
            let mut offsets = self.offsets(id);
            let shipped = ship(&self.hub, id, logs, &mut offsets).await;
            self.offsets
                .lock()
                .expect("never poisoned")
                .insert(id.clone(), offsets);
            match shipped {
                Shipped::Lost => return Delivered::Lost,
                Shipped::Refused(why) => {
                    tracing::warn!(execution = %id, "the server refused the rest of the output: {why}");
                }
                Shipped::CaughtUp => {}
            }
        }
        let result = serde_json::to_value(&entry.result).expect("a result serializes");
        match self
            .hub
            .invoke("SendExecutionResult", vec![json!(id), result])
            .await
        {
            Sent::Lost => return Delivered::Lost,
            Sent::Done(_) => {
                tracing::info!(execution = %id, status = %entry.result.status.as_str(), "result delivered");
            }
            Sent::Refused(why) => {
                tracing::warn!(execution = %id, "the server refused the result; dropped: {why}");
            }
        }
        if let Err(e) = self.outbox.remove(id) {
            tracing::error!(execution = %id, "could not remove a delivered result: {}", chain(&e));
        }
        self.offsets.lock().expect("never poisoned").remove(id);
        self.bump();
        Delivered::Yes
    }

    /// Says, on a new connection, what the server must know before anything else: the
    /// status, each execution still running, and the pids it could not be told.
    pub(crate) async fn introduce(&self, connection: &bosun_hub::client::Connection) {
        let (status, id) = self.status_now();
        let _ = connection
            .invoke("SendStatusUpdate", vec![json!(status.as_str()), json!(id)])
            .await;
        for id in self.running() {
            let _ = connection
                .invoke(
                    "SendExecutionStatusUpdate",
                    vec![json!(id), json!("Running"), Value::Null],
                )
                .await;
            let pid = self
                .unreported_pids
                .lock()
                .expect("never poisoned")
                .get(&id)
                .copied();
            if let Some(pid) = pid
                && !matches!(
                    connection
                        .invoke("SendExecutionStarted", vec![json!(id), json!(pid)])
                        .await,
                    Err(bosun_hub::InvokeError::ConnectionEnded)
                )
            {
                self.unreported_pids
                    .lock()
                    .expect("never poisoned")
                    .remove(&id);
            }
        }
    }
}

enum Delivered {
    Yes,
    Lost,
}

fn cancelled(message: &str) -> ExecutionResult {
    ExecutionResult {
        status: ExecutionStatus::Cancelled,
        exit_code: None,
        message: Some(message.to_owned()),
    }
}
