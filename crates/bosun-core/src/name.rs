//! The names people give objects — jobs, tokens, tenants — and what they may not be.
//!
//! One rule for every name, checked wherever one is given (the API, the job file of
//! `bosun run`, `bosun admin`): not empty, at most [`MAX_NAME_CHARS`] characters, no
//! `/` (names are path segments of the API's URLs), no `..` (a name can become a
//! directory name, as a job's log folder), no control characters (NUL included), no
//! bidirectional controls (U+202A–U+202E, U+2066–U+2069, which make a name display
//! as something else), and not shaped like an object id (a UUID: the API takes an id
//! or a name in the same place, and the id would win). A tenant's slug is stricter:
//! see [`check_slug`].

/// The most characters a name may have.
pub const MAX_NAME_CHARS: usize = 200;

/// The most characters a tenant slug may have (a DNS label's limit).
pub const MAX_SLUG_CHARS: usize = 63;

/// Slugs that would read as one of the server's own path segments.
const RESERVED_SLUGS: &[&str] = &["api", "healthz", "hubs"];

/// Why a name was refused; each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing, or only spaces.
    #[error("a {what} name cannot be empty: give it a name")]
    Empty {
        /// What was being named: "job", "token", "tenant".
        what: &'static str,
    },
    /// Over [`MAX_NAME_CHARS`].
    #[error(
        "a {what} name has at most {MAX_NAME_CHARS} characters (this one has {chars}): shorten it"
    )]
    TooLong {
        /// What was being named.
        what: &'static str,
        /// How many characters it has.
        chars: usize,
    },
    /// Contains `..`.
    #[error(
        "a {what} name cannot contain \"..\" (it could be read as a parent directory): pick another"
    )]
    DotDot {
        /// What was being named.
        what: &'static str,
    },
    /// Contains `/`.
    #[error("a {what} name cannot contain '/' (names are part of the API's URLs): pick another")]
    Slash {
        /// What was being named.
        what: &'static str,
    },
    /// Contains a control character.
    #[error("a {what} name cannot contain control characters ({found} found): remove it")]
    Control {
        /// What was being named.
        what: &'static str,
        /// The character, as U+XXXX.
        found: String,
    },
    /// Contains a bidirectional override or isolate.
    #[error(
        "a {what} name cannot contain bidirectional control characters ({found} found), which \
         make it display as something else: remove it"
    )]
    Bidi {
        /// What was being named.
        what: &'static str,
        /// The character, as U+XXXX.
        found: String,
    },
    /// Has the shape of an object id.
    #[error(
        "a {what} name cannot have the shape of an object id (a UUID), or it would be \
         mistaken for one: pick another"
    )]
    LooksLikeId {
        /// What was being named.
        what: &'static str,
    },
    /// A tenant slug outside `[a-z0-9-]`, or too long.
    #[error(
        "tenant slug {slug:?} is not valid: use 1 to {MAX_SLUG_CHARS} lowercase letters, \
         digits and '-', starting with a letter or digit (it is part of the URLs), e.g. \"acme\""
    )]
    Slug {
        /// The slug given.
        slug: String,
    },
    /// A slug the server's own routes use.
    #[error("tenant slug {slug:?} is reserved for the server's own routes: pick another")]
    ReservedSlug {
        /// The slug given.
        slug: String,
    },
}

/// Checks a name given to a `what` ("job", "token", "tenant").
pub fn check_name(what: &'static str, name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty { what });
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { what, chars });
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::Control {
            what,
            found: code_point(c),
        });
    }
    if let Some(c) = name.chars().find(|c| is_bidi_control(*c)) {
        return Err(NameError::Bidi {
            what,
            found: code_point(c),
        });
    }
    if name.contains("..") {
        return Err(NameError::DotDot { what });
    }
    if name.contains('/') {
        return Err(NameError::Slash { what });
    }
    if looks_like_id(name) {
        return Err(NameError::LooksLikeId { what });
    }
    Ok(())
}

/// Checks a tenant's slug: the name rules, and lowercase ASCII letters, digits and
/// `-`, starting with a letter or digit, at most [`MAX_SLUG_CHARS`], not one of the
/// server's own path segments.
pub fn check_slug(slug: &str) -> Result<(), NameError> {
    let shaped = !slug.is_empty()
        && slug.len() <= MAX_SLUG_CHARS
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !shaped {
        return Err(NameError::Slug {
            slug: slug.to_owned(),
        });
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(NameError::ReservedSlug {
            slug: slug.to_owned(),
        });
    }
    check_name("tenant", slug)
}

/// True for the bidirectional embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// True when `text` has the shape of the ids bosun gives objects: a UUID, written
/// with hyphens (8-4-4-4-12 hex digits) or as 32 hex digits, in any case.
pub fn looks_like_id(text: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let groups: Vec<&str> = text.split('-').collect();
    match groups.as_slice() {
        [one] => one.len() == 32 && hex(one),
        [a, b, c, d, e] => {
            [a.len(), b.len(), c.len(), d.len(), e.len()] == [8, 4, 4, 4, 12]
                && groups.iter().all(|g| hex(g))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "nightly-report",
            "Nightly report (EU)",
            "a.b_c",
            "ünïcödé 名前",
            "x",
            &"x".repeat(200),
        ] {
            assert_eq!(check_name("job", name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_that_mislead_or_escape_are_refused() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            (" \t", "empty"),
            ("..", "\"..\""),
            ("a/../b", "\"..\""),
            ("a/b", "'/'"),
            ("nul\0", "U+0000"),
            ("bell\u{7}", "U+0007"),
            ("c1\u{85}", "U+0085"),
            ("rlo\u{202E}exe.txt", "U+202E"),
            ("lre\u{202A}", "U+202A"),
            ("fsi\u{2068}", "U+2068"),
            ("pdi\u{2069}", "U+2069"),
            ("0193f6d2-7c1e-7a4b-9f00-1234567890ab", "object id"),
            ("0193F6D27C1E7A4B9F001234567890AB", "object id"),
        ];
        for (name, says) in cases {
            let message = check_name("job", name).unwrap_err().to_string();
            assert!(message.contains(says), "{name:?}: {message}");
            assert!(message.starts_with("a job name"), "{message}");
        }
        let message = check_name("token", &"x".repeat(201))
            .unwrap_err()
            .to_string();
        assert!(message.contains("201"), "{message}");
        // Almost ids are names.
        assert_eq!(
            check_name("job", "0193f6d2-7c1e-7a4b-9f00-1234567890"),
            Ok(())
        );
        assert_eq!(check_name("job", "deadbeef"), Ok(()));
    }

    #[test]
    fn slugs_are_lowercase_url_segments() {
        for slug in ["acme", "a", "team-7", "0day"] {
            assert_eq!(check_slug(slug), Ok(()), "{slug}");
        }
        for slug in ["", "Acme", "a b", "-x", "x/y", "a.b", "é", &"a".repeat(64)] {
            assert!(
                matches!(check_slug(slug), Err(NameError::Slug { .. })),
                "{slug}"
            );
        }
        assert!(matches!(
            check_slug("api"),
            Err(NameError::ReservedSlug { .. })
        ));
        assert!(matches!(
            check_slug("0193f6d2-7c1e-7a4b-9f00-1234567890ab"),
            Err(NameError::LooksLikeId { .. })
        ));
    }
}
