//! Errors of bosun-exec's I/O paths. A child's own failure is not here: it is an
//! [`crate::Outcome`].

use std::io;
use std::path::PathBuf;

use bosun_core::PathIoError;

/// Something bosun itself could not do: read a file, create a directory, take a lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A filesystem operation failed.
    #[error(transparent)]
    Io(#[from] PathIoError),
}

impl ExecError {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(about: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        PathIoError::maker(about, path)
    }
}
