//! The name of a stored package object, checked once: a relative path of plain segments
//! (`tenant/package-id/1.2.0.zip`). It is the only way into the store, so no key can
//! reach outside the store's directory or bucket prefix, and every key is the same
//! string on disk, in S3 and in a link's URL (no escaping anywhere).
//!
//! A segment holds ASCII letters, digits, `-`, `_` and `.`, and does not start with a
//! dot: that rules out `.` and `..`, and leaves dot names to the store itself (its
//! secret, its temporary files, S3 staging objects), out of every key's reach.

use std::fmt;
use std::str::FromStr;

use crate::error::StorageError;

/// The longest key, in bytes: S3's limit.
const MAX_KEY: usize = 1024;
/// The longest segment, in bytes: a file name's limit on common file systems.
const MAX_SEGMENT: usize = 255;

/// A validated package object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// What makes a string not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFault {
    /// The key is empty.
    Empty,
    /// The key is longer than 1024 bytes, or a segment longer than 255.
    TooLong,
    /// The key starts with `/`: keys are relative.
    Absolute,
    /// Two slashes in a row, or a slash at the end.
    EmptySegment,
    /// A `.` or `..` segment.
    DotSegment,
    /// A segment starting with a dot, which the store keeps for itself.
    Hidden,
    /// A backslash, a path separator elsewhere.
    Backslash,
    /// A character other than ASCII letters, digits, `-`, `_`, `.` and `/`.
    Character(char),
}

impl fmt::Display for KeyFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong => write!(
                f,
                "it is longer than {MAX_KEY} bytes or has a segment longer than {MAX_SEGMENT}"
            ),
            Self::Absolute => f.write_str("it starts with '/'"),
            Self::EmptySegment => f.write_str("it has an empty segment"),
            Self::DotSegment => f.write_str("it has a '.' or '..' segment"),
            Self::Hidden => f.write_str("a segment starts with '.'"),
            Self::Backslash => f.write_str("it has a backslash"),
            Self::Character(c) => write!(f, "it has the character {c:?}"),
        }
    }
}

impl ObjectKey {
    /// Checks `key` and makes it a key.
    pub fn new(key: impl Into<String>) -> Result<Self, StorageError> {
        let key = key.into();
        match fault(&key) {
            None => Ok(Self(key)),
            Some(why) => Err(StorageError::BadKey { key, why }),
        }
    }

    /// The key as a string, `/` between segments.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

/// What is wrong with `key`, if anything.
fn fault(key: &str) -> Option<KeyFault> {
    if key.is_empty() {
        return Some(KeyFault::Empty);
    }
    if key.len() > MAX_KEY {
        return Some(KeyFault::TooLong);
    }
    if key.starts_with('/') {
        return Some(KeyFault::Absolute);
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
    {
        return Some(if c == '\\' {
            KeyFault::Backslash
        } else {
            KeyFault::Character(c)
        });
    }
    for segment in key.split('/') {
        match segment {
            "" => return Some(KeyFault::EmptySegment),
            "." | ".." => return Some(KeyFault::DotSegment),
            s if s.starts_with('.') => return Some(KeyFault::Hidden),
            s if s.len() > MAX_SEGMENT => return Some(KeyFault::TooLong),
            _ => {}
        }
    }
    None
}

impl FromStr for ObjectKey {
    type Err = StorageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = StorageError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(key: &str) -> KeyFault {
        match ObjectKey::new(key) {
            Err(StorageError::BadKey { why, .. }) => why,
            other => panic!("{key:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn package_shaped_keys_are_accepted_as_given() {
        for key in [
            "acme/0190a3c4-7d1e-7000-8000-000000000001/1.2.0.zip",
            "a",
            "t/p/v1_final-2.zip",
            "tenant/pkg/1..2.zip",
        ] {
            assert_eq!(ObjectKey::new(key).expect("a valid key").as_str(), key);
        }
    }

    #[test]
    fn keys_that_could_leave_the_store_are_refused() {
        assert_eq!(why(".."), KeyFault::DotSegment);
        assert_eq!(why("acme/../other/p.zip"), KeyFault::DotSegment);
        assert_eq!(why("acme/./p.zip"), KeyFault::DotSegment);
        assert_eq!(why("/etc/passwd"), KeyFault::Absolute);
        assert_eq!(why("acme\\..\\p.zip"), KeyFault::Backslash);
        assert_eq!(why("acme//p.zip"), KeyFault::EmptySegment);
        assert_eq!(why("acme/p/"), KeyFault::EmptySegment);
        assert_eq!(why(""), KeyFault::Empty);
        assert_eq!(why(".link-secret"), KeyFault::Hidden);
        assert_eq!(why("acme/.staging/x"), KeyFault::Hidden);
        assert_eq!(why("acme/p q.zip"), KeyFault::Character(' '));
        assert_eq!(why("acme/p%2e.zip"), KeyFault::Character('%'));
        assert_eq!(why("acme/p\n.zip"), KeyFault::Character('\n'));
        assert_eq!(why("acme/é.zip"), KeyFault::Character('é'));
    }

    #[test]
    fn over_long_keys_and_segments_are_refused() {
        assert_eq!(why(&"a".repeat(256)), KeyFault::TooLong);
        assert_eq!(why(&["a"; 513].join("/")), KeyFault::TooLong);
        assert!(ObjectKey::new("a".repeat(255)).is_ok());
    }
}
