//! The writes of executions, many at once, in one SQL text per kind for both engines.
//!
//! A [`Batch`] gathers writes of any executions (creations, claims, starts, status
//! lines, ends) and puts each kind's into one JSON array, which one set of statements
//! ([`TEMPLATES`]) reads as rows: so the statements' text depends only on which kinds
//! the batch holds, each engine parses each text once, and the meaning of a write is
//! written once, rendered for SQLite or PostgreSQL ([`render`]).
//!
//! On SQLite the batch goes as one script, `BEGIN IMMEDIATE; …; COMMIT`: one round
//! trip. sqlx runs each SQLite connection on a worker thread of its own, and every
//! statement, `BEGIN` and `COMMIT` included, is a round trip to it: a wake-up of that
//! thread, then of the task waiting for the answer. Those wake-ups, not SQLite's own
//! work, were most of what an execution's writes cost; and a text that grew with the
//! batch was parsed anew every time (a fifth of the writer's work). On PostgreSQL,
//! which takes no several statements as one prepared query, the statements go one by
//! one in a transaction.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Created, ExecutionWrite, ExecutionWritten};
use crate::error::{QueryContext, StoreError};
use crate::status_sql::{ACTIVE, PENDING, RUNNING};
use crate::time::{opt, to_ms};
use crate::{Backend, Execution};

