//! A bot job that names an uploaded package runs that version's extracted copy: the
//! version it names or the newest uploaded when the execution starts; a version
//! that is not there, or an archive changed since its upload, fails the execution
//! with what to fix; runs at once of one version share one copy.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use bosun_storage::{DiskStorage, ObjectKey, PackageStorage, Url};
use bosun_store::{NewPackageVersion, Store};
use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine};

/// A version put in the server's package storage and recorded in its store.
struct Uploaded {
    package_id: String,
    sha256: String,
    /// The archive's file in the storage.
    object: PathBuf,
}

/// Uploads version `version` of package `name` to the default tenant: a bot that
/// prints `says` and writes it to the file its first argument names.
async fn upload(server: &TestServer, name: &str, version: &str, says: &str) -> Uploaded {
    let bot = tempfile::tempdir().unwrap();
    std::fs::write(
        bot.path().join("bot.py"),
        format!(
            "import sys\nprint({says:?})\nwith open(sys.argv[1], 'w') as f:\n    f.write({says:?})\n"
        ),
    )
    .unwrap();
    let mut zip = Cursor::new(Vec::new());
    bosun_package::pack_dir(bot.path(), &mut zip).unwrap();
    let dir = server.home.join("packages");
    let storage = PackageStorage::Disk(
        DiskStorage::open(&dir, Url::parse(&server.url).unwrap())
            .await
            .unwrap(),
    );
    let key = format!("default/{name}/{version}.zip");
    let stored = storage
        .put(
            &ObjectKey::new(key.as_str()).unwrap(),
            zip.get_ref().as_slice(),
        )
        .await
        .unwrap();
    let store = Store::open(&server.database_url).await.unwrap();
    let tenant = store.tenant_by_slug("default").await.unwrap().unwrap();
    let new = NewPackageVersion {
        version: version.parse().unwrap(),
        size: stored.size,
        sha256: stored.sha256.to_hex(),
        object_key: key.clone(),
    };
    let package = store
        .add_package_version(&tenant.id, &name.parse().unwrap(), None, &new)
        .await
        .unwrap();
    store.close().await;
    Uploaded {
        package_id: package.id,
        sha256: new.sha256,
        object: dir.join(key),
    }
}

/// Defines the job `name` running `bot`.
async fn define(server: &TestServer, name: &str, bot: Value) {
    let job = json!({"name": name, "bot": bot, "duplicatePolicy": "allow"});
    let (status, body) = server.post("/api/jobs", job).await;
    assert_eq!(status, 201, "{body}");
}

/// Starts the job, its bot writing to `out`; the execution's id.
async fn start(server: &TestServer, job: &str, out: &Path) -> String {
    let (status, execution) = server
        .post(
            &format!("/api/jobs/{job}/run"),
            json!({"arguments": [out.to_str().unwrap()]}),
        )
        .await;
    assert_eq!(status, 202, "{execution}");
    execution["id"].as_str().unwrap().to_owned()
}

/// Runs the job to its end; the execution, the last line of its output log (after
/// the Python environment's build, the first time), and what it wrote to its file
/// (`None`: nothing).
async fn run(server: &TestServer, job: &str) -> (Value, String, Option<String>) {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("out.txt");
    let id = start(server, job, &file).await;
    let execution = server.finished(&id).await;
    let log = server.text(&format!("/api/executions/{id}/logs")).await;
    let last = log.lines().last().unwrap_or_default().to_owned();
    (execution, last, std::fs::read_to_string(&file).ok())
}

