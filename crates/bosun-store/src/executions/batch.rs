//! SQLite writes of many executions sent as one script: one round trip to the
//! database, and one prepared statement, whatever the batch holds.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, and every
//! statement, `BEGIN` and `COMMIT` included, is a round trip to it: a wake-up of that
//! thread, then of the task waiting for the answer (and sqlx adds one more, a ping,
//! whenever a connection goes back to its pool). Those wake-ups, not SQLite's own
//! work, were most of what an execution's writes cost. A [`Batch`] does the work of
//! one transaction, `BEGIN IMMEDIATE; …; COMMIT`, as one command, for as many
//! executions as [`super::writer`] gives it. The writes go in as JSON arrays, one
//! per kind, so the script's text depends only on which kinds it holds: SQLite
//! parses each text once, where a text that grew with the batch was parsed anew
//! every time (a fifth of the writer's work). PostgreSQL does each write on its own
//! ([`super::postgres`]): it takes no several statements as one prepared query, and
//! its pool has many connections.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use super::{Created, ExecutionWrite, ExecutionWritten};
use crate::Execution;
use crate::error::{QueryContext, StoreError};
use crate::status_sql::{ACTIVE, PENDING, RUNNING};
use crate::time::{opt, to_ms};

/// The statements of each kind of write, in the order they run; `?ARRAY` is the
/// kind's JSON array, and `?PENDING`, `?RUNNING` and `?ACTIVE` (both) the statuses
/// ([`STATEMENTS`] puts them in). Claims and ends answer with their execution's id; an end
/// writes its status event first, and only for an execution not ended yet, so an end
/// is recorded once. In this order an execution's start comes before its status
/// lines and its end, and a claim never meets its own execution's creation, start
/// or end in one batch.
///
/// A batch runs the statements of the kinds it holds between `BEGIN IMMEDIATE` and
/// `COMMIT`: at most 31 different texts, which sqlx keeps prepared.
///
/// The `+` before a status keeps SQLite from looking executions up by the status
/// index and matching each against the whole batch: that made a write cost as much as
/// the queue was long. Without it, the only index left is the id's, and each write of
/// the batch finds its execution directly.
const TEMPLATES: [&str; 5] = [
    // Creations. One to run alone is inserted only if its job has no active
    // execution; the check reads the table as it was before the statement, so of
    // two of one job in a batch the unique index `executions_alone_per_job` refuses
    // the second (`ON CONFLICT DO NOTHING`). Those refused although their job is
    // current answer `busy`; the others not created found their job changed.
    "INSERT INTO executions (id, tenant_id, job_id, job_name, status, trigger_kind, \
     trigger_detail, arguments, runner, created_at, last_update, alone) \
     SELECT json_extract(value, '$.id'), json_extract(value, '$.tenant'), \
     json_extract(value, '$.job'), json_extract(value, '$.name'), ?PENDING, \
     json_extract(value, '$.trigger'), json_extract(value, '$.detail'), \
     json_extract(value, '$.arguments'), json_extract(value, '$.runner'), \
     json_extract(value, '$.at'), \
     json_extract(value, '$.at'), json_extract(value, '$.alone') FROM json_each(?ARRAY) \
     WHERE (json_extract(value, '$.version') IS NULL OR EXISTS (SELECT 1 FROM jobs \
     WHERE jobs.id = json_extract(value, '$.job') \
     AND jobs.tenant_id = json_extract(value, '$.tenant') \
     AND jobs.updated_at = json_extract(value, '$.version'))) \
     AND (json_extract(value, '$.alone') = 0 OR NOT EXISTS (SELECT 1 FROM executions AS e \
     WHERE e.job_id = json_extract(value, '$.job') AND +e.status IN (?ACTIVE))) \
     ON CONFLICT DO NOTHING \
     RETURNING 'create' AS kind, id, NULL AS job_changed_at; \
     INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT json_extract(value, '$.id'), json_extract(value, '$.at'), ?PENDING, \
     json_extract(value, '$.detail') FROM json_each(?ARRAY) \
     WHERE EXISTS (SELECT 1 FROM executions WHERE executions.id = json_extract(value, '$.id')); \
     SELECT 'busy' AS kind, json_extract(value, '$.id') AS id, NULL AS job_changed_at \
     FROM json_each(?ARRAY) WHERE json_extract(value, '$.alone') = 1 \
     AND NOT EXISTS (SELECT 1 FROM executions WHERE executions.id = json_extract(value, '$.id')) \
     AND (json_extract(value, '$.version') IS NULL OR EXISTS (SELECT 1 FROM jobs \
     WHERE jobs.id = json_extract(value, '$.job') \
     AND jobs.tenant_id = json_extract(value, '$.tenant') \
     AND jobs.updated_at = json_extract(value, '$.version')));",
    // Claims.
    "UPDATE executions SET runner = v.runner \
     FROM (SELECT json_extract(value, '$.id') AS id, \
     json_extract(value, '$.runner') AS runner FROM json_each(?ARRAY)) AS v \
     WHERE executions.id = v.id AND +executions.status = ?PENDING \
     AND executions.runner IS NULL \
     RETURNING 'claim' AS kind, id, (SELECT updated_at FROM jobs \
     WHERE jobs.id = executions.job_id AND jobs.tenant_id = executions.tenant_id) \
     AS job_changed_at;",
    // Starts.
    "UPDATE executions SET status = ?RUNNING, pid = v.pid, start_time = v.at, \
     last_update = v.at, output_log = v.out, error_log = v.err, status_message = NULL \
     FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.pid') AS pid, \
     json_extract(value, '$.at') AS at, json_extract(value, '$.out') AS out, \
     json_extract(value, '$.err') AS err FROM json_each(?ARRAY)) AS v \
     WHERE executions.id = v.id AND +executions.status = ?PENDING; \
     INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT json_extract(value, '$.id'), json_extract(value, '$.at'), ?RUNNING, NULL \
     FROM json_each(?ARRAY);",
    // Status lines.
    "UPDATE executions SET \
     status_message = COALESCE(v.message, executions.status_message), \
     progress = COALESCE(v.progress, executions.progress), last_update = v.at \
     FROM (SELECT json_extract(value, '$.id') AS id, \
     json_extract(value, '$.message') AS message, \
     json_extract(value, '$.progress') AS progress, json_extract(value, '$.at') AS at \
     FROM json_each(?ARRAY)) AS v \
     WHERE executions.id = v.id;",
    // Ends.
    "INSERT INTO execution_events (execution_id, at, status, message) \
     SELECT v.id, v.at, v.status, v.message \
     FROM (SELECT key AS k, json_extract(value, '$.id') AS id, \
     json_extract(value, '$.at') AS at, json_extract(value, '$.status') AS status, \
     json_extract(value, '$.message') AS message FROM json_each(?ARRAY)) AS v \
     JOIN executions AS e ON e.id = v.id \
     WHERE +e.status IN (?ACTIVE) ORDER BY v.k; \
     UPDATE executions SET status = v.status, exit_code = v.code, message = v.message, \
     end_time = v.at, last_update = v.at \
     FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.status') AS status, \
     json_extract(value, '$.code') AS code, json_extract(value, '$.message') AS message, \
     json_extract(value, '$.at') AS at FROM json_each(?ARRAY)) AS v \
     WHERE executions.id = v.id AND +executions.status IN (?ACTIVE) \
     RETURNING 'end' AS kind, id, NULL AS job_changed_at;",
];

