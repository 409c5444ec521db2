//! A package version: a label users choose, checked because it becomes a folder name.
//!
//! Versions are free-form (`1.0.0`, `2024-06-01`, `1.2.0-rc.1+build.5`): bosun does not
//! order them, it only keeps each one apart. What it refuses is what could turn a
//! version into a path or make it unreadable: separators, whitespace, control
//! characters, the characters Windows forbids in file names, and `.`/`..`.

use std::str::FromStr;

use super::VersionError;

/// The most characters a version may have.
pub const MAX_VERSION_CHARS: usize = 64;

/// The version a package gets when none is given.
pub const DEFAULT_VERSION: &str = "1.0.0";

/// Characters refused besides whitespace and control characters: the separators, and
/// the rest of what Windows forbids in a file name (an agent may run there).
const REFUSED: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// A checked package version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(String);

impl Default for Version {
    fn default() -> Self {
        Self(DEFAULT_VERSION.to_owned())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.is_empty() {
            return Err(VersionError::Empty);
        }
        let chars = value.chars().count();
        if chars > MAX_VERSION_CHARS {
            return Err(VersionError::TooLong {
                value: value.to_owned(),
                chars,
            });
        }
        if let Some(found) = value
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || REFUSED.contains(c))
        {
            return Err(VersionError::Char {
                value: value.to_owned(),
                found,
            });
        }
        if value == "." || value == ".." {
            return Err(VersionError::Dots {
                value: value.to_owned(),
            });
        }
        Ok(Self(value.to_owned()))
    }
}

super::checked_text!(Version);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_version_shapes_are_kept_as_written() {
        for ok in ["1.0.0", "2024-06-01", "1.2.0-rc.1+build.5", "v3", "1..2"] {
            assert_eq!(ok.parse::<Version>().unwrap().as_str(), ok);
        }
        assert_eq!(Version::default().to_string(), "1.0.0");
    }

    #[test]
    fn a_version_that_could_be_a_path_is_refused_with_the_fix() {
        let error = "a/b".parse::<Version>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "version `a/b` has `/`: use letters, digits, `.`, `-`"
        );
        for bad in ["a\\b", "1 0", "1\t0", "1\u{0}", "C:1", "1|2"] {
            assert!(
                matches!(bad.parse::<Version>(), Err(VersionError::Char { .. })),
                "{bad:?}"
            );
        }
        assert_eq!("".parse::<Version>(), Err(VersionError::Empty));
        assert!(matches!(
            "..".parse::<Version>(),
            Err(VersionError::Dots { .. })
        ));
        assert!(matches!(
            ".".parse::<Version>(),
            Err(VersionError::Dots { .. })
        ));
        let long = "1".repeat(MAX_VERSION_CHARS + 1);
        assert!(matches!(
            long.parse::<Version>(),
            Err(VersionError::TooLong { chars: 65, .. })
        ));
        assert!("1".repeat(MAX_VERSION_CHARS).parse::<Version>().is_ok());
    }

    #[test]
    fn a_control_character_is_shown_escaped() {
        let error = "1\n0".parse::<Version>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "version `1\\n0` has `\\n`: use letters, digits, `.`, `-`"
        );
    }

    #[test]
    fn serde_reads_and_writes_a_checked_string() {
        let version: Version = serde_json::from_str(r#""2.1""#).unwrap();
        assert_eq!(serde_json::to_string(&version).unwrap(), r#""2.1""#);
        let error = serde_json::from_str::<Version>(r#""../x""#).unwrap_err();
        assert!(error.to_string().contains("has `/`"), "{error}");
    }
}
