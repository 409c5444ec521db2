//! The API's replies as data: what the server answers and the client reads, one type
//! per reply shape, so the two cannot drift apart and the OpenAPI document is made
//! from the same types ([`utoipa::ToSchema`]).
//!
//! Serialized, a reply is exactly what the server sends. Deserialized, it is read
//! leniently, so a newer server does not break an older client: unknown fields are
//! ignored; a field that is missing, null or of an unexpected type reads as its
//! default (empty text, zero, false, an empty list), or as `None` for times, statuses
//! and what the server itself may leave out.

mod access;
mod execution;
mod hub;
mod job;
mod lenient;
mod package;
mod schedule;
mod seed;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::ExecutionStatus;

pub use access::{Agent, CreatedAgent, CreatedTenant, CreatedToken, Me, Tenant, Token};
pub use execution::{
    ActivityBucket, Execution, ExecutionActivity, ExecutionDetail, ExecutionEvent,
    ExecutionSummary, MonitorEntry, StatusCount,
};
pub use hub::{
    AgentResult, BotStatusUpdate, CancelExecution, ExecutePackage, ExecutionStatusUpdate,
};
pub use job::Job;
pub use package::{AgentPackageLink, Package, PackageLink, PackageVersion};
pub use schedule::{FileTrigger, Schedule};
pub use seed::{SeedStatus, SeedTriggerStatus, SeedTriggered};

/// `{"items": [...], "next": "cursor"}`: a listing, maybe one page of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The entries.
    #[serde(default)]
    pub items: Vec<T>,
    /// Pass as `before` for the next page; absent on the last (and on lists that
    /// are never paged).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::text_opt"
    )]
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The whole list, with no next page.
    pub fn all(items: Vec<T>) -> Self {
        Self { items, next: None }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ErrorBody {
    /// A machine-readable code: `not_found`, `bad_request`, ...
    #[serde(deserialize_with = "lenient::text")]
    pub code: String,
    /// A sentence for people, saying what to do.
    #[serde(deserialize_with = "lenient::text")]
    pub message: String,
}

impl utoipa::PartialSchema for ExecutionStatus {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ExecutionStatus::ALL.iter().map(|s| s.as_str())))
            .into()
    }
}

impl ToSchema for ExecutionStatus {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_leaves_out_a_missing_cursor_and_reads_a_numeric_one() {
        let page = Page::all(vec![1, 2]);
        assert_eq!(serde_json::to_string(&page).unwrap(), r#"{"items":[1,2]}"#);
        let page: Page<i32> = serde_json::from_str(r#"{"next": 7, "more": true}"#).unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next.as_deref(), Some("7"));
    }

    #[test]
    fn an_error_body_reads_whatever_it_finds() {
        let body: ErrorBody = serde_json::from_str(r#"{"message": "no", "code": null}"#).unwrap();
        assert_eq!(body.message, "no");
        assert_eq!(body.code, "");
    }
}
