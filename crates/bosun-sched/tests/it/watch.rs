//! File triggers with real files in temporary directories.
//!
//! Arrivals are awaited with a timeout on `recv()`; "nothing fires" is checked by
//! writing a matching sentinel file afterwards and asserting it is the first event, then
//! waiting a bounded three debounces for anything else.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bosun_sched::{FileEvent, FileTrigger, WatchError, existing_matches, watch};
use tempfile::TempDir;
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

const DEBOUNCE: Duration = Duration::from_millis(100);
/// Generous: inotify is fast, but the machine may be busy compiling.
const ARRIVAL: Duration = Duration::from_secs(5);

/// A running watch on a fresh temporary directory, stopped on drop.
struct Watched {
    events: Receiver<Result<FileEvent, WatchError>>,
    shutdown: CancellationToken,
    /// The canonical directory, which event paths start with.
    root: PathBuf,
    _dir: TempDir,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Watched {
    /// Watches a new temporary directory; `prepare` runs first, `configure` adjusts the
    /// trigger (glob `*.csv`, debounce [`DEBOUNCE`], not recursive).
    fn start(prepare: impl FnOnce(&Path), configure: impl FnOnce(&mut FileTrigger)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        prepare(dir.path());
        let mut trigger = FileTrigger::new(dir.path(), "*.csv");
        trigger.debounce = DEBOUNCE;
        configure(&mut trigger);
        let shutdown = CancellationToken::new();
        let events = watch(&trigger, shutdown.clone()).expect("the watch starts");
        Self {
            events,
            shutdown,
            root: dir.path().canonicalize().expect("the directory exists"),
            _dir: dir,
        }
    }

    fn flat() -> Self {
        Self::start(|_| {}, |_| {})
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    async fn next(&mut self) -> FileEvent {
        tokio::time::timeout(ARRIVAL, self.events.recv())
            .await
            .expect("an event within the arrival timeout")
            .expect("the watch is still running")
            .expect("the watch did not fail")
    }

    /// The error that ends the stream, then its end.
    async fn lost(&mut self) -> WatchError {
        let last = tokio::time::timeout(ARRIVAL, self.events.recv())
            .await
            .expect("the watch reports within the arrival timeout")
            .expect("the watch reports why it stopped before it ends");
        let err = last.expect_err("the watch failed");
        let end = tokio::time::timeout(ARRIVAL, self.events.recv()).await;
        assert!(
            matches!(end, Ok(None)),
            "the stream ends after its error: {end:?}"
        );
        err
    }

    /// Nothing arrives within three debounces.
    async fn assert_quiet(&mut self) {
        if let Ok(event) = tokio::time::timeout(3 * DEBOUNCE, self.events.recv()).await {
            panic!("expected no event, got {event:?}");
        }
    }

    /// Writes a matching sentinel and asserts it is the next event, proving that whatever
    /// happened before it fired nothing; then asserts nothing else follows.
    async fn assert_only_sentinel(&mut self) {
        let sentinel = self.path("zz-sentinel.csv");
        fs::write(&sentinel, "s").expect("write the sentinel");
        assert_eq!(self.next().await.path, sentinel);
        self.assert_quiet().await;
    }
}

#[tokio::test]
async fn a_matching_file_fires_once_with_its_absolute_path() {
    let mut w = Watched::flat();
    let before = chrono::Utc::now();
    fs::write(w.path("a.csv"), "1,2\n").expect("write");
    let event = w.next().await;
    assert_eq!(event.path, w.path("a.csv"));
    assert!(event.path.is_absolute());
    assert!(event.at >= before, "{event:?}");
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_non_matching_name_never_fires() {
    let mut w = Watched::flat();
    fs::write(w.path("notes.txt"), "x").expect("write");
    fs::write(w.path("a.csv.part"), "x").expect("write");
    w.assert_only_sentinel().await;
}

#[tokio::test]
async fn a_file_written_in_many_chunks_fires_once_after_the_last() {
    // The chunks span longer than the debounce, but no gap between them does.
    let debounce = Duration::from_millis(300);
    let mut w = Watched::start(|_| {}, |t| t.debounce = debounce);
    let path = w.path("big.csv");
    let mut file = fs::File::create(&path).expect("create");
    let mut last_write = Instant::now();
    for chunk in 0..10 {
        writeln!(file, "row {chunk}").expect("write a chunk");
        file.flush().expect("flush");
        last_write = Instant::now();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(file);
    let event = w.next().await;
    assert!(
        last_write.elapsed() >= debounce,
        "reported before the writes were quiet"
    );
    assert_eq!(event.path, path);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_file_written_again_after_it_was_reported_fires_again() {
    let mut w = Watched::flat();
    fs::write(w.path("a.csv"), "1").expect("write");
    assert_eq!(w.next().await.path, w.path("a.csv"));
    fs::write(w.path("a.csv"), "2").expect("write again");
    assert_eq!(w.next().await.path, w.path("a.csv"));
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_flat_trigger_ignores_subdirectories() {
    let mut w = Watched::start(
        |dir| fs::create_dir(dir.join("sub")).expect("mkdir"),
        |_| {},
    );
    fs::write(w.path("sub/a.csv"), "x").expect("write");
    w.assert_only_sentinel().await;
}

#[tokio::test]
async fn a_recursive_trigger_sees_subdirectories_old_and_new() {
    let mut w = Watched::start(
        |dir| fs::create_dir(dir.join("sub")).expect("mkdir"),
        |t| t.recursive = true,
    );
    fs::write(w.path("sub/a.csv"), "x").expect("write");
    assert_eq!(w.next().await.path, w.path("sub/a.csv"));
    // A directory made after the watch started, written into at once.
    fs::create_dir_all(w.path("new/deeper")).expect("mkdir");
    fs::write(w.path("new/deeper/b.csv"), "x").expect("write");
    assert_eq!(w.next().await.path, w.path("new/deeper/b.csv"));
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_directory_moved_into_a_recursive_watch_fires_for_its_files() {
    let outside = tempfile::tempdir().expect("a temporary directory");
    let batch = outside.path().join("batch");
    fs::create_dir(&batch).expect("mkdir");
    fs::write(batch.join("a.csv"), "x").expect("write");
    fs::write(batch.join("skip.txt"), "x").expect("write");
    let mut w = Watched::start(|_| {}, |t| t.recursive = true);
    fs::rename(&batch, w.path("batch")).expect("move the directory in");
    assert_eq!(w.next().await.path, w.path("batch/a.csv"));
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_file_renamed_into_the_directory_fires() {
    let outside = tempfile::tempdir().expect("a temporary directory");
    let staged = outside.path().join("a.csv");
    fs::write(&staged, "x").expect("write");
    let mut w = Watched::flat();
    fs::rename(&staged, w.path("a.csv")).expect("move the file in");
    assert_eq!(w.next().await.path, w.path("a.csv"));
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_partial_file_renamed_to_a_matching_name_fires_once_for_the_final_name() {
    let mut w = Watched::start(|_| {}, |t| t.glob = "*".to_owned());
    fs::write(w.path(".a.csv.tmp"), "x").expect("write");
    fs::rename(w.path(".a.csv.tmp"), w.path("a.csv")).expect("rename");
    assert_eq!(w.next().await.path, w.path("a.csv"));
    w.assert_quiet().await;
}

#[tokio::test]
async fn deletions_never_fire() {
    let mut w = Watched::start(
        |dir| fs::write(dir.join("old.csv"), "x").expect("write"),
        |_| {},
    );
    fs::remove_file(w.path("old.csv")).expect("delete");
    // Created and deleted within the debounce: forgotten.
    fs::write(w.path("brief.csv"), "x").expect("write");
    fs::remove_file(w.path("brief.csv")).expect("delete");
    w.assert_only_sentinel().await;
}

#[tokio::test]
async fn directories_never_fire() {
    let mut w = Watched::start(|_| {}, |t| t.glob = "*".to_owned());
    fs::create_dir(w.path("looks-like.csv")).expect("mkdir");
    w.assert_only_sentinel().await;
}

#[tokio::test]
async fn shutdown_ends_the_stream() {
    let mut w = Watched::flat();
    w.shutdown.cancel();
    let end = tokio::time::timeout(ARRIVAL, w.events.recv()).await;
    assert!(
        end.expect("the stream ends promptly").is_none(),
        "no event after shutdown"
    );
}

#[tokio::test]
async fn a_removed_directory_ended_the_watch_silently() {
    let mut w = Watched::flat();
    fs::remove_dir(&w.root).expect("rmdir");
    let err = w.lost().await;
    assert!(matches!(err, WatchError::DirectoryGone { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "watch directory {} was removed or renamed: it is watched again once it is back",
            w.root.display()
        )
    );
}

#[tokio::test]
async fn a_directory_renamed_away_ends_the_watch() {
    let mut w = Watched::flat();
    let away = w.root.with_extension("old");
    fs::rename(&w.root, &away).expect("rename");
    // Replaced by a new directory of the same name: the old watch follows the old one.
    fs::create_dir(&w.root).expect("mkdir");
    let err = w.lost().await;
    assert!(matches!(err, WatchError::DirectoryGone { .. }), "{err:?}");
    fs::remove_dir_all(&away).expect("clean up");
}

#[tokio::test]
async fn removing_a_subdirectory_of_a_recursive_watch_is_not_losing_it() {
    let mut w = Watched::start(
        |dir| fs::create_dir(dir.join("sub")).expect("mkdir"),
        |t| t.recursive = true,
    );
    fs::remove_dir(w.path("sub")).expect("rmdir");
    w.assert_only_sentinel().await;
}

#[tokio::test]
async fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("nope");
    let trigger = FileTrigger::new(&missing, "*.csv");
    let err = watch(&trigger, CancellationToken::new()).expect_err("no such directory");
    assert!(
        matches!(err, WatchError::MissingDirectory { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "watch directory {} does not exist: create it or correct the trigger's directory",
            missing.display()
        )
    );
    let file = dir.path().join("file");
    fs::write(&file, "x").expect("write");
    let err = existing_matches(&FileTrigger::new(&file, "*")).expect_err("not a directory");
    assert!(matches!(err, WatchError::NotADirectory { .. }), "{err:?}");
}

#[test]
fn existing_matches_lists_files_already_there() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().canonicalize().expect("the directory exists");
    for name in ["b.csv", "a.csv", "c.txt", "sub/d.csv"] {
        let path = root.join(name);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, "x").expect("write");
    }
    fs::create_dir(root.join("dir.csv")).expect("mkdir");
    let mut trigger = FileTrigger::new(dir.path(), "*.csv");
    assert_eq!(
        existing_matches(&trigger).expect("listed"),
        [root.join("a.csv"), root.join("b.csv")]
    );
    trigger.recursive = true;
    assert_eq!(
        existing_matches(&trigger).expect("listed"),
        [
            root.join("a.csv"),
            root.join("b.csv"),
            root.join("sub/d.csv")
        ]
    );
}
