//! Jobs that go wrong: malformed entries, LLM errors worth retrying and not, jobs that
//! always fail, and a worker dying mid-job.

use std::time::Duration;

use bosun_worker::Role;

use crate::support::{Answer, Bench, LIMIT, Step, ids, wait_for_async, wait_until};

#[tokio::test]
async fn malformed_entries_go_to_the_dead_letter_stream_and_the_worker_goes_on() {
    let bench = Bench::new().await;
    let _worker = bench.worker(bench.config("w1")).await;
    let no_id = bench
        .add(Role::Agent, &[("task", "who am I"), ("userId", "u-7")])
        .await;
    let no_work = bench
        .add(Role::Manager, &[("jobId", "idle"), ("payload", " ")])
        .await;
    let not_text: String = redis::AsyncCommands::xadd(
        &mut bench.redis().await,
        bench.stream(Role::Chat),
        "*",
        &[
            ("messageId", b"m-9".as_slice()),
            ("message", b"\xff\xfe".as_slice()),
        ],
    )
    .await
    .expect("XADD works");
    let fine = vec!["fine".to_owned()];
    bench.job(Role::Agent, "fine", "carry on").await;

    assert!(bench.all_done(&fine).await, "the good job was not done");
    assert!(
        wait_until(LIMIT, || async { bench.dead().await.len() == 3 }).await,
        "{:?}",
        bench.dead().await
    );
    let dead = bench.dead().await;
    // Entry ids are unique per stream only.
    let of = |role: Role, entry: &str| {
        let stream = bench.stream(role);
        dead.iter()
            .find(|d| d["stream"] == stream && d["entryId"] == entry)
            .unwrap_or_else(|| panic!("{stream} {entry} is not in {dead:?}"))
    };
    let first = of(Role::Agent, &no_id);
    assert!(first["error"].contains("no jobId"), "{first:?}");
    assert_eq!(
        (first["task"].as_str(), first["userId"].as_str()),
        ("who am I", "u-7"),
        "the original fields are kept"
    );
    assert!(first.contains_key("failedAt") && first.contains_key("attempts"));
    let second = of(Role::Manager, &no_work);
    assert!(
        second["error"].contains("neither a task nor a payload"),
        "{second:?}"
    );
    let third = of(Role::Chat, &not_text);
    assert!(third["error"].contains("not UTF-8"), "{third:?}");
    assert_eq!(third["messageId"], "m-9");
    assert!(bench.result("idle").await.is_none());
    assert_eq!(
        bench.llm.call_count(),
        1,
        "only the good job called the LLM"
    );
    bench.assert_once_each(&fine).await;
}

#[tokio::test]
async fn an_llm_failing_twice_with_500_then_answering_succeeds_after_three_calls() {
    let bench = Bench::new().await;
    bench
        .llm
        .script("<flaky>", [Step::status(500), Step::status(503)]);
    let _worker = bench.worker(bench.config("w1")).await;
    let job = vec!["flaky".to_owned()];
    bench.job(Role::Agent, "flaky", "<flaky>").await;
    assert!(bench.all_done(&job).await);
    bench.assert_once_each(&job).await;
    let saved = bench.result("flaky").await.expect("done").saved;
    assert!(saved.succeeded, "{}", saved.output);
    assert_eq!(saved.attempts, 1, "retried within the first delivery");
    assert_eq!(bench.llm.calls_with("<flaky>"), 3);
    assert_eq!(bench.notifications_of("flaky").await[0]["Type"], "result");
}

#[tokio::test]
async fn a_429_is_retried() {
    let bench = Bench::new().await;
    bench.llm.script("<busy>", [Step::status(429)]);
    let _worker = bench.worker(bench.config("w1")).await;
    let job = vec!["busy".to_owned()];
    bench.job(Role::Agent, "busy", "<busy>").await;
    assert!(bench.all_done(&job).await);
    let saved = bench.result("busy").await.expect("done").saved;
    assert!(saved.succeeded, "{}", saved.output);
    assert_eq!(bench.llm.calls_with("<busy>"), 2);
}

