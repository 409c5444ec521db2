//! The supervisor with real processes: stopping whole trees, output handling, startup
//! failures, spawn errors, environment and limits.

use std::time::{Duration, Instant};

use bosun_core::{ExecutionStatus, JobSpec, Limits};
use bosun_exec::{Outcome, run, spawn};
use tokio_util::sync::CancellationToken;

use crate::support::{exists, options, pids_in, sh, wait_for};

fn never() -> CancellationToken {
    CancellationToken::new()
}

/// A script that starts a child and a grandchild, writes all three pids, and waits.
const TREE: &str = "sleep 300 & echo $! >> pids; (sleep 300 & echo $! >> pids; wait) & echo $! >> pids; echo $$ >> pids; wait";

#[tokio::test]
async fn timeout_kills_children_and_grandchildren_and_leaves_no_zombie() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = sh(TREE);
    job.working_directory = Some(dir.path().to_owned());
    job.timeout = Duration::from_millis(700);

    let report = run(&job, &options(dir.path()), &never()).await;

    assert_eq!(
        report.outcome,
        Outcome::TimedOut(Duration::from_millis(700))
    );
    assert_eq!(report.to_result("t").status, ExecutionStatus::TimedOut);
    let pids = pids_in(&dir.path().join("pids"));
    assert_eq!(pids.len(), 4, "the script records four pids");
    for pid in pids {
        assert!(
            !exists(pid),
            "pid {pid} survived the timeout (alive or zombie)"
        );
    }
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    // Ignored signals are inherited across exec, so `sleep` ignores TERM too.
    let mut job = sh("trap '' TERM INT; echo $$ > pid; sleep 300");
    job.working_directory = Some(dir.path().to_owned());
    job.timeout = Duration::from_millis(300);
    let options = options(dir.path());

    let started = Instant::now();
    let report = run(&job, &options, &never()).await;

    assert!(matches!(report.outcome, Outcome::TimedOut(_)));
    assert!(started.elapsed() >= Duration::from_millis(300) + options.grace);
    assert!(!exists(pids_in(&dir.path().join("pid"))[0]));
}

#[tokio::test]
async fn cancellation_stops_the_group_and_reports_cancelled() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = sh(TREE);
    job.working_directory = Some(dir.path().to_owned());
    let cancel = CancellationToken::new();
    let running = spawn(&job, &options(dir.path())).unwrap();
    let pids_file = dir.path().join("pids");
    assert!(wait_for(Duration::from_secs(5), || pids_in(&pids_file).len() == 4).await);

    cancel.cancel();
    let report = running.wait(&cancel).await;

    assert_eq!(report.outcome, Outcome::Cancelled);
    assert!(report.message().contains("cancelled"));
    for pid in pids_in(&pids_file) {
        assert!(!exists(pid), "pid {pid} survived cancellation");
    }
}

#[tokio::test]
async fn processes_left_behind_by_a_finished_leader_are_stopped() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = sh("sleep 300 & echo $! > pid; echo done");
    job.working_directory = Some(dir.path().to_owned());

    let report = run(&job, &options(dir.path()), &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    assert!(!exists(pids_in(&dir.path().join("pid"))[0]));
    assert_eq!(
        std::fs::read_to_string(&report.output_log).unwrap(),
        "done\n"
    );
}

/// A job that starts `setsid sleep 600` (a new session, out of the job's group),
/// records its pid, then waits.
const ESCAPE: &str = "setsid sleep 600 & echo $! > escaped; sleep 600";

#[tokio::test]
async fn a_setsid_descendant_does_not_escape_the_timeout() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = sh(ESCAPE);
    job.working_directory = Some(dir.path().to_owned());
    job.timeout = Duration::from_millis(500);

    let report = run(&job, &options(dir.path()), &never()).await;

    assert!(matches!(report.outcome, Outcome::TimedOut(_)));
    let escaped = pids_in(&dir.path().join("escaped"));
    assert_eq!(escaped.len(), 1, "the script records the setsid'd pid");
    assert!(
        !exists(escaped[0]),
        "setsid'd pid {} survived the timeout (alive or zombie)",
        escaped[0]
    );
}

