//! Reading a row back: one [`Row`] per row read, whose methods take a column and
//! give its value as the model wants it, with every failure the same error.
//!
//! The `Any` driver hands back what each engine stores, so the conventions of the
//! schema are undone here, in one place: times are milliseconds since the epoch
//! (`BIGINT`), booleans are integers (0 or 1), lists are JSON text, and a state or
//! kind is its name (each type's own `FromStr` reads it). A value its type cannot
//! read is [`StoreError::Unreadable`], naming the table, the column and the value,
//! never a default.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row as _, Type};

use crate::error::StoreError;
use crate::time::from_ms;

/// A row of `table` being read.
pub(crate) struct Row<'r> {
    row: &'r AnyRow,
    table: &'static str,
    /// What the store is doing, for a driver error.
    about: &'static str,
}

impl<'r> Row<'r> {
    /// Reads `row`, from `table`, while doing `about` ("reading an execution").
    pub(crate) fn new(row: &'r AnyRow, table: &'static str, about: &'static str) -> Self {
        Self { row, table, about }
    }

    /// A column as the driver decodes it (text, integers, their `Option`s).
    pub(crate) fn get<T>(&self, column: &'static str) -> Result<T, StoreError>
    where
        T: Decode<'r, Any> + Type<Any>,
    {
        self.row
            .try_get(column)
            .map_err(|source| StoreError::Query {
                about: self.about,
                source,
            })
    }

    /// A time.
    pub(crate) fn time(&self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        Ok(from_ms(self.get(column)?))
    }

    /// A time, if one is stored.
    pub(crate) fn opt_time(
        &self,
        column: &'static str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.get::<Option<i64>>(column)?.map(from_ms))
    }

    /// A boolean, stored as 0 or 1.
    pub(crate) fn flag(&self, column: &'static str) -> Result<bool, StoreError> {
        Ok(self.get::<i64>(column)? != 0)
    }

    /// A value stored as its name.
    pub(crate) fn parsed<T>(&self, column: &'static str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text: String = self.get(column)?;
        text.parse()
            .map_err(|e: T::Err| self.unreadable(column, text, e.to_string()))
    }

    /// A value stored as JSON.
    pub(crate) fn json<T: DeserializeOwned>(&self, column: &'static str) -> Result<T, StoreError> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|e| self.unreadable(column, text, e.to_string()))
    }

    fn unreadable(&self, column: &'static str, value: String, why: String) -> StoreError {
        StoreError::Unreadable {
            table: self.table,
            column,
            value,
            why,
        }
    }
}

#[cfg(test)]
mod tests {
    use bosun_core::{ExecutionStatus, FileMissed, MissedPolicy, Permission, TriggerKind};
    use chrono::Utc;

    use crate::{NewExecution, NewFileTrigger, NewSchedule, Store, StoreError};

    /// Sets `column` of every row of `table` to `value`, as a hand or a newer bosun
    /// might have.
    async fn spoil(store: &Store, table: &str, column: &str, value: &str) {
        sqlx::query(&format!("UPDATE {table} SET {column} = $1"))
            .bind(value)
            .execute(store.pool())
            .await
            .unwrap();
    }

