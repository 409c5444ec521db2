//! An agent's methods on the hub: seed 000's `KeepAlive`, `SendStatusUpdate` and
//! `SendExecutionStatusUpdate`, and bosun's own `SendExecutionStarted`,
//! `SendExecutionLog` and `SendExecutionResult`.
//!
//! An agent may report only on executions sent to it, and not on one the server has
//! already ended: a late report from a run given up on ("agent lost") is refused,
//! not applied. A report the server already has (sent again after a reconnect) is
//! answered as if new, so an agent may always re-send what it is unsure of.

use base64::Engine as _;
use bosun_core::wire::AgentResult;
use bosun_core::{AgentStatus, ExecutionStatus};
use bosun_exec::Stream;
use bosun_hub::server::HubError;
use bosun_store::{Execution, Finish, Started};
use chrono::Utc;
use serde_json::Value;

use super::hub::AgentConnection;
use super::{LiveRun, deliver};

/// The most raw bytes one `SendExecutionLog` may carry.
pub(crate) const LOG_CHUNK: usize = 16 * 1024;

/// The argument `index` of `arguments` as text; `None` when it is null or missing.
fn text(arguments: &[Value], index: usize) -> Result<Option<String>, HubError> {
    match arguments.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(HubError::Shown(format!(
            "argument {} must be text, not {other}",
            index + 1
        ))),
    }
}

fn required(arguments: &[Value], index: usize, what: &str) -> Result<String, HubError> {
    text(arguments, index)?.ok_or_else(|| HubError::Shown(format!("{what} is required")))
}

/// Checks the argument count: at least `least`, at most `most`.
fn arity(arguments: &[Value], least: usize, most: usize) -> Result<(), HubError> {
    if arguments.len() < least || arguments.len() > most {
        return Err(HubError::WrongArguments {
            given: arguments.len(),
            expected: if arguments.len() < least { least } else { most },
        });
    }
    Ok(())
}

/// An execution status an agent reports: seed 000's `Running`, `Completed`,
/// `Failed`, `Cancelled`, or bosun's own names, in any case.
fn reported(status: &str) -> Result<ExecutionStatus, HubError> {
    ExecutionStatus::from_name(status).ok_or_else(|| {
        HubError::Shown(format!(
            "unknown status {status:?}: use Running, Completed, Failed, Cancelled or TimedOut"
        ))
    })
}

impl AgentConnection {
    /// Runs the method `target`.
    pub(super) async fn call(
        &mut self,
        target: &str,
        arguments: Vec<Value>,
    ) -> Result<Value, HubError> {
        match target.to_ascii_lowercase().as_str() {
            "keepalive" => Ok(Value::Null),
            "sendstatusupdate" => {
                arity(&arguments, 1, 2)?;
                let status = required(&arguments, 0, "the status")?;
                let status: AgentStatus = status.parse().map_err(|_| {
                    HubError::Shown(format!(
                        "unknown agent status {status:?}: use Available or Busy"
                    ))
                })?;
                let execution = text(&arguments, 1)?;
                self.fleet
                    .store()
                    .set_agent_status(&self.agent.id, status)
                    .await
                    .map_err(|e| hidden("record an agent's status", &e))?;
                self.fleet.tell_agent(&self.agent, status, execution);
                Ok(Value::Null)
            }
            "sendexecutionstatusupdate" => {
                arity(&arguments, 2, 3)?;
                let id = required(&arguments, 0, "the execution id")?;
                let status = reported(&required(&arguments, 1, "the status")?)?;
                let message = text(&arguments, 2)?;
                self.status(&id, status, None, message).await
            }
            "sendexecutionstarted" => {
                arity(&arguments, 2, 2)?;
                let id = required(&arguments, 0, "the execution id")?;
                let pid = arguments[1].as_i64();
                self.status(&id, ExecutionStatus::Running, pid, None).await
            }
            "sendexecutionlog" => {
                arity(&arguments, 4, 4)?;
                let id = required(&arguments, 0, "the execution id")?;
                let stream = match required(&arguments, 1, "the stream")?.as_str() {
                    "stdout" => Stream::Stdout,
                    "stderr" => Stream::Stderr,
                    other => {
                        return Err(HubError::Shown(format!(
                            "unknown stream {other:?}: use stdout or stderr"
                        )));
                    }
                };
                let offset = arguments[2]
                    .as_u64()
                    .ok_or_else(|| HubError::Shown("the offset must be a count of bytes".into()))?;
                let data = base64::engine::general_purpose::STANDARD
                    .decode(required(&arguments, 3, "the data")?)
                    .map_err(|_| HubError::Shown("the data must be base64".into()))?;
                if data.len() > LOG_CHUNK {
                    return Err(HubError::Shown(format!(
                        "a log chunk may carry at most {LOG_CHUNK} bytes"
                    )));
                }
                self.log(&id, stream, offset, &data).await
            }
            "sendexecutionresult" => {
                arity(&arguments, 2, 2)?;
                let id = required(&arguments, 0, "the execution id")?;
                let result: AgentResult = serde_json::from_value(arguments[1].clone())
                    .map_err(|e| HubError::Shown(format!("the result is malformed: {e}")))?;
                let status = reported(&result.status)?;
                self.result(&id, status, result.exit_code, result.message)
                    .await
            }
            _ => Err(HubError::MethodDoesNotExist),
        }
    }

