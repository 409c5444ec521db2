//! Why a text is not a package's name or version.

use super::{MAX_PACKAGE_NAME_CHARS, MAX_VERSION_CHARS};

/// Why a string is not a [`Version`](super::Version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// Nothing.
    #[error("a version cannot be empty: give one such as `1.0.0`")]
    Empty,
    /// More than [`MAX_VERSION_CHARS`] characters.
    #[error("version `{}` has {chars} characters: use at most {MAX_VERSION_CHARS}", .value.escape_debug())]
    TooLong {
        /// The version given.
        value: String,
        /// How many characters it has.
        chars: usize,
    },
    /// A character a version may not have.
    #[error("version `{}` has `{}`: use letters, digits, `.`, `-`", .value.escape_debug(), .found.escape_debug())]
    Char {
        /// The version given.
        value: String,
        /// The first character refused.
        found: char,
    },
    /// `.` or `..`, which read as folders.
    #[error("version `{value}` reads as a folder: use letters, digits, `.`, `-`")]
    Dots {
        /// The version given.
        value: String,
    },
}

/// Why a string is not a [`PackageName`](super::PackageName).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackageNameError {
    /// Nothing.
    #[error("a package name cannot be empty: give it a name")]
    Empty,
    /// More than [`MAX_PACKAGE_NAME_CHARS`] characters.
    #[error("package name `{}` has {chars} characters: use at most {MAX_PACKAGE_NAME_CHARS}", .value.escape_debug())]
    TooLong {
        /// The name given.
        value: String,
        /// How many characters it has.
        chars: usize,
    },
    /// A character a package name may not have.
    #[error("package name `{}` has `{}`: use letters, digits, `-`, `_`, `.`, spaces", .value.escape_debug(), .found.escape_debug())]
    Char {
        /// The name given.
        value: String,
        /// The first character refused.
        found: char,
    },
    /// Starts with `.`, which hides it as a folder.
    #[error("package name `{}` starts with `.`: start it with a letter or digit", .value.escape_debug())]
    LeadingDot {
        /// The name given.
        value: String,
    },
    /// Starts or ends with a space, which makes it look like another name.
    #[error("package name `{}` starts or ends with a space: remove it", .value.escape_debug())]
    OuterSpace {
        /// The name given.
        value: String,
    },
}
