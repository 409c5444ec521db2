//! Jobs that go well: what each role sends and saves, several workers sharing the
//! streams, process jobs, redelivery of a job already done, and the metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_store::NewWorkerResult;
use bosun_worker::{JobFailed, JobFuture, JobMessage, JobRunner, NOTIFICATION_FIELDS, Role};
use redis::AsyncCommands;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{Bench, LIMIT, echoed, ids, wait_until};

/// A task naming the job, so the fake's calls can be told apart (`<a-1>` is not in
/// `<a-10>`).
fn task(id: &str) -> String {
    format!("work on <{id}>")
}

#[tokio::test]
async fn several_workers_sharing_the_streams_run_each_job_once() {
    let bench = Bench::new().await;
    bench.llm.set_delay(Duration::from_millis(50));
    let mut workers = Vec::new();
    for name in ["w1", "w2", "w3"] {
        let mut config = bench.config(name);
        // Small limits, so no worker reads every entry in one go.
        for role in Role::ALL {
            config.role_mut(role).limit = 2;
        }
        workers.push(bench.worker(config).await);
    }
    let roles = [Role::Manager, Role::Inspector, Role::Agent, Role::Chat];
    let jobs = ids("shared", 40);
    for (i, id) in jobs.iter().enumerate() {
        bench.job(roles[i % roles.len()], id, &task(id)).await;
    }

    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;
    for id in &jobs {
        let saved = bench.result(id).await.expect("all_done saw it saved");
        assert!(saved.saved.succeeded, "{id}: {}", saved.saved.output);
        assert_eq!(bench.llm.calls_with(&format!("<{id}>")), 1, "{id} ran once");
    }
    assert_eq!(bench.llm.call_count(), jobs.len());
    assert!(bench.dead().await.is_empty());
    for worker in workers {
        assert!(worker.stop().await, "a worker did not stop");
    }
}

#[tokio::test]
async fn each_role_sends_its_model_tokens_and_content_and_notifies_with_the_seed_fields() {
    let bench = Bench::new().await;
    let _worker = bench.worker(bench.config("w1")).await;
    bench.job(Role::Manager, "m-1", "plan the release").await;
    bench
        .add(
            Role::Manager,
            &[("jobId", "m-2"), ("payload", "only a payload")],
        )
        .await;
    bench.job(Role::Agent, "a-1", "write the notes").await;
    bench
        .add(
            Role::Inspector,
            &[
                ("jobId", "i-1"),
                ("task", "review this"),
                ("payload", "fn main() {}"),
            ],
        )
        .await;
    bench
        .add(
            Role::Chat,
            &[
                ("messageId", "c-1"),
                ("message", "hello there"),
                ("connectionId", "conn-9"),
            ],
        )
        .await;
    let jobs: Vec<String> = ["m-1", "m-2", "a-1", "i-1", "c-1"]
        .map(str::to_owned)
        .into();
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;

    let sent = |reply: &str| echoed(reply);
    let output = |id: &'static str| {
        let bench = &bench;
        async move { bench.result(id).await.expect("done").saved.output }
    };
    assert_eq!(
        sent(&output("m-1").await),
        json!({"model": "trt-llm-manager", "max_tokens": 256, "content": "plan the release"})
    );
    assert_eq!(
        sent(&output("m-2").await)["content"],
        "only a payload",
        "without a task the payload is sent"
    );
    assert_eq!(
        sent(&output("a-1").await),
        json!({"model": "trt-llm-agent", "max_tokens": 128, "content": "write the notes"})
    );
    let inspector = sent(&output("i-1").await);
    assert_eq!(
        (&inspector["model"], &inspector["max_tokens"]),
        (&json!("trt-llm-inspector"), &json!(512))
    );
    let content: serde_json::Value =
        serde_json::from_str(inspector["content"].as_str().expect("content is text"))
            .expect("the inspector sends JSON");
    assert_eq!(
        content,
        json!({"code": "fn main() {}", "task": "review this"})
    );
    assert_eq!(
        sent(&output("c-1").await),
        json!({"model": "trt-llm-agent", "max_tokens": 256, "content": "hello there"})
    );

    let agent = &bench.notifications_of("a-1").await[0];
    for (field, _) in NOTIFICATION_FIELDS {
        assert!(agent.contains_key(*field), "no {field} in {agent:?}");
    }
    let saved = bench.result("a-1").await.expect("done");
    assert_eq!(agent["Type"], "result");
    assert_eq!(agent["NodeId"], "a-1");
    assert_eq!(agent["Payload"], saved.saved.output);
    assert_eq!(
        (
            agent["UserId"].as_str(),
            agent["ProjectId"].as_str(),
            agent["WorkflowId"].as_str(),
            agent["ConnectionId"].as_str(),
            agent["Role"].as_str()
        ),
        ("user-1", "project-1", "wf-1", "conn-1", "agent")
    );
    chrono::DateTime::parse_from_rfc3339(&agent["Timestamp"]).expect("Timestamp is RFC 3339");
    let chat = &bench.notifications_of("c-1").await[0];
    assert_eq!(
        (chat["Type"].as_str(), chat["ConnectionId"].as_str()),
        ("chat", "conn-9")
    );
    let message_ids: std::collections::HashSet<String> = bench
        .notifications()
        .await
        .into_iter()
        .map(|n| n["MessageId"].clone())
        .collect();
    assert_eq!(
        message_ids.len(),
        jobs.len(),
        "a MessageId per notification"
    );
    assert_eq!(
        (saved.saved.role.name(), saved.saved.consumer.as_str()),
        ("agent", "w1")
    );
    assert_eq!(saved.saved.attempts, 1);
}

