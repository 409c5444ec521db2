//! Building real archives, and patching the fields of their headers that a crafted
//! archive lies in.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// An archive being written in memory.
pub(crate) struct Builder {
    zip: ZipWriter<Cursor<Vec<u8>>>,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// A deflated file with mode 0644.
    pub(crate) fn file(self, name: &str, data: &[u8]) -> Self {
        self.file_with(
            name,
            data,
            SimpleFileOptions::default().unix_permissions(0o644),
        )
    }

    /// A file with the given options.
    pub(crate) fn file_with(mut self, name: &str, data: &[u8], options: SimpleFileOptions) -> Self {
        self.zip
            .start_file(name, options)
            .expect("an in-memory archive takes a new file");
        self.zip
            .write_all(data)
            .expect("an in-memory archive takes the data");
        self
    }

    /// A stored (uncompressed) file.
    pub(crate) fn stored(self, name: &str, data: &[u8]) -> Self {
        self.file_with(
            name,
            data,
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
        )
    }

    pub(crate) fn dir(mut self, name: &str) -> Self {
        self.zip
            .add_directory(name, SimpleFileOptions::default())
            .expect("an in-memory archive takes a folder");
        self
    }

    pub(crate) fn symlink(mut self, name: &str, target: &str) -> Self {
        self.zip
            .add_symlink(name, target, SimpleFileOptions::default())
            .expect("an in-memory archive takes a link");
        self
    }

    pub(crate) fn build(self) -> Vec<u8> {
        self.zip
            .finish()
            .expect("an in-memory archive finishes")
            .into_inner()
    }
}

/// An archive of deflated files.
pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    files
        .iter()
        .fold(Builder::new(), |builder, (name, data)| {
            builder.file(name, data)
        })
        .build()
}

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";

/// The offsets of the local and the central header of the entry called `name`.
fn headers(zip: &[u8], name: &str) -> (usize, usize) {
    let find = |signature: &[u8], name_len_at: usize, name_at: usize| {
        (0..zip.len().saturating_sub(name_at))
            .find(|&at| {
                zip[at..].starts_with(signature) && {
                    let len =
                        u16::from_le_bytes([zip[at + name_len_at], zip[at + name_len_at + 1]]);
                    zip.get(at + name_at..at + name_at + usize::from(len)) == Some(name.as_bytes())
                }
            })
            .unwrap_or_else(|| panic!("the archive has an entry {name:?}"))
    };
    (find(LOCAL, 26, 30), find(CENTRAL, 28, 46))
}

fn put_u32(zip: &mut [u8], at: usize, value: u32) {
    zip[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u16(zip: &mut [u8], at: usize, value: u16) {
    zip[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// Makes both headers of `name` declare `size` uncompressed bytes.
pub(crate) fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let (local, central) = headers(zip, name);
    put_u32(zip, local + 22, size);
    put_u32(zip, central + 24, size);
}

/// Makes both headers of `name` name the compression method `method`.
pub(crate) fn declare_method(zip: &mut [u8], name: &str, method: u16) {
    let (local, central) = headers(zip, name);
    put_u16(zip, local + 8, method);
    put_u16(zip, central + 10, method);
}

/// Sets the "encrypted" flag in both headers of `name`.
pub(crate) fn declare_encrypted(zip: &mut [u8], name: &str) {
    let (local, central) = headers(zip, name);
    zip[local + 6] |= 1;
    zip[central + 8] |= 1;
}

/// Renames the entry `from` to `to` (of the same length) in both its headers: for
/// names the writer would not write.
pub(crate) fn rename(zip: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a rename in place keeps the length");
    let (local, central) = headers(zip, from);
    zip[local + 30..local + 30 + to.len()].copy_from_slice(to.as_bytes());
    zip[central + 46..central + 46 + to.len()].copy_from_slice(to.as_bytes());
}

/// The names in a folder, sorted.
pub(crate) fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder can be read")
        .map(|entry| {
            entry
                .expect("the folder can be read")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
