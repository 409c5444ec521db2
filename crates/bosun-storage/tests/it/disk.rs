//! The disk store: where its files go, its link secret, and the links bosun serves and
//! checks itself.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use bosun_storage::{DiskStorage, KeyFault, LinkError, LinkPart, StorageError};
use chrono::{DateTime, TimeDelta, Utc};

use super::*;

/// A store in `dir`/packages.
async fn open(dir: &TempDir) -> DiskStorage {
    DiskStorage::open(dir.path().join("packages"), base())
        .await
        .expect("the store opens")
}

/// A link's `expires` and `signature` query values.
fn parts(link: &bosun_storage::Link) -> (String, String) {
    let value = |name: &str| {
        link.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("a disk link carries {name}"))
    };
    (value("expires"), value("signature"))
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).expect("a representable time")
}

#[tokio::test]
async fn objects_are_files_at_their_key_with_no_temporary_left() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let disk = open(&dir).await;
    let k = key("acme/hello-bot/1.0.0.zip");
    let stored = disk
        .put(&k, Body::new(pattern(300_000)))
        .await
        .expect("put");
    assert_eq!(stored.size, 300_000);
    let file = dir.path().join("packages/acme/hello-bot/1.0.0.zip");
    assert_eq!(
        std::fs::read(&file).expect("the object's file"),
        pattern(300_000)
    );
    assert_eq!(
        files_under(disk.dir()),
        [".link-secret", "acme/hello-bot/1.0.0.zip"],
        "no temporary file is left"
    );
}

#[tokio::test]
async fn a_finished_file_is_taken_as_it_is_and_never_over_another() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let disk = open(&dir).await;
    let spooled = dir.path().join("upload.part");
    std::fs::write(&spooled, pattern(70_000)).expect("the upload's file");
    let counted = bosun_storage::Stored {
        size: 70_000,
        sha256: bosun_storage::Sha256([7; 32]),
    };
    let k = key("acme/p/1.zip");
    let stored = disk
        .put_file(&k, &spooled, counted)
        .await
        .expect("put_file");
    assert_eq!(stored, counted, "the caller's count is what it reports");
    std::fs::remove_file(&spooled).expect("the caller removes its name");
    let object = dir.path().join("packages/acme/p/1.zip");
    assert_eq!(std::fs::read(&object).expect("the object"), pattern(70_000));

    let other = dir.path().join("other.part");
    std::fs::write(&other, b"other bytes").expect("another file");
    let again = disk.put_file(&k, &other, counted).await;
    assert!(
        matches!(again, Err(StorageError::Exists { .. })),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read(&object).expect("the object"),
        pattern(70_000),
        "the first object is kept"
    );
    assert_eq!(files_under(disk.dir()), [".link-secret", "acme/p/1.zip"]);
}

#[tokio::test]
async fn the_secret_is_made_once_for_its_owner_only_and_kept_across_opens() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let k = key("acme/p/1.zip");
    let now = at(1_700_000_000);
    let (expires, signature) = parts(
        &open(&dir)
            .await
            .link(&k, Duration::from_secs(600), now)
            .expect("a link"),
    );
    let secret = dir.path().join("packages/.link-secret");
    let meta = std::fs::metadata(&secret).expect("the secret file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    let bytes = std::fs::read(&secret).expect("the secret");

    let reopened = open(&dir).await;
    assert_eq!(
        std::fs::read(&secret).expect("the secret"),
        bytes,
        "kept, not remade"
    );
    assert_eq!(
        reopened.verify(&k, &expires, &signature, now),
        Ok(()),
        "a link outlives a restart"
    );
}

#[tokio::test]
async fn stores_opened_at_once_on_a_new_directory_share_one_secret() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let opens: Vec<_> = (0..8).map(|_| open(&dir)).collect();
    let stores = futures_util::future::join_all(opens).await;
    let k = key("acme/p/1.zip");
    let now = at(1_700_000_000);
    let (expires, signature) = parts(
        &stores[0]
            .link(&k, Duration::from_secs(60), now)
            .expect("a link"),
    );
    for store in &stores {
        assert_eq!(store.verify(&k, &expires, &signature, now), Ok(()));
    }
    assert_eq!(
        files_under(stores[0].dir()),
        [".link-secret"],
        "no temporary file is left"
    );
}

#[tokio::test]
async fn a_secret_that_is_not_32_bytes_is_refused_not_replaced() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let packages = dir.path().join("packages");
    std::fs::create_dir(&packages).expect("the directory");
    std::fs::write(packages.join(".link-secret"), b"short").expect("a broken secret");
    let opened = DiskStorage::open(&packages, base()).await;
    assert!(
        matches!(opened, Err(StorageError::BadSecret { .. })),
        "{opened:?}"
    );
    assert_eq!(
        std::fs::read(packages.join(".link-secret")).expect("kept"),
        b"short"
    );
}

