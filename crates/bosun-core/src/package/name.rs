//! A package's name: what people call a bot in the store, checked because it is shown
//! in lists and may name a folder.
//!
//! Letters and digits of any script, `-`, `_`, `.` and inner spaces; no separators, so a
//! name is never a path; not starting with `.`, so its folder is never hidden; no
//! leading or trailing space, so two names never look the same.

use std::str::FromStr;

use super::PackageNameError;

/// The most characters a package name may have.
pub const MAX_PACKAGE_NAME_CHARS: usize = 100;

/// A checked package name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl FromStr for PackageName {
    type Err = PackageNameError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.is_empty() {
            return Err(PackageNameError::Empty);
        }
        let chars = value.chars().count();
        if chars > MAX_PACKAGE_NAME_CHARS {
            return Err(PackageNameError::TooLong {
                value: value.to_owned(),
                chars,
            });
        }
        if let Some(found) = value
            .chars()
            .find(|&c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')))
        {
            return Err(PackageNameError::Char {
                value: value.to_owned(),
                found,
            });
        }
        if value.starts_with('.') {
            return Err(PackageNameError::LeadingDot {
                value: value.to_owned(),
            });
        }
        if value.starts_with(' ') || value.ends_with(' ') {
            return Err(PackageNameError::OuterSpace {
                value: value.to_owned(),
            });
        }
        Ok(Self(value.to_owned()))
    }
}

super::checked_text!(PackageName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_give_bots_are_kept() {
        for ok in [
            "invoice-bot",
            "Invoice Bot 2",
            "my_bot.v2",
            "Rechnungsprüfung",
            "a",
        ] {
            assert_eq!(ok.parse::<PackageName>().unwrap().to_string(), ok);
        }
        assert!(
            "x".repeat(MAX_PACKAGE_NAME_CHARS)
                .parse::<PackageName>()
                .is_ok()
        );
    }

    #[test]
    fn names_that_could_be_paths_or_hidden_are_refused_with_the_fix() {
        assert_eq!(
            "a/b".parse::<PackageName>().unwrap_err().to_string(),
            "package name `a/b` has `/`: use letters, digits, `-`, `_`, `.`, spaces"
        );
        for bad in ["a\\b", "a:b", "a\u{0}", "tab\there", "a\u{202e}b"] {
            assert!(
                matches!(
                    bad.parse::<PackageName>(),
                    Err(PackageNameError::Char { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            ".hidden".parse::<PackageName>(),
            Err(PackageNameError::LeadingDot { .. })
        ));
        assert!(matches!(
            "..".parse::<PackageName>(),
            Err(PackageNameError::LeadingDot { .. })
        ));
        assert!(matches!(
            " bot".parse::<PackageName>(),
            Err(PackageNameError::OuterSpace { .. })
        ));
        assert_eq!("".parse::<PackageName>(), Err(PackageNameError::Empty));
        assert!(matches!(
            "x".repeat(MAX_PACKAGE_NAME_CHARS + 1)
                .parse::<PackageName>(),
            Err(PackageNameError::TooLong { chars: 101, .. })
        ));
    }

    #[test]
    fn serde_reads_and_writes_a_checked_string() {
        let name: PackageName = serde_json::from_str(r#""bot""#).unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""bot""#);
        assert!(serde_json::from_str::<PackageName>(r#"".git""#).is_err());
    }
}
