//! Where package bytes live and how machines download them.
//!
//! Users upload bot ZIPs; machines fetch them through links that expire. Embedded, the
//! bytes are files in a directory and bosun serves the links itself, signed with a
//! secret of its own ([`DiskStorage`]); in a fleet they are objects in an S3-compatible
//! bucket with SigV4-presigned links ([`S3Storage`]). [`PackageStorage`] is either, with
//! the same operations: objects are streamed in and out, never held whole in memory,
//! and never replaced once stored.
//!
//! ```no_run
//! # async fn example() -> Result<(), bosun_storage::StorageError> {
//! use bosun_storage::{DiskStorage, ObjectKey, PackageStorage};
//! use std::time::Duration;
//!
//! let base = url::Url::parse("http://127.0.0.1:8420").expect("a URL");
//! let store = PackageStorage::Disk(DiskStorage::open("/var/lib/bosun/packages", base).await?);
//! let key = ObjectKey::new("acme/hello-bot/1.0.0.zip")?;
//! let stored = store.put(&key, tokio::fs::File::open("hello-bot.zip").await.expect("a file")).await?;
//! let link = store.link(&key, Duration::from_secs(600), chrono::Utc::now()).await?;
//! println!("{} bytes, sha256 {}, at {} until {}", stored.size, stored.sha256, link.url, link.expires_at);
//! # Ok(())
//! # }
//! ```

mod blob;
mod disk;
mod error;
mod key;
mod link;
mod place;
mod s3;
mod secret;
mod stored;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

pub use blob::Blob;
pub use disk::DiskStorage;
pub use error::{LinkError, LinkPart, Result, StorageError};
pub use key::{KeyFault, ObjectKey};
pub use link::{Link, MAX_LIFETIME};
pub use s3::{S3Config, S3Storage};
pub use stored::{Sha256, Stored};
pub use url::Url;

/// The package store, in a directory or in a bucket.
///
/// An enum rather than a trait: there are two stores and no third is planned, the
/// server needs to know which one it has (only disk links come back to it, through
/// [`DiskStorage::verify`]), and the async methods need no boxing.
#[derive(Debug)]
pub enum PackageStorage {
    /// Files in a directory, links served and checked by bosun.
    Disk(DiskStorage),
    /// Objects in an S3-compatible bucket, presigned links.
    S3(S3Storage),
}

impl PackageStorage {
    /// Stores `body` under `key`, streaming it, and reports its size and SHA-256;
    /// fails with [`StorageError::Exists`] if the key is taken (nothing is replaced).
    pub async fn put(&self, key: &ObjectKey, body: impl AsyncRead + Unpin) -> Result<Stored> {
        match self {
            Self::Disk(disk) => disk.put(key, body).await,
            Self::S3(s3) => s3.put(key, body).await,
        }
    }

    /// Stores the finished file at `path` under `key`, as [`PackageStorage::put`] would,
    /// and reports `known`: the size and SHA-256 the caller counted as it wrote the
    /// file. A directory store takes the file itself (a hard link, when it lies on the
    /// same filesystem), so its bytes are not written or hashed a second time; the
    /// caller's name for it stays, and goes when the caller removes it.
    pub async fn put_file(&self, key: &ObjectKey, path: &Path, known: Stored) -> Result<Stored> {
        match self {
            Self::Disk(disk) => disk.put_file(key, path, known).await,
            Self::S3(s3) => {
                let file = open_file(path).await?;
                s3.put(key, tokio::io::BufReader::new(file)).await
            }
        }
    }

    /// The bytes stored under `key`, as a stream; [`StorageError::NotFound`] if none.
    pub async fn get(&self, key: &ObjectKey) -> Result<Blob> {
        match self {
            Self::Disk(disk) => disk.get(key).await,
            Self::S3(s3) => s3.get(key).await,
        }
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match self {
            Self::Disk(disk) => disk.exists(key).await,
            Self::S3(s3) => s3.exists(key).await,
        }
    }

    /// Removes the object under `key`; nothing there is not an error.
    pub async fn delete(&self, key: &ObjectKey) -> Result<()> {
        match self {
            Self::Disk(disk) => disk.delete(key).await,
            Self::S3(s3) => s3.delete(key).await,
        }
    }

    /// A download link to `key` valid for `lifetime` (1 second to 7 days), and when it
    /// expires. Disk links count from `now`; S3 links from this machine's clock, which
    /// SigV4 writes into the link (`expires_at` is read back from it).
    pub async fn link(
        &self,
        key: &ObjectKey,
        lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<Link> {
        match self {
            Self::Disk(disk) => disk.link(key, lifetime, now),
            Self::S3(s3) => s3.link(key, lifetime).await,
        }
    }
}

/// Opens `path` for reading.
async fn open_file(path: &Path) -> Result<tokio::fs::File> {
    tokio::fs::File::open(path)
        .await
        .map_err(|source| StorageError::Io {
            about: "open",
            path: path.to_owned(),
            source,
        })
}
