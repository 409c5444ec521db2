//! Errors raised while reading user-supplied specifications.

/// A specification (job JSON, `execution.json`, `TaskQueue.json`) could not be used.
///
/// Each variant names what is wrong in words a user can act on; the binary prints it as
/// one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The text is not valid JSON, or does not have the expected shape.
    #[error("{what} is not valid: {source}")]
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
    #[error("{what}: {source}")]
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