    /// The agent's own execution `id`, not yet ended: anything else is refused.
    async fn own(&self, id: &str) -> Result<Execution, HubError> {
        let execution = self
            .fleet
            .store()
            .execution(&self.tenant.id, id)
            .await
            .map_err(|e| hidden("read an execution", &e))?
            .filter(|e| e.agent_id.as_deref() == Some(self.agent.id.as_str()))
            .ok_or_else(|| HubError::Shown(format!("execution {id} was not sent to this agent")))?;
        Ok(execution)
    }

    fn refuse_ended(execution: &Execution) -> HubError {
        HubError::Shown(format!(
            "execution {} has already ended ({}{}): this report is refused",
            execution.id,
            execution.status,
            execution
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ))
    }

    /// A status update: `Running` starts it (or, again after a reconnect, says it
    /// still runs); a final status ends it.
    async fn status(
        &mut self,
        id: &str,
        status: ExecutionStatus,
        pid: Option<i64>,
        message: Option<String>,
    ) -> Result<Value, HubError> {
        let execution = self.own(id).await?;
        if status.is_final() {
            return self.result(id, status, None, message).await;
        }
        if execution.is_finished() {
            return Err(Self::refuse_ended(&execution));
        }
        self.fleet.maps().lost.remove(id);
        // Receiving a report of it is proof it was received.
        if execution.delivered_at.is_none() {
            self.mark_delivered(id).await;
        }
        if status == ExecutionStatus::Running {
            self.fleet.ensure_live(&execution);
            if execution.status == ExecutionStatus::Pending || pid.is_some() {
                let started = Started {
                    pid: pid.unwrap_or(0),
                    start_time: execution.start_time.unwrap_or_else(Utc::now),
                    output_log: self
                        .fleet
                        .log_path(id, Stream::Stdout)
                        .to_string_lossy()
                        .into_owned(),
                    error_log: self
                        .fleet
                        .log_path(id, Stream::Stderr)
                        .to_string_lossy()
                        .into_owned(),
                };
                self.fleet
                    .store()
                    .remote_started(id, &self.agent.id, &started, pid.is_some())
                    .await
                    .map_err(|e| hidden("record a start", &e))?;
                if execution.status == ExecutionStatus::Pending {
                    self.fleet.tell_execution(
                        &execution,
                        &self.agent.name,
                        ExecutionStatus::Running,
                        message,
                    );
                }
            }
            if execution.cancel_requested {
                deliver::send_cancel(self.client.clone(), id.to_owned());
            }
        }
        Ok(Value::Null)
    }

    async fn mark_delivered(&self, id: &str) {
        let store = self.fleet.store();
        if let Err(e) = store.mark_delivered(id, &self.agent.id, Utc::now()).await {
            tracing::warn!(execution = %id, "could not record a delivery: {}", bosun_core::error::chain(&e));
        }
    }

