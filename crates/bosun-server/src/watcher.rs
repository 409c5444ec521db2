//! File triggers: watches each stored trigger's directory and starts its job once for
//! every matching file that arrives, with the file's path as the job's last argument.
//!
//! Each file version (path and modification time) is recorded in the transaction that
//! creates its execution, so a file seen twice (by the watch and by the start-up scan,
//! by two servers, or again after a restart) starts the job once. Files that arrived
//! while nothing watched are found by a scan when the watch starts, and run or are
//! skipped as the trigger's missed-run policy says. The set of watches follows the
//! store: it is brought up to date when the API adds or removes a trigger, and once a
//! minute for changes made elsewhere.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bosun_sched::FileTrigger;
use bosun_store::{FileTriggerRow, NewExecution, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::admit;
use crate::runner::RunnerHandle;

/// How often the watches are compared with the store without being told.
const RESYNC: Duration = Duration::from_secs(60);

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

/// What to do about files that arrived while nothing watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FileMissed {
    /// Start the job for each of them, like a file that arrives while watched.
    #[default]
    RunAll,
    /// Leave them: only files arriving from now on start the job.
    Skip,
}

impl FileMissed {
    /// The stored form.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::RunAll => "run-all",
            Self::Skip => "skip",
        }
    }

    fn from_stored(text: &str) -> Self {
        if text == "skip" {
            Self::Skip
        } else {
            Self::RunAll
        }
    }
}

/// A stored trigger as something to watch.
pub(crate) fn parse(row: &FileTriggerRow) -> FileTrigger {
    let mut trigger = FileTrigger::new(&row.directory, &row.glob);
    trigger.debounce = Duration::from_millis(u64::try_from(row.debounce_ms).unwrap_or(0));
    trigger.recursive = row.recursive;
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

/// A trigger being watched.
struct Watching {
    row: Arc<FileTriggerRow>,
    stop: CancellationToken,
}

/// Runs the watches until `stop` fires.
pub(crate) async fn run(
    store: Store,
    runner: RunnerHandle,
    changed: Arc<Notify>,
    health: Health,
    stop: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<Arrival>(bosun_sched::watch::CHANNEL_CAPACITY);
    let mut watching: HashMap<String, Watching> = HashMap::new();
    'outer: loop {
        if let Err(e) = sync(&store, &mut watching, &health, &tx, &stop).await {
            tracing::error!("could not read the file triggers: {e}");
        }
        let resync = tokio::time::sleep(RESYNC);
        tokio::pin!(resync);
        loop {
            tokio::select! {
                Some(arrival) = rx.recv() => {
                    // Queued before its trigger was removed: dropped with it.
                    if !watching.contains_key(&arrival.trigger.id) {
                        continue;
                    }
                    if let Err(e) = arrived(&store, &runner, &arrival).await {
                        tracing::error!(
                            trigger = %arrival.trigger.id,
                            file = %arrival.path.display(),
                            "could not start a job for a file: {e}"
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

/// Starts the watches of new triggers and stops those of removed ones.
async fn sync(
    store: &Store,
    watching: &mut HashMap<String, Watching>,
    health: &Health,
    tx: &mpsc::Sender<Arrival>,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    let rows = store.file_triggers(None, None).await?;
    watching.retain(|id, w| {
        let keep = rows.iter().any(|r| r.id == *id && *r == *w.row);
        if !keep {
            w.stop.cancel();
        }
        keep
    });
    let mut health = health.lock();
    health.retain(|id, _| rows.iter().any(|r| r.id == *id));
    for row in rows {
        if watching.contains_key(&row.id) {
            continue;
        }
        let row = Arc::new(row);
        match start(store, row.clone(), tx.clone(), stop.child_token()) {
            Ok(w) => {
                tracing::info!(trigger = %row.id, directory = %row.directory, glob = %row.glob, "watching");
                health.insert(row.id.clone(), None);
                watching.insert(row.id.clone(), w);
            }
            Err(why) => {
                // Said once per cause, not at every resync.
                if health.get(&row.id) != Some(&Some(why.clone())) {
                    tracing::warn!(trigger = %row.id, "a file trigger cannot watch (retried every minute): {why}");
                    health.insert(row.id.clone(), Some(why));
                }
            }
        }
    }
    Ok(())
}

/// Watches one trigger, then scans for the files already there.
fn start(
    store: &Store,
    row: Arc<FileTriggerRow>,
    tx: mpsc::Sender<Arrival>,
    stop: CancellationToken,
) -> Result<Watching, String> {
    let trigger = parse(&row);
    let missed_before = (FileMissed::from_stored(&row.missed_policy) == FileMissed::Skip)
        .then(|| Utc::now() - SKIP_MARGIN);
    // The watch first, so a file arriving during the scan is seen by one or the other.
    let mut events = bosun_sched::watch(&trigger, stop.clone()).map_err(|e| e.to_string())?;
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
                    if tx.send(arrival).await.is_err() {
                        return;
                    }
                }
                if let Err(e) = store.forget_trigger_files(&watched.id, &present).await {
                    tracing::warn!(trigger = %watched.id, "could not forget removed files: {e}");
                }
            }
            Ok(Err(e)) => tracing::warn!(trigger = %watched.id, "could not scan for files: {e}"),
            Err(e) => tracing::warn!(trigger = %watched.id, "the scan for files failed: {e}"),
        }
        while let Some(event) = events.recv().await {
            let arrival = Arrival {
                trigger: watched.clone(),
                path: event.path,
                missed_before: None,
            };
            if tx.send(arrival).await.is_err() {
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
    let mut start = arrival
        .missed_before
        .is_none_or(|watched| modified >= watched);
    if start
        && let Ok(definition) = admit::definition(&job)
        && !admit::admitted(store, &job, &definition).await?
    {
        tracing::warn!(job = %job.name, file = path, "a file is skipped: the job is still running and its duplicatePolicy is \"skip\" (use \"queue\" to run once per file)");
        start = false;
    }
    let mut tx = store.begin().await?;
    if !store
        .record_trigger_file(&mut tx, &row.id, path, modified)
        .await?
    {
        return Ok(());
    }
    if start {
        store
            .insert_execution(
                &mut tx,
                NewExecution::of(&job, "file", Some(path.to_owned()), vec![path.to_owned()]),
            )
            .await?;
    }
    store.commit(tx, "starting a job for a file").await?;
    if start {
        runner.wake();
    }
    Ok(())
}
