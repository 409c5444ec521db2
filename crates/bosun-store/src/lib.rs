//! bosun's persistence: tenants, API tokens, agents, job definitions, executions
//! with their status history, schedules and file triggers.
//!
//! One [`Store`] speaks to SQLite (the embedded default: one file in the data dir,
//! nothing to install) or PostgreSQL (a fleet), chosen by the URL. Both run the same
//! queries through sqlx's `Any` driver. The schema keeps to types that both engines
//! read back alike: text ids and JSON, `BIGINT` numbers and times (milliseconds since
//! the epoch). One set of migration files serves both; the one phrase the dialects
//! spell differently is rewritten for PostgreSQL.
//!
//! Secrets are never stored: a token's secret and an agent's machine key are kept
//! as their SHA-256 hashes.

mod agents;
mod error;
mod executions;
mod jobs;
mod model;
mod packages;
mod results;
mod row;
mod status_sql;
mod tenants;
mod time;
mod triggers;
mod wire;

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};

pub use agents::MACHINE_KEY_PREFIX;
pub use error::StoreError;
pub use executions::{
    ActivityCount, ExecutionFilter, ExecutionWrite, ExecutionWritten, Finish, NewExecution, Page,
    RemoteTarget, RunBy, Started,
};
pub use model::{
    Agent, Execution, ExecutionEvent, FileTriggerRow, Job, NewFileTrigger, NewSchedule, Package,
    PackageVersion, ScheduleRow, Tenant, Token,
};
pub use packages::NewPackageVersion;
pub use results::{NewWorkerResult, WorkerResult};
pub use tenants::{TOKEN_PREFIX, TokenDeletion};

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The handle to the database. Cheap to clone; all clones share its pools.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// For SQLite, one connection of its own that the executions' frequent writes
    /// take turns on; for PostgreSQL, `pool` again. See [`Store::open`].
    writer: AnyPool,
    /// For SQLite, the task that holds `writer`'s connection and writes the
    /// executions' writes in batches.
    sqlite_writer: Option<Arc<executions::Writer>>,
    /// For SQLite, the worker results' own connection, opened on first use.
    results_file: Option<Arc<std::sync::Mutex<ResultsFileState>>>,
    backend: Backend,
}

/// Where the worker results' own connection to a SQLite file is at.
#[derive(Debug)]
enum ResultsFileState {
    /// Not needed yet.
    Unopened(std::path::PathBuf),
    Open(Arc<results::ResultsFile>),
    /// The store was closed.
    Closed,
    /// The database is in memory, which another connection cannot share.
    InMemory,
}

/// The schema, applied in order. Written in SQLite's dialect; [`dialect`] turns it
/// into PostgreSQL's.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "trigger files",
        include_str!("../migrations/0002_trigger_files.sql"),
    ),
    (
        3,
        "worker results",
        include_str!("../migrations/0003_worker_results.sql"),
    ),
    (
        4,
        "worker results without notified_at",
        include_str!("../migrations/0004_worker_results_notified.sql"),
    ),
    (
        5,
        "executions that run alone",
        include_str!("../migrations/0005_executions_alone.sql"),
    ),
    (
        6,
        "packages and machine keys",
        include_str!("../migrations/0006_packages.sql"),
    ),
    (
        7,
        "remote agents",
        include_str!("../migrations/0007_agents.sql"),
    ),
    (
        8,
        "the package of an execution",
        include_str!("../migrations/0008_execution_package.sql"),
    ),
    (
        9,
        "executions listed by agent, package and trigger",
        include_str!("../migrations/0009_execution_filters.sql"),
    ),
];

