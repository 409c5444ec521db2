//! Making a package from a bot folder, as `bosun package` uploads it.
//!
//! The archive holds the folder's files and folders, relative to it, sorted by path,
//! with one fixed timestamp and modes of 0644 or 0755: the same folder always gives
//! the same bytes, so its checksum says whether anything changed. What a bot's folder
//! holds but a package should not — bytecode caches, virtual environments, Git's
//! data — is left out, and symbolic links are skipped rather than followed (a link
//! could pull in anything on the machine). Names are checked by the rule
//! [`inspect`](crate::inspect) applies, so the archive is one the store accepts.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use bosun_core::PathIoError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::entry_name::check_segment;
use crate::error::{NameProblem, PackageError};
use crate::layout::EntryScript;

/// Folders and files left out of a package wherever they are: Python's bytecode
/// caches, virtual environments (rebuilt from `requirements.txt` where the bot runs)
/// and Git's data.
pub const EXCLUDED_NAMES: [&str; 4] = ["__pycache__", ".venv", "venv", ".git"];

/// File extensions left out of a package: compiled bytecode.
pub const EXCLUDED_EXTENSIONS: [&str; 1] = ["pyc"];

/// The buffer files are copied through.
const COPY_BUFFER: usize = 64 * 1024;

/// What [`pack_dir`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    /// How many entries the archive has, files and folders.
    pub entries: usize,
    /// How many of them are files.
    pub files: usize,
    /// The files' bytes, before compression.
    pub bytes: u64,
    /// Symbolic links skipped.
    pub skipped_symlinks: usize,
    /// Other special files skipped (FIFOs, sockets, devices).
    pub skipped_special: usize,
}

/// Zips the bot folder `dir` into `out`, deflated, and says what went in.
///
/// Refuses, before writing anything, a folder with no `bot.py` or `main.py` at its
/// top (the rule `bosun run` uses), and a file whose name a package cannot carry (a
/// `:`, a `\`, a control character, not UTF-8). Leaves out `__pycache__`, `.venv`,
/// `venv`, `.git` and `*.pyc`. `out` should not be inside `dir`.
pub fn pack_dir(dir: &Path, out: impl Write + Seek) -> Result<Packed, PackageError> {
    fs::metadata(dir).map_err(PathIoError::maker::<PackageError>("read the folder", dir))?;
    let runnable = EntryScript::ALL.iter().any(|script| {
        fs::symlink_metadata(dir.join(script.file_name())).is_ok_and(|meta| meta.is_file())
    });
    if !runnable {
        return Err(PackageError::NoBotInDir {
            dir: dir.to_path_buf(),
        });
    }
    let mut found = Found::default();
    walk(dir, "", &mut found)?;
    found.items.sort_by(|a, b| a.name.cmp(&b.name));

    let mut zip = ZipWriter::new(out);
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    let mut packed = Packed {
        entries: found.items.len(),
        files: 0,
        bytes: 0,
        skipped_symlinks: found.skipped_symlinks,
        skipped_special: found.skipped_special,
    };
    for item in &found.items {
        match item.kind {
            ItemKind::Folder => zip
                .add_directory(item.name.as_str(), base.unix_permissions(0o755))
                .map_err(|source| PackageError::Write { source })?,
            ItemKind::File { size, executable } => {
                let options = base
                    .unix_permissions(if executable { 0o755 } else { 0o644 })
                    .large_file(size >= u64::from(u32::MAX));
                zip.start_file(item.name.as_str(), options)
                    .map_err(|source| PackageError::Write { source })?;
                packed.bytes += copy_file(&item.path, &mut zip)?;
                packed.files += 1;
            }
        }
    }
    zip.finish()
        .map_err(|source| PackageError::Write { source })?;
    Ok(packed)
}

#[derive(Debug, Default)]
struct Found {
    items: Vec<Item>,
    skipped_symlinks: usize,
    skipped_special: usize,
}

#[derive(Debug)]
struct Item {
    /// Its name in the archive: relative, `/`-separated.
    name: String,
    path: PathBuf,
    kind: ItemKind,
}

#[derive(Debug, Clone, Copy)]
enum ItemKind {
    Folder,
    File { size: u64, executable: bool },
}

/// Collects what is below `dir`, whose archive name is `prefix` (`""` or `"a/b/"`).
fn walk(dir: &Path, prefix: &str, found: &mut Found) -> Result<(), PackageError> {
    let entries = fs::read_dir(dir).map_err(io_error("read the folder", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error("read the folder", dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(PackageError::UnpackableName {
                path,
                problem: NameProblem::NotUtf8,
            });
        };
        if EXCLUDED_NAMES.contains(&name.as_str()) {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(io_error("read the type of", &path))?;
        if file_type.is_symlink() {
            found.skipped_symlinks += 1;
            continue;
        }
        if !file_type.is_dir() && !file_type.is_file() {
            found.skipped_special += 1;
            continue;
        }
        if file_type.is_file()
            && Path::new(&name)
                .extension()
                .is_some_and(|ext| EXCLUDED_EXTENSIONS.iter().any(|excluded| ext == *excluded))
        {
            continue;
        }
        check_segment(&name).map_err(|problem| PackageError::UnpackableName {
            path: path.clone(),
            problem,
        })?;
        let archive_name = format!("{prefix}{name}");
        if file_type.is_dir() {
            let inner = format!("{archive_name}/");
            walk(&path, &inner, found)?;
            found.items.push(Item {
                name: inner,
                path,
                kind: ItemKind::Folder,
            });
        } else {
            let meta = entry
                .metadata()
                .map_err(io_error("read the metadata of", &path))?;
            found.items.push(Item {
                name: archive_name,
                kind: ItemKind::File {
                    size: meta.len(),
                    executable: is_executable(&meta),
                },
                path,
            });
        }
    }
    Ok(())
}

/// A maker for `map_err`: the failure to do `about` to `path`.
fn io_error(about: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PackageError {
    PathIoError::maker(about, path)
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// Copies the file at `path` into the archive's current entry; returns its bytes.
fn copy_file(path: &Path, out: &mut impl Write) -> Result<u64, PackageError> {
    let mut file = File::open(path).map_err(PathIoError::maker::<PackageError>("open", path))?;
    let mut buffer = vec![0; COPY_BUFFER];
    let mut copied = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => return Ok(copied),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(PathIoError::maker::<PackageError>("read", path)(error)),
        };
        out.write_all(&buffer[..read])
            .map_err(|error| PackageError::Write {
                source: error.into(),
            })?;
        copied += read as u64;
    }
}
