//! Starting a job's process: checks that name the culprit, then one spawn.

use std::io;
use std::path::Path;
use std::process::Stdio;

use bosun_core::JobSpec;
use tokio::process::{Child, Command};

/// Spawns `spec` as the leader of a new process group with piped stdout/stderr and a
/// null stdin, carrying `mark` in [`crate::unix::MARK_VAR`]. The error is one sentence
/// naming what is wrong and how to fix it.
pub(crate) fn spawn_child(spec: &JobSpec, mark: &str) -> Result<Child, String> {
    if let Some(dir) = &spec.working_directory {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "working directory {} is not a directory",
                    dir.display()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "working directory {} does not exist: create it or fix \"workingDirectory\"",
                    dir.display()
                ));
            }
        }
    }

    let mut command = Command::new(&spec.command);
    command
        .args(&spec.args)
        .envs(&spec.environment)
        .env(crate::unix::MARK_VAR, mark)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.working_directory {
        command.current_dir(dir);
    }
    crate::unix::apply_limits(&mut command, spec.limits);

    command.spawn().map_err(|e| explain(&spec.command, e))
}

fn explain(program: &str, e: io::Error) -> String {
    let has_path = program.contains('/');
    match e.kind() {
        io::ErrorKind::NotFound if has_path => {
            if Path::new(program).exists() {
                format!("cannot run {program}: its #! interpreter was not found")
            } else {
                format!("command {program} does not exist: check the path")
            }
        }
        io::ErrorKind::NotFound => {
            format!("command {program:?} was not found on PATH: install it or give its full path")
        }
        io::ErrorKind::PermissionDenied if Path::new(program).is_dir() => {
            format!("command {program} is a directory, not a program")
        }
        io::ErrorKind::PermissionDenied => {
            format!(
                "command {program} is not executable: make it so (chmod +x) or run it through its interpreter"
            )
        }
        _ if e.raw_os_error() == Some(nix::libc::ENOEXEC) => {
            format!("cannot run {program}: it is not a program (a script needs a #! line)")
        }
        _ => format!("could not start {program}: {e}"),
    }
}