/// `sql` in `backend`'s dialect. The schema keeps to types both engines share, so
/// the one difference is the auto-incrementing key.
fn dialect(sql: &'static str, backend: Backend) -> Cow<'static, str> {
    match backend {
        Backend::Sqlite => Cow::Borrowed(sql),
        Backend::Postgres => {
            Cow::Owned(sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"))
        }
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH`, `postgres://…`), creating a SQLite
    /// file (or a PostgreSQL database the user may create) when missing, and brings
    /// its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let open_error = |source| StoreError::Open {
            url: redact(url),
            source,
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        if backend == Backend::Postgres {
            use sqlx::migrate::MigrateDatabase;
            if !sqlx::Any::database_exists(&url).await.map_err(open_error)? {
                sqlx::Any::create_database(&url).await.map_err(open_error)?;
            }
        }
        // SQLite: connections for reads, and one for the executions' writes. SQLite
        // has one writer at a time, and a connection that finds the write lock taken
        // sleeps (a millisecond at first, then longer) before it tries again; queued
        // on one connection, those writes wait only for each other. Writes elsewhere
        // (job definitions, tokens, a scheduler's transaction) are rare and keep to
        // the main pool. A SQLite file cannot drop a connection, so none is tested
        // before use: each test would be one more round trip to its worker thread.
        // Each SQLite connection keeps its own page cache; the readers' is 1 MiB
        // (SQLite's default is 2), as a listing that pages through a long history
        // fills every reader's cache, and the server's memory with them.
        let connect = |connections, cache_kib: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .test_before_acquire(backend == Backend::Postgres)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // WAL lets readers go on while a runner writes; NORMAL sync is
                            // durable across a crash of bosun (not of the machine's power).
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                                .await?;
                            conn.execute(format!("PRAGMA cache_size = -{cache_kib}").as_str())
                                .await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
        };
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let pool = connect(3, 1024).await.map_err(open_error)?;
                (pool, connect(1, 2048).await.map_err(open_error)?)
            }
            Backend::Postgres => {
                let pool = connect(10, 0).await.map_err(open_error)?;
                (pool.clone(), pool)
            }
        };
        let sqlite_writer = (backend == Backend::Sqlite)
            .then(|| Arc::new(executions::Writer::start(writer.clone(), pool.clone())));
        let results_file = (backend == Backend::Sqlite).then(|| {
            let state = match results::file_of(&url) {
                Some(path) => ResultsFileState::Unopened(path),
                None => ResultsFileState::InMemory,
            };
            Arc::new(std::sync::Mutex::new(state))
        });
        let store = Self {
            pool,
            writer,
            sqlite_writer,
            results_file,
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pools, waiting for connections in use to be returned (and for
    /// the executions' writes queued on SQLite to be written).
    pub async fn close(&self) {
        if let Some(state) = &self.results_file {
            // The thread ends (and closes its connection) once requests under way
            // have their answers.
            *lock(state) = ResultsFileState::Closed;
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        self.writer.close().await;
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        migrator(self.backend, MIGRATIONS.len())
            .run(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For SQLite, the worker results' own connection (opened now if this is its
    /// first use); `None` for PostgreSQL.
    pub(crate) fn results_file(&self) -> Result<Option<Arc<results::ResultsFile>>, StoreError> {
        let Some(state) = &self.results_file else {
            return Ok(None);
        };
        let mut state = lock(state);
        let file = match &*state {
            ResultsFileState::Open(file) => return Ok(Some(file.clone())),
            ResultsFileState::Unopened(path) => Arc::new(results::ResultsFile::open(path)?),
            ResultsFileState::Closed => {
                return Err(StoreError::ResultsThread(
                    "has stopped: the store is closed".to_owned(),
                ));
            }
            ResultsFileState::InMemory => {
                return Err(StoreError::ResultsThread(
                    "needs a SQLite file: worker results cannot be kept in an in-memory \
                     database"
                        .to_owned(),
                ));
            }
        };
        *state = ResultsFileState::Open(file.clone());
        Ok(Some(file))
    }

    /// Deletes the tenant's row `id` of `table`, doing `about`; false when the tenant
    /// has none.
    async fn delete_of_tenant(
        &self,
        table: &'static str,
        tenant_id: &str,
        id: &str,
        about: &'static str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|source| StoreError::Query { about, source })?;
        Ok(done.rows_affected() > 0)
    }

    /// On SQLite, the task that writes the executions' writes in batches.
    pub(crate) fn sqlite_writer(&self) -> Option<&executions::Writer> {
        self.sqlite_writer.as_deref()
    }
}

/// Locks `mutex`, whose holders never panic while holding it (a poisoned lock's value
/// is as good as before).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The first `upto` migrations, in `backend`'s dialect.
fn migrator(backend: Backend, upto: usize) -> Migrator {
    let migrations: Vec<Migration> = MIGRATIONS[..upto]
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                dialect(sql, backend),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, MIGRATIONS, Store, dialect, migrator, redact};
    use sqlx::migrate::MigrateDatabase;

    /// A new database at `url` on `engine`, as a bosun with the first `migrations`
    /// migrations left it: for tests of what later migrations do to old data.
    pub(crate) async fn migrated_to(engine: &str, url: &str, migrations: usize) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let (backend, url_rwc) = match engine {
            "postgres" => (Backend::Postgres, url.to_owned()),
            _ => (Backend::Sqlite, format!("{url}?mode=rwc")),
        };
        if backend == Backend::Postgres {
            sqlx::Any::create_database(url)
                .await
                .expect(bosun_test_utils::POSTGRES_HELP);
        }
        let old = sqlx::AnyPool::connect(&url_rwc).await.unwrap();
        migrator(backend, migrations).run(&old).await.unwrap();
        old
    }

    #[tokio::test]
    async fn worker_results_saved_before_notified_at_went_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (engine, url) in bosun_test_utils::database_urls(dir.path()) {
            // A database as a bosun of migration 3 left it, with a result in it.
            let old = migrated_to(engine, &url, 3).await;
            sqlx::query(
                "INSERT INTO worker_results (job_id, role, stream, entry_id, workflow_id, \
                 user_id, project_id, connection_id, succeeded, output, consumer, attempts, \
                 finished_at, notified_at) \
                 VALUES ('old', 'agent', 'jobs:agent', '1-0', 'w', 'u', 'p', 'c', 1, 'hi', \
                 'ghost', 1, 1700000000000, 1700000000001)",
            )
            .execute(&old)
            .await
            .unwrap();
            old.close().await;

            let store = Store::open(&url).await.unwrap();
            let kept = store.worker_result("old").await.unwrap().expect("kept");
            assert_eq!(
                (kept.saved.output.as_str(), kept.saved.consumer.as_str()),
                ("hi", "ghost"),
                "{engine}"
            );
            assert_eq!(kept.finished_at.timestamp_millis(), 1_700_000_000_000);
            store.close().await;
            bosun_test_utils::drop_test_database(&url).await;
        }
    }

    #[test]
    fn the_postgres_schema_has_no_sqlite_only_key() {
        for (_, _, sql) in MIGRATIONS {
            let postgres = dialect(sql, Backend::Postgres);
            assert!(!postgres.contains("AUTOINCREMENT"), "{postgres}");
            assert_eq!(
                sql.matches("INTEGER PRIMARY KEY AUTOINCREMENT").count(),
                postgres.matches("BIGSERIAL PRIMARY KEY").count()
            );
            assert_eq!(dialect(sql, Backend::Sqlite), *sql);
        }
    }

    #[test]
    fn a_password_in_a_url_is_never_shown() {
        assert_eq!(
            redact("postgres://bosun:s3cret@db:5432/bosun"),
            "postgres://bosun:***@db:5432/bosun"
        );
        assert_eq!(redact("postgres://db/bosun"), "postgres://db/bosun");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