#[tokio::test]
async fn a_400_is_not_retried_and_is_saved_as_failed() {
    let bench = Bench::new().await;
    bench.llm.always("<refused>", Step::status(400));
    bench.llm.always(
        "<empty>",
        Step {
            delay: Duration::ZERO,
            answer: Answer::NoChoices,
        },
    );
    let _worker = bench.worker(bench.config("w1")).await;
    let jobs: Vec<String> = ["refused", "empty"].map(str::to_owned).into();
    bench.job(Role::Agent, "refused", "<refused>").await;
    bench.job(Role::Agent, "empty", "<empty>").await;
    assert!(bench.all_done(&jobs).await);
    bench.assert_once_each(&jobs).await;

    let refused = bench.result("refused").await.expect("done").saved;
    assert!(!refused.succeeded);
    assert!(
        refused.output.contains("400") && refused.output.contains("the fake says"),
        "{}",
        refused.output
    );
    let empty = bench.result("empty").await.expect("done").saved;
    assert!(!empty.succeeded);
    assert!(empty.output.contains("choices"), "{}", empty.output);
    for id in &jobs {
        assert_eq!(
            bench.llm.calls_with(&format!("<{id}>")),
            1,
            "{id} was retried"
        );
        assert_eq!(bench.notifications_of(id).await[0]["Type"], "error");
    }
    assert!(
        bench.dead().await.is_empty(),
        "a failed job is not a dead letter"
    );
}

#[tokio::test]
async fn a_job_that_always_fails_goes_to_the_dead_letter_stream_after_max_attempts() {
    let bench = Bench::new().await;
    bench.llm.always("<doomed>", Step::status(500));
    let mut config = bench.config("w1");
    config.llm.attempts = 2;
    config.max_attempts = 3;
    let _worker = bench.worker(config).await;
    let job = vec!["doomed".to_owned()];
    let entry = bench.job(Role::Agent, "doomed", "<doomed>").await;

    assert!(bench.all_done(&job).await, "the job never ended");
    assert!(wait_until(LIMIT, || async { !bench.dead().await.is_empty() }).await);
    bench.assert_once_each(&job).await;
    assert_eq!(
        bench.llm.calls_with("<doomed>"),
        6,
        "3 deliveries of 2 calls each"
    );
    let dead = bench.dead().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["entryId"], entry);
    assert_eq!(dead[0]["jobId"], "doomed");
    let error = &dead[0]["error"];
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert!(
        error.contains("500") && error.contains("the fake says"),
        "the last error is kept: {error}"
    );
    let saved = bench.result("doomed").await.expect("saved as failed").saved;
    assert!(!saved.succeeded);
    assert_eq!(&saved.output, error);
    assert_eq!(bench.notifications_of("doomed").await[0]["Type"], "error");
}

#[tokio::test]
async fn a_job_that_failed_for_now_is_tried_again_later() {
    let bench = Bench::new().await;
    bench.llm.script("<later>", [Step::status(502)]);
    let mut config = bench.config("w1");
    config.llm.attempts = 1;
    let _worker = bench.worker(config).await;
    let job = vec!["later".to_owned()];
    bench.job(Role::Agent, "later", "<later>").await;
    assert!(bench.all_done(&job).await);
    bench.assert_once_each(&job).await;
    let saved = bench.result("later").await.expect("done").saved;
    assert!(saved.succeeded, "{}", saved.output);
    assert_eq!(saved.attempts, 2, "the second delivery succeeded");
    assert_eq!(bench.llm.calls_with("<later>"), 2);
}

