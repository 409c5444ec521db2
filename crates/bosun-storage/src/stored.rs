//! What a `put` reports about the bytes it stored, counted and hashed as they streamed
//! past, so that the size and SHA-256 a package record keeps are those of the bytes
//! written, not a second read of them.

use std::fmt;

use sha2::{Digest, Sha256 as Hasher};

/// The size and digest of a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Its length in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256,
}

/// A SHA-256 digest; shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

/// Counts and hashes bytes as a `put` passes them on.
#[derive(Default)]
pub(crate) struct Tally {
    size: u64,
    hasher: Hasher,
}

impl Tally {
    /// Adds `bytes`, the next ones of the object.
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.hasher.update(bytes);
    }

    /// The size and digest of everything added.
    pub(crate) fn finish(self) -> Stored {
        Stored {
            size: self.size,
            sha256: Sha256(self.hasher.finalize().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_of_pieces_is_the_digest_of_the_whole() {
        let mut tally = Tally::default();
        tally.add(b"ab");
        tally.add(b"");
        tally.add(b"c");
        let stored = tally.finish();
        assert_eq!(stored.size, 3);
        // SHA-256("abc"), FIPS 180-2's first example.
        assert_eq!(
            stored.sha256.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
