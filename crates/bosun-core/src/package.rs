//! A bot package's labels: its name and its versions, checked where they are read
//! (upload forms, `bot.json`, routes, the store), because each may become a folder
//! name on a machine that runs the bot.

mod error;
mod name;
mod version;

pub use error::{PackageNameError, VersionError};
pub use name::{MAX_PACKAGE_NAME_CHARS, PackageName};
pub use version::{DEFAULT_VERSION, MAX_VERSION_CHARS, Version};
