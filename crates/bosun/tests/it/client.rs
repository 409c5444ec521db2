//! `bosun up` and the client commands, against a real server in a child process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::{
    TestHome, code, examples, output, read_all, signal, stderr, stdout, wait_for,
};

/// A port nothing listens on right now: bound, read, released.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port can be bound")
        .port()
}

/// True once the server at `port` answers `GET /healthz` with 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// A client command with this home and no server or token from the environment.
fn client(home: &TestHome) -> Command {
    let mut command = home.bosun();
    command.env_remove("BOSUN_SERVER").env_remove("BOSUN_TOKEN");
    command
}

/// `bosun up` in a child process; killed if a test fails before stopping it.
struct Up {
    child: Child,
    port: u16,
}

impl Up {
    fn start(home: &TestHome) -> Self {
        let port = free_port();
        let child = client(home)
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--home"])
            .arg(home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bosun up can be started");
        let mut up = Self { child, port };
        let ready = wait_for(Duration::from_secs(30), || {
            healthy(port) || up.child.try_wait().ok().flatten().is_some()
        });
        assert!(
            ready && healthy(port),
            "bosun up did not answer: {}",
            up.output()
        );
        up
    }

    /// Stops it with SIGTERM; its exit code and stdout.
    fn stop(mut self) -> (i32, String) {
        signal(self.child.id(), Signal::SIGTERM);
        let exited = wait_for(Duration::from_secs(30), || {
            self.child.try_wait().ok().flatten().is_some()
        });
        assert!(exited, "bosun up did not exit within 30 s of SIGTERM");
        let status = self.child.wait().expect("bosun up was waited for");
        let out = read_all(self.child.stdout.take());
        let err = read_all(self.child.stderr.take());
        let code = status.code().expect("bosun up exits, it is not killed");
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        (code, out)
    }

    /// Everything it printed, after killing it.
    fn output(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let out = read_all(self.child.stdout.take());
        let err = read_all(self.child.stderr.take());
        format!("stdout: {out}\nstderr: {err}")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

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
    let url = format!("http://127.0.0.1:{}", up.port);

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
    let names: Vec<&str> = jobs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(names, ["hello"]);

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
    let (_, printed) = up.stop();
    assert!(
        printed.contains(&format!("export BOSUN_TOKEN={token}")),
        "{printed}"
    );
    assert!(printed.contains("Authorization: Bearer"), "{printed}");

    // …and never on a later one, which leaves client.json alone.
    let again = Up::start(&home);
    let (_, printed) = again.stop();
    assert!(!printed.contains(&token), "{printed}");
    assert!(
        printed.contains("bosun: serving http://127.0.0.1:"),
        "{printed}"
    );
    let saved_again: Value =
        serde_json::from_str(&std::fs::read_to_string(home.path().join("client.json")).unwrap())
            .unwrap();
    assert_eq!(saved_again, saved);
}
