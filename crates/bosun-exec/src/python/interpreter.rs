//! Finding the base interpreter and learning its version without starting it every time.
//!
//! The version is part of every environment's key, but starting Python just to ask costs
//! about as much as the bot's own start-up, and `ensure` on a ready environment must stay
//! close to a bare `python3 bot.py`. So the interpreter is resolved *by path* — a bare name
//! is searched on `PATH`, the result canonicalized — and the version text is cached in
//! `venvs/.interpreters/`, keyed by (canonical path, file size, modification time). Python
//! runs only when that identity has not been seen, e.g. after an upgrade replaced the file.
//!
//! Resolution by path has one blind spot: a launcher script such as a pyenv shim
//! (`~/.pyenv/shims/python3`) is one file whatever Python it dispatches to, so switching
//! the pyenv version does not change the cached version text. Environments already built
//! keep working (each links to the Python that built it); a new one built after the switch
//! is filed under the old version's key. Name the real binary (`pyenv which python3`) as
//! the interpreter, or delete `venvs/.interpreters/`, when that matters.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::process::Command;
use tracing::{debug, warn};

use super::error::EnvError;
use super::{blocking, tool};

/// How long the one-off version probe may take before the interpreter is declared hung.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// The script that prints the version text.
const PROBE_SCRIPT: &str = "import sys; print(sys.version)";

/// A base interpreter, found and identified.
#[derive(Debug, Clone)]
pub(super) struct Interpreter {
    /// As the caller named it, for messages.
    pub(super) name: String,
    /// Where it was found (absolute, not canonicalized); what bosun runs.
    pub(super) path: PathBuf,
    /// Its `sys.version` text, e.g. `3.11.7 (main, …) [GCC 12.2.0]`.
    pub(super) version: String,
}

/// What makes two sightings of an interpreter the same: the file behind it, unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    canonical: PathBuf,
    size: u64,
    modified_ns: u128,
}

/// One file of the version cache.
#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry {
    identity: Identity,
    version: String,
}

impl Interpreter {
    /// Finds `name` and its version, from the cache under `venvs_dir` when it can.
    pub(super) async fn locate(name: &str, venvs_dir: &Path) -> Result<Self, EnvError> {
        let cache_dir = venvs_dir.join(".interpreters");
        let owned = name.to_owned();
        let (path, identity, cached) = blocking(move || {
            let path = resolve(&owned)?;
            let identity = Identity::of(&path).map_err(|e| EnvError::Interpreter {
                interpreter: owned.clone(),
                message: format!("could not inspect {}: {e}", path.display()),
            })?;
            let cached = read_cache(&cache_dir, &identity);
            Ok::<_, EnvError>((path, identity, cached))
        })
        .await?;

        let version = match cached {
            Some(version) => version,
            None => {
                let version = probe(name, &path).await?;
                let cache_dir = venvs_dir.join(".interpreters");
                let entry = CacheEntry {
                    identity,
                    version: version.clone(),
                };
                blocking(move || write_cache(&cache_dir, &entry)).await;
                version
            }
        };
        Ok(Self {
            name: name.to_owned(),
            path,
            version,
        })
    }
}

/// Finds an interpreter given as a bare name (searched on `PATH`) or a path.
fn resolve(name: &str) -> Result<PathBuf, EnvError> {
    let fail = |message: String| EnvError::Interpreter {
        interpreter: name.to_owned(),
        message,
    };
    if name.trim().is_empty() {
        return Err(fail("the interpreter name is empty".into()));
    }
    let given = Path::new(name);
    if given.components().count() > 1 || given.is_absolute() {
        let path =
            std::path::absolute(given).map_err(|e| fail(format!("not a usable path: {e}")))?;
        return match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(path),
            Ok(_) => Err(fail(format!("{} is not a file", path.display()))),
            Err(e) => Err(fail(format!("{}: {e}", path.display()))),
        };
    }
    find_on_path(name).ok_or_else(|| fail("not found on PATH".into()))
}

/// The first executable called `name` in the directories of `PATH`.
pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| candidates(&dir, name))
        .find(|candidate| is_executable(candidate))
        .and_then(|found| std::path::absolute(found).ok())
}

#[cfg(not(windows))]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    vec![dir.join(name)]
}

#[cfg(windows)]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = vec![dir.join(name)];
    if Path::new(name).extension().is_none() {
        let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
        out.extend(
            exts.split(';')
                .filter(|ext| !ext.is_empty())
                .map(|ext| dir.join(format!("{name}{ext}"))),
        );
    }
    out
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

