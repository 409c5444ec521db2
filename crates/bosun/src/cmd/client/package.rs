//! `bosun package push|ls|rm`: bot packages on the server.
//!
//! The package routes live under `/{tenant}/api/packages`, so each command first asks
//! `GET /api/me` which tenant its token is for. `push` zips a folder to a temporary
//! file ([`bosun_package::pack_dir`]), reads the archive's name and version the way
//! the server would (flag, else `bot.json`, else the file's name and 1.0.0), refusing
//! here what would be refused there before a byte is sent, and then streams the file
//! as a multipart upload with a progress line on a terminal ([`progress`]).

mod progress;

use std::path::{Path, PathBuf};

use anyhow::Result;
use bosun_core::package::{PackageName, Version};
use bosun_core::wire::{Me, Package, PackageVersion, Page};
use bosun_package::Packed;
use futures_util::TryStreamExt;
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, RequestBuilder, StatusCode};

use super::table::{Layout, Table, or_dash, text_or_dash};
use super::{Client, ClientError, human, print, printed_instead};
use crate::cli::{PackageCommand, PackageLsArgs, PackagePushArgs, PackageRmArgs, PackageTarget};
use crate::exit;
use progress::Progress;

/// Uploads at least this large show a progress line (on a terminal).
const PROGRESS_FROM: u64 = 4 * 1024 * 1024;

/// How much of the file is read at a time while it is uploaded: each read of a tokio
/// file is a trip to a blocking thread, so a large piece.
const UPLOAD_CHUNK: usize = 1024 * 1024;

/// Runs one `bosun package` subcommand.
pub(crate) async fn package(command: PackageCommand) -> Result<u8> {
    match command {
        PackageCommand::Push(args) => push(args).await,
        PackageCommand::Ls(args) => list(args).await,
        PackageCommand::Rm(args) => remove(args).await,
    }
}

/// A client and the tenant whose package routes it uses.
struct Packages {
    client: Client,
    tenant: String,
}

impl Packages {
    /// Asks the server which tenant the client's token is for.
    async fn of(client: Client) -> Result<Self, ClientError> {
        let me = match client
            .json::<Me>(client.request(Method::GET, &["api", "me"]))
            .await
        {
            Ok(answer) => answer.value,
            Err(ClientError::Server { status, .. }) if status == StatusCode::NOT_FOUND => {
                return Err(ClientError::Server {
                    status,
                    message: format!(
                        "the server at {} has no packages: it is older than this bosun; \
                         upgrade it",
                        client.display_url()
                    ),
                });
            }
            Err(e) => return Err(e),
        };
        if me.tenant.slug.is_empty() {
            return Err(ClientError::Server {
                status: StatusCode::OK,
                message: format!(
                    "the server at {} did not say which tenant the token is for: is it a \
                     bosun server of a matching version?",
                    client.display_url()
                ),
            });
        }
        Ok(Self {
            client,
            tenant: me.tenant.slug,
        })
    }

    /// The segments of a package route: `/{tenant}/api/packages/{rest…}`.
    fn segments<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec![self.tenant.as_str(), "api", "packages"];
        segments.extend_from_slice(rest);
        segments
    }

    /// A request to a package route, with the usual time limit.
    fn request(&self, method: Method, rest: &[&str]) -> RequestBuilder {
        self.client.request(method, &self.segments(rest))
    }

    /// One package, by name or id; a missing one is named in the error.
    async fn get(&self, package: &str) -> Result<super::Answer<Package>, ClientError> {
        self.client
            .json::<Package>(self.request(Method::GET, &[package]))
            .await
            .map_err(|e| no_such_package(e, package))
    }
}

/// A 404 of a package route, said with the name the user gave.
fn no_such_package(error: ClientError, package: &str) -> ClientError {
    match error {
        ClientError::Server { status, .. } if status == StatusCode::NOT_FOUND => {
            ClientError::Server {
                status,
                message: format!(
                    "no package {package:?} on the server (`bosun package ls` lists them)"
                ),
            }
        }
        e => e,
    }
}

