//! Package versions on this machine: asked for by id and version, downloaded once,
//! checked, extracted once, and reused by every later execution.
//!
//! `GET {server}/api/packages/{id}/versions/{version}/agent-download?machineKey=K`
//! answers `{downloadUrl, sha256, expiresAt, …}`. The link is relative to the server's
//! origin (a signed link of the server's own store) or absolute (a presigned S3 URL).
//! The archive goes to a hidden partial file beside the cache, resumed with an HTTP
//! `Range` request after a dropped connection and retried with backoff; a link the
//! storage refuses (it expired) is asked for again. The complete file must have the
//! SHA-256 the server gave, else it is deleted and the execution fails. It is then
//! extracted with [`bosun_package::extract`] (checked names, size limits, all or
//! nothing) into `<home>/packages/<id>/<version>-<first 16 hex digits of the sha256>/`.
//! A folder that exists is complete, so it is used as it is and nothing is fetched:
//! keyed by checksum, a version uploaded again with other bytes gets a new folder.
//!
//! Neither the machine key nor a link is ever logged or put in an error: both grant
//! access (`reqwest`'s errors are stripped of their URL).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_core::{Backoff, PathIoError};
use bosun_package::{Limits, PackageError, Sha256Digest, Version};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::config::{MachineKey, ServerUrl};
use crate::ids::PackageId;

/// The largest archive downloaded: the unpacked limit's size, compressed or not.
pub const MAX_DOWNLOAD: u64 = bosun_package::DEFAULT_MAX_UNPACKED;

/// How many hex digits of the checksum name a version's folder.
const SHA_PREFIX: usize = 16;

/// Why a package version could not be made ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The server answered the link request with an error.
    #[error("the server refused the download link ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        message: String,
    },
    /// The server's answer cannot be used.
    #[error("the server's download link answer is unusable: {0}")]
    BadAnswer(String),
    /// A request failed (after its retries).
    #[error("could not {what}")]
    Request {
        /// What was being done.
        what: &'static str,
        /// Why (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// The storage answered the download with an error (after retries).
    #[error("the package storage answered {status} to the download")]
    Storage {
        /// The HTTP status.
        status: u16,
    },
    /// The archive is larger than [`MAX_DOWNLOAD`].
    #[error("the archive is larger than {MAX_DOWNLOAD} bytes")]
    TooLarge,
    /// The downloaded bytes are not the ones the server vouched for.
    #[error(
        "the downloaded archive's SHA-256 is {found}, not {expected} as the server said; it was deleted"
    )]
    Checksum {
        /// The server's digest.
        expected: String,
        /// The digest of the bytes received.
        found: String,
    },
    /// The archive cannot be extracted.
    #[error("the archive cannot be extracted")]
    Archive(#[source] PackageError),
    /// A file of the cache could not be used.
    #[error(transparent)]
    Io(#[from] PathIoError),
}

/// `agent-download`'s answer (fields bosun does not need are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkAnswer {
    #[serde(alias = "DownloadUrl")]
    download_url: String,
    #[serde(default, alias = "Sha256", alias = "sha256Hex")]
    sha256: Option<String>,
}

/// How often and how long downloads are retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first wait; it doubles after each failure.
    pub first: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 6,
            first: Duration::from_millis(500),
            cap: Duration::from_secs(15),
        }
    }
}

/// The package cache of a data directory.
#[derive(Debug, Clone)]
pub struct Packages {
    root: PathBuf,
    http: reqwest::Client,
    limits: Limits,
    retry: Retry,
    /// One download at a time per version folder.
    busy: Arc<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Packages {
    /// The cache at `<home>/packages`.
    pub fn new(home: &Path, http: reqwest::Client) -> Self {
        Self {
            root: home.join("packages"),
            http,
            limits: Limits::default(),
            retry: Retry::default(),
            busy: Arc::default(),
        }
    }

    /// The same cache retrying as `retry` says.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The folder holding version `version` of package `id`, fetched and extracted
    /// unless it is there already.
    pub async fn ready(
        &self,
        server: &ServerUrl,
        key: &MachineKey,
        id: &PackageId,
        version: &Version,
    ) -> Result<PathBuf, DownloadError> {
        let mut link = self.link(server, key, id, version).await?;
        let dir = self
            .root
            .join(id.as_str())
            .join(format!("{version}-{}", &link.sha256[..SHA_PREFIX]));
        let lock = {
            let mut busy = self.busy.lock().expect("never poisoned");
            busy.entry(dir.clone()).or_default().clone()
        };
        let _held = lock.lock().await;
        if is_dir(&dir).await {
            tracing::debug!(package = %id, %version, "package version cached");
            return Ok(dir);
        }
        let parent = dir.parent().expect("a version folder has a package folder");
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io("create the folder", parent))?;
        let name = dir.file_name().expect("named above").to_string_lossy();
        let partial = parent.join(format!(".{name}.download"));

        let mut backoff = Backoff::new(self.retry.first, self.retry.cap);
        let mut attempt = 1;
        loop {
            match self.fetch(&link.url, &partial).await {
                Ok(()) => break,
                Err(Fetch::Fatal(e)) => return Err(e),
                Err(Fetch::Again { error, new_link }) => {
                    if attempt >= self.retry.attempts {
                        return Err(error);
                    }
                    let wait = backoff.next_delay();
                    tracing::info!(package = %id, %version, attempt, "download failed, retrying in {wait:?}: {}", bosun_core::error::chain(&error));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    if new_link {
                        link = self.link(server, key, id, version).await?;
                    }
                }
            }
        }

        let expected = link.sha256.clone();
        let (limits, target, file) = (self.limits, dir.clone(), partial.clone());
        let done = tokio::task::spawn_blocking(move || {
            let open = || std::fs::File::open(&file).map_err(io("open", &file));
            let (digest, _) = Sha256Digest::of_reader(std::io::BufReader::new(open()?))
                .map_err(io("read", &file))?;
            let found = digest.to_hex();
            if found != expected {
                let _ = std::fs::remove_file(&file);
                return Err(DownloadError::Checksum { expected, found });
            }
            let extracted =
                bosun_package::extract(std::io::BufReader::new(open()?), &limits, &target);
            let _ = std::fs::remove_file(&file);
            match extracted {
                Ok(_) | Err(PackageError::AlreadyExtracted { .. }) => Ok(()),
                Err(e) => Err(DownloadError::Archive(e)),
            }
        })
        .await
        .map_err(|join| PathIoError {
            about: "extract the archive into",
            path: dir.clone(),
            source: std::io::Error::other(join.to_string()),
        })?;
        done?;
        tracing::info!(package = %id, %version, dir = %dir.display(), "package version extracted");
        Ok(dir)
    }