/// The statements of each kind of write, in the order they run, for both engines:
/// [`render`] makes each engine's text. `?WRITES` is the kind's JSON array as rows
/// (`value`, and its place `key`), `{name}` a field of a row, `?PENDING`, `?RUNNING`
/// and `?ACTIVE` (both) the statuses, and `?NOINDEX`, `?SHARE` and `?LOCK` what only
/// one engine needs (below). Claims and ends answer with their execution's id; an
/// end writes its status event first, and only for an execution not ended yet, so
/// an end is recorded once. In this order an execution's start comes before its
/// status lines and its end, and a claim never meets its own execution's creation,
/// start or end in one batch.
///
/// SQLite runs a batch's statements as one script between `BEGIN IMMEDIATE` and
/// `COMMIT`: at most 31 different texts, which sqlx keeps prepared. There the `+`
/// (`?NOINDEX`) before a status keeps SQLite from looking executions up by the status
/// index and matching each against the whole batch: that made a write cost as much as
/// the queue was long. Without it, the only index left is the id's, and each write of
/// the batch finds its execution directly.
///
/// PostgreSQL runs them one by one in a transaction, and runs several transactions at
/// once: a creation on a job as it was read holds the job's row (`?SHARE`: `FOR
/// SHARE`) until it commits, and an end locks its execution's row (`?LOCK`) before it
/// reads the status, so that of two ends at once the second finds the first and
/// records no second status event. SQLite writes one transaction at a time and needs
/// neither.
const TEMPLATES: [&str; 5] = [
    // Creations. One to run alone is inserted only if its job has no active
    // execution; the check reads the table as it was before the statement, so of
    // two of one job in a batch the unique index `executions_alone_per_job` refuses
    // the second (`ON CONFLICT DO NOTHING`). Those refused although their job is
    // current answer `busy`; the others not created found their job changed.
    "INSERT INTO executions (id, tenant_id, job_id, job_name, status, trigger_kind, \
     trigger_detail, arguments, runner, created_at, last_update, alone) \
     SELECT {id}, {tenant}, \
     {job}, {name}, ?PENDING, \
     {trigger}, {detail}, \
     {arguments}, {runner}, \
     {at}, \
     {at}, {alone} FROM ?WRITES \
     WHERE ({version} IS NULL OR EXISTS (SELECT 1 FROM jobs \
     WHERE jobs.id = {job} \
     AND jobs.tenant_id = {tenant} \
     AND jobs.updated_at = {version}?SHARE)) \
     AND ({alone} = 0 OR NOT EXISTS (SELECT 1 FROM executions AS e \
     WHERE e.job_id = {job} AND ?NOINDEX e.status IN (?ACTIVE))) \
     ON CONFLICT DO NOTHING \
     RETURNING 'create' AS kind, id, CAST(NULL AS BIGINT) AS job_changed_at; \
     INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT {id}, {at}, ?PENDING, \
     {detail} FROM ?WRITES \
     WHERE EXISTS (SELECT 1 FROM executions WHERE executions.id = {id}); \
     SELECT 'busy' AS kind, {id} AS id, CAST(NULL AS BIGINT) AS job_changed_at \
     FROM ?WRITES WHERE {alone} = 1 \
     AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.id = {id}) \
     AND ({version} IS NULL OR EXISTS (SELECT 1 FROM jobs \
     WHERE jobs.id = {job} \
     AND jobs.tenant_id = {tenant} \
     AND jobs.updated_at = {version}));",
    // Claims.
    "UPDATE executions SET runner = v.runner \
     FROM (SELECT {id} AS id, \
     {runner} AS runner FROM ?WRITES) AS v \
     WHERE executions.id = v.id AND ?NOINDEX executions.status = ?PENDING \
     AND executions.runner IS NULL \
     RETURNING 'claim' AS kind, executions.id, (SELECT updated_at FROM jobs \
     WHERE jobs.id = executions.job_id AND jobs.tenant_id = executions.tenant_id) \
     AS job_changed_at;",
    // Starts.
    "UPDATE executions SET status = ?RUNNING, pid = v.pid, start_time = v.at, \
     last_update = v.at, output_log = v.out, error_log = v.err, status_message = NULL \
     FROM (SELECT {id} AS id, {pid} AS pid, \
     {at} AS at, {out} AS out, \
     {err} AS err FROM ?WRITES) AS v \
     WHERE executions.id = v.id AND ?NOINDEX executions.status = ?PENDING; \
     INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT {id}, {at}, ?RUNNING, NULL \
     FROM ?WRITES;",
    // Status lines.
    "UPDATE executions SET \
     status_message = COALESCE(v.message, executions.status_message), \
     progress = COALESCE(v.progress, executions.progress), last_update = v.at \
     FROM (SELECT {id} AS id, \
     {message} AS message, \
     {progress} AS progress, {at} AS at \
     FROM ?WRITES) AS v \
     WHERE executions.id = v.id;",
    // Ends.
    "INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT v.id, v.at, v.status, v.message \
     FROM (SELECT key AS k, {id} AS id, \
     {at} AS at, {status} AS status, \
     {message} AS message FROM ?WRITES) AS v \
     JOIN executions AS e ON e.id = v.id \
     WHERE ?NOINDEX e.status IN (?ACTIVE) ORDER BY v.k?LOCK; \
     UPDATE executions SET status = v.status, exit_code = v.code, message = v.message, \
     end_time = v.at, last_update = v.at \
     FROM (SELECT {id} AS id, {status} AS status, \
     {code} AS code, {message} AS message, \
     {at} AS at FROM ?WRITES) AS v \
     WHERE executions.id = v.id AND ?NOINDEX executions.status IN (?ACTIVE) \
     RETURNING 'end' AS kind, executions.id, CAST(NULL AS BIGINT) AS job_changed_at;",
];

/// The fields that are integers (the rest are text): PostgreSQL reads a JSON field as
/// text and must be told.
const INTEGERS: [&str; 6] = ["at", "alone", "version", "pid", "progress", "code"];

