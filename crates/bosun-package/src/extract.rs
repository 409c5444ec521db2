//! Unpacking a checked archive into a new folder, all or nothing.
//!
//! The files go into a temporary folder beside the target (`.NAME.partial-XXXXXX`),
//! which is renamed to the target once everything is written: a reader of the target
//! never sees half a package, an error removes the temporary folder, and a crash
//! leaves at most that folder, never the target. Each entry is written from its
//! decompressed bytes, counted as they come: an entry that yields more than its header
//! declares (a zip bomb behind a small declared size) stops the extraction there.
//! Only files and folders are created; of a file's Unix mode only the execute bit is
//! kept.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use bosun_core::PathIoError;

use crate::error::PackageError;
use crate::inspect::{self, Kind, Limits, Manifest, Planned};

/// The size of the buffer entries are copied through.
const COPY_BUFFER: usize = 64 * 1024;

/// What an extraction wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// What the archive holds, as [`inspect`](crate::inspect) says.
    pub manifest: Manifest,
    /// The folder the bot is in now: the target.
    pub dir: PathBuf,
    /// The bot's entry script, in [`dir`](Self::dir).
    pub entry: PathBuf,
    /// How many files were written.
    pub files: usize,
    /// How many bytes were written.
    pub bytes: u64,
}

/// Checks the archive as [`inspect`](crate::inspect) does, then extracts the bot's
/// files into `target`, a folder this call creates, without the archive's root folder.
///
/// `target`'s parent must exist. An existing `target` is never replaced:
/// [`PackageError::AlreadyExtracted`]. On any error no `target` is left behind.
///
/// The last check for an existing target and the rename are two steps: an *empty*
/// folder made at `target` in between is replaced (a non-empty one, or a file, makes
/// the rename fail and is reported as `AlreadyExtracted`). Callers extract each
/// version once, under their own lock or unique name.
pub fn extract(
    reader: impl Read + Seek,
    limits: &Limits,
    target: &Path,
) -> Result<Extracted, PackageError> {
    let mut opened = inspect::open(reader, limits)?;
    refuse_existing(target)?;
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = target.file_name().ok_or_else(|| {
        PathIoError::maker::<PackageError>("extract into", target)(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the target has no folder name",
        ))
    })?;
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{}.partial-", name.to_string_lossy()))
        .tempdir_in(parent)
        .map_err(PathIoError::maker::<PackageError>(
            "create a temporary folder in",
            parent,
        ))?;
    let mut written = Written::default();
    for planned in &opened.plan {
        write_entry(
            &mut opened.archive,
            planned,
            partial.path(),
            limits,
            &mut written,
        )?;
    }
    // A target made meanwhile is refused here; the partial folder goes with `partial`.
    refuse_existing(target)?;
    let partial = partial.keep();
    if let Err(error) = fs::rename(&partial, target) {
        // Best effort: the error below is what the caller needs to hear.
        let _ = fs::remove_dir_all(&partial);
        if fs::symlink_metadata(target).is_ok() {
            return Err(PackageError::AlreadyExtracted {
                target: target.to_path_buf(),
            });
        }
        return Err(PathIoError::maker::<PackageError>(
            "move the extracted files to",
            target,
        )(error));
    }
    let entry = target.join(opened.manifest.entry.file_name());
    Ok(Extracted {
        manifest: opened.manifest,
        dir: target.to_path_buf(),
        entry,
        files: written.files,
        bytes: written.bytes,
    })
}

/// Files and bytes written so far.
#[derive(Debug, Default)]
struct Written {
    files: usize,
    bytes: u64,
}

fn refuse_existing(target: &Path) -> Result<(), PackageError> {
    if fs::symlink_metadata(target).is_ok() {
        return Err(PackageError::AlreadyExtracted {
            target: target.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes one entry below `dir`.
fn write_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    planned: &Planned,
    dir: &Path,
    limits: &Limits,
    written: &mut Written,
) -> Result<(), PackageError> {
    let mut path = dir.to_path_buf();
    path.extend(&planned.path);
    let Kind::File { size, executable } = planned.kind else {
        return fs::create_dir_all(&path).map_err(PathIoError::maker::<PackageError>(
            "create the folder",
            path,
        ));
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(PathIoError::maker::<PackageError>(
            "create the folder",
            parent,
        ))?;
    }
    let mut file = create_file(&path, executable)
        .map_err(PathIoError::maker::<PackageError>("create the file", &path))?;
    let mut data = archive
        .by_index(planned.index)
        .map_err(|error| inspect::entry_error(&planned.name, error))?;
    let mut buffer = vec![0; COPY_BUFFER];
    let mut copied = 0u64;
    loop {
        let read = match data.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(inspect::data_error(&planned.name, error)),
        };
        copied += read as u64;
        if copied > size {
            return Err(PackageError::EntryData {
                entry: planned.name.clone(),
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("it holds more than the {size} bytes its header declares"),
                ),
            });
        }
        let total = written.bytes + copied;
        if total > limits.max_unpacked {
            return Err(PackageError::TooLarge {
                unpacked: total,
                max: limits.max_unpacked,
            });
        }
        file.write_all(&buffer[..read])
            .map_err(PathIoError::maker::<PackageError>("write", &path))?;
    }
    written.files += 1;
    written.bytes += copied;
    Ok(())
}

/// Creates a new file, executable or not; never follows or replaces what is there.
fn create_file(path: &Path, executable: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    options.open(path)
}
