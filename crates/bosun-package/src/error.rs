//! What can go wrong with a package, as types the server maps to statuses.
//!
//! [`PackageError`] is the one error of this crate's operations; [`PackageError::class`]
//! sorts its variants into the four answers a caller gives (a bad archive, too large,
//! already there, an I/O failure on our side). The smaller enums say exactly which
//! rule an entry name, a folder layout, a `bot.json`, a version or a package name broke,
//! each message naming the problem and the fix.

use std::io;
use std::path::PathBuf;

use bosun_core::PathIoError;
use bosun_core::package::{PackageNameError, VersionError};

use crate::metadata::MAX_BOT_JSON_BYTES;

/// Why an archive, or a folder to pack, was refused, or what failed while handling it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The bytes are not a ZIP archive, or its central directory is broken.
    #[error("the upload is not a readable ZIP archive")]
    NotZip {
        /// What the ZIP reader found wrong.
        #[source]
        source: zip::result::ZipError,
    },
    /// Reading the archive itself failed (the file or stream under it, not its content).
    #[error("could not read the archive")]
    Read {
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// More entries than [`Limits::max_entries`](crate::Limits::max_entries).
    #[error("the archive has {entries} entries, more than the {max} allowed")]
    TooManyEntries {
        /// How many entries the central directory lists.
        entries: usize,
        /// The limit.
        max: usize,
    },
    /// The entries would unpack to more than
    /// [`Limits::max_unpacked`](crate::Limits::max_unpacked) bytes.
    #[error("the archive unpacks to {unpacked} bytes, more than the {max} allowed")]
    TooLarge {
        /// The total of the sizes the entries declare.
        unpacked: u64,
        /// The limit.
        max: u64,
    },
    /// An entry's name could escape the folder it is extracted to, or is not portable.
    #[error("entry `{}` has an unsafe name: {problem}", .entry.escape_debug())]
    UnsafeName {
        /// The entry's name as the archive gives it.
        entry: String,
        /// The rule it breaks.
        problem: NameProblem,
    },
    /// An entry is a symbolic link.
    #[error("entry `{}` is a symbolic link: packages hold only files and folders", .entry.escape_debug())]
    Symlink {
        /// The entry's name.
        entry: String,
    },
    /// An entry is a device, a FIFO or a socket.
    #[error("entry `{}` is a special file (mode {mode:o}): packages hold only files and folders", .entry.escape_debug())]
    SpecialFile {
        /// The entry's name.
        entry: String,
        /// Its Unix mode, with the file type bits.
        mode: u32,
    },
    /// An entry is encrypted.
    #[error("entry `{}` is encrypted: upload an archive without a password", .entry.escape_debug())]
    Encrypted {
        /// The entry's name.
        entry: String,
    },
    /// An entry is compressed with a method other than stored or deflate.
    #[error("entry `{}` is compressed with {method}: use deflate, as every zip tool does by default", .entry.escape_debug())]
    UnsupportedCompression {
        /// The entry's name.
        entry: String,
        /// The method it uses.
        method: zip::CompressionMethod,
    },
    /// Two entries have the same name, or name the same path (`a` as a folder and `a/`).
    #[error("{}", duplicate_message(.entry.as_deref()))]
    Duplicate {
        /// The path both entries name, when known (the ZIP reader does not say which
        /// name it found twice).
        entry: Option<String>,
    },
    /// A path is a file in one entry and a folder holding other entries in another.
    #[error("`{}` is both a file and a folder in the archive", .entry.escape_debug())]
    FileAndFolder {
        /// The path.
        entry: String,
    },
    /// The archive holds no bot `bosun run` could start.
    #[error("the archive holds no bot: {reason}")]
    NoBot {
        /// What was looked for and not found.
        reason: NoBotReason,
    },
    /// The `bot.json` next to the entry script cannot be used.
    #[error("`{}` cannot be used", .entry.escape_debug())]
    BotJson {
        /// The entry's name in the archive.
        entry: String,
        /// What is wrong with it.
        #[source]
        source: BotJsonError,
    },
    /// An entry's data does not match its header: more bytes than declared, a bad
    /// checksum, a broken deflate stream. A lying size is refused as it is met, so a
    /// crafted archive cannot unpack past its declared size.
    #[error("entry `{}`'s data does not match its header", .entry.escape_debug())]
    EntryData {
        /// The entry's name.
        entry: String,
        /// What the reader found.
        #[source]
        source: io::Error,
    },
    /// The extraction's target exists already; it is never replaced.
    #[error("{} exists already: this package version was extracted before", .target.display())]
    AlreadyExtracted {
        /// The folder that was to be created.
        target: PathBuf,
    },
    /// A folder to pack has no entry script at its top.
    #[error("{} has neither bot.py nor main.py at its top: add one of them", .dir.display())]
    NoBotInDir {
        /// The folder.
        dir: PathBuf,
    },
    /// A file in a folder to pack has a name the archive could not carry safely.
    #[error("{} cannot go into a package: {problem}", .path.display())]
    UnpackableName {
        /// The file or folder.
        path: PathBuf,
        /// The rule its name breaks.
        problem: NameProblem,
    },
    /// Writing the archive being packed failed.
    #[error("could not write the archive")]
    Write {
        /// The writer's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// A file operation on our side failed.
    #[error(transparent)]
    Io(#[from] PathIoError),
}

fn duplicate_message(entry: Option<&str>) -> String {
    match entry {
        Some(entry) => format!(
            "entry `{}` appears twice in the archive",
            entry.escape_debug()
        ),
        None => "the archive has two entries of the same name".to_owned(),
    }
}

/// The kind of answer a [`PackageError`] calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The archive or folder is refused as it is (HTTP 400).
    Invalid,
    /// The archive is over a size or count limit (HTTP 413).
    TooLarge,
    /// The target exists already (HTTP 409).
    Exists,
    /// An I/O failure on our side, not the uploader's fault (HTTP 500).
    Io,
}

impl PackageError {
    /// The kind of answer this error calls for.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::TooManyEntries { .. } | Self::TooLarge { .. } => ErrorClass::TooLarge,
            Self::AlreadyExtracted { .. } => ErrorClass::Exists,
            Self::Read { .. } | Self::Write { .. } | Self::Io(_) => ErrorClass::Io,
            Self::NotZip { .. }
            | Self::UnsafeName { .. }
            | Self::Symlink { .. }
            | Self::SpecialFile { .. }
            | Self::Encrypted { .. }
            | Self::UnsupportedCompression { .. }
            | Self::Duplicate { .. }
            | Self::FileAndFolder { .. }
            | Self::NoBot { .. }
            | Self::BotJson { .. }
            | Self::EntryData { .. }
            | Self::NoBotInDir { .. }
            | Self::UnpackableName { .. } => ErrorClass::Invalid,
        }
    }
}