#[tokio::test]
async fn when_a_worker_dies_mid_job_the_others_finish_its_jobs_once_each() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(100));
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3"] {
        let mut config = bench.config(name);
        config.role_mut(Role::Agent).limit = 2;
        workers.push(bench.worker(config).await);
    }
    bench.llm.hold();
    let jobs = ids("orphan", 20);
    for id in &jobs {
        bench.job(Role::Agent, id, &format!("<{id}>")).await;
    }
    // Every worker is mid-job (2 each) when the first one dies.
    assert!(wait_for_async(LIMIT, || bench.llm.in_flight() == 6).await);
    let orphans: Vec<String> = bench
        .pending(Role::Agent)
        .await
        .into_iter()
        .filter(|(_, consumer, _)| consumer == "w1")
        .map(|(id, ..)| id)
        .collect();
    assert_eq!(orphans.len(), 2, "w1 holds two jobs");
    workers.remove(0).crash();
    bench.llm.release();

    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    let mut taken_over = 0;
    for id in &jobs {
        let saved = bench.result(id).await.expect("done").saved;
        assert!(saved.succeeded);
        assert_ne!(saved.consumer, "w1", "w1 died before finishing anything");
        if orphans.contains(&saved.entry_id) {
            assert_eq!(saved.attempts, 2, "{id} was w1's, then another's");
            taken_over += 1;
        }
    }
    assert_eq!(taken_over, 2);
}

/// Regression: `XAUTOCLAIM` looks at no more than ten times COUNT pending entries per
/// call, and every call started again at the first one. With a small limit (COUNT 1), a
/// dead worker's entry behind ten entries that live workers were running was never
/// taken over.
#[tokio::test]
async fn a_dead_workers_entry_behind_many_running_ones_is_taken_over() {
    let bench = Bench::new().await;
    let jobs = ids("queued", 12);
    for id in &jobs {
        bench.job(Role::Agent, id, id).await;
    }
    let stream = bench.stream(Role::Agent);
    let mut conn = bench.redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(&bench.group)
        .arg("0")
        .query_async(&mut conn)
        .await
        .expect("the group is made");
    let read = |consumer: &'static str, count: usize| {
        let mut conn = conn.clone();
        let (stream, group) = (stream.clone(), bench.group.clone());
        async move {
            let options = redis::streams::StreamReadOptions::default()
                .group(group, consumer)
                .count(count);
            let reply: redis::streams::StreamReadReply =
                redis::AsyncCommands::xread_options(&mut conn, &[&stream], &[">"], &options)
                    .await
                    .expect("XREADGROUP works");
            reply.keys[0]
                .ids
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>()
        }
    };
    let running = read("alive", 11).await;
    let orphan = read("dead", 1).await;
    // "alive" is a worker busy with its 11 entries: it keeps them claimed.
    let keeper = tokio::spawn({
        let mut conn = conn.clone();
        let (stream, group) = (stream.clone(), bench.group.clone());
        async move {
            loop {
                let _: redis::RedisResult<redis::Value> = redis::cmd("XCLAIM")
                    .arg(&stream)
                    .arg(&group)
                    .arg("alive")
                    .arg(0)
                    .arg(&running)
                    .arg("JUSTID")
                    .query_async(&mut conn)
                    .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    let mut config = bench.config("w1");
    config.role_mut(Role::Agent).limit = 1;
    let _worker = bench.worker(config).await;
    let last = vec![jobs[11].clone()];
    let taken_over = bench.all_done(&last).await;
    keeper.abort();
    assert!(taken_over, "the dead worker's entry was never taken over");
    let saved = bench.result(&jobs[11]).await.expect("done").saved;
    assert_eq!(
        (
            saved.entry_id.as_str(),
            saved.consumer.as_str(),
            saved.attempts
        ),
        (orphan[0].as_str(), "w1", 2)
    );
    let pending = bench.pending(Role::Agent).await;
    assert_eq!(pending.len(), 11, "the live worker's entries stay its own");
    assert!(pending.iter().all(|(_, consumer, _)| consumer == "alive"));
}
