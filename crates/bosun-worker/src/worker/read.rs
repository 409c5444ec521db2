//! The reader: on a connection of its own (a blocking `XREADGROUP` holds it), reads
//! as many entries as there are free slots, takes a slot for each and hands them to
//! the dispatcher; a blocked read is interrupted when a slot frees up for a role it
//! left out. It also takes over idle entries in turn, and reconnects with backoff.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bosun_core::backoff::Backoff;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamId;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::claim::claim;
use crate::config::Role;
use crate::slots::{Plan, Slot, Take};
use crate::streams::{self, Taken};

/// The first wait before trying to reach Redis again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The reader's own connection and its client id (for `CLIENT UNBLOCK`).
struct ReadConnection {
    conn: MultiplexedConnection,
    id: i64,
}

async fn connect(shared: &Shared) -> redis::RedisResult<ReadConnection> {
    // No response timeout: a blocking read answers when it answers.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(None);
    let mut conn = shared
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut conn)
        .await?;
    shared.ensure_groups().await?;
    Ok(ReadConnection { conn, id })
}

/// Reads (and takes over idle entries) until `shutdown`, handing what it reads to
/// [`dispatch`](super::dispatch::dispatch); returns the jobs of the entries it took over, still running.
pub(super) async fn read_jobs(
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    to_dispatch: mpsc::Sender<Vec<(Role, StreamId, Slot)>>,
) -> JoinSet<()> {
    let mut jobs = JoinSet::new();
    let mut reader: Option<ReadConnection> = None;
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    let mut next_claim = Instant::now();
    let mut claim_from = BTreeMap::new();
    while !shutdown.is_cancelled() {
        while jobs.try_join_next().is_some() {}
        let Some(plan) = shared.slots.plan() else {
            tokio::select! {
                () = shared.slots.freed().notified() => {}
                () = shutdown.cancelled() => break,
            }
            continue;
        };
        let Some(read) = reader.as_mut() else {
            match connect(shared).await {
                Ok(c) => {
                    if backoff.retrying() {
                        tracing::info!("connected to Redis again");
                    }
                    backoff.reset();
                    reader = Some(c);
                }
                Err(e) => {
                    metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                    let wait = backoff.next_delay();
                    tracing::warn!("cannot reach Redis (retrying in {wait:?}): {e}");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
            }
            continue;
        };
        if Instant::now() >= next_claim {
            next_claim =
                Instant::now() + (shared.config.claim_idle / 2).max(Duration::from_secs(1));
            claim(shared, &plan, &mut claim_from, &mut jobs).await;
            continue;
        }

        let result = read_once(shared, read, &plan, shutdown).await;
        match result {
            Ok(entries) => {
                let entries: Vec<(Role, StreamId, Slot)> = entries
                    .into_iter()
                    .filter_map(|(stream, entry)| {
                        let role = shared.role_of(&stream)?;
                        Some((role, entry, shared.slots.take(role)))
                    })
                    .collect();
                if !entries.is_empty() && to_dispatch.send(entries).await.is_err() {
                    break;
                }
            }
            Err(e) if streams::is_no_group(&e) => {
                tracing::warn!(
                    "a stream or its group is gone (was Redis restarted?); making them again"
                );
                if let Err(e) = shared.ensure_groups().await {
                    tracing::warn!("cannot make the consumer groups: {e}");
                    reader = None;
                }
            }
            Err(e) => {
                metrics::counter!("bosun_worker_redis_errors_total").increment(1);
                tracing::warn!("reading from Redis failed: {e}");
                reader = None;
            }
        }
    }

    jobs
}

/// One read under `plan`: the entries it took. A blocked read or wait is interrupted
/// (as a timeout: nothing taken) when a slot frees up for a role it left out, or on
/// shutdown.
async fn read_once(
    shared: &Shared,
    read: &mut ReadConnection,
    plan: &Plan,
    shutdown: &CancellationToken,
) -> redis::RedisResult<Vec<(String, StreamId)>> {
    let id = read.id;
    let names: Vec<&str> = plan.roles.iter().map(|(r, _)| shared.stream(*r)).collect();
    let block_ms = u64::try_from(shared.config.block.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let (group, consumer) = (&shared.config.group, &shared.config.consumer);
    match plan.take {
        Take::Each(count) => {
            let request = streams::read(&mut read.conn, group, consumer, &names, count, block_ms);
            interruptible(shared, id, plan, shutdown, request).await
        }
        Take::InTurn => {
            let counts: Vec<(&str, usize)> = names
                .iter()
                .zip(&plan.roles)
                .map(|(name, (_, room))| (*name, *room))
                .collect();
            let taken =
                streams::take_in_turn(&mut read.conn, group, consumer, &counts, plan.total).await?;
            match taken {
                Taken::Entries(entries) => Ok(entries),
                Taken::Nothing(newest) => {
                    // Nothing waits: wait for a new entry without taking it, then plan
                    // and take again (another worker may have taken it by then).
                    let wait = streams::wait_past(&mut read.conn, &names, &newest, block_ms);
                    interruptible(shared, id, plan, shutdown, wait).await?;
                    Ok(Vec::new())
                }
            }
        }
    }
}

/// Awaits `request`, a blocking command on the reader's connection (client `id`),
/// ending it early with `CLIENT UNBLOCK … TIMEOUT` (so it returns as if timed out,
/// nothing taken) when a slot frees up for a role `plan` left out, or on shutdown.
async fn interruptible<T>(
    shared: &Shared,
    id: i64,
    plan: &Plan,
    shutdown: &CancellationToken,
    request: impl Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    tokio::pin!(request);
    let wake = async {
        if plan.partial {
            tokio::select! {
                () = shared.slots.freed().notified() => {}
                () = shutdown.cancelled() => {}
            }
        } else {
            shutdown.cancelled().await;
        }
    };
    tokio::select! {
        result = &mut request => result,
        () = wake => {
            let mut conn = shared.conn.clone();
            let unblocked: redis::RedisResult<i64> = redis::cmd("CLIENT")
                .arg("UNBLOCK")
                .arg(id)
                .arg("TIMEOUT")
                .query_async(&mut conn)
                .await;
            if unblocked.is_err() {
                // Without the unblock the read ends at its timeout anyway.
                tracing::debug!("could not interrupt the blocked read");
            }
            request.await
        }
    }
}