/// An archive ready to upload, under the name and version it will be stored as.
#[derive(Debug)]
struct Archive {
    /// The ZIP: the user's own, or one made from their folder (deleted when dropped).
    file: ArchiveFile,
    /// The file name the upload carries.
    file_name: String,
    name: PackageName,
    version: Version,
    size: u64,
    /// What went in, when a folder was zipped.
    packed: Option<Packed>,
}

#[derive(Debug)]
enum ArchiveFile {
    /// A ZIP the user named.
    Given(PathBuf),
    /// A ZIP made from the user's folder.
    Made(tempfile::NamedTempFile),
}

impl ArchiveFile {
    fn path(&self) -> &Path {
        match self {
            Self::Given(path) => path,
            Self::Made(file) => file.path(),
        }
    }
}

impl Archive {
    fn path(&self) -> &Path {
        self.file.path()
    }

    /// The archive for `path` (a bot folder, zipped here, or a ZIP), checked as the
    /// server checks it but without its size caps, with its name and version: the
    /// flags', else `bot.json`'s, else the file's name and the default version.
    fn prepare(
        path: &Path,
        name: Option<PackageName>,
        version: Option<Version>,
    ) -> Result<Self, ClientError> {
        let usage = |message: String| ClientError::Usage(format!("{}: {message}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => usage("no such folder or file".to_owned()),
            _ => usage(e.to_string()),
        })?;
        let (file, stem, packed) = if meta.is_dir() {
            let made = tempfile::Builder::new()
                .prefix("bosun-package-")
                .suffix(".zip")
                .tempfile()
                .map_err(|e| usage(format!("cannot make a temporary file to zip it into: {e}")))?;
            let packed = bosun_package::pack_dir(path, made.as_file())
                .map_err(|e| ClientError::Usage(bosun_core::error::chain(&e).to_string()))?;
            // `.` and `..` have no name of their own; the folder they are has.
            let stem = std::path::absolute(path)
                .ok()
                .and_then(|p| p.canonicalize().ok())
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            (ArchiveFile::Made(made), stem, Some(packed))
        } else {
            let stem = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .map(|n| match n.strip_suffix(".zip") {
                    Some(stem) => stem.to_owned(),
                    None => n,
                });
            (ArchiveFile::Given(path.to_path_buf()), stem, None)
        };
        let opened = std::fs::File::open(file.path()).map_err(|e| usage(e.to_string()))?;
        let size = opened.metadata().map_err(|e| usage(e.to_string()))?.len();
        // The server applies its own caps; here only what would be refused whatever they are.
        let no_caps = bosun_package::Limits {
            max_entries: usize::MAX,
            max_unpacked: u64::MAX,
        };
        let manifest = bosun_package::inspect(std::io::BufReader::new(opened), &no_caps).map_err(
            |e| match e {
                bosun_package::PackageError::NotZip { .. } => {
                    usage("not a ZIP archive: push a bot's folder, or a ZIP holding one".to_owned())
                }
                e => usage(bosun_core::error::chain(&e).to_string()),
            },
        )?;
        let name = match name.or(manifest.metadata.name) {
            Some(name) => name,
            None => stem
                .as_deref()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    usage(
                        "its name cannot be a package's name: pass --name, or put \"name\" in \
                     bot.json (letters, digits, '-', '_', '.' and inner spaces)"
                            .to_owned(),
                    )
                })?,
        };
        Ok(Self {
            file,
            file_name: format!("{name}.zip"),
            name,
            version: version.or(manifest.metadata.version).unwrap_or_default(),
            size,
            packed,
        })
    }
}

