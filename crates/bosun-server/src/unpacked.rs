//! Extracted copies of package versions, so that a job naming a package runs from a
//! folder as a `path` bot does, and each version is downloaded and unpacked once.
//!
//! A copy lives at `{home}/packages/unpacked/{package id}/{sha256}`. Both parts come
//! from the store's record, never from what a user typed, and each is checked for
//! its shape (a UUID, 64 hex digits) before it names a folder. Keyed by checksum, a
//! version deleted and uploaded again with other bytes gets a new folder: a stale
//! copy is never reused.
//!
//! Making a copy streams the object from the package storage into a temporary file
//! (never whole in memory), refuses it unless its SHA-256 is the one recorded at
//! upload, then extracts it with [`bosun_package::extract`], which writes a
//! temporary folder and renames it into place: a copy that exists is complete. Two
//! executions starting at once each download and extract; the second rename finds
//! the folder made ([`PackageError::AlreadyExtracted`]) and uses that copy.

use std::io;
use std::path::{Path, PathBuf};

use bosun_package::{Limits, PackageError};
use bosun_storage::{ObjectKey, PackageStorage, StorageError};
use bosun_store::PackageVersion;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// How much of a download is read and written at a time.
const CHUNK: usize = 64 * 1024;

/// Why a package version could not be made ready to run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum UnpackError {
    /// The record's package id or checksum cannot name a folder.
    #[error("the record of this version is not usable: its {field} {value:?} is malformed")]
    BadRecord {
        /// `package id`, `sha256` or `object key`.
        field: &'static str,
        /// The value recorded.
        value: String,
    },
    /// The storage has no object under the version's key.
    #[error("its archive is missing from the package storage")]
    Missing,
    /// The storage could not be read.
    #[error("the package storage could not be read")]
    Storage {
        /// The storage's error.
        #[source]
        source: StorageError,
    },
    /// The object holds more bytes than were recorded at upload.
    #[error("its stored archive is larger than the {recorded} bytes recorded at upload")]
    TooLong {
        /// The size recorded.
        recorded: u64,
    },
    /// The object's bytes are not those recorded at upload.
    #[error("its stored archive's SHA-256 is {found}, not {recorded} as recorded at upload")]
    Checksum {
        /// The digest recorded.
        recorded: String,
        /// The digest of the bytes read.
        found: String,
    },
    /// The archive is not one that can be extracted.
    #[error("its archive cannot be extracted")]
    Archive {
        /// Why.
        #[source]
        source: PackageError,
    },
    /// A file or folder of the copies could not be used.
    #[error("could not {about} {}", .path.display())]
    Io {
        /// What was being done.
        about: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
}

/// The extracted copies in a data directory.
#[derive(Debug, Clone)]
pub(crate) struct Unpacked {
    root: PathBuf,
}

impl Unpacked {
    /// The copies kept under `home`, the data directory.
    pub(crate) fn new(home: &Path) -> Self {
        Self {
            root: home.join("packages").join("unpacked"),
        }
    }

