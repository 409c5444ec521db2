//! Python environments: one cached virtual environment per (interpreter, requirements).
//!
//! Seed 001 builds a fresh venv for every execution and installs its requirements each
//! time, which costs seconds to minutes before a bot can start. bosun keeps one environment
//! per hash of the interpreter's version and the normalized requirements
//! ([`bosun_core::requirements`]), in `venvs/<key>`: the first run builds it, later runs with
//! an equal list (whatever its order, comments or letter case) reuse it. [`PythonEnvs::fresh`]
//! keeps the seed's per-execution venv for callers that want it.
//!
//! - **Cheap when ready.** [`PythonEnvs::ensure`] on a ready environment starts no process:
//!   the interpreter's version comes from a small cache (see the `interpreter` module), the
//!   requirements file is read and hashed, and one file is checked.
//! - **Safe under concurrency.** A builder holds an exclusive lock on `venvs/<key>.lock`,
//!   across threads and processes; whoever gets it second finds the environment ready.
//!   An environment counts as ready only once its marker `.bosun-ready` exists, written
//!   last and atomically, so a build that crashed halfway is removed and rebuilt.
//! - **uv or pip.** [`Installer::Auto`] uses `uv` when it is on `PATH` (much faster) and
//!   falls back to `python3 -m venv` + pip. Both give a plain venv with no system
//!   site-packages. Tool output is captured, and its tail quoted in errors.
//! - **Visible while it builds.** [`PythonEnvs::ensure_with`] tells a [`BuildObserver`]
//!   when a build starts and ends, and passes it everything the tools print as they
//!   print it (a run puts it in the job's log). A ready environment tells it nothing.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bosun_exec::python::EnvError> {
//! use bosun_exec::python::{PythonEnvs, Requirements};
//!
//! let envs = PythonEnvs::new("/var/lib/bosun/venvs");
//! let env = envs.ensure(&Requirements::File("bot/requirements.txt".into())).await?;
//! println!("run the bot with {}", env.python.display());
//! # Ok(()) }
//! ```

mod build;
mod error;
mod interpreter;
mod lock;
mod requirements;
mod tool;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bosun_core::requirements::environment_key;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

pub use error::EnvError;

use build::{READY_MARKER, Tool};
use interpreter::Interpreter;
use requirements::Loaded;

/// How many hex characters of the key name an environment's directory.
const DIR_KEY_LEN: usize = 24;

/// Which tool builds environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    /// `uv` when it is on `PATH`, else `python3 -m venv` + pip.
    #[default]
    Auto,
    /// `uv venv` + `uv pip install`; fails if `uv` is not on `PATH`.
    Uv,
    /// `python -m venv` + `python -m pip install`.
    Pip,
}

impl fmt::Display for Installer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Uv => "uv",
            Self::Pip => "pip",
        })
    }
}

/// An installer name that is not `auto`, `uv` or `pip`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Python installer `{0}`: use auto, uv or pip")]
pub struct UnknownInstaller(pub String);

impl FromStr for Installer {
    type Err = UnknownInstaller;

    /// Parses `auto`, `uv` or `pip`, in any letter case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "uv" => Ok(Self::Uv),
            "pip" => Ok(Self::Pip),
            _ => Err(UnknownInstaller(text.to_owned())),
        }
    }
}

/// What a [`BuildObserver`] is told while an environment is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildEvent<'a> {
    /// A build starts, with this installer.
    Started(Installer),
    /// Output of the build's tools (the interpreter's venv module, pip, uv), either
    /// stream, as it was read.
    Output(&'a [u8]),
    /// The build ended, successfully or not, after this long.
    Finished {
        /// Whether the environment is ready.
        ok: bool,
        /// How long the build took.
        elapsed: Duration,
    },
}

/// Sees an environment build: its start, its tools' output, its end.
pub type BuildObserver = Arc<dyn Fn(BuildEvent<'_>) + Send + Sync>;

/// Where the requirements come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Requirements {
    /// Nothing to install: a bare environment.
    #[default]
    None,
    /// A pip requirements file. It is installed from where it is, so its relative
    /// `-r`/`-c` lines keep working, and the files they include are part of the key.
    File(PathBuf),
    /// Requirement lines, e.g. `execution.json`'s `Requirements` (seed 001). They are
    /// written to `requirements.txt` in the environment and installed from there.
    Lines(Vec<String>),
}

/// The environments under one directory, built with one interpreter and installer.
#[derive(Debug, Clone)]
pub struct PythonEnvs {
    venvs_dir: PathBuf,
    interpreter: String,
    installer: Installer,
}

/// A ready Python environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The venv directory.
    pub root: PathBuf,
    /// Its interpreter: `root/bin/python` (`root\Scripts\python.exe` on Windows).
    pub python: PathBuf,
    /// True when [`PythonEnvs::ensure`] found it ready and built nothing.
    pub reused: bool,
}