impl Identity {
    fn of(path: &Path) -> io::Result<Self> {
        let canonical = fs::canonicalize(path)?;
        let meta = fs::metadata(&canonical)?;
        let modified_ns = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        Ok(Self {
            canonical,
            size: meta.len(),
            modified_ns,
        })
    }

    /// The cache file's name: a hash of the identity, so any change is a miss.
    fn file_name(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.canonical.as_os_str().as_encoded_bytes());
        hash.update(b"\0");
        hash.update(self.size.to_le_bytes());
        hash.update(self.modified_ns.to_le_bytes());
        let hex: String = hash.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{hex}.json")
    }
}

fn read_cache(dir: &Path, identity: &Identity) -> Option<String> {
    let text = fs::read_to_string(dir.join(identity.file_name())).ok()?;
    let entry: CacheEntry = serde_json::from_str(&text).ok()?;
    (entry.identity == *identity && !entry.version.trim().is_empty()).then_some(entry.version)
}

/// Stores a probed version. A failure only costs a probe next time, so it is logged, not
/// returned.
fn write_cache(dir: &Path, entry: &CacheEntry) {
    let result = (|| {
        fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(entry).map_err(io::Error::other)?;
        let target = dir.join(entry.identity.file_name());
        let temp = dir.join(format!(".{}.tmp", uuid::Uuid::now_v7()));
        fs::write(&temp, text)?;
        fs::rename(&temp, &target).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    })();
    if let Err(error) = result {
        warn!(dir = %dir.display(), %error, "could not cache the interpreter's version");
    }
}

/// Runs the interpreter once to learn its version.
async fn probe(name: &str, path: &Path) -> Result<String, EnvError> {
    let fail = |message: String| EnvError::Interpreter {
        interpreter: name.to_owned(),
        message,
    };
    debug!(interpreter = %path.display(), "asking the interpreter for its version");
    let mut command = Command::new(path);
    command.args(["-c", PROBE_SCRIPT]);
    let run = match tokio::time::timeout(PROBE_TIMEOUT, tool::run(command, None)).await {
        Ok(Ok(run)) => run,
        Ok(Err(e)) => return Err(fail(format!("could not run {}: {e}", path.display()))),
        Err(_) => {
            return Err(fail(format!(
                "{} did not answer within {} s",
                path.display(),
                PROBE_TIMEOUT.as_secs()
            )));
        }
    };
    if !run.status.success() {
        return Err(fail(format!(
            "{} failed to print its version ({}): {}",
            path.display(),
            run.status,
            run.tail()
        )));
    }
    let version = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    check_version(&version).map_err(fail)?;
    Ok(version)
}

/// Accepts the `sys.version` text of a Python 3 or later.
fn check_version(version: &str) -> Result<(), String> {
    let major = version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= 3 => Ok(()),
        Some(_) => Err(format!("it is Python {version}; bosun needs Python 3")),
        None => Err(format!("it printed {version:?}, not a Python version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked() {
        assert!(check_version("3.11.7 (main, Jan  1 2024) [GCC 12.2.0]").is_ok());
        assert!(check_version("3.13.0").is_ok());
        assert!(check_version("2.7.18 (default)").is_err());
        assert!(check_version("").is_err());
        assert!(check_version("hello").is_err());
    }

    #[test]
    fn cache_round_trips_and_misses_on_any_change() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity {
            canonical: "/usr/bin/python3.11".into(),
            size: 10,
            modified_ns: 42,
        };
        assert_eq!(read_cache(dir.path(), &identity), None);
        write_cache(
            dir.path(),
            &CacheEntry {
                identity: identity.clone(),
                version: "3.11.7".into(),
            },
        );
        assert_eq!(read_cache(dir.path(), &identity).as_deref(), Some("3.11.7"));
        let touched = Identity {
            modified_ns: 43,
            ..identity.clone()
        };
        assert_eq!(read_cache(dir.path(), &touched), None);
        let grown = Identity {
            size: 11,
            ..identity
        };
        assert_eq!(read_cache(dir.path(), &grown), None);
    }

    #[test]
    fn bare_names_are_searched_on_path_and_paths_are_not() {
        let err = resolve("bosun-no-such-python").unwrap_err();
        assert!(err.to_string().contains("not found on PATH"), "{err}");
        let err = resolve("./bosun-no-such-python").unwrap_err();
        assert!(matches!(err, EnvError::Interpreter { .. }), "{err}");
        assert!(resolve("").is_err());
    }
}
