//! Taking over entries idle too long on any consumer (`XAUTOCLAIM`, within the free
//! slots), and keeping the entries this worker runs from being taken over.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::job::handle;
use super::{InFlight, Shared};
use crate::config::Role;
use crate::slots::Plan;
use crate::streams;

/// Takes over entries idle too long on any consumer, as many as `plan` has room for:
/// every role with room in turn, each up to its free slots, until the free slots in all
/// are used. Looks on from each stream's entry in `from` (and keeps where it stopped
/// there).
pub(super) async fn claim(
    shared: &Arc<Shared>,
    plan: &Plan,
    from: &mut BTreeMap<Role, String>,
    jobs: &mut JoinSet<()>,
) {
    let mut conn = shared.conn.clone();
    let idle_ms = u64::try_from(shared.config.claim_idle.as_millis()).unwrap_or(u64::MAX);
    let mut left = plan.total;
    for (role, room) in &plan.roles {
        if left == 0 {
            break;
        }
        let stream = shared.stream(*role);
        let start = from.entry(*role).or_insert_with(|| "0-0".to_owned());
        let claimed = streams::autoclaim(
            &mut conn,
            stream,
            &shared.config.group,
            &shared.config.consumer,
            idle_ms,
            start,
            (*room).min(left),
        )
        .await;
        match claimed {
            Ok(reply) => {
                // At most the count asked for; an entry each takes a slot below.
                left = left.saturating_sub(reply.claimed.len());
                // "0-0" once the end was reached: the next look starts over.
                start.clone_from(&reply.next_stream_id);
                for id in &reply.deleted_ids {
                    tracing::warn!(stream, entry = %id, "a pending entry was deleted from its stream before it was done");
                }
                for entry in reply.claimed {
                    tracing::info!(stream, entry = %entry.id, "took over an entry pending too long");
                    let attempts =
                        streams::deliveries(&mut conn, stream, &shared.config.group, &entry.id)
                            .await
                            .unwrap_or(u64::from(shared.config.max_attempts));
                    let slot = shared.slots.take(*role);
                    let running = InFlight::new(shared.clone(), *role, &entry.id, slot);
                    jobs.spawn(handle(
                        shared.clone(),
                        *role,
                        entry,
                        running,
                        attempts,
                        None,
                    ));
                }
            }
            Err(e) if streams::is_no_group(&e) => *start = "0-0".to_owned(),
            Err(e) => {
                metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                tracing::warn!(stream, "cannot take over pending entries: {e}");
            }
        }
    }
}

/// Keeps the entries this worker is running from being taken over (see the module's
/// notes), every `claim_idle / 3`, until aborted: it goes on while jobs drain after
/// shutdown.
pub(crate) async fn keep_claimed(shared: Arc<Shared>) {
    let period = (shared.config.claim_idle / 3).max(Duration::from_millis(50));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let running: Vec<(String, Vec<String>)> = shared
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(stream, ids)| (stream.clone(), ids.iter().cloned().collect()))
            .collect();
        let mut conn = shared.conn.clone();
        for (stream, ids) in running {
            let kept = streams::keep_claimed(
                &mut conn,
                &stream,
                &shared.config.group,
                &shared.config.consumer,
                &ids,
            )
            .await;
            match kept {
                Ok(kept) if kept < ids.len() as u64 => tracing::debug!(
                    stream,
                    lost = ids.len() as u64 - kept,
                    "entries being run here are no longer pending here (taken over, or Redis lost them)"
                ),
                Ok(_) => {}
                // The reader notices a lost connection or group and deals with it.
                Err(e) => tracing::debug!(stream, "cannot keep running entries claimed: {e}"),
            }
        }
    }
}