impl PythonEnvs {
    /// Environments kept in `venvs_dir` (created when needed), built from `python3` with
    /// [`Installer::Auto`].
    pub fn new(venvs_dir: impl Into<PathBuf>) -> Self {
        Self {
            venvs_dir: venvs_dir.into(),
            interpreter: "python3".into(),
            installer: Installer::Auto,
        }
    }

    /// Builds from `interpreter`: a name searched on `PATH` (`python3.12`) or a path.
    ///
    /// The interpreter is identified by its resolved file, so a launcher script such as
    /// a pyenv shim counts as one interpreter whatever Python it dispatches to.
    pub fn with_interpreter(mut self, interpreter: impl Into<String>) -> Self {
        self.interpreter = interpreter.into();
        self
    }

    /// Builds with `installer`.
    pub fn with_installer(mut self, installer: Installer) -> Self {
        self.installer = installer;
        self
    }

    /// The directory holding the cached environments.
    pub fn venvs_dir(&self) -> &Path {
        &self.venvs_dir
    }

    /// The interpreter, as given.
    pub fn interpreter(&self) -> &str {
        &self.interpreter
    }

    /// The installer, as given.
    pub fn installer(&self) -> Installer {
        self.installer
    }

    /// The cached environment for these requirements, creating it if needed.
    ///
    /// When it is ready this starts no process and takes no lock. Otherwise it takes the
    /// environment's build lock, checks again (another thread or process may just have
    /// built it), removes a half-built directory, builds, and marks it ready.
    pub async fn ensure(&self, requirements: &Requirements) -> Result<PythonEnv, EnvError> {
        self.ensure_with(requirements, None).await
    }

    /// [`PythonEnvs::ensure`], telling `observer` about a build if there is one.
    pub async fn ensure_with(
        &self,
        requirements: &Requirements,
        observer: Option<&BuildObserver>,
    ) -> Result<PythonEnv, EnvError> {
        let (venvs_dir, interpreter, loaded) = self.prepare(requirements).await?;
        let key = environment_key(&interpreter.version, &loaded.key_lines);
        let name = &key[..DIR_KEY_LEN];
        let root = venvs_dir.join(name);

        let ready = root.clone();
        if blocking(move || build::is_ready(&ready)).await {
            debug!(root = %root.display(), "reusing Python environment");
            return Ok(PythonEnv::at(root, true));
        }

        let dir = venvs_dir.clone();
        blocking(move || fs::create_dir_all(&dir))
            .await
            .map_err(EnvError::io(
                "create the environments directory",
                &venvs_dir,
            ))?;
        let _lock = lock::acquire(venvs_dir.join(format!("{name}.lock"))).await?;

        let ready = root.clone();
        if blocking(move || build::is_ready(&ready)).await {
            info!(root = %root.display(), "Python environment was built meanwhile; reusing it");
            return Ok(PythonEnv::at(root, true));
        }
        remove_unfinished(&root).await?;

        let built = observed(observer, self.installer, async |tool| {
            build::build(&interpreter, &tool, &root, &loaded, observer).await?;
            build::mark_ready(&root, &interpreter, tool.installer(), &loaded).await
        });
        if let Err(error) = built.await {
            discard_failed(&root).await;
            return Err(error);
        }
        Ok(PythonEnv::at(root, false))
    }

    /// A fresh environment at `dir` (seed 001's per-execution venv), for the caller to
    /// remove with [`PythonEnv::remove`].
    ///
    /// `dir` must not exist or be empty. It is built like a cached one but never marked
    /// ready nor locked: nobody else uses it.
    pub async fn fresh(
        &self,
        dir: &Path,
        requirements: &Requirements,
    ) -> Result<PythonEnv, EnvError> {
        self.fresh_with(dir, requirements, None).await
    }

    /// [`PythonEnvs::fresh`], telling `observer` about the build.
    pub async fn fresh_with(
        &self,
        dir: &Path,
        requirements: &Requirements,
        observer: Option<&BuildObserver>,
    ) -> Result<PythonEnv, EnvError> {
        let (_, interpreter, loaded) = self.prepare(requirements).await?;

        let root = std::path::absolute(dir).map_err(EnvError::io("use the directory", dir))?;
        let check = root.clone();
        blocking(move || prepare_fresh_dir(&check)).await?;

        let built = observed(observer, self.installer, async |tool| {
            build::build(&interpreter, &tool, &root, &loaded, observer).await
        });
        if let Err(error) = built.await {
            discard_failed(&root).await;
            return Err(error);
        }
        Ok(PythonEnv::at(root, false))
    }

    /// What every build starts from: the environments directory made absolute, the
    /// interpreter, and the requirements loaded.
    async fn prepare(
        &self,
        requirements: &Requirements,
    ) -> Result<(PathBuf, Interpreter, Loaded), EnvError> {
        let venvs_dir = self.absolute_venvs_dir()?;
        let interpreter = Interpreter::locate(&self.interpreter, &venvs_dir).await?;
        let owned = requirements.clone();
        let loaded = blocking(move || Loaded::load(&owned)).await?;
        Ok((venvs_dir, interpreter, loaded))
    }

