//! The package cache against a loopback server that serves `agent-download` links and
//! the archive, and misbehaves the way networks do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bosun_agent::config::{MachineKey, ServerUrl};
use bosun_agent::download::{DownloadError, Packages, Retry};
use bosun_agent::ids::PackageId;
use bosun_package::sha256_hex;
use futures_util::StreamExt;

pub(crate) const PACKAGE_ID: &str = "0190a7e2-7d1c-7aa0-8000-0123456789ab";
pub(crate) const KEY: &str = "the-machine-key";

#[derive(Clone)]
pub(crate) struct Served {
    zip: Arc<Vec<u8>>,
    /// The checksum the link answer gives.
    sha256: String,
    /// Cut the first download after half of the body.
    drop_first: bool,
    /// The Range header of each download request (None when absent).
    pub(crate) ranges: Arc<Mutex<Vec<Option<String>>>>,
    links: Arc<Mutex<u32>>,
}

pub(crate) async fn link(
    State(served): State<Served>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if query.get("machineKey").map(String::as_str) != Some(KEY) {
        return (StatusCode::UNAUTHORIZED, "Invalid machine key").into_response();
    }
    *served.links.lock().unwrap() += 1;
    axum::Json(serde_json::json!({
        "downloadUrl": "/packages/blob/pkg.zip?sig=abc",
        "packageId": PACKAGE_ID,
        "version": "1.0.0",
        "expiresAt": "2099-01-01T00:00:00Z",
        "sha256": served.sha256,
    }))
    .into_response()
}

pub(crate) async fn blob(State(served): State<Served>, headers: HeaderMap) -> Response {
    let range = headers
        .get(header::RANGE)
        .map(|v| v.to_str().unwrap().to_owned());
    let first = {
        let mut ranges = served.ranges.lock().unwrap();
        ranges.push(range.clone());
        ranges.len() == 1
    };
    let zip = served.zip.clone();
    let total = zip.len();
    if let Some(range) = range {
        let start: usize = range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .unwrap()
            .parse()
            .unwrap();
        return Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_LENGTH, total - start)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{total}", total - 1),
            )
            .body(Body::from(zip[start..].to_vec()))
            .unwrap();
    }
    if served.drop_first && first {
        // The promised length, half of it, then the connection fails.
        let half = zip[..total / 2].to_vec();
        // The error comes a moment later, so the first half is on the wire.
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(half)]).chain(
            futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(std::io::Error::other("the network went away"))
            }),
        );
        return Response::builder()
            .header(header::CONTENT_LENGTH, total)
            .body(Body::from_stream(stream))
            .unwrap();
    }
    Response::builder()
        .header(header::CONTENT_LENGTH, total)
        .body(Body::from(zip.to_vec()))
        .unwrap()
}

/// Serves `served` on loopback; the server's base URL is `http://ADDR/acme`.
async fn serve(served: Served) -> (ServerUrl, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route(
            "/acme/api/packages/{id}/versions/{version}/agent-download",
            get(link),
        )
        .route("/packages/blob/pkg.zip", get(blob))
        .with_state(served);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (
        ServerUrl::parse(&format!("http://{addr}/acme")).unwrap(),
        task,
    )
}

pub(crate) fn served(zip: Vec<u8>, drop_first: bool) -> Served {
    Served {
        sha256: sha256_hex(&zip),
        zip: Arc::new(zip),
        drop_first,
        ranges: Arc::default(),
        links: Arc::default(),
    }
}

fn quick() -> Retry {
    Retry {
        attempts: 4,
        first: Duration::from_millis(50),
        cap: Duration::from_millis(200),
    }
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_dropped_download_resumes_with_a_range_and_the_version_is_fetched_once() {
    let zip = super::support::package("print('hi')\n");
    let served = served(zip.clone(), true);
    let (server, task) = serve(served.clone()).await;
    let home = tempfile::tempdir().unwrap();
    let packages = Packages::new(home.path(), reqwest::Client::new()).with_retry(quick());
    let id = PackageId::parse(PACKAGE_ID).unwrap();
    let version = "1.0.0".parse().unwrap();
    let key = MachineKey::new(KEY);

    let dir = packages.ready(&server, &key, &id, &version).await.unwrap();
    let sha = sha256_hex(&zip);
    assert_eq!(
        dir,
        home.path()
            .join("packages")
            .join(PACKAGE_ID)
            .join(format!("1.0.0-{}", &sha[..16]))
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("bot.py")).unwrap(),
        "print('hi')\n"
    );
    let ranges = served.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    let resumed_at: usize = ranges[1]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .expect("the second request asks for the rest")
        .parse()
        .unwrap();
    assert!(
        resumed_at > 0 && resumed_at < zip.len(),
        "resumed at {resumed_at} of {}",
        zip.len()
    );
    assert_eq!(
        entries(&home.path().join("packages").join(PACKAGE_ID)),
        [format!("1.0.0-{}", &sha[..16])],
        "no partial file left"
    );

    // Asked again: the link is asked for, the archive is not fetched again.
    let again = packages.ready(&server, &key, &id, &version).await.unwrap();
    assert_eq!(again, dir);
    assert_eq!(served.ranges.lock().unwrap().len(), 2);
    task.abort();
}

#[tokio::test]
async fn a_wrong_checksum_is_refused_and_nothing_is_left_in_the_cache() {
    let zip = super::support::package("print('hi')\n");
    let mut served = served(zip, false);
    served.sha256 = sha256_hex(b"other bytes");
    let (server, task) = serve(served.clone()).await;
    let home = tempfile::tempdir().unwrap();
    let packages = Packages::new(home.path(), reqwest::Client::new()).with_retry(quick());
    let id = PackageId::parse(PACKAGE_ID).unwrap();
    let error = packages
        .ready(
            &server,
            &MachineKey::new(KEY),
            &id,
            &"1.0.0".parse().unwrap(),
        )
        .await
        .unwrap_err();
    let DownloadError::Checksum { expected, found } = &error else {
        panic!("a checksum error: {error:?}");
    };
    assert_eq!(expected, &served.sha256);
    assert_ne!(found, expected);
    assert_eq!(
        entries(&home.path().join("packages").join(PACKAGE_ID)),
        Vec::<String>::new(),
        "no folder and no partial download"
    );
    task.abort();
}

#[tokio::test]
async fn a_refused_key_is_an_error_that_does_not_show_the_key() {
    let served = served(super::support::package("print('hi')\n"), false);
    let (server, task) = serve(served.clone()).await;
    let home = tempfile::tempdir().unwrap();
    let packages = Packages::new(home.path(), reqwest::Client::new()).with_retry(quick());
    let error = packages
        .ready(
            &server,
            &MachineKey::new("wrong-secret"),
            &PackageId::parse(PACKAGE_ID).unwrap(),
            &"1.0.0".parse().unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, DownloadError::Refused { status: 401, .. }),
        "{error:?}"
    );
    let shown = bosun_core::error::chain(&error).to_string();
    assert!(!shown.contains("wrong-secret"), "{shown}");
    assert!(served.ranges.lock().unwrap().is_empty());
    task.abort();
}
