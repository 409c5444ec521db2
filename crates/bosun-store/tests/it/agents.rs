//! Agents: made with a machine key shown once and kept hashed, found by it only while
//! active, protected while they have work, and the built-in `local` left alone.

use bosun_core::{AgentStatus, ExecutionStatus, LOCAL_AGENT};
use bosun_store::{Finish, MACHINE_KEY_PREFIX, RemoteTarget, Store, StoreError};
use bosun_test_utils::{POSTGRES_HELP, database_urls, drop_test_database};
use chrono::{TimeDelta, Utc};
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::{acme_job, of, on_each_engine};

/// Runs `check` on a fresh store of each engine, with the store's URL for a
/// connection of its own.
pub(crate) async fn on_each_engine_with_url<F, Fut>(check: F)
where
    F: Fn(Store, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let store = Store::open(&url).await.expect(POSTGRES_HELP);
        check(store.clone(), url.clone()).await;
        store.close().await;
        drop_test_database(&url).await;
    }
}

/// Runs `sql` with `binds` on a connection of its own, as a hand (or another part
/// of bosun) would; returns the rows it read, each column as text.
pub(crate) async fn sql(url: &str, sql: &str, binds: &[&str]) -> Vec<Vec<Option<String>>> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    let rows = query.fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                .collect()
        })
        .collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_new_agent_is_disconnected_and_its_key_is_shown_once_and_stored_hashed() {
    on_each_engine_with_url(|store, url| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let (agent, key) = store
            .create_agent(&acme.id, "robot-1", "box-1")
            .await
            .unwrap();
        assert!(
            key.starts_with(MACHINE_KEY_PREFIX) && key.len() > 60,
            "{key}"
        );
        assert_eq!(
            (
                agent.name.as_str(),
                agent.machine_name.as_str(),
                agent.status,
                agent.active
            ),
            ("robot-1", "box-1", AgentStatus::Disconnected, true)
        );
        assert_eq!((agent.last_heartbeat, agent.last_connected), (None, None));
        assert_eq!(
            store.agents(&acme.id).await.unwrap(),
            std::slice::from_ref(&agent)
        );
        assert_eq!(
            store.agent(&acme.id, &agent.id).await.unwrap(),
            Some(agent.clone())
        );

        // Only the key's SHA-256 is kept.
        let stored = sql(&url, "SELECT machine_key_hash FROM agents", &[]).await;
        assert_eq!(stored, [[Some(sha256_hex(&key))]]);
        let found = store.agent_by_machine_key(&acme.id, &key).await.unwrap();
        assert_eq!(found, Some(agent.clone()));
    })
    .await;
}

#[tokio::test]
async fn agent_names_are_unique_per_tenant_and_agents_never_cross_tenants() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let (agent, key) = store.create_agent(&acme.id, "robot", "").await.unwrap();
        let again = store
            .create_agent(&acme.id, "robot", "x")
            .await
            .unwrap_err();
        assert!(
            matches!(again, StoreError::Conflict { what: "agent", .. }),
            "{again}"
        );
        assert_eq!(again.to_string(), "agent \"robot\" already exists");
        let local = store.create_agent(&acme.id, LOCAL_AGENT, "").await;
        assert!(
            matches!(local, Err(StoreError::Conflict { .. })),
            "{local:?}"
        );
        let (theirs, _) = store.create_agent(&other.id, "robot", "").await.unwrap();
        assert_ne!(theirs.id, agent.id);

        let by = |s: &str| {
            let (store, tenant) = (store.clone(), acme.id.clone());
            let s = s.to_owned();
            async move { store.agent_by_id_or_name(&tenant, &s).await.unwrap() }
        };
        assert_eq!(by(&agent.id).await.map(|a| a.id), Some(agent.id.clone()));
        assert_eq!(by("robot").await.map(|a| a.id), Some(agent.id.clone()));
        assert_eq!(by(&theirs.id).await, None, "another tenant's, by id");
        assert_eq!(by("nobody").await, None);

        // Another tenant's agent is not there for any change.
        assert_eq!(store.agent(&other.id, &agent.id).await.unwrap(), None);
        assert!(
            store
                .agent_by_machine_key(&other.id, &key)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .update_agent(&other.id, &agent.id, Some("mine"), None)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .regenerate_machine_key(&other.id, &agent.id)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.deactivate_agent(&other.id, &agent.id).await.unwrap(),
            None
        );
        assert!(!store.delete_agent(&other.id, &agent.id).await.unwrap());
        assert_eq!(
            store.agent(&acme.id, &agent.id).await.unwrap(),
            Some(agent),
            "untouched"
        );
    })
    .await;
}