    fn assert_unreadable<T: std::fmt::Debug>(
        read: Result<T, StoreError>,
        table: &str,
        column: &str,
        value: &str,
    ) {
        match read {
            Err(StoreError::Unreadable {
                table: t,
                column: c,
                value: v,
                ..
            }) if (t, c, v.as_str()) == (table, column, value) => {}
            other => panic!("{table}.{column} = {value:?} read as {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_stored_value_its_type_cannot_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        for (engine, url) in bosun_test_utils::database_urls(dir.path()) {
            eprintln!("engine: {engine}");
            let store = Store::open(&url)
                .await
                .expect(bosun_test_utils::POSTGRES_HELP);
            let tenant = store.ensure_tenant("acme", "Acme").await.unwrap();
            let job = store
                .create_job(&tenant.id, "j", &serde_json::json!({}))
                .await
                .unwrap();
            let new = NewExecution::of(&job, TriggerKind::Api, None, Vec::new());
            let execution = store.create_execution(new).await.unwrap();
            let read = || store.execution(&tenant.id, &execution.id);

            spoil(&store, "executions", "status", "Done").await;
            assert_unreadable(read().await, "executions", "status", "Done");
            spoil(
                &store,
                "executions",
                "status",
                ExecutionStatus::Pending.as_str(),
            )
            .await;
            spoil(&store, "executions", "trigger_kind", "cron").await;
            assert_unreadable(read().await, "executions", "trigger_kind", "cron");
            spoil(&store, "execution_events", "status", "done").await;
            assert_unreadable(
                store.events(&execution.id).await,
                "execution_events",
                "status",
                "done",
            );

            let agent = store.ensure_agent(&tenant.id, "local").await.unwrap();
            spoil(&store, "agents", "status", "Idle").await;
            assert_unreadable(
                store.agent(&tenant.id, &agent.id).await,
                "agents",
                "status",
                "Idle",
            );

            let (token, _) = store
                .create_token(&tenant.id, "ci", &[Permission::All])
                .await
                .unwrap();
            spoil(&store, "tokens", "permissions", r#"["future:thing"]"#).await;
            assert_unreadable(
                store.token(&tenant.id, &token.id).await,
                "tokens",
                "permissions",
                r#"["future:thing"]"#,
            );

            let now = Utc::now();
            let schedule = NewSchedule {
                cron: None,
                timezone: None,
                every_ms: Some(60_000),
                missed_policy: MissedPolicy::RunAll { max: 2 },
                anchor: now,
                next_fire: now,
            };
            store
                .create_schedule(&tenant.id, &job.id, &schedule)
                .await
                .unwrap();
            spoil(&store, "schedules", "missed_policy", r#""run_once""#).await;
            assert_unreadable(
                store.schedules(&tenant.id, None).await,
                "schedules",
                "missed_policy",
                r#""run_once""#,
            );
            // The scheduler's read keeps the bad row apart: a good one beside it is
            // still read, so it still fires.
            let good = store
                .create_schedule(&tenant.id, &job.id, &schedule)
                .await
                .unwrap();
            let (read, bad): (Vec<_>, Vec<_>) = store
                .all_schedules()
                .await
                .unwrap()
                .into_iter()
                .partition(Result::is_ok);
            assert_eq!(read.len(), 1);
            assert_eq!(read.into_iter().next().unwrap().unwrap().id, good.id);
            assert_eq!(bad.len(), 1);
            assert_unreadable(
                bad.into_iter().next().unwrap(),
                "schedules",
                "missed_policy",
                r#""run_once""#,
            );

            let trigger = NewFileTrigger {
                directory: "/srv/in".to_owned(),
                glob: "*".to_owned(),
                debounce_ms: 0,
                recursive: false,
                missed_policy: FileMissed::Skip,
            };
            store
                .create_file_trigger(&tenant.id, &job.id, &trigger)
                .await
                .unwrap();
            spoil(&store, "file_triggers", "missed_policy", "never").await;
            assert_unreadable(
                store.file_triggers(None, None).await,
                "file_triggers",
                "missed_policy",
                "never",
            );
            // The watcher's read keeps the bad row apart, as the scheduler's does.
            let good = store
                .create_file_trigger(&tenant.id, &job.id, &trigger)
                .await
                .unwrap();
            let (read, bad): (Vec<_>, Vec<_>) = store
                .all_file_triggers()
                .await
                .unwrap()
                .into_iter()
                .partition(Result::is_ok);
            assert_eq!(read.into_iter().next().unwrap().unwrap().id, good.id);
            assert_unreadable(
                bad.into_iter().next().unwrap(),
                "file_triggers",
                "missed_policy",
                "never",
            );

            store.close().await;
            bosun_test_utils::drop_test_database(&url).await;
        }
    }
}