/// `template`'s statements in `backend`'s SQL. PostgreSQL's read the array as `$1`;
/// SQLite's leave `?ARRAY`, which [`script`] numbers.
fn render(template: &str, backend: Backend) -> Vec<String> {
    let (writes, noindex, share, lock) = match backend {
        Backend::Sqlite => ("json_each(?ARRAY)", "+", "", ""),
        Backend::Postgres => (
            "jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS w(value, key)",
            "",
            " FOR SHARE",
            " FOR UPDATE OF e",
        ),
    };
    let mut sql = template
        .replace("?WRITES", writes)
        .replace("?NOINDEX ", noindex)
        .replace("?SHARE", share)
        .replace("?LOCK", lock)
        .replace("?ACTIVE", &ACTIVE)
        .replace("?PENDING", &PENDING)
        .replace("?RUNNING", &RUNNING);
    while let Some(open) = sql.find('{') {
        let close = open
            + sql[open..]
                .find('}')
                .expect("every field's brace is closed");
        let name = sql[open + 1..close].to_owned();
        let field = match backend {
            Backend::Sqlite => format!("json_extract(value, '$.{name}')"),
            Backend::Postgres if INTEGERS.contains(&name.as_str()) => {
                format!("CAST(value->>'{name}' AS BIGINT)")
            }
            Backend::Postgres => format!("(value->>'{name}')"),
        };
        sql.replace_range(open..=close, &field);
    }
    sql.split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Each kind's statements, rendered once: SQLite's, then PostgreSQL's.
static STATEMENTS: LazyLock<[[Vec<String>; 5]; 2]> = LazyLock::new(|| {
    [Backend::Sqlite, Backend::Postgres].map(|backend| TEMPLATES.map(|t| render(t, backend)))
});

/// Whether a batch is a transaction of its own or part of one its caller holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// The batch begins and commits its own.
    Own,
    /// The caller's: the batch neither begins nor commits, and on failure leaves the
    /// rolling back to the caller.
    Within,
}

/// The writes of one transaction, and where each answer goes.
#[derive(Default)]
pub(super) struct Batch {
    creates: Vec<Value>,
    claims: Vec<Value>,
    runnings: Vec<Value>,
    ends: Vec<Value>,
    /// Each execution's status line and progress, the latest of each.
    reports: Vec<Value>,
    reported: HashMap<String, usize>,
    /// The slot of each execution claimed, and of each ended.
    claimed: HashMap<String, usize>,
    ended: HashMap<String, usize>,
}

impl Batch {
    /// Adds the creation of `execution` (Pending) with its first status event; with
    /// a `version`, only if its job's `updated_at` is still that (milliseconds);
    /// when `alone`, only if its job has no active execution.
    pub(super) fn create(&mut self, execution: &Execution, alone: bool, version: Option<i64>) {
        let arguments = serde_json::to_string(&execution.arguments).expect("strings serialize");
        self.creates.push(json!({
            "id": execution.id,
            "tenant": execution.tenant_id,
            "job": execution.job_id,
            "name": execution.job_name,
            "trigger": execution.trigger,
            "detail": execution.trigger_detail,
            "arguments": arguments,
            "runner": execution.runner,
            "at": to_ms(execution.created_at),
            "version": version,
            "alone": i64::from(alone),
        }));
    }

    /// Adds `write`, whose answer (if it has one) goes to `slot`. A second claim or
    /// end of one execution in a batch is not sent: it answers as one that found
    /// the execution taken or ended.
    pub(super) fn write(&mut self, slot: usize, write: &ExecutionWrite) {
        match write {
            ExecutionWrite::Claim { id, runner } => {
                if !self.claimed.contains_key(id) {
                    self.claimed.insert(id.clone(), slot);
                    self.claims.push(json!({ "id": id, "runner": runner }));
                }
            }
            ExecutionWrite::Running { id, started } => self.runnings.push(json!({
                "id": id,
                "pid": started.pid,
                "at": to_ms(started.start_time),
                "out": started.output_log,
                "err": started.error_log,
            })),
            ExecutionWrite::Report {
                id,
                status_message,
                progress,
                at,
            } => {
                let at = to_ms(*at);
                match self.reported.get(id) {
                    // A later line of the same execution: its fields win where given.
                    Some(&i) => {
                        let report = &mut self.reports[i];
                        if let Some(message) = status_message {
                            report["message"] = json!(message);
                        }
                        if let Some(progress) = progress {
                            report["progress"] = json!(progress);
                        }
                        report["at"] = json!(at);
                    }
                    None => {
                        self.reported.insert(id.clone(), self.reports.len());
                        self.reports.push(json!({
                            "id": id,
                            "message": status_message,
                            "progress": progress,
                            "at": at,
                        }));
                    }
                }
            }
            ExecutionWrite::Finish { id, finish } => {
                if !self.ended.contains_key(id) {
                    self.ended.insert(id.clone(), slot);
                    self.ends.push(json!({
                        "id": id,
                        "status": finish.status,
                        "code": finish.exit_code,
                        "message": finish.message,
                        "at": to_ms(finish.end_time),
                    }));
                }
            }
        }
    }

