//! Limits: a role's limit and the total are the most jobs running at once, measured
//! at the fake LLM; and a job running longer than `claim_idle` is not taken over
//! while it runs.

use std::time::Duration;

use bosun_worker::Role;

use crate::support::{Bench, LIMIT, ids, wait_for_async};

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

/// The settings of a worker whose total limit is below the number of roles it reads
/// (every role is enabled), reading with the default block (5 s), as in production.
fn tight(bench: &Bench, consumer: &str, total: usize) -> bosun_worker::WorkerConfig {
    let mut config = bench.config(consumer);
    assert!(Role::ALL.iter().all(|r| config.role(*r).enabled));
    config.max_total = total;
    config.block = Duration::from_secs(5);
    config
}

/// Regression: with fewer free slots in all than roles with room, the reader read only
/// as many roles as it had slots, one after another, and waited out a whole blocking
/// read on each empty one: 20 agent jobs of 0.3 s under `MAX_TOTAL=1` took minutes.
#[tokio::test]
async fn a_total_limit_below_the_number_of_roles_keeps_its_slot_busy() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(200));
    let _worker = bench.worker(tight(&bench, "w1", 1)).await;
    let jobs = ids("one-slot", 20);
    for id in &jobs {
        bench.job(Role::Agent, id, id).await;
    }
    // 4 s of LLM time one after another; the bug needed minutes.
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    assert_eq!(bench.llm.peak_all(), 1, "MAX_TOTAL=1");
}

/// The same with jobs of two roles (three idle) and a total of 2.
#[tokio::test]
async fn a_total_limit_below_the_number_of_roles_keeps_its_slots_busy_across_roles() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(200));
    let _worker = bench.worker(tight(&bench, "w1", 2)).await;
    let roles = [Role::Manager, Role::Inspector];
    let jobs = ids("two-slots", 40);
    for (i, id) in jobs.iter().enumerate() {
        bench.job(roles[i % roles.len()], id, id).await;
    }
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    assert_eq!(bench.llm.peak_all(), 2, "MAX_TOTAL=2");
}

/// Regression: of two workers with `MAX_TOTAL=1`, one dying mid-job left the other
/// idle in its reads: its jobs were taken over, but the rest trickled in.
#[tokio::test]
async fn with_a_total_limit_below_the_roles_a_survivor_finishes_every_job() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(200));
    let first = bench.worker(tight(&bench, "w1", 1)).await;
    let _second = bench.worker(tight(&bench, "w2", 1)).await;
    bench.llm.hold();
    let jobs = ids("survivor", 20);
    for id in &jobs {
        bench.job(Role::Agent, id, &format!("<{id}>")).await;
    }
    // Each worker is mid-job when the first one dies.
    assert!(wait_for_async(LIMIT, || bench.llm.in_flight() == 2).await);
    let pending = bench.pending(Role::Agent).await;
    assert!(
        pending.iter().any(|(_, consumer, _)| consumer == "w1"),
        "w1 holds a job: {pending:?}"
    );
    first.crash();
    bench.llm.release();
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    assert_eq!(bench.llm.peak_all(), 2, "one job at a time in each worker");
}

/// Reading in turn takes no more entries in all than asked, whatever the streams hold,
/// and leaves the rest undelivered; with nothing new, it says where to wait past, and
/// the wait ends on a new entry.
#[tokio::test]
async fn reading_in_turn_takes_no_more_than_the_free_slots_in_all() {
    use bosun_worker::streams::{self, Taken};
    let bench = Bench::new().await;
    let conn = bench.redis().await;
    let roles = [Role::Manager, Role::Inspector, Role::Agent];
    let names: Vec<String> = roles.iter().map(|r| bench.stream(*r)).collect();
    for name in &names {
        let _: () = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(name)
            .arg(&bench.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn.clone())
            .await
            .expect("the group is made");
    }
    for role in [Role::Inspector, Role::Agent, Role::Agent] {
        bench.job(role, "j", "t").await;
    }
    let each: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 5)).collect();
    let group = bench.group.clone();
    let take = |total| {
        let mut conn = conn.clone();
        let (group, each) = (group.clone(), each.clone());
        async move { streams::take_in_turn(&mut conn, &group, "c", &each, total).await }
    };
    let Taken::Entries(first) = take(1).await.expect("the script runs") else {
        panic!("entries were waiting");
    };
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].0, names[1],
        "the first stream in turn with an entry"
    );
    let Taken::Entries(rest) = take(5).await.expect("the script runs") else {
        panic!("entries were waiting");
    };
    assert_eq!(
        rest.len(),
        2,
        "the two agent entries, left undelivered before"
    );
    let Taken::Nothing(newest) = take(5).await.expect("the script runs") else {
        panic!("nothing was waiting");
    };
    assert_eq!(newest[0], "0-0", "an empty stream");
    assert_eq!(newest[2], rest[1].1.id, "the agent stream's newest entry");
    let mut waiter = bench.redis().await;
    let wait = tokio::spawn(async move {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        streams::wait_past(&mut waiter, &names, &newest, 30_000).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!wait.is_finished(), "nothing new yet");
    bench.job(Role::Manager, "k", "t").await;
    tokio::time::timeout(LIMIT, wait)
        .await
        .expect("a new entry ends the wait")
        .expect("the wait's task ran")
        .expect("XREAD works");
    assert_eq!(
        bench.pending(Role::Manager).await,
        [],
        "the wait took nothing"
    );
}
