//! The package store against real parts: files in a temporary directory, and `s3s-fs`,
//! an S3 server that checks every signature. `both` runs each test on both stores.

mod both;
mod disk;
mod s3;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bosun_storage::{Blob, DiskStorage, ObjectKey, PackageStorage, S3Config, S3Storage, Url};
use bosun_test_utils::s3_server::S3Server;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// One MiB.
const MIB: usize = 1024 * 1024;

/// A store and what keeps it alive.
struct Fixture {
    store: PackageStorage,
    /// The disk store's parent directory.
    _dir: Option<TempDir>,
    /// The S3 store's server.
    server: Option<S3Server>,
}

/// A disk store in a fresh directory, its links based at `http://127.0.0.1:8420`.
async fn disk_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let disk = DiskStorage::open(dir.path().join("packages"), base())
        .await
        .expect("a fresh directory opens as a store");
    Fixture {
        store: PackageStorage::Disk(disk),
        _dir: Some(dir),
        server: None,
    }
}

/// An S3 store on a fresh `s3s-fs`.
fn s3_fixture() -> Fixture {
    let server = S3Server::start();
    Fixture {
        store: PackageStorage::S3(s3_storage(&server)),
        _dir: None,
        server: Some(server),
    }
}

/// The store on `server`'s bucket.
fn s3_storage(server: &S3Server) -> S3Storage {
    S3Storage::new(S3Config {
        bucket: server.bucket().to_owned(),
        endpoint: Some(Url::parse(&server.endpoint()).expect("the server's URL")),
        region: server.region().to_owned(),
        access_key_id: server.access_key().to_owned(),
        secret_access_key: server.secret_key().to_owned(),
        allow_http: true,
    })
    .expect("the test server's configuration is complete")
}

/// The public base of the disk stores' links.
fn base() -> Url {
    Url::parse("http://127.0.0.1:8420").expect("a URL")
}

fn key(s: &str) -> ObjectKey {
    ObjectKey::new(s).expect("a valid key")
}

/// `len` bytes of the test pattern: a xorshift sequence, so that no two parts of a
/// large object look alike and a misplaced part shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// SHA-256 worked out apart from the store, as hex.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Everything a blob holds, checked against its announced size.
async fn read_all(mut blob: Blob) -> Vec<u8> {
    let mut bytes = Vec::new();
    blob.read_to_end(&mut bytes)
        .await
        .expect("a stored object reads back");
    assert_eq!(
        blob.size(),
        bytes.len() as u64,
        "the blob's size is its length"
    );
    bytes
}

/// A body that hands out `bytes` in reads of at most 100 KiB and then, if `fail`,
/// breaks off with an error instead of ending.
struct Body {
    bytes: Vec<u8>,
    at: usize,
    fail: bool,
}

impl Body {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            at: 0,
            fail: false,
        }
    }

    fn breaking_off(bytes: Vec<u8>) -> Self {
        Self {
            fail: true,
            ..Self::new(bytes)
        }
    }
}

impl AsyncRead for Body {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let left = self.bytes.len() - self.at;
        if left == 0 && self.fail {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the uploader went away",
            )));
        }
        let n = left.min(buf.remaining()).min(100 * 1024);
        let at = self.at;
        buf.put_slice(&self.bytes[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("found under dir");
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}