    /// Removes what an extraction cut short by a crash left: hidden downloads in the
    /// root, and hidden partial folders beside the copies. Only for a server that
    /// holds the data directory, so that no extraction is under way.
    pub(crate) async fn sweep(&self) {
        let mut dirs = vec![self.root.clone()];
        if let Ok(mut packages) = tokio::fs::read_dir(&self.root).await {
            while let Ok(Some(entry)) = packages.next_entry().await {
                if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
                    dirs.push(entry.path());
                }
            }
        }
        for dir in dirs {
            let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
                continue;
            };
            while let Ok(Some(entry)) = entries.next_entry().await {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let removed = match entry.file_type().await {
                    Ok(t) if t.is_dir() => tokio::fs::remove_dir_all(&path).await,
                    _ => tokio::fs::remove_file(&path).await,
                };
                if let Err(e) = removed {
                    tracing::warn!(path = %path.display(), "could not remove a leftover: {e}");
                }
            }
        }
    }

    /// The folder of `version` of the package `package_id` if it is extracted already.
    pub(crate) async fn ready(
        &self,
        package_id: &str,
        version: &PackageVersion,
    ) -> Result<Option<PathBuf>, UnpackError> {
        let dir = self.dir(package_id, version)?;
        Ok(is_dir(&dir).await.then_some(dir))
    }

    /// The folder of `version` of the package `package_id`, downloaded from `storage`,
    /// checked and extracted within `limits` unless it is there already.
    pub(crate) async fn unpack(
        &self,
        storage: &PackageStorage,
        limits: &Limits,
        package_id: &str,
        version: &PackageVersion,
    ) -> Result<PathBuf, UnpackError> {
        let dir = self.dir(package_id, version)?;
        if is_dir(&dir).await {
            return Ok(dir);
        }
        let key = ObjectKey::new(version.object_key.clone())
            .map_err(|_| bad_record("object key", &version.object_key))?;
        let download = self.download(storage, &key, version).await?;
        let parent = dir
            .parent()
            .expect("a copy's folder is below the package's folder")
            .to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(io_error("create the folder", &parent))?;
        let (limits, target) = (*limits, dir.clone());
        let path = download.path.clone();
        let extracted = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).map_err(io_error("open", &path))?;
            match bosun_package::extract(io::BufReader::new(file), &limits, &target) {
                Ok(_) | Err(PackageError::AlreadyExtracted { .. }) => Ok(()),
                Err(source) => Err(UnpackError::Archive { source }),
            }
        })
        .await;
        // The download goes once the extraction is done with it.
        drop(download);
        match extracted {
            Ok(result) => result.map(|()| dir),
            Err(join) => Err(UnpackError::Io {
                about: "extract the archive into",
                path: dir,
                source: io::Error::other(join.to_string()),
            }),
        }
    }

    /// The folder of a version's copy, named from its record once checked.
    fn dir(&self, package_id: &str, version: &PackageVersion) -> Result<PathBuf, UnpackError> {
        let id = Uuid::try_parse(package_id).map_err(|_| bad_record("package id", package_id))?;
        let sha256 = &version.sha256;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad_record("sha256", sha256));
        }
        Ok(self
            .root
            .join(id.hyphenated().to_string())
            .join(sha256.to_ascii_lowercase()))
    }

    /// Streams the object under `key` into a temporary file and checks it against
    /// `version`'s size and SHA-256; the file is removed when the result is dropped.
    async fn download(
        &self,
        storage: &PackageStorage,
        key: &ObjectKey,
        version: &PackageVersion,
    ) -> Result<Download, UnpackError> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(io_error("create the folder", &self.root))?;
        let mut blob = storage.get(key).await.map_err(|source| match source {
            StorageError::NotFound { .. } => UnpackError::Missing,
            source => UnpackError::Storage { source },
        })?;
        if blob.size() > version.size {
            return Err(UnpackError::TooLong {
                recorded: version.size,
            });
        }
        let download = Download {
            path: self.root.join(format!(".download-{}", Uuid::new_v4())),
        };
        let mut file = tokio::fs::File::create_new(&download.path)
            .await
            .map_err(io_error("create", &download.path))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; CHUNK];
        let mut read = 0u64;
        loop {
            let n = blob
                .read(&mut buffer)
                .await
                .map_err(|source| UnpackError::Storage {
                    source: StorageError::Body { source },
                })?;
            if n == 0 {
                break;
            }
            read += n as u64;
            // A size that lied up front is not streamed to the end.
            if read > version.size {
                return Err(UnpackError::TooLong {
                    recorded: version.size,
                });
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n])
                .await
                .map_err(io_error("write", &download.path))?;
        }
        file.flush()
            .await
            .map_err(io_error("write", &download.path))?;
        let found = bosun_storage::Sha256(hasher.finalize().into()).to_hex();
        if !found.eq_ignore_ascii_case(&version.sha256) {
            return Err(UnpackError::Checksum {
                recorded: version.sha256.to_ascii_lowercase(),
                found,
            });
        }
        Ok(download)
    }
}

/// A downloaded archive, removed when dropped.
struct Download {
    path: PathBuf,
}

