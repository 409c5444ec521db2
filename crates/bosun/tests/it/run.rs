//! `bosun run`: process jobs, bots, exit codes, signals, output.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::{
    TestHome, code, examples, exists, output, pids_in, read_all, signal, stderr, stdout, wait_for,
};

#[test]
fn a_process_job_streams_its_output_and_ends_with_a_summary() {
    let home = TestHome::new();
    let out = output(
        home.bosun()
            .args(["run"])
            .arg(examples().join("jobs/hello.json")),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("hello from bosun in "),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("bye\n"));
    let summary = stderr(&out);
    assert!(
        summary.contains("ok · hello · CompletedSuccessfully · exit 0"),
        "{summary}"
    );
    assert!(summary.contains("output.log"), "{summary}");
}

#[test]
fn json_prints_the_seed_002_result_object_and_keeps_output_in_the_logs() {
    let home = TestHome::new();
    let out = output(
        home.bosun()
            .args(["run", "--json"])
            .arg(examples().join("jobs/hello.json")),
    );
    assert_eq!(code(&out), 0);
    let result: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(result["Success"], true);
    assert_eq!(result["Status"], "CompletedSuccessfully");
    assert_eq!(result["ExitCode"], 0);
    for key in ["Message", "StartTime", "EndTime", "Duration", "Pid"] {
        assert!(!result[key].is_null(), "{key} is missing: {result}");
    }
    let log = std::fs::read_to_string(result["OutputLog"].as_str().unwrap()).unwrap();
    assert!(log.contains("hello from bosun"));
}

