//! What holds for either store, run on both: streamed puts that report what they
//! stored, objects that are never replaced, even by a put that loses a race halfway,
//! and broken uploads that leave nothing behind.

use bosun_storage::StorageError;
use tokio::io::AsyncWriteExt;

use super::*;

/// Both stores, fresh.
async fn fixtures() -> Vec<(&'static str, Fixture)> {
    vec![("disk", disk_fixture().await), ("s3", s3_fixture())]
}

#[tokio::test]
async fn a_multi_mib_object_streams_in_and_reads_back_whole() {
    // Over two S3 parts and a bit, so the last part is a short one.
    let bytes = pattern(12 * MIB + 123);
    for (name, f) in fixtures().await {
        let k = key("acme/hello-bot/1.0.0.zip");
        let stored = f
            .store
            .put(&k, Body::new(bytes.clone()))
            .await
            .unwrap_or_else(|e| panic!("{name}: put failed: {e:?}"));
        assert_eq!(stored.size, bytes.len() as u64, "{name}");
        assert_eq!(stored.sha256.to_hex(), sha256_hex(&bytes), "{name}");
        assert!(f.store.exists(&k).await.expect("exists answers"), "{name}");
        let back = read_all(f.store.get(&k).await.expect("the object is there")).await;
        assert!(back == bytes, "{name}: the bytes read back differ");
    }
}

#[tokio::test]
async fn small_and_empty_objects_are_stored_too() {
    for (name, f) in fixtures().await {
        for (k, bytes) in [
            ("a/small.zip", b"PK\x05\x06".to_vec()),
            ("a/empty.zip", Vec::new()),
        ] {
            let k = key(k);
            let stored = f
                .store
                .put(&k, Body::new(bytes.clone()))
                .await
                .unwrap_or_else(|e| panic!("{name}: put failed: {e:?}"));
            assert_eq!(stored.size, bytes.len() as u64, "{name}");
            assert_eq!(stored.sha256.to_hex(), sha256_hex(&bytes), "{name}");
            assert_eq!(
                read_all(f.store.get(&k).await.expect("stored")).await,
                bytes,
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn a_second_put_of_a_key_is_refused_and_the_first_object_stays() {
    for (name, f) in fixtures().await {
        for (k, first, second) in [
            ("acme/p/small.zip", b"first".to_vec(), b"second".to_vec()),
            ("acme/p/large.zip", pattern(6 * MIB), vec![7; 6 * MIB]),
        ] {
            let k = key(k);
            f.store
                .put(&k, Body::new(first.clone()))
                .await
                .expect("the first put");
            let again = f.store.put(&k, Body::new(second)).await;
            assert!(
                matches!(&again, Err(StorageError::Exists { key }) if *key == k),
                "{name}: {again:?}"
            );
            let back = read_all(f.store.get(&k).await.expect("stored")).await;
            assert!(back == first, "{name}: the first object was replaced");
        }
    }
}

/// A large put checks that its key is free before it streams; another put that takes
/// the key meanwhile still wins, and the slow one is refused at the end (on disk by the
/// link that will not replace a file, on S3 by the conditional copy).
#[tokio::test]
async fn a_put_that_loses_the_key_while_streaming_is_refused() {
    for (name, f) in fixtures().await {
        let k = key("acme/race/1.0.0.zip");
        let (mut tx, rx) = tokio::io::duplex(64 * 1024);
        let slow = f.store.put(&k, rx);
        let race = async {
            // More than the first S3 part (5 MiB) and the pipe's 64 KiB: once written,
            // the slow put has read past its check that the key is free.
            tx.write_all(&pattern(6 * MIB))
                .await
                .expect("the pipe takes it");
            f.store
                .put(&k, Body::new(b"winner".to_vec()))
                .await
                .unwrap_or_else(|e| panic!("{name}: the quick put failed: {e:?}"));
            tx.write_all(&pattern(MIB))
                .await
                .expect("the pipe takes it");
            tx.shutdown().await.expect("the pipe closes");
        };
        let (slow, ()) = tokio::join!(slow, race);
        assert!(
            matches!(slow, Err(StorageError::Exists { .. })),
            "{name}: {slow:?}"
        );
        let back = read_all(f.store.get(&k).await.expect("stored")).await;
        assert_eq!(back, b"winner", "{name}: the winner's object was replaced");
        if let Some(server) = &f.server {
            assert_eq!(
                files_under(&server.bucket_dir()),
                ["acme/race/1.0.0.zip"],
                "the staging object is removed"
            );
        }
    }
}

#[tokio::test]
async fn a_put_whose_upload_breaks_off_leaves_nothing() {
    for (name, f) in fixtures().await {
        for (k, len) in [("a/short.zip", 1000), ("a/long.zip", 7 * MIB)] {
            let k = key(k);
            let put = f.store.put(&k, Body::breaking_off(pattern(len))).await;
            assert!(
                matches!(put, Err(StorageError::Body { .. })),
                "{name}: {put:?}"
            );
            assert!(!f.store.exists(&k).await.expect("exists answers"), "{name}");
        }
        let left = match (&f.server, &f.store) {
            (Some(server), _) => files_under(&server.bucket_dir()),
            (None, PackageStorage::Disk(disk)) => files_under(disk.dir()),
            (None, PackageStorage::S3(_)) => unreachable!("an S3 fixture has a server"),
        };
        let left: Vec<_> = left.into_iter().filter(|f| f != ".link-secret").collect();
        assert!(left.is_empty(), "{name}: left behind {left:?}");
    }
}

#[tokio::test]
async fn missing_objects_are_not_found_and_deleting_them_is_no_error() {
    for (name, f) in fixtures().await {
        let k = key("acme/none/1.zip");
        assert!(!f.store.exists(&k).await.expect("exists answers"), "{name}");
        let got = f.store.get(&k).await;
        assert!(
            matches!(&got, Err(StorageError::NotFound { key }) if *key == k),
            "{name}: {got:?}"
        );
        f.store.delete(&k).await.expect("deleting nothing is fine");
    }
}

#[tokio::test]
async fn a_deleted_object_is_gone_and_its_key_free_again() {
    for (name, f) in fixtures().await {
        let k = key("acme/p/1.zip");
        f.store
            .put(&k, Body::new(b"one".to_vec()))
            .await
            .expect("put");
        f.store.delete(&k).await.expect("delete");
        assert!(!f.store.exists(&k).await.expect("exists answers"), "{name}");
        assert!(
            matches!(f.store.get(&k).await, Err(StorageError::NotFound { .. })),
            "{name}"
        );
        f.store
            .put(&k, Body::new(b"two".to_vec()))
            .await
            .expect("the key is free again");
        assert_eq!(
            read_all(f.store.get(&k).await.expect("stored")).await,
            b"two",
            "{name}"
        );
    }
}
