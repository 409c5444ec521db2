//! File triggers: run a job when a matching file arrives in a directory.
//!
//! [`watch`] turns the operating system's change notifications (inotify on Linux, via
//! notify's recommended watcher; no polling) into one [`FileEvent`] per arrived file:
//!
//! - A file counts as arrived when it is created, written, or renamed or moved into the
//!   watched tree, and its path matches the trigger's glob.
//! - It is reported once its changes have been quiet for the trigger's debounce, so a
//!   file written in many chunks (a download, a copy) fires once, after the last chunk.
//!   The debounce runs on tokio timers.
//! - Deletions never fire; a file deleted or renamed away before its debounce ends is
//!   forgotten. Directories never fire; under a recursive trigger the matching files
//!   inside a directory moved or created in the tree do.
//! - A file written again after it was reported is reported again, once it is quiet.
//!
//! A watch that stops working ends its stream with one `Err` ([`WatchError`]): the
//! directory was removed or renamed away (notify's event for the watched directory
//! itself), the operating system reported an error (such as the inotify limit while
//! following a new subdirectory), or the kernel's event queue overflowed and arrivals
//! were lost. Nothing is reported silently any more after that: watch again, once the
//! directory is back, and scan it with [`existing_matches`].
//!
//! Events wait for the consumer in a bounded channel of [`CHANNEL_CAPACITY`]. A path
//! stays in the pending set, rather than queueing, until the channel has room, so while
//! the consumer is slow further writes to the same file coalesce into one event; memory
//! grows only with the number of distinct pending paths.
//!
//! Files that arrived while nothing was watching are not reported: call [`watch`] first,
//! then [`existing_matches`], and treat a path seen in both as one arrival.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobMatcher};
use notify::event::{EventKind, ModifyKind, RenameMode};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::WatchError;

/// How long a file's writes must be quiet before it is reported, unless a trigger says
/// otherwise.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// How many reported files may wait for the consumer before the watcher holds back.
pub const CHANNEL_CAPACITY: usize = 64;

/// Which files in which directory start a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTrigger {
    /// The directory files arrive in. Relative paths are resolved against the current
    /// directory when the watch starts.
    pub directory: PathBuf,
    /// Which files count, matched against the path relative to `directory`.
    ///
    /// A glob without `/` matches the file name at any depth (`*.csv`); one with `/`
    /// matches the whole relative path (`incoming/*.csv`, `**/*.csv`), and `*` does not
    /// cross `/`. Syntax: [globset](https://docs.rs/globset) (`*`, `?`, `[a-z]`, `{a,b}`,
    /// `**`).
    pub glob: String,
    /// How long a file's writes must be quiet before it is reported.
    pub debounce: Duration,
    /// Whether files in subdirectories (at any depth) count too.
    pub recursive: bool,
}

impl FileTrigger {
    /// A trigger for `glob` in `directory`, not recursive, with [`DEFAULT_DEBOUNCE`].
    pub fn new(directory: impl Into<PathBuf>, glob: impl Into<String>) -> Self {
        Self {
            directory: directory.into(),
            glob: glob.into(),
            debounce: DEFAULT_DEBOUNCE,
            recursive: false,
        }
    }
}

/// A matching file arrived and has been quiet for the debounce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    /// The file's absolute path, under the canonical form of the trigger's directory.
    pub path: PathBuf,
    /// When the file last changed: the arrival time, before the debounce.
    pub at: DateTime<Utc>,
}

/// Starts watching `trigger`'s directory; arrived files come out of the receiver.
///
/// The watch stops, and the receiver then yields `None`, when `shutdown` is cancelled
/// or the receiver is dropped. When the watch fails later (the directory is removed or
/// renamed, the operating system reports an error, events were lost), the receiver
/// yields that error once, then `None`. Fails at once if the directory is missing or not a
/// directory, the glob does not parse, or the operating system refuses the watch (for
/// example because the inotify watch limit is reached).
///
/// A recursive trigger watches directories created later too; notify adds them as they
/// appear, and the files already in them by then are picked up by a scan.
///
/// # Panics
///
/// If called outside a Tokio runtime: the debounce runs in a spawned task.
pub fn watch(
    trigger: &FileTrigger,
    shutdown: CancellationToken,
) -> Result<mpsc::Receiver<Result<FileEvent, WatchError>>, WatchError> {
    let root = resolve(&trigger.directory)?;
    let matcher = Arc::new(Matcher::new(root.clone(), trigger)?);
    let shared = Arc::new(Shared::default());

    let handler = {
        let shared = Arc::clone(&shared);
        let matcher = Arc::clone(&matcher);
        move |result: notify::Result<notify::Event>| match result {
            Ok(event) => on_event(&shared, &matcher, event),
            Err(source) => shared.lose(WatchError::Notify {
                path: matcher.root.clone(),
                source,
            }),
        }
    };
    let notify_err = |source| WatchError::Notify {
        path: root.clone(),
        source,
    };
    let mut watcher = notify::recommended_watcher(handler).map_err(notify_err)?;
    let mode = if trigger.recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    watcher.watch(&root, mode).map_err(notify_err)?;

    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(debounce(watcher, shared, tx, trigger.debounce, shutdown));
    Ok(rx)
}

