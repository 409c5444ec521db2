//! The ids a server sends, checked before they name a file or a folder.
//!
//! Execution ids and package ids arrive over the network and end up in paths
//! (`outbox/<id>.json`, `packages/<id>/…`, log folders), so nothing is trusted: an id
//! is a UUID or a safe name — 1 to 128 ASCII letters, digits, `-`, `_` or `.`, not
//! starting with `.` — and nothing else. Both kinds of id the seed shows
//! (`87654321-4321-…`, `execution-123`) pass; `..`, `a/b`, `C:x` and empty do not.

use std::fmt;

/// The most characters an id may have.
pub const MAX_ID_CHARS: usize = 128;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {value:?} is not a UUID or a safe name (1-128 of A-Z a-z 0-9 - _ ., not starting with .)"
)]
pub struct IdError {
    /// `execution id` or `package id`.
    pub what: &'static str,
    /// The id as received (cut to its first 160 characters).
    pub value: String,
}

/// Whether `text` is a UUID or a safe name.
fn is_safe(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_CHARS
        && !text.starts_with('.')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check(what: &'static str, text: &str) -> Result<String, IdError> {
    if is_safe(text) {
        Ok(text.to_owned())
    } else {
        Err(IdError {
            what,
            value: text.chars().take(160).collect(),
        })
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `text`: a UUID or a safe name.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                check($what, text).map(Self)
            }

            /// The id's text, safe as one path component.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }
    };
}

id_type!(
    /// A checked execution id, as the server names an execution.
    ExecutionId,
    "execution id"
);
id_type!(
    /// A checked package id.
    PackageId,
    "package id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_the_seeds_names_are_ids() {
        for good in [
            "87654321-4321-4321-4321-210987654321",
            "0190A7E2-7D1C-7AA0-8000-0123456789AB",
            "execution-123",
            "run_7.2",
            &"a".repeat(MAX_ID_CHARS),
        ] {
            assert_eq!(ExecutionId::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn anything_that_could_leave_a_folder_is_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "C:x",
            ".hidden",
            "a b",
            "é",
            "a\0b",
            &"a".repeat(MAX_ID_CHARS + 1),
        ] {
            let error = PackageId::parse(bad).unwrap_err();
            assert_eq!(error.what, "package id");
        }
        assert!(
            ExecutionId::parse("../../etc")
                .unwrap_err()
                .to_string()
                .starts_with("execution id \"../../etc\" is not")
        );
    }
}
