//! What the worker's three writes and reads of results cost on SQLite, alone: saving a
//! read's worth of results (64) in one statement, looking 64 up, recording their
//! notifications. The worker bench (`cargo bench -p bosun-worker --bench worker`)
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
    let (mut save, mut look, mut mark) = (Vec::new(), Vec::new(), Vec::new());
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
        let start = Instant::now();
        let saved = store.save_worker_results(&rows).await?;
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
        let start = Instant::now();
        store.mark_worker_results_notified(&ids).await?;
        mark.push(start.elapsed().as_secs_f64());
    }
    store.close().await;
    println!(
        "{batches} batches of {BATCH} results, SQLite in {}; medians:",
        dir.path().display()
    );
    println!("- save (one statement): {}", seconds(median(&save)));
    println!(
        "- look up (one query, all found): {}",
        seconds(median(&look))
    );
    println!(
        "- record notifications (one statement): {}",
        seconds(median(&mark))
    );
    Ok(())
}