fn unpacked(server: &TestServer, package_id: &str) -> PathBuf {
    server.home.join("packages/unpacked").join(package_id)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_job_runs_the_package_version_it_names_or_the_newest_at_its_start() {
    on_each_engine(|server| async move {
        let v1 = upload(&server, "web-scraper", "1.0.0", "one").await;
        upload(&server, "web-scraper", "2.0.0", "two").await;
        let bot = json!({"package": "web-scraper", "version": "1.0.0", "timeoutSeconds": 60});
        define(&server, "scrape-one", bot).await;
        define(&server, "scrape-newest", json!({"package": "web-scraper"})).await;
        define(&server, "scrape-by-id", json!({"package": v1.package_id})).await;

        let (execution, log, wrote) = run(&server, "scrape-one").await;
        assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        assert_eq!(log, "one");
        assert_eq!(wrote.as_deref(), Some("one"));
        let copy = unpacked(&server, &v1.package_id).join(&v1.sha256);
        assert!(copy.join("bot.py").is_file(), "run from {}", copy.display());

        let (execution, log, wrote) = run(&server, "scrape-newest").await;
        assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        assert_eq!((log.as_str(), wrote.as_deref()), ("two", Some("two")));
        let (_, log, _) = run(&server, "scrape-by-id").await;
        assert_eq!(log, "two", "a package named by its id");

        // The newest when the execution starts, not when the job was defined.
        upload(&server, "web-scraper", "3.0.0", "three").await;
        let (execution, log, wrote) = run(&server, "scrape-newest").await;
        assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        assert_eq!((log.as_str(), wrote.as_deref()), ("three", Some("three")));
        assert_eq!(entries(&unpacked(&server, &v1.package_id)).len(), 3);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_missing_package_or_version_fails_the_execution_with_the_fix() {
    on_each_engine(|server| async move {
        upload(&server, "web-scraper", "1.0.0", "one").await;
        let bot = json!({"package": "web-scraper", "version": "9.9.9"});
        define(&server, "scrape-missing", bot).await;
        define(&server, "not-uploaded", json!({"package": "nope"})).await;

        let (execution, _, wrote) = run(&server, "scrape-missing").await;
        assert_eq!(execution["status"], "Failed", "{execution}");
        assert_eq!(
            execution["message"],
            "package \"web-scraper\" has no version 9.9.9 (it has 1.0.0): upload it, or fix \
             \"version\" in the job"
        );
        assert_eq!(wrote, None);

        let (execution, _, _) = run(&server, "not-uploaded").await;
        assert_eq!(execution["status"], "Failed", "{execution}");
        assert_eq!(
            execution["message"],
            "package \"nope\" is not uploaded in this tenant: upload it, or fix \"package\" in \
             the job"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_archive_changed_after_upload_fails_and_nothing_is_extracted() {
    on_each_engine(|server| async move {
        let uploaded = upload(&server, "web-scraper", "1.0.0", "one").await;
        let mut bytes = std::fs::read(&uploaded.object).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&uploaded.object, bytes).unwrap();
        define(&server, "scrape", json!({"package": "web-scraper"})).await;

        let (execution, _, wrote) = run(&server, "scrape").await;
        assert_eq!(execution["status"], "Failed", "{execution}");
        let message = execution["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "package \"web-scraper\" version 1.0.0 cannot run: its stored archive's SHA-256 is "
            ),
            "{message}"
        );
        assert!(message.contains(&uploaded.sha256), "{message}");
        assert!(
            message.ends_with("; delete this version and upload it again"),
            "{message}"
        );
        assert_eq!(wrote, None);
        assert!(
            !unpacked(&server, &uploaded.package_id).exists(),
            "nothing extracted"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn two_runs_at_once_of_one_version_both_succeed_from_one_copy() {
    on_each_engine(|server| async move {
        let uploaded = upload(&server, "web-scraper", "1.0.0", "one").await;
        define(&server, "scrape", json!({"package": "web-scraper"})).await;
        let out = tempfile::tempdir().unwrap();
        let (a, b) = (out.path().join("a.txt"), out.path().join("b.txt"));
        let ids = [
            start(&server, "scrape", &a).await,
            start(&server, "scrape", &b).await,
        ];
        for id in &ids {
            let execution = server.finished(id).await;
            assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        }
        assert_eq!(std::fs::read_to_string(a).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(b).unwrap(), "one");
        assert_eq!(
            entries(&unpacked(&server, &uploaded.package_id)),
            [uploaded.sha256],
            "one copy, no partial folder"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_restart_clears_what_a_crash_left_of_uploads_and_extractions_and_keeps_copies() {
    on_each_engine(|server| async move {
        let v1 = upload(&server, "web-scraper", "1.0.0", "one").await;
        define(&server, "scrape", json!({"package": "web-scraper"})).await;
        let (execution, _, _) = run(&server, "scrape").await;
        assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        let (home, database_url, token) = (
            server.home.clone(),
            server.database_url.clone(),
            server.token.clone(),
        );
        let copies = unpacked(&server, &v1.package_id);
        server.crash().await;
        // What a crash in the middle of an upload and of an extraction leaves.
        let leftovers = [
            home.join("packages/.uploads/.tmpAbC123"),
            home.join("packages/unpacked/.download-1234"),
            copies.join(".abc.partial-XyZ/bot.py"),
        ];
        for leftover in &leftovers {
            std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
            std::fs::write(leftover, "half").unwrap();
        }
        let server = TestServer::start_again(&home, &database_url, token).await;
        for leftover in &leftovers {
            assert!(!leftover.exists(), "{} is cleared", leftover.display());
        }
        assert_eq!(entries(&copies), [v1.sha256], "the copy is kept");
        let (execution, log, _) = run(&server, "scrape").await;
        assert_eq!(execution["status"], "CompletedSuccessfully", "{execution}");
        assert_eq!(log, "one");
        server.stop().await;
    })
    .await;
}