#[tokio::test]
async fn a_setsid_descendant_does_not_escape_cancellation() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut job = sh(ESCAPE);
    job.working_directory = Some(dir.path().to_owned());
    let running = spawn(&job, &options(dir.path())).unwrap();
    let escaped = dir.path().join("escaped");
    let cancel = CancellationToken::new();
    let waiting = tokio::spawn({
        let cancel = cancel.clone();
        async move { running.wait(&cancel).await }
    });
    assert!(wait_for(Duration::from_secs(5), || pids_in(&escaped).len() == 1).await);

    cancel.cancel();
    let report = waiting.await.unwrap();

    assert_eq!(report.outcome, Outcome::Cancelled);
    let pid = pids_in(&escaped)[0];
    assert!(!exists(pid), "setsid'd pid {pid} survived cancellation");
}

#[tokio::test]
async fn a_setsid_descendant_left_by_a_finished_leader_is_stopped() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The leader waits until the escapee has left its group, then exits 0.
    let mut job = sh("setsid sleep 600 & echo $! > escaped; sleep 0.2; echo done");
    job.working_directory = Some(dir.path().to_owned());

    let started = Instant::now();
    let report = run(&job, &options(dir.path()), &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    let pid = pids_in(&dir.path().join("escaped"))[0];
    // Alone, the job's end stops it; with other tests' jobs running in this process,
    // the sweeper does, a moment later.
    assert!(
        wait_for(Duration::from_secs(5), || !exists(pid)).await,
        "setsid'd pid {pid} outlived its finished leader"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "sleep stops at SIGTERM, well within the grace period"
    );
    assert_eq!(
        std::fs::read_to_string(&report.output_log).unwrap(),
        "done\n"
    );
}

#[tokio::test]
async fn a_setsid_descendant_left_while_other_jobs_run_is_stopped_by_the_sweeper() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Another job runs throughout, so the finished leader's leftovers go to the
    // sweeper instead of being hunted by its own teardown.
    let other_dir = tempfile::tempdir().unwrap();
    let other = spawn(&sh("sleep 3"), &options(other_dir.path())).unwrap();
    let mut job = sh("setsid sleep 600 & echo $! > escaped; sleep 0.2; echo done");
    job.working_directory = Some(dir.path().to_owned());

    let report = run(&job, &options(dir.path()), &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    let pid = pids_in(&dir.path().join("escaped"))[0];
    assert!(
        wait_for(Duration::from_secs(5), || !exists(pid)).await,
        "setsid'd pid {pid} outlived its finished leader while another job ran"
    );
    let cancel = CancellationToken::new();
    cancel.cancel();
    assert_eq!(other.wait(&cancel).await.outcome, Outcome::Cancelled);
}

