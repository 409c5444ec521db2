//! The build lock: one builder per environment, across threads and processes.
//!
//! Each environment has a lock file `venvs/<name>.lock` beside it. A builder holds an
//! exclusive advisory lock on it (`flock(2)` on Unix, `LockFileEx` on Windows, through
//! `std::fs::File::lock`) for the whole build; the lock goes with the open file, so a
//! crashed builder releases it and never leaves a stale lock behind. The files themselves
//! are kept: deleting one while another process waits on it would let two builders in.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use tracing::info;

use super::blocking;
use super::error::EnvError;

/// Holds the lock until dropped.
#[derive(Debug)]
pub(super) struct BuildLock {
    _file: File,
}

/// Takes the exclusive lock on `path`, waiting (on a blocking thread) for any other holder.
pub(super) async fn acquire(path: PathBuf) -> Result<BuildLock, EnvError> {
    blocking(move || {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(EnvError::io("open the build lock", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                info!(lock = %path.display(), "another build of this environment is running; waiting for it");
                file.lock().map_err(EnvError::io("lock", &path))?;
            }
            Err(TryLockError::Error(source)) => {
                return Err(EnvError::io("lock", path)(source));
            }
        }
        Ok(BuildLock { _file: file })
    })
    .await
}
