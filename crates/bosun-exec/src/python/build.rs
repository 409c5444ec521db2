//! Building one environment: create the venv, install the requirements, mark it ready.
//!
//! With uv: `uv venv --python <interp> <root>`, then
//! `uv pip install --python <root>/bin/python -r <file>`. With pip: `<interp> -m venv <root>`,
//! then `<root>/bin/python -m pip install --disable-pip-version-check --no-input -r <file>`.
//! Either way the result is a plain venv without system site-packages, isolated from the
//! base Python's packages. The install step is skipped when there is nothing to install.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tokio::process::Command;
use tracing::{debug, info};

use super::error::EnvError;
use super::interpreter::{Interpreter, find_on_path};
use super::requirements::{Loaded, Source};
use super::{BuildObserver, Installer, blocking, tool, venv_python};

/// The file whose presence says an environment is complete; written last.
pub(super) const READY_MARKER: &str = ".bosun-ready";

/// An installer, resolved to something that can run.
#[derive(Debug, Clone)]
pub(super) enum Tool {
    /// `uv`, at this path.
    Uv(PathBuf),
    /// The interpreter's own `venv` module and pip.
    Pip,
}

impl Tool {
    /// Resolves `installer`: `Auto` is uv when `uv` is on `PATH`, else pip.
    pub(super) fn resolve(installer: Installer) -> Result<Self, EnvError> {
        match installer {
            Installer::Pip => Ok(Self::Pip),
            Installer::Auto => Ok(find_on_path("uv").map_or(Self::Pip, Self::Uv)),
            Installer::Uv => find_on_path("uv")
                .map(Self::Uv)
                .ok_or_else(|| EnvError::Create {
                    installer: Installer::Uv,
                    message:
                        "uv was not found on PATH (install it with `python3 -m pip install uv`, \
                          or use the pip installer)"
                            .into(),
                }),
        }
    }

    /// The installer this tool is, for messages.
    pub(super) fn installer(&self) -> Installer {
        match self {
            Self::Uv(_) => Installer::Uv,
            Self::Pip => Installer::Pip,
        }
    }
}

/// What the ready marker records, for a person looking at the cache.
#[derive(Debug, Serialize)]
struct Marker<'a> {
    interpreter: &'a Path,
    version: &'a str,
    installer: Installer,
    requirements: &'a [String],
    created: String,
}

/// Builds an environment at `root`, which must not exist or be empty, showing the
/// tools' output to `observer`.
pub(super) async fn build(
    interpreter: &Interpreter,
    tool: &Tool,
    root: &Path,
    requirements: &Loaded,
    observer: Option<&BuildObserver>,
) -> Result<(), EnvError> {
    let started = Instant::now();
    let installer = tool.installer();
    info!(root = %root.display(), %installer, interpreter = %interpreter.path.display(), "creating Python environment");
    create_venv(interpreter, tool, root, observer).await?;
    install(tool, root, requirements, observer).await?;
    info!(root = %root.display(), %installer, elapsed_ms = started.elapsed().as_millis() as u64, "Python environment built");
    Ok(())
}

async fn create_venv(
    interpreter: &Interpreter,
    tool: &Tool,
    root: &Path,
    observer: Option<&BuildObserver>,
) -> Result<(), EnvError> {
    let installer = tool.installer();
    let (mut command, what) = match tool {
        Tool::Uv(uv) => {
            let mut command = Command::new(uv);
            command
                .arg("venv")
                .arg("--python")
                .arg(&interpreter.path)
                .arg(root);
            (command, tool::describe(uv.as_os_str(), &["venv"]))
        }
        Tool::Pip => {
            let mut command = Command::new(&interpreter.path);
            command.args(["-m", "venv"]).arg(root);
            let what = tool::describe(OsStr::new(&interpreter.name), &["-m", "venv"]);
            (command, what)
        }
    };
    command.env("NO_COLOR", "1");
    debug!(command = %what, root = %root.display(), "creating the venv");
    let fail = |message: String| EnvError::Create { installer, message };
    let run = tool::run(command, observer)
        .await
        .map_err(|e| fail(format!("could not start `{what}`: {e}")))?;
    if !run.status.success() {
        return Err(fail(format!(
            "`{what}` failed ({}): {}",
            run.status,
            run.tail()
        )));
    }
    let python = venv_python(root);
    if !python.exists() {
        return Err(fail(format!(
            "`{what}` succeeded but left no interpreter at {}",
            python.display()
        )));
    }
    Ok(())
}

async fn install(
    tool: &Tool,
    root: &Path,
    requirements: &Loaded,
    observer: Option<&BuildObserver>,
) -> Result<(), EnvError> {
    let installer = tool.installer();
    let file = match &requirements.source {
        Source::Empty => {
            debug!(root = %root.display(), "no requirements to install");
            return Ok(());
        }
        Source::File(file) => file.clone(),
        Source::Lines(lines) => {
            let file = root.join("requirements.txt");
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            let target = file.clone();
            blocking(move || fs::write(&target, text))
                .await
                .map_err(EnvError::io("write the requirements file", &file))?;
            file
        }
    };
    let python = venv_python(root);
    let (mut command, what) = match tool {
        Tool::Uv(uv) => {
            let mut command = Command::new(uv);
            command
                .args(["pip", "install", "--python"])
                .arg(&python)
                .arg("-r")
                .arg(&file);
            (command, tool::describe(uv.as_os_str(), &["pip", "install"]))
        }
        Tool::Pip => {
            let mut command = Command::new(&python);
            command
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-r",
                ])
                .arg(&file);
            (command, "pip install".to_owned())
        }
    };
    // As if the user ran the install beside their file: local paths in it resolve there.
    if let Some(dir) = file.parent() {
        command.current_dir(dir);
    }
    command.env("NO_COLOR", "1");
    info!(requirements = %file.display(), %installer, "installing requirements");
    let fail = |message: String| EnvError::Install { installer, message };
    let run = tool::run(command, observer)
        .await
        .map_err(|e| fail(format!("could not start `{what}`: {e}")))?;
    if !run.status.success() {
        return Err(fail(run.tail()));
    }
    debug!(output = %run.tail(), "requirements installed");
    Ok(())
}

/// Marks `root` ready: the marker is written to a temporary name and renamed into place,
/// so it appears complete or not at all.
pub(super) async fn mark_ready(
    root: &Path,
    interpreter: &Interpreter,
    installer: Installer,
    requirements: &Loaded,
) -> Result<(), EnvError> {
    let marker = Marker {
        interpreter: &interpreter.path,
        version: &interpreter.version,
        installer,
        requirements: &requirements.key_lines,
        created: chrono::Utc::now().to_rfc3339(),
    };
    let text = serde_json::to_string_pretty(&marker).expect("the marker is plain strings");
    let target = root.join(READY_MARKER);
    let temp = root.join(format!("{READY_MARKER}.{}.tmp", uuid::Uuid::now_v7()));
    blocking(move || {
        fs::write(&temp, text).map_err(EnvError::io("write the ready marker", &temp))?;
        fs::rename(&temp, &target).map_err(EnvError::io("write the ready marker", &target))
    })
    .await
}

/// Whether `root` holds a finished environment whose interpreter is still there.
pub(super) fn is_ready(root: &Path) -> bool {
    root.join(READY_MARKER).is_file() && venv_python(root).exists()
}