/// Checks what [`watch()`] would check first (the directory exists and is one, the
/// glob parses) without watching, so a trigger can be refused when it is defined.
pub fn check(trigger: &FileTrigger) -> Result<(), WatchError> {
    let root = resolve(&trigger.directory)?;
    Matcher::new(root, trigger).map(drop)
}

/// The files under `trigger`'s directory that match it now, as absolute paths, sorted.
///
/// For deciding what to do about files that arrived while nothing was watching.
/// Symbolic links to directories are not followed. Blocking: from async code, call it
/// in `tokio::task::spawn_blocking`.
pub fn existing_matches(trigger: &FileTrigger) -> Result<Vec<PathBuf>, WatchError> {
    let root = resolve(&trigger.directory)?;
    let matcher = Matcher::new(root.clone(), trigger)?;
    let mut found = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(WatchError::io("read directory", &dir))?;
        for entry in entries {
            let entry = entry.map_err(WatchError::io("read directory", &dir))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(WatchError::io("read the type of", &path))?;
            if kind.is_dir() {
                if trigger.recursive {
                    dirs.push(path);
                }
            } else if matcher.matches(&path) && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The trigger's directory as an absolute, canonical path, or a clear error.
fn resolve(directory: &Path) -> Result<PathBuf, WatchError> {
    let root = match std::fs::canonicalize(directory) {
        Ok(root) => root,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(WatchError::MissingDirectory {
                path: directory.to_owned(),
            });
        }
        Err(err) => return Err(WatchError::io("resolve", directory)(err)),
    };
    if !root.is_dir() {
        return Err(WatchError::NotADirectory {
            path: directory.to_owned(),
        });
    }
    Ok(root)
}

/// Decides whether a path reported by notify is one the trigger is about.
struct Matcher {
    root: PathBuf,
    glob: GlobMatcher,
    /// The glob has no `/`: match the file name alone.
    by_name: bool,
    recursive: bool,
}

impl Matcher {
    fn new(root: PathBuf, trigger: &FileTrigger) -> Result<Self, WatchError> {
        let glob = GlobBuilder::new(&trigger.glob)
            .literal_separator(true)
            .build()
            .map_err(|source| WatchError::Glob {
                glob: trigger.glob.clone(),
                source,
            })?
            .compile_matcher();
        Ok(Self {
            root,
            glob,
            by_name: !trigger.glob.contains('/'),
            recursive: trigger.recursive,
        })
    }

    fn matches(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return false;
        };
        let depth = relative.components().count();
        if depth == 0 || (!self.recursive && depth > 1) {
            return false;
        }
        if self.by_name {
            relative
                .file_name()
                .is_some_and(|name| self.glob.is_match(name))
        } else {
            self.glob.is_match(relative)
        }
    }
}

/// What notify's thread and the debounce task share.
#[derive(Default)]
struct Shared {
    /// Paths waiting to be quiet: when each last changed, on the monotonic clock (for
    /// the debounce) and the wall clock (for the event).
    pending: Mutex<HashMap<PathBuf, (Instant, DateTime<Utc>)>>,
    /// Why the watch stopped working, until the debounce task reports it.
    lost: Mutex<Option<WatchError>>,
    /// Wakes the debounce task when `pending` or `lost` changed.
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (Instant, DateTime<Utc>)>> {
        // A panic while holding the lock leaves only a map of timestamps behind, which is
        // still consistent: carry on with it.
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn touch(&self, path: PathBuf) {
        self.lock().insert(path, (Instant::now(), Utc::now()));
        self.changed.notify_one();
    }

    fn forget(&self, path: &Path) {
        if self.lock().remove(path).is_some() {
            self.changed.notify_one();
        }
    }

    /// Records why the watch stopped working (the first reason counts).
    fn lose(&self, why: WatchError) {
        let mut lost = self
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lost.is_none() {
            *lost = Some(why);
            self.changed.notify_one();
        }
    }

    fn take_lost(&self) -> Option<WatchError> {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Runs on notify's thread: records arrivals and departures, never blocks for long.
fn on_event(shared: &Shared, matcher: &Matcher, event: notify::Event) {
    if event.need_rescan() {
        shared.lose(WatchError::Overflow {
            path: matcher.root.clone(),
        });
    }
    // The watched directory itself was removed or renamed: the operating system's
    // watch is on what is no longer the trigger's directory.
    let gone = || {
        shared.lose(WatchError::DirectoryGone {
            path: matcher.root.clone(),
        });
    };
    let arrived = |path: &Path| {
        if matcher.matches(path) {
            shared.touch(path.to_owned());
        }
    };
    // A directory appearing under a recursive watch may already hold files (moved in
    // whole, or written before notify watched it): look inside.
    let appeared = |path: &Path| {
        if matcher.recursive && path.is_dir() {
            for file in files_under(path) {
                arrived(&file);
            }
        } else {
            arrived(path);
        }
    };
    match event.kind {
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            event.paths.iter().for_each(|p| appeared(p));
        }
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
        | EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => {
            event.paths.iter().for_each(|p| arrived(p))
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            for path in &event.paths {
                if *path == matcher.root {
                    gone();
                }
                shared.forget(path);
            }
        }
        // [from, to]; on Linux the From and To events came first, which is harmless.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            if let [from, to] = event.paths.as_slice() {
                shared.forget(from);
                appeared(to);
            }
        }
        // Backends that cannot tell which side of a rename a path is on: the
        // debounce task drops the path if nothing is there.
        EventKind::Modify(ModifyKind::Name(_)) => {
            for path in &event.paths {
                if *path == matcher.root {
                    gone();
                } else {
                    appeared(path);
                }
            }
        }
        _ => {}
    }
}

