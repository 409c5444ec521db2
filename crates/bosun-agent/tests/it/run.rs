//! The run step: a real package, extracted as the cache does, run through the executor
//! to an outcome, recorded in TaskQueue.json, with its output in its log files.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_agent::execute::{ExecutePackage, RUNNER, Runner};
use bosun_agent::ids::{ExecutionId, PackageId};
use bosun_core::{ExecutionStatus, TaskQueue, TaskState};
use bosun_exec::RunOptions;
use bosun_exec::python::PythonEnvs;
use bosun_package::Limits;
use tokio_util::sync::CancellationToken;

/// A data directory and a runner for it; Python environments are shared by the tests
/// of this binary, so the one environment is built once.
fn runner(home: &Path) -> Runner {
    let venvs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent-venvs");
    let mut supervise = RunOptions::new("", "");
    supervise.grace = Duration::from_secs(2);
    Runner {
        home: home.to_owned(),
        envs: PythonEnvs::new(venvs),
        supervise,
        timeout: None,
    }
}

fn command(id: &str) -> ExecutePackage {
    ExecutePackage {
        execution_id: ExecutionId::parse(id).unwrap(),
        package_id: PackageId::parse("0190a7e2-7d1c-7aa0-8000-0123456789ab").unwrap(),
        package_name: "hello".into(),
        version: "1.0.0".parse().unwrap(),
        tenant_slug: Some("acme".into()),
    }
}

/// Extracts a package holding `script` as `bot.py` into `<home>/bot`.
fn extract(home: &Path, script: &str) -> std::path::PathBuf {
    let zip = super::support::package(script);
    let dir = home.join("bot");
    bosun_package::extract(Cursor::new(zip), &Limits::default(), &dir).unwrap();
    dir
}

fn queue(home: &Path) -> TaskQueue {
    TaskQueue::from_json(&std::fs::read_to_string(home.join("TaskQueue.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_bot_runs_to_its_result_with_its_output_logged_and_its_task_recorded() {
    let home = tempfile::tempdir().unwrap();
    let bot = extract(
        home.path(),
        "import os, sys\nprint('hello from', os.environ['BOSUN_EXECUTION_ID'])\nprint('a warning', file=sys.stderr)\n",
    );
    let runner = runner(home.path());
    let pids = Arc::new(Mutex::new(Vec::new()));
    let on_start = {
        let pids = pids.clone();
        Arc::new(move |pid| pids.lock().unwrap().push(pid))
    };
    let finished = runner
        .run(
            &command("exec-ok"),
            &bot,
            on_start,
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(
        finished.result.status,
        ExecutionStatus::CompletedSuccessfully,
        "{:?}",
        finished.result
    );
    assert_eq!(finished.result.exit_code, Some(0));
    assert_eq!(pids.lock().unwrap().len(), 1, "told the pid once");
    let out = std::fs::read_to_string(&finished.logs.stdout).unwrap();
    assert!(out.ends_with("hello from exec-ok\n"), "{out}");
    let err = std::fs::read_to_string(&finished.logs.stderr).unwrap();
    assert!(err.contains("a warning\n"), "{err}");
    assert_eq!(
        finished.logs.stdout,
        home.path().join("agent/runs/exec-ok/output.log")
    );

    let queue = queue(home.path());
    assert_eq!(queue.tasks.len(), 1);
    let task = &queue.tasks[0];
    assert_eq!(task.status, TaskState::Completed);
    assert_eq!(task.execution_id.as_deref(), Some("exec-ok"));
    assert_eq!(task.package_name.as_deref(), Some("hello"));
    assert_eq!(task.script_path, bot.to_string_lossy());
    assert!(task.end_time.is_some());
    assert_eq!(task.extra.get("Runner"), Some(&serde_json::json!(RUNNER)));
}

#[tokio::test]
async fn a_failing_bot_is_failed_with_its_code_and_a_cancelled_one_is_cancelled() {
    let home = tempfile::tempdir().unwrap();
    let runner = runner(home.path());
    let bot = extract(
        home.path(),
        "import sys\nprint('cannot go on', file=sys.stderr)\nsys.exit(3)\n",
    );
    let finished = runner
        .run(
            &command("exec-fail"),
            &bot,
            Arc::new(|_| {}),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(finished.result.status, ExecutionStatus::Failed);
    assert_eq!(finished.result.exit_code, Some(3));
    let message = finished.result.message.unwrap();
    assert!(message.contains("cannot go on"), "{message}");

    std::fs::remove_dir_all(&bot).unwrap();
    let bot = extract(
        home.path(),
        "import time\nprint('started', flush=True)\ntime.sleep(60)\n",
    );
    let cancel = CancellationToken::new();
    let started = Arc::new(Mutex::new(None));
    let on_start = {
        let started = started.clone();
        Arc::new(move |pid| *started.lock().unwrap() = Some(pid))
    };
    let run = {
        let (runner, cancel, bot) = (runner.clone(), cancel.clone(), bot.clone());
        tokio::spawn(async move {
            runner
                .run(&command("exec-cancel"), &bot, on_start, &cancel)
                .await
        })
    };
    let log = home.path().join("agent/runs/exec-cancel/output.log");
    assert!(
        bosun_test_utils::wait_for_async(Duration::from_secs(60), || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("started"))
        })
        .await,
        "the bot started"
    );
    cancel.cancel();
    let finished = run.await.unwrap();
    assert_eq!(finished.result.status, ExecutionStatus::Cancelled);
    let pid = started.lock().unwrap().expect("a pid was told");
    assert!(!bosun_test_utils::alive(pid), "the bot is gone");

    let queue = queue(home.path());
    let states: Vec<(Option<&str>, &TaskState)> = queue
        .tasks
        .iter()
        .map(|t| (t.execution_id.as_deref(), &t.status))
        .collect();
    assert_eq!(
        states,
        [
            (Some("exec-fail"), &TaskState::Failed),
            (Some("exec-cancel"), &TaskState::Failed)
        ]
    );
    assert!(
        queue.tasks[1]
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("cancelled")),
        "{:?}",
        queue.tasks[1].error_message
    );
}

#[tokio::test]
async fn a_folder_without_a_bot_fails_without_running_anything() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let finished = runner(home.path())
        .run(
            &command("exec-none"),
            &empty,
            Arc::new(|_| {}),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(finished.result.status, ExecutionStatus::Failed);
    assert!(
        finished
            .result
            .message
            .as_deref()
            .unwrap()
            .contains("neither bot.py nor main.py"),
        "{:?}",
        finished.result.message
    );
    assert_eq!(queue(home.path()).tasks[0].status, TaskState::Failed);
}
