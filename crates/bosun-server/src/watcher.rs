//! File triggers: watches each stored trigger's directory and starts its job once for
//! every matching file that arrives, with the file's path as the job's last argument.
//!
//! Each file version (path and modification time) is recorded in the transaction that
//! creates its execution, so a file seen twice (by the watch and by the start-up scan,
//! by two servers, or again after a restart) starts the job once; once recorded, the
//! execution is told to people watching the tenant. Files that arrived
//! while nothing watched are found by a scan when the watch starts, and run or are
//! skipped as the trigger's missed-run policy says. The set of watches follows the
//! store: it is brought up to date when the API adds or removes a trigger, and once a
//! minute for changes made elsewhere.
//!
//! A watch that fails (its directory removed or renamed, an error from the operating
//! system) is reported as the trigger's problem and started again, at once and then
//! with a backoff from [`FIRST_RETRY`] doubling up to [`RESYNC`], as long as it cannot
//! be. A trigger that cannot be watched when the server starts is retried the same
//! way. When the watch is back, its scan runs the files that arrived meanwhile (under
//! either missed-run policy: the server was up).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bosun_core::backoff::Backoff;
use bosun_core::error::chain;
use bosun_core::{FileMissed, TriggerKind};
use bosun_sched::FileTrigger;
use bosun_store::{FileTriggerRow, NewExecution, NewFileTrigger, Store, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::admit;
use crate::fleet::Fleet;
use crate::runner::RunnerHandle;

/// How often the watches are compared with the store without being told, and the
/// longest wait before a trigger that cannot be watched is tried again.
const RESYNC: Duration = Duration::from_secs(60);

/// The first wait before a trigger that cannot be watched is tried again; each failure
/// doubles it, up to [`RESYNC`] (each wait shortened by a little jitter).
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Under the skip policy, a file changed this long before its watch started still
/// counts as new: file times come from a coarse kernel clock that can lag ours.
const SKIP_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Each trigger's state for the API: `None` while watched, else why it is not.
#[derive(Clone, Default)]
pub(crate) struct Health(Arc<std::sync::Mutex<HashMap<String, Option<String>>>>);

impl Health {
    /// `Some(None)` while watched, `Some(Some(why))` when the watch failed, `None`
    /// before the watcher got to it.
    pub(crate) fn of(&self, id: &str) -> Option<Option<String>> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<String>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A file trigger as something to watch.
pub(crate) fn parse(new: &NewFileTrigger) -> FileTrigger {
    let mut trigger = FileTrigger::new(&new.directory, &new.glob);
    trigger.debounce = Duration::from_millis(u64::try_from(new.debounce_ms).unwrap_or(0));
    trigger.recursive = new.recursive;
    trigger
}

/// A matching file, from the watch or from the scan at its start.
struct Arrival {
    trigger: Arc<FileTriggerRow>,
    path: PathBuf,
    /// Found by the scan of a trigger whose policy skips missed files: a file last
    /// changed before this (when the watch started) arrived while nothing watched.
    missed_before: Option<DateTime<Utc>>,
}

/// What a trigger's watch tells the loop in [`run`].
enum Report {
    /// A file to start the job for.
    Arrived(Arrival),
    /// The watch of this trigger stopped working, for this reason.
    Lost {
        trigger: Arc<FileTriggerRow>,
        why: String,
    },
}

/// A trigger being watched.
struct Watching {
    row: Arc<FileTriggerRow>,
    stop: CancellationToken,
}

/// A trigger that could not be watched, and when to try again.
struct Retry {
    /// When the next attempt is due.
    at: Instant,
    /// The wait before it (for the log).
    delay: Duration,
    /// The waits after each failure: from [`FIRST_RETRY`], doubling up to [`RESYNC`].
    backoff: Backoff,
    /// Since when nothing has watched it: under the skip policy, files changed after
    /// this still run once it is watched again.
    since: DateTime<Utc>,
}

impl Retry {
    /// The next attempt after one that failed.
    fn after_failure(previous: Option<&Retry>) -> Self {
        let mut backoff = previous.map_or_else(retry_backoff, |r| r.backoff.clone());
        let delay = backoff.next_delay();
        Self {
            at: Instant::now() + delay,
            delay,
            backoff,
            since: previous.map_or_else(Utc::now, |r| r.since),
        }
    }
}

/// The waits before a trigger that cannot be watched is tried again.
fn retry_backoff() -> Backoff {
    Backoff::new(FIRST_RETRY, RESYNC)
}

/// Runs the watches until `stop` fires.
pub(crate) async fn run(
    store: Store,
    runner: RunnerHandle,
    fleet: Fleet,
    changed: Arc<Notify>,
    health: Health,
    stop: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<Report>(bosun_sched::watch::CHANNEL_CAPACITY);
    let mut watching: HashMap<String, Watching> = HashMap::new();
    let mut retries: HashMap<String, Retry> = HashMap::new();
    'outer: loop {
        let mut triggers = Triggers {
            watching: &mut watching,
            retries: &mut retries,
            health: &health,
        };
        if let Err(e) = sync(&store, &mut triggers, &tx, &stop).await {
            tracing::error!("could not read the file triggers: {}", chain(&e));
        }
        // Until the next resync, or the next retry if one comes sooner.
        let mut wake = Instant::now() + RESYNC;
        if let Some(retry) = retries.values().map(|r| r.at).min() {
            wake = wake.min(retry);
        }
        let resync = tokio::time::sleep_until(wake);
        tokio::pin!(resync);
        loop {
            tokio::select! {
                Some(report) = rx.recv() => {
                    let arrival = match report {
                        Report::Arrived(arrival) => arrival,
                        Report::Lost { trigger, why } => {
                            if lost(&mut watching, &mut retries, &health, &trigger, why) {
                                break;
                            }
                            continue;
                        }
                    };
                    // Queued before its trigger was removed: dropped with it.
                    if !watching.contains_key(&arrival.trigger.id) {
                        continue;
                    }
                    if let Err(e) = arrived(&store, &runner, &fleet, &arrival).await {
                        tracing::error!(
                            trigger = %arrival.trigger.id,
                            file = %arrival.path.display(),
                            "could not start a job for a file: {}",
                            chain(&e)
                        );
                    }
                }
                _ = changed.notified() => break,
                _ = &mut resync => break,
                _ = stop.cancelled() => break 'outer,
            }
        }
    }
    for w in watching.values() {
        w.stop.cancel();
    }
}

/// Handles a watch that stopped working: it is no longer counted as watching, its
/// problem is shown, and it is due to be started again at once. False when the report
/// came from a watch already replaced or removed.
fn lost(
    watching: &mut HashMap<String, Watching>,
    retries: &mut HashMap<String, Retry>,
    health: &Health,
    trigger: &Arc<FileTriggerRow>,
    why: String,
) -> bool {
    let current = watching
        .get(&trigger.id)
        .is_some_and(|w| Arc::ptr_eq(&w.row, trigger));
    if !current {
        return false;
    }
    if let Some(w) = watching.remove(&trigger.id) {
        w.stop.cancel();
    }
    tracing::warn!(trigger = %trigger.id, "a file trigger stopped watching (trying again): {why}");
    health.lock().insert(trigger.id.clone(), Some(why));
    retries.insert(
        trigger.id.clone(),
        Retry {
            at: Instant::now(),
            delay: Duration::ZERO,
            backoff: retry_backoff(),
            since: Utc::now(),
        },
    );
    true
}

/// What [`sync`] brings up to date.
struct Triggers<'a> {
    watching: &'a mut HashMap<String, Watching>,
    retries: &'a mut HashMap<String, Retry>,
    health: &'a Health,
}

