//! A package bot's folder at the start of an execution: the package, in the
//! execution's tenant, that the job names; the version it names, else the newest
//! uploaded; and that version's extracted copy ([`crate::unpacked`]), made now if it
//! is not there yet, with [`FETCHING`] as the execution's status line meanwhile.
//!
//! Whatever stops it (the package or version gone, the storage unreachable, an
//! archive whose checksum does not match, one that does not extract) is an
//! [`Unavailable`], whose message names the package, the version and the fix: the
//! execution ends Failed with it, and its bot never starts.

use std::path::PathBuf;
use std::sync::Arc;

use bosun_core::error::chain;
use bosun_core::package::{PackageName, Version};
use bosun_storage::PackageStorage;
use bosun_store::{Execution, PackageVersion, Store, StoreError};
use chrono::Utc;

use crate::config::ServerConfig;
use crate::definition::PackageRef;
use crate::unpacked::{UnpackError, Unpacked};

/// The start of the status line of an execution whose package is being downloaded
/// and extracted; the package's name and version follow.
pub(crate) const FETCHING: &str = "unpacking package";

/// How many of a package's versions a message lists.
const LISTED_VERSIONS: usize = 5;

/// A package bot ready to run.
pub(super) struct Fetched {
    /// Its extracted copy.
    pub(super) dir: PathBuf,
    /// Its package's name, the bot's name for people.
    pub(super) name: PackageName,
}

/// Why a package bot cannot start.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// The store could not be read.
    Store {
        /// The package as the job names it.
        package: PackageName,
        error: StoreError,
    },
    /// The tenant has no package of that name or id.
    NoPackage(PackageName),
    /// The package has no version at all.
    NoVersions(PackageName),
    /// The package has no version of that name.
    NoVersion {
        name: PackageName,
        version: Version,
        /// The versions it has, newest first.
        known: Vec<Version>,
    },
    /// The version could not be made ready.
    Unpack {
        name: PackageName,
        version: Version,
        error: UnpackError,
    },
}

impl Unavailable {
    /// The execution's message: one line, naming the package, the version and the fix.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Store { package, error } => format!(
                "package \"{package}\" could not be read from the store: {}; run the job again \
                 once the store answers",
                chain(error)
            ),
            Self::NoPackage(name) => format!(
                "package \"{name}\" is not uploaded in this tenant: upload it, or fix \"package\" \
                 in the job"
            ),
            Self::NoVersions(name) => format!(
                "package \"{name}\" has no version: upload one, or fix \"package\" in the job"
            ),
            Self::NoVersion {
                name,
                version,
                known,
            } => {
                let mut listed: Vec<&str> = known
                    .iter()
                    .take(LISTED_VERSIONS)
                    .map(Version::as_str)
                    .collect();
                if known.len() > LISTED_VERSIONS {
                    listed.push("…");
                }
                format!(
                    "package \"{name}\" has no version {version} (it has {}): upload it, or fix \
                     \"version\" in the job",
                    listed.join(", ")
                )
            }
            Self::Unpack {
                name,
                version,
                error,
            } => {
                let fix = match error {
                    UnpackError::Storage { .. } => {
                        "check that the package storage is reachable and run the job again"
                    }
                    UnpackError::Archive { .. } => "upload a fixed archive as a new version",
                    UnpackError::Io { .. } => {
                        "check the data directory's free space and permissions, then run the \
                         job again"
                    }
                    UnpackError::BadRecord { .. }
                    | UnpackError::Missing
                    | UnpackError::TooLong { .. }
                    | UnpackError::Checksum { .. } => "delete this version and upload it again",
                };
                format!(
                    "package \"{name}\" version {version} cannot run: {}; {fix}",
                    chain(error)
                )
            }
        }
    }
}

/// Package bots' copies, and the package storage they come from.
pub(super) struct Packages {
    config: Arc<ServerConfig>,
    unpacked: Unpacked,
    /// The server's package storage; the runner only reads objects.
    storage: Arc<PackageStorage>,
}

impl Packages {
    pub(super) fn new(config: Arc<ServerConfig>, storage: Arc<PackageStorage>) -> Self {
        Self {
            unpacked: Unpacked::new(&config.home),
            config,
            storage,
        }
    }

