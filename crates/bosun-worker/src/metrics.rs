//! Prometheus metrics (seed 003's "Metrics to Monitor"): jobs processed by role and
//! outcome, jobs in flight per role, stream length and pending entries, LLM latency and
//! errors, served as text at `GET /metrics`.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `bosun_worker_jobs_total` | counter | `role`, `outcome` (`succeeded`, `failed`, `retry`, `dead_letter`, `malformed`, `duplicate`) |
//! | `bosun_worker_in_flight` | gauge | `role` |
//! | `bosun_worker_stream_length`, `bosun_worker_stream_pending` | gauge | `stream` |
//! | `bosun_worker_llm_seconds` | histogram | `model` |
//! | `bosun_worker_llm_errors_total` | counter | `kind` (`transient`, `rejected`) |
//! | `bosun_worker_redis_errors_total` | counter | — |

use std::net::SocketAddr;
use std::sync::OnceLock;

use metrics::{Counter, Gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::config::Role;
use crate::error::WorkerError;

/// The LLM latency buckets, in seconds.
const LLM_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// The process's recorder (there is one per process; workers in one process share it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("bosun_worker_llm_seconds".to_owned()),
                LLM_BUCKETS,
            )
            .expect("the buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (an embedding program's) keeps its place;
        // /metrics then shows what this one saw: nothing.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// What became of a job, as `bosun_worker_jobs_total` counts it (its `outcome` label;
/// not the run's own outcome, which `runner` returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    Succeeded,
    Failed,
    Retry,
    DeadLetter,
    Malformed,
    Duplicate,
}

impl Disposition {
    const ALL: [Disposition; 6] = [
        Disposition::Succeeded,
        Disposition::Failed,
        Disposition::Retry,
        Disposition::DeadLetter,
        Disposition::Malformed,
        Disposition::Duplicate,
    ];

    fn label(self) -> &'static str {
        match self {
            Disposition::Succeeded => "succeeded",
            Disposition::Failed => "failed",
            Disposition::Retry => "retry",
            Disposition::DeadLetter => "dead_letter",
            Disposition::Malformed => "malformed",
            Disposition::Duplicate => "duplicate",
        }
    }
}

/// Counts a job's `outcome` in `bosun_worker_jobs_total`. The counters are registered
/// once (after [`install`]) and kept: registering looks the metric up by its name and
/// labels, which costs more than the count, every job.
pub(crate) fn count_job(role: Role, outcome: Disposition) {
    static COUNTERS: OnceLock<Vec<(Role, Disposition, Counter)>> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        Role::ALL
            .into_iter()
            .flat_map(|role| {
                Disposition::ALL.into_iter().map(move |outcome| {
                    let counter = metrics::counter!("bosun_worker_jobs_total", "role" => role.name(), "outcome" => outcome.label());
                    (role, outcome, counter)
                })
            })
            .collect()
    });
    let (_, _, counter) = counters
        .iter()
        .find(|(r, o, _)| *r == role && *o == outcome)
        .expect("every role has a counter of every outcome");
    counter.increment(1);
}

/// `bosun_worker_in_flight` of `role`, registered once (see [`count_job`]).
pub(crate) fn in_flight(role: Role) -> &'static Gauge {
    static GAUGES: OnceLock<Vec<(Role, Gauge)>> = OnceLock::new();
    let gauges = GAUGES.get_or_init(|| {
        Role::ALL
            .into_iter()
            .map(|role| {
                (
                    role,
                    metrics::gauge!("bosun_worker_in_flight", "role" => role.name()),
                )
            })
            .collect()
    });
    let (_, gauge) = gauges
        .iter()
        .find(|(r, _)| *r == role)
        .expect("every role has its gauge");
    gauge
}

/// Installs the recorder, so metrics are kept from the start.
pub fn install() {
    handle();
}

/// Serves `GET /metrics` on `addr` until `shutdown`; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<SocketAddr, WorkerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WorkerError::Metrics { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| WorkerError::Metrics { addr, source })?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            handle().run_upkeep();
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4",
                )],
                handle().render(),
            )
        }),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!("the metrics endpoint failed: {e}");
        }
    });
    Ok(bound)
}