/// Starts the watches of new triggers (and of those whose retry is due) and stops those
/// of removed ones.
async fn sync(
    store: &Store,
    triggers: &mut Triggers<'_>,
    tx: &mpsc::Sender<Report>,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    let rows: Vec<FileTriggerRow> = store
        .all_file_triggers()
        .await?
        .into_iter()
        .filter_map(|row| {
            row.inspect_err(|e| {
                tracing::error!(
                    "a file trigger cannot be read, so it is not watched: {}",
                    chain(e)
                );
            })
            .ok()
        })
        .collect();
    triggers.watching.retain(|id, w| {
        let keep = rows.iter().any(|r| r.id == *id && *r == *w.row);
        if !keep {
            w.stop.cancel();
        }
        keep
    });
    let present = |id: &String| rows.iter().any(|r| r.id == *id);
    triggers.retries.retain(|id, _| present(id));
    let mut health = triggers.health.lock();
    health.retain(|id, _| present(id));
    let now = Instant::now();
    for row in rows {
        if triggers.watching.contains_key(&row.id) {
            continue;
        }
        let retry = triggers.retries.get(&row.id);
        if retry.is_some_and(|r| r.at > now) {
            continue;
        }
        let since = retry.map(|r| r.since);
        let row = Arc::new(row);
        match start(store, row.clone(), tx.clone(), stop.child_token(), since) {
            Ok(w) => {
                tracing::info!(trigger = %row.id, directory = %row.trigger.directory, glob = %row.trigger.glob, "watching");
                health.insert(row.id.clone(), None);
                triggers.retries.remove(&row.id);
                triggers.watching.insert(row.id.clone(), w);
            }
            Err(why) => {
                let next = Retry::after_failure(retry);
                // Said once per cause, not at every retry.
                if health.get(&row.id) != Some(&Some(why.clone())) {
                    tracing::warn!(trigger = %row.id, "a file trigger cannot watch (tried again in {}, then less often, at least once a minute): {why}", humantime::format_duration(next.delay));
                    health.insert(row.id.clone(), Some(why));
                }
                triggers.retries.insert(row.id.clone(), next);
            }
        }
    }
    Ok(())
}

