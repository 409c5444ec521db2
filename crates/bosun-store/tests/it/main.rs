//! The store against real SQLite and PostgreSQL: every test runs on both.

mod agents;
mod alone;
mod batched;
mod filters;
mod packages;

use bosun_core::role::Role;
use bosun_core::{ExecutionStatus, FileMissed, MissedPolicy, Permission, TriggerKind};
use bosun_store::{
    ExecutionFilter, Finish, Job, NewExecution, NewWorkerResult, Store, StoreError, TokenDeletion,
};
use bosun_test_utils::{POSTGRES_HELP, database_urls, drop_test_database};
use chrono::Utc;

/// An execution of `job` triggered through the API.
fn of(job: &Job) -> NewExecution {
    NewExecution::of(job, TriggerKind::Api, None, Vec::new())
}

/// The tenant `acme` with one job, `j`.
async fn acme_job(store: &bosun_store::Store) -> (bosun_store::Tenant, Job) {
    let t = store.ensure_tenant("acme", "Acme").await.unwrap();
    let job = store
        .create_job(&t.id, "j", &serde_json::json!({}))
        .await
        .unwrap();
    (t, job)
}

/// Runs `check` on a fresh store of each engine.
async fn on_each_engine<F, Fut>(check: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        let store = match Store::open(&url).await {
            Ok(store) => store,
            Err(e) if engine == "postgres" => panic!("{e}\n{POSTGRES_HELP}"),
            Err(e) => panic!("{e}"),
        };
        eprintln!("engine: {engine}");
        check(store.clone()).await;
        store.close().await;
        drop_test_database(&url).await;
    }
}

#[tokio::test]
async fn opening_twice_keeps_the_data_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    for (_, url) in database_urls(dir.path()) {
        let store = Store::open(&url).await.expect(POSTGRES_HELP);
        let tenant = store.ensure_tenant("acme", "Acme").await.unwrap();
        store.close().await;
        let again = Store::open(&url).await.unwrap();
        assert_eq!(again.ensure_tenant("acme", "other").await.unwrap(), tenant);
        again.close().await;
        drop_test_database(&url).await;
    }
}

#[tokio::test]
async fn a_token_is_found_by_its_secret_and_only_its_hash_is_stored() {
    on_each_engine(|store| async move {
        let tenant = store.ensure_tenant("acme", "Acme").await.unwrap();
        let permissions = vec!["executions:view".parse::<Permission>().unwrap()];
        let (token, secret) = store
            .create_token(&tenant.id, "ci", &permissions)
            .await
            .unwrap();
        assert!(secret.starts_with(bosun_store::TOKEN_PREFIX) && secret.len() > 60);

        let (found, found_tenant) = store.token_by_secret(&secret).await.unwrap().unwrap();
        assert_eq!(found, token);
        assert_eq!(found_tenant, tenant);
        assert!(store.token_by_secret("bsn_wrong").await.unwrap().is_none());
        assert!(store.tokens(&tenant.id).await.unwrap().len() == 1);
        assert_eq!(
            store.token(&tenant.id, &token.id).await.unwrap(),
            Some(token.clone())
        );
        assert_eq!(
            store.delete_token(&tenant.id, &token.id).await.unwrap(),
            TokenDeletion::Deleted
        );
        assert!(store.token_by_secret(&secret).await.unwrap().is_none());
        assert_eq!(
            store.delete_token(&tenant.id, &token.id).await.unwrap(),
            TokenDeletion::NotFound
        );
    })
    .await;
}

