//! A connection that writes executions' writes in batches ([`Batch`]), on either
//! engine, and the rule for a batch that fails: each write is tried again alone, so
//! that a bad write fails by itself.
//!
//! The SQLite writer ([`super::writer`]) holds one link for good, and gives it the
//! writes of many callers at once; on PostgreSQL each call takes a link of its own,
//! on a connection of the pool. Either way a write goes through the same statements
//! ([`super::batch`]) and the same answers.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};

use super::batch::{Batch, Creations, Failed, Scope, unanswered};
use super::{Created, ExecutionWrite, ExecutionWritten};
use crate::error::{QueryContext, StoreError};
use crate::{Backend, Execution};

/// The log's length (in pages) at which the SQLite writer's connection checkpoints
/// after all, should the checkpoints on the other connections fall behind (see
/// [`super::writer`]). SQLite's default is 1000.
const WAL_BACKSTOP: u32 = 10_000;

/// A connection of `pool`, taken on first use and kept.
pub(super) struct Link {
    pool: AnyPool,
    backend: Backend,
    connection: Option<PoolConnection<Any>>,
}

impl Link {
    /// A link on `pool`, whose engine is `backend`; it takes a connection when it
    /// first writes.
    pub(super) fn new(pool: AnyPool, backend: Backend) -> Self {
        Self {
            pool,
            backend,
            connection: None,
        }
    }

    /// Runs `batch` as a transaction of its own, putting each answer into `done`
    /// (see [`Batch::run`]); a connection that could not be rolled back is closed.
    pub(super) async fn run(
        &mut self,
        batch: Batch,
        done: &mut [ExecutionWritten],
    ) -> Result<Creations, StoreError> {
        let backend = self.backend;
        let held = self.held().await?;
        match batch.run(held, backend, Scope::Own, done).await {
            Ok(created) => Ok(created),
            Err(Failed {
                error,
                connection_lost,
            }) => {
                if connection_lost && let Some(lost) = self.connection.take() {
                    let _ = lost.close().await;
                }
                Err(error)
            }
        }
    }

    /// The connection, taken from the pool first if none is held.
    async fn held(&mut self) -> Result<&mut PoolConnection<Any>, StoreError> {
        if self.connection.is_none() {
            self.connection = Some(acquire(&self.pool, self.backend).await?);
        }
        Ok(self
            .connection
            .as_mut()
            .expect("a connection was just taken if none was held"))
    }

    /// Creates `execution`, as [`Batch::create`] says, and says what it did.
    pub(super) async fn create(
        &mut self,
        execution: &Execution,
        alone: bool,
        version: Option<i64>,
    ) -> Result<Created, StoreError> {
        let mut batch = Batch::default();
        batch.create(execution, alone, version);
        let created = self.run(batch, &mut []).await?;
        Ok(created.of(&execution.id))
    }

    /// Does `writes` in order, as one transaction, and says what each did; if that
    /// fails, each is done alone.
    pub(super) async fn write(
        &mut self,
        writes: &[ExecutionWrite],
    ) -> Vec<Result<ExecutionWritten, StoreError>> {
        let mut done: Vec<ExecutionWritten> = writes.iter().map(unanswered).collect();
        let mut batch = Batch::default();
        for (slot, write) in writes.iter().enumerate() {
            batch.write(slot, write);
        }
        match self.run(batch, &mut done).await {
            Ok(_) => done.into_iter().map(Ok).collect(),
            Err(e) if writes.len() == 1 => vec![Err(e)],
            Err(_) => {
                let mut answers = Vec::with_capacity(writes.len());
                for write in writes {
                    let mut one = [unanswered(write)];
                    let mut batch = Batch::default();
                    batch.write(0, write);
                    let written = self.run(batch, &mut one).await;
                    answers.push(written.map(|_| one[0].clone()));
                }
                answers
            }
        }
    }

    /// Deletes a job's `count` oldest finished executions, as
    /// [`crate::Store::prune_oldest`] says.
    pub(super) async fn prune(
        &mut self,
        job_id: &str,
        count: i64,
    ) -> Result<(u64, Vec<String>), StoreError> {
        let held = self.held().await?;
        super::prune_oldest_on(held, job_id, count).await
    }
}

/// A connection of `pool`. On SQLite, the writer's, which leaves checkpoints to the
/// others (see [`super::writer`]).
async fn acquire(pool: &AnyPool, backend: Backend) -> Result<PoolConnection<Any>, StoreError> {
    let about = "opening a connection to record executions";
    let mut connection = pool.acquire().await.about(about)?;
    if backend == Backend::Sqlite {
        sqlx::query(&format!("PRAGMA wal_autocheckpoint = {WAL_BACKSTOP}"))
            .execute(&mut *connection)
            .await
            .about(about)?;
    }
    Ok(connection)
}