/// Every file under `dir`, at any depth, not following links to directories.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => dirs.push(entry.path()),
                Ok(_) => files.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    files
}

/// The task behind [`watch`]: reports each pending path once it has been quiet for
/// `quiet`, until shutdown, until the receiver is gone, or until the watch is lost
/// (reported, then the end). Owns the notify watcher, so the operating system watch
/// ends with it.
async fn debounce(
    _watcher: RecommendedWatcher,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<FileEvent, WatchError>>,
    quiet: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let deadline = shared
            .lock()
            .values()
            .map(|(changed, _)| *changed + quiet)
            .min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tx.closed() => return,
            () = shared.changed.notified() => {}
            () = tokio::time::sleep_until(deadline.unwrap_or_else(far_future)), if deadline.is_some() => {}
        }
        // Files still pending went with the directory, or are found by the scan that
        // follows a new watch.
        if let Some(why) = shared.take_lost() {
            tokio::select! {
                () = shutdown.cancelled() => {}
                _ = tx.send(Err(why)) => {}
            }
            return;
        }
        // Send every path that is quiet now, the longest quiet first. A path leaves
        // `pending` only once the channel has room for it, so writes that come while
        // the consumer is slow coalesce with it.
        for path in ready(&shared, quiet) {
            let permit = tokio::select! {
                () = shutdown.cancelled() => return,
                permit = tx.reserve() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let at = {
                let mut pending = shared.lock();
                match pending.get(&path) {
                    // Still quiet: take it.
                    Some(&(changed, at)) if changed + quiet <= Instant::now() => {
                        pending.remove(&path);
                        at
                    }
                    // Written again, deleted or renamed away while we waited for room.
                    _ => continue,
                }
            };
            // Gone since, or a directory: nothing to report.
            if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
                permit.send(Ok(FileEvent { path, at }));
            }
        }
    }
}

/// The pending paths that have been quiet for `quiet`, the longest quiet first.
fn ready(shared: &Shared, quiet: Duration) -> Vec<PathBuf> {
    let now = Instant::now();
    let mut ready: Vec<_> = shared
        .lock()
        .iter()
        .filter(|(_, (changed, _))| *changed + quiet <= now)
        .map(|(path, (changed, _))| (*changed, path.clone()))
        .collect();
    ready.sort();
    ready.into_iter().map(|(_, path)| path).collect()
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(glob: &str, recursive: bool) -> Matcher {
        let trigger = FileTrigger {
            recursive,
            ..FileTrigger::new("/in", glob)
        };
        Matcher::new(PathBuf::from("/in"), &trigger).expect("test globs are valid")
    }

    #[test]
    fn a_glob_without_a_slash_matches_the_name_at_any_depth_when_recursive() {
        let m = matcher("*.csv", true);
        assert!(m.matches(Path::new("/in/a.csv")));
        assert!(m.matches(Path::new("/in/x/y/a.csv")));
        assert!(!m.matches(Path::new("/in/a.txt")));
        assert!(!m.matches(Path::new("/elsewhere/a.csv")));
        assert!(!m.matches(Path::new("/in")));
    }

    #[test]
    fn a_flat_trigger_ignores_subdirectories() {
        let m = matcher("*.csv", false);
        assert!(m.matches(Path::new("/in/a.csv")));
        assert!(!m.matches(Path::new("/in/x/a.csv")));
    }

    #[test]
    fn a_glob_with_a_slash_matches_the_relative_path() {
        let m = matcher("incoming/*.csv", true);
        assert!(m.matches(Path::new("/in/incoming/a.csv")));
        assert!(!m.matches(Path::new("/in/incoming/deeper/a.csv")));
        assert!(!m.matches(Path::new("/in/a.csv")));
        let m = matcher("**/*.csv", true);
        assert!(m.matches(Path::new("/in/a.csv")));
        assert!(m.matches(Path::new("/in/x/y/a.csv")));
    }

    #[test]
    fn a_bad_glob_is_named() {
        let trigger = FileTrigger::new("/in", "[a-");
        let err = Matcher::new(PathBuf::from("/in"), &trigger)
            .err()
            .expect("an unclosed class is invalid");
        let err = bosun_core::error::chain(&err).to_string();
        assert!(err.starts_with("invalid glob \"[a-\": "), "{err}");
    }
}