/// [`TEMPLATES`] with the statuses put in.
static STATEMENTS: LazyLock<[String; 5]> = LazyLock::new(|| {
    TEMPLATES.map(|template| {
        template
            .replace("?ACTIVE", &ACTIVE)
            .replace("?PENDING", &PENDING)
            .replace("?RUNNING", &RUNNING)
    })
});

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
    /// of the creations. When a statement fails, the transaction is rolled
    /// back; the error then says whether the connection is still fit for use.
    pub(super) async fn run(
        self,
        connection: &mut AnyConnection,
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
        let mut sql = String::from("BEGIN IMMEDIATE;");
        let mut arrays = Vec::new();
        for (statements, items) in STATEMENTS.iter().zip(kinds) {
            if !items.is_empty() {
                arrays.push(Value::Array(items).to_string());
                sql.push(' ');
                sql.push_str(&statements.replace("?ARRAY", &format!("${}", arrays.len())));
            }
        }
        sql.push_str(" COMMIT;");
        let mut query = sqlx::query(&sql);
        for array in arrays {
            query = query.bind(array);
        }
        let rows = match query.fetch_all(&mut *connection).await {
            Ok(rows) => rows,
            Err(source) => {
                let rolled_back = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                return Err(Failed {
                    error: StoreError::Query { about, source },
                    connection_lost: rolled_back.is_err(),
                });
            }
        };
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
