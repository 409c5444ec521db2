//! Real ZIP archives for uploads: good bots, and the crafted ones a server must refuse
//! (names that escape, links, too many entries, bombs).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// An archive being written in memory.
pub(crate) struct Archive {
    zip: ZipWriter<Cursor<Vec<u8>>>,
}

impl Archive {
    pub(crate) fn new() -> Self {
        Self {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// A deflated file.
    pub(crate) fn file(self, name: &str, data: &[u8]) -> Self {
        self.file_with(name, data, SimpleFileOptions::default())
    }

    /// A file kept as it is (no compression), so the archive is as large as its data.
    pub(crate) fn stored(self, name: &str, data: &[u8]) -> Self {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        self.file_with(name, data, options)
    }

    fn file_with(mut self, name: &str, data: &[u8], options: SimpleFileOptions) -> Self {
        self.zip
            .start_file(name, options.unix_permissions(0o644))
            .expect("an in-memory archive takes a new file");
        self.zip
            .write_all(data)
            .expect("an in-memory archive takes the data");
        self
    }

    /// A symbolic link entry.
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

/// A bot in a folder, `hello-bot/bot.py` printing `said`: different words, different
/// bytes.
pub(crate) fn bot(said: &str) -> Vec<u8> {
    Archive::new()
        .file("hello-bot/bot.py", format!("print({said:?})\n").as_bytes())
        .build()
}

/// A bot and a `bot.json` naming it.
pub(crate) fn bot_with_json(json: &str) -> Vec<u8> {
    Archive::new()
        .file("bot.py", b"print('hi')\n")
        .file("bot.json", json.as_bytes())
        .build()
}

/// A bot with `size` bytes that do not compress, stored, so the archive is a little
/// over `size` bytes.
pub(crate) fn large_bot(size: usize) -> Vec<u8> {
    Archive::new()
        .file("bot.py", b"print('big')\n")
        .stored("data.bin", &noise(size))
        .build()
}

/// Bytes that do not compress: xorshift64's output.
pub(crate) fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A bot beside an entry called `name`, which the writer might not write as it is: the
/// entry is written as a placeholder of the same length and renamed in both of its
/// headers.
pub(crate) fn bot_beside(name: &str) -> Vec<u8> {
    let placeholder = "z".repeat(name.len());
    let mut zip = Archive::new()
        .file("bot.py", b"print('hi')\n")
        .file(&placeholder, b"evil")
        .build();
    rename(&mut zip, &placeholder, name);
    zip
}

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";

/// Renames the entry `from` to `to`, of the same length, in its local and central
/// headers.
fn rename(zip: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a rename in place keeps the length");
    // (signature, offset of the name's length, offset of the name) of each header.
    for (signature, len_at, name_at) in [(LOCAL, 26, 30), (CENTRAL, 28, 46)] {
        let at = (0..zip.len().saturating_sub(name_at))
            .find(|&at| {
                zip[at..].starts_with(signature) && {
                    let len = u16::from_le_bytes([zip[at + len_at], zip[at + len_at + 1]]);
                    zip.get(at + name_at..at + name_at + usize::from(len)) == Some(from.as_bytes())
                }
            })
            .unwrap_or_else(|| panic!("the archive has an entry {from:?}"));
        zip[at + name_at..at + name_at + to.len()].copy_from_slice(to.as_bytes());
    }
}
