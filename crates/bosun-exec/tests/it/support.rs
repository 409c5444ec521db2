//! Helpers shared by the integration tests.

use std::path::Path;
use std::time::Duration;

use bosun_core::JobSpec;
use bosun_exec::RunOptions;

/// A job running `sh -c script`.
pub(crate) fn sh(script: &str) -> JobSpec {
    JobSpec::new("sh", vec!["-c".into(), script.into()])
}

/// Options logging into `dir`, with a short grace period for quick tests.
pub(crate) fn options(dir: &Path) -> RunOptions {
    let mut options = RunOptions::new(dir.join("output.log"), dir.join("error.log"));
    options.grace = Duration::from_millis(500);
    options
}

pub(crate) use bosun_test_utils::{exists, pids_in, wait_for_async as wait_for};
