//! Helpers: a temporary home for each test, the real binary, small bots.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary `BOSUN_HOME`. Its `venvs/` is shared by every test (a symlink), so an
/// environment is built once per test run; bosun's own locking keeps that safe.
pub(crate) struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir can be created");
        let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bosun-test-venvs");
        std::fs::create_dir_all(&shared).expect("the shared venvs dir can be created");
        std::os::unix::fs::symlink(&shared, dir.path().join("venvs")).expect("symlink venvs");
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `bosun` with this home and quiet logs.
    pub(crate) fn bosun(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bosun"));
        command
            .env("BOSUN_HOME", self.path())
            .env_remove("BOSUN_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Writes a file under the home, creating directories.
    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a relative file has a parent")).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Runs the command to its end and returns its output.
pub(crate) fn output(command: &mut Command) -> Output {
    command.output().expect("bosun can be started")
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("bosun exits, it is not killed")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) use bosun_test_utils::{exists, pids_in, wait_for};

/// Reads a child's pipe to its end as (lossy) text.
pub(crate) fn read_all(pipe: Option<impl std::io::Read>) -> String {
    let mut bytes = Vec::new();
    pipe.expect("the pipe was requested with Stdio::piped()")
        .read_to_end(&mut bytes)
        .expect("a child's pipe can be read");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sends `signal` to a process.
pub(crate) fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
        .expect("the process exists");
}

/// The repository's `examples/` directory.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}
