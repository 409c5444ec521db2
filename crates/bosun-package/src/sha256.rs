//! SHA-256 of a package as it streams: the checksum the store keeps beside each
//! version, and agents check after a download.
//!
//! [`HashingWriter`] hashes what is written through it, so an upload is saved to disk
//! and hashed in one pass; [`Sha256Digest::of_reader`] hashes a file that is already
//! there.

use std::fmt;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// A SHA-256 digest; shown as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of everything `reader` yields, and how many bytes that was.
    pub fn of_reader(mut reader: impl Read) -> io::Result<(Self, u64)> {
        let mut writer = HashingWriter::new(io::sink());
        let bytes = io::copy(&mut reader, &mut writer)?;
        Ok((writer.finish().1, bytes))
    }

    /// The digest's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256Digest::of(bytes).to_hex()
}

/// A writer that hashes every byte its inner writer accepts.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W> HashingWriter<W> {
    /// Hashes what is written to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// How many bytes have gone through.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The inner writer and the digest of everything written to it.
    pub fn finish(self) -> (W, Sha256Digest) {
        (self.inner, Sha256Digest(self.hasher.finalize().into()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only what the inner writer took: a short write is hashed as short.
        let taken = self.inner.write(buf)?;
        self.hasher.update(&buf[..taken]);
        self.written += taken as u64;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256("abc"), from FIPS 180-2's examples.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn the_digest_is_the_standard_one_in_hex() {
        assert_eq!(sha256_hex(b"abc"), ABC);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Sha256Digest::of(b"abc").as_bytes()[0], 0xba);
    }

    #[test]
    fn a_stream_is_written_through_and_hashed_as_written() {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"a").unwrap();
        writer.write_all(b"bc").unwrap();
        assert_eq!(writer.written(), 3);
        let (inner, digest) = writer.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(digest.to_hex(), ABC);
        let (read, bytes) = Sha256Digest::of_reader(&b"abc"[..]).unwrap();
        assert_eq!((read.to_string(), bytes), (ABC.to_owned(), 3));
    }

    /// Takes at most two bytes a call.
    struct Short(Vec<u8>);

    impl Write for Short {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(2);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_hash_only_what_was_taken() {
        let mut writer = HashingWriter::new(Short(Vec::new()));
        assert_eq!(writer.write(b"abc").unwrap(), 2);
        writer.write_all(b"c").unwrap();
        let (inner, digest) = writer.finish();
        assert_eq!(inner.0, b"abc");
        assert_eq!(digest.to_hex(), ABC);
    }
}
