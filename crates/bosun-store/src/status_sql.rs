//! The execution statuses as SQL literals, made from [`ExecutionStatus`]'s own names,
//! for the queries that compare statuses in SQL (the queue, the active and finished
//! counts, the conditional updates), so that no query spells a status itself.
//!
//! The migrations are the exception: they are applied as written, and a changed one
//! would no longer match its checksum in databases that applied it. A test checks
//! that the one status list they hold is [`ACTIVE`].

use std::sync::LazyLock;

use bosun_core::ExecutionStatus;

/// `status` as an SQL string literal, e.g. `'Pending'`.
fn literal(status: ExecutionStatus) -> String {
    format!("'{}'", status.as_str())
}

/// `'Pending'`.
pub(crate) static PENDING: LazyLock<String> = LazyLock::new(|| literal(ExecutionStatus::Pending));

/// `'Running'`.
pub(crate) static RUNNING: LazyLock<String> = LazyLock::new(|| literal(ExecutionStatus::Running));

/// The statuses of an execution that has not ended, as an SQL list:
/// `'Pending', 'Running'`.
pub(crate) static ACTIVE: LazyLock<String> = LazyLock::new(|| {
    let active: Vec<String> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(literal)
        .collect();
    active.join(", ")
});

/// The statuses of an execution that failed ([`ExecutionStatus::is_failure`]), as an
/// SQL list: `'Failed', 'TimedOut'`.
pub(crate) static FAILED: LazyLock<String> = LazyLock::new(|| {
    let failed: Vec<String> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_failure())
        .map(literal)
        .collect();
    failed.join(", ")
});

#[cfg(test)]
mod tests {
    use super::{ACTIVE, FAILED, PENDING};

    #[test]
    fn the_lists_are_the_names_quoted() {
        assert_eq!(*PENDING, "'Pending'");
        assert_eq!(*ACTIVE, "'Pending', 'Running'");
        assert_eq!(*FAILED, "'Failed', 'TimedOut'");
    }

    #[test]
    fn the_migrations_name_the_active_statuses_as_the_type_does() {
        let alone = crate::MIGRATIONS
            .iter()
            .find(|(version, ..)| *version == 5)
            .expect("migration 5 makes the index of executions that run alone")
            .2;
        assert!(
            alone.contains(&format!("status IN ({})", *ACTIVE)),
            "{alone}"
        );
    }
}
