//! A saved result's notification on the updates stream (seed 003's fields), and the
//! notification ids of a batch.

use chrono::{DateTime, Utc};

use crate::config::Role;
use crate::message::JobMessage;

/// `n` new notification ids: version 7 UUIDs (time-ordered), one drawn at random and
/// the next ones counted on from it in its random bits, so that a batch costs one
/// draw (a system call) instead of one a job.
pub(super) fn message_ids(n: usize) -> Vec<String> {
    /// The random bits at the end of a version 7 UUID (`rand_b`).
    const RANDOM: u128 = (1 << 62) - 1;
    let first = uuid::Uuid::now_v7().as_u128();
    (0..n as u128)
        .map(|i| {
            let id = (first & !RANDOM) | (first.wrapping_add(i) & RANDOM);
            uuid::Uuid::from_u128(id).to_string()
        })
        .collect()
}

/// A saved result's notification, with seed 003's fields.
pub(super) fn notification(
    message_id: String,
    role: Role,
    job: JobMessage,
    succeeded: bool,
    output: String,
    finished_at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let kind = match (role, succeeded) {
        (Role::Chat, true) => "chat",
        (_, true) => "result",
        (_, false) => "error",
    };
    vec![
        ("MessageId", message_id),
        ("NodeId", job.job_id.clone()),
        ("ProjectId", job.project_id),
        ("UserId", job.user_id),
        ("Type", kind.to_owned()),
        ("Payload", output),
        ("Timestamp", finished_at.to_rfc3339()),
        ("JobId", job.job_id),
        ("WorkflowId", job.workflow_id),
        ("ConnectionId", job.connection_id),
        ("Role", role.name().to_owned()),
    ]
}

/// The fields of a notification, for tests and documentation: name → meaning.
pub const NOTIFICATION_FIELDS: &[(&str, &str)] = &[
    ("MessageId", "a new id per notification"),
    ("NodeId", "the job's jobId"),
    ("ProjectId", "projectId"),
    ("UserId", "userId"),
    ("Type", "result, error, or chat"),
    ("Payload", "the reply (or the error)"),
    ("Timestamp", "when the job ended, RFC 3339"),
];

#[cfg(test)]
mod tests {
    use super::message_ids;

    #[test]
    fn the_message_ids_of_a_batch_are_distinct_version_7_uuids() {
        let ids = message_ids(500);
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 500);
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 7, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        assert_ne!(message_ids(1), message_ids(1), "each batch draws anew");
    }
}
