//! The package store's errors: what it was doing and to which object or file, with the
//! underlying error as the source. A link that does not check out has its own type,
//! [`LinkError`], because its cases become HTTP answers rather than failures.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::key::{KeyFault, ObjectKey};

/// A package store operation that did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An object is stored under the key already; objects are never replaced.
    #[error("a package object is stored under {key} already")]
    Exists {
        /// The key that was taken.
        key: ObjectKey,
    },
    /// Nothing is stored under the key.
    #[error("no package object is stored under {key}")]
    NotFound {
        /// The key that was asked for.
        key: ObjectKey,
    },
    /// A file or directory of the disk store could not be used.
    #[error("could not {about} {path}")]
    Io {
        /// What the store was doing ("write", "create the directory", …).
        about: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes to store could not be read: the upload broke off.
    #[error("could not read the bytes to store")]
    Body {
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The system's random source failed (for a secret or a temporary name).
    #[error("could not draw random bytes")]
    Random {
        /// Its error.
        #[source]
        source: getrandom::Error,
    },
    /// The S3 bucket refused or could not be reached.
    #[error("S3 request failed while {about}")]
    S3 {
        /// What the store was doing.
        about: &'static str,
        /// The S3 client's error.
        #[source]
        source: object_store::Error,
    },
    /// A key that is not a valid package object key.
    #[error("{key:?} is not a valid package object key: {why}")]
    BadKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        why: KeyFault,
    },
    /// A link lifetime outside what links support (1 second to 7 days, SigV4's limit).
    #[error("a link lifetime must be between 1 second and 7 days, not {lifetime:?}")]
    BadLifetime {
        /// The lifetime asked for.
        lifetime: Duration,
    },
    /// The link secret file is there but is not a secret this store wrote.
    #[error(
        "the link secret {path} is not 32 bytes; remove it to make a new one (links signed with it stop working)"
    )]
    BadSecret {
        /// The secret file.
        path: PathBuf,
    },
    /// The public base URL of disk links cannot carry a path.
    #[error("the public base URL {url} must be http or https, without a query or fragment")]
    BadPublicBase {
        /// The URL as given.
        url: url::Url,
    },
    /// A setting the S3 configuration needs is not in the environment.
    #[error("{var} is not set")]
    MissingEnv {
        /// The variable.
        var: &'static str,
    },
    /// The S3 endpoint in the environment is not a URL.
    #[error("{var} is not a URL: {value:?}")]
    BadEndpoint {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
}

/// Why a disk link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The link was signed by this store but its time is up.
    #[error("the link expired at {expired_at}")]
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// The signature does not match the key and expiry: the link was not made by this
    /// store, or was changed.
    #[error("the link's signature does not match")]
    BadSignature,
    /// A part of the link is not in the form links have.
    #[error("the link's {part} is malformed")]
    Malformed {
        /// Which part.
        part: LinkPart,
    },
}

/// A part of a disk link that can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkPart {
    /// `expires`: Unix seconds, decimal, without sign or leading zeros.
    Expires,
    /// `signature`: 64 lowercase hex digits.
    Signature,
}

impl std::fmt::Display for LinkPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Expires => "expiry",
            Self::Signature => "signature",
        })
    }
}

/// The store's result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
