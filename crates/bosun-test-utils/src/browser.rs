//! A headless Chromium driven by playwright-core (on Node), for the tests that use the
//! dashboard `bosun up` serves as a user's browser does. Chromium is the system's
//! (Debian's `chromium` package); playwright-core is pinned in
//! `crates/bosun/tests/browser/package-lock.json`. `.ci/run` installs both, and a test
//! installs playwright-core itself with `npm ci` when it is missing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Names the Chromium binary to use instead of looking on PATH.
pub const CHROMIUM_ENV: &str = "BOSUN_TEST_CHROMIUM";

/// Set (to anything but empty) where a browser must be there: a missing one fails
/// the test instead of skipping it. `.ci/run` sets it.
pub const REQUIRE_ENV: &str = "BOSUN_TEST_REQUIRE_BROWSER";

/// What a browser test needs: the Chromium binary and the folder of the pinned
/// playwright-core and the scripts that drive it.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The Chromium executable playwright-core launches.
    pub chromium: PathBuf,
    /// `crates/bosun/tests/browser`, with playwright-core installed.
    pub dir: PathBuf,
}

/// Why a browser test cannot run on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// `node` is not on PATH.
    Node,
    /// Neither `BOSUN_TEST_CHROMIUM` nor `chromium` / `chromium-browser` on PATH.
    Chromium,
    /// `BOSUN_TEST_CHROMIUM` names a file that is not there.
    ChromiumAt(PathBuf),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Node => write!(
                f,
                "SKIPPED: `node` is not on PATH, so playwright-core cannot drive a browser (install Node.js 20 or later)"
            ),
            Self::Chromium => write!(
                f,
                "SKIPPED: no `chromium` or `chromium-browser` on PATH (`apt-get install chromium`, or set {CHROMIUM_ENV})"
            ),
            Self::ChromiumAt(path) => write!(
                f,
                "SKIPPED: {CHROMIUM_ENV} names {}, which does not exist",
                path.display()
            ),
        }
    }
}

/// The folder of the pinned playwright-core and the scripts that drive it.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bosun/tests/browser")
        .canonicalize()
        .expect("the browser tests' folder is in the workspace")
}

/// The Chromium to launch: `BOSUN_TEST_CHROMIUM`, else `chromium` or
/// `chromium-browser` on PATH.
pub fn chromium() -> Result<PathBuf, Missing> {
    if let Some(named) = std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(named);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Missing::ChromiumAt(path))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|candidate| candidate.is_file())
        .ok_or(Missing::Chromium)
}

/// Chromium and the scripts' folder with playwright-core installed; `Err` says why
/// the test must be skipped (the caller prints it). Panics when `npm ci` fails.
pub fn installed() -> Result<Browser, Missing> {
    let found = find();
    if let Err(missing) = &found
        && std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty())
    {
        panic!("{REQUIRE_ENV} is set, so the browser tests must run: {missing}");
    }
    found
}

/// [`installed`] for a test: `None`, with the reason printed, when the test is to be
/// skipped (`let Some(browser) = browser::or_skip() else { return };`).
pub fn or_skip() -> Option<Browser> {
    installed()
        .inspect_err(|missing| eprintln!("{missing}"))
        .ok()
}

fn find() -> Result<Browser, Missing> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        return Err(Missing::Node);
    }
    let chromium = chromium()?;
    let dir = dir();
    if !dir.join("node_modules/playwright-core").is_dir() {
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
    }
    Ok(Browser { chromium, dir })
}