    /// Asks the server for a link to the archive.
    async fn link(
        &self,
        server: &ServerUrl,
        key: &MachineKey,
        id: &PackageId,
        version: &Version,
    ) -> Result<Link, DownloadError> {
        let mut url = server.join(&[
            "api",
            "packages",
            id.as_str(),
            "versions",
            version.as_str(),
            "agent-download",
        ]);
        url.query_pairs_mut()
            .append_pair("machineKey", key.expose());
        let mut backoff = Backoff::new(self.retry.first, self.retry.cap);
        let mut attempt = 1;
        let response = loop {
            let sent = self
                .http
                .get(url.clone())
                .header("X-MachineKey", key.expose())
                .send()
                .await;
            let retry = match &sent {
                Ok(r) => r.status().is_server_error(),
                Err(_) => true,
            };
            if !retry || attempt >= self.retry.attempts {
                break sent.map_err(|e| DownloadError::Request {
                    what: "ask the server for the download link",
                    source: e.without_url(),
                })?;
            }
            attempt += 1;
            tokio::time::sleep(backoff.next_delay()).await;
        };
        let status = response.status();
        let body = response.bytes().await.map_err(|e| DownloadError::Request {
            what: "read the server's download link answer",
            source: e.without_url(),
        })?;
        if !status.is_success() {
            let message: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(DownloadError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        let answer: LinkAnswer = serde_json::from_slice(&body)
            .map_err(|e| DownloadError::BadAnswer(format!("not the expected JSON: {e}")))?;
        let sha256 = answer
            .sha256
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| DownloadError::BadAnswer("no sha256 of 64 hex digits".into()))?
            .to_ascii_lowercase();
        let url = server
            .origin()
            .join(&answer.download_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| DownloadError::BadAnswer("its downloadUrl is not a URL".into()))?;
        Ok(Link { url, sha256 })
    }

    /// One attempt at getting the whole archive into `partial`, resuming what it holds.
    async fn fetch(&self, url: &reqwest::Url, partial: &Path) -> Result<(), Fetch> {
        let have = match tokio::fs::metadata(partial).await {
            Ok(meta) => meta.len(),
            Err(_) => 0,
        };
        let mut request = self.http.get(url.clone());
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request.send().await.map_err(|e| Fetch::again(e, false))?;
        let status = response.status();
        let append = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => true,
            StatusCode::OK => false,
            // What it holds is all there is; the checksum says whether it is right.
            StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(()),
            s if s.is_client_error() => {
                return Err(Fetch::Again {
                    error: DownloadError::Storage { status: s.as_u16() },
                    new_link: true,
                });
            }
            s => {
                return Err(Fetch::Again {
                    error: DownloadError::Storage { status: s.as_u16() },
                    new_link: false,
                });
            }
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(partial)
            .await
            .map_err(|e| Fetch::Fatal(io("open", partial)(e)))?;
        let mut size = if append { have } else { 0 };
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // What arrived stays: the next attempt asks for the rest.
                    let _ = file.flush().await;
                    return Err(Fetch::again(e, false));
                }
            };
            size += chunk.len() as u64;
            if size > MAX_DOWNLOAD {
                drop(file);
                let _ = tokio::fs::remove_file(partial).await;
                return Err(Fetch::Fatal(DownloadError::TooLarge));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| Fetch::Fatal(io("write", partial)(e)))?;
        }
        file.flush()
            .await
            .map_err(|e| Fetch::Fatal(io("write", partial)(e)))?;
        Ok(())
    }
}

/// A link to an archive and its checksum (lowercase hex).
struct Link {
    url: reqwest::Url,
    sha256: String,
}

/// How one attempt failed.
enum Fetch {
    /// Not worth retrying.
    Fatal(DownloadError),
    /// Retry; with a fresh link when the storage refused this one.
    Again {
        error: DownloadError,
        new_link: bool,
    },
}

impl Fetch {
    fn again(e: reqwest::Error, new_link: bool) -> Self {
        Self::Again {
            error: DownloadError::Request {
                what: "download the package",
                source: e.without_url(),
            },
            new_link,
        }
    }
}

fn io(about: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError {
    PathIoError::maker::<DownloadError>(about, path)
}

async fn is_dir(path: &Path) -> bool {
    tokio::fs::metadata(path).await.is_ok_and(|m| m.is_dir())
}
