//! Writes of several executions in one call, claims that say whether the job changed,
//! and pruning the oldest history: the runner's hot path, on both engines.

use bosun_core::ExecutionStatus;
use bosun_store::{ExecutionWrite, ExecutionWritten, Finish, Started};
use chrono::Utc;

use super::{acme_job, of, on_each_engine};

/// A process `pid` that started now, logging to `output_log` (and `/logs/err`).
pub(crate) fn started(pid: i64, output_log: &str) -> Started {
    Started {
        pid,
        start_time: Utc::now(),
        output_log: output_log.to_owned(),
        error_log: "/logs/err".to_owned(),
    }
}

fn ended(status: ExecutionStatus) -> Finish {
    Finish {
        status,
        exit_code: Some(0),
        message: format!("{status} here"),
        end_time: Utc::now(),
    }
}

#[tokio::test]
async fn writes_in_one_call_answer_each_and_keep_each_executions_order() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        let a = store.create_execution(of(&job)).await.unwrap();
        let b = store.create_execution(of(&job)).await.unwrap();
        let c = store.create_execution(of(&job)).await.unwrap();
        let claim = |id: &str| ExecutionWrite::Claim {
            id: id.to_owned(),
            runner: "local".to_owned(),
        };
        let claimed = store
            .write_all(&[claim(&a.id), claim(&a.id), claim(&b.id), claim("nowhere")])
            .await;
        let claimed: Vec<ExecutionWritten> = claimed.into_iter().map(Result::unwrap).collect();
        let changed_at = Some(Some(job.updated_at));
        assert_eq!(
            claimed,
            [
                ExecutionWritten::Claimed(changed_at),
                ExecutionWritten::Claimed(None),
                ExecutionWritten::Claimed(changed_at),
                ExecutionWritten::Claimed(None),
            ],
            "each claimed once; a second claim and an unknown execution are not"
        );

        let line = |status: Option<&str>, progress| ExecutionWrite::Report {
            id: a.id.clone(),
            status_message: status.map(str::to_owned),
            progress,
            at: Utc::now(),
        };
        let finish = |id: &str, status| ExecutionWrite::Finish {
            id: id.to_owned(),
            finish: ended(status),
        };
        let written = store
            .write_all(&[
                ExecutionWrite::Running {
                    id: a.id.clone(),
                    started: Started {
                        pid: 42,
                        start_time: Utc::now(),
                        output_log: "/logs/a/output.log".to_owned(),
                        error_log: "/logs/a/error.log".to_owned(),
                    },
                },
                line(Some("fetching"), None),
                line(None, Some(50)),
                finish(&a.id, ExecutionStatus::CompletedSuccessfully),
                finish(&a.id, ExecutionStatus::Failed),
                finish(&c.id, ExecutionStatus::Cancelled),
            ])
            .await;
        let written: Vec<ExecutionWritten> = written.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            written,
            [
                ExecutionWritten::Running,
                ExecutionWritten::Reported,
                ExecutionWritten::Reported,
                ExecutionWritten::Finished(true),
                ExecutionWritten::Finished(false),
                ExecutionWritten::Finished(true),
            ]
        );
        let done = store.execution(&t.id, &a.id).await.unwrap().unwrap();
        assert_eq!(done.status.as_str(), "CompletedSuccessfully");
        assert_eq!(done.pid, Some(42));
        assert_eq!(done.status_message.as_deref(), Some("fetching"));
        assert_eq!(done.progress, Some(50));
        let history: Vec<&str> = store
            .events(&a.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.status.as_str())
            .collect();
        assert_eq!(history, ["Pending", "Running", "CompletedSuccessfully"]);
        let cancelled = store.events(&c.id).await.unwrap();
        assert_eq!(cancelled.len(), 2, "one end, recorded once: {cancelled:?}");

        // A claim says when the job changed, or that it is gone.
        let d = store.create_execution(of(&job)).await.unwrap();
        store.delete_job(&t.id, &job.id).await.unwrap();
        assert_eq!(
            store.claim_checked(&d.id, "local").await.unwrap(),
            Some(None)
        );
    })
    .await;
}

