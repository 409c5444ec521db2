//! Limits: a role's limit and the total are the most jobs running at once, measured
//! at the fake LLM; and a job running longer than `claim_idle` is not taken over
//! while it runs.

use std::time::Duration;

use bosun_worker::Role;

use crate::support::{Bench, ids};

#[tokio::test]
async fn a_role_limit_is_the_most_jobs_of_that_role_running_at_once() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(300));
    let mut config = bench.config("w1");
    config.role_mut(Role::Agent).limit = 2;
    let _worker = bench.worker(config).await;
    let jobs = ids("limited", 10);
    for id in &jobs {
        bench.job(Role::Agent, id, id).await;
    }
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    assert_eq!(bench.llm.peak("trt-llm-agent"), 2, "MAX_AGENT=2");
}

#[tokio::test]
async fn the_total_limit_holds_across_roles() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(300));
    let mut config = bench.config("w1");
    config.max_total = 3;
    let _worker = bench.worker(config).await;
    let roles = [Role::Manager, Role::Inspector, Role::Agent, Role::Chat];
    let jobs = ids("total", 16);
    for (i, id) in jobs.iter().enumerate() {
        bench.job(roles[i % roles.len()], id, id).await;
    }
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    assert_eq!(bench.llm.peak_all(), 3, "MAX_TOTAL=3");
}

/// Regression: the idle time `XAUTOCLAIM` looks at counts from the delivery, so a job
/// still running after `claim_idle` was taken over (by another worker, or by its own)
/// and run a second time, and notified twice.
#[tokio::test]
async fn a_job_running_longer_than_claim_idle_is_not_taken_over() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(3500));
    let _first = bench.worker(bench.config("w1")).await;
    let _second = bench.worker(bench.config("w2")).await;
    let jobs = ids("long", 4);
    for id in &jobs {
        bench.job(Role::Agent, id, &format!("<{id}>")).await;
    }
    assert!(bench.all_done(&jobs).await, "not every job was done");
    // Give a second run, if one was started, the time to finish.
    crate::support::wait_for_async(Duration::from_secs(5), || bench.llm.in_flight() == 0).await;
    bench.assert_once_each(&jobs).await;
    for id in &jobs {
        assert_eq!(
            bench.llm.calls_with(&format!("<{id}>")),
            1,
            "{id} ran more than once"
        );
        assert_eq!(bench.result(id).await.expect("done").saved.attempts, 1);
    }
}
