//! The official SignalR JavaScript client (`@microsoft/signalr`, on Node), for the
//! tests that check bosun's hub against it. The package is pinned in
//! `crates/bosun-hub/tests/js/package-lock.json`; `.ci/run` installs it, and a test
//! installs it itself with `npm ci` when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The folder of the pinned client and the scripts that drive it.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bosun-hub/tests/js")
        .canonicalize()
        .expect("the JavaScript client's folder is in the workspace")
}

/// That folder, with the client installed; `None` when `node` is not on PATH (the
/// caller says the test was skipped and why). Panics when `npm ci` fails.
pub fn installed() -> Option<PathBuf> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        return None;
    }
    let dir = dir();
    if dir.join("node_modules/@microsoft/signalr").is_dir() {
        return Some(dir);
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("npm runs (it comes with node)");
    assert!(
        output.status.success(),
        "npm ci failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(dir)
}

/// What a test prints when `node` is missing.
pub const SKIPPED: &str = "SKIPPED: `node` is not on PATH, so the official SignalR JavaScript client cannot run (install Node.js 20 or later)";
