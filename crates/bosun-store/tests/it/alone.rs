//! Executions that run alone (`duplicatePolicy: "skip"`): of many created at once, one
//! is, whichever way they are created, on each engine and through two stores on one
//! database (two servers).

use bosun_store::{Finish, Job, Store, StoreError};
use chrono::Utc;
use tokio::task::JoinSet;

use super::{acme_job, of, on_each_engine};

/// How many creations race.
const RACERS: usize = 24;

/// Creates `RACERS` executions of `job` to run alone at once, half through `one` and
/// half through `other`; the number created. Every other one is refused as
/// [`StoreError::AlreadyActive`].
async fn race(one: &Store, other: &Store, job: &Job) -> usize {
    let mut racing = JoinSet::new();
    for n in 0..RACERS {
        let store = if n % 2 == 0 { one } else { other }.clone();
        let new = of(job).alone();
        let version = job.updated_at;
        racing.spawn(async move {
            match n % 3 {
                // Each way a server creates one: queued for any runner, claimed as it
                // is created, on a job as it was read, and in a transaction of its own.
                0 => store.create_execution(new).await.map(Some),
                1 => {
                    store
                        .create_execution_if_current(new.claimed_by("local"), version)
                        .await
                }
                _ => {
                    let mut tx = store.begin().await.unwrap();
                    let created = store.insert_execution(&mut tx, new).await;
                    store.commit(tx, "creating an execution").await.unwrap();
                    created.map(Some)
                }
            }
        });
    }
    let mut created = 0;
    while let Some(answer) = racing.join_next().await {
        match answer.expect("a creation does not panic") {
            Ok(Some(_)) => created += 1,
            Ok(None) => panic!("the job did not change"),
            Err(StoreError::AlreadyActive { job_name, .. }) => assert_eq!(job_name, job.name),
            Err(e) => panic!("{e}"),
        }
    }
    created
}

/// Ends every active execution of the job.
async fn end_all(store: &Store, tenant_id: &str, job: &Job) {
    let filter = bosun_store::ExecutionFilter {
        job_id: Some(job.id.clone()),
        ..Default::default()
    };
    for execution in store.executions(tenant_id, &filter).await.unwrap().items {
        let finish = Finish {
            status: bosun_core::ExecutionStatus::Cancelled,
            exit_code: None,
            message: "done with".to_owned(),
            end_time: Utc::now(),
        };
        store.finish(&execution.id, &finish).await.unwrap();
    }
}

/// Regression: `skip` was a count read before the insert, so creations that came
/// together all found the job idle and all were created.
#[tokio::test]
async fn of_many_executions_created_at_once_to_run_alone_one_is() {
    on_each_engine(|store| async move {
        let (t, job) = acme_job(&store).await;
        for _ in 0..3 {
            assert_eq!(race(&store, &store, &job).await, 1);
            assert_eq!(store.active_count(&job.id).await.unwrap(), 1);
            end_all(&store, &t.id, &job).await;
        }
        // Once it has ended the job runs again; one that need not run alone runs
        // beside it, and one to run alone is refused while either is active.
        let first = store.create_execution(of(&job).alone()).await.unwrap();
        store.create_execution(of(&job)).await.unwrap();
        store
            .finish(
                &first.id,
                &Finish {
                    status: bosun_core::ExecutionStatus::Failed,
                    exit_code: Some(1),
                    message: "failed".to_owned(),
                    end_time: Utc::now(),
                },
            )
            .await
            .unwrap();
        let refused = store.create_execution(of(&job).alone()).await;
        assert!(
            matches!(refused, Err(StoreError::AlreadyActive { .. })),
            "{refused:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn two_stores_on_one_database_create_one_execution_to_run_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in bosun_test_utils::database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let one = Store::open(&url)
            .await
            .expect(bosun_test_utils::POSTGRES_HELP);
        let other = Store::open(&url).await.unwrap();
        let (t, job) = acme_job(&one).await;
        for _ in 0..3 {
            assert_eq!(race(&one, &other, &job).await, 1);
            end_all(&one, &t.id, &job).await;
        }
        one.close().await;
        other.close().await;
        bosun_test_utils::drop_test_database(&url).await;
    }
}

#[tokio::test]
async fn a_refusal_to_run_alone_is_told_apart_from_a_changed_job() {
    on_each_engine(|store| async move {
        let (t, read) = acme_job(&store).await;
        store.create_execution(of(&read).alone()).await.unwrap();
        // The job as read is current: refused for the active execution.
        let busy = store
            .create_execution_if_current(of(&read).alone(), read.updated_at)
            .await;
        assert!(
            matches!(busy, Err(StoreError::AlreadyActive { .. })),
            "{busy:?}"
        );
        // Changed since it was read: that is the answer, whatever runs.
        store
            .update_job(&t.id, &read.id, "j", &serde_json::json!({"v": 2}))
            .await
            .unwrap();
        let changed = store
            .create_execution_if_current(of(&read).alone(), read.updated_at)
            .await;
        assert!(matches!(changed, Ok(None)), "{changed:?}");
    })
    .await;
}
