//! A package's own description of itself: the optional `bot.json` beside its entry
//! script.
//!
//! `{"name": …, "description": …, "version": …}`, camelCase as bosun writes JSON, any
//! other case accepted (`Name`, as .NET tools write it). Other fields are left alone, a
//! `null` or empty string counts as not given, and a name or version is checked as the
//! store checks one given to it. The file is read whole, so it is capped at
//! [`MAX_BOT_JSON_BYTES`].

use serde_json::{Map, Value};

use crate::error::BotJsonError;
use bosun_core::package::PackageName;
use bosun_core::package::Version;

/// The file name of a package's metadata, beside its entry script.
pub const BOT_JSON: &str = "bot.json";

/// The largest `bot.json` read.
pub const MAX_BOT_JSON_BYTES: u64 = 64 * 1024;

/// What a package's `bot.json` says about it; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The package's name.
    pub name: Option<PackageName>,
    /// What the bot does, for people.
    pub description: Option<String>,
    /// The package's version.
    pub version: Option<Version>,
}

impl Metadata {
    /// Reads a `bot.json`'s bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BotJsonError> {
        let value: Value = serde_json::from_slice(bytes).map_err(BotJsonError::NotJson)?;
        let Value::Object(object) = value else {
            return Err(BotJsonError::NotObject);
        };
        Ok(Self {
            name: text(&object, "name")?.map(str::parse).transpose()?,
            description: text(&object, "description")?.map(str::to_owned),
            version: text(&object, "version")?.map(str::parse).transpose()?,
        })
    }
}

/// The string field `field` in any case; `null` and `""` are not given.
fn text<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, BotJsonError> {
    match bosun_core::case::get(object, field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(BotJsonError::NotString { field }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_and_pascal_case_fields_are_read() {
        let camel = Metadata::from_json(
            br#"{"name": "invoices", "description": "Reads invoices", "version": "2.0", "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(camel.name.unwrap().as_str(), "invoices");
        assert_eq!(camel.description.as_deref(), Some("Reads invoices"));
        assert_eq!(camel.version.unwrap().as_str(), "2.0");
        let pascal = Metadata::from_json(br#"{"Name": "invoices", "VERSION": "3"}"#).unwrap();
        assert_eq!(pascal.name.unwrap().as_str(), "invoices");
        assert_eq!(pascal.version.unwrap().as_str(), "3");
        assert_eq!(pascal.description, None);
    }

    #[test]
    fn null_and_empty_fields_are_not_given() {
        let metadata =
            Metadata::from_json(br#"{"name": null, "version": "", "description": null}"#).unwrap();
        assert_eq!(metadata, Metadata::default());
    }

    #[test]
    fn a_wrong_bot_json_says_what_is_wrong() {
        assert!(matches!(
            Metadata::from_json(b"{name: x}"),
            Err(BotJsonError::NotJson(_))
        ));
        assert!(matches!(
            Metadata::from_json(b"[]"),
            Err(BotJsonError::NotObject)
        ));
        assert!(matches!(
            Metadata::from_json(br#"{"version": 2}"#),
            Err(BotJsonError::NotString { field: "version" })
        ));
        assert!(matches!(
            Metadata::from_json(br#"{"version": "../2"}"#),
            Err(BotJsonError::Version(_))
        ));
        assert!(matches!(
            Metadata::from_json(br#"{"name": ".git"}"#),
            Err(BotJsonError::Name(_))
        ));
    }
}