async fn push(args: PackagePushArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let PackagePushArgs {
        path,
        name,
        version,
        description,
        json,
        ..
    } = args;
    let shown = path.clone();
    let archive =
        tokio::task::spawn_blocking(move || Archive::prepare(&path, name, version)).await??;
    if let Some(packed) = archive.packed {
        skipped_note(&shown, packed);
    }
    let packages = Packages::of(client).await?;
    let show_progress = !json && archive.size >= PROGRESS_FROM && progress::on_terminal();
    let progress = Progress::new(
        format!("uploading {} {}", archive.name, archive.version),
        archive.size,
        show_progress,
    );
    let file = tokio::fs::File::open(archive.path())
        .await
        .map_err(|e| ClientError::Usage(format!("{}: {e}", archive.path().display())))?;
    let counter = progress.clone();
    let body = tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_CHUNK)
        .inspect_ok(move |chunk| counter.advance(chunk.len() as u64));
    let part = Part::stream_with_length(Body::wrap_stream(body), archive.size)
        .file_name(archive.file_name.clone())
        .mime_str("application/zip")
        .expect("application/zip is a valid MIME type");
    let mut form = Form::new()
        .text("name", archive.name.to_string())
        .text("version", archive.version.to_string());
    if let Some(description) = description {
        form = form.text("description", description);
    }
    let form = form.part("file", part);
    // No overall time limit: a large package on a slow link takes what it takes.
    let request = packages
        .client
        .stream_request(Method::POST, &packages.segments(&["upload"]))
        .multipart(form);
    let answer = packages.client.json::<Package>(request).await;
    progress.finish();
    let answer = answer?;
    if json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    let package = &answer.value;
    let stored = package
        .versions
        .iter()
        .find(|v| v.version == archive.version.as_str())
        .ok_or_else(|| ClientError::Server {
            status: StatusCode::OK,
            message: format!(
                "the server took the upload but does not list {} {}: check with `bosun \
                 package ls {}`",
                archive.name, archive.version, archive.name
            ),
        })?;
    print(&format!(
        "pushed {} {} ({}, sha256 {})",
        text_or_dash(&package.name),
        stored.version,
        size(stored.size),
        text_or_dash(&stored.sha256)
    ))?;
    Ok(exit::SUCCESS)
}

/// Says on stderr what zipping a folder skipped that the user may have expected in it.
fn skipped_note(dir: &Path, packed: Packed) {
    let mut skipped = Vec::new();
    match packed.skipped_symlinks {
        0 => {}
        1 => skipped.push("1 symbolic link".to_owned()),
        n => skipped.push(format!("{n} symbolic links")),
    }
    match packed.skipped_special {
        0 => {}
        1 => skipped.push("1 special file".to_owned()),
        n => skipped.push(format!("{n} special files")),
    }
    if !skipped.is_empty() {
        eprintln!(
            "bosun: {}: skipped {} (a package holds files and folders only)",
            dir.display(),
            skipped.join(" and ")
        );
    }
}

async fn list(args: PackageLsArgs) -> Result<u8> {
    let packages = Packages::of(Client::new(&args.client)?).await?;
    let (items, raw) = match &args.name {
        Some(name) => {
            let answer = packages.get(name).await?;
            (vec![answer.value], answer.raw)
        }
        None => {
            let answer = packages
                .client
                .json::<Page<Package>>(packages.request(Method::GET, &[]))
                .await?;
            (answer.value.items, answer.raw)
        }
    };
    if printed_instead(args.output, &raw, items.is_empty(), || {
        "no packages yet: `bosun package push DIR` uploads one".to_owned()
    })? {
        return Ok(exit::SUCCESS);
    }
    print(&table(&items, chrono::Utc::now()).render(Layout::for_stdout(args.output.wide)))?;
    Ok(exit::SUCCESS)
}

