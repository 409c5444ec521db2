//! Restarts and shutdowns of `bosun up` while a job runs, with real processes: a
//! server killed with SIGKILL (a crash, the OOM killer) and started again on the same
//! home, and a server stopped with SIGTERM, which drains.
//!
//! What a user relies on: after a restart no execution stays Running whose process is
//! gone; `--on-restart kill` stops a job left running and says so, `--on-restart adopt`
//! keeps it and records its end; SIGTERM lets jobs finish within the drain deadline,
//! cancels the rest, starts nothing new, and saves every outcome before exiting.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::support::{
    TestHome, Up, alive, client, code, exists, free_port, output, pids_in, stderr, stdout, wait_for,
};

/// Long enough for any condition here; the conditions, not the clock, end the waits.
const LIMIT: Duration = Duration::from_secs(30);

/// Writes a process job's definition under the home; its path, for `bosun submit`.
fn job(home: &TestHome, name: &str, command: &str, arguments: &[&str]) -> PathBuf {
    let definition = json!({
        "name": name,
        "process": { "command": command, "arguments": arguments },
    });
    home.write(&format!("jobs/{name}.json"), &definition.to_string())
}

/// A job that runs `script` with `sh`, which gets `file` as `$1`.
fn sh_job(home: &TestHome, name: &str, script: &str, file: &Path) -> PathBuf {
    let file = file.to_str().expect("temp paths are UTF-8");
    job(home, name, "sh", &["-c", script, "sh", file])
}

