//! bosun's bot packages: the ZIP archives a Python bot is uploaded, stored and
//! downloaded in.
//!
//! A package holds a bot folder, the kind `bosun run` starts: `bot.py` (else
//! `main.py`) at its top, with whatever else the bot needs and an optional
//! `requirements.txt`. The archive may hold that folder's content at its top, or inside
//! exactly one top-level folder, as the archives GitHub makes do. An optional
//! `bot.json` beside the entry script gives a name, a description and a version
//! ([`Metadata`]).
//!
//! This crate is the part with no network and no database:
//!
//! - [`inspect`] checks an upload from its central directory alone and says what it
//!   holds ([`Manifest`]): a ZIP, within [`Limits`], every name safe to extract
//!   anywhere, no links or special files, a bot where `bosun run` looks for one.
//! - [`extract`] unpacks a checked archive into a new folder, all or nothing, counting
//!   the bytes it decompresses so that a lying header cannot unpack past its size.
//! - [`pack_dir`] makes a reproducible archive of a bot folder, for the CLI.
//! - [`Version`] and [`PackageName`] are the checked labels the store files packages
//!   under; [`HashingWriter`] and [`Sha256Digest`] give a package's checksum as it
//!   streams.
//!
//! Every refusal is a [`PackageError`]; [`PackageError::class`] says whether it is the
//! archive's fault, a limit, an existing target or an I/O failure on our side.

mod entry_name;
pub mod error;
mod extract;
mod inspect;
mod layout;
mod metadata;
mod pack;
mod sha256;

pub use bosun_core::package::{
    DEFAULT_VERSION, MAX_PACKAGE_NAME_CHARS, MAX_VERSION_CHARS, PackageName, PackageNameError,
    Version, VersionError,
};
pub use error::{BotJsonError, ErrorClass, NameProblem, NoBotReason, PackageError};
pub use extract::{Extracted, extract};
pub use inspect::{DEFAULT_MAX_ENTRIES, DEFAULT_MAX_UNPACKED, Limits, Manifest, inspect};
pub use layout::EntryScript;
pub use metadata::{BOT_JSON, MAX_BOT_JSON_BYTES, Metadata};
pub use pack::{EXCLUDED_EXTENSIONS, EXCLUDED_NAMES, Packed, pack_dir};
pub use sha256::{HashingWriter, Sha256Digest, sha256_hex};