#[tokio::test]
async fn an_agent_is_renamed_and_moved_but_never_onto_a_taken_name() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let (a, _) = store.create_agent(&acme.id, "a", "box-a").await.unwrap();
        store.create_agent(&acme.id, "b", "").await.unwrap();
        let renamed = store
            .update_agent(&acme.id, &a.id, Some("c"), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (renamed.name.as_str(), renamed.machine_name.as_str()),
            ("c", "box-a")
        );
        let moved = store
            .update_agent(&acme.id, &a.id, None, Some("box-z"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (moved.name.as_str(), moved.machine_name.as_str()),
            ("c", "box-z")
        );
        let taken = store
            .update_agent(&acme.id, &a.id, Some("b"), None)
            .await
            .unwrap_err();
        assert_eq!(taken.to_string(), "agent \"b\" already exists");
        assert_eq!(store.agent(&acme.id, &a.id).await.unwrap(), Some(moved));
    })
    .await;
}

#[tokio::test]
async fn a_rotated_key_replaces_the_old_one_and_a_deactivated_agent_has_none() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let (agent, old) = store.create_agent(&acme.id, "robot", "").await.unwrap();
        let new = store
            .regenerate_machine_key(&acme.id, &agent.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(new, old);
        assert!(
            store
                .agent_by_machine_key(&acme.id, &old)
                .await
                .unwrap()
                .is_none()
        );
        let found = store.agent_by_machine_key(&acme.id, &new).await.unwrap();
        assert_eq!(found.map(|a| a.id), Some(agent.id.clone()));

        assert!(store.agent_connected(&agent.id, Utc::now()).await.unwrap());
        let off = store
            .deactivate_agent(&acme.id, &agent.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((off.active, off.status), (false, AgentStatus::Disconnected));
        assert!(
            store
                .agent_by_machine_key(&acme.id, &new)
                .await
                .unwrap()
                .is_none(),
            "a deactivated agent's key let it in"
        );
        // The hub's writes pass it by: it stays Disconnected.
        assert!(
            !store
                .set_agent_status(&agent.id, AgentStatus::Available)
                .await
                .unwrap()
        );
        assert!(!store.agent_connected(&agent.id, Utc::now()).await.unwrap());
        assert_eq!(
            store.agents_seen(&[(agent.id.as_str(), 1)]).await.unwrap(),
            0
        );
        assert_eq!(store.agent(&acme.id, &agent.id).await.unwrap(), Some(off));
    })
    .await;
}