/// The rule an entry name breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name starts with `/`.
    Absolute,
    /// A segment is `..`.
    ParentDir,
    /// A segment is `.` or empty (`a//b`).
    EmptyOrDotSegment,
    /// The name has `:` (a drive letter such as `C:`, or an NTFS stream).
    Colon,
    /// The name has `\`, which Windows reads as a separator.
    Backslash,
    /// The name has a NUL or another control character.
    Control,
    /// The name is not UTF-8 (packing only: archive names are decoded by the reader).
    NotUtf8,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::Absolute => "it is absolute (starts with `/`)",
            Self::ParentDir => "it has a `..` segment",
            Self::EmptyOrDotSegment => "it has an empty or `.` segment",
            Self::Colon => "it has `:` (a drive letter or a stream name on Windows)",
            Self::Backslash => "it has `\\`, a separator on Windows",
            Self::Control => "it has a control character",
            Self::NotUtf8 => "it is not UTF-8",
        })
    }
}

/// Why no runnable bot was found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoBotReason {
    /// The archive has no files.
    Empty,
    /// The archive's top holds files (or several folders) but no entry script.
    NotAtTop,
    /// The archive holds one folder, without an entry script at its top.
    NotInFolder {
        /// The folder, without its trailing `/`.
        folder: String,
    },
}

impl std::fmt::Display for NoBotReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("it has no files: add bot.py or main.py"),
            Self::NotAtTop => f.write_str(
                "there is no bot.py or main.py at its top, nor one folder holding one: \
                 put the bot at the top or in a single folder",
            ),
            Self::NotInFolder { folder } => write!(
                f,
                "its one folder `{}` has no bot.py or main.py at its top: add one of them",
                folder.escape_debug()
            ),
        }
    }
}

/// What is wrong with a `bot.json`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BotJsonError {
    /// Larger than [`MAX_BOT_JSON_BYTES`].
    #[error(
        "it is larger than {MAX_BOT_JSON_BYTES} bytes: keep it to name, description and version"
    )]
    TooLarge,
    /// Not JSON.
    #[error("it is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error(r#"it is not a JSON object: write {{"name": …, "description": …, "version": …}}"#)]
    NotObject,
    /// A field is neither a string nor `null`.
    #[error("its field `{field}` is not a string: write it in quotes")]
    NotString {
        /// The field, as this crate names it (camelCase).
        field: &'static str,
    },
    /// Its name is not a valid package name.
    #[error(transparent)]
    Name(#[from] PackageNameError),
    /// Its version is not a valid version.
    #[error(transparent)]
    Version(#[from] VersionError),
}
