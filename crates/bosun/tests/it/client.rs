//! `bosun up` and the client commands, against a real server in a child process.

use serde_json::Value;

use std::process::Stdio;
use std::time::Duration;

use crate::support::{
    TestHome, Up, client, code, examples, free_port, output, read_all, saved_token, stderr, stdout,
    wait_for,
};

#[test]
fn a_client_command_without_a_server_says_to_start_one() {
    let home = TestHome::new();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = output(client(&home).args(["ps", "--server", &url, "--token", "t"]));
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("bosun: no bosun server at {url}: start one with `bosun up`\n")
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_missing_token_says_where_to_get_one() {
    let home = TestHome::new();
    let out = output(client(&home).args(["jobs"]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("bosun: no API token for http://127.0.0.1:8420"),
        "{err}"
    );
    assert!(err.contains("--token or set BOSUN_TOKEN"), "{err}");
    assert!(err.contains("`bosun up` prints one"), "{err}");
    assert!(
        err.contains(&home.path().join("client.json").display().to_string()),
        "{err}"
    );
}

#[test]
fn up_submit_history_logs_and_jobs_end_to_end() {
    let home = TestHome::new();
    let up = Up::start(&home);
    let url = up.url();

    // The first start saved the URL and the token, privately.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("client.json")).expect("client.json exists"),
    )
    .expect("client.json is JSON");
    assert_eq!(saved["url"], url.as_str());
    let token = saved["token"]
        .as_str()
        .expect("a token was saved")
        .to_owned();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.path().join("client.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Submit the example job and wait for it: the id on stdout, exit 0.
    let hello = examples().join("jobs/hello.json");
    let out = output(client(&home).arg("submit").arg(&hello).arg("--wait"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();
    assert!(
        !id.is_empty() && !id.contains(char::is_whitespace),
        "{id:?}"
    );
    assert!(
        stderr(&out).contains("job hello created"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("hello · CompletedSuccessfully · exit 0"),
        "{}",
        stderr(&out)
    );

    // History lists it.
    let out = output(client(&home).args(["history"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("ID "), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .expect("a row for the run");
    assert!(
        row.contains("hello") && row.contains("CompletedSuccessfully"),
        "{row}"
    );

    // Its log, unchanged, whole and tailed.
    let out = output(client(&home).args(["logs", &id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stdout(&out);
    assert!(log.starts_with("hello from bosun in "), "{log}");
    assert!(log.ends_with("\nbye\n"), "{log:?}");
    let out = output(client(&home).args(["logs", &id, "--tail", "1"]));
    assert_eq!(stdout(&out), "bye\n");
    // Following an ended execution gives the same bytes, then stops.
    let out = output(client(&home).args(["logs", "-f", &id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), log);

    // The job list, as JSON for scripts.
    let out = output(client(&home).args(["jobs", "--json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let jobs: Value = serde_json::from_slice(&out.stdout).expect("jobs --json is JSON");
    let mut names: Vec<&str> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["hello", "hello-bot"],
        "the submitted job and the example"
    );

    // Submitting the file again updates the job; --follow streams its output.
    let out = output(client(&home).arg("submit").arg(&hello).arg("--follow"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("job hello updated"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with("hello from bosun in "),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).ends_with("\nbye\n"), "{:?}", stdout(&out));

    // The flag and the environment work as well as client.json; a wrong token is
    // refused with exit code 4, an unknown job too.
    let out = output(
        client(&home)
            .args(["ps", "--home", "/nonexistent"])
            .env("BOSUN_SERVER", &url)
            .env("BOSUN_TOKEN", &token),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = output(client(&home).args(["jobs", "--token", "wrong"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not accept the token"),
        "{}",
        stderr(&out)
    );
    let out = output(client(&home).args(["submit", "no-such-job"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(stderr(&out), "bosun: job not found\n");

    // SIGTERM: drained and stopped cleanly. The token was printed on this first start…
    let printed = up.stop();
    assert!(
        printed.contains(&format!("export BOSUN_TOKEN={token}")),
        "{printed}"
    );
    assert!(printed.contains("Authorization: Bearer"), "{printed}");

    // …and never on a later one, which keeps client.json's token and points it at the
    // new address, so that the token goes on being shown only to its own server.
    let again = Up::start(&home);
    let printed = again.stop();
    assert!(!printed.contains(&token), "{printed}");
    let url = printed
        .lines()
        .find_map(|l| l.strip_prefix("bosun: serving "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL in {printed}"));
    let saved_again: Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("client.json")).unwrap())
            .unwrap();
    assert_eq!(saved_again["token"], saved["token"]);
    assert_eq!(saved_again["url"], url, "{printed}");
    if saved["url"] != url {
        assert!(printed.contains("client.json now names"), "{printed}");
    }
}

#[test]
fn submit_resolved_a_relative_working_directory_against_the_servers_folder() {
    let home = TestHome::new();
    let up = Up::start(&home);
    // A job file in jobs/, whose command and working directory are relative to it.
    let base = tempfile::tempdir().unwrap();
    let jobs = std::fs::canonicalize(base.path()).unwrap().join("jobs");
    std::fs::create_dir_all(jobs.join("work")).unwrap();
    let script = jobs.join("work/where.sh");
    std::fs::write(&script, "#!/bin/sh\npwd -P\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        jobs.join("where.json"),
        r#"{"name": "where", "process": {"command": "./where.sh", "workingDirectory": "work"}}"#,
    )
    .unwrap();
    std::fs::write(
        jobs.join("here.json"),
        r#"{"name": "here", "process": {"command": "sh", "arguments": ["-c", "pwd -P"]}}"#,
    )
    .unwrap();

    // Submitted from the folder above, by a relative path.
    for (file, folder) in [
        ("jobs/where.json", jobs.join("work")),
        ("jobs/here.json", jobs.clone()),
    ] {
        let out = output(
            up.client(&home)
                .current_dir(&base)
                .args(["submit", file, "--wait"]),
        );
        assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
        let id = stdout(&out).trim().to_owned();
        let out = output(up.client(&home).args(["logs", &id]));
        assert_eq!(
            stdout(&out),
            format!("{}\n", folder.display()),
            "{file} ran in the job file's folder"
        );
    }
    up.stop();
}

#[test]
fn jobs_grew_past_250_columns_for_one_long_name() {
    let home = TestHome::new();
    let up = Up::start(&home);
    let name = "a-very-long-job-name-".repeat(9);
    let file = home.write(
        "long.json",
        &format!(r#"{{"name": "{name}", "process": {{"command": "true"}}}}"#),
    );
    let out = output(up.client(&home).arg("submit").arg(&file));
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // In a pipe, a name is cut to at most 60 columns, with `…` where it was cut.
    let out = output(up.client(&home).args(["jobs"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    let row = table
        .lines()
        .find(|l| l.starts_with("a-very-long"))
        .unwrap_or_else(|| panic!("a row for the long name: {table}"));
    assert!(row.chars().count() < 120, "{row}");
    assert!(row.contains('…'), "{row}");
    // --wide shows it whole.
    let out = output(up.client(&home).args(["jobs", "--wide"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(&name), "{}", stdout(&out));
    up.stop();
}

#[test]
fn there_were_no_shell_completions() {
    let home = TestHome::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = output(client(&home).args(["completions", shell]));
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["submit", "trigger", "schedule", "server"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = output(client(&home).args(["completions", "tcsh"]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn listen_on_a_host_name_was_refused() {
    let home = TestHome::new();
    let port = free_port();
    let up = Up::start_listening(&home, &format!("localhost:{port}"), port, &[]);
    let out = output(up.client(&home).args(["jobs", "--json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!saved_token(&home).is_empty());
    let printed = up.stop();
    assert!(
        printed.contains(&format!("bosun: serving http://127.0.0.1:{port}")),
        "localhost is served on its IPv4 loopback address: {printed}"
    );

    // A name that does not resolve is a usage error, in one line.
    let out = output(client(&home).args(["up", "--listen", "no-such-host.invalid:8420"]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-host.invalid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_server_bot_shows_building_environment_and_its_log_has_pips_lines() {
    let home = TestHome::new();
    // Its own environments, so the build happens whatever earlier tests built.
    std::fs::remove_file(home.path().join("venvs")).unwrap();
    home.write(
        "reqbot/bot.py",
        "import six\nprint('bot ran with six', six.__version__)\n",
    );
    let requirements = home.write("reqbot/requirements.txt", "six==1.16.0\n");
    let job = home.write(
        "reqbot.json",
        &serde_json::json!({
            "name": "reqbot",
            "bot": {"path": requirements.parent().unwrap()},
        })
        .to_string(),
    );
    let up = Up::start_with(&home, &["--no-example"]);
    let out = output(up.client(&home).arg("submit").arg(&job));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = stdout(&out).trim().to_owned();

    // While pip works, the execution waits with its phase as its status message.
    let phase = |home: &TestHome| {
        let out = output(up.client(home).args(["ps", "--json"]));
        let all: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        all["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["id"] == id.as_str())
            .map(|e| (e["status"].clone(), e["statusMessage"].clone()))
    };
    assert!(
        wait_for(Duration::from_secs(60), || phase(&home)
            == Some(("Pending".into(), "building environment".into()))),
        "ps never showed the build: {:?}",
        phase(&home)
    );
    let out = output(up.client(&home).arg("ps"));
    assert!(
        stdout(&out).contains("building environment"),
        "{}",
        stdout(&out)
    );

    // A follower started during the build sees the build's lines, then the bot's.
    let mut follower = up
        .client(&home)
        .args(["logs", "-f", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let followed = read_all(follower.stdout.take());
    assert_eq!(follower.wait().unwrap().code(), Some(0));
    // pip says "Successfully installed six-1.16.0", uv "+ six==1.16.0".
    let installed = ["Successfully installed six-1.16.0", "+ six==1.16.0"]
        .iter()
        .find_map(|line| followed.find(line))
        .unwrap_or_else(|| panic!("the installer's lines were followed: {followed}"));
    let ran = followed
        .find("bot ran with six 1.16.0")
        .expect("the bot ran");
    assert!(installed < ran, "{followed}");

    // Once it runs, the phase is gone; the log keeps the build's lines.
    let execution = up.execution(&home, &id);
    assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
    assert!(execution["statusMessage"].is_null(), "{execution}");
    let out = output(up.client(&home).args(["logs", &id]));
    assert_eq!(stdout(&out), followed);
}