    /// `venvs_dir` made absolute: environments are used from other working directories,
    /// and the install step runs beside the requirements file.
    fn absolute_venvs_dir(&self) -> Result<PathBuf, EnvError> {
        std::path::absolute(&self.venvs_dir).map_err(EnvError::io(
            "use the environments directory",
            &self.venvs_dir,
        ))
    }
}

impl PythonEnv {
    fn at(root: PathBuf, reused: bool) -> Self {
        Self {
            python: venv_python(&root),
            root,
            reused,
        }
    }

    /// Deletes the environment's directory. The ready marker goes first, so a removal cut
    /// short leaves a directory that [`PythonEnvs::ensure`] rebuilds rather than trusts.
    pub async fn remove(self) -> io::Result<()> {
        match tokio::fs::remove_file(self.root.join(READY_MARKER)).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        tokio::fs::remove_dir_all(&self.root).await
    }
}

/// Resolves the installer and runs `build` with it, telling `observer` when the build
/// starts and how it ended.
async fn observed(
    observer: Option<&BuildObserver>,
    installer: Installer,
    build: impl AsyncFnOnce(Tool) -> Result<(), EnvError>,
) -> Result<(), EnvError> {
    let started = Instant::now();
    let tool = Tool::resolve(installer)?;
    if let Some(observer) = observer {
        observer(BuildEvent::Started(tool.installer()));
    }
    let result = build(tool).await;
    if let Some(observer) = observer {
        observer(BuildEvent::Finished {
            ok: result.is_ok(),
            elapsed: started.elapsed(),
        });
    }
    result
}

/// Removes what a crashed build left at `root`; call with the build lock held.
async fn remove_unfinished(root: &Path) -> Result<(), EnvError> {
    let path = root.to_owned();
    let removed = blocking(move || match fs::symlink_metadata(&path) {
        Ok(_) => fs::remove_dir_all(&path).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    })
    .await
    .map_err(EnvError::io("remove the unfinished environment", root))?;
    if removed {
        warn!(root = %root.display(), "removed an unfinished Python environment (an earlier build stopped halfway); rebuilding it");
    }
    Ok(())
}

/// Deletes what a failed build left at `root` (it is large and useless), logging rather
/// than returning a failure to do so: the build's own error is what the caller needs.
async fn discard_failed(root: &Path) {
    let path = root.to_owned();
    match blocking(move || fs::remove_dir_all(&path)).await {
        Ok(()) => debug!(root = %root.display(), "removed the failed environment"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            warn!(root = %root.display(), %error, "could not remove the failed environment")
        }
    }
}

/// Checks that `root` is absent or an empty directory, and creates its parent.
fn prepare_fresh_dir(root: &Path) -> Result<(), EnvError> {
    match fs::read_dir(root) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(EnvError::io("create a fresh environment in", root)(
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "the directory is not empty; give a new or empty directory",
                    ),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = root.parent().unwrap_or(root);
            fs::create_dir_all(parent).map_err(EnvError::io("create the directory", parent))
        }
        Err(source) => Err(EnvError::io("create a fresh environment in", root)(source)),
    }
}

/// The interpreter inside the venv at `root`.
fn venv_python(root: &Path) -> PathBuf {
    if cfg!(windows) {
        root.join("Scripts").join("python.exe")
    } else {
        root.join("bin").join("python")
    }
}

/// Runs blocking file work off the async threads. A panic inside is a bug and is
/// propagated as one.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_core::error::chain;

    #[test]
    fn installer_names_round_trip() {
        for installer in [Installer::Auto, Installer::Uv, Installer::Pip] {
            assert_eq!(installer.to_string().parse::<Installer>(), Ok(installer));
        }
        assert_eq!(" UV ".parse::<Installer>(), Ok(Installer::Uv));
        let err = "conda".parse::<Installer>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown Python installer `conda`: use auto, uv or pip"
        );
    }

    #[test]
    fn a_fresh_environment_needs_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        prepare_fresh_dir(dir.path()).unwrap();
        prepare_fresh_dir(&dir.path().join("a/b/venv")).unwrap();
        assert!(dir.path().join("a/b").is_dir());
        fs::write(dir.path().join("a/b/file"), "x").unwrap();
        let err = prepare_fresh_dir(&dir.path().join("a/b")).unwrap_err();
        let err = chain(&err).to_string();
        assert!(err.contains("not empty"), "{err}");
    }

    #[test]
    fn errors_read_as_one_line_with_a_fix() {
        let err = EnvError::Install {
            installer: Installer::Pip,
            message: "ERROR: No matching distribution found for nope==1.0".into(),
        };
        let text = err.to_string();
        assert!(!text.contains('\n'));
        assert!(
            text.starts_with("could not install requirements with pip: ERROR"),
            "{text}"
        );
        assert!(text.contains("check the package names"), "{text}");
    }
}
