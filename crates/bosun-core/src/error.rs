//! Errors raised while reading user-supplied specifications.

/// A specification (job JSON, `execution.json`, `TaskQueue.json`) could not be used.
///
/// Each variant names what is wrong in words a user can act on; the binary prints it as
/// one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The text is not valid JSON, or does not have the expected shape.
    #[error("{what} is not valid")]
    Json {
        /// Which document was being read, e.g. "job file".
        what: &'static str,
        /// The parser's own message, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A required field is absent or empty.
    #[error("{what} has no {field}: add a non-empty \"{field}\"")]
    Missing {
        /// Which document was being read.
        what: &'static str,
        /// The field that is missing.
        field: &'static str,
    },
    /// A field is present but its value cannot be used.
    #[error("{what}: field \"{field}\" {problem}")]
    Invalid {
        /// Which document was being read.
        what: &'static str,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it, phrased to follow the field name.
        problem: String,
    },
    /// A name that could mislead or escape (see [`crate::name`]).
    #[error("{what}")]
    Name {
        /// Which document was being read.
        what: &'static str,
        /// What is wrong with the name.
        #[source]
        source: crate::name::NameError,
    },
    /// A field the format does not have: refused, not ignored, so a misspelt setting
    /// never silently falls back to its default.
    #[error(
        "unknown field {field:?} in {place}{}",
        crate::case::hint(*suggestion, known)
    )]
    UnknownField {
        /// Where it was: "the job", "process", "limits", "bot".
        place: &'static str,
        /// The field as written.
        field: String,
        /// The known field it most likely means, if one is close.
        suggestion: Option<&'static str>,
        /// The fields that place has.
        known: &'static [&'static str],
    },
}

/// Shows `error` with its causes, `"a: b: c"`, as anyhow's `{:#}` does.
///
/// Errors in bosun state their own context and leave the cause to
/// [`std::error::Error::source`], so `{e}` alone says what failed but not why: wherever
/// an error is printed, logged or answered, it goes through here. A cause whose message
/// its wrapper already ends with (some drivers quote the error they wrap) is not
/// repeated.
///
/// ```
/// let io = std::io::Error::other("disk full");
/// let error = bosun_core::SpecError::Json {
///     what: "job file",
///     source: serde_json::from_str::<u8>("x").unwrap_err(),
/// };
/// assert_eq!(
///     bosun_core::error::chain(&error).to_string(),
///     "job file is not valid: expected value at line 1 column 1"
/// );
/// assert_eq!(bosun_core::error::chain(&io).to_string(), "disk full");
/// ```
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'a)) -> Chain<'a> {
    Chain(error)
}

/// An error and its causes, shown on one line; made by [`chain`].
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(&'a (dyn std::error::Error + 'a));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            cause = error.source();
            let text = error.to_string();
            if text.is_empty() || shown.ends_with(&text) {
                continue;
            }
            write!(f, ": {text}")?;
            shown = text;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::chain;

    /// An error with a message and, optionally, a cause.
    #[derive(Debug)]
    struct Link(&'static str, Option<Box<Link>>);

    impl std::fmt::Display for Link {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Link {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn link(message: &'static str, cause: Option<Link>) -> Link {
        Link(message, cause.map(Box::new))
    }

    #[test]
    fn a_chain_shows_each_cause_once_in_order() {
        let error = link("a", Some(link("b", Some(link("c", None)))));
        assert_eq!(chain(&error).to_string(), "a: b: c");
    }

    #[test]
    fn a_cause_its_wrapper_already_quotes_is_not_repeated() {
        // As sqlx's "error communicating with database: {0}" over an io::Error.
        let error = link(
            "could not open the database",
            Some(link(
                "error communicating with database: refused",
                Some(link("refused", None)),
            )),
        );
        assert_eq!(
            chain(&error).to_string(),
            "could not open the database: error communicating with database: refused"
        );
    }
}
