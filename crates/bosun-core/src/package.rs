//! A bot package's labels: its name and its versions, checked where they are read
//! (upload forms, `bot.json`, routes, the store), because each may become a folder
//! name on a machine that runs the bot.

mod error;
mod name;
mod version;

/// For a checked text, `struct $name(String)` whose `FromStr` does the checking: its
/// text (`as_str`, `Display`) and serde as a string, read through `FromStr` so that
/// what fails the check fails to deserialize too.
macro_rules! checked_text {
    ($name:ident) => {
        impl $name {
            /// The text as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
use checked_text;

pub use error::{PackageNameError, VersionError};
pub use name::{MAX_PACKAGE_NAME_CHARS, PackageName};
pub use version::{DEFAULT_VERSION, MAX_VERSION_CHARS, Version};
