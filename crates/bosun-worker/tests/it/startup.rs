//! Starting: several workers at once on one new SQLite results file.

use bosun_worker::WorkerConfig;
use tokio_util::sync::CancellationToken;

/// Regression: SQLite migrations take no lock, so workers started together on a new
/// file raced to make the schema, and all but one failed to start.
#[tokio::test(flavor = "multi_thread")]
async fn workers_started_together_on_a_new_sqlite_file_all_start() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("a temp dir can be created");
        let url = format!("sqlite://{}", dir.path().join("bosun.db").display());
        let starts: Vec<_> = (0..3)
            .map(|i| {
                let mut config = WorkerConfig::new("redis://127.0.0.1:1", url.clone(), dir.path());
                config.consumer = format!("w{i}");
                tokio::spawn(async move {
                    // Redis is not needed to start.
                    bosun_worker::start(config, &CancellationToken::new())
                        .await
                        .map(drop)
                })
            })
            .collect();
        for started in starts {
            started
                .await
                .expect("start does not panic")
                .expect("every worker starts");
        }
    }
}