#[tokio::test]
async fn a_setsid_descendant_that_ignores_sigterm_is_killed_after_the_grace_period() {
    bosun_exec::become_subreaper().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Ignored signals survive exec: the escaped sleep ignores TERM too.
    let mut job = sh("trap '' TERM INT; setsid sleep 600 & echo $! > escaped; echo done");
    job.working_directory = Some(dir.path().to_owned());
    let options = options(dir.path());
    let escaped = dir.path().join("escaped");

    let started = Instant::now();
    let report = run(&job, &options, &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    let pid = pids_in(&escaped)[0];
    assert!(
        started.elapsed() >= options.grace,
        "killed only after the grace period"
    );
    // SIGKILL is sent by now; a loaded machine may take a moment to carry it out
    // and reap it.
    assert!(
        wait_for(Duration::from_secs(5), || !exists(pid)).await,
        "pid {pid} survived SIGKILL"
    );
}

#[tokio::test]
async fn both_streams_are_read_concurrently_so_a_chatty_child_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    // 4 MiB on each stream, far beyond a pipe buffer, written alternately.
    let job =
        sh("for i in 1 2 3 4; do head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; done");

    let report = run(&job, &options(dir.path()), &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    assert_eq!(
        (report.stdout.bytes, report.stderr.bytes),
        (4 << 20, 4 << 20)
    );
    assert_eq!(
        std::fs::metadata(&report.output_log).unwrap().len(),
        4 << 20
    );
    assert_eq!(std::fs::metadata(&report.error_log).unwrap().len(), 4 << 20);
}

#[tokio::test]
async fn a_capped_log_keeps_its_head_and_the_final_error_with_a_marker_between() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.log_limit = 64 * 1024;
    // 1 MiB of numbered lines, then the line that says what went wrong.
    let job = sh("seq 1 200000; echo 'Error: the final error'");

    let report = run(&job, &options, &never()).await;

    assert_eq!(report.outcome, Outcome::Exited(0));
    assert!(report.stdout.truncated);
    assert!(report.stdout.bytes > 1 << 20);
    let text = std::fs::read_to_string(&report.output_log).unwrap();
    assert!(text.starts_with("1\n2\n3\n"), "the head is kept");
    let marker = text
        .lines()
        .find(|line| line.starts_with("… bosun: "))
        .expect("a marker line says what was left out");
    assert!(
        marker.ends_with(
            "bytes of output omitted (log cap 64 KiB; set BOSUN_LOG_CAP or --max-log-size) …"
        ),
        "{marker}"
    );
    assert!(
        text.ends_with("199999\n200000\nError: the final error\n"),
        "the end is kept"
    );
    // Whole lines on both sides of the marker, and nothing kept twice or lost besides.
    let numbers: Vec<u64> = text
        .lines()
        .filter(|l| !l.starts_with('…') && !l.starts_with("Error"))
        .map(|l| l.parse().unwrap())
        .collect();
    let gap = numbers.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert_eq!(gap, 1, "one gap, at the marker");
    let omitted: u64 = marker["… bosun: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        text.len() as u64 - marker.len() as u64 - 1 + omitted,
        report.stdout.bytes,
        "what is kept and what the marker counts add up to the output"
    );
    assert!(text.len() < 64 * 1024 + 256);
    assert!(
        !dir.path().join("output.log.tail").exists(),
        "the ring's file is removed"
    );
    assert!(report.message().contains("output log truncated"));
}

#[tokio::test]
async fn non_utf8_output_is_logged_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let job = sh(r"printf 'caf\351 \377\376\000end\n'; printf '\200bad\n' >&2; exit 1");
    let mut options = options(dir.path());
    options.startup_window = Duration::ZERO;

    let report = run(&job, &options, &never()).await;

    assert_eq!(
        std::fs::read(&report.output_log).unwrap(),
        b"caf\xe9 \xff\xfe\x00end\n"
    );
    assert_eq!(std::fs::read(&report.error_log).unwrap(), b"\x80bad\n");
    assert_eq!(report.outcome, Outcome::Exited(1));
    assert!(
        report.message().ends_with("\u{fffd}bad"),
        "{}",
        report.message()
    );
}

#[tokio::test]
async fn an_immediate_non_zero_exit_is_a_startup_failure_with_the_stderr_tail() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(
        &sh("echo 'config.yaml missing' >&2; exit 4"),
        &options(dir.path()),
        &never(),
    )
    .await;
    match &report.outcome {
        Outcome::StartupFailed {
            code,
            stderr_tail,
            window,
        } => {
            assert_eq!(
                (*code, stderr_tail.trim(), *window),
                (4, "config.yaml missing", Duration::from_secs(5))
            );
        }
        other => panic!("expected a startup failure, got {other:?}"),
    }
    assert_eq!(report.to_result("j").exit_code, Some(4));

    let mut late = options(dir.path());
    late.startup_window = Duration::from_millis(100);
    let report = run(&sh("sleep 0.3; exit 4"), &late, &never()).await;
    assert_eq!(report.outcome, Outcome::Exited(4));
}

#[tokio::test]
async fn a_job_killed_by_a_signal_reports_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(&sh("kill -9 $$"), &options(dir.path()), &never()).await;
    assert_eq!(report.outcome, Outcome::Signalled(9));
    assert_eq!(report.to_result("j").exit_code, Some(137));
}

#[tokio::test]
async fn what_cannot_be_started_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "not a program").unwrap();
    let cases = [
        (
            JobSpec::new("bosun-no-such-command", vec![]),
            "\"bosun-no-such-command\" was not found on PATH",
        ),
        (
            JobSpec::new("/nonexistent/tool", vec![]),
            "/nonexistent/tool does not exist",
        ),
        (
            JobSpec::new(plain.to_str().unwrap(), vec![]),
            "is not executable",
        ),
        (
            JobSpec::new(dir.path().to_str().unwrap(), vec![]),
            "is a directory",
        ),
        (
            JobSpec {
                working_directory: Some(dir.path().join("missing")),
                ..JobSpec::new("true", vec![])
            },
            "working directory",
        ),
    ];
    for (job, expected) in cases {
        let report = run(&job, &options(dir.path()), &never()).await;
        let Outcome::SpawnFailed(message) = &report.outcome else {
            panic!(
                "{}: expected a spawn failure, got {:?}",
                job.command, report.outcome
            );
        };
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains('\n'));
        assert_eq!(report.to_result("j").status, ExecutionStatus::Failed);
    }
}

