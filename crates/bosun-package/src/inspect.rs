//! Looking at an uploaded archive without unpacking it: is it safe, is it a bot, what
//! does it say about itself.
//!
//! Everything here comes from the ZIP's central directory, except the `bot.json`
//! beside the entry script, which is decompressed alone and capped. The checks are
//! the ones extraction relies on, so [`extract`](crate::extract) runs them first and
//! then only writes what they accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek};

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use crate::entry_name::EntryPath;
use crate::error::{BotJsonError, NameProblem, PackageError};
use crate::layout::{self, EntryScript};
use crate::metadata::{BOT_JSON, MAX_BOT_JSON_BYTES, Metadata};

/// The most entries an archive may have, by default.
pub const DEFAULT_MAX_ENTRIES: usize = 20_000;

/// The most bytes an archive may unpack to, by default: 1 GiB.
pub const DEFAULT_MAX_UNPACKED: u64 = 1 << 30;

/// The folder macOS's Finder adds beside what it compresses, holding resource forks
/// (`__MACOSX/bot/._bot.py`). It is not part of the bot: it neither counts as a
/// top-level folder nor is extracted.
const MACOS_RESOURCE_FORKS: &str = "__MACOSX";

/// Unix file type bits of a mode, and the two types a package may hold.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// How much an archive may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most entries (files and folders) in the archive.
    pub max_entries: usize,
    /// The most bytes its entries may unpack to, all together.
    pub max_unpacked: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_unpacked: DEFAULT_MAX_UNPACKED,
        }
    }
}

/// What an accepted archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The folder the bot's files are under in the archive: `""` when they are at its
    /// top, else the one top-level folder with a trailing `/` (`"mybot/"`). Extraction
    /// strips it.
    pub root: String,
    /// The script the bot starts from, at the top of [`root`](Self::root).
    pub entry: EntryScript,
    /// What the package's `bot.json` says; all `None` without one.
    pub metadata: Metadata,
    /// How many entries (files and folders) the archive has.
    pub entries: usize,
    /// The total of the sizes its entries declare, in bytes.
    pub unpacked_size: u64,
}

impl Manifest {
    /// The entry script's name in the archive (`"mybot/bot.py"`).
    pub fn entry_path(&self) -> String {
        format!("{}{}", self.root, self.entry.file_name())
    }
}

/// Checks an archive without extracting it, and says what it holds.
///
/// Reads the central directory only (and the `bot.json` beside the entry script, at
/// most [`MAX_BOT_JSON_BYTES`]). Refuses what is not a ZIP; more entries or more
/// unpacked bytes than `limits`; an entry name that is absolute, has `..`, a drive
/// letter, `\` or a control character; a symbolic link or another special file; an
/// encrypted entry or one compressed other than by deflate; two entries for one path;
/// and an archive with no bot `bosun run` could start, at its top or in its one
/// top-level folder.
///
/// ```
/// use std::io::{Cursor, Write};
///
/// let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
/// zip.start_file("mybot/bot.py", zip::write::SimpleFileOptions::default())?;
/// zip.write_all(b"print('hello')\n")?;
/// let archive = zip.finish()?;
///
/// let manifest = bosun_package::inspect(archive, &bosun_package::Limits::default())?;
/// assert_eq!(manifest.root, "mybot/");
/// assert_eq!(manifest.entry_path(), "mybot/bot.py");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect(reader: impl Read + Seek, limits: &Limits) -> Result<Manifest, PackageError> {
    Ok(open(reader, limits)?.manifest)
}

/// An archive that passed every check, with the plan for extracting it.
pub(crate) struct Opened<R> {
    pub(crate) archive: ZipArchive<R>,
    pub(crate) manifest: Manifest,
    /// What to write, in the archive's order, paths already without the root folder.
    pub(crate) plan: Vec<Planned>,
}

/// One entry to extract.
pub(crate) struct Planned {
    /// Its index in the archive.
    pub(crate) index: usize,
    /// Its name in the archive, for errors.
    pub(crate) name: String,
    /// Where it goes below the target; never empty.
    pub(crate) path: Vec<String>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Folder,
    File {
        /// The size its header declares; extraction writes no more.
        size: u64,
        /// Whether any execute bit is set in its Unix mode.
        executable: bool,
    },
}

/// One entry as the central directory describes it, after the checks of one entry.
struct Listed {
    index: usize,
    name: String,
    path: EntryPath,
    kind: Kind,
}

