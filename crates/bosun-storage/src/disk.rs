//! Packages as files in a directory (under bosun's data directory when embedded), one
//! file per key at the key's relative path, and download links that bosun itself
//! serves and checks with [`DiskStorage::verify`].

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;

use crate::blob::Blob;
use crate::error::{LinkError, Result, StorageError};
use crate::key::ObjectKey;
use crate::link::{self, Link, LinkSecret};
use crate::place::{Placed, Staged};
use crate::secret;
use crate::stored::{Stored, Tally};

/// How much of an upload is read and written at a time.
const CHUNK: usize = 64 * 1024;

/// A package store in a local directory.
#[derive(Debug)]
pub struct DiskStorage {
    dir: PathBuf,
    public_base: Url,
    secret: LinkSecret,
}

impl DiskStorage {
    /// Opens the store in `dir`, creating the directory and its link secret on first
    /// use. Links point at `{public_base}/packages/blob/{key}`; `public_base` is the
    /// server's address as machines reach it, `http` or `https`, possibly with a path.
    pub async fn open(dir: impl Into<PathBuf>, public_base: Url) -> Result<Self> {
        let dir = dir.into();
        if !matches!(public_base.scheme(), "http" | "https")
            || public_base.query().is_some()
            || public_base.fragment().is_some()
        {
            return Err(StorageError::BadPublicBase { url: public_base });
        }
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|source| StorageError::Io {
                about: "create the directory",
                path: dir.clone(),
                source,
            })?;
        let secret = secret::load_or_create(&dir).await?;
        Ok(Self {
            dir,
            public_base,
            secret,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`: the key's segments under the directory, nothing else (a key
    /// has no `..`, no root and no hidden segment).
    fn path(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.dir.clone();
        path.extend(key.segments());
        path
    }

    /// The file of `key`, with its directory made; [`StorageError::Exists`] if `key` is
    /// taken already.
    async fn free_path(&self, key: &ObjectKey) -> Result<PathBuf> {
        let path = self.path(key);
        if self.exists(key).await? {
            return Err(StorageError::Exists { key: key.clone() });
        }
        let parent = path
            .parent()
            .expect("a key's file lies inside the store's directory");
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| StorageError::Io {
                about: "create the directory",
                path: parent.to_owned(),
                source,
            })?;
        Ok(path)
    }

    /// Stores `body` under `key`, streaming it to a temporary file beside the final one
    /// and linking that into place; fails with [`StorageError::Exists`] if `key` is
    /// taken, also when another `put` takes it while this one streams.
    pub async fn put(&self, key: &ObjectKey, mut body: impl AsyncRead + Unpin) -> Result<Stored> {
        let path = self.free_path(key).await?;
        let mut staged = Staged::create(&path, 0o644).await?;
        let mut tally = Tally::default();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = body
                .read(&mut buf)
                .await
                .map_err(|source| StorageError::Body { source })?;
            if n == 0 {
                break;
            }
            tally.add(&buf[..n]);
            staged.write(&buf[..n]).await?;
        }
        match staged.place(&path).await? {
            Placed::Done => Ok(tally.finish()),
            Placed::Taken => Err(StorageError::Exists { key: key.clone() }),
        }
    }

    /// Stores the finished file at `path` under `key` by linking it into place, after
    /// flushing it to disk; reports `known`, the size and SHA-256 the caller counted.
    /// A file on another filesystem is copied as [`DiskStorage::put`] copies a body.
    /// [`StorageError::Exists`] if `key` is taken.
    pub async fn put_file(&self, key: &ObjectKey, file: &Path, known: Stored) -> Result<Stored> {
        let path = self.free_path(key).await?;
        let parent = path
            .parent()
            .expect("a key's file lies inside the store's directory");
        let io = |about, at: &Path| {
            let at = at.to_owned();
            move |source| StorageError::Io {
                about,
                path: at,
                source,
            }
        };
        let opened = tokio::fs::File::open(file)
            .await
            .map_err(io("open", file))?;
        opened.sync_all().await.map_err(io("flush", file))?;
        match tokio::fs::hard_link(file, &path).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(StorageError::Exists { key: key.clone() });
            }
            Err(e) if e.kind() == ErrorKind::CrossesDevices => {
                return self.put(key, tokio::io::BufReader::new(opened)).await;
            }
            Err(e) => return Err(io("link into place", &path)(e)),
        }
        // The new name survives a crash only once its directory is on disk too.
        let sync = async { tokio::fs::File::open(parent).await?.sync_all().await };
        sync.await.map_err(io("flush the directory", parent))?;
        Ok(known)
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &ObjectKey) -> Result<Blob> {
        let path = self.path(key);
        let not_found = || StorageError::NotFound { key: key.clone() };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Err(not_found()),
            Err(source) => {
                return Err(StorageError::Io {
                    about: "open",
                    path,
                    source,
                });
            }
        };
        let meta = file.metadata().await.map_err(|source| StorageError::Io {
            about: "read the metadata of",
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(not_found());
        }
        Ok(Blob::new(meta.len(), file))
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        let path = self.path(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if is_absent(&e) => Ok(false),
            Err(source) => Err(StorageError::Io {
                about: "look up",
                path,
                source,
            }),
        }
    }

    /// Removes the object under `key`; nothing there is not an error.
    pub async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if is_absent(&e) || e.kind() == ErrorKind::IsADirectory => Ok(()),
            Err(source) => Err(StorageError::Io {
                about: "remove",
                path,
                source,
            }),
        }
    }

    /// A link to download `key` for `lifetime` from `now`, signed with the store's
    /// secret. The object need not exist yet.
    pub fn link(&self, key: &ObjectKey, lifetime: Duration, now: DateTime<Utc>) -> Result<Link> {
        link::disk_link(&self.secret, &self.public_base, key, lifetime, now)
    }

    /// Checks a link's `expires` and `signature` query values for `key` (from its
    /// path) at `now`. The signature is compared in constant time.
    pub fn verify(
        &self,
        key: &ObjectKey,
        expires: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        link::verify(&self.secret, key, expires, signature, now)
    }
}

/// True for the errors that mean "no file by that name": none there, or a file where
/// the key's path needs a directory.
fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}
