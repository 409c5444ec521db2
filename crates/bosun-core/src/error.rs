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
}