/// Runs every check and reads the metadata; the archive is kept for extraction.
pub(crate) fn open<R: Read + Seek>(reader: R, limits: &Limits) -> Result<Opened<R>, PackageError> {
    let mut archive = ZipArchive::new(reader).map_err(open_error)?;
    let entries = archive.len();
    if entries > limits.max_entries {
        return Err(PackageError::TooManyEntries {
            entries,
            max: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        return Err(PackageError::Duplicate { entry: None });
    }
    let mut listed = Vec::with_capacity(entries);
    let mut unpacked_size = 0u64;
    for index in 0..entries {
        let entry = archive.by_index_data(index).map_err(open_error)?;
        unpacked_size = unpacked_size.saturating_add(entry.size());
        listed.push(list(index, &entry)?);
    }
    if unpacked_size > limits.max_unpacked {
        return Err(PackageError::TooLarge {
            unpacked: unpacked_size,
            max: limits.max_unpacked,
        });
    }
    check_paths(&listed)?;
    listed.retain(|entry| entry.path.segments[0] != MACOS_RESOURCE_FORKS);
    let found = layout::find_bot(listed.iter().map(|entry| &entry.path))
        .map_err(|reason| PackageError::NoBot { reason })?;
    let root_depth = usize::from(!found.root.is_empty());
    let metadata = read_metadata(&mut archive, &listed, &found.root)?;
    let plan = listed
        .into_iter()
        .filter(|entry| entry.path.segments.len() > root_depth)
        .map(|entry| Planned {
            index: entry.index,
            name: entry.name,
            path: entry.path.segments[root_depth..].to_vec(),
            kind: entry.kind,
        })
        .collect();
    Ok(Opened {
        archive,
        manifest: Manifest {
            root: found.root,
            entry: found.entry,
            metadata,
            entries,
            unpacked_size,
        },
        plan,
    })
}

/// Checks one entry's name, type, encryption and compression.
fn list(index: usize, entry: &zip::read::ZipFileEntry<'_>) -> Result<Listed, PackageError> {
    let name =
        entry
            .name()
            .map(|name| name.into_owned())
            .map_err(|_| PackageError::UnsafeName {
                entry: String::from_utf8_lossy(entry.name_raw()).into_owned(),
                problem: NameProblem::NotUtf8,
            })?;
    let mut path = EntryPath::parse(&name).map_err(|problem| PackageError::UnsafeName {
        entry: name.clone(),
        problem,
    })?;
    let mode = entry.unix_mode().unwrap_or(0);
    match mode & S_IFMT {
        0 | S_IFREG => {}
        S_IFDIR => path.is_dir = true,
        S_IFLNK => return Err(PackageError::Symlink { entry: name }),
        _ => return Err(PackageError::SpecialFile { entry: name, mode }),
    }
    if entry.encrypted() {
        return Err(PackageError::Encrypted { entry: name });
    }
    let method = entry.compression();
    if !matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return Err(PackageError::UnsupportedCompression {
            entry: name,
            method,
        });
    }
    let kind = if path.is_dir {
        Kind::Folder
    } else {
        Kind::File {
            size: entry.size(),
            executable: mode & 0o111 != 0,
        }
    };
    Ok(Listed {
        index,
        name,
        path,
        kind,
    })
}

/// Refuses two entries for one path, and a path that is a file and also holds others.
fn check_paths(listed: &[Listed]) -> Result<(), PackageError> {
    let mut seen = BTreeMap::new();
    for entry in listed {
        if seen
            .insert(entry.path.segments.as_slice(), entry.path.is_dir)
            .is_some()
        {
            return Err(PackageError::Duplicate {
                entry: Some(entry.path.joined()),
            });
        }
    }
    let files: BTreeSet<&[String]> = seen
        .into_iter()
        .filter(|(_, is_dir)| !is_dir)
        .map(|(path, _)| path)
        .collect();
    for entry in listed {
        let segments = &entry.path.segments;
        if let Some(depth) = (1..segments.len()).find(|&depth| files.contains(&segments[..depth])) {
            return Err(PackageError::FileAndFolder {
                entry: segments[..depth].join("/"),
            });
        }
    }
    Ok(())
}

/// Reads the `bot.json` at the top of `root`, if the archive has one.
fn read_metadata<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    listed: &[Listed],
    root: &str,
) -> Result<Metadata, PackageError> {
    let wanted = format!("{root}{BOT_JSON}");
    let Some(entry) = listed
        .iter()
        .find(|entry| !entry.path.is_dir && entry.path.joined() == wanted)
    else {
        return Ok(Metadata::default());
    };
    let too_large = || PackageError::BotJson {
        entry: entry.name.clone(),
        source: BotJsonError::TooLarge,
    };
    if matches!(entry.kind, Kind::File { size, .. } if size > MAX_BOT_JSON_BYTES) {
        return Err(too_large());
    }
    let file = archive
        .by_index(entry.index)
        .map_err(|error| entry_error(&entry.name, error))?;
    let mut bytes = Vec::new();
    file.take(MAX_BOT_JSON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| data_error(&entry.name, error))?;
    if bytes.len() as u64 > MAX_BOT_JSON_BYTES {
        return Err(too_large());
    }
    Metadata::from_json(&bytes).map_err(|source| PackageError::BotJson {
        entry: entry.name.clone(),
        source,
    })
}

/// An error of reading the central directory: the reader's own failures apart from
/// what is wrong with the bytes.
fn open_error(error: ZipError) -> PackageError {
    match error {
        ZipError::Io(source) if !is_bad_data(&source) => PackageError::Read { source },
        source => PackageError::NotZip { source },
    }
}

/// An error of opening one entry's data.
pub(crate) fn entry_error(entry: &str, error: ZipError) -> PackageError {
    match error {
        ZipError::Io(source) => data_error(entry, source),
        other => PackageError::EntryData {
            entry: entry.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, other),
        },
    }
}

/// An error of reading one entry's data.
pub(crate) fn data_error(entry: &str, source: io::Error) -> PackageError {
    if is_bad_data(&source) {
        PackageError::EntryData {
            entry: entry.to_owned(),
            source,
        }
    } else {
        PackageError::Read { source }
    }
}

/// Whether an I/O error of the ZIP reader is about the bytes (truncated, malformed,
/// a checksum or size mismatch) rather than the reader under it.
fn is_bad_data(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput
    )
}
