//! What the worker's write and read of results cost on SQLite, alone: saving a read's
//! worth of results (64) together, looking 64 up (all found, and none found, which is
//! what a read of new jobs finds). The worker bench (`cargo bench -p bosun-worker --bench worker`)
//! times them inside the whole path; this one times them with nothing else running,
//! so that a change to one statement can be measured by itself.
//!
//! `cargo bench -p bosun-store --bench results [-- --batches N]`; docs/PERFORMANCE.md
//! ("The worker") records a run.

use std::time::Instant;

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
    let (mut save, mut look, mut miss) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..batches {
        let rows: Vec<NewWorkerResult> = (0..BATCH)
            .map(|i| NewWorkerResult {
                job_id: format!("job-{b}-{i}"),
                role: "manager".to_owned(),
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
    println!(
        "{batches} batches of {BATCH} results, SQLite in {}; medians:",
        dir.path().display()
    );
    println!("- save (one transaction): {}", seconds(median(&save)));
    println!("- look up, all found: {}", seconds(median(&look)));
    println!("- look up, none found: {}", seconds(median(&miss)));
    Ok(())
}
