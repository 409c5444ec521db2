//! The store's errors: what failed, with the database's own message as the source.

/// A store operation that did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("could not open the database {url}")]
    Open {
        /// The URL, with any password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("could not migrate the database schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error while {about}")]
    Query {
        /// What the store was doing.
        about: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A statement on the worker results' own SQLite connection failed.
    #[error("database error while {about}")]
    Sqlite {
        /// What the store was doing.
        about: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The worker results' thread could not be started, or has stopped (the store
    /// was closed).
    #[error("the worker results' SQLite thread {0}")]
    ResultsThread(String),
    /// A unique name is taken.
    #[error("{what} {name:?} already exists")]
    Conflict {
        /// The kind of object.
        what: &'static str,
        /// The name that is taken.
        name: String,
    },
    /// An execution to run alone (its job's `duplicatePolicy` is `skip`) was not
    /// created: another execution of its job is Pending or Running.
    #[error("job {job_name:?} already has an execution pending or running")]
    AlreadyActive {
        /// The job's id.
        job_id: String,
        /// The job's name.
        job_name: String,
    },
    /// The built-in agent ([`bosun_core::LOCAL_AGENT`], the server's own runner) was
    /// asked to change in a way only a remote agent may.
    #[error(
        "the agent {name:?} is the server's own runner: it cannot be {action} (only agents \
         made with `bosun agents add` can)"
    )]
    BuiltInAgent {
        /// Its name.
        name: String,
        /// What was refused, phrased to follow "cannot be": "renamed", "deleted".
        action: &'static str,
    },
    /// An agent was not deleted: executions sent to it are still Pending or Running.
    #[error(
        "the agent {name:?} has {executions} execution(s) pending or running: cancel them or \
         wait for them to end, then delete it (or deactivate it now)"
    )]
    AgentInUse {
        /// Its name.
        name: String,
        /// How many of its executions have not ended.
        executions: i64,
    },
    /// A column of a row holds a value its type cannot be read from (written by
    /// hand, or by a newer bosun).
    #[error("stored {table}.{column} {value:?} is unreadable: {why}")]
    Unreadable {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// The value stored.
        value: String,
        /// Why it cannot be read.
        why: String,
    },
    /// A stored value could not be read back (a corrupt row).
    #[error("stored {what} is unreadable: {why}")]
    Corrupt {
        /// The kind of value.
        what: &'static str,
        /// Why.
        why: String,
    },
}

/// Adds what the store was doing to a driver error.
pub(crate) trait QueryContext<T> {
    fn about(self, about: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn about(self, about: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { about, source })
    }
}

/// True when `e` is a unique-constraint violation (the `Any` driver passes the
/// engine's own error through, which knows its kind).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
