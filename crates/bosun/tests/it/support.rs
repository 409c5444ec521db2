//! Helpers: a temporary home for each test, the real binary, small bots, and
//! `bosun up` in a child process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A temporary `BOSUN_HOME`. Its `venvs/` is shared by every test (a symlink), so an
/// environment is built once per test run; bosun's own locking keeps that safe.
pub(crate) struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir can be created");
        let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bosun-test-venvs");
        std::fs::create_dir_all(&shared).expect("the shared venvs dir can be created");
        std::os::unix::fs::symlink(&shared, dir.path().join("venvs")).expect("symlink venvs");
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `bosun` with this home and quiet logs.
    pub(crate) fn bosun(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bosun"));
        command
            .env("BOSUN_HOME", self.path())
            .env_remove("BOSUN_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Writes a file under the home, creating directories.
    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a relative file has a parent")).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Runs the command to its end and returns its output.
pub(crate) fn output(command: &mut Command) -> Output {
    command.output().expect("bosun can be started")
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("bosun exits, it is not killed")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) use bosun_test_utils::{alive, exists, pids_in, wait_for};

/// Reads a child's pipe to its end as (lossy) text.
pub(crate) fn read_all(pipe: Option<impl std::io::Read>) -> String {
    let mut bytes = Vec::new();
    pipe.expect("the pipe was requested with Stdio::piped()")
        .read_to_end(&mut bytes)
        .expect("a child's pipe can be read");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sends `signal` to a process.
pub(crate) fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
        .expect("the process exists");
}

/// The repository's `examples/` directory.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A port nothing listens on right now: bound, read, released.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port can be bound")
        .port()
}

/// `GET path` on the server at `port`, with `token` if given: the status code and
/// the body. `None` when nothing answered.
fn http_get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    // The API answers JSON with a Content-Length; a chunked body would need decoding.
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "a chunked answer to GET {path}: {head}"
    );
    Some((status, body.to_owned()))
}

/// True once the server at `port` answers `GET /healthz` with 200.
pub(crate) fn healthy(port: u16) -> bool {
    http_get(port, "/healthz", None).is_some_and(|(status, _)| status == 200)
}

/// A client command with this home and no server or token from the environment.
pub(crate) fn client(home: &TestHome) -> Command {
    let mut command = home.bosun();
    command.env_remove("BOSUN_SERVER").env_remove("BOSUN_TOKEN");
    command
}

/// The admin token the first `bosun up` saved in the home's client.json.
pub(crate) fn saved_token(home: &TestHome) -> String {
    let path = home.path().join("client.json");
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("client.json exists after the first start"),
    )
    .expect("client.json is JSON");
    saved["token"]
        .as_str()
        .expect("client.json holds a token")
        .to_owned()
}

/// Everything a child has written to a pipe so far, read by a thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<String>>);

impl Captured {
    fn read(pipe: impl Read + Send + 'static) -> (Self, JoinHandle<()>) {
        let captured = Self::default();
        let sink = captured.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.0.lock().expect("the capture is never poisoned");
                text.push_str(&line);
                text.push('\n');
            }
        });
        (captured, reader)
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .expect("the capture is never poisoned")
            .clone()
    }
}

/// `bosun up` in a child process; killed if a test fails before stopping it. Its
/// output is read as it comes, so a test can wait for a line.
pub(crate) struct Up {
    child: Child,
    /// The port it listens on.
    pub(crate) port: u16,
    stdout: Captured,
    stderr: Captured,
    readers: Vec<JoinHandle<()>>,
}

impl Up {
    /// `bosun up` on a free port with this home.
    pub(crate) fn start(home: &TestHome) -> Self {
        Self::start_with(home, &[])
    }

    /// `bosun up` on a free port with this home and extra flags; returns once it
    /// answers `/healthz`.
    pub(crate) fn start_with(home: &TestHome, flags: &[&str]) -> Self {
        let port = free_port();
        Self::start_listening(home, &format!("127.0.0.1:{port}"), port, flags)
    }

    /// `bosun up --listen LISTEN` with this home and extra flags, where LISTEN names
    /// `port` on 127.0.0.1 in some way; returns once it answers `/healthz`.
    pub(crate) fn start_listening(
        home: &TestHome,
        listen: &str,
        port: u16,
        flags: &[&str],
    ) -> Self {
        let mut child = client(home)
            .args(["up", "--listen", listen, "--home"])
            .arg(home.path())
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bosun up can be started");
        let (stdout, out_reader) = Captured::read(child.stdout.take().expect("stdout is piped"));
        let (stderr, err_reader) = Captured::read(child.stderr.take().expect("stderr is piped"));
        let mut up = Self {
            child,
            port,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        };
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

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client command pointed at this server, with the token from client.json.
    pub(crate) fn client(&self, home: &TestHome) -> Command {
        let mut command = client(home);
        command.env("BOSUN_SERVER", self.url());
        command
    }

    /// `GET /api/executions/{id}`: the execution with its events.
    pub(crate) fn execution(&self, home: &TestHome, id: &str) -> serde_json::Value {
        let path = format!("/api/executions/{id}");
        let (status, body) = http_get(self.port, &path, Some(&saved_token(home)))
            .unwrap_or_else(|| panic!("the server answers GET {path}"));
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("an execution is JSON")
    }

    /// What it has written to stderr so far.
    pub(crate) fn stderr_so_far(&self) -> String {
        self.stderr.text()
    }

    /// Sends it `signal`.
    pub(crate) fn signal(&self, sig: nix::sys::signal::Signal) {
        signal(self.child.id(), sig);
    }

    /// Waits up to `limit` for it to exit (it must, or the test fails); its exit
    /// code (`None` when killed by a signal), stdout and stderr.
    pub(crate) fn wait(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let exited = wait_for(limit, || self.child.try_wait().ok().flatten().is_some());
        assert!(
            exited,
            "bosun up did not exit within {limit:?}: {}",
            self.output()
        );
        let status = self.child.wait().expect("bosun up was waited for");
        for reader in self.readers.drain(..) {
            reader.join().expect("a pipe reader does not panic");
        }
        (status.code(), self.stdout.text(), self.stderr.text())
    }

    /// Stops it with SIGTERM; it must exit 0 within 30 s. Its stdout.
    pub(crate) fn stop(self) -> String {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let (code, out, err) = self.wait(Duration::from_secs(30));
        assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
        out
    }

    /// Kills it with SIGKILL, as a crash or the OOM killer would, and reaps it.
    pub(crate) fn crash(self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        let (code, out, err) = self.wait(Duration::from_secs(30));
        assert_eq!(
            code, None,
            "killed by SIGKILL\nstdout: {out}\nstderr: {err}"
        );
    }

    /// Everything it printed, after killing it.
    fn output(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        format!(
            "stdout: {}\nstderr: {}",
            self.stdout.text(),
            self.stderr.text()
        )
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
