//! (c) The server's memory: resident set (`VmRSS`) and its peak (`VmHWM`) from
//! `/proc`, idle after a first start, and with a large history after exercising it.
//!
//! The history is filled while the server is stopped, through `bosun_store::Store`,
//! with rows made the way the runner makes them (created Pending, marked Running with
//! a pid and log paths, finished with the message a real `/bin/true` execution got:
//! three status events each), copied from one real execution, a thousand rows at a
//! time (the store writes them in few transactions). The server is then
//! started again with a history limit that keeps them all, and exercised: every
//! execution listed in pages of 1000, the first pages of the default size, a status
//! filter that matches nothing (its index finds none), the monitor routes,
//! and a few jobs run and read back. (g) fills its server's history the same way
//! ([`write_history`]).

use std::path::Path;
use std::time::{Duration, Instant};

use bosun_core::{ExecutionStatus, TriggerKind};
use bosun_store::{ExecutionWrite, ExecutionWritten, Finish, NewExecution, Started, Store};
use chrono::Utc;
use serde_json::Value;

use crate::Fallible;
use crate::api::Api;
use crate::process::{Memory, ServerProcess, UpFlags};
use crate::throughput::{JOB, definition};

/// How long the server is left alone before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

/// Rows written at a time while filling the history.
const BATCH: usize = 1000;

/// Jobs run while exercising the loaded server.
const RUNS: usize = 20;

/// What (c) measured.
pub(crate) struct Findings {
    /// After the first start, before any request.
    pub(crate) idle: Memory,
    /// After the restart with the full history, before any request.
    pub(crate) loaded_start: Memory,
    /// After the client listed every execution in pages of 1000.
    pub(crate) listed_all: Memory,
    /// After the whole exercise; its `peak` covers the whole life of that server.
    pub(crate) exercised: Memory,
    pub(crate) fill_seconds: f64,
    pub(crate) database_bytes: u64,
    pub(crate) listed: usize,
}

/// Measures a server in `home` (made here) with `rows` history rows.
pub(crate) fn measure(
    runtime: &tokio::runtime::Runtime,
    home: &Path,
    rows: usize,
    max_concurrent: usize,
) -> Fallible<Findings> {
    let flags = UpFlags {
        max_concurrent,
        history_limit: (rows + RUNS + 10) as i64,
        more: Vec::new(),
    };
    let server = ServerProcess::start(home, &flags)?;
    std::thread::sleep(SETTLE);
    let idle = server.memory()?;
    let written = write_history(runtime, server, home, rows)?;

    let server = ServerProcess::start(home, &flags)?;
    std::thread::sleep(SETTLE);
    let loaded_start = server.memory()?;
    let api = Api::new(&server.url, &server.token);
    let lister = api.clone();
    let listed = runtime.block_on(crate::on_worker(async move {
        Ok(lister.all_executions(JOB).await?.len())
    }))?;
    std::thread::sleep(SETTLE);
    let listed_all = server.memory()?;
    runtime.block_on(crate::on_worker(exercise(api)))?;
    std::thread::sleep(SETTLE);
    let exercised = server.memory()?;
    server.stop()?;
    if listed < rows {
        return Err(
            format!("the server listed {listed} executions, fewer than the {rows} made").into(),
        );
    }
    Ok(Findings {
        idle,
        loaded_start,
        listed_all,
        exercised,
        fill_seconds: written.seconds,
        database_bytes: written.database_bytes,
        listed,
    })
}

/// A history written into a stopped server's store.
pub(crate) struct Written {
    /// How long writing it took.
    pub(crate) seconds: f64,
    /// The database and its WAL afterwards.
    pub(crate) database_bytes: u64,
}