    /// Runs the batch on `connection` and puts each answer into `done`, the answers
    /// of the writes by slot, as they are when nothing answers; returns what became
    /// of the creations. When a statement fails, a transaction of the batch's own is
    /// rolled back; the error then says whether the connection is still fit for use.
    pub(super) async fn run(
        self,
        connection: &mut AnyConnection,
        backend: Backend,
        scope: Scope,
        done: &mut [ExecutionWritten],
    ) -> Result<Creations, Failed> {
        let about = "recording executions";
        let kinds = [
            self.creates,
            self.claims,
            self.runnings,
            self.reports,
            self.ends,
        ];
        let statements = match backend {
            Backend::Sqlite => &STATEMENTS[0],
            Backend::Postgres => &STATEMENTS[1],
        };
        let work: Vec<(&[String], String)> = statements
            .iter()
            .zip(kinds)
            .filter(|(_, items)| !items.is_empty())
            .map(|(statements, items)| (statements.as_slice(), Value::Array(items).to_string()))
            .collect();
        let rows = match backend {
            Backend::Sqlite => script(connection, &work, scope).await,
            Backend::Postgres => one_by_one(connection, &work, scope).await,
        }?;
        let mut created = Creations::default();
        let mut answer = || -> Result<(), StoreError> {
            for row in &rows {
                let kind: String = row.try_get("kind").about(about)?;
                let id: String = row.try_get("id").about(about)?;
                let changed_at: Option<i64> = row.try_get("job_changed_at").about(about)?;
                match kind.as_str() {
                    "create" => {
                        created.created.insert(id);
                        continue;
                    }
                    "busy" => {
                        created.busy.insert(id);
                        continue;
                    }
                    _ => {}
                }
                let slot = match kind.as_str() {
                    "claim" => self.claimed.get(&id),
                    _ => self.ended.get(&id),
                };
                match slot.and_then(|&slot| done.get_mut(slot)) {
                    Some(ExecutionWritten::Claimed(claimed)) => *claimed = Some(opt(changed_at)),
                    Some(ExecutionWritten::Finished(ended)) => *ended = true,
                    _ => {
                        return Err(StoreError::Corrupt {
                            what: "answer to a write",
                            why: format!("no {kind} of execution {id} asked for one"),
                        });
                    }
                }
            }
            Ok(())
        };
        answer().map_err(|error| Failed {
            error,
            connection_lost: false,
        })?;
        Ok(created)
    }
}

/// What became of a batch's creations, by execution id.
#[derive(Debug, Default)]
pub(super) struct Creations {
    created: HashSet<String>,
    /// Refused: they were to run alone, and their job has an active execution.
    busy: HashSet<String>,
}

impl Failed {
    fn query(source: sqlx::Error, connection_lost: bool) -> Self {
        Self {
            error: StoreError::Query {
                about: "recording executions",
                source,
            },
            connection_lost,
        }
    }
}

impl Creations {
    /// What became of the creation of execution `id`.
    pub(super) fn of(&self, id: &str) -> Created {
        if self.created.contains(id) {
            Created::Yes
        } else if self.busy.contains(id) {
            Created::Busy
        } else {
            Created::JobChanged
        }
    }
}

