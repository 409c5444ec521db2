//! The README's first steps against a real `bosun up`: the example job, run by hand and
//! by a file trigger, and schedules and triggers managed from the command line.

use std::time::Duration;

use serde_json::Value;

use crate::support::{TestHome, Up, code, output, stderr, stdout, wait_for};

#[test]
fn the_example_job_runs_by_hand_and_for_each_file_that_lands() {
    let home = TestHome::new();
    let up = Up::start(&home);

    let out = output(up.client(&home).args(["submit", "hello-bot", "--follow"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("hello, world!"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("::progress:: 100"),
        "{}",
        stdout(&out)
    );

    let inbox = home.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let out = output(up.client(&home).current_dir(home.path()).args([
        "trigger",
        "add",
        "hello-bot",
        "--dir",
        "inbox",
        "--glob",
        "*.csv",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(inbox.join("first.csv"), "a,b\n").unwrap();

    let mut last = Value::Null;
    let ran = wait_for(Duration::from_secs(60), || {
        let out = output(up.client(&home).args(["history", "hello-bot", "--json"]));
        last = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        last["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|e| e["trigger"] == "file" && e["status"] == "CompletedSuccessfully")
        })
    });
    assert!(ran, "no successful file-triggered run: {last}");
    let id = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["trigger"] == "file")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let logs = output(up.client(&home).args(["logs", &id]));
    let file = std::fs::canonicalize(inbox.join("first.csv")).unwrap();
    assert!(
        stdout(&logs).contains(&format!("started for {}", file.display())),
        "{}",
        stdout(&logs)
    );
    up.stop();
}

#[test]
fn schedules_and_triggers_are_added_listed_and_removed_from_the_command_line() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example"]);
    let job = home.write(
        "tick.json",
        r#"{"name": "tick", "process": {"command": "true"}}"#,
    );
    let out = output(up.client(&home).arg("submit").arg(&job).arg("--wait"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let add = |args: &[&str]| {
        output(
            up.client(&home)
                .args(["schedule", "add", "tick"])
                .args(args),
        )
    };
    let out = add(&[
        "--cron",
        "0 30 6 * * Mon-Fri",
        "--tz",
        "Europe/Berlin",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let cron: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cron["timeZone"], "Europe/Berlin");
    let out = add(&["--every", "90m", "--missed", "run-all:3"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = add(&["--cron", "61 * * * *"]);
    assert_eq!(code(&out), 4, "the server refuses a bad cron expression");
    assert!(stderr(&out).contains("61"), "{}", stderr(&out));
    let out = add(&["--every", "1m", "--missed", "run-all"]);
    assert_eq!(code(&out), 2, "run-all needs its N");
    assert!(stderr(&out).contains("run-all:N"), "{}", stderr(&out));
    let out = add(&[]);
    assert_eq!(code(&out), 2, "--cron or --every is required");

    let out = output(up.client(&home).args(["schedule", "ls"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("cron \"0 30 6 * * Mon-Fri\" in Europe/Berlin")
            && table.contains("every 1h 30m")
            && table.contains("run-all:3"),
        "{table}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = output(
        up.client(&home)
            .args(["trigger", "add", "tick", "--glob", "*.xml", "--dir"])
            .arg(dir.path()),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = output(up.client(&home).args([
        "trigger",
        "add",
        "tick",
        "--glob",
        "*",
        "--dir",
        "/no/such/dir",
    ]));
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("/no/such/dir"), "{}", stderr(&out));
    let watched = wait_for(Duration::from_secs(30), || {
        let out = output(up.client(&home).args(["trigger", "ls", "tick"]));
        stdout(&out)
            .lines()
            .nth(1)
            .is_some_and(|row| row.contains("*.xml") && row.trim_end().ends_with("yes"))
    });
    assert!(watched, "the trigger is listed as watched");

    let id = cron["id"].as_str().unwrap();
    let out = output(up.client(&home).args(["schedule", "rm", id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = output(up.client(&home).args(["schedule", "rm", id]));
    assert_eq!(code(&out), 4, "removing it twice");
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let out = output(up.client(&home).args(["schedule", "ls", "tick", "--json"]));
    let left: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(left["items"].as_array().unwrap().len(), 1, "{left}");
    up.stop();
}