    /// A final report. The same end again is answered as accepted; a different
    /// one, after the server ended it, is refused.
    async fn result(
        &mut self,
        id: &str,
        status: ExecutionStatus,
        exit_code: Option<i64>,
        message: Option<String>,
    ) -> Result<Value, HubError> {
        let execution = self.own(id).await?;
        if !status.is_final() {
            return Err(HubError::Shown(format!(
                "{status} is not how an execution ends: use CompletedSuccessfully, Failed, TimedOut or Cancelled"
            )));
        }
        if execution.is_finished() {
            return if execution.status == status {
                Ok(Value::Null)
            } else {
                Err(Self::refuse_ended(&execution))
            };
        }
        let message = message.unwrap_or_else(|| match exit_code {
            Some(code) => format!("{status} on agent {} (exit code {code})", self.agent.name),
            None => format!("{status} on agent {}", self.agent.name),
        });
        let finish = Finish {
            status,
            exit_code,
            message,
            end_time: Utc::now(),
        };
        if !self.fleet.end(&execution, &finish).await {
            // Ended meanwhile (cancelled, given up): read how, and answer alike.
            let now = self.own(id).await?;
            if now.status != status {
                return Err(Self::refuse_ended(&now));
            }
        }
        Ok(Value::Null)
    }

    /// Appends a chunk of live output at `offset`; answers the bytes the server has
    /// of that stream, so the agent goes on from there. A chunk that does not start
    /// where the server's log ends changes nothing.
    async fn log(
        &mut self,
        id: &str,
        stream: Stream,
        offset: u64,
        data: &[u8],
    ) -> Result<Value, HubError> {
        let execution = self.own(id).await?;
        if execution.is_finished() {
            return Err(Self::refuse_ended(&execution));
        }
        self.fleet.maps().lost.remove(id);
        self.fleet.ensure_live(&execution);
        let path = self.fleet.log_path(id, stream);
        let limit = self.fleet.inner.config.log_limit;
        let _one = self.fleet.inner.log_lock.lock().await;
        let had = tokio::fs::metadata(&path)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        let counted = self.fleet.written(id, stream).max(had);
        if offset != counted {
            return Ok(Value::from(counted));
        }
        // Past the cap, the bytes are counted and dropped.
        let room = usize::try_from(limit.saturating_sub(had)).unwrap_or(usize::MAX);
        let kept = &data[..data.len().min(room)];
        if !kept.is_empty() {
            append(&path, kept)
                .await
                .map_err(|e| hidden("write a log", &e))?;
        }
        let now = offset + data.len() as u64;
        self.fleet.count(id, stream, now);
        Ok(Value::from(now))
    }
}

/// Appends `bytes` to the log at `path`, making its folder if need be.
async fn append(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await
}

/// An error the agent is not shown (the hub logs it).
fn hidden(what: &str, error: &dyn std::error::Error) -> HubError {
    HubError::Hidden(format!(
        "could not {what} for an agent: {}",
        bosun_core::error::chain(error)
    ))
}

impl super::Fleet {
    /// Makes sure a run of the agent's has its log counters.
    fn ensure_live(&self, execution: &Execution) {
        let mut maps = self.maps();
        maps.live
            .entry(execution.id.clone())
            .or_insert_with(|| LiveRun {
                stdout: tokio::sync::watch::Sender::new(0),
                stderr: tokio::sync::watch::Sender::new(0),
            });
    }

    /// The bytes of a stream the server has counted for a run.
    fn written(&self, id: &str, stream: Stream) -> u64 {
        self.maps().live.get(id).map_or(0, |run| match stream {
            Stream::Stdout => *run.stdout.borrow(),
            Stream::Stderr => *run.stderr.borrow(),
        })
    }

    /// Sets a run's count of a stream, telling its followers.
    fn count(&self, id: &str, stream: Stream, total: u64) {
        if let Some(run) = self.maps().live.get(id) {
            match stream {
                Stream::Stdout => run.stdout.send_replace(total),
                Stream::Stderr => run.stderr.send_replace(total),
            };
        }
    }
}
