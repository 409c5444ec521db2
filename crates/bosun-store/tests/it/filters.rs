//! The executions list's filters, alone and together and across pages, and the
//! activity counts by bucket of time, on both engines.

use bosun_core::{ExecutionStatus, TriggerKind};
use bosun_store::{ExecutionFilter, Finish, NewExecution, RemoteTarget, RunBy, Store};
use chrono::{DateTime, TimeDelta, Utc};

use crate::agents::{on_each_engine_with_url, sql};
use crate::{acme_job, of};

/// Ends `id` with `status`.
async fn end(store: &Store, id: &str, status: ExecutionStatus) {
    let finish = Finish {
        status,
        exit_code: None,
        message: "ended".to_owned(),
        end_time: Utc::now(),
    };
    assert!(store.finish(id, &finish).await.unwrap());
}

/// Moves `id`'s creation to `at`, as if it had been created then.
async fn created_at(url: &str, id: &str, at: DateTime<Utc>) {
    let ms = at.timestamp_millis();
    sql(
        url,
        &format!("UPDATE executions SET created_at = {ms} WHERE id = $1"),
        &[id],
    )
    .await;
}

/// The ids `filter` lists, every page of `page` followed.
async fn listed(
    store: &Store,
    tenant_id: &str,
    filter: &ExecutionFilter,
    page: i64,
) -> Vec<String> {
    let mut filter = ExecutionFilter {
        limit: Some(page),
        ..filter.clone()
    };
    let mut ids = Vec::new();
    loop {
        let found = store.executions(tenant_id, &filter).await.unwrap();
        ids.extend(found.items.into_iter().map(|e| e.id));
        match found.next {
            Some(next) => filter.before = Some(next),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn each_filter_keeps_only_its_executions_and_together_they_all_must_hold() {
    on_each_engine_with_url(|store, url| async move {
        let (acme, job) = acme_job(&store).await;
        let base = Utc::now() - TimeDelta::hours(1);
        let target = |agent: &str, package: &str| RemoteTarget {
            agent_id: agent.to_owned(),
            package_id: package.to_owned(),
            package_version: "1.0.0".to_owned(),
            deliver_by: Utc::now() + TimeDelta::hours(1),
        };
        // Eight executions a minute apart, oldest first: local ones by the API and a
        // schedule, and remote ones on two agents with two packages.
        let mut ids = Vec::new();
        for i in 0..8 {
            let execution = match i % 4 {
                0 => store.create_execution(of(&job)).await.unwrap(),
                1 => {
                    let new = NewExecution::of(&job, TriggerKind::Schedule, None, Vec::new());
                    store.create_execution(new).await.unwrap()
                }
                2 => store
                    .create_remote_execution(of(&job), &target("agent-a", "package-p"))
                    .await
                    .unwrap(),
                _ => {
                    let new = NewExecution::of(&job, TriggerKind::Seed, None, Vec::new());
                    store
                        .create_remote_execution(new, &target("agent-b", "package-q"))
                        .await
                        .unwrap()
                }
            };
            created_at(&url, &execution.id, base + TimeDelta::minutes(i)).await;
            ids.push(execution.id);
        }
        // Another tenant's remote execution on the same agent id is never listed.
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let other_job = store
            .create_job(&other.id, "j", &serde_json::json!({}))
            .await
            .unwrap();
        store
            .create_remote_execution(of(&other_job), &target("agent-a", "package-p"))
            .await
            .unwrap();

        let newest_first = |picked: &[usize]| -> Vec<String> {
            picked.iter().rev().map(|&i| ids[i].clone()).collect()
        };
        let cases: Vec<(&str, ExecutionFilter, Vec<String>)> = vec![
            (
                "none",
                ExecutionFilter::default(),
                newest_first(&[0, 1, 2, 3, 4, 5, 6, 7]),
            ),
            (
                "local",
                ExecutionFilter {
                    run_by: Some(RunBy::Local),
                    ..Default::default()
                },
                newest_first(&[0, 1, 4, 5]),
            ),
            (
                "agent",
                ExecutionFilter {
                    run_by: Some(RunBy::Agent("agent-a".to_owned())),
                    ..Default::default()
                },
                newest_first(&[2, 6]),
            ),
            (
                "trigger",
                ExecutionFilter {
                    trigger: Some(TriggerKind::Schedule),
                    ..Default::default()
                },
                newest_first(&[1, 5]),
            ),
            (
                "package",
                ExecutionFilter {
                    package_id: Some("package-q".to_owned()),
                    ..Default::default()
                },
                newest_first(&[3, 7]),
            ),
            (
                "from and to: [minute 2, minute 6)",
                ExecutionFilter {
                    from: Some(base + TimeDelta::minutes(2)),
                    to: Some(base + TimeDelta::minutes(6)),
                    ..Default::default()
                },
                newest_first(&[2, 3, 4, 5]),
            ),
            (
                "local, from minute 1, with the api trigger",
                ExecutionFilter {
                    run_by: Some(RunBy::Local),
                    trigger: Some(TriggerKind::Api),
                    from: Some(base + TimeDelta::minutes(1)),
                    ..Default::default()
                },
                newest_first(&[4]),
            ),
            (
                "a package on another agent: none",
                ExecutionFilter {
                    run_by: Some(RunBy::Agent("agent-a".to_owned())),
                    package_id: Some("package-q".to_owned()),
                    ..Default::default()
                },
                Vec::new(),
            ),
            (
                "job and status",
                ExecutionFilter {
                    job_id: Some(job.id.clone()),
                    status: Some(ExecutionStatus::Pending),
                    to: Some(base + TimeDelta::minutes(3)),
                    ..Default::default()
                },
                newest_first(&[0, 1, 2]),
            ),
        ];
        for (name, filter, expected) in &cases {
            for page in [1, 3, 50] {
                let seen = listed(&store, &acme.id, filter, page).await;
                assert_eq!(&seen, expected, "{name}, pages of {page}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn activity_counts_every_bucket_of_the_window_and_the_failures_in_each() {
    on_each_engine_with_url(|store, url| async move {
        let (acme, job) = acme_job(&store).await;
        let start: DateTime<Utc> = "2026-03-04T10:00:00Z".parse().unwrap();
        let minute = TimeDelta::minutes(1);
        // (seconds after the start, how it ended; None: it has not)
        let made = [
            (-1, Some(ExecutionStatus::Failed)), // before the window
            (0, Some(ExecutionStatus::CompletedSuccessfully)),
            (59, Some(ExecutionStatus::Failed)),
            (60, Some(ExecutionStatus::TimedOut)),
            (61, Some(ExecutionStatus::Cancelled)),
            (119, None),
            (4 * 60 - 1, Some(ExecutionStatus::Failed)),
            (4 * 60, Some(ExecutionStatus::Failed)), // after it
        ];
        for (seconds, ended) in made {
            let execution = store.create_execution(of(&job)).await.unwrap();
            if let Some(status) = ended {
                end(&store, &execution.id, status).await;
            }
            created_at(&url, &execution.id, start + TimeDelta::seconds(seconds)).await;
        }
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let other_job = store
            .create_job(&other.id, "j", &serde_json::json!({}))
            .await
            .unwrap();
        let theirs = store.create_execution(of(&other_job)).await.unwrap();
        created_at(&url, &theirs.id, start).await;

        let counts = store
            .execution_activity(&acme.id, start, minute, 4)
            .await
            .unwrap();
        let seen: Vec<(DateTime<Utc>, i64, i64)> = counts
            .iter()
            .map(|c| (c.start, c.total, c.failed))
            .collect();
        assert_eq!(
            seen,
            [
                (start, 2, 1),
                (start + minute, 3, 1),
                (start + minute * 2, 0, 0),
                (start + minute * 3, 1, 1),
            ]
        );
    })
    .await;
}
