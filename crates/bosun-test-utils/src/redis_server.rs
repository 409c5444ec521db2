//! A real `redis-server` for a test, on a free loopback port, with nothing saved to
//! disk: killed when dropped, and restartable (empty) on the same port, as a Redis
//! without persistence comes back after a crash.
//!
//! Without `redis-server` on `PATH`, `REDIS_URL` names a server to use instead (which
//! cannot be restarted, so tests that need that skip); without either, the test fails
//! saying how to get one.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a test says when it has no Redis.
pub const REDIS_HELP: &str = "these tests need Redis: install redis-server (e.g. \
`apt-get install redis-server`; the tests start their own on a free port), or set \
REDIS_URL=redis://HOST:PORT to use a running server (then the restart test is skipped)";

/// A Redis server for one test.
pub struct RedisServer {
    kind: Kind,
    namespace: String,
}

enum Kind {
    /// Ours: started by the test, on `port`.
    Own {
        program: PathBuf,
        port: u16,
        child: Option<Child>,
    },
    /// Someone else's, from `REDIS_URL`: shared, so keys need the namespace.
    External { url: String },
}

/// `name` in a directory of `PATH`, if there is one.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A port nothing listens on right now: bound, read, released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port can be bound")
        .port()
}

/// True when a Redis server answers `PING` on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

/// Starts `redis-server` on `port`; `None` if it did not answer (the port was taken).
fn spawn(program: &PathBuf, port: u16) -> Option<Child> {
    let child = Command::new(program)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server, found on PATH, can be started");
    answering(child, || answers(port))
}

/// `child`, a server just started, once `answers` says it serves; `None` (and the
/// child killed) if it exits first or does not answer within ten seconds.
pub(crate) fn answering(mut child: Child, answers: impl Fn() -> bool) -> Option<Child> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if answers() {
            return Some(child);
        }
        if child.try_wait().ok().flatten().is_some() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl RedisServer {
    /// Starts a server (or takes `REDIS_URL`'s); panics with [`REDIS_HELP`] if neither
    /// is there.
    pub fn start() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let namespace = format!(
            "t{}-{}-{}:",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default()
        );
        if let Some(program) = on_path("redis-server") {
            // Another test may take the free port before the server binds it: try again.
            for _ in 0..5 {
                let port = free_port();
                if let Some(child) = spawn(&program, port) {
                    return Self {
                        kind: Kind::Own {
                            program,
                            port,
                            child: Some(child),
                        },
                        namespace,
                    };
                }
            }
            panic!("redis-server did not start on a free port in 5 tries");
        }
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.trim().is_empty() => Self {
                kind: Kind::External { url },
                namespace,
            },
            _ => panic!("{REDIS_HELP}"),
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Own { port, .. } => format!("redis://127.0.0.1:{port}"),
            Kind::External { url } => url.clone(),
        }
    }

    /// True for a server this test started (and may kill and restart).
    pub fn is_own(&self) -> bool {
        matches!(self.kind, Kind::Own { .. })
    }

    /// A prefix unique to this test, for names on a shared server: empty on our own
    /// server, where the default names are the ones worth testing.
    pub fn namespace(&self) -> &str {
        if self.is_own() { "" } else { &self.namespace }
    }

    /// Kills the server (SIGKILL): everything in it is lost.
    pub fn kill(&mut self) {
        let Kind::Own { child, .. } = &mut self.kind else {
            panic!("only a server the test started can be killed");
        };
        if let Some(mut child) = child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let Kind::Own {
            program,
            port,
            child,
        } = &mut self.kind
        else {
            unreachable!("kill checked that the server is ours");
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.is_none() && Instant::now() < deadline {
            *child = spawn(program, *port);
        }
        assert!(
            child.is_some(),
            "redis-server did not start again on port {port}"
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Kind::Own {
            child: Some(child), ..
        } = &mut self.kind
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
