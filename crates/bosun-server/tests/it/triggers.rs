//! Schedules and file triggers: they start their jobs, survive restarts without firing
//! twice, and follow their missed-run policies. Real files in temporary directories.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine, sh_job};

/// Polls `check` every 50 ms for up to 30 s; the last value it returned.
async fn eventually<T>(mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the condition did not hold within 30 s");
}

/// The `triggerDetail` of each execution.
fn details(executions: &[Value]) -> Vec<String> {
    executions
        .iter()
        .map(|e| e["triggerDetail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_interval_schedule_keeps_firing_across_a_restart_and_never_fires_an_instant_twice() {
    on_each_engine(|server| async move {
        let mut job = sh_job("tick", "exit 0");
        job["duplicatePolicy"] = json!("allow");
        server.post("/api/jobs", job).await;
        let (status, schedule) = server
            .post("/api/jobs/tick/schedules", json!({ "every": "1s" }))
            .await;
        assert_eq!(status, 201, "{schedule}");
        assert_eq!(schedule["every"], "1s");
        assert_eq!(schedule["missed"], "run-once", "run-once is the default");
        assert!(schedule["nextFire"].is_string(), "{schedule}");

        eventually(async || (server.executions_of("tick").await.len() >= 2).then_some(())).await;
        let server = server.restart().await;
        let before = server.executions_of("tick").await.len();
        let all = eventually(async || {
            let all = server.executions_of("tick").await;
            (all.len() >= before + 2).then_some(all)
        })
        .await;

        assert!(all.iter().all(|e| e["trigger"] == "schedule"), "{all:?}");
        let instants = details(&all);
        let distinct: HashSet<&String> = instants.iter().collect();
        assert_eq!(
            distinct.len(),
            instants.len(),
            "an instant fired twice: {instants:?}"
        );
        assert!(instants[0].starts_with(&format!(
            "schedule {} for ",
            schedule["id"].as_str().unwrap()
        )));
        server.stop().await;
    })
    .await;
}

/// Sets a schedule's stored next fire time, as if the server had been down since.
async fn pretend_down_since(database_url: &str, schedule: &Value, since: chrono::DateTime<Utc>) {
    let store = bosun_store::Store::open(database_url).await.unwrap();
    let stored = store.all_schedules().await.unwrap();
    let row = stored
        .iter()
        .flatten()
        .find(|s| s.id == schedule["id"])
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(
        store
            .advance_schedule(&mut tx, &row.id, row.schedule.next_fire, since, None)
            .await
            .unwrap()
    );
    store.commit(tx, "test").await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn instants_missed_while_down_run_as_each_schedules_policy_says() {
    on_each_engine(|server| async move {
        // Yearly, at New Year: down since 2020 means every New Year since was missed.
        let policies = [
            ("all", json!({ "run-all": { "max": 3 } })),
            ("once", json!("run-once")),
            ("none", json!("skip")),
        ];
        let mut schedules = Vec::new();
        for (name, missed) in &policies {
            let mut job = sh_job(name, "exit 0");
            job["duplicatePolicy"] = json!("allow");
            server.post("/api/jobs", job).await;
            let (status, schedule) = server
                .post(
                    &format!("/api/jobs/{name}/schedules"),
                    json!({ "cron": "0 0 1 1 *", "timeZone": "UTC", "missed": missed }),
                )
                .await;
            assert_eq!(status, 201, "{schedule}");
            assert_eq!(schedule["missed"], *missed);
            schedules.push(schedule);
        }
        let server = {
            let (home, url, token) = (
                server.home.clone(),
                server.database_url.clone(),
                server.token.clone(),
            );
            server.stop().await;
            let since = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
            for schedule in &schedules {
                pretend_down_since(&url, schedule, since).await;
            }
            TestServer::start_again(&home, &url, token).await
        };

        // Every schedule is moved on to next New Year once the clock has seen it.
        let next_new_year = Utc
            .with_ymd_and_hms(Utc::now().year() + 1, 1, 1, 0, 0, 0)
            .unwrap();
        eventually(async || {
            let (_, all) = server.get("/api/schedules").await;
            let items = all["items"].as_array().unwrap();
            items
                .iter()
                .all(|s| {
                    s["nextFire"]
                        .as_str()
                        .and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok())
                        == Some(next_new_year)
                })
                .then_some(())
        })
        .await;
        let year = Utc::now().year();
        let fired = async |name| details(&server.executions_of(name).await);
        let mut all = fired("all").await;
        all.sort();
        let expected: Vec<String> = (year - 2..=year)
            .map(|y| {
                format!(
                    "schedule {} for {y}-01-01T00:00:00Z",
                    schedules[0]["id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            all, expected,
            "run-all runs the latest `max` missed instants"
        );
        assert_eq!(
            fired("once").await,
            [format!(
                "schedule {} for {year}-01-01T00:00:00Z",
                schedules[1]["id"].as_str().unwrap()
            )],
            "run-once runs the latest missed instant once"
        );
        assert_eq!(
            fired("none").await,
            Vec::<String>::new(),
            "skip drops what was missed"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_trigger_runs_its_job_once_per_file_with_the_path_across_a_restart() {
    on_each_engine(|server| async move {
        let inbox = tempfile::tempdir().unwrap();
        let inbox_path = std::fs::canonicalize(inbox.path()).unwrap();
        std::fs::write(inbox_path.join("early.csv"), "1,2\n").unwrap();
        let mut job = sh_job("ingest", "echo \"ingesting $1\"; cat \"$1\"");
        job["duplicatePolicy"] = json!("queue");
        server.post("/api/jobs", job).await;
        let (status, trigger) = server
            .post(
                "/api/jobs/ingest/triggers",
                json!({ "directory": inbox_path, "glob": "*.csv", "debounceMs": 100 }),
            )
            .await;
        assert_eq!(status, 201, "{trigger}");
        assert_eq!(
            trigger["missed"], "run-all",
            "files already there run by default"
        );

        std::fs::write(inbox_path.join("notes.txt"), "not a csv").unwrap();
        std::fs::write(inbox_path.join("late.csv"), "3,4\n").unwrap();
        let executions = eventually(async || {
            let all = server.executions_of("ingest").await;
            (all.len() >= 2 && all.iter().all(|e| e["status"] == "CompletedSuccessfully"))
                .then_some(all)
        })
        .await;
        let mut paths = details(&executions);
        paths.sort();
        let early = inbox_path.join("early.csv").to_str().unwrap().to_owned();
        let late = inbox_path.join("late.csv").to_str().unwrap().to_owned();
        assert_eq!(paths, [early.clone(), late.clone()]);
        for execution in &executions {
            assert_eq!(execution["trigger"], "file");
            assert_eq!(execution["arguments"], json!([execution["triggerDetail"]]));
            let log = server
                .text(&format!(
                    "/api/executions/{}/logs?stream=stdout",
                    execution["id"].as_str().unwrap()
                ))
                .await;
            assert!(
                log.starts_with(&format!(
                    "ingesting {}",
                    execution["triggerDetail"].as_str().unwrap()
                )),
                "{log}"
            );
        }

        // After a restart the files already handled stay handled; a new one runs.
        let server = server.restart().await;
        std::fs::write(inbox_path.join("next.csv"), "5,6\n").unwrap();
        let executions = eventually(async || {
            let all = server.executions_of("ingest").await;
            details(&all)
                .iter()
                .any(|d| d.ends_with("next.csv"))
                .then_some(all)
        })
        .await;
        let mut paths = details(&executions);
        paths.sort();
        let next = inbox_path.join("next.csv").to_str().unwrap().to_owned();
        assert_eq!(paths, [early, late, next], "a file ran twice or not at all");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_trigger_that_skips_missed_files_runs_only_for_new_ones() {
    on_each_engine(|server| async move {
        let inbox = tempfile::tempdir().unwrap();
        let inbox_path = std::fs::canonicalize(inbox.path()).unwrap();
        let old = inbox_path.join("old.csv");
        std::fs::write(&old, "old").unwrap();
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options().write(true).open(&old).unwrap();
        file.set_modified(an_hour_ago).unwrap();
        server.post("/api/jobs", sh_job("fresh", "cat \"$1\"")).await;
        let (status, trigger) = server
            .post(
                "/api/jobs/fresh/triggers",
                json!({ "directory": inbox_path, "glob": "*.csv", "debounceMs": 100, "missed": "skip" }),
            )
            .await;
        assert_eq!(status, 201, "{trigger}");
        // Once the watch is up, a new file runs.
        eventually(async || {
            let (_, all) = server.get("/api/jobs/fresh/triggers").await;
            (all["items"][0]["watching"] == true).then_some(())
        })
        .await;
        std::fs::write(inbox_path.join("new.csv"), "new").unwrap();
        let executions = eventually(async || {
            let all = server.executions_of("fresh").await;
            (!all.is_empty()).then_some(all)
        })
        .await;
        assert_eq!(
            details(&executions),
            [inbox_path.join("new.csv").to_str().unwrap()],
            "a file that was there before the trigger ran"
        );

        // Removing the trigger stops it.
        let id = trigger["id"].as_str().unwrap();
        let deleted = server.http.delete(server.url(&format!("/api/triggers/{id}")));
        assert_eq!(server.send(deleted, &server.token).await.0, 204);
        let (_, left) = server.get("/api/jobs/fresh/triggers").await;
        assert_eq!(left["items"], json!([]));
        server.stop().await;
    })
    .await;
}

/// The trigger's `watching` and `problem`, as `GET /api/jobs/{job}/triggers` shows them.
async fn trigger_state(server: &TestServer, job: &str) -> (bool, Option<String>) {
    let (_, all) = server.get(&format!("/api/jobs/{job}/triggers")).await;
    let item = &all["items"][0];
    (
        item["watching"] == true,
        item["problem"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn a_file_trigger_whose_directory_is_removed_and_recreated_reports_it_and_catches_up() {
    on_each_engine(|server| async move {
        let parent = tempfile::tempdir().unwrap();
        let inbox = std::fs::canonicalize(parent.path()).unwrap().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let mut job = sh_job("ingest", "cat \"$1\"");
        job["duplicatePolicy"] = json!("queue");
        server.post("/api/jobs", job).await;
        let (status, trigger) = server
            .post(
                "/api/jobs/ingest/triggers",
                json!({ "directory": inbox, "glob": "*.csv", "debounceMs": 100 }),
            )
            .await;
        assert_eq!(status, 201, "{trigger}");
        eventually(async || trigger_state(&server, "ingest").await.0.then_some(())).await;

        // The directory goes: the trigger says so instead of claiming to watch.
        std::fs::remove_dir(&inbox).unwrap();
        let problem = eventually(async || match trigger_state(&server, "ingest").await {
            (false, Some(problem)) => Some(problem),
            _ => None,
        })
        .await;
        // Why: removed (as the watch saw it), or missing (as the retry found it).
        assert!(
            problem.contains(inbox.to_str().unwrap())
                && (problem.contains("was removed") || problem.contains("does not exist")),
            "{problem}"
        );

        // It comes back with a file in it before the watch does; then another arrives.
        std::fs::create_dir(&inbox).unwrap();
        std::fs::write(inbox.join("early.csv"), "1").unwrap();
        eventually(async || match trigger_state(&server, "ingest").await {
            (true, None) => Some(()),
            _ => None,
        })
        .await;
        std::fs::write(inbox.join("late.csv"), "2").unwrap();
        let executions = eventually(async || {
            let all = server.executions_of("ingest").await;
            (all.len() >= 2 && all.iter().all(|e| e["status"] == "CompletedSuccessfully"))
                .then_some(all)
        })
        .await;
        let mut paths = details(&executions);
        paths.sort();
        let expected: Vec<String> = ["early.csv", "late.csv"]
            .iter()
            .map(|f| inbox.join(f).to_str().unwrap().to_owned())
            .collect();
        assert_eq!(paths, expected, "a file ran twice or not at all");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_schedules_and_triggers_are_refused_with_what_to_fix() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("job", "exit 0")).await;
        let missing = tempfile::tempdir().unwrap().path().join("nope");
        let cases = [
            ("schedules", json!({}), "give one of \"cron\""),
            ("schedules", json!({ "cron": "* * *" }), "* * *"),
            (
                "schedules",
                json!({ "cron": "0 * * * *", "every": "1m" }),
                "give one of",
            ),
            (
                "schedules",
                json!({ "cron": "0 * * * *", "timeZone": "Mars/Olympus" }),
                "Mars/Olympus",
            ),
            ("schedules", json!({ "every": "soon" }), "soon"),
            (
                "schedules",
                json!({ "every": "1m", "timeZone": "UTC" }),
                "\"timeZone\" goes with \"cron\"",
            ),
            (
                "schedules",
                json!({ "every": "1m", "missed": "sometimes" }),
                "sometimes",
            ),
            (
                "triggers",
                json!({ "directory": "in", "glob": "*" }),
                "is relative",
            ),
            (
                "triggers",
                json!({ "directory": missing, "glob": "*" }),
                "nope",
            ),
            ("triggers", json!({ "directory": "/", "glob": "[" }), "["),
            (
                "triggers",
                json!({ "directory": "/", "glob": "*", "debounceMs": -1 }),
                "out of range",
            ),
        ];
        for (kind, body, says) in cases {
            let (status, answer) = server
                .post(&format!("/api/jobs/job/{kind}"), body.clone())
                .await;
            assert_eq!(status, 400, "{body} → {answer}");
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{body} → {message}");
        }
        let (status, _) = server
            .post("/api/jobs/absent/schedules", json!({ "every": "1m" }))
            .await;
        assert_eq!(status, 404);
        let (_, all) = server.get("/api/schedules").await;
        assert_eq!(all["items"], json!([]), "a refused schedule was stored");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn schedules_and_triggers_need_their_permissions_and_stay_in_their_tenant() {
    on_each_engine(|server| async move {
        server.post("/api/jobs", sh_job("job", "exit 0")).await;
        let (_, schedule) = server
            .post("/api/jobs/job/schedules", json!({ "every": "1h" }))
            .await;
        let dir = tempfile::tempdir().unwrap();
        let (_, trigger) = server
            .post(
                "/api/jobs/job/triggers",
                json!({ "directory": dir.path(), "glob": "*" }),
            )
            .await;

        let (_, viewer) = server
            .post(
                "/api/tokens",
                json!({ "name": "viewer", "permissions": ["schedules:view", "triggers:view", "jobs:view"] }),
            )
            .await;
        let viewer = viewer["token"].as_str().unwrap().to_owned();
        let (status, listed) = server.send(server.http.get(server.url("/api/schedules")), &viewer).await;
        assert_eq!((status, listed["items"][0]["id"].clone()), (200, schedule["id"].clone()));
        for (kind, body) in [("schedules", json!({ "every": "1h" })), ("triggers", json!({ "directory": dir.path(), "glob": "*" }))] {
            let post = server.http.post(server.url(&format!("/api/jobs/job/{kind}"))).json(&body);
            let (status, answer) = server.send(post, &viewer).await;
            assert_eq!(status, 403, "{answer}");
            assert!(answer["message"].as_str().unwrap().contains(&format!("{kind}:create")), "{answer}");
        }
        for path in [
            format!("/api/schedules/{}", schedule["id"].as_str().unwrap()),
            format!("/api/triggers/{}", trigger["id"].as_str().unwrap()),
        ] {
            let (status, _) = server.send(server.http.delete(server.url(&path)), &viewer).await;
            assert_eq!(status, 403, "{path}");
        }

        let store = bosun_store::Store::open(&server.database_url).await.unwrap();
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let (_, stranger) = store.create_token(&other.id, "o", &[bosun_core::Permission::All]).await.unwrap();
        store.close().await;
        for path in ["/api/schedules", "/api/triggers"] {
            let (status, listed) = server.send(server.http.get(server.url(path)), &stranger).await;
            assert_eq!((status, listed["items"].clone()), (200, json!([])), "{path}");
        }
        for path in [
            format!("/api/schedules/{}", schedule["id"].as_str().unwrap()),
            format!("/api/triggers/{}", trigger["id"].as_str().unwrap()),
        ] {
            let (status, _) = server.send(server.http.delete(server.url(&path)), &stranger).await;
            assert_eq!(status, 404, "{path}");
        }
        let (status, _) = server
            .send(server.http.get(server.url("/api/jobs/job/schedules")), &stranger)
            .await;
        assert_eq!(status, 404, "another tenant's job");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn files_arriving_while_a_skip_job_runs_are_skipped_for_good() {
    on_each_engine(|server| async move {
        let inbox = tempfile::tempdir().unwrap();
        let inbox_path = std::fs::canonicalize(inbox.path()).unwrap();
        // duplicatePolicy "skip" is the default; the run outlasts the other files.
        server.post("/api/jobs", sh_job("once", "sleep 2")).await;
        let (status, trigger) = server
            .post(
                "/api/jobs/once/triggers",
                json!({ "directory": inbox_path, "glob": "*.csv", "debounceMs": 100 }),
            )
            .await;
        assert_eq!(status, 201, "{trigger}");
        eventually(async || trigger_state(&server, "once").await.0.then_some(())).await;

        std::fs::write(inbox_path.join("first.csv"), "1").unwrap();
        eventually(async || (!server.executions_of("once").await.is_empty()).then_some(())).await;
        for name in ["a.csv", "b.csv", "c.csv"] {
            std::fs::write(inbox_path.join(name), name).unwrap();
        }
        // The first run ends, and nothing of what arrived meanwhile runs later.
        eventually(async || {
            let all = server.executions_of("once").await;
            all.iter()
                .all(|e| e["status"] == "CompletedSuccessfully")
                .then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = server.executions_of("once").await;
        assert_eq!(
            details(&all),
            [inbox_path.join("first.csv").to_str().unwrap()],
            "only the file that found the job idle ran"
        );
        server.stop().await;
    })
    .await;
}