#[tokio::test]
async fn an_agent_with_pending_or_running_executions_is_not_deleted() {
    on_each_engine_with_url(|store, url| async move {
        let (acme, job) = acme_job(&store).await;
        let (agent, _) = store.create_agent(&acme.id, "robot", "").await.unwrap();
        let sent = store.create_execution(of(&job)).await.unwrap();
        sql(
            &url,
            "UPDATE executions SET agent_id = $1 WHERE id = $2",
            &[&agent.id, &sent.id],
        )
        .await;

        let refused = store.delete_agent(&acme.id, &agent.id).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::AgentInUse { executions: 1, .. }),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("pending or running"),
            "{refused}"
        );
        assert!(store.agent(&acme.id, &agent.id).await.unwrap().is_some());

        // Running still counts; ended does not.
        assert!(store.claim(&sent.id, "robot").await.unwrap());
        store
            .mark_running(&sent.id, &crate::batched::started(7, "/l/out"))
            .await
            .unwrap();
        assert!(store.delete_agent(&acme.id, &agent.id).await.is_err());
        let finish = Finish {
            status: ExecutionStatus::CompletedSuccessfully,
            exit_code: Some(0),
            message: "ok".to_owned(),
            end_time: Utc::now(),
        };
        assert!(store.finish(&sent.id, &finish).await.unwrap());
        assert!(store.delete_agent(&acme.id, &agent.id).await.unwrap());
        assert!(store.agent(&acme.id, &agent.id).await.unwrap().is_none());
        assert!(!store.delete_agent(&acme.id, &agent.id).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn the_built_in_agent_is_not_renamed_deactivated_given_a_key_or_deleted() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let local = store.ensure_agent(&acme.id, LOCAL_AGENT).await.unwrap();
        assert_eq!((local.status, local.active), (AgentStatus::Available, true));
        let refusals = [
            store
                .update_agent(&acme.id, &local.id, Some("mine"), None)
                .await
                .map(|_| ()),
            store
                .deactivate_agent(&acme.id, &local.id)
                .await
                .map(|_| ()),
            store
                .regenerate_machine_key(&acme.id, &local.id)
                .await
                .map(|_| ()),
            store.delete_agent(&acme.id, &local.id).await.map(|_| ()),
        ];
        for (refused, action) in
            refusals
                .into_iter()
                .zip(["renamed", "deactivated", "given a machine key", "deleted"])
        {
            match refused {
                Err(StoreError::BuiltInAgent { action: a, .. }) if a == action => {}
                other => panic!("{action}: {other:?}"),
            }
        }
        assert_eq!(
            store.agent(&acme.id, &local.id).await.unwrap(),
            Some(local.clone())
        );
        // Its own name again, or its machine name, is no rename.
        let same = store
            .update_agent(&acme.id, &local.id, Some(LOCAL_AGENT), Some("server-1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.machine_name, "server-1");
    })
    .await;
}

#[tokio::test]
async fn the_hub_records_connections_statuses_and_heartbeats_in_bulk() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let (agent, _) = store.create_agent(&acme.id, "robot", "").await.unwrap();
        let at = Utc::now() - TimeDelta::minutes(5);
        assert!(store.agent_connected(&agent.id, at).await.unwrap());
        let connected = store.agent(&acme.id, &agent.id).await.unwrap().unwrap();
        let ms = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.timestamp_millis());
        assert_eq!(connected.status, AgentStatus::Available);
        assert_eq!(ms(connected.last_connected), Some(at.timestamp_millis()));
        assert_eq!(ms(connected.last_heartbeat), Some(at.timestamp_millis()));
        assert!(
            store
                .set_agent_status(&agent.id, AgentStatus::Busy)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_agent_status("no-such-agent", AgentStatus::Busy)
                .await
                .unwrap()
        );

        // More agents than one statement takes, each seen twice, plus an unknown id.
        let mut ids = vec![agent.id.clone()];
        for i in 0..1_100 {
            let (more, _) = store
                .create_agent(&acme.id, &format!("robot-{i}"), "")
                .await
                .unwrap();
            ids.push(more.id);
        }
        let now = Utc::now().timestamp_millis();
        let mut seen: Vec<(String, i64)> = ids.iter().map(|id| (id.clone(), now - 10)).collect();
        seen.extend(ids.iter().map(|id| (id.clone(), now)));
        seen.push(("no-such-agent".to_owned(), now));
        assert_eq!(store.agents_seen(&seen).await.unwrap(), ids.len() as u64);
        let all = store.agents(&acme.id).await.unwrap();
        assert_eq!(all.len(), ids.len());
        assert!(
            all.iter().all(|a| ms(a.last_heartbeat) == Some(now)),
            "every agent's latest heartbeat is stored"
        );
        // An older heartbeat, arriving late, does not move it back.
        assert_eq!(
            store
                .agents_seen(&[(agent.id.as_str(), now - 1_000)])
                .await
                .unwrap(),
            0
        );
        let busy = store.agent(&acme.id, &agent.id).await.unwrap().unwrap();
        assert_eq!(ms(busy.last_heartbeat), Some(now));
        assert_eq!(
            busy.status,
            AgentStatus::Busy,
            "heartbeats leave the status"
        );
        assert_eq!(store.agents_seen::<&str>(&[]).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn an_execution_the_local_runner_claimed_moves_to_an_agent_once_keeping_its_job() {
    on_each_engine(|store| async move {
        let (acme, job) = acme_job(&store).await;
        let (agent, _) = store.create_agent(&acme.id, "robot", "").await.unwrap();
        let target = RemoteTarget {
            agent_id: agent.id.clone(),
            package_id: "package-1".to_owned(),
            package_version: "1.2.0".to_owned(),
            deliver_by: Utc::now() + TimeDelta::minutes(5),
        };
        let claimed = store
            .create_execution(of(&job).claimed_by(LOCAL_AGENT))
            .await
            .unwrap();
        assert_eq!(store.remote_active_of_job(&job.id).await.unwrap(), 0);

        // Only the runner that claimed it may send it away.
        let not_theirs = store
            .send_to_agent(&claimed.id, "another-runner", &target)
            .await
            .unwrap();
        assert!(not_theirs.is_none(), "{not_theirs:?}");
        let moved = store
            .send_to_agent(&claimed.id, LOCAL_AGENT, &target)
            .await
            .unwrap()
            .expect("a claimed Pending execution moves");
        assert_eq!(moved.id, claimed.id);
        assert_eq!(moved.status, ExecutionStatus::Pending);
        assert_eq!(
            (moved.job_id.as_str(), moved.job_name.as_str()),
            (job.id.as_str(), "j"),
            "it stays its job's execution"
        );
        assert_eq!(moved.runner.as_deref(), Some(agent.id.as_str()));
        assert_eq!(moved.agent_id.as_deref(), Some(agent.id.as_str()));
        assert_eq!(moved.package_id.as_deref(), Some("package-1"));
        assert_eq!(moved.package_version.as_deref(), Some("1.2.0"));
        assert_eq!(moved.delivered_at, None);
        assert_eq!(
            store.execution(&acme.id, &claimed.id).await.unwrap(),
            Some(moved.clone())
        );
        let undelivered = store.undelivered(&agent.id).await.unwrap();
        assert_eq!(undelivered, std::slice::from_ref(&moved));
        assert_eq!(store.remote_active_of_job(&job.id).await.unwrap(), 1);
        // Once moved, it is the agent's: neither moved again nor given back.
        assert!(
            store
                .send_to_agent(&claimed.id, LOCAL_AGENT, &target)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!store.release_claim(&claimed.id, LOCAL_AGENT).await.unwrap());

        // One waiting in the queue (nobody's yet), or ended, does not move.
        let queued = store.create_execution(of(&job)).await.unwrap();
        assert!(
            store
                .send_to_agent(&queued.id, LOCAL_AGENT, &target)
                .await
                .unwrap()
                .is_none()
        );
        let ended = store
            .create_execution(of(&job).claimed_by(LOCAL_AGENT))
            .await
            .unwrap();
        let finish = Finish {
            status: ExecutionStatus::Failed,
            exit_code: None,
            message: "gone".to_owned(),
            end_time: Utc::now(),
        };
        assert!(store.finish(&ended.id, &finish).await.unwrap());
        assert!(
            store
                .send_to_agent(&ended.id, LOCAL_AGENT, &target)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.finish(&moved.id, &finish).await.unwrap());
        assert_eq!(store.remote_active_of_job(&job.id).await.unwrap(), 0);

        // A trigger for an agent records the package it runs too.
        let direct = store
            .create_remote_execution(of(&job), &target)
            .await
            .unwrap();
        assert_eq!(direct.package_id.as_deref(), Some("package-1"));
        let read = store
            .execution(&acme.id, &direct.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.package_id.as_deref(), Some("package-1"));
        assert_eq!(read.runner.as_deref(), Some(agent.id.as_str()));
    })
    .await;
}
