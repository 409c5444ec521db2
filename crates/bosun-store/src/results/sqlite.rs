//! The worker's results on a SQLite file, saved and looked up on a thread of their own
//! with one plain SQLite connection (rusqlite, over the same SQLite library sqlx links).
//!
//! Why not sqlx, as the rest of the store: a worker saves and looks up a row per job,
//! tens of thousands a second, and sqlx's SQLite driver costs more per statement and per
//! bound value than SQLite's own work does. Saving a read's worth of results (64) as one
//! multi-row `INSERT` through sqlx, or as 64 prepared `INSERT`s in one transaction,
//! takes over five times as long as it does here (`cargo bench -p bosun-store --bench
//! results`; docs/PERFORMANCE.md, "The worker"). Here each batch is one request to the
//! thread: a transaction of prepared, cached statements, one bind per value, no
//! conversions.
//!
//! The thread starts on the first use (a server that never runs a worker has none) and
//! ends when the store is closed or its last clone dropped. Other writers of the file
//! (the store's sqlx pools) take turns with it through SQLite's locks, waiting up to
//! the same `busy_timeout`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use bosun_core::role::Role;
use rusqlite::types::Type;

use super::{COLUMNS, NewWorkerResult, ResultRow, WorkerResult, decode};
use crate::error::StoreError;

/// How long a statement waits for another connection's write lock (as the pools do).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

type Reply<T> = oneshot::Sender<rusqlite::Result<T>>;

enum Request {
    Lookup {
        job_ids: Vec<String>,
        reply: Reply<Vec<WorkerResult>>,
    },
    Save {
        rows: Vec<NewWorkerResult>,
        finished_at: i64,
        reply: Reply<Vec<bool>>,
    },
}

/// The handle to the results thread. Dropping the last one ends the thread.
#[derive(Debug)]
pub(crate) struct ResultsFile {
    requests: mpsc::Sender<Request>,
}

impl ResultsFile {
    /// Opens `path` (whose schema is up to date) on a new thread.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = connect(path).map_err(|source| StoreError::Sqlite {
            about: "opening the worker results' connection",
            source,
        })?;
        let (requests, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("bosun-results".to_owned())
            .spawn(move || serve(connection, &receiver))
            .map_err(|e| StoreError::ResultsThread(format!("cannot be started: {e}")))?;
        Ok(Self { requests })
    }

    /// The saved results of those of `job_ids` that have one.
    pub(crate) async fn lookup(
        &self,
        job_ids: Vec<String>,
    ) -> Result<Vec<WorkerResult>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ask(
            Request::Lookup { job_ids, reply },
            answer,
            "reading worker results",
        )
        .await
    }

    /// Saves `rows`, all finished at `finished_at`, in one transaction: for each, in
    /// order, whether it was saved now (false when its job has a result already, or an
    /// earlier row of `rows` was the same job's).
    pub(crate) async fn save(
        &self,
        rows: Vec<NewWorkerResult>,
        finished_at: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Save {
            rows,
            finished_at,
            reply,
        };
        self.ask(request, answer, "saving worker results").await
    }

    async fn ask<T>(
        &self,
        request: Request,
        answer: oneshot::Receiver<rusqlite::Result<T>>,
        about: &'static str,
    ) -> Result<T, StoreError> {
        let gone = || StoreError::ResultsThread("has stopped".to_owned());
        self.requests.send(request).map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(|source| StoreError::Sqlite { about, source })
    }
}

/// The SQLite file of a `sqlite:` URL, unless the database is in memory (which another
/// connection cannot share).
pub(crate) fn file_of(url: &str) -> Option<PathBuf> {
    use std::str::FromStr;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // As the pools' connections: the file is in WAL mode already (set when the store
    // opened it); NORMAL sync is durable across a crash of bosun.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(connection)
}

fn serve(mut connection: Connection, requests: &mpsc::Receiver<Request>) {
    while let Ok(request) = requests.recv() {
        match request {
            Request::Lookup { job_ids, reply } => {
                let _ = reply.send(lookup(&connection, &job_ids));
            }
            Request::Save {
                rows,
                finished_at,
                reply,
            } => {
                let _ = reply.send(save(&mut connection, &rows, finished_at));
            }
        }
    }
}

fn lookup(connection: &Connection, job_ids: &[String]) -> rusqlite::Result<Vec<WorkerResult>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM worker_results WHERE job_id = ?1"
    ))?;
    let mut found = Vec::new();
    for id in job_ids {
        let row = statement.query_row([id], |row| decode(row)).optional()?;
        found.extend(row);
    }
    Ok(found)
}

fn save(
    connection: &mut Connection,
    rows: &[NewWorkerResult],
    finished_at: i64,
) -> rusqlite::Result<Vec<bool>> {
    // IMMEDIATE: the write lock is taken (or waited for) at the start, so the
    // transaction never has to give up half-way to another writer. Dropped without
    // a commit (a statement failed), it rolls back.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let saved = {
        let mut insert = transaction.prepare_cached(&format!(
            "INSERT INTO worker_results ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT DO NOTHING"
        ))?;
        rows.iter()
            .map(|r| {
                let changed = insert.execute(params![
                    r.job_id,
                    r.role.name(),
                    r.stream,
                    r.entry_id,
                    r.workflow_id,
                    r.user_id,
                    r.project_id,
                    r.connection_id,
                    i64::from(r.succeeded),
                    r.output,
                    r.consumer,
                    r.attempts,
                    finished_at,
                ])?;
                Ok(changed == 1)
            })
            .collect::<rusqlite::Result<Vec<bool>>>()?
    };
    transaction.commit()?;
    Ok(saved)
}

impl ResultRow for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn text(&self, column: usize) -> rusqlite::Result<String> {
        self.get(column)
    }

    fn int(&self, column: usize) -> rusqlite::Result<i64> {
        self.get(column)
    }

    fn role(&self, column: usize) -> rusqlite::Result<Role> {
        let unreadable = |e: Box<dyn std::error::Error + Send + Sync>| {
            rusqlite::Error::FromSqlConversionFailure(column, Type::Text, e)
        };
        let name = self
            .get_ref(column)?
            .as_str()
            .map_err(|e| unreadable(e.into()))?;
        name.parse().map_err(|e| unreadable(Box::new(e)))
    }
}
