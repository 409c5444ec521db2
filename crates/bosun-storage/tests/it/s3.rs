//! The S3 store's presigned links, fetched over real HTTP from `s3s-fs`, which checks
//! their SigV4 signature and expiry as S3 does.

use std::time::Duration;

use bosun_storage::StorageError;
use chrono::{TimeDelta, Utc};

use super::*;

/// The status and body of a plain GET, as a machine downloading a package sees them.
async fn fetch(url: &Url) -> (u16, Vec<u8>) {
    let response = reqwest::get(url.as_str())
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("the body arrives");
    (status, body.to_vec())
}

/// `url` with the query value `name` changed by `change`.
fn with_query(url: &Url, name: &str, change: impl Fn(&str) -> String) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                change(&v)
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

/// A store on a fresh server with `acme/p/1.zip` and `acme/p/2.zip` in it.
async fn two_objects() -> (S3Server, S3Storage) {
    let server = S3Server::start();
    let s3 = s3_storage(&server);
    for (k, bytes) in [
        ("acme/p/1.zip", b"one".to_vec()),
        ("acme/p/2.zip", b"two".to_vec()),
    ] {
        s3.put(&key(k), Body::new(bytes)).await.expect("put");
    }
    (server, s3)
}

#[tokio::test]
async fn a_presigned_link_downloads_the_object_until_its_stated_expiry() {
    let server = S3Server::start();
    let store = PackageStorage::S3(s3_storage(&server));
    let k = key("acme/hello-bot/1.0.0.zip");
    let bytes = pattern(6 * MIB);
    store.put(&k, Body::new(bytes.clone())).await.expect("put");
    let before = Utc::now();
    let link = store
        .link(&k, Duration::from_secs(900), before)
        .await
        .expect("a link");
    let after = Utc::now();
    // SigV4 writes the signing time in whole seconds: the expiry is that plus the lifetime.
    let earliest = before - TimeDelta::seconds(1) + TimeDelta::seconds(900);
    assert!(
        earliest <= link.expires_at && link.expires_at <= after + TimeDelta::seconds(900),
        "{} not 900 s after signing",
        link.expires_at
    );
    assert!(
        link.url.as_str().starts_with(&format!(
            "{}/packages/acme/hello-bot/1.0.0.zip?",
            server.endpoint()
        )),
        "a path-style link: {}",
        link.url
    );
    let (status, body) = fetch(&link.url).await;
    assert_eq!(status, 200);
    assert!(body == bytes, "the link gives the object's bytes");
}

#[tokio::test]
async fn a_link_with_a_changed_signature_or_key_is_refused_by_the_server() {
    let (_server, s3) = two_objects().await;
    let link = s3
        .link(&key("acme/p/1.zip"), Duration::from_secs(600))
        .await
        .expect("a link");
    assert_eq!(
        fetch(&link.url).await,
        (200, b"one".to_vec()),
        "the link as issued works"
    );

    let signature = with_query(&link.url, "X-Amz-Signature", |sig| {
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        format!("{flipped}{}", &sig[1..])
    });
    assert_eq!(
        fetch(&signature).await.0,
        403,
        "one digit of the signature changed"
    );

    // Another object that exists, so a refusal is the signature's doing, not a 404.
    let mut other = link.url.clone();
    other.set_path("/packages/acme/p/2.zip");
    assert_eq!(fetch(&other).await.0, 403, "the key changed");

    let longer = with_query(&link.url, "X-Amz-Expires", |_| "604800".to_owned());
    assert_eq!(fetch(&longer).await.0, 403, "the lifetime changed");
}

#[tokio::test]
async fn an_expired_link_is_refused_by_the_server() {
    let (_server, s3) = two_objects().await;
    let link = s3
        .link(&key("acme/p/1.zip"), Duration::from_secs(1))
        .await
        .expect("a link");
    // The signer takes no clock of ours: wait out the second for real.
    let wait = (link.expires_at - Utc::now() + TimeDelta::milliseconds(500))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    assert_eq!(fetch(&link.url).await.0, 403);
}

/// A store with the wrong secret fails as misconfigured, not as a missing or taken
/// object. (s3s-fs makes a missing bucket's directory on a put, so a wrong bucket
/// cannot be shown here.)
#[tokio::test]
async fn a_wrong_secret_is_an_s3_error() {
    let server = S3Server::start();
    let s3 = S3Storage::new(S3Config {
        bucket: server.bucket().to_owned(),
        endpoint: Some(Url::parse(&server.endpoint()).expect("the server's URL")),
        region: server.region().to_owned(),
        access_key_id: server.access_key().to_owned(),
        secret_access_key: "not-the-secret".to_owned(),
        allow_http: true,
    })
    .expect("a configuration");
    for len in [1, 6 * MIB] {
        let put = s3.put(&key("a/b.zip"), Body::new(pattern(len))).await;
        assert!(
            matches!(put, Err(StorageError::S3 { .. })),
            "{len} bytes: {put:?}"
        );
    }
    let got = s3.get(&key("a/b.zip")).await;
    assert!(matches!(got, Err(StorageError::S3 { .. })), "{got:?}");
    assert!(files_under(&server.bucket_dir()).is_empty());
}