impl Drop for Download {
    fn drop(&mut self) {
        // Best effort: a file left by a failure here is a dot file nothing reads.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bad_record(field: &'static str, value: &str) -> UnpackError {
    UnpackError::BadRecord {
        field,
        value: value.to_owned(),
    }
}

fn io_error(about: &'static str, path: &Path) -> impl FnOnce(io::Error) -> UnpackError {
    let path = path.to_path_buf();
    move |source| UnpackError::Io {
        about,
        path,
        source,
    }
}

async fn is_dir(path: &Path) -> bool {
    tokio::fs::metadata(path)
        .await
        .is_ok_and(|meta| meta.is_dir())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use bosun_storage::{DiskStorage, Url};
    use chrono::Utc;

    use super::*;

    const PACKAGE_ID: &str = "0190a7e2-7d1c-7aa0-8000-0123456789ab";

    /// A data directory whose package storage holds a bot archive under `key`.
    struct Fixture {
        home: tempfile::TempDir,
        storage: PackageStorage,
        version: PackageVersion,
    }

    impl Fixture {
        async fn new() -> Self {
            let home = tempfile::tempdir().unwrap();
            let bot = tempfile::tempdir().unwrap();
            std::fs::write(bot.path().join("bot.py"), "print('hello')\n").unwrap();
            let mut zip = Cursor::new(Vec::new());
            bosun_package::pack_dir(bot.path(), &mut zip).unwrap();
            let storage = PackageStorage::Disk(
                DiskStorage::open(
                    home.path().join("packages"),
                    Url::parse("http://127.0.0.1:1").unwrap(),
                )
                .await
                .unwrap(),
            );
            let key = "default/hello/1.0.0.zip";
            let stored = storage
                .put(&ObjectKey::new(key).unwrap(), zip.into_inner().as_slice())
                .await
                .unwrap();
            let version = PackageVersion {
                version: "1.0.0".parse().unwrap(),
                size: stored.size,
                sha256: stored.sha256.to_hex(),
                object_key: key.to_owned(),
                uploaded_at: Utc::now(),
            };
            Self {
                home,
                storage,
                version,
            }
        }

        fn unpacked(&self) -> Unpacked {
            Unpacked::new(self.home.path())
        }

        fn package_dir(&self) -> PathBuf {
            self.home.path().join("packages/unpacked").join(PACKAGE_ID)
        }

        async fn unpack(&self) -> Result<PathBuf, UnpackError> {
            let limits = Limits::default();
            self.unpacked()
                .unpack(&self.storage, &limits, PACKAGE_ID, &self.version)
                .await
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_version_is_extracted_once_under_its_checksum_even_by_two_at_once() {
        let fixture = Fixture::new().await;
        let unpacked = fixture.unpacked();
        assert!(
            unpacked
                .ready(PACKAGE_ID, &fixture.version)
                .await
                .unwrap()
                .is_none()
        );
        let (a, b) = tokio::join!(fixture.unpack(), fixture.unpack());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a, b);
        assert_eq!(a, fixture.package_dir().join(&fixture.version.sha256));
        assert_eq!(
            std::fs::read_to_string(a.join("bot.py")).unwrap(),
            "print('hello')\n"
        );
        assert_eq!(
            names(&fixture.package_dir()),
            std::slice::from_ref(&fixture.version.sha256),
            "one copy, no partial folder left"
        );
        assert_eq!(
            names(&fixture.home.path().join("packages/unpacked")),
            [PACKAGE_ID],
            "no download left"
        );
        let ready = unpacked.ready(PACKAGE_ID, &fixture.version).await.unwrap();
        assert_eq!(ready, Some(a.clone()));
        // The copy is used as it is: the storage is not read again.
        fixture
            .storage
            .delete(&ObjectKey::new(fixture.version.object_key.as_str()).unwrap())
            .await
            .unwrap();
        assert_eq!(fixture.unpack().await.unwrap(), a);
    }

    #[tokio::test]
    async fn an_archive_changed_after_upload_is_refused_and_nothing_is_extracted() {
        let fixture = Fixture::new().await;
        let file = fixture
            .home
            .path()
            .join("packages")
            .join(&fixture.version.object_key);
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let error = fixture.unpack().await.unwrap_err();
        let UnpackError::Checksum { recorded, found } = &error else {
            panic!("a checksum mismatch: {error:?}")
        };
        assert_eq!(recorded, &fixture.version.sha256);
        assert_ne!(found, recorded);
        assert!(!fixture.package_dir().exists(), "nothing extracted");
        assert!(
            names(&fixture.home.path().join("packages/unpacked")).is_empty(),
            "no download left"
        );

        let mut longer = std::fs::read(&file).unwrap();
        longer.push(0);
        std::fs::write(&file, longer).unwrap();
        let error = fixture.unpack().await.unwrap_err();
        assert!(
            matches!(error, UnpackError::TooLong { recorded } if recorded == fixture.version.size),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_missing_object_or_a_record_unfit_for_a_folder_name_is_refused() {
        let mut fixture = Fixture::new().await;
        let limits = Limits::default();
        let unpacked = fixture.unpacked();
        for (id, sha256, field) in [
            ("../x", fixture.version.sha256.clone(), "package id"),
            (PACKAGE_ID, "../../etc".to_owned(), "sha256"),
            (PACKAGE_ID, "g".repeat(64), "sha256"),
        ] {
            let version = PackageVersion {
                sha256,
                ..fixture.version.clone()
            };
            let error = unpacked
                .unpack(&fixture.storage, &limits, id, &version)
                .await
                .unwrap_err();
            assert!(
                matches!(error, UnpackError::BadRecord { field: f, .. } if f == field),
                "{error:?}"
            );
        }
        fixture.version.object_key = "default/hello/2.0.0.zip".to_owned();
        let error = fixture.unpack().await.unwrap_err();
        assert!(matches!(error, UnpackError::Missing), "{error:?}");
    }

    #[tokio::test]
    async fn an_archive_without_a_bot_is_refused_as_an_archive() {
        let mut fixture = Fixture::new().await;
        let key = ObjectKey::new("default/hello/junk.zip").unwrap();
        let stored = fixture
            .storage
            .put(&key, b"not a zip".as_slice())
            .await
            .unwrap();
        fixture.version.object_key = key.as_str().to_owned();
        fixture.version.sha256 = stored.sha256.to_hex();
        fixture.version.size = stored.size;
        let error = fixture.unpack().await.unwrap_err();
        assert!(matches!(error, UnpackError::Archive { .. }), "{error:?}");
        assert!(!fixture.package_dir().join(&fixture.version.sha256).exists());
    }
}
