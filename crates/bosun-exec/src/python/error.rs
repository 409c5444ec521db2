//! Errors raised while finding an interpreter or building a Python environment.
//!
//! Each variant is one stage that can fail — the interpreter, the venv, the install, the
//! requirements file, plain file I/O — so a caller can map them to seed 001's exit codes
//! (5 for the venv, 6 for the requirements) and a user reads one line that says what went
//! wrong and what to do about it.

use std::io;
use std::path::PathBuf;

use bosun_core::PathIoError;

use super::Installer;

/// A Python environment could not be found, created or filled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The interpreter was not found, or it does not run as a Python 3.
    #[error(
        "Python interpreter `{interpreter}` is not usable: {message} — install Python 3 or \
         choose an interpreter that runs"
    )]
    Interpreter {
        /// The interpreter as the caller named it (`python3`, `/usr/bin/python3.12`).
        interpreter: String,
        /// What went wrong, e.g. "not found on PATH" or its stderr tail.
        message: String,
    },
    /// The virtual environment could not be created.
    #[error("could not create a virtual environment with {installer}: {message} — {hint}", hint = create_hint(*.installer))]
    Create {
        /// The tool that was creating it.
        installer: Installer,
        /// What went wrong, quoting the tail of the tool's stderr.
        message: String,
    },
    /// The requirements could not be installed into the environment.
    #[error(
        "could not install requirements with {installer}: {message} — check the package names \
         and versions in the requirements"
    )]
    Install {
        /// The tool that was installing them.
        installer: Installer,
        /// The tail of the installer's stderr, which names the package it could not install.
        message: String,
    },
    /// A requirements file (or a file it includes with `-r`/`-c`) could not be read.
    #[error(
        "could not read requirements file {} — check that it exists and is readable",
        .path.display()
    )]
    Requirements {
        /// The file that could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file or directory of the environment cache could not be used. The source says
    /// why (permission denied, no space left, not empty…), which is also what to fix.
    #[error(transparent)]
    Io(#[from] PathIoError),
}

impl EnvError {
    /// An [`EnvError::Io`] maker for `map_err`.
    pub(crate) fn io(
        about: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        PathIoError::maker(about, path)
    }
}

fn create_hint(installer: Installer) -> &'static str {
    match installer {
        Installer::Uv => "check that uv works and can use the interpreter",
        Installer::Pip | Installer::Auto => {
            "check that the interpreter has the venv module (Debian/Ubuntu: apt install python3-venv)"
        }
    }
}
