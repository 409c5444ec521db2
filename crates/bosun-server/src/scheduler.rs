//! The clock: starts executions of jobs when their schedules come due.
//!
//! It sleeps until the earliest stored next fire time (or until a schedule is added or
//! removed), then, for each due schedule, asks [`bosun_sched::due`] which instants to
//! run under its missed-run policy and records them in one transaction: the schedule
//! moves on only if its stored next fire is still the one it read, and the executions
//! are created with it. So a restart, a crash between the two, or a second server on
//! the same database never fires one instant twice. Once recorded, each execution
//! is told to people watching the tenant ([`Fleet::tell_created`]).

use std::sync::Arc;
use std::time::Duration;

use bosun_core::TriggerKind;
use bosun_core::error::chain;
use bosun_sched::{MissedPolicy, Schedule, due};
use bosun_store::{Execution, NewExecution, NewSchedule, ScheduleRow, Store, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::admit;
use crate::fleet::Fleet;
use crate::runner::RunnerHandle;

/// The longest the clock sleeps without looking at the store, so schedules another
/// server added, or a wall clock that jumped, are noticed within it.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// After a store error, how long before the clock tries again.
const RETRY: Duration = Duration::from_secs(5);

/// The next fire time stored for a schedule that will never fire again.
pub(crate) const NEVER: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

/// A schedule as something that fires, or why it cannot.
pub(crate) fn parse(new: &NewSchedule) -> Result<(Schedule, MissedPolicy), String> {
    let schedule = match (&new.cron, new.every_ms) {
        (Some(cron), _) => Schedule::cron(cron, new.timezone.as_deref()),
        (None, Some(ms)) => Schedule::every_from(
            Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
            new.anchor,
        ),
        (None, None) => return Err("it has neither a cron expression nor an interval".into()),
    }
    .map_err(|e| e.to_string())?;
    Ok((schedule, new.missed_policy))
}

/// Runs the clock until `stop` fires.
pub(crate) async fn run(
    store: Store,
    runner: RunnerHandle,
    fleet: Fleet,
    changed: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        let wait = match tick(&store, &runner, &fleet, Utc::now()).await {
            Ok(Some(next)) => (next - Utc::now()).to_std().unwrap_or_default(),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::error!("the scheduler could not read its schedules: {}", chain(&e));
                RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
            _ = changed.notified() => {}
            _ = stop.cancelled() => break,
        }
    }
}

/// Fires every schedule due at `now`; returns the earliest next fire time left.
async fn tick(
    store: &Store,
    runner: &RunnerHandle,
    fleet: &Fleet,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut fired = false;
    for row in store.all_schedules().await? {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                tracing::error!(
                    "a schedule cannot be read, so it does not fire: {}",
                    chain(&e)
                );
                continue;
            }
        };
        let next = if row.schedule.next_fire <= now {
            match fire(store, &row, now).await {
                Ok(Some((next, started))) => {
                    fired |= !started.is_empty();
                    for execution in &started {
                        fleet.tell_created(execution);
                    }
                    next
                }
                // Another server moved it on; its new time is read next round.
                Ok(None) => now + chrono::TimeDelta::seconds(1),
                Err(e) => {
                    tracing::error!(schedule = %row.id, "could not fire a schedule: {}", chain(&e));
                    now + chrono::TimeDelta::from_std(RETRY).expect("a few seconds")
                }
            }
        } else {
            row.schedule.next_fire
        };
        if next != NEVER {
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
        }
    }
    if fired {
        runner.wake();
    }
    Ok(earliest)
}

/// Fires one due schedule: its next fire time and the executions it started, or
/// `None` when another server fired it first.
async fn fire(
    store: &Store,
    row: &ScheduleRow,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, Vec<Execution>)>, StoreError> {
    let (instants, next) = match parse(&row.schedule) {
        Ok((schedule, policy)) => {
            let d = due(
                &schedule,
                row.last_fire,
                row.schedule.next_fire,
                now,
                policy,
            );
            (d.fire, d.next.unwrap_or(NEVER))
        }
        Err(why) => {
            tracing::error!(schedule = %row.id, "a schedule cannot fire and is stopped: {why}");
            (Vec::new(), NEVER)
        }
    };
    let mut starts = instants.clone();
    if let Some(job) = store.job(&row.tenant_id, &row.job_id).await? {
        // Created anyway when the definition is invalid, so the run fails where
        // people look, with the reason.
        let definition = admit::definition(&job).ok();
        if definition
            .as_ref()
            .is_some_and(|d| d.duplicate_policy == crate::definition::DuplicatePolicy::Skip)
        {
            // A skip policy admits one new execution, not a catch-up of several.
            starts.drain(..starts.len().saturating_sub(1));
        }
        let mut tx = store.begin().await?;
        if !store
            .advance_schedule(
                &mut tx,
                &row.id,
                row.schedule.next_fire,
                next,
                instants.last().copied(),
            )
            .await?
        {
            return Ok(None);
        }
        let mut started = Vec::new();
        for at in &starts {
            let detail = format!(
                "schedule {} for {}",
                row.id,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            let mut new = NewExecution::of(&job, TriggerKind::Schedule, Some(detail), Vec::new());
            if let Some(definition) = &definition {
                new = admit::under_policy(new, definition);
            }
            match store.insert_execution(&mut tx, new).await {
                Ok(execution) => started.push(execution),
                // Refused by the insert itself, so never two at once (the fire passes).
                Err(StoreError::AlreadyActive { .. }) => {
                    tracing::info!(job = %job.name, "a scheduled run is skipped: the job is still running and its duplicatePolicy is \"skip\"");
                }
                Err(e) => return Err(e),
            }
        }
        store.commit(tx, "firing a schedule").await?;
        Ok(Some((next, started)))
    } else {
        // Its job is gone (the schedule goes with it): nothing to fire.
        Ok(Some((NEVER, Vec::new())))
    }
}