#[tokio::test]
async fn a_link_verifies_as_issued_and_every_change_or_its_expiry_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let disk = open(&dir).await;
    let k = key("acme/hello-bot/1.0.0.zip");
    let now = at(1_700_000_000);
    let link = disk
        .link(&k, Duration::from_secs(600), now)
        .expect("a link");
    assert_eq!(link.expires_at, at(1_700_000_600));
    assert!(
        link.url
            .as_str()
            .starts_with("http://127.0.0.1:8420/packages/blob/acme/hello-bot/1.0.0.zip?expires=1700000600&signature="),
        "{}",
        link.url
    );
    let (expires, signature) = parts(&link);
    assert_eq!(disk.verify(&k, &expires, &signature, now), Ok(()));
    let last_moment = link.expires_at - TimeDelta::milliseconds(1);
    assert_eq!(disk.verify(&k, &expires, &signature, last_moment), Ok(()));

    // Another key, a later expiry, one hex digit of the signature: not ours.
    let other = key("acme/hello-bot/1.0.1.zip");
    assert_eq!(
        disk.verify(&other, &expires, &signature, now),
        Err(LinkError::BadSignature)
    );
    assert_eq!(
        disk.verify(&k, "1700000601", &signature, now),
        Err(LinkError::BadSignature)
    );
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let tampered = format!("{flipped}{}", &signature[1..]);
    assert_eq!(
        disk.verify(&k, &expires, &tampered, now),
        Err(LinkError::BadSignature)
    );

    // Ours, but too late.
    assert_eq!(
        disk.verify(&k, &expires, &signature, link.expires_at),
        Err(LinkError::Expired {
            expired_at: link.expires_at
        })
    );

    // Not links at all.
    assert_eq!(
        disk.verify(&k, "soon", &signature, now),
        Err(LinkError::Malformed {
            part: LinkPart::Expires
        })
    );
    assert_eq!(
        disk.verify(&k, &expires, "", now),
        Err(LinkError::Malformed {
            part: LinkPart::Signature
        })
    );
}

#[tokio::test]
async fn links_from_another_store_are_refused() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (a, b) = (open(&a).await, open(&b).await);
    let k = key("acme/p/1.zip");
    let now = at(1_700_000_000);
    let (expires, signature) = parts(&a.link(&k, Duration::from_secs(60), now).expect("a link"));
    assert_eq!(
        b.verify(&k, &expires, &signature, now),
        Err(LinkError::BadSignature)
    );
}

#[tokio::test]
async fn a_public_base_with_a_path_prefixes_the_link() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = Url::parse("https://bosun.example/fleet/").expect("a URL");
    let disk = DiskStorage::open(dir.path(), base)
        .await
        .expect("the store opens");
    let link = disk
        .link(&key("a/b.zip"), Duration::from_secs(60), at(0))
        .expect("a link");
    assert_eq!(link.url.host_str(), Some("bosun.example"));
    assert_eq!(link.url.path(), "/fleet/packages/blob/a/b.zip");
}

#[tokio::test]
async fn bases_that_cannot_carry_a_path_and_bad_lifetimes_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for base in [
        "http://h/?x=1",
        "http://h/#top",
        "ftp://h/",
        "mailto:ops@example.com",
    ] {
        let base = Url::parse(base).expect("a URL");
        let opened = DiskStorage::open(dir.path(), base).await;
        assert!(
            matches!(opened, Err(StorageError::BadPublicBase { .. })),
            "{opened:?}"
        );
    }
    let disk = open(&dir).await;
    for lifetime in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
        let link = disk.link(&key("a/b.zip"), lifetime, at(0));
        assert!(
            matches!(link, Err(StorageError::BadLifetime { .. })),
            "{link:?}"
        );
    }
}

#[test]
fn keys_that_would_leave_the_directory_or_reach_the_secret_are_refused() {
    for (bad, fault) in [
        ("acme/../../etc/passwd", KeyFault::DotSegment),
        ("../packages.zip", KeyFault::DotSegment),
        ("/etc/passwd", KeyFault::Absolute),
        ("acme\\..\\x", KeyFault::Backslash),
        (".link-secret", KeyFault::Hidden),
    ] {
        match ObjectKey::new(bad) {
            Err(StorageError::BadKey { key, why }) => {
                assert_eq!((key.as_str(), why), (bad, fault));
            }
            other => panic!("{bad:?} should be refused, got {other:?}"),
        }
    }
}