#[tokio::test]
async fn a_released_claim_waits_again_and_the_oldest_history_goes_first() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        let waiting = store.create_execution(of(&job)).await.unwrap();
        assert!(store.claim(&waiting.id, "local").await.unwrap());
        assert!(store.pending(10).await.unwrap().is_empty());
        assert!(store.release_claim(&waiting.id, "local").await.unwrap());
        assert!(!store.release_claim(&waiting.id, "local").await.unwrap());
        assert_eq!(store.pending(10).await.unwrap()[0].id, waiting.id);

        let mut finished = Vec::new();
        for i in 0..4 {
            let e = store.create_execution(of(&job)).await.unwrap();
            let log = format!("/logs/{i}/output.log");
            store.mark_running(&e.id, &started(1, &log)).await.unwrap();
            assert!(
                store
                    .finish(&e.id, &ended(ExecutionStatus::Failed))
                    .await
                    .unwrap()
            );
            finished.push(e.id);
        }
        assert_eq!(store.finished_count(&job.id).await.unwrap(), 4);
        let (deleted, logs) = store.prune_oldest(&job.id, 3).await.unwrap();
        assert_eq!(deleted, 3);
        assert!(logs.contains(&"/logs/0/output.log".to_owned()), "{logs:?}");
        assert!(!logs.contains(&"/logs/3/output.log".to_owned()), "{logs:?}");
        assert!(store.events(&finished[0]).await.unwrap().is_empty());
        assert_eq!(store.finished_count(&job.id).await.unwrap(), 1);
        let left = store.execution(&t.id, &waiting.id).await.unwrap();
        assert!(left.is_some(), "a waiting execution is not history");
    })
    .await;
}

#[tokio::test]
async fn an_execution_created_claimed_skips_the_queue_until_its_claim_is_released() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        let claimed = store
            .create_execution(of(&job).claimed_by("local"))
            .await
            .unwrap();
        assert_eq!(claimed.runner.as_deref(), Some("local"));
        let stored = store.execution(&t.id, &claimed.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status.as_str(), stored.runner.as_deref()),
            ("Pending", Some("local"))
        );
        assert!(
            store.pending(10).await.unwrap().is_empty(),
            "no other runner may take it"
        );
        assert!(!store.claim(&claimed.id, "other").await.unwrap());
        // Its runner stopped before starting it: the next start gives it back.
        assert_eq!(store.release_claims("local").await.unwrap(), 1);
        assert_eq!(store.pending(10).await.unwrap()[0].id, claimed.id);
    })
    .await;
}

#[tokio::test]
async fn an_execution_of_a_job_as_read_is_created_only_while_the_job_is_unchanged() {
    on_each_engine(|store| async move {
        let t = store.ensure_tenant("acme", "Acme").await.unwrap();
        let def = serde_json::json!({"v": 1});
        let read = store.create_job(&t.id, "j", &def).await.unwrap();
        let created = store
            .create_execution_if_current(of(&read), read.updated_at)
            .await
            .unwrap();
        let created = created.expect("the job is as it was read");
        assert_eq!(store.events(&created.id).await.unwrap().len(), 1);
        // Changed at once: its time moves on even within the same millisecond.
        let changed = store
            .update_job(&t.id, &read.id, "j", &serde_json::json!({"v": 2}))
            .await
            .unwrap()
            .unwrap();
        assert!(changed.updated_at > read.updated_at);
        let refused = store
            .create_execution_if_current(of(&read), read.updated_at)
            .await
            .unwrap();
        assert!(refused.is_none(), "an execution of an old copy was created");
        assert_eq!(
            store.pending(10).await.unwrap().len(),
            1,
            "nothing was written"
        );
        // Side by side (one batch when they queue together): the stale one alone is refused.
        let (fresh, stale) = tokio::join!(
            store.create_execution_if_current(of(&changed), changed.updated_at),
            store.create_execution_if_current(of(&read), read.updated_at),
        );
        assert!(fresh.unwrap().is_some());
        assert!(stale.unwrap().is_none());
        assert!(store.delete_job(&t.id, &read.id).await.unwrap());
        let gone = store
            .create_execution_if_current(of(&changed), changed.updated_at)
            .await
            .unwrap();
        assert!(gone.is_none(), "an execution of a deleted job was created");
        assert_eq!(store.pending(10).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn of_two_ends_at_once_one_is_recorded_with_one_status_event() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        for round in 0..20 {
            let e = store.create_execution(of(&job)).await.unwrap();
            assert!(store.claim(&e.id, "local").await.unwrap());
            store
                .mark_running(&e.id, &started(100 + round, "/logs/out"))
                .await
                .unwrap();
            let (one, other) = (
                ended(ExecutionStatus::CompletedSuccessfully),
                ended(ExecutionStatus::Failed),
            );
            let (succeeded, failed) =
                tokio::join!(store.finish(&e.id, &one), store.finish(&e.id, &other));
            let (succeeded, failed) = (succeeded.unwrap(), failed.unwrap());
            assert!(
                succeeded ^ failed,
                "round {round}: exactly one end is recorded"
            );
            let events = store.events(&e.id).await.unwrap();
            let ends: Vec<ExecutionStatus> = events
                .iter()
                .map(|event| event.status)
                .filter(|status| status.is_final())
                .collect();
            let recorded = store.execution(&t.id, &e.id).await.unwrap().unwrap();
            assert_eq!(ends, [recorded.status], "round {round}: {events:?}");
        }
    })
    .await;
}