/// `bosun submit FILE` against `up`: the new execution's id.
fn submit(up: &Up, home: &TestHome, file: &Path) -> String {
    let out = output(up.client(home).arg("submit").arg(file));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// Waits until the execution is Running with its pid recorded; the pid.
fn running(up: &Up, home: &TestHome, id: &str) -> u32 {
    let mut last = Value::Null;
    let started = wait_for(LIMIT, || {
        last = up.execution(home, id);
        last["status"] == "Running" && last["pid"].is_i64()
    });
    assert!(started, "{id} did not start: {last}");
    let pid = last["pid"].as_i64().expect("checked above");
    u32::try_from(pid).expect("a pid is positive")
}

/// Waits until the execution has left Pending and Running; it, as it ended.
fn ended(up: &Up, home: &TestHome, id: &str) -> Value {
    let mut last = Value::Null;
    let done = wait_for(LIMIT, || {
        last = up.execution(home, id);
        !matches!(last["status"].as_str(), Some("Pending" | "Running"))
    });
    assert!(done, "{id} did not end: {last}");
    last
}

/// The execution's last status event; it must say `status` and why.
fn assert_last_event(execution: &Value, status: &str, message: &str) {
    let last = execution["events"]
        .as_array()
        .and_then(|events| events.last())
        .unwrap_or_else(|| panic!("an execution has events: {execution}"));
    assert_eq!(last["status"], status, "{execution}");
    assert_eq!(last["message"], message, "{execution}");
}

/// Waits until a job has written `n` pids to `file`; them.
fn pids(file: &Path, n: usize) -> Vec<u32> {
    assert!(
        wait_for(LIMIT, || pids_in(file).len() == n),
        "the job did not write {n} pids to {}",
        file.display()
    );
    pids_in(file)
}

/// Sends `sig` to a job's whole process group.
fn kill_group(pgid: u32, sig: Signal) {
    let group = nix::unistd::Pid::from_raw(i32::try_from(pgid).expect("a pid fits an i32"));
    nix::sys::signal::killpg(group, sig).expect("the job's process group exists");
}

/// After a restart the job can run again to its end: it is not held as running (its
/// duplicate policy would refuse a second run) and nothing holds the runner. The
/// job is updated to a quick command first.
fn assert_the_job_runs_again(up: &Up, home: &TestHome, name: &str) {
    let file = job(home, name, "true", &[]);
    let out = output(up.client(home).arg("submit").arg(&file).arg("--wait"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{name} · CompletedSuccessfully · exit 0")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn on_restart_kill_stops_the_job_a_killed_server_left_running_and_fails_it() {
    let home = TestHome::new();
    let pid_file = home.path().join("pids");
    let file = sh_job(
        &home,
        "long",
        r#"sleep 60 & echo $$ $! > "$1"; wait"#,
        &pid_file,
    );
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    let group = pids(&pid_file, 2);
    assert_eq!(group[0], pid, "the recorded pid is the job's own");

    up.crash();
    // A crash does not take the job with it: it is the next server's to settle.
    assert!(
        group.iter().all(|&p| alive(p)),
        "the job outlived the server"
    );

    let up = Up::start_with(&home, &["--on-restart", "kill"]);
    assert!(
        wait_for(LIMIT, || group.iter().all(|&p| !alive(p))),
        "every process of the job's group was stopped: {group:?}"
    );
    // Stopped while the server serves: its end is recorded once its group is gone.
    let after = ended(&up, &home, &id);
    assert_eq!(after["status"], "Failed", "{after}");
    assert_eq!(after["pid"], pid, "{after}");
    let why = format!("stopped when the server restarted (process group {pid} was killed)");
    assert_eq!(after["message"], why.as_str(), "{after}");
    assert!(after["endTime"].is_string(), "{after}");
    assert_last_event(&after, "Failed", &why);

    assert_the_job_runs_again(&up, &home, "long");
    up.stop();
}

/// Regression: recovery sent SIGTERM to the group and, once the leader had gone,
/// stopped there, so a child that ignores SIGTERM outlived `--on-restart kill`.
#[test]
fn on_restart_kill_also_kills_a_child_that_ignores_sigterm() {
    let home = TestHome::new();
    let pid_file = home.path().join("pids");
    let file = sh_job(
        &home,
        "stubborn",
        r#"(trap "" TERM; exec sleep 60) & echo $$ $! > "$1"; wait"#,
        &pid_file,
    );
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    let group = pids(&pid_file, 2);
    up.crash();

    let up = Up::start_with(&home, &["--on-restart", "kill"]);
    assert!(
        wait_for(LIMIT, || group.iter().all(|&p| !alive(p))),
        "every process of the job's group was stopped: {:?} still run",
        group.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
    );
    let after = ended(&up, &home, &id);
    assert_eq!(after["status"], "Failed", "{after}");
    assert_eq!(
        after["message"],
        format!("stopped when the server restarted (process group {pid} was killed)").as_str()
    );
    up.stop();
}

/// Regression: recovery took any live process leading a group with the recorded pid
/// for the job, so after a reboot `--on-restart kill` could kill whatever service had
/// been given that pid. Simulated by moving the recorded start an hour back: the
/// process holding the pid is then not the job, whatever its pid.
#[test]
fn a_restart_never_kills_a_process_that_only_has_the_jobs_pid() {
    let home = TestHome::new();
    let file = job(&home, "long", "sleep", &["60"]);
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    up.crash();
    let script = "import sqlite3, sys\n\
                  db = sqlite3.connect(sys.argv[1])\n\
                  db.execute('UPDATE executions SET start_time = start_time - 3600000 WHERE id = ?', (sys.argv[2],))\n\
                  db.commit()\n\
                  assert db.total_changes == 1";
    let out = output(
        std::process::Command::new("python3")
            .args(["-c", script])
            .arg(home.path().join("bosun.db"))
            .arg(&id),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let up = Up::start_with(&home, &["--on-restart", "kill"]);
    let after = up.execution(&home, &id);
    assert_eq!(after["status"], "Failed", "{after}");
    assert_eq!(
        after["message"],
        format!("the server stopped while this ran, and its process {pid} is gone; its outcome is unknown")
            .as_str()
    );
    assert!(alive(pid), "a process that is not the job was left alone");
    kill_group(pid, Signal::SIGKILL);
    up.stop();
}

#[test]
fn on_restart_adopt_keeps_the_job_running_and_records_its_end() {
    let home = TestHome::new();
    let stop_file = home.path().join("stop");
    let file = sh_job(
        &home,
        "adoptee",
        r#"while [ ! -e "$1" ]; do sleep 0.1; done"#,
        &stop_file,
    );
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    up.crash();

    let up = Up::start_with(&home, &["--on-restart", "adopt"]);
    assert!(alive(pid), "an adopted job is left running");
    let adopted = up.execution(&home, &id);
    assert_eq!(adopted["status"], "Running", "{adopted}");
    assert_eq!(adopted["pid"], pid, "{adopted}");
    // It still counts as running: its job's duplicate policy refuses a second run.
    let out = output(up.client(&home).args(["submit", "adoptee"]));
    assert_eq!(code(&out), 4, "a second run was refused: {}", stdout(&out));
    assert!(
        stderr(&out).contains("is already running"),
        "{}",
        stderr(&out)
    );

    // The job ends by itself; the new server sees it and records the end.
    std::fs::write(&stop_file, "").expect("the stop file can be written");
    let after = ended(&up, &home, &id);
    assert!(!alive(pid));
    let why = format!(
        "adopted after a server restart; process {pid} has ended, its exit code is unknown"
    );
    assert_eq!(after["status"], "Failed", "{after}");
    assert_eq!(after["message"], why.as_str(), "{after}");
    assert_eq!(after["exitCode"], Value::Null, "{after}");
    assert_last_event(&after, "Failed", &why);
    assert_the_job_runs_again(&up, &home, "adoptee");
    up.stop();
}

#[test]
fn cancelling_an_adopted_execution_stops_its_process_group() {
    let home = TestHome::new();
    let pid_file = home.path().join("pids");
    let file = sh_job(
        &home,
        "adoptee",
        r#"sleep 60 & echo $$ $! > "$1"; wait"#,
        &pid_file,
    );
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    running(&up, &home, &id);
    let group = pids(&pid_file, 2);
    up.crash();

    let up = Up::start_with(&home, &["--on-restart", "adopt"]);
    assert_eq!(up.execution(&home, &id)["status"], "Running");
    let out = output(up.client(&home).args(["cancel", &id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = ended(&up, &home, &id);
    assert_eq!(after["status"], "Cancelled", "{after}");
    assert!(
        wait_for(LIMIT, || group.iter().all(|&p| !alive(p))),
        "every process of the adopted job's group was stopped: {group:?}"
    );
    up.stop();
}

#[test]
fn a_job_whose_process_died_with_the_server_is_failed_with_the_reason() {
    let home = TestHome::new();
    let file = job(&home, "long", "sleep", &["60"]);
    let up = Up::start(&home);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    up.crash();
    kill_group(pid, Signal::SIGKILL);
    assert!(wait_for(LIMIT, || !alive(pid)), "the job was killed");

    // Even a server that adopts what it finds cannot adopt a process that is gone.
    let up = Up::start_with(&home, &["--on-restart", "adopt"]);
    let after = up.execution(&home, &id);
    let why = format!(
        "the server stopped while this ran, and its process {pid} is gone; its outcome is unknown"
    );
    assert_eq!(after["status"], "Failed", "{after}");
    assert_eq!(after["message"], why.as_str(), "{after}");
    assert_last_event(&after, "Failed", &why);
    assert_the_job_runs_again(&up, &home, "long");
    up.stop();
}

#[test]
fn sigterm_cancels_a_job_still_running_at_the_drain_deadline_and_saves_that() {
    let home = TestHome::new();
    let file = job(&home, "long", "sleep", &["60"]);
    let up = Up::start_with(&home, &["--drain-timeout", "1s"]);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);

    up.signal(Signal::SIGTERM);
    let (code, out, err) = up.wait(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("shutting down: running jobs get 1s to finish"),
        "{err}"
    );
    assert!(out.ends_with("bosun: stopped\n"), "{out}");
    // Stopped and reaped by the server, not left to anyone else.
    assert!(!exists(pid), "the job's process is gone");

    // The outcome was saved before the server exited: the next one finds it ended,
    // not Running (which it would have failed as "the server stopped while this ran").
    let up = Up::start(&home);
    let after = up.execution(&home, &id);
    assert_eq!(after["status"], "Cancelled", "{after}");
    assert_eq!(
        after["message"],
        "cancelled: the server shut down and its drain deadline (1s) passed; the process \
         group was stopped",
        "{after}"
    );
    up.stop();
}

#[test]
fn sigterm_lets_a_job_finish_within_the_drain_deadline_and_starts_nothing_new() {
    let home = TestHome::new();
    let stop_file = home.path().join("stop");
    let marker = home.path().join("later-ran");
    let first = sh_job(
        &home,
        "first",
        r#"while [ ! -e "$1" ]; do sleep 0.1; done; echo finished"#,
        &stop_file,
    );
    let later = sh_job(&home, "later", r#"echo ran > "$1""#, &marker);
    let up = Up::start_with(&home, &["--max-concurrent", "1", "--drain-timeout", "20s"]);
    let first_id = submit(&up, &home, &first);
    running(&up, &home, &first_id);
    // One slot, taken: this one waits in the queue.
    let later_id = submit(&up, &home, &later);
    assert_eq!(up.execution(&home, &later_id)["status"], "Pending");

    up.signal(Signal::SIGTERM);
    assert!(
        wait_for(LIMIT, || up.stderr_so_far().contains("shutting down")),
        "bosun up said it is shutting down: {}",
        up.stderr_so_far()
    );
    // Draining: the running job may finish; the queued one must not start.
    std::fs::write(&stop_file, "").expect("the stop file can be written");
    let (code, out, err) = up.wait(LIMIT);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(!marker.exists(), "no new work started while draining");

    let up = Up::start(&home);
    let done = up.execution(&home, &first_id);
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    assert_eq!(done["exitCode"], 0, "{done}");
    let out = output(up.client(&home).args(["logs", &first_id]));
    assert_eq!(stdout(&out), "finished\n");
    // The queued execution survived the shutdown and runs under the next server.
    assert_eq!(
        ended(&up, &home, &later_id)["status"],
        "CompletedSuccessfully"
    );
    assert!(marker.exists());
    up.stop();
}

/// Regression: a second `bosun up` on the data directory of one that runs took the
/// first's running jobs for a crash's leftovers: it killed them, failed their
/// executions and pointed client.json at itself. It must stop before it touches
/// anything, and say which server holds the directory.
#[test]
fn a_second_up_on_a_data_directory_in_use_exits_and_leaves_the_first_alone() {
    let home = TestHome::new();
    let file = job(&home, "long", "sleep", &["60"]);
    let up = Up::start_with(&home, &["--drain-timeout", "1s"]);
    let id = submit(&up, &home, &file);
    let pid = running(&up, &home, &id);
    let client_json = home.path().join("client.json");
    let saved = std::fs::read_to_string(&client_json).expect("the first start saved client.json");

    let mut second = client(&home)
        .args([
            "up",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--home",
        ])
        .arg(home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bosun up can be started");
    let exited = wait_for(LIMIT, || second.try_wait().ok().flatten().is_some());
    if !exited {
        let _ = second.kill();
    }
    let out = second.wait_with_output().expect("bosun up was waited for");
    assert!(
        exited,
        "the second bosun up exits by itself: {}",
        stdout(&out)
    );
    assert_eq!(
        code(&out),
        6,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let said = stderr(&out);
    assert_eq!(
        said,
        format!(
            "bosun: the data directory {} is in use by bosun up (pid {}, {}); stop it first, \
             or point BOSUN_HOME (or --home) elsewhere\n",
            home.path().display(),
            up.pid(),
            up.url()
        ),
    );

    assert!(alive(pid), "the first server's job still runs");
    let still = up.execution(&home, &id);
    assert_eq!(still["status"], "Running", "{still}");
    assert_eq!(
        std::fs::read_to_string(&client_json).expect("client.json is still there"),
        saved,
        "client.json still names the first server"
    );
    up.stop();
}

/// Regression: recovery stopped the jobs a crashed server left, one after another,
/// before the new server listened: four that ignore SIGTERM kept the API down for
/// 4 × 5 s. They are stopped together, while the API answers.
#[test]
fn a_restart_serves_while_it_stops_leftover_jobs_together() {
    const JOBS: usize = 4;
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--max-concurrent", "4"]);
    let mut leftovers = Vec::new();
    for n in 0..JOBS {
        let file = job(
            &home,
            &format!("stubborn-{n}"),
            "sh",
            &["-c", r#"trap "" TERM; sleep 600"#],
        );
        let id = submit(&up, &home, &file);
        leftovers.push(id);
    }
    let pids: Vec<u32> = leftovers.iter().map(|id| running(&up, &home, id)).collect();
    up.crash();

    let restarted = std::time::Instant::now();
    let up = Up::start_with(&home, &["--on-restart", "kill"]);
    // The API answers while the leftovers are still being stopped, and says they run.
    let first = up.execution(&home, &leftovers[0]);
    assert!(
        pids.iter().any(|&p| alive(p)),
        "the API answered only once every leftover was gone"
    );
    assert_eq!(first["status"], "Running", "{first}");

    assert!(
        wait_for(LIMIT, || pids.iter().all(|&p| !alive(p))),
        "every leftover was stopped: {:?} still run",
        pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
    );
    let took = restarted.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the leftovers were stopped together, in about one grace period (5 s), not one \
         after another ({JOBS} × 5 s): {took:?}"
    );
    for (id, pid) in leftovers.iter().zip(&pids) {
        let after = ended(&up, &home, id);
        let why = format!("stopped when the server restarted (process group {pid} was killed)");
        assert_eq!(after["status"], "Failed", "{after}");
        assert_last_event(&after, "Failed", &why);
    }
    up.stop();
}

/// While a leftover of a `duplicatePolicy: queue` job is being stopped after a
/// restart, the job's queued run waits for it: two copies never run at once.
#[test]
fn a_queued_run_waits_until_its_jobs_leftover_is_stopped() {
    let home = TestHome::new();
    let marker = home.path().join("first-ran");
    let marker_arg = marker.to_str().expect("temp paths are UTF-8");
    // The first run ignores SIGTERM and runs on; the next sees the marker and ends.
    let definition = json!({
        "name": "queued",
        "duplicatePolicy": "queue",
        "process": { "command": "sh", "arguments": [
            "-c",
            r#"[ -e "$1" ] && exit 0; touch "$1"; trap "" TERM; sleep 600"#,
            "sh",
            marker_arg,
        ]},
    });
    let file = home.write("jobs/queued.json", &definition.to_string());
    let up = Up::start(&home);
    let first = submit(&up, &home, &file);
    let pid = running(&up, &home, &first);
    let second = submit(&up, &home, &file);
    assert_eq!(up.execution(&home, &second)["status"], "Pending");
    up.crash();

    let up = Up::start_with(&home, &["--on-restart", "kill"]);
    let done = ended(&up, &home, &second);
    assert_eq!(done["status"], "CompletedSuccessfully", "{done}");
    let stopped = ended(&up, &home, &first);
    assert!(!alive(pid));
    let time = |e: &Value, field: &str| {
        chrono::DateTime::parse_from_rfc3339(e[field].as_str().expect("a time is a string"))
            .unwrap_or_else(|e| panic!("{field} is RFC 3339: {e}"))
    };
    assert!(
        time(&done, "startTime") >= time(&stopped, "endTime"),
        "the queued run started only once the leftover was stopped: {done}\n{stopped}"
    );
    up.stop();
}