/// One row per version, packages by name; a package with no version left gets a row
/// of its own.
fn table(packages: &[Package], now: chrono::DateTime<chrono::Utc>) -> Table {
    let mut table = Table::new(&["NAME", "VERSION", "SIZE", "UPLOADED", "SHA256"]);
    for package in packages {
        let name = text_or_dash(&package.name);
        if package.versions.is_empty() {
            table.row(vec![
                name.to_owned(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for version in &package.versions {
            table.row(vec![
                name.to_owned(),
                text_or_dash(&version.version).to_owned(),
                size(version.size),
                or_dash(version.uploaded_at.map(|t| human::ago(t, now))),
                text_or_dash(&version.sha256).to_owned(),
            ]);
        }
    }
    table
}

async fn remove(args: PackageRmArgs) -> Result<u8> {
    let packages = Packages::of(Client::new(&args.client)?).await?;
    let PackageTarget { package, version } = &args.target;
    let mut found = packages.get(package).await?.value;
    let id = if found.id.is_empty() {
        package.clone()
    } else {
        found.id.clone()
    };
    match version {
        Some(version) => {
            found.versions.retain(|v| v.version == version.as_str());
            if found.versions.is_empty() {
                return Err(ClientError::Server {
                    status: StatusCode::NOT_FOUND,
                    message: format!(
                        "package {package:?} has no version {version} (`bosun package ls \
                         {package}` lists them)"
                    ),
                }
                .into());
            }
            let request = packages.request(Method::DELETE, &[&id, "versions", version.as_str()]);
            packages.client.send(request).await?;
        }
        None => {
            let request = packages.request(Method::DELETE, &[&id]);
            packages
                .client
                .send(request)
                .await
                .map_err(|e| no_such_package(e, package))?;
        }
    }
    if args.json {
        print(&serde_json::to_string(&found)?)?;
        return Ok(exit::SUCCESS);
    }
    let name = text_or_dash(&found.name);
    print(&match version {
        Some(version) => format!("deleted {name} {version}"),
        None => format!("deleted {name} and {}", versions(&found.versions)),
    })?;
    Ok(exit::SUCCESS)
}

/// `its 2 versions (1.0.0, 1.1.0)`, `its version 1.0.0`, `no versions`.
fn versions(versions: &[PackageVersion]) -> String {
    let list = || {
        versions
            .iter()
            .map(|v| text_or_dash(&v.version))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match versions.len() {
        0 => "no versions".to_owned(),
        1 => format!("its version {}", list()),
        n => format!("its {n} versions ({})", list()),
    }
}

/// A size for people, in binary units: `812 B`, `4.2 KiB`, `12.0 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(4300), "4.2 KiB");
        assert_eq!(size(12 << 20), "12.0 MiB");
        assert_eq!(size(3 << 40), "3.0 TiB");
    }

    #[test]
    fn the_table_has_a_row_per_version_and_one_for_a_package_without() {
        let version = |v: &str| PackageVersion {
            version: v.into(),
            size: 2048,
            sha256: "ab".repeat(32),
            uploaded_at: None,
        };
        let packages = [
            Package {
                name: "scraper".into(),
                versions: vec![version("1.0.0"), version("1.1.0")],
                ..Package::default()
            },
            Package {
                name: "empty".into(),
                ..Package::default()
            },
        ];
        let text = table(&packages, chrono::Utc::now()).render(Layout::Whole);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(
            rows[0].starts_with("NAME     VERSION  SIZE     UPLOADED  SHA256"),
            "{text}"
        );
        assert!(
            rows[1].starts_with("scraper  1.0.0    2.0 KiB  -         abab"),
            "{text}"
        );
        assert!(rows[2].starts_with("scraper  1.1.0"), "{text}");
        assert_eq!(rows[3], "empty    -        -        -         -");
    }

    #[test]
    fn a_deletion_names_the_versions_it_took() {
        let v = |v: &str| PackageVersion {
            version: v.into(),
            ..PackageVersion::default()
        };
        assert_eq!(versions(&[]), "no versions");
        assert_eq!(versions(&[v("1.0.0")]), "its version 1.0.0");
        assert_eq!(
            versions(&[v("1.0.0"), v("1.1.0")]),
            "its 2 versions (1.0.0, 1.1.0)"
        );
    }
}