/// Watches one trigger, then scans for the files already there. `since`: when nothing
/// has watched it since while the server ran (a lost watch being started again).
fn start(
    store: &Store,
    row: Arc<FileTriggerRow>,
    tx: mpsc::Sender<Report>,
    stop: CancellationToken,
    since: Option<DateTime<Utc>>,
) -> Result<Watching, String> {
    let trigger = parse(&row.trigger);
    let missed_before = (row.trigger.missed_policy == FileMissed::Skip)
        .then(|| since.unwrap_or_else(Utc::now) - SKIP_MARGIN);
    // The watch first, so a file arriving during the scan is seen by one or the other.
    let mut events =
        bosun_sched::watch(&trigger, stop.clone()).map_err(|e| chain(&e).to_string())?;
    let store = store.clone();
    let watched = row.clone();
    tokio::spawn(async move {
        let debounce = trigger.debounce;
        let scan = tokio::task::spawn_blocking(move || bosun_sched::existing_matches(&trigger));
        match scan.await {
            Ok(Ok(found)) => {
                // A file changed within the debounce may still be being written: give
                // it the debounce, as the watch would, before it counts.
                if found.iter().any(|p| changed_within(p, debounce)) {
                    tokio::time::sleep(debounce).await;
                }
                let present: Vec<String> = found
                    .iter()
                    .filter_map(|p| p.to_str().map(str::to_owned))
                    .collect();
                for path in found {
                    let arrival = Arrival {
                        trigger: watched.clone(),
                        path,
                        missed_before,
                    };
                    if tx.send(Report::Arrived(arrival)).await.is_err() {
                        return;
                    }
                }
                if let Err(e) = store.forget_trigger_files(&watched.id, &present).await {
                    tracing::warn!(trigger = %watched.id, "could not forget removed files: {}", chain(&e));
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(trigger = %watched.id, "could not scan for files: {}", chain(&e))
            }
            Err(e) => tracing::warn!(trigger = %watched.id, "the scan for files failed: {e}"),
        }
        while let Some(event) = events.recv().await {
            let report = match event {
                Ok(event) => Report::Arrived(Arrival {
                    trigger: watched.clone(),
                    path: event.path,
                    missed_before: None,
                }),
                Err(e) => Report::Lost {
                    trigger: watched.clone(),
                    why: chain(&e).to_string(),
                },
            };
            if tx.send(report).await.is_err() {
                return;
            }
        }
    });
    Ok(Watching { row, stop })
}

/// True when `path` was modified less than `window` ago.
fn changed_within(path: &std::path::Path, window: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < window)
}

/// Starts the trigger's job for a file, unless this version of it was handled before.
async fn arrived(
    store: &Store,
    runner: &RunnerHandle,
    fleet: &Fleet,
    arrival: &Arrival,
) -> Result<(), StoreError> {
    let row = &arrival.trigger;
    let Some(path) = arrival.path.to_str() else {
        tracing::warn!(file = %arrival.path.display(), "a file whose name is not UTF-8 cannot be passed to a job; rename it");
        return Ok(());
    };
    // Gone already (moved away by another consumer): nothing to hand over.
    let Ok(modified) = tokio::fs::metadata(&arrival.path)
        .await
        .and_then(|m| m.modified())
    else {
        return Ok(());
    };
    let modified = DateTime::<Utc>::from(modified);
    let Some(job) = store.job(&row.tenant_id, &row.job_id).await? else {
        return Ok(());
    };
    let start = arrival
        .missed_before
        .is_none_or(|watched| modified >= watched);
    let mut started = None;
    let mut tx = store.begin().await?;
    if !store
        .record_trigger_file(&mut tx, &row.id, path, modified)
        .await?
    {
        return Ok(());
    }
    if start {
        let new = NewExecution::of(
            &job,
            TriggerKind::File,
            Some(path.to_owned()),
            vec![path.to_owned()],
        );
        // A definition that does not parse still gets its execution: the runner fails
        // it with the reason, where a user looks.
        let new = match admit::definition(&job) {
            Ok(definition) => admit::under_policy(new, &definition),
            Err(_) => new,
        };
        match store.insert_execution(&mut tx, new).await {
            Ok(execution) => started = Some(execution),
            // The file is recorded as seen all the same: it is not run later.
            Err(StoreError::AlreadyActive { .. }) => {
                tracing::warn!(job = %job.name, file = path, "a file is skipped: the job is still running and its duplicatePolicy is \"skip\" (use \"queue\" to run once per file)");
            }
            Err(e) => return Err(e),
        }
    }
    store.commit(tx, "starting a job for a file").await?;
    if let Some(execution) = started {
        fleet.tell_created(&execution);
        runner.wake();
    }
    Ok(())
}
