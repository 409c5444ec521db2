//! A file operation that failed, saying what was being done and to which path.
//!
//! Every crate whose work touches files carries one in its error enum's `Io` variant
//! (`#[error(transparent)] Io(#[from] PathIoError)`), so the message reads the same
//! everywhere and the enums do not each spell the same three fields.

use std::io;
use std::path::PathBuf;

/// An I/O error with what bosun was doing and the path it was working on.
#[derive(Debug, thiserror::Error)]
#[error("could not {about} {}", .path.display())]
pub struct PathIoError {
    /// What bosun was doing, phrased to follow "could not" ("create the directory").
    pub about: &'static str,
    /// The file or directory involved.
    pub path: PathBuf,
    /// The operating system's error: why (permission denied, no space left, ...).
    #[source]
    pub source: io::Error,
}

impl PathIoError {
    /// A maker for `map_err`: the failure to do `about` to `path`, as any error that
    /// wraps one.
    pub fn maker<E: From<Self>>(
        about: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> E {
        let path = path.into();
        move |source| {
            E::from(Self {
                about,
                path,
                source,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_says_what_was_done_to_which_path_and_why() {
        let error: PathIoError = PathIoError::maker("read", "/tmp/x")(io::Error::new(
            io::ErrorKind::NotFound,
            "no such file",
        ));
        // The cause is the source, printed once by whoever prints the chain.
        assert_eq!(error.to_string(), "could not read /tmp/x");
        assert_eq!(
            crate::error::chain(&error).to_string(),
            "could not read /tmp/x: no such file"
        );
    }
}