#[tokio::test]
async fn a_process_job_runs_here_and_its_result_is_the_run_result() {
    let bench = Bench::new().await;
    let _worker = bench.worker(bench.config("w1")).await;
    let process = |command: &str, arguments: &[&str]| {
        json!({"process": {"command": command, "arguments": arguments}}).to_string()
    };
    let hello = process("echo", &["hi from a process job"]);
    let failing = process("sh", &["-c", "echo broken >&2; exit 3"]);
    bench
        .add(Role::Process, &[("jobId", "p-ok"), ("payload", &hello)])
        .await;
    bench
        .add(Role::Process, &[("jobId", "p-exit"), ("payload", &failing)])
        .await;
    bench
        .add(
            Role::Process,
            &[("jobId", "p-bad"), ("payload", "not json")],
        )
        .await;
    let jobs: Vec<String> = ["p-ok", "p-exit", "p-bad"].map(str::to_owned).into();
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;

    let ok = bench.result("p-ok").await.expect("done").saved;
    assert!(ok.succeeded, "{}", ok.output);
    let run: serde_json::Value = serde_json::from_str(&ok.output).expect("a run result");
    assert_eq!(
        (&run["Success"], &run["ExitCode"]),
        (&json!(true), &json!(0))
    );
    let log = run["OutputLog"]
        .as_str()
        .expect("the run has an output log");
    let printed = std::fs::read_to_string(log).expect("the output log exists");
    assert!(printed.contains("hi from a process job"), "{printed:?}");

    let exit = bench.result("p-exit").await.expect("done").saved;
    assert!(!exit.succeeded);
    let run: serde_json::Value = serde_json::from_str(&exit.output).expect("a run result");
    assert_eq!(run["ExitCode"], 3);
    assert!(
        run["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("broken"),
        "{run}"
    );
    assert_eq!(bench.notifications_of("p-exit").await[0]["Type"], "error");

    let bad = bench.result("p-bad").await.expect("done").saved;
    assert!(!bad.succeeded);
    assert!(bad.output.contains("not a process job"), "{}", bad.output);
    assert!(
        bench.dead().await.is_empty(),
        "a failed job is a result, not a dead letter"
    );
    assert_eq!(bench.llm.call_count(), 0, "process jobs call no LLM");
}

#[tokio::test]
async fn a_resent_job_whose_result_is_saved_is_acknowledged_not_run_again() {
    let bench = Bench::new().await;
    let _worker = bench.worker(bench.config("w1")).await;
    let once = vec!["again".to_owned()];
    bench.job(Role::Agent, "again", &task("again")).await;
    assert!(bench.all_done(&once).await);

    // The same jobId in a new entry: acknowledged without a call or a notification.
    let resent = bench.job(Role::Agent, "again", &task("again")).await;
    let acked = wait_until(LIMIT, || async {
        delivered(&bench, Role::Agent, &resent).await && bench.pending(Role::Agent).await.is_empty()
    })
    .await;
    assert!(acked, "the resent entry was not acknowledged");
    assert_eq!(bench.llm.calls_with("<again>"), 1);
    bench.assert_once_each(&once).await;
}

/// Regression: when two deliveries of one job ran at once (it was sent twice), both
/// saved (the second save did nothing) and both notified.
#[tokio::test]
async fn a_job_sent_twice_at_once_is_saved_and_notified_once() {
    let bench = Bench::new().await;
    bench.llm.always(
        "<twice>",
        crate::support::Step::echo().after(Duration::from_millis(500)),
    );
    let _worker = bench.worker(bench.config("w1")).await;
    let first = bench.job(Role::Agent, "twice", &task("twice")).await;
    let second = bench.job(Role::Agent, "twice", &task("twice")).await;
    let job = vec!["twice".to_owned()];
    assert!(bench.all_done(&job).await);
    let settled = wait_until(LIMIT, || async {
        delivered(&bench, Role::Agent, &second).await && bench.pending(Role::Agent).await.is_empty()
    })
    .await;
    assert!(
        settled,
        "an entry was left pending: {:?}",
        bench.pending(Role::Agent).await
    );
    bench.assert_once_each(&job).await;
    let saved = bench.result("twice").await.expect("done").saved;
    assert!(saved.entry_id == first || saved.entry_id == second);
    assert_eq!(
        bench.notifications_of("twice").await[0]["Payload"],
        saved.output
    );
}

#[tokio::test]
async fn a_redelivered_entry_whose_result_is_saved_is_notified_once_and_acknowledged() {
    let bench = Bench::new().await;
    // Another worker read three entries, saved the results of two, then died before
    // notifying: `saved`, and `twice`, a job sent twice whose second entry it had read
    // too but not run.
    bench.job(Role::Agent, "saved", &task("saved")).await;
    bench.job(Role::Agent, "twice", &task("twice")).await;
    bench.job(Role::Agent, "twice", &task("twice")).await;
    let mut conn = bench.redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(bench.stream(Role::Agent))
        .arg(&bench.group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .expect("the group is made");
    let options = redis::streams::StreamReadOptions::default()
        .group(&bench.group, "ghost")
        .count(3);
    let read: redis::streams::StreamReadReply = conn
        .xread_options(&[bench.stream(Role::Agent)], &[">"], &options)
        .await
        .expect("the ghost reads");
    assert_eq!(read.keys[0].ids.len(), 3);
    for (id, entry) in ["saved", "twice"].iter().zip(&read.keys[0].ids) {
        bench
            .store
            .save_worker_result(&NewWorkerResult {
                job_id: (*id).to_owned(),
                role: Role::Agent,
                stream: bench.stream(Role::Agent),
                entry_id: entry.id.clone(),
                workflow_id: String::new(),
                user_id: String::new(),
                project_id: String::new(),
                connection_id: String::new(),
                succeeded: true,
                output: format!("the ghost's reply to {id}"),
                consumer: "ghost".to_owned(),
                attempts: 1,
            })
            .await
            .expect("the ghost's result is saved");
    }

    let _worker = bench.worker(bench.config("w1")).await;
    let taken_over = wait_until(LIMIT, || async {
        bench.pending(Role::Agent).await.is_empty() && bench.notifications().await.len() >= 2
    })
    .await;
    assert!(
        taken_over,
        "the ghost's entries were not taken over: pending {:?}, notified {:?}",
        bench.pending(Role::Agent).await,
        bench.notifications().await
    );
    let mut notified: Vec<(String, String)> = bench
        .notifications()
        .await
        .iter()
        .map(|n| (n["JobId"].clone(), n["Payload"].clone()))
        .collect();
    notified.sort();
    let expected = [
        ("saved", "the ghost's reply to saved"),
        ("twice", "the ghost's reply to twice"),
    ]
    .map(|(job, reply)| (job.to_owned(), reply.to_owned()));
    assert_eq!(notified, expected, "each job is notified once");
    assert_eq!(bench.llm.call_count(), 0, "nothing ran again");
    let saved = bench.result("saved").await.expect("saved by the ghost");
    assert_eq!(saved.saved.consumer, "ghost");
}

/// True once the group has delivered the entry `id` of `role`'s stream to someone.
async fn delivered(bench: &Bench, role: Role, id: &str) -> bool {
    let groups: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(bench.stream(role))
        .query_async(&mut bench.redis().await)
        .await
        .unwrap_or_default();
    groups.iter().any(|group| {
        let fields: std::collections::HashMap<String, redis::Value> =
            redis::from_redis_value_ref(group).unwrap_or_default();
        let name: Option<String> = fields
            .get("name")
            .and_then(|v| redis::from_redis_value_ref(v).ok());
        let last: Option<String> = fields
            .get("last-delivered-id")
            .and_then(|v| redis::from_redis_value_ref(v).ok());
        name.as_deref() == Some(bench.group.as_str())
            && last.is_some_and(|last| entry_order(&last) >= entry_order(id))
    })
}

/// An entry id as numbers, to compare.
fn entry_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

#[tokio::test]
async fn metrics_show_jobs_by_role_and_outcome() {
    let bench = Bench::new().await;
    let mut config = bench.config("w1");
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    let worker = bench.worker(config).await;
    let addr = worker.metrics_addr.expect("metrics are served");
    let jobs = ids("metered", 3);
    for id in &jobs {
        bench.job(Role::Agent, id, &task(id)).await;
    }
    bench.add(Role::Manager, &[("task", "no id")]).await;
    assert!(bench.all_done(&jobs).await);
    assert!(wait_until(LIMIT, || async { !bench.dead().await.is_empty() }).await);

    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics has a body");
    // The recorder is the process's, shared with the other tests: at least ours.
    assert!(
        counter(&text, "agent", "succeeded") >= 3.0,
        "agent/succeeded: {text}"
    );
    assert!(
        counter(&text, "manager", "malformed") >= 1.0,
        "manager/malformed: {text}"
    );
    assert!(text.contains("bosun_worker_llm_seconds"), "{text}");
}

/// The value of `bosun_worker_jobs_total{role, outcome}` in Prometheus text (0 if absent).
fn counter(text: &str, role: &str, outcome: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("bosun_worker_jobs_total{"))
        .filter(|l| l.contains(&format!("role=\"{role}\"")))
        .filter(|l| l.contains(&format!("outcome=\"{outcome}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A runner of the test's own: answers a job with its task in capitals, fails `bad`
/// for good and `flaky` once in a way worth retrying.
#[derive(Default)]
struct Shout {
    attempts: Arc<Mutex<HashMap<String, u32>>>,
}

impl JobRunner for Shout {
    fn run<'a>(&'a self, job: &'a JobMessage, _stop: &'a CancellationToken) -> JobFuture<'a> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(job.job_id.clone()).or_default();
            *n += 1;
            *n
        };
        Box::pin(async move {
            match job.task.as_str() {
                "bad" => Err(JobFailed::permanent("bad is never done")),
                "flaky" if attempt == 1 => Err(JobFailed::transient("not yet")),
                task => Ok(task.to_uppercase()),
            }
        })
    }
}

#[tokio::test]
async fn a_role_given_a_runner_of_its_own_runs_its_jobs_with_the_workers_guarantees() {
    let bench = Bench::new().await;
    let shout = Shout::default();
    let attempts = shout.attempts.clone();
    let worker = bench
        .worker_with(bench.config("custom"), |w| {
            w.with_runner(Role::Manager, shout)
        })
        .await;
    bench.job(Role::Manager, "fine", "hello").await;
    bench.job(Role::Manager, "bad", "bad").await;
    bench.job(Role::Manager, "flaky", "flaky").await;
    bench.job(Role::Agent, "llm", "still the LLM's").await;
    let jobs = ["fine", "bad", "flaky", "llm"].map(String::from);
    assert!(bench.all_done(&jobs).await, "not every job was done");
    bench.assert_once_each(&jobs).await;

    let fine = bench.result("fine").await.unwrap();
    assert!(fine.saved.succeeded);
    assert_eq!(fine.saved.output, "HELLO");
    assert_eq!(bench.notifications_of("fine").await[0]["Payload"], "HELLO");
    let bad = bench.result("bad").await.unwrap();
    assert!(!bad.saved.succeeded);
    assert_eq!(bad.saved.output, "bad is never done");
    assert_eq!(bench.notifications_of("bad").await[0]["Type"], "error");
    let flaky = bench.result("flaky").await.unwrap();
    assert_eq!(
        (flaky.saved.output.as_str(), flaky.saved.attempts),
        ("FLAKY", 2)
    );
    // The other roles keep their built-in runners: one LLM call, for the agent job.
    assert_eq!(bench.llm.call_count(), 1);
    assert_eq!(attempts.lock().unwrap().values().sum::<u32>(), 4);
    assert!(worker.stop().await);
}