#[tokio::test]
async fn the_last_token_holding_star_is_kept_so_the_tenant_is_never_locked_out() {
    on_each_engine(|store| async move {
        let tenant = store.ensure_tenant("acme", "Acme").await.unwrap();
        let all = [Permission::All];
        let (first, _) = store.create_token(&tenant.id, "a", &all).await.unwrap();
        let (second, _) = store.create_token(&tenant.id, "b", &all).await.unwrap();
        // Both deleted at once: one goes, the other is kept.
        let (one, two) = tokio::join!(
            store.delete_token(&tenant.id, &first.id),
            store.delete_token(&tenant.id, &second.id)
        );
        let mut outcomes = [one.unwrap(), two.unwrap()];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(outcomes, [TokenDeletion::Deleted, TokenDeletion::LastAdmin]);
        let left = store.tokens(&tenant.id).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            store.delete_token(&tenant.id, &left[0].id).await.unwrap(),
            TokenDeletion::LastAdmin
        );
    })
    .await;
}

#[tokio::test]
async fn a_tenant_is_created_once_per_slug() {
    on_each_engine(|store| async move {
        let made = store.create_tenant("acme", "Acme Inc.").await.unwrap();
        assert_eq!(store.tenant_by_slug("acme").await.unwrap(), Some(made));
        let again = store.create_tenant("acme", "Other").await.unwrap_err();
        assert!(
            matches!(again, StoreError::Conflict { what: "tenant", .. }),
            "{again}"
        );
        assert_eq!(again.to_string(), "tenant \"acme\" already exists");
    })
    .await;
}

