//! The fleet's sweep, every few seconds: keep-alives written in one batch; agents
//! silent for three keep-alive periods disconnected; runs whose agent did not report
//! them again within the grace period ended "agent lost"; executions no agent
//! acknowledged in time ended with the reason. A timer, not a poll of the store for
//! work: deliveries are woken by triggers and connections.

use std::time::{Duration, Instant};

use bosun_core::ExecutionStatus;
use bosun_core::error::chain;
use bosun_store::Finish;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Fleet;

/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(2);

pub(super) async fn sweep(fleet: Fleet, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                fleet.close_all();
                fleet.flush_seen().await;
                return;
            }
            _ = tokio::time::sleep(EVERY) => {}
        }
        fleet.flush_seen().await;
        fleet.drop_silent();
        fleet.give_up_lost().await;
        fleet.fail_overdue().await;
    }
}

impl Fleet {
    /// Notes that an agent sent something (a keep-alive or any report).
    pub(super) fn seen(&self, agent_id: &str) {
        let mut maps = self.maps();
        if let Some(session) = maps.sessions.get_mut(agent_id) {
            session.last_seen = Instant::now();
        }
        maps.seen
            .insert(agent_id.to_owned(), Utc::now().timestamp_millis());
    }

    /// Writes the keep-alives noted since the last sweep, all in one transaction.
    async fn flush_seen(&self) {
        let seen: Vec<(String, i64)> = self.maps().seen.drain().collect();
        if seen.is_empty() {
            return;
        }
        if let Err(e) = self.store().agents_seen(&seen).await {
            tracing::warn!("could not record agents' keep-alives: {}", chain(&e));
        }
    }

    /// Closes the connections of agents silent for three keep-alive periods.
    fn drop_silent(&self) {
        let silent_for = self.inner.config.agents.keep_alive * 3;
        let maps = self.maps();
        for session in maps.sessions.values() {
            if session.last_seen.elapsed() > silent_for {
                tracing::info!(agent = %session.agent.name, "agent missed three keep-alives: disconnecting it");
                session
                    .client
                    .close(Some("no keep-alive for three periods".to_owned()));
            }
        }
    }

    /// Ends the runs whose agent did not report them again in time.
    async fn give_up_lost(&self) {
        let now = Instant::now();
        let due: Vec<String> = {
            let maps = self.maps();
            maps.lost
                .iter()
                .filter(|(_, deadline)| **deadline <= now)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for id in due {
            self.maps().lost.remove(&id);
            let execution = match self.store().execution_any(&id).await {
                Ok(Some(e)) if !e.is_finished() => e,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(execution = %id, "could not read a lost run: {}", chain(&e));
                    continue;
                }
            };
            let name = self.agent_name(&execution).await;
            let finish = Finish {
                status: ExecutionStatus::Failed,
                exit_code: None,
                message: format!(
                    "agent lost: {name} went away and did not report this run again within {}",
                    humantime::format_duration(self.grace())
                ),
                end_time: Utc::now(),
            };
            self.end(&execution, &finish).await;
        }
    }

    /// Ends the executions no agent acknowledged before their wait ran out.
    async fn fail_overdue(&self) {
        let overdue = match self.store().overdue(Utc::now()).await {
            Ok(overdue) => overdue,
            Err(e) => {
                tracing::warn!("could not read undelivered executions: {}", chain(&e));
                return;
            }
        };
        for execution in overdue {
            let name = self.agent_name(&execution).await;
            let finish = Finish {
                status: ExecutionStatus::Failed,
                exit_code: None,
                message: format!(
                    "not delivered: agent {name} did not connect and take it within {}",
                    humantime::format_duration(self.inner.config.agents.delivery_wait)
                ),
                end_time: Utc::now(),
            };
            self.end(&execution, &finish).await;
        }
    }
}
