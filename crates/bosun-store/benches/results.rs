//! What the worker's write and read of results cost on SQLite, alone: saving a read's
//! worth of results (64) together, looking 64 up (all found, and none found, which is
//! what a read of new jobs finds). Beside the save, in the same batches, the same rows
//! saved through sqlx's own SQLite driver (on a file of their own, same pragmas) the
//! two ways it allows: one multi-row `INSERT … VALUES`, and 64 prepared `INSERT`s in
//! one transaction. They say why the store saves the worker's results through a
//! connection of its own (`results/sqlite.rs`) rather than through sqlx. The worker bench (`cargo bench -p bosun-worker --bench worker`)
//! times them inside the whole path; this one times them with nothing else running,
//! so that a change to one statement can be measured by itself.
//!
//! `cargo bench -p bosun-store --bench results [-- --batches N]`; docs/PERFORMANCE.md
//! ("The worker") records a run.

use std::time::Instant;

use bosun_core::role::Role;
use bosun_store::{NewWorkerResult, Store};
use bosun_test_utils::stats::{median, seconds};

type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Results a batch: the worker's read of one stream.
const BATCH: usize = 64;

fn main() {
    let mut batches = 200;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--batches" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => batches = n,
                _ => {
                    eprintln!("results bench: --batches needs a positive number");
                    std::process::exit(2);
                }
            },
            other => {
                eprintln!("results bench: unknown argument {other:?}; usage: [--batches N]");
                std::process::exit(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    if let Err(e) = runtime.block_on(run(batches)) {
        eprintln!("results bench: {e}");
        std::process::exit(1);
    }
}

async fn run(batches: usize) -> Fallible<()> {
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(scratch)?;
    let dir = tempfile::tempdir_in(scratch)?;
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("results.db").display()
    ))
    .await?;
    let sqlx_pool = sqlx_pool(&dir.path().join("sqlx.db")).await?;
    let (mut save, mut look, mut miss) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sqlx_values, mut sqlx_singles) = (Vec::new(), Vec::new());
    for b in 0..batches {
        let rows: Vec<NewWorkerResult> = (0..BATCH)
            .map(|i| NewWorkerResult {
                job_id: format!("job-{b}-{i}"),
                role: Role::Manager,
                stream: "jobs:manager".to_owned(),
                entry_id: format!("1700000000000-{i}"),
                workflow_id: "wf-bench".to_owned(),
                user_id: "user-1".to_owned(),
                project_id: "project-1".to_owned(),
                connection_id: "conn-1".to_owned(),
                succeeded: true,
                output: String::new(),
                consumer: "bench".to_owned(),
                attempts: 1,
            })
            .collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.job_id.as_str()).collect();
        let start = Instant::now();
        sqlx_save_values(&sqlx_pool, &rows, "values").await?;
        sqlx_values.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        sqlx_save_singles(&sqlx_pool, &rows, "singles").await?;
        sqlx_singles.push(start.elapsed().as_secs_f64());
        let batch = rows.clone();
        let start = Instant::now();
        let saved = store.save_worker_results(batch).await?;
        save.push(start.elapsed().as_secs_f64());
        if saved.iter().any(Option::is_none) {
            return Err("a new result was not saved".into());
        }
        let start = Instant::now();
        let found = store.worker_results(&ids).await?;
        look.push(start.elapsed().as_secs_f64());
        if found.len() != BATCH {
            return Err(format!("{} of {BATCH} saved results found", found.len()).into());
        }
        let missing: Vec<String> = ids.iter().map(|id| format!("{id}-never")).collect();
        let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
        let start = Instant::now();
        let found = store.worker_results(&missing).await?;
        miss.push(start.elapsed().as_secs_f64());
        if !found.is_empty() {
            return Err("a job that was never saved has a result".into());
        }
    }
    store.close().await;
    sqlx_pool.close().await;
    println!(
        "{batches} batches of {BATCH} results, SQLite in {}; medians:",
        dir.path().display()
    );
    let saved = median(&save);
    println!("- save (one transaction): {}", seconds(saved));
    for (how, times) in [
        ("one multi-row INSERT … VALUES", &sqlx_values),
        ("64 prepared INSERTs in one transaction", &sqlx_singles),
    ] {
        println!(
            "- the same through sqlx's SQLite driver, {how}: {} ({:.1}× the save)",
            seconds(median(times)),
            median(times) / saved
        );
    }
    println!("- look up, all found: {}", seconds(median(&look)));
    println!("- look up, none found: {}", seconds(median(&miss)));
    Ok(())
}

/// A pool of one connection of sqlx's own SQLite driver on `path`, with the store's
/// pragmas and the results table as the store has it.
async fn sqlx_pool(path: &std::path::Path) -> Fallible<sqlx::SqlitePool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    for sql in [
        include_str!("../migrations/0003_worker_results.sql"),
        include_str!("../migrations/0004_worker_results_notified.sql"),
    ] {
        sqlx::raw_sql(sql).execute(&pool).await?;
    }
    Ok(pool)
}

/// The columns the store saves a result with.
const COLUMNS: &str = "job_id, role, stream, entry_id, workflow_id, user_id, project_id, \
     connection_id, succeeded, output, consumer, attempts, finished_at";

/// Binds a result's thirteen values to `query`, the job id made unique by `tag`.
fn bind_row<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    row: &'q NewWorkerResult,
    tag: &str,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    query
        .bind(format!("{}-{tag}", row.job_id))
        .bind(row.role.name())
        .bind(&row.stream)
        .bind(&row.entry_id)
        .bind(&row.workflow_id)
        .bind(&row.user_id)
        .bind(&row.project_id)
        .bind(&row.connection_id)
        .bind(i64::from(row.succeeded))
        .bind(&row.output)
        .bind(&row.consumer)
        .bind(row.attempts)
        .bind(1_700_000_000_000_i64)
}

/// `rows` saved through sqlx in one multi-row `INSERT … VALUES`.
async fn sqlx_save_values(
    pool: &sqlx::SqlitePool,
    rows: &[NewWorkerResult],
    tag: &str,
) -> Fallible<()> {
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let row: Vec<String> = (1..=13).map(|c| format!("?{}", r * 13 + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO worker_results ({COLUMNS}) VALUES {} ON CONFLICT DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = bind_row(query, row, tag);
    }
    let done = query.execute(pool).await?;
    if done.rows_affected() != rows.len() as u64 {
        return Err("sqlx did not save every row".into());
    }
    Ok(())
}

/// `rows` saved through sqlx as one prepared `INSERT` each, in one transaction.
async fn sqlx_save_singles(
    pool: &sqlx::SqlitePool,
    rows: &[NewWorkerResult],
    tag: &str,
) -> Fallible<()> {
    let sql = format!(
        "INSERT INTO worker_results ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING"
    );
    let mut transaction = pool.begin().await?;
    for row in rows {
        let done = bind_row(sqlx::query(&sql), row, tag)
            .execute(&mut *transaction)
            .await?;
        if done.rows_affected() != 1 {
            return Err("sqlx did not save a row".into());
        }
    }
    transaction.commit().await?;
    Ok(())
}
