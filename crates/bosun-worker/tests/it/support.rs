//! The test bench: a real `redis-server` of the test's own, a fake LLM, a results
//! store in a temporary directory, and workers started in-process with
//! [`bosun_worker::start`], each with its own consumer name and shutdown token.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use bosun_store::{Store, WorkerResult};
use bosun_test_utils::fake_llm::FakeLlm;
use bosun_test_utils::redis_server::RedisServer;
use bosun_worker::{Role, WorkerConfig};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use tokio_util::sync::CancellationToken;

pub(crate) use bosun_test_utils::fake_llm::{Answer, Step};
pub(crate) use bosun_test_utils::{wait_for_async, wait_until};

/// How long anything a test waits for may take: generous, so a slow machine is not a
/// failure; a passing test never waits this long.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// The fields of a stream entry, as text (lossy: a malformed entry may hold other bytes).
pub(crate) type Fields = HashMap<String, String>;

/// Logs from the workers (`RUST_LOG`, default `bosun_worker=info`), shown with a
/// failing test's output.
fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("bosun_worker=info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

/// Everything one test needs, torn down when dropped.
pub(crate) struct Bench {
    pub(crate) redis: RedisServer,
    pub(crate) llm: FakeLlm,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Store,
    /// The consumer group, unique per test on a shared server.
    pub(crate) group: String,
}

impl Bench {
    pub(crate) async fn new() -> Self {
        init_logs();
        let redis = RedisServer::start();
        let llm = FakeLlm::start().await;
        let dir = tempfile::tempdir().expect("a temp dir can be created");
        let store = Store::open(&database_url(dir.path()))
            .await
            .expect("the results store opens");
        let group = format!("{}executor-group", redis.namespace());
        Self {
            redis,
            llm,
            dir,
            store,
            group,
        }
    }

    /// A worker's settings for this bench: every role, no limits, quick to retry and to
    /// take over (`claim_idle` 1 s, reads blocking 200 ms, LLM backoff 10 ms).
    pub(crate) fn config(&self, consumer: &str) -> WorkerConfig {
        let mut config = WorkerConfig::new(
            self.redis.url(),
            database_url(self.dir.path()),
            self.dir.path(),
        );
        let ns = self.redis.namespace();
        for role in Role::ALL {
            let stream = &mut config.role_mut(role).stream;
            *stream = format!("{ns}{stream}");
        }
        config.dead_letter = format!("{ns}{}", config.dead_letter);
        config.updates = format!("{ns}{}", config.updates);
        config.group = self.group.clone();
        config.consumer = consumer.to_owned();
        config.llm.endpoint = self.llm.url().to_owned();
        config.llm.backoff = Duration::from_millis(10);
        config.llm.timeout = LIMIT;
        config.claim_idle = Duration::from_secs(1);
        config.block = Duration::from_millis(200);
        config.max_attempts = 3;
        config.drain_timeout = LIMIT;
        config
    }

    /// Starts a worker with `config` and runs it in a task.
    pub(crate) async fn worker(&self, config: WorkerConfig) -> RunningWorker {
        self.worker_with(config, |worker| worker).await
    }

    /// Starts a worker with `config`, lets `adjust` change it (give a role a runner),
    /// and runs it in a task.
    pub(crate) async fn worker_with(
        &self,
        config: WorkerConfig,
        adjust: impl FnOnce(bosun_worker::Worker) -> bosun_worker::Worker,
    ) -> RunningWorker {
        let shutdown = CancellationToken::new();
        let worker = bosun_worker::start(config, &shutdown)
            .await
            .expect("the worker starts");
        let worker = adjust(worker);
        let metrics_addr = worker.metrics_addr;
        let task = tokio::spawn(worker.run(shutdown.clone()));
        RunningWorker {
            shutdown,
            task: Some(task),
            metrics_addr,
        }
    }

    /// A connection of the test's own.
    pub(crate) async fn redis(&self) -> MultiplexedConnection {
        redis::Client::open(self.redis.url())
            .expect("the test's Redis URL is valid")
            .get_multiplexed_async_connection()
            .await
            .expect("the test's Redis answers")
    }

    /// A stream's name on this bench (namespaced on a shared server).
    pub(crate) fn name(&self, stream: &str) -> String {
        format!("{}{stream}", self.redis.namespace())
    }

    /// The stream of `role`.
    pub(crate) fn stream(&self, role: Role) -> String {
        self.name(role.default_stream())
    }

    /// Appends an entry with `fields` to `role`'s stream; its id.
    pub(crate) async fn add(&self, role: Role, fields: &[(&str, &str)]) -> String {
        self.redis()
            .await
            .xadd(self.stream(role), "*", fields)
            .await
            .expect("XADD works")
    }

    /// Appends a job with this id and task.
    pub(crate) async fn job(&self, role: Role, job_id: &str, task: &str) -> String {
        self.add(
            role,
            &[
                ("jobId", job_id),
                ("workflowId", "wf-1"),
                ("userId", "user-1"),
                ("projectId", "project-1"),
                ("connectionId", "conn-1"),
                ("task", task),
                ("payload", ""),
            ],
        )
        .await
    }

    /// Every entry of a stream, oldest first.
    pub(crate) async fn entries(&self, stream: &str) -> Vec<(String, Fields)> {
        let reply: redis::streams::StreamRangeReply = self
            .redis()
            .await
            .xrange_all(stream)
            .await
            .expect("XRANGE works");
        reply
            .ids
            .into_iter()
            .map(|entry| {
                let fields = entry
                    .map
                    .iter()
                    .map(|(k, v)| {
                        let bytes: Vec<u8> =
                            redis::from_redis_value_ref(v).expect("an entry's fields are strings");
                        (k.clone(), String::from_utf8_lossy(&bytes).into_owned())
                    })
                    .collect();
                (entry.id, fields)
            })
            .collect()
    }

    /// The notifications sent so far.
    pub(crate) async fn notifications(&self) -> Vec<Fields> {
        let updates = self.name("signalr:updates");
        self.entries(&updates)
            .await
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    }

    /// The notifications about one job.
    pub(crate) async fn notifications_of(&self, job_id: &str) -> Vec<Fields> {
        self.notifications()
            .await
            .into_iter()
            .filter(|n| n.get("JobId").map(String::as_str) == Some(job_id))
            .collect()
    }

    /// The dead-letter stream's entries.
    pub(crate) async fn dead(&self) -> Vec<Fields> {
        let dead = self.name("jobs:dead");
        self.entries(&dead)
            .await
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    }

    /// Entries of `role`'s stream delivered and not acknowledged, with their consumer
    /// and deliveries; none when the group does not exist (yet).
    pub(crate) async fn pending(&self, role: Role) -> Vec<(String, String, u64)> {
        let rows: redis::RedisResult<Vec<(String, String, u64, u64)>> = redis::cmd("XPENDING")
            .arg(self.stream(role))
            .arg(&self.group)
            .arg("-")
            .arg("+")
            .arg(1000)
            .query_async(&mut self.redis().await)
            .await;
        rows.unwrap_or_default()
            .into_iter()
            .map(|(id, consumer, _, deliveries)| (id, consumer, deliveries))
            .collect()
    }

    /// A job's saved result.
    pub(crate) async fn result(&self, job_id: &str) -> Option<WorkerResult> {
        self.store
            .worker_result(job_id)
            .await
            .expect("the store can be read")
    }

    /// Waits until each of `job_ids` is done: its result saved, its notification sent,
    /// and the entry that result came from acknowledged (the last step, so a check of
    /// what is pending right after sees it settled); false if that did not happen
    /// within [`LIMIT`].
    pub(crate) async fn all_done(&self, job_ids: &[String]) -> bool {
        wait_until(LIMIT, || async {
            let notified = self.notifications().await;
            let mut pending = Vec::new();
            for role in Role::ALL {
                pending.extend(self.pending(role).await.into_iter().map(|(id, ..)| id));
            }
            for id in job_ids {
                let Some(result) = self.result(id).await else {
                    return false;
                };
                let is_notified = notified
                    .iter()
                    .any(|n| n.get("JobId").map(String::as_str) == Some(id.as_str()));
                if !is_notified || pending.contains(&result.saved.entry_id) {
                    return false;
                }
            }
            true
        })
        .await
    }

    /// Asserts that each job has exactly one notification and that nothing is pending.
    pub(crate) async fn assert_once_each(&self, job_ids: &[String]) {
        let notified = self.notifications().await;
        for id in job_ids {
            let count = notified
                .iter()
                .filter(|n| n.get("JobId").map(String::as_str) == Some(id.as_str()))
                .count();
            assert_eq!(count, 1, "job {id} has {count} notifications");
        }
        for role in Role::ALL {
            assert_eq!(self.pending(role).await, [], "{role:?} has pending entries");
        }
    }
}

/// `sqlite://DIR/bosun.db`.
fn database_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("bosun.db").display())
}

/// A worker running in a task; dropped, it is aborted as if its process died.
pub(crate) struct RunningWorker {
    pub(crate) shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
}

impl RunningWorker {
    /// Asks it to stop (as SIGTERM does) and waits for it to return; false if it did
    /// not within [`LIMIT`].
    pub(crate) async fn stop(mut self) -> bool {
        self.shutdown.cancel();
        self.stopped().await
    }

    /// Waits for its run to return.
    pub(crate) async fn stopped(&mut self) -> bool {
        let task = self.task.take().expect("a worker is awaited once");
        tokio::time::timeout(LIMIT, task)
            .await
            .is_ok_and(|joined| joined.is_ok())
    }

    /// Stops it at once, mid-job, the way `kill -9` stops a process: nothing more is
    /// saved, notified or acknowledged.
    pub(crate) fn crash(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Job ids `PREFIX-0` … `PREFIX-(n-1)`.
pub(crate) fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// The reply the fake LLM gave, parsed: `{"model", "max_tokens", "content"}`.
pub(crate) fn echoed(reply: &str) -> serde_json::Value {
    serde_json::from_str(reply).unwrap_or_else(|e| panic!("{reply:?} is not the fake's echo: {e}"))
}