/// Makes [`JOB`] on `server` (serving from `home`), runs it once, stops the server,
/// and writes `rows` finished executions like that one into its store. The caller
/// starts it again, with a history limit that keeps them.
pub(crate) fn write_history(
    runtime: &tokio::runtime::Runtime,
    server: ServerProcess,
    home: &Path,
    rows: usize,
) -> Fallible<Written> {
    let api = Api::new(&server.url, &server.token);
    let template = runtime.block_on(crate::on_worker(async move {
        api.create_job(&definition()).await?;
        let id = api.run(JOB).await?;
        api.finished(&id, Duration::from_millis(5)).await
    }))?;
    server.stop()?;

    let started = Instant::now();
    let url = format!("sqlite://{}", home.join("bosun.db").display());
    runtime.block_on(crate::on_worker(fill(url, template, rows)))?;
    let seconds = started.elapsed().as_secs_f64();
    let database_bytes = ["bosun.db", "bosun.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(home.join(f)).ok())
        .map(|m| m.len())
        .sum();
    Ok(Written {
        seconds,
        database_bytes,
    })
}

/// Writes `rows` finished executions of [`JOB`] like `template` into the store at
/// `url`, [`BATCH`] at a time: created Pending, then marked Running and finished as
/// the runner does (`Store::write_all`).
async fn fill(url: String, template: Value, rows: usize) -> Fallible<()> {
    let store = Store::open(&url).await?;
    let tenant = store
        .tenant_by_slug("default")
        .await?
        .ok_or("the server made no default tenant")?;
    let job = store
        .job(&tenant.id, JOB)
        .await?
        .ok_or("the job made through the API is not in the store")?;
    let text = |field: &str| -> Fallible<String> {
        template[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the template execution has no {field}: {template}").into())
    };
    let (real_id, message) = (text("id")?, text("message")?);
    let (output_log, error_log) = (text("outputLog")?, text("errorLog")?);
    let pid = template["pid"].as_i64().ok_or("the template has no pid")?;
    let mut made = 0;
    while made < rows {
        let batch = BATCH.min(rows - made);
        // Asked for all at once, they are written in batches (as concurrent run
        // requests would be).
        let creates = (0..batch).map(|_| {
            store.create_execution(NewExecution::of(&job, TriggerKind::Api, None, Vec::new()))
        });
        let mut ids = Vec::with_capacity(batch);
        for created in futures_util::future::join_all(creates).await {
            ids.push(created?.id);
        }
        let mut writes = Vec::with_capacity(2 * batch);
        for id in ids {
            let now = Utc::now();
            writes.push(ExecutionWrite::Running {
                started: Started {
                    output_log: output_log.replace(&real_id, &id),
                    error_log: error_log.replace(&real_id, &id),
                    pid,
                    start_time: now,
                },
                id: id.clone(),
            });
            let finish = Finish {
                status: ExecutionStatus::CompletedSuccessfully,
                exit_code: Some(0),
                message: message.clone(),
                end_time: now,
            };
            writes.push(ExecutionWrite::Finish { id, finish });
        }
        for written in store.write_all(&writes).await {
            match written? {
                ExecutionWritten::Running | ExecutionWritten::Finished(true) => {}
                other => return Err(format!("a history row was not written: {other:?}").into()),
            }
        }
        made += batch;
    }
    store.close().await;
    Ok(())
}

/// Uses the loaded server as a client would, after the full listing: the first pages
/// of the default size, a filter that matches nothing, the monitor and the jobs, and
/// a few runs.
async fn exercise(api: Api) -> Fallible<()> {
    let mut before: Option<String> = None;
    for _ in 0..5 {
        let path = match &before {
            Some(cursor) => format!("/api/executions?before={cursor}"),
            None => "/api/executions".to_owned(),
        };
        let page = api.get(&path).await?;
        before = page["next"].as_str().map(str::to_owned);
    }
    api.get("/api/executions?status=Failed").await?;
    api.get("/api/monitor/running").await?;
    api.get("/api/monitor/stuck").await?;
    api.get("/api/jobs").await?;
    let mut ids = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        ids.push(api.run(JOB).await?);
    }
    for id in &ids {
        let done = api.finished(id, Duration::from_millis(5)).await?;
        if done["status"] != "CompletedSuccessfully" {
            return Err(format!("execution {id} did not succeed: {done}").into());
        }
    }
    api.get("/api/monitor/running").await?;
    Ok(())
}
