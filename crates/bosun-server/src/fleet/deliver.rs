//! Sending an agent what it has to receive: each Pending execution it has not
//! acknowledged, as `ReceiveCommand("ExecutePackage", …)`, again every little while
//! until the invocation's completion comes back (the acknowledgment), for as long as
//! the connection lasts. A trigger wakes it at once; a reconnect starts it again.
//! The agent keeps the ids it accepted, so a command sent twice runs once.

use std::sync::Arc;
use std::time::Duration;

use bosun_core::error::chain;
use bosun_core::wire::{CancelExecution, ExecutePackage};
use bosun_hub::InvokeError;
use bosun_hub::server::Client;
use bosun_store::Execution;
use chrono::Utc;
use serde_json::Value;
use tokio::sync::Notify;

use super::Fleet;

/// How long an agent has to acknowledge a command before it is sent again.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// Sends `agent_id` its undelivered executions until `client`'s connection ends.
pub(super) async fn run(
    fleet: Fleet,
    agent_id: String,
    tenant_slug: String,
    client: Client,
    wake: Arc<Notify>,
) {
    let resend = fleet.inner.config.agents.resend;
    loop {
        match fleet.store().undelivered(&agent_id).await {
            Ok(executions) => {
                for execution in executions {
                    if execution.cancel_requested {
                        fleet.cancel(&execution).await;
                        continue;
                    }
                    // On its way from here: a cancel from now on follows it to the
                    // agent; one that came since it was read is caught once it lands.
                    fleet.maps().sending.insert(execution.id.clone());
                    let (package_id, package_name) = fleet.package_of(&execution).await;
                    let command = ExecutePackage {
                        execution_id: execution.id.clone(),
                        package_id,
                        package_name,
                        version: execution.package_version.clone().unwrap_or_default(),
                        tenant_slug: tenant_slug.clone(),
                    };
                    let payload =
                        serde_json::to_value(command).expect("a command always serializes");
                    let sent = client.invoke(
                        "ReceiveCommand",
                        vec![Value::from("ExecutePackage"), payload],
                    );
                    let answer = tokio::time::timeout(ACK_WAIT, sent).await;
                    let taken = match &answer {
                        Ok(Ok(_)) => true,
                        // A client with no result to give (SignalR's clients answer a
                        // void handler so) received it all the same.
                        Ok(Err(InvokeError::Remote(error))) => error == NO_RESULT,
                        _ => false,
                    };
                    if taken {
                        delivered(&fleet, &execution.id, &agent_id).await;
                    }
                    fleet.maps().sending.remove(&execution.id);
                    if taken {
                        // A cancel that came since it was read, or as it landed, is
                        // sent now (one while it was on its way went behind it); so is
                        // one for a run the server ended meanwhile, which it no longer
                        // wants.
                        if let Ok(Some(now)) = fleet.store().execution_any(&execution.id).await
                            && (now.cancel_requested || now.is_finished())
                        {
                            send_cancel(client.clone(), now.id);
                        }
                    }
                    match answer {
                        // Refused (the agent is stopping, or full): sent again later,
                        // until it is taken or its wait runs out.
                        Ok(Err(InvokeError::Remote(error))) if !taken => {
                            tracing::debug!(execution = %execution.id, "the agent did not take it: {error}");
                        }
                        Ok(Err(InvokeError::ConnectionEnded)) => return,
                        Err(_) => break,
                        _ => {}
                    }
                }
            }
            Err(e) => {
                tracing::warn!(agent = %agent_id, "could not read what an agent has to receive: {}", chain(&e))
            }
        }
        tokio::select! {
            _ = client.closed() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(resend) => {}
        }
    }
}

/// What SignalR's clients answer an invocation their handler gave no result for.
const NO_RESULT: &str = "Client didn't provide a result.";

/// Records that the agent acknowledged the execution.
async fn delivered(fleet: &Fleet, id: &str, agent_id: &str) {
    match fleet.store().mark_delivered(id, agent_id, Utc::now()).await {
        Ok(_) => tracing::debug!(execution = %id, "delivered"),
        Err(e) => tracing::warn!(execution = %id, "could not record a delivery: {}", chain(&e)),
    }
}

impl Fleet {
    /// The id and name of the package `execution` runs. One sent by a job names its
    /// package by id, whose name is read now; one from seed 000's trigger (or sent
    /// before the package was recorded apart) is the package's own execution.
    async fn package_of(&self, execution: &Execution) -> (String, String) {
        let Some(id) = execution
            .package_id
            .as_deref()
            .filter(|id| *id != execution.job_id)
        else {
            return (execution.job_id.clone(), execution.job_name.clone());
        };
        match self.store().package(&execution.tenant_id, id).await {
            Ok(Some(package)) => (package.id, package.name.to_string()),
            Ok(None) => (id.to_owned(), execution.job_name.clone()),
            Err(e) => {
                tracing::warn!(execution = %execution.id, "could not read the package's name: {}", chain(&e));
                (id.to_owned(), execution.job_name.clone())
            }
        }
    }
}

/// Sends `CancelExecution` for `id`, without waiting for the answer: the agent's
/// final report says how it ended.
pub(super) fn send_cancel(client: Client, id: String) {
    tokio::spawn(async move {
        let payload = serde_json::to_value(CancelExecution {
            execution_id: id.clone(),
        })
        .expect("a command always serializes");
        let sent = client.invoke(
            "ReceiveCommand",
            vec![Value::from("CancelExecution"), payload],
        );
        if tokio::time::timeout(ACK_WAIT, sent).await.is_err() {
            tracing::warn!(execution = %id, "the agent did not acknowledge a cancel in time; it is sent again when the agent reports the run");
        }
    });
}