#[test]
fn exit_codes_tell_outcomes_apart() {
    let home = TestHome::new();
    let job = |name: &str, body: &str| home.write(&format!("{name}.json"), body);
    let cases = [
        (
            job("ok", r#"{"process":{"command":"true"}}"#),
            vec![],
            0,
            "CompletedSuccessfully",
        ),
        (
            job(
                "fails",
                r#"{"process":{"command":"sh","arguments":"-c 'exit 5'"}}"#,
            ),
            vec!["--startup-window", "0s"],
            1,
            "exited with code 5",
        ),
        (
            job(
                "startup",
                r#"{"process":{"command":"sh","arguments":"-c 'echo nope >&2; exit 5'"}}"#,
            ),
            vec![],
            1,
            "startup failure: exited with code 5",
        ),
        (
            job("missing", r#"{"process":{"command":"bosun-no-such-tool"}}"#),
            vec![],
            3,
            "was not found on PATH",
        ),
        (
            job(
                "slow",
                r#"{"process":{"command":"sleep","arguments":"30","timeoutSeconds":0.5}}"#,
            ),
            vec![],
            124,
            "timed out after 0.5s",
        ),
        (
            job("broken", r#"{"process":{"command":"#),
            vec![],
            2,
            "job file is not valid",
        ),
        (
            job("empty", r#"{"process":{}}"#),
            vec![],
            2,
            "has no command",
        ),
        (
            home.path().join("nowhere.json"),
            vec![],
            2,
            "does not exist",
        ),
    ];
    for (path, extra, expected, words) in cases {
        let out = output(home.bosun().arg("run").args(&extra).arg(&path));
        assert_eq!(code(&out), expected, "{}: {}", path.display(), stderr(&out));
        assert!(
            stderr(&out).contains(words),
            "{}: {}",
            path.display(),
            stderr(&out)
        );
    }
}

#[test]
fn a_bad_command_line_is_a_usage_error() {
    let home = TestHome::new();
    let out = output(home.bosun().args(["run", "x.json", "--timeout", "soon"]));
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not a duration"), "{}", stderr(&out));
}

#[test]
fn sigterm_to_bosun_cancels_the_job_and_its_whole_tree() {
    let home = TestHome::new();
    let job = home.write(
        "tree.json",
        r#"{"process":{"command":"sh","arguments":["-c","sleep 300 & echo $! >> pids; (sleep 300 & echo $! >> pids; wait) & echo $$ >> pids; wait"]}}"#,
    );
    let mut child = home
        .bosun()
        .args(["run", "--json", "--grace", "1s"])
        .arg(&job)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids = home.path().join("pids");
    assert!(wait_for(Duration::from_secs(10), || pids_in(&pids).len() == 3));

    signal(child.id(), Signal::SIGTERM);
    let status = child.wait().unwrap();
    let text = read_all(child.stdout.take());

    assert_eq!(status.code(), Some(130));
    let result: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(result["Status"], "Cancelled");
    for pid in pids_in(&pids) {
        assert!(!exists(pid), "pid {pid} outlived the cancelled job");
    }
}

#[test]
fn ctrl_c_lets_a_python_bot_clean_up_and_reports_cancelled() {
    let home = TestHome::new();
    let bot = home.write("looper/bot.py", "import time\ntry:\n    print('working', flush=True)\n    time.sleep(300)\nexcept KeyboardInterrupt:\n    print('cleaned up')\n    raise SystemExit(3)\n");
    let mut child = home
        .bosun()
        .arg("run")
        .arg(bot.parent().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    out.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"working\n");

    signal(child.id(), Signal::SIGINT);
    let status = child.wait().unwrap();
    let rest = read_all(Some(out));
    let err = read_all(child.stderr.take());

    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(rest, "cleaned up\n");
    assert!(err.contains("Cancelled"), "{err}");
}

/// Peak resident memory of a live process, from /proc.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmHWM:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn a_200_mib_flood_keeps_bosun_memory_bounded_and_the_log_capped() {
    let home = TestHome::new();
    let job = home.write(
        "flood.json",
        r#"{"process":{"command":"head","arguments":"-c 209715200 /dev/zero"}}"#,
    );
    let mut child = home
        .bosun()
        .args(["run", "--max-log-size", "8M", "--log-dir"])
        .arg(home.path().join("flood-logs"))
        .arg(&job)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    let err = read_all(child.stderr.take());

    assert_eq!(status.code(), Some(0), "{err}");
    assert!(peak > 0, "the peak was sampled");
    assert!(
        peak < 48 * 1024,
        "bosun's peak RSS was {peak} KiB while 200 MiB went through it"
    );
    let log = std::fs::metadata(home.path().join("flood-logs/output.log"))
        .unwrap()
        .len();
    assert!(
        (8 << 20..(8 << 20) + 1024).contains(&log),
        "log is {log} bytes"
    );
    assert!(err.contains("output log truncated"), "{err}");
}

#[test]
fn bosun_log_cap_sets_the_cap_and_the_log_keeps_the_final_error() {
    let home = TestHome::new();
    let job = home.write(
        "chatty.json",
        r#"{"process":{"command":"sh","arguments":["-c","seq 1 100000; echo 'Error: disk full' >&2; echo 'Error: disk full'"]}}"#,
    );
    let out = output(
        home.bosun()
            .env("BOSUN_LOG_CAP", "64KiB")
            .args(["run", "--json", "--log-dir"])
            .arg(home.path().join("logs"))
            .arg(&job),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = std::fs::read_to_string(home.path().join("logs/output.log")).unwrap();
    assert!(log.starts_with("1\n2\n"), "the head is kept");
    assert!(
        log.contains("bytes of output omitted (log cap 64 KiB; set BOSUN_LOG_CAP"),
        "a marker says what was left out"
    );
    assert!(
        log.ends_with("100000\nError: disk full\n"),
        "the end is kept"
    );
    assert!(log.len() < (64 << 10) + 256, "{} bytes", log.len());

    // The option beats the variable.
    let out = output(
        home.bosun()
            .env("BOSUN_LOG_CAP", "64KiB")
            .args(["run", "--json", "--log-cap", "1M", "--log-dir"])
            .arg(home.path().join("roomy"))
            .arg(&job),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = std::fs::read_to_string(home.path().join("roomy/output.log")).unwrap();
    assert!(!log.contains("omitted"), "588 KiB fit a 1 MiB cap whole");
}

#[test]
fn output_is_echoed_byte_for_byte_even_when_not_utf8() {
    let home = TestHome::new();
    let job = home.write(
        "bytes.json",
        r#"{"process":{"command":"printf","arguments":["caf\\351 \\377\\000ok\\n"]}}"#,
    );
    let out = output(home.bosun().arg("run").arg(&job));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, b"caf\xe9 \xff\x00ok\n");
}

#[test]
fn the_example_bot_runs_with_its_requirements_and_reuses_its_environment() {
    let home = TestHome::new();
    let bot = examples().join("hello-bot");
    let out = output(
        home.bosun()
            .arg("run")
            .arg(&bot)
            .args(["--", "--name", "Ada", "--steps", "1"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("hello, Ada!"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("my folder holds"),
        "humanize was importable: {}",
        stdout(&out)
    );
    let envs = || {
        std::fs::read_dir(home.path().join("venvs"))
            .unwrap()
            .count()
    };
    let before = envs();

    let again = output(
        home.bosun()
            .arg("run")
            .arg(&bot)
            .args(["--", "--fail", "--steps", "0"]),
    );
    assert_eq!(code(&again), 1);
    let summary = stderr(&again);
    assert!(
        summary.contains("exited with code 3") && summary.contains("failing on purpose"),
        "{summary}"
    );
    assert_eq!(envs(), before, "the second run reused the environment");
}

#[test]
fn a_single_script_runs_and_a_fresh_environment_is_removed_afterwards() {
    let home = TestHome::new();
    let script = home.write("one.py", "import sys\nprint(sys.prefix)\n");
    let out = output(home.bosun().args(["run", "--fresh-env"]).arg(&script));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let prefix = stdout(&out);
    assert!(
        prefix.contains("run-"),
        "ran in a fresh per-run environment: {prefix}"
    );
    assert!(
        !std::path::Path::new(prefix.trim()).exists(),
        "the fresh environment was removed"
    );
}

#[test]
fn an_environment_build_shows_pips_lines_live_and_in_the_log() {
    let home = TestHome::new();
    home.write(
        "reqbot/bot.py",
        "import six\nprint('bot ran with six', six.__version__)\n",
    );
    let bot = home.write("reqbot/requirements.txt", "six==1.16.0\n");
    let out = output(
        home.bosun()
            .args(["run", "--fresh-env", "--installer", "pip", "--log-dir"])
            .arg(home.path().join("logs"))
            .arg(bot.parent().unwrap()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    let log = std::fs::read_to_string(home.path().join("logs/output.log")).unwrap();
    for text in [&shown, &log] {
        let building = text
            .find("bosun: building the Python environment with pip")
            .unwrap_or_else(|| panic!("the build is announced: {text}"));
        let installed = text
            .find("Successfully installed six-1.16.0")
            .unwrap_or_else(|| panic!("pip's own lines are shown: {text}"));
        let ready = text
            .find("bosun: the Python environment is ready")
            .unwrap_or_else(|| panic!("the build's end is shown: {text}"));
        let ran = text.find("bot ran with six 1.16.0").expect("the bot ran");
        assert!(
            building < installed && installed < ready && ready < ran,
            "{text}"
        );
    }
}

#[test]
fn a_requirement_that_cannot_be_installed_is_reported_and_nothing_runs() {
    let home = TestHome::new();
    home.write("badreq/bot.py", "print('must not run')\n");
    let req = home.write(
        "badreq/requirements.txt",
        "bosun-no-such-package-xyz==1.0\n",
    );
    let out = output(home.bosun().arg("run").arg(req.parent().unwrap()));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bosun-no-such-package-xyz"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("must not run"));
}

#[test]
fn an_unknown_field_in_a_job_file_is_refused_instead_of_ignored() {
    let home = TestHome::new();
    // `timeoutSecs` used to be ignored, so the job got the 60-minute default.
    let job = home.write(
        "slow.json",
        r#"{"name": "slow", "process": {"command": "true", "timeoutSecs": 5}}"#,
    );
    let out = output(home.bosun().arg("run").arg(&job));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(r#"unknown field "timeoutSecs" in process; did you mean "timeoutSeconds"?"#),
        "{err}"
    );
    assert!(err.contains("bad job file"), "{err}");
    assert_eq!(stdout(&out), "", "nothing ran");
}
