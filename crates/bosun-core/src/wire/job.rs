//! A job definition as the API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::lenient;

/// A job: its stored definition, plus what kind of work it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Job {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The tenant it belongs to.
    #[serde(deserialize_with = "lenient::text")]
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// The definition as submitted: seed 002's process job or a Python bot, plus
    /// monitor settings.
    pub definition: Value,
    /// When it was made.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Option<DateTime<Utc>>,
    /// What it runs: `process` or `bot`, or `invalid` for a stored definition the
    /// server no longer reads.
    #[serde(deserialize_with = "lenient::text")]
    pub kind: String,
}

impl Job {
    /// What it runs: the server's `kind`, or else what the definition holds
    /// (`process`, `bot`), or `-`.
    pub fn kind(&self) -> &str {
        if !self.kind.is_empty() {
            return &self.kind;
        }
        let has = |key: &str| {
            self.definition
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(key)))
        };
        if has("process") {
            "process"
        } else if has("bot") {
            "bot"
        } else {
            "-"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_s_kind_comes_from_its_definition() {
        let job: Job =
            serde_json::from_str(r#"{"name": "a", "definition": {"process": {"command": "x"}}}"#)
                .unwrap();
        assert_eq!(job.kind(), "process");
        let job: Job = serde_json::from_str(r#"{"definition": {"bot": {}}}"#).unwrap();
        assert_eq!(job.kind(), "bot");
        let job: Job = serde_json::from_str(r#"{"kind": "python", "definition": {}}"#).unwrap();
        assert_eq!(job.kind(), "python");
    }
}
