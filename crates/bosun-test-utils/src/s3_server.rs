//! A real S3 server for a test: `s3s-fs`, which keeps objects as files and checks
//! every request's SigV4 signature (presigned links included), on a free loopback port
//! with a temporary root directory, fixed test keys and one empty bucket. Killed when
//! dropped.
//!
//! Without `s3s-fs` on `PATH`, the test fails saying how to get it ([`S3_HELP`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::redis_server::{answering, free_port, on_path};

/// What a test says when it has no S3 server.
pub const S3_HELP: &str = "these tests need s3s-fs, a small S3 server: `cargo install \
s3s-fs@0.14.1 --features binary --locked` (later versions need a newer Rust) and put its \
bin directory on PATH (.ci/run does both)";

const ACCESS_KEY: &str = "bosun-test";
const SECRET_KEY: &str = "bosun-test-secret-key";
const REGION: &str = "us-east-1";
const BUCKET: &str = "packages";

/// An S3 server for one test.
pub struct S3Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

/// True when an HTTP server answers on `port` (any status: unsigned requests are refused).
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = [0u8; 9];
    stream.read_exact(&mut answer).is_ok() && &answer == b"HTTP/1.1 "
}

/// Starts `s3s-fs` on `port` over `root`; `None` if it did not answer (the port was taken).
fn spawn(program: &Path, port: u16, root: &Path) -> Option<Child> {
    let child = Command::new(program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(root)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs, found on PATH, can be started");
    answering(child, || answers(port))
}

impl S3Server {
    /// Starts a server with an empty bucket ([`S3Server::bucket`]); panics with
    /// [`S3_HELP`] without `s3s-fs` on `PATH`.
    pub fn start() -> Self {
        let Some(program) = on_path("s3s-fs") else {
            panic!("{S3_HELP}");
        };
        let root = tempfile::tempdir().expect("a temporary directory can be made");
        // s3s-fs keeps a bucket as a directory under its root.
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket's directory can be made");
        // Another test may take the free port before the server binds it: try again.
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(&program, port, root.path()) {
                return Self { child, port, root };
            }
        }
        panic!("s3s-fs did not start on a free port in 5 tries");
    }

    /// Its URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access key id it accepts.
    pub fn access_key(&self) -> &str {
        ACCESS_KEY
    }

    /// The secret access key it accepts.
    pub fn secret_key(&self) -> &str {
        SECRET_KEY
    }

    /// A region to sign with (the server takes any).
    pub fn region(&self) -> &str {
        REGION
    }

    /// The bucket made for the test.
    pub fn bucket(&self) -> &str {
        BUCKET
    }

    /// The directory holding the bucket's objects, one file per key at the key's path.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
