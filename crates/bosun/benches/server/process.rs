//! `bosun up` in a child process, as a user runs it: the real binary, its own data
//! directory, a free port, the admin token read from `client.json`, stopped with
//! SIGTERM. Its memory and CPU time are read from `/proc`. And `bosun agent`, the
//! same way, connected to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::Fallible;

/// How long a server gets to start or to stop.
const PATIENCE: Duration = Duration::from_secs(60);

/// The flags of `bosun up` the bench sets.
pub(crate) struct UpFlags {
    pub(crate) max_concurrent: usize,
    pub(crate) history_limit: i64,
    /// Any other flags, as given.
    pub(crate) more: Vec<String>,
}

/// A running `bosun up`; killed if dropped before [`ServerProcess::stop`].
pub(crate) struct ServerProcess {
    child: Option<Child>,
    pub(crate) url: String,
    pub(crate) token: String,
    stderr: PathBuf,
}

/// A process's resident memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    /// `VmRSS`, bytes.
    pub(crate) rss: u64,
    /// `VmHWM`, the peak of `VmRSS` so far, bytes.
    pub(crate) peak: u64,
}

impl ServerProcess {
    /// Starts `bosun up` on `127.0.0.1:0` with `home` as its data directory and waits
    /// until it serves. Its standard error goes to `home.stderr` beside `home`.
    pub(crate) fn start(home: &Path, flags: &UpFlags) -> Fallible<Self> {
        std::fs::create_dir_all(home)?;
        let stderr = home.with_extension("stderr");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .map_err(|e| format!("creating {}: {e}", stderr.display()))?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_bosun"))
            .args(["up", "--listen", "127.0.0.1:0", "--home"])
            .arg(home)
            .args(["--max-concurrent", &flags.max_concurrent.to_string()])
            .args(["--history-limit", &flags.history_limit.to_string()])
            .args(&flags.more)
            // The server's own defaults, whatever this shell sets.
            .env_remove("BOSUN_DATABASE_URL")
            .env_remove("BOSUN_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", env!("CARGO_BIN_EXE_bosun")))?;
        let stdout = child
            .stdout
            .take()
            .expect("stdout is piped by the command above");
        // Reads the server's stdout to its end, so that it never blocks on a full
        // pipe, and hands over the URL it says it serves.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = served_url(&line) {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let mut server = Self {
            child: Some(child),
            url: String::new(),
            token: String::new(),
            stderr,
        };
        server.url = rx
            .recv_timeout(PATIENCE)
            .map_err(|_| server.failed("did not say where it serves"))?;
        server.token = read_token(home).map_err(|e| server.failed(&e.to_string()))?;
        Ok(server)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .expect("the child is taken only when the server stops")
            .id()
    }

    /// Its memory now.
    pub(crate) fn memory(&self) -> Fallible<Memory> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        let field = |name: &str| -> Fallible<u64> {
            let line = status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .ok_or(format!("{path} has no {name}"))?;
            let kib: u64 = line
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .map_err(|e| format!("{path}: {name} {line:?}: {e}"))?;
            Ok(kib * 1024)
        };
        Ok(Memory {
            rss: field("VmRSS:")?,
            peak: field("VmHWM:")?,
        })
    }

    /// Its CPU time so far, user and system, all threads, in seconds.
    pub(crate) fn cpu_seconds(&self) -> Fallible<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }

    /// Stops it as a user would (SIGTERM) and waits until it has exited cleanly.
    pub(crate) fn stop(mut self) -> Fallible<()> {
        let mut child = self
            .child
            .take()
            .expect("the child is taken only here, and stop consumes the server");
        terminate(&mut child, "bosun up", &self.stderr)
    }

    /// An error saying what went wrong, with the end of the server's stderr.
    fn failed(&mut self, what: &str) -> String {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        format!("bosun up {what}; its stderr: {}", tail(&self.stderr))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running `bosun agent`; killed if dropped before [`AgentProcess::stop`].
pub(crate) struct AgentProcess {
    child: Option<Child>,
    stderr: PathBuf,
}

impl AgentProcess {
    /// Starts `bosun agent --server SERVER --home HOME`, the machine key in
    /// `BOSUN_MACHINE_KEY` (where the agent's documentation says to put it: a flag
    /// shows in the process list). Its standard error goes to `home.stderr`.
    pub(crate) fn start(server: &str, machine_key: &str, home: &Path) -> Fallible<Self> {
        std::fs::create_dir_all(home)?;
        let stderr = home.with_extension("stderr");
        let log = std::fs::File::create(&stderr)
            .map_err(|e| format!("creating {}: {e}", stderr.display()))?;
        let child = Command::new(env!("CARGO_BIN_EXE_bosun"))
            .args(["agent", "--server", server, "--home"])
            .arg(home)
            .env("BOSUN_MACHINE_KEY", machine_key)
            .env_remove("BOSUN_SERVER")
            .env_remove("BOSUN_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {} agent: {e}", env!("CARGO_BIN_EXE_bosun")))?;
        Ok(Self {
            child: Some(child),
            stderr,
        })
    }

    /// An error if it has exited, with the end of its stderr.
    pub(crate) fn check_running(&mut self) -> Fallible<()> {
        let child = self
            .child
            .as_mut()
            .expect("the child is taken only when the agent stops");
        match child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(format!(
                "bosun agent ended with {status}; its stderr: {}",
                tail(&self.stderr)
            )
            .into()),
        }
    }

    /// Stops it as a user would (SIGTERM) and waits until it has exited cleanly.
    pub(crate) fn stop(mut self) -> Fallible<()> {
        let mut child = self
            .child
            .take()
            .expect("the child is taken only here, and stop consumes the agent");
        terminate(&mut child, "bosun agent", &self.stderr)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `child` SIGTERM and waits until it has exited, which must be with success.
fn terminate(child: &mut Child, what: &str, stderr: &Path) -> Fallible<()> {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in an i32"));
    if let Err(e) = kill(pid, Signal::SIGTERM) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("signalling {what}: {e}").into());
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            return Err(format!("{what} ended with {status}; its stderr: {}", tail(stderr)).into());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not stop within a minute of SIGTERM").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Clock ticks a second in `/proc/PID/stat`: Linux's `USER_HZ`, 100 on every
/// architecture's user-space ABI (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The CPU time, user and system, of the process whose `stat` file is `path`, in
/// seconds: fields 14 and 15 (`utime`, `stime`), which count every thread, also those
/// that have ended.
pub(crate) fn cpu_seconds(path: &str) -> Fallible<f64> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or(format!("{path} has no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |index: usize| -> Fallible<f64> {
        let field = fields
            .get(index)
            .ok_or(format!("{path} is too short: {stat:?}"))?;
        let ticks: u64 = field
            .parse()
            .map_err(|e| format!("{path}: field {}: {field:?}: {e}", index + 3))?;
        Ok(ticks as f64)
    };
    // `rest` starts at field 3 (the state): utime is field 14, stime field 15.
    Ok((tick(11)? + tick(12)?) / TICKS_PER_SECOND)
}

/// The URL in `bosun: serving http://127.0.0.1:PORT (data in …)`.
fn served_url(line: &str) -> Option<&str> {
    line.strip_prefix("bosun: serving ")?
        .split_whitespace()
        .next()
}

/// The admin token from `client.json`, which the first start writes just after it
/// says where it serves.
fn read_token(home: &Path) -> Fallible<String> {
    let path = home.join("client.json");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let read = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|file| file["token"].as_str().map(str::to_owned));
        match read {
            Some(token) => return Ok(token),
            None if Instant::now() > deadline => {
                return Err(format!("{} holds no token", path.display()).into());
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The last lines of a file, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(10);
    match lines[start..].join("\n") {
        t if t.trim().is_empty() => "(empty)".to_owned(),
        t => t,
    }
}
