//! `bosun exec ID`: seed 001's files, lock and exit codes.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{TestHome, code, output, stderr, stdout, wait_for};

const ID: &str = "12345678-1234-1234-1234-123456789012";

/// Writes `Tasks/{id}/execution.json` and `Tasks/{id}/script.py`.
fn task(home: &TestHome, id: &str, info: &str, script: &str) {
    home.write(&format!("Tasks/{id}/execution.json"), info);
    home.write(&format!("Tasks/{id}/script.py"), script);
}

#[test]
fn runs_the_script_with_its_arguments_and_requirements_and_cleans_up() {
    let home = TestHome::new();
    task(
        &home,
        ID,
        r#"{"ExecutionId":"12345678-1234-1234-1234-123456789012","ScriptPath":"script.py",
            "Arguments":"--input-file 'my data.csv'","Requirements":["six==1.16.0"]}"#,
        "import os, sys, tempfile, six\nprint(sys.argv[1:], six.__version__)\nprint(tempfile.gettempdir() == os.environ['TMPDIR'])\nprint('to stderr', file=sys.stderr)\n",
    );
    let out = output(home.bosun().args(["exec", ID]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let task_dir = home.path().join("Tasks").join(ID);
    let log = std::fs::read_to_string(task_dir.join("output.log")).unwrap();
    assert_eq!(log, "['--input-file', 'my data.csv'] 1.16.0\nTrue\n");
    assert_eq!(
        std::fs::read_to_string(task_dir.join("error.log")).unwrap(),
        "to stderr\n"
    );
    assert!(
        !home.path().join(format!("Locks/{ID}.lock")).exists(),
        "the lock is released"
    );
    assert!(
        !home.path().join(format!("Temp/{ID}")).exists(),
        "Temp/{{id}} is removed"
    );
}

#[test]
fn the_scripts_own_exit_code_is_returned() {
    let home = TestHome::new();
    task(
        &home,
        "seven",
        r#"{"ScriptPath":"script.py"}"#,
        "raise SystemExit(7)\n",
    );
    assert_eq!(code(&output(home.bosun().args(["exec", "seven"]))), 7);
}

#[test]
fn every_failure_has_its_seed_exit_code() {
    let home = TestHome::new();
    task(&home, "bad-json", "{ not json", "");
    task(&home, "escapes", r#"{"ScriptPath":"../../x.py"}"#, "");
    task(&home, "no-script", r#"{"ScriptPath":"missing.py"}"#, "");
    task(
        &home,
        "bad-req",
        r#"{"ScriptPath":"script.py","Requirements":["bosun-no-such-package-xyz==1.0"]}"#,
        "print('ran')",
    );
    task(&home, "no-python", r#"{"ScriptPath":"script.py"}"#, "");
    task(&home, "no-temp", r#"{"ScriptPath":"script.py"}"#, "");

    let cases: [(&[&str], i32, &str); 7] = [
        (&["exec", "../etc"], 1, "invalid execution id"),
        (&["exec", "absent"], 3, "execution.json does not exist"),
        (&["exec", "bad-json"], 4, "execution.json is not valid"),
        (&["exec", "escapes"], 4, "leaves the task directory"),
        (&["exec", "no-script"], 4, "does not exist"),
        (&["exec", "bad-req"], 6, "bosun-no-such-package-xyz"),
        (
            &["exec", "no-python", "--python", "/nonexistent/python3"],
            5,
            "/nonexistent/python3",
        ),
    ];
    for (args, expected, words) in cases {
        let out = output(home.bosun().args(args));
        assert_eq!(code(&out), expected, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{args:?}: {}", stderr(&out));
    }

    // 99: something unexpected, here a file where the task's Temp directory should be.
    home.write("Temp/no-temp", "");
    let out = output(home.bosun().args(["exec", "no-temp"]));
    assert_eq!(code(&out), 99, "{}", stderr(&out));
}

#[test]
fn two_concurrent_execs_of_one_id_run_it_once() {
    let home = TestHome::new();
    task(
        &home,
        "once",
        r#"{"ScriptPath":"script.py"}"#,
        "import time\nprint('ran', flush=True)\ntime.sleep(2)\n",
    );
    let mut first = home
        .bosun()
        .args(["exec", "once"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = home.path().join("Tasks/once/output.log");
    assert!(wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t == "ran\n")
    }));

    let second = output(home.bosun().args(["exec", "once"]));
    assert_eq!(code(&second), 2, "{}", stderr(&second));
    assert!(
        stderr(&second).contains("already running"),
        "{}",
        stderr(&second)
    );
    assert!(
        stderr(&second).contains(&format!("pid {}", first.id())),
        "{}",
        stderr(&second)
    );

    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "ran\n",
        "the second exec did not run it"
    );
}

#[test]
fn an_orphaned_lock_of_a_dead_process_is_reclaimed() {
    let home = TestHome::new();
    task(
        &home,
        "orphan",
        r#"{"ScriptPath":"script.py"}"#,
        "print('ran')\n",
    );
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let host = nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    home.write(
        "Locks/orphan.lock",
        &format!(r#"{{"ExecutionId":"orphan","StartTime":"2024-01-01T00:00:00Z","MachineName":"{host}","Pid":{dead_pid}}}"#),
    );

    let out = output(home.bosun().args(["-v", "exec", "orphan"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reclaimed an orphaned lock"),
        "{}",
        stderr(&out)
    );
    assert!(!home.path().join("Locks/orphan.lock").exists());
}

#[test]
fn a_fresh_environment_is_built_per_execution_and_removed() {
    let home = TestHome::new();
    task(
        &home,
        "fresh",
        r#"{"ScriptPath":"script.py"}"#,
        "import sys\nprint(sys.prefix)\n",
    );
    let out = output(home.bosun().args(["exec", "fresh", "--fresh-env"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let prefix = std::fs::read_to_string(home.path().join("Tasks/fresh/output.log")).unwrap();
    assert!(prefix.trim().ends_with("venvs/fresh"), "{prefix}");
    assert_eq!(
        prefix.lines().count(),
        1,
        "seed 001's output.log holds the script's output alone, not the build's: {prefix}"
    );
    assert!(!home.path().join("venvs/fresh").exists());
}

#[test]
fn exec_with_missing_extra_or_invalid_arguments_exits_1_not_the_parsers_2() {
    let home = TestHome::new();
    let cases: [&[&str]; 4] = [
        &["exec"],
        &["exec", "one", "two"],
        &["exec", "one", "--no-such-flag"],
        &["exec", "one", "--timeout", "soon"],
    ];
    for args in cases {
        let out = output(home.bosun().args(args));
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Usage: bosun exec"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // Help is not an error, and other commands keep the parser's code.
    let help = output(home.bosun().args(["exec", "--help"]));
    assert_eq!(code(&help), 0, "{}", stderr(&help));
    assert!(stdout(&help).contains("Usage: bosun exec"));
    assert_eq!(code(&output(home.bosun().args(["run"]))), 2);
}