    /// The folder of the package bot `reference` for `execution`, extracted first if
    /// need be, with [`FETCHING`] as its status line meanwhile.
    pub(super) async fn fetch(
        &self,
        store: &Store,
        execution: &Execution,
        reference: &PackageRef,
    ) -> Result<Fetched, Box<Unavailable>> {
        let package = store
            .package(&execution.tenant_id, reference.package.as_str())
            .await
            .map_err(|error| Unavailable::Store {
                package: reference.package.clone(),
                error,
            })?
            .ok_or_else(|| Unavailable::NoPackage(reference.package.clone()))?;
        let name = package.name.clone();
        let chosen = pick(&name, &package.versions, reference.version.as_ref())?;
        let version = chosen.version.clone();
        let unpack = |error| Unavailable::Unpack {
            name: name.clone(),
            version: version.clone(),
            error,
        };
        if let Some(dir) = self
            .unpacked
            .ready(&package.id, chosen)
            .await
            .map_err(unpack)?
        {
            return Ok(Fetched { dir, name });
        }
        let status = format!("{FETCHING} {name} {version}");
        if let Err(e) = store
            .report(&execution.id, Some(&status), None, Utc::now())
            .await
        {
            tracing::warn!(execution = %execution.id, "could not record the unpacking phase: {}", chain(&e));
        }
        let storage = &*self.storage;
        let limits = &self.config.packages.limits;
        match self
            .unpacked
            .unpack(storage, limits, &package.id, chosen)
            .await
        {
            Ok(dir) => Ok(Fetched { dir, name }),
            Err(error) => {
                tracing::warn!(execution = %execution.id, package = %name, %version, "package bot not started: {}", chain(&error));
                Err(Box::new(unpack(error)))
            }
        }
    }
}

/// The version of the package `name` to run, of `versions` (oldest first): `wanted`,
/// else the newest uploaded.
pub(crate) fn pick<'a>(
    name: &PackageName,
    versions: &'a [PackageVersion],
    wanted: Option<&Version>,
) -> Result<&'a PackageVersion, Box<Unavailable>> {
    match wanted {
        None => versions
            .last()
            .ok_or_else(|| Box::new(Unavailable::NoVersions(name.clone()))),
        Some(wanted) => versions
            .iter()
            .find(|v| &v.version == wanted)
            .ok_or_else(|| {
                Box::new(Unavailable::NoVersion {
                    name: name.clone(),
                    version: wanted.clone(),
                    known: versions.iter().rev().map(|v| v.version.clone()).collect(),
                })
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str) -> PackageVersion {
        PackageVersion {
            version: v.parse().unwrap(),
            size: 1,
            sha256: "0".repeat(64),
            object_key: format!("t/p/{v}.zip"),
            uploaded_at: Utc::now(),
        }
    }

    #[test]
    fn the_newest_upload_runs_unless_a_version_is_named() {
        let name: PackageName = "web-scraper".parse().unwrap();
        // Oldest first, as the store lists them: uploaded order, not version order.
        let versions = [version("2.0.0"), version("1.0.1")];
        assert_eq!(
            pick(&name, &versions, None).unwrap().version.as_str(),
            "1.0.1"
        );
        let wanted = "2.0.0".parse().unwrap();
        assert_eq!(
            pick(&name, &versions, Some(&wanted))
                .unwrap()
                .version
                .as_str(),
            "2.0.0"
        );
        let missing = "3.0.0".parse().unwrap();
        let why = pick(&name, &versions, Some(&missing)).unwrap_err();
        assert_eq!(
            why.message(),
            "package \"web-scraper\" has no version 3.0.0 (it has 1.0.1, 2.0.0): upload it, \
             or fix \"version\" in the job"
        );
        let why = pick(&name, &[], None).unwrap_err();
        assert!(
            why.message().contains("has no version: upload one"),
            "{}",
            why.message()
        );
    }

    #[test]
    fn a_damaged_archive_names_the_package_version_and_fix() {
        let why = Unavailable::Unpack {
            name: "web-scraper".parse().unwrap(),
            version: "1.0.0".parse().unwrap(),
            error: UnpackError::Checksum {
                recorded: "a".repeat(64),
                found: "b".repeat(64),
            },
        };
        let message = why.message();
        assert!(
            message.starts_with("package \"web-scraper\" version 1.0.0 cannot run: its stored archive's SHA-256 is bbbb"),
            "{message}"
        );
        assert!(
            message.ends_with("; delete this version and upload it again"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }
}