/// Runs `work` (each kind's statements and its array) on SQLite as one script: one
/// round trip.
async fn script(
    connection: &mut AnyConnection,
    work: &[(&[String], String)],
    scope: Scope,
) -> Result<Vec<AnyRow>, Failed> {
    let own = scope == Scope::Own;
    let mut sql = String::from(if own { "BEGIN IMMEDIATE;" } else { "" });
    for (n, (statements, _)) in work.iter().enumerate() {
        for statement in *statements {
            sql.push(' ');
            sql.push_str(&statement.replace("?ARRAY", &format!("${}", n + 1)));
            sql.push(';');
        }
    }
    if own {
        sql.push_str(" COMMIT;");
    }
    let mut query = sqlx::query(&sql);
    for (_, array) in work {
        query = query.bind(array.as_str());
    }
    match query.fetch_all(&mut *connection).await {
        Ok(rows) => Ok(rows),
        Err(source) => {
            let lost = own
                && sqlx::query("ROLLBACK")
                    .execute(&mut *connection)
                    .await
                    .is_err();
            Err(Failed::query(source, lost))
        }
    }
}

/// Runs `work` on PostgreSQL a statement at a time, which is all it takes in one
/// prepared query; in a transaction of the batch's own when there are several (one
/// that rolls back if this is dropped half way, so the connection goes back to its
/// pool clean).
async fn one_by_one(
    connection: &mut AnyConnection,
    work: &[(&[String], String)],
    scope: Scope,
) -> Result<Vec<AnyRow>, Failed> {
    let several = work
        .iter()
        .map(|(statements, _)| statements.len())
        .sum::<usize>()
        > 1;
    let failed = |source| Failed::query(source, false);
    if scope == Scope::Own && several {
        let mut tx = sqlx::Connection::begin(&mut *connection)
            .await
            .map_err(failed)?;
        let rows = each(&mut tx, work).await.map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(rows)
    } else {
        each(connection, work).await.map_err(failed)
    }
}

/// Runs each of `work`'s statements on `connection`, in order.
async fn each(
    connection: &mut AnyConnection,
    work: &[(&[String], String)],
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut rows = Vec::new();
    for (statements, array) in work {
        for statement in *statements {
            let some = sqlx::query(statement)
                .bind(array.as_str())
                .fetch_all(&mut *connection)
                .await?;
            rows.extend(some);
        }
    }
    Ok(rows)
}

/// A batch that did not go through.
pub(super) struct Failed {
    pub(super) error: StoreError,
    /// True when the transaction could not even be rolled back: the connection must
    /// not be used again.
    pub(super) connection_lost: bool,
}

/// What `write` answers when no row of the script says otherwise.
pub(super) fn unanswered(write: &ExecutionWrite) -> ExecutionWritten {
    match write {
        ExecutionWrite::Claim { .. } => ExecutionWritten::Claimed(None),
        ExecutionWrite::Running { .. } => ExecutionWritten::Running,
        ExecutionWrite::Report { .. } => ExecutionWritten::Reported,
        ExecutionWrite::Finish { .. } => ExecutionWritten::Finished(false),
    }
}

#[cfg(test)]
mod tests {
    use super::STATEMENTS;

    #[test]
    fn every_placeholder_is_rendered_for_both_engines() {
        let [sqlite, postgres] = &*STATEMENTS;
        for statement in sqlite.iter().flatten() {
            let left = statement.replace("?ARRAY", "");
            assert!(!left.contains('?') && !left.contains('{'), "{statement}");
            assert!(statement.contains("json_each(?ARRAY)"), "{statement}");
        }
        for statement in postgres.iter().flatten() {
            assert!(
                !statement.contains('?') && !statement.contains('{'),
                "{statement}"
            );
            assert!(!statement.contains("json_extract"), "{statement}");
        }
    }
}