#[tokio::test]
async fn environment_and_working_directory_are_applied_and_arguments_never_meet_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = JobSpec::from_json(
        r#"{"process":{"command":"sh","arguments":"-c 'echo \"$GREETING\"; pwd; printf \"%s|\" \"$@\"' sh '$HOME' 'a b' ';' 'rm -rf /'"}}"#,
    )
    .unwrap();
    job.environment
        .insert("GREETING".into(), "hello from bosun".into());
    job.working_directory = Some(dir.path().canonicalize().unwrap());

    let report = run(&job, &options(dir.path()), &never()).await;

    let out = std::fs::read_to_string(&report.output_log).unwrap();
    let expected = format!(
        "hello from bosun\n{}\n$HOME|a b|;|rm -rf /|",
        dir.path().canonicalize().unwrap().display()
    );
    assert_eq!(out, expected);
}

#[tokio::test]
async fn resource_limits_apply_to_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = sh("ulimit -n");
    files.limits = Limits {
        open_files: Some(64),
        ..Limits::default()
    };
    let report = run(&files, &options(dir.path()), &never()).await;
    assert_eq!(
        std::fs::read_to_string(&report.output_log).unwrap().trim(),
        "64"
    );

    let mut memory = JobSpec::new(
        "python3",
        vec!["-c".into(), "b = bytearray(512 * 1024 * 1024)".into()],
    );
    memory.limits = Limits {
        memory_bytes: Some(256 << 20),
        ..Limits::default()
    };
    let report = run(&memory, &options(dir.path()), &never()).await;
    assert_ne!(report.outcome, Outcome::Exited(0));
    assert!(
        report.stderr_tail.contains("MemoryError"),
        "{}",
        report.stderr_tail
    );

    let mut cpu = sh("while :; do :; done");
    cpu.limits = Limits {
        cpu_seconds: Some(1),
        ..Limits::default()
    };
    let report = run(&cpu, &options(dir.path()), &never()).await;
    assert!(
        matches!(report.outcome, Outcome::Signalled(24 | 9)),
        "{:?}",
        report.outcome
    );
}

#[tokio::test]
async fn the_observer_sees_output_live_before_the_job_ends() {
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut options = options(dir.path());
    let sink = seen.clone();
    options.observer = Some(Arc::new(move |_, bytes| {
        sink.lock().unwrap().extend_from_slice(bytes)
    }));
    let running = spawn(&sh("echo first; sleep 300"), &options).unwrap();
    let cancel = CancellationToken::new();
    let waiting = tokio::spawn({
        let cancel = cancel.clone();
        async move { running.wait(&cancel).await }
    });

    assert!(
        wait_for(Duration::from_secs(5), || seen.lock().unwrap().as_slice()
            == b"first\n")
        .await
    );
    assert!(!waiting.is_finished(), "the job is still running");
    cancel.cancel();
    assert_eq!(waiting.await.unwrap().outcome, Outcome::Cancelled);
}

#[tokio::test]
async fn a_log_file_that_cannot_be_created_is_named_and_the_job_still_runs_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path());
    // A directory where the output log should be: creating the file fails.
    std::fs::create_dir_all(&options.output_log).unwrap();

    let report = run(&sh("echo lost; echo kept >&2"), &options, &never()).await;

    assert_eq!(
        report.outcome,
        Outcome::Exited(0),
        "the job ran to its own end"
    );
    assert!(report.stdout.bytes > 0, "stdout was still drained");
    let message = report.message();
    assert!(
        message.contains("output log incomplete: could not create log file")
            && message.contains(&options.output_log.display().to_string()),
        "{message}"
    );
    assert_eq!(std::fs::read(&options.error_log).unwrap(), b"kept\n");
}