#[tokio::test]
async fn job_names_are_unique_per_tenant_and_objects_never_cross_tenants() {
    on_each_engine(|store| async move {
        let a = store.ensure_tenant("a", "A").await.unwrap();
        let b = store.ensure_tenant("b", "B").await.unwrap();
        let definition = serde_json::json!({"process": {"command": "true"}});
        let job = store
            .create_job(&a.id, "nightly", &definition)
            .await
            .unwrap();
        assert!(matches!(
            store.create_job(&a.id, "nightly", &definition).await,
            Err(StoreError::Conflict { .. })
        ));
        store
            .create_job(&b.id, "nightly", &definition)
            .await
            .unwrap();

        assert_eq!(
            store.job(&a.id, "nightly").await.unwrap().unwrap().id,
            job.id
        );
        assert_eq!(store.job(&a.id, &job.id).await.unwrap().unwrap().id, job.id);
        assert!(store.job(&b.id, &job.id).await.unwrap().is_none());
        assert!(!store.delete_job(&b.id, &job.id).await.unwrap());

        let execution = store.create_execution(of(&job)).await.unwrap();
        assert!(
            store
                .execution(&b.id, &execution.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .request_cancel(&b.id, &execution.id)
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn an_execution_moves_through_its_states_once_with_its_history() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        let e = store.create_execution(of(&job)).await.unwrap();
        assert_eq!(store.pending(10).await.unwrap().len(), 1);
        assert!(store.claim(&e.id, "local").await.unwrap());
        assert!(!store.claim(&e.id, "other").await.unwrap(), "claimed once");
        assert!(store.pending(10).await.unwrap().is_empty());
        store
            .mark_running(&e.id, &batched::started(4242, "/l/out"))
            .await
            .unwrap();
        store
            .report(&e.id, Some("step 2"), Some(40), Utc::now())
            .await
            .unwrap();
        store
            .report(&e.id, None, Some(60), Utc::now())
            .await
            .unwrap();
        let running = store.execution(&t.id, &e.id).await.unwrap().unwrap();
        assert_eq!(
            (
                running.status.as_str(),
                running.pid,
                running.status_message.as_deref(),
                running.progress
            ),
            ("Running", Some(4242), Some("step 2"), Some(60))
        );
        let finish = Finish {
            status: ExecutionStatus::Failed,
            exit_code: Some(3),
            message: "exited with code 3".to_owned(),
            end_time: Utc::now(),
        };
        assert!(store.finish(&e.id, &finish).await.unwrap());
        assert!(
            !store.finish(&e.id, &finish).await.unwrap(),
            "an end is recorded once"
        );
        let statuses: Vec<&str> = store
            .events(&e.id)
            .await
            .unwrap()
            .into_iter()
            .map(|ev| ev.status.as_str())
            .collect();
        assert_eq!(statuses, ["Pending", "Running", "Failed"]);

        // A pending execution cancelled before any runner took it ends at once.
        let waiting = store.create_execution(of(&job)).await.unwrap();
        let cancelled = store
            .request_cancel(&t.id, &waiting.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cancelled.status.as_str(), "Cancelled");
        assert!(!store.claim(&waiting.id, "local").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn listing_pages_newest_first_with_filters_and_history_is_pruned() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        let mut ids = Vec::new();
        for _ in 0..7 {
            let e = store.create_execution(of(&job)).await.unwrap();
            store
                .finish(
                    &e.id,
                    &Finish {
                        status: ExecutionStatus::CompletedSuccessfully,
                        exit_code: Some(0),
                        message: "ok".to_owned(),
                        end_time: Utc::now(),
                    },
                )
                .await
                .unwrap();
            ids.push(e.id);
        }
        let mut seen = Vec::new();
        let mut filter = ExecutionFilter {
            limit: Some(3),
            ..ExecutionFilter::default()
        };
        loop {
            let page = store.executions(&t.id, &filter).await.unwrap();
            seen.extend(page.items.into_iter().map(|e| e.id));
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
        assert_eq!(seen, newest_first);
        let failed = ExecutionFilter {
            status: Some(ExecutionStatus::Failed),
            ..ExecutionFilter::default()
        };
        assert!(
            store
                .executions(&t.id, &failed)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        let oldest = ids[0].clone();
        assert!(!store.events(&oldest).await.unwrap().is_empty());
        let beyond_two = i64::try_from(ids.len()).unwrap() - 2;
        store.prune_oldest(&job.id, beyond_two).await.unwrap();
        assert!(
            store.events(&oldest).await.unwrap().is_empty(),
            "a pruned execution's history goes with it"
        );
        let left = store
            .executions(&t.id, &ExecutionFilter::default())
            .await
            .unwrap();
        let left: Vec<String> = left.items.into_iter().map(|e| e.id).collect();
        assert_eq!(left, newest_first[..2]);
    })
    .await;
}

#[tokio::test]
async fn a_schedule_fire_and_a_file_version_are_each_recorded_once() {
    on_each_engine(|store| async move {
        let tenant = store.ensure_tenant("acme", "Acme").await.unwrap();
        let job = store
            .create_job(&tenant.id, "nightly", &serde_json::json!({}))
            .await
            .unwrap();
        let first = Utc::now() + chrono::TimeDelta::minutes(1);
        let schedule = store
            .create_schedule(
                &tenant.id,
                &job.id,
                &bosun_store::NewSchedule {
                    cron: None,
                    timezone: None,
                    every_ms: Some(60_000),
                    missed_policy: MissedPolicy::RunOnce,
                    anchor: first,
                    next_fire: first,
                },
            )
            .await
            .unwrap();
        let next = first + chrono::TimeDelta::minutes(1);

        // Two schedulers saw the same next fire: only the first moves it on.
        let mut tx = store.begin().await.unwrap();
        let moved = store
            .advance_schedule(
                &mut tx,
                &schedule.id,
                schedule.schedule.next_fire,
                next,
                Some(first),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let again = store
            .advance_schedule(
                &mut tx,
                &schedule.id,
                schedule.schedule.next_fire,
                next,
                Some(first),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(moved && !again, "one fire time moved the schedule twice");
        let stored = store.schedules(&tenant.id, Some(&job.id)).await.unwrap();
        assert_eq!(
            stored[0].schedule.next_fire,
            schedule.schedule.next_fire + chrono::TimeDelta::minutes(1)
        );
        assert_eq!(
            stored[0].last_fire.map(|t| t.timestamp_millis()),
            Some(first.timestamp_millis())
        );

        let trigger = store
            .create_file_trigger(
                &tenant.id,
                &job.id,
                &bosun_store::NewFileTrigger {
                    directory: "/srv/in".to_owned(),
                    glob: "*.csv".to_owned(),
                    debounce_ms: 500,
                    recursive: false,
                    missed_policy: FileMissed::RunAll,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store.file_triggers(Some(&tenant.id), None).await.unwrap(),
            std::slice::from_ref(&trigger)
        );
        let modified = Utc::now();
        let record = async |path: &str, at| {
            let mut tx = store.begin().await.unwrap();
            let new = store
                .record_trigger_file(&mut tx, &trigger.id, path, at)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            new
        };
        assert!(record("/srv/in/a.csv", modified).await);
        assert!(
            !record("/srv/in/a.csv", modified).await,
            "one file version fired twice"
        );
        assert!(
            record("/srv/in/a.csv", modified + chrono::TimeDelta::seconds(1)).await,
            "a rewritten file is new"
        );
        assert!(record("/srv/in/b.csv", modified).await);

        // a.csv is gone: its versions are forgotten, b.csv stays handled.
        let forgotten = store
            .forget_trigger_files(&trigger.id, &["/srv/in/b.csv".to_owned()])
            .await
            .unwrap();
        assert_eq!(forgotten, 2);
        assert!(!record("/srv/in/b.csv", modified).await);
        assert!(record("/srv/in/a.csv", modified).await);
    })
    .await;
}

/// A successful `agent` result of `job`, the rest empty.
fn agent_result(job: &str) -> NewWorkerResult {
    NewWorkerResult {
        job_id: job.to_owned(),
        role: Role::Agent,
        stream: String::new(),
        entry_id: String::new(),
        workflow_id: String::new(),
        user_id: String::new(),
        project_id: String::new(),
        connection_id: String::new(),
        succeeded: true,
        output: String::new(),
        consumer: String::new(),
        attempts: 1,
    }
}

#[tokio::test]
async fn worker_results_saved_together_keep_the_first_of_each_job() {
    on_each_engine(|store| async move {
        let result = |job: &str, output: &str| NewWorkerResult {
            output: output.to_owned(),
            ..agent_result(job)
        };
        assert!(
            store
                .save_worker_result(&result("old", "first"))
                .await
                .unwrap()
        );
        let saved = store
            .save_worker_results(vec![
                result("a", "a1"),
                result("old", "again"),
                result("b", "b1"),
                result("a", "a2"),
            ])
            .await
            .unwrap();
        let now: Vec<bool> = saved.iter().map(Option::is_some).collect();
        assert_eq!(now, [true, false, true, false]);
        let found = store
            .worker_results(&["a", "b", "old", "none"])
            .await
            .unwrap();
        let mut outputs: Vec<(String, String)> = found
            .into_iter()
            .map(|r| (r.saved.job_id, r.saved.output))
            .collect();
        outputs.sort();
        let expected =
            [("a", "a1"), ("b", "b1"), ("old", "first")].map(|(j, o)| (j.to_owned(), o.to_owned()));
        assert_eq!(outputs, expected);
        assert_eq!(
            store.worker_result("a").await.unwrap().unwrap().finished_at,
            saved[0].unwrap(),
            "the time returned is the time stored"
        );
    })
    .await;
}

#[tokio::test]
async fn a_worker_result_whose_stored_role_is_unknown_is_an_error() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    for (_, url) in database_urls(dir.path()) {
        let store = Store::open(&url).await.expect(POSTGRES_HELP);
        assert!(store.save_worker_result(&agent_result("j")).await.unwrap());
        assert_eq!(
            store.worker_result("j").await.unwrap().unwrap().saved.role,
            Role::Agent
        );
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE worker_results SET role = 'boss'")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let read = store.worker_result("j").await;
        assert!(read.is_err(), "{url}: {read:?}");
        let chain = std::iter::successors(
            read.as_ref().err().map(|e| e as &dyn std::error::Error),
            |e| e.source(),
        )
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
        assert!(chain.contains("\"boss\" is not a role"), "{url}: {chain}");
        store.close().await;
        drop_test_database(&url).await;
    }
}
