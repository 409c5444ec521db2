//! The package routes over real HTTP on loopback, as users and agents call them, with
//! the bytes on disk and in a real S3 server (s3s-fs, which checks every signature):
//! what is stored is what downloads, a version is written once, refused uploads leave
//! nothing behind, links cannot be altered or outlive their expiry, and tenants and
//! permissions keep packages apart.

mod archive;
mod fixture;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use archive::Archive;
use fixture::{Fixture, PACKAGES, Storage, assert_error, everywhere, form, sha256};

const MIB: usize = 1024 * 1024;

/// The id of the package an upload answered with.
fn id_of(package: &Value) -> String {
    package["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a package has an id: {package}"))
        .to_owned()
}

/// The versions of a package, as written.
fn versions_of(package: &Value) -> Vec<&str> {
    package["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("a package lists its versions: {package}"))
        .iter()
        .map(|v| v["version"].as_str().expect("a version is text"))
        .collect()
}

/// The download link of `id`'s `version`, asked for with the admin token.
async fn link(f: &Fixture, id: &str, version: &str) -> Value {
    let path = format!("{PACKAGES}/{id}/versions/{version}/download");
    let (status, link) = f.get(&path, &f.token).await;
    assert_eq!(status, 200, "{:?}: {link}", f.storage);
    link
}

/// The bytes behind `id`'s `version`, through a fresh download link.
async fn downloaded(f: &Fixture, id: &str, version: &str) -> Vec<u8> {
    let link = link(f, id, version).await;
    let (status, bytes) = f.fetch(link["downloadUrl"].as_str().expect("a link")).await;
    assert_eq!(
        status,
        200,
        "{:?}: {}",
        f.storage,
        String::from_utf8_lossy(&bytes)
    );
    bytes
}

/// An agent's request for a download link: no token, the machine key in the query
/// (`Query`), the header (`Header`) or nowhere (`None`).
enum Key<'a> {
    Query(&'a str),
    Header(&'a str),
    None,
}

async fn agent_download(f: &Fixture, tenant: &str, id: &str, key: Key<'_>) -> (u16, Value) {
    let path = format!("/{tenant}/api/packages/{id}/versions/1.0.0/agent-download");
    let request = f.http.get(f.url(&path));
    let request = match key {
        Key::Query(key) => request.query(&[("machineKey", key)]),
        Key::Header(key) => request.header("X-MachineKey", key),
        Key::None => request,
    };
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_upload_is_listed_downloads_byte_for_byte_and_agents_get_it_with_their_key() {
    for (engine, storage) in everywhere() {
        eprintln!("{engine:?}, {storage:?}");
        let f = Fixture::start_on(engine, storage, |_| {}).await;
        let zip = archive::bot("hello");
        let (status, package) = f
            .upload(&zip, "hello-bot.zip", &[("description", "says hello")])
            .await;
        assert_eq!(status, 201, "{storage:?}: {package}");
        assert_eq!(package["name"], "hello-bot", "the file's name names it");
        assert_eq!(package["description"], "says hello");
        assert_eq!(versions_of(&package), ["1.0.0"], "the default version");
        let version = &package["versions"][0];
        assert_eq!(version["size"], zip.len());
        assert_eq!(version["sha256"], sha256(&zip));
        assert_eq!(f.objects().len(), 1, "{storage:?}: {:?}", f.objects());
        let id = id_of(&package);

        let (status, list) = f.get(PACKAGES, &f.token).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"], json!([package]));
        for by in [id.as_str(), "hello-bot"] {
            let (status, got) = f.get(&format!("{PACKAGES}/{by}"), &f.token).await;
            assert_eq!((status, &got), (200, &package), "by {by}");
        }

        let before = Utc::now();
        let link = link(&f, &id, "1.0.0").await;
        let after = Utc::now();
        assert_eq!(link["sha256"], sha256(&zip));
        let expires: DateTime<Utc> =
            serde_json::from_value(link["expiresAt"].clone()).expect("expiresAt is a time");
        // Made between `before` and `after`, for 15 minutes, in whole seconds.
        let lifetime = chrono::TimeDelta::minutes(15);
        let second = chrono::TimeDelta::seconds(1);
        assert!(
            expires > before + lifetime - second && expires <= after + lifetime,
            "{storage:?}: the link lives the default 15 minutes: asked at {before}, answered \
             by {after}, expires at {expires}"
        );
        let (status, bytes) = f.fetch(link["downloadUrl"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{storage:?}");
        assert!(bytes == zip, "{storage:?}: the link gives other bytes");

        // Metadata from bot.json, when the form gives none; the form's wins.
        let json = r#"{"name": "scraper", "version": "2.1.0", "description": "scrapes"}"#;
        let (status, scraper) = f.upload(&archive::bot_with_json(json), "x.zip", &[]).await;
        assert_eq!(status, 201, "{scraper}");
        assert_eq!(
            (&scraper["name"], &scraper["description"]),
            (&json!("scraper"), &json!("scrapes"))
        );
        assert_eq!(versions_of(&scraper), ["2.1.0"]);
        let fields = [("name", "renamed"), ("version", "3.0.0")];
        let (status, renamed) = f
            .upload(&archive::bot_with_json(json), "x.zip", &fields)
            .await;
        assert_eq!(status, 201, "{renamed}");
        assert_eq!(renamed["name"], "renamed");
        assert_eq!(versions_of(&renamed), ["3.0.0"]);

        // Agents: their machine key, in the query or a header, and no token.
        let key = f.machine_key("default").await;
        for how in [Key::Query(&key), Key::Header(&key)] {
            let (status, got) = agent_download(&f, "default", &id, how).await;
            assert_eq!(status, 200, "{storage:?}: {got}");
            assert_eq!(
                (&got["packageId"], &got["version"], &got["sha256"]),
                (&json!(id), &json!("1.0.0"), &json!(sha256(&zip)))
            );
            assert!(got["expiresAt"].is_string(), "{got}");
            let (status, bytes) = f.fetch(got["downloadUrl"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{storage:?}");
            assert!(
                bytes == zip,
                "{storage:?}: the agent's link gives other bytes"
            );
        }
        let mut wrong = key.clone();
        let last = wrong.pop().expect("a key is not empty");
        wrong.push(if last == 'a' { 'b' } else { 'a' });
        let other_tenants = {
            f.tenant("beta").await;
            f.machine_key("beta").await
        };
        for (what, how) in [
            ("no key", Key::None),
            ("an empty key", Key::Query("")),
            ("a wrong key", Key::Query(&wrong)),
            ("a wrong key in the header", Key::Header(&wrong)),
            ("another tenant's agent's key", Key::Query(&other_tenants)),
        ] {
            let answer = agent_download(&f, "default", &id, how).await;
            assert_error(&answer, 401, what);
        }
        // The key is the agent's, not a token: it opens no other route.
        let (status, _) = f.get(PACKAGES, &key).await;
        assert_eq!(status, 401, "a machine key used as a token");

        if storage == Storage::S3 {
            // Past one part of a multipart upload (5 MiB): staged, copied, unstaged.
            let big = archive::large_bot(6 * MIB);
            let (status, package) = f.upload(&big, "big-bot.zip", &[]).await;
            assert_eq!(status, 201, "{package}");
            assert_eq!(package["versions"][0]["sha256"], sha256(&big));
            assert!(downloaded(&f, &id_of(&package), "1.0.0").await == big);
            let objects = f.objects();
            assert_eq!(objects.len(), 4, "no staging object is left: {objects:?}");
        }
        assert!(f.spooled().is_empty(), "{:?}", f.spooled());
        f.stop().await;
    }
}

#[tokio::test]
async fn a_version_is_written_once_and_deleting_it_removes_its_bytes() {
    for (engine, storage) in everywhere() {
        eprintln!("{engine:?}, {storage:?}");
        let f = Fixture::start_on(engine, storage, |_| {}).await;
        let (one, two, three) = (archive::bot("one"), archive::bot("two"), archive::bot("3"));
        let (status, package) = f.upload(&one, "hello-bot.zip", &[]).await;
        assert_eq!(status, 201, "{package}");
        let id = id_of(&package);
        let stored = f.objects();
        assert_eq!(stored.len(), 1, "{storage:?}: {stored:?}");

        // The same name and version again, by either route: refused, nothing stored.
        let versions = format!("{PACKAGES}/{id}/versions");
        let again = f
            .upload(&two, "hello-bot.zip", &[("version", "1.0.0")])
            .await;
        assert_error(&again, 409, "the same version by upload");
        let again = f
            .post_form(
                &versions,
                form(&two, "b.zip", &[("version", "1.0.0")]),
                &f.token,
            )
            .await;
        assert_error(&again, 409, "the same version by versions");
        let again = f
            .post_form(&versions, form(&two, "b.zip", &[]), &f.token)
            .await;
        assert_error(&again, 409, "the default version, which exists");
        assert_eq!(
            f.objects(),
            stored,
            "{storage:?}: a refused version left bytes"
        );
        assert!(
            downloaded(&f, &id, "1.0.0").await == one,
            "{storage:?}: the first version's bytes changed"
        );

        // New versions, by either route, each its own object.
        let (status, added) = f
            .post_form(
                &versions,
                form(&two, "b.zip", &[("version", "1.1.0")]),
                &f.token,
            )
            .await;
        assert_eq!(status, 201, "{added}");
        assert_eq!(id_of(&added), id);
        assert_eq!(versions_of(&added), ["1.0.0", "1.1.0"]);
        let (status, added) = f
            .upload(&three, "hello-bot.zip", &[("version", "1.2.0")])
            .await;
        assert_eq!(status, 201, "{added}");
        assert_eq!(id_of(&added), id, "an existing name gets a new version");
        assert_eq!(versions_of(&added), ["1.0.0", "1.1.0", "1.2.0"]);
        assert_eq!(f.objects().len(), 3, "{storage:?}: {:?}", f.objects());
        assert!(downloaded(&f, &id, "1.1.0").await == two);
        assert!(downloaded(&f, &id, "1.2.0").await == three);
        let missing = f
            .post_form(
                &format!("{PACKAGES}/nope/versions"),
                form(&two, "b.zip", &[]),
                &f.token,
            )
            .await;
        assert_error(&missing, 404, "a version of no package");

        // Deleting a version: its bytes go (its old link finds nothing), the rest stay.
        let old_link = link(&f, &id, "1.1.0").await;
        let before = f.objects();
        let (status, body) = f.delete(&format!("{versions}/1.1.0"), &f.token).await;
        assert_eq!(status, 204, "{body}");
        let after = f.objects();
        assert_eq!(after.len(), 2, "{storage:?}: {after:?}");
        assert!(
            after.iter().all(|o| before.contains(o)),
            "{before:?} → {after:?}"
        );
        let (status, _) = f.fetch(old_link["downloadUrl"].as_str().unwrap()).await;
        assert_eq!(
            status, 404,
            "{storage:?}: a deleted version still downloads"
        );
        let gone = f.get(&format!("{versions}/1.1.0/download"), &f.token).await;
        assert_error(&gone, 404, "a deleted version's link");
        let gone = f.delete(&format!("{versions}/1.1.0"), &f.token).await;
        assert_error(&gone, 404, "a deleted version deleted again");
        let (_, package) = f.get(&format!("{PACKAGES}/{id}"), &f.token).await;
        assert_eq!(versions_of(&package), ["1.0.0", "1.2.0"]);
        assert!(downloaded(&f, &id, "1.0.0").await == one);

        // Deleting the package: every version's bytes go.
        let (status, body) = f.delete(&format!("{PACKAGES}/{id}"), &f.token).await;
        assert_eq!(status, 204, "{body}");
        assert!(f.objects().is_empty(), "{storage:?}: {:?}", f.objects());
        assert_error(
            &f.get(&format!("{PACKAGES}/{id}"), &f.token).await,
            404,
            "get",
        );
        assert_error(
            &f.get(&format!("{versions}/1.0.0/download"), &f.token).await,
            404,
            "a deleted package's link",
        );
        assert_error(
            &f.delete(&format!("{PACKAGES}/{id}"), &f.token).await,
            404,
            "delete",
        );
        let (_, list) = f.get(PACKAGES, &f.token).await;
        assert_eq!(list["items"], json!([]));
        f.stop().await;
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_reason_and_leave_nothing_behind() {
    for storage in Storage::ALL {
        let f = Fixture::start_with(storage, |packages| {
            packages.upload_limit = 64 * 1024;
            packages.limits = bosun_package::Limits {
                max_entries: 8,
                max_unpacked: 32 * 1024,
            };
        })
        .await;
        let (status, package) = f.upload(&archive::bot("ok"), "hello-bot.zip", &[]).await;
        assert_eq!(status, 201, "{package}");
        let id = id_of(&package);
        let stored = f.objects();

        let bot = archive::bot("again");
        let long = "1".repeat(65);
        let many = (0..8).fold(Archive::new().file("bot.py", b""), |zip, i| {
            zip.file(&format!("f{i}.txt"), b"x")
        });
        let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
            ("not a ZIP", b"just some text".to_vec(), "2.0.0", 400),
            ("an empty file", Vec::new(), "2.0.0", 400),
            (
                "a ZIP with no bot",
                Archive::new().file("readme.txt", b"hi").build(),
                "2.0.0",
                400,
            ),
            ("a `..` entry", archive::bot_beside("../evil"), "2.0.0", 400),
            (
                "an absolute entry",
                archive::bot_beside("/etc/evil"),
                "2.0.0",
                400,
            ),
            (
                "a symbolic link",
                Archive::new()
                    .file("bot.py", b"")
                    .symlink("passwd", "/etc/passwd")
                    .build(),
                "2.0.0",
                400,
            ),
            ("too many entries", many.build(), "2.0.0", 413),
            (
                "past the unpacked cap",
                Archive::new()
                    .file("bot.py", b"")
                    .file("zeros", &[0; 33 * 1024])
                    .build(),
                "2.0.0",
                413,
            ),
            (
                "over the upload limit",
                archive::large_bot(100 * 1024),
                "2.0.0",
                413,
            ),
            ("an empty version", bot.clone(), "", 400),
            ("a blank version", bot.clone(), "  ", 400),
            ("a version too long", bot.clone(), &long, 400),
            ("a version with `/`", bot.clone(), "1/0", 400),
            ("a version `..`", bot.clone(), "..", 400),
        ];
        let routes = [
            format!("{PACKAGES}/upload"),
            format!("{PACKAGES}/{id}/versions"),
        ];
        for route in &routes {
            for (what, zip, version, expected) in &cases {
                let fields = [("version", *version)];
                let answer = f
                    .post_form(route, form(zip, "hello-bot.zip", &fields), &f.token)
                    .await;
                assert_error(&answer, *expected, &format!("{storage:?} {route}: {what}"));
            }
            let no_file = reqwest::multipart::Form::new().text("version", "2.0.0");
            let answer = f.post_form(route, no_file, &f.token).await;
            assert_error(
                &answer,
                400,
                &format!("{storage:?} {route}: no `file` field"),
            );
            let not_a_form = f.http.post(f.url(route)).json(&json!({"file": "x"}));
            let answer = f.send(not_a_form, &f.token).await;
            assert_error(&answer, 400, &format!("{storage:?} {route}: not a form"));
        }
        let bad_name = f
            .upload(
                &bot,
                "hello-bot.zip",
                &[("name", "a/b"), ("version", "2.0.0")],
            )
            .await;
        assert_error(&bad_name, 400, "a name with `/`");
        let empty_name = f
            .upload(&bot, "hello-bot.zip", &[("name", ""), ("version", "2.0.0")])
            .await;
        assert_error(&empty_name, 400, "an empty name");
        for (what, version) in [("a `:`", "1:0"), ("an escaped `/`", "1%2F0")] {
            let path = format!("{PACKAGES}/{id}/versions/{version}/download");
            assert_error(&f.get(&path, &f.token).await, 400, what);
        }

        assert_eq!(
            f.objects(),
            stored,
            "{storage:?}: a refused upload left bytes"
        );
        assert!(f.spooled().is_empty(), "{storage:?}: {:?}", f.spooled());
        let (_, list) = f.get(PACKAGES, &f.token).await;
        assert_eq!(list["items"], json!([package]), "{storage:?}");
        f.stop().await;
    }
}

/// `link` with the query parameter `name`'s value changed by `change`.
fn with_query(link: &str, name: &str, change: impl Fn(&str) -> String) -> String {
    let mut url = reqwest::Url::parse(link).expect("a link is a URL");
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
    assert!(pairs.iter().any(|(k, _)| k == name), "{link} has no {name}");
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

/// `text` (ASCII) with its character at `at` changed to another.
fn other_char(text: &str, at: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// Asserts that fetching `link` is refused as altered (`expired` false) or as
/// expired, by bosun (disk) or by the S3 server.
async fn assert_refused(f: &Fixture, link: &str, expired: bool, what: &str) {
    let response = f.http.get(link).send().await.expect("a response");
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    assert_eq!(status, 403, "{:?}: {what}: {body}", f.storage);
    let expected = match (f.storage, expired) {
        (Storage::Disk, false) => "use the download link exactly as it was given",
        (Storage::Disk, true) => "ask for a new download link",
        (Storage::S3, false) => "<Code>SignatureDoesNotMatch</Code>",
        (Storage::S3, true) => "Request has expired",
    };
    assert!(body.contains(expected), "{:?}: {what}: {body}", f.storage);
}

#[tokio::test]
async fn altered_or_expired_links_are_refused() {
    for storage in Storage::ALL {
        let f = Fixture::start(storage).await;
        let zip = archive::bot("hello");
        let (status, package) = f.upload(&zip, "hello-bot.zip", &[]).await;
        assert_eq!(status, 201, "{package}");
        let given = link(&f, &id_of(&package), "1.0.0").await;
        let url = given["downloadUrl"].as_str().unwrap();
        let (signature, expires) = match storage {
            Storage::Disk => ("signature", "expires"),
            Storage::S3 => ("X-Amz-Signature", "X-Amz-Expires"),
        };
        let path_end = url.find(".zip").expect("a link names a .zip") - 1;
        let altered = [
            (
                "a signature",
                with_query(url, signature, |s| other_char(s, 0)),
            ),
            (
                "an expiry",
                with_query(url, expires, |e| {
                    format!("{}", e.parse::<u64>().unwrap() + 60)
                }),
            ),
            ("a path", other_char(url, path_end)),
        ];
        for (what, altered) in &altered {
            assert_ne!(altered, url);
            assert_refused(&f, altered, false, &format!("altered {what}")).await;
        }
        let (status, bytes) = f.fetch(url).await;
        assert_eq!(status, 200, "{storage:?}: the link as given works");
        assert!(bytes == zip);
        f.stop().await;

        let f = Fixture::start_with(storage, |packages| {
            packages.link_lifetime = Duration::from_secs(1);
        })
        .await;
        let (status, package) = f.upload(&zip, "hello-bot.zip", &[]).await;
        assert_eq!(status, 201, "{package}");
        let link = link(&f, &id_of(&package), "1.0.0").await;
        let expires: DateTime<Utc> =
            serde_json::from_value(link["expiresAt"].clone()).expect("expiresAt is a time");
        // The link's own expiry, as the answer gives it, and a little more: a link
        // outliving it is refused however the clocks' seconds fall.
        let wait =
            (expires - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1100);
        tokio::time::sleep(wait).await;
        assert_refused(&f, link["downloadUrl"].as_str().unwrap(), true, "expired").await;
        f.stop().await;
    }
}

#[tokio::test]
async fn another_tenants_token_finds_no_package_and_a_viewer_cannot_change_any() {
    let f = Fixture::start(Storage::Disk).await;
    let zip = archive::bot("hello");
    let (status, package) = f.upload(&zip, "hello-bot.zip", &[]).await;
    assert_eq!(status, 201, "{package}");
    let id = id_of(&package);
    let stored = f.objects();

    let beta = f.tenant("beta").await;
    let theirs = |path: &str| format!("{PACKAGES}{path}");
    for path in [
        theirs(""),
        theirs(&format!("/{id}")),
        theirs("/hello-bot"),
        theirs(&format!("/{id}/versions/1.0.0/download")),
    ] {
        assert_error(&f.get(&path, &beta).await, 404, &format!("beta GET {path}"));
    }
    for path in [
        theirs(&format!("/{id}")),
        theirs(&format!("/{id}/versions/1.0.0")),
    ] {
        assert_error(
            &f.delete(&path, &beta).await,
            404,
            &format!("beta DELETE {path}"),
        );
    }
    for path in [theirs("/upload"), theirs(&format!("/{id}/versions"))] {
        let fields = [("version", "9.0.0")];
        let answer = f
            .post_form(&path, form(&zip, "hello-bot.zip", &fields), &beta)
            .await;
        assert_error(&answer, 404, &format!("beta POST {path}"));
    }
    // In its own tenant, beta has no packages, and A's id or name finds nothing.
    let (status, list) = f.get("/beta/api/packages", &beta).await;
    assert_eq!((status, &list["items"]), (200, &json!([])), "{list}");
    for path in [
        format!("/beta/api/packages/{id}"),
        "/beta/api/packages/hello-bot".to_owned(),
        format!("/beta/api/packages/{id}/versions/1.0.0/download"),
    ] {
        assert_error(&f.get(&path, &beta).await, 404, &path);
    }
    let beta_key = f.machine_key("beta").await;
    let answer = agent_download(&f, "beta", &id, Key::Query(&beta_key)).await;
    assert_error(&answer, 404, "beta's agent asking for A's package in beta");

    // A token that may only look.
    let viewer = f.token_with(&["packages:view"]).await;
    let (status, list) = f.get(PACKAGES, &viewer).await;
    assert_eq!((status, &list["items"]), (200, &json!([package])), "{list}");
    let fields = [("version", "2.0.0")];
    for path in [theirs("/upload"), theirs(&format!("/{id}/versions"))] {
        let answer = f
            .post_form(&path, form(&zip, "hello-bot.zip", &fields), &viewer)
            .await;
        assert_error(&answer, 403, &format!("viewer POST {path}"));
    }
    for path in [
        theirs(&format!("/{id}")),
        theirs(&format!("/{id}/versions/1.0.0")),
    ] {
        assert_error(
            &f.delete(&path, &viewer).await,
            403,
            &format!("viewer DELETE {path}"),
        );
    }
    let (_, after) = f.get(&format!("{PACKAGES}/{id}"), &f.token).await;
    assert_eq!(after, package, "nothing changed");
    assert_eq!(f.objects(), stored);
    assert!(f.spooled().is_empty(), "{:?}", f.spooled());
    f.stop().await;
}

/// Asserts that of `answers` to uploads of `zips`, one stored its archive and every
/// other was refused as a taken version; the stored archive's bytes are what
/// `version` of `id` downloads, and the storage holds `objects` objects.
async fn assert_one_won(
    f: &Fixture,
    zips: &[Vec<u8>],
    answers: &[(u16, Value)],
    version: &str,
    objects: usize,
) -> String {
    let won: Vec<usize> = (0..answers.len())
        .filter(|&i| answers[i].0 == 201)
        .collect();
    assert_eq!(won.len(), 1, "{:?}: {answers:?}", f.storage);
    for (i, answer) in answers.iter().enumerate() {
        if i != won[0] {
            assert_error(answer, 409, "a racing upload that lost");
        }
    }
    let package = &answers[won[0]].1;
    let id = id_of(package);
    assert!(
        downloaded(f, &id, version).await == zips[won[0]],
        "{:?}: the winner's bytes are not what downloads",
        f.storage
    );
    assert_eq!(
        f.objects().len(),
        objects,
        "{:?}: {:?}",
        f.storage,
        f.objects()
    );
    id
}

#[tokio::test]
async fn of_uploads_racing_for_one_version_one_is_stored_and_the_rest_leave_nothing() {
    for (engine, storage) in everywhere() {
        eprintln!("{engine:?}, {storage:?}");
        let f = Fixture::start_on(engine, storage, |_| {}).await;
        let zips: Vec<Vec<u8>> = (0..4)
            .map(|i| archive::bot(&format!("racer {i}")))
            .collect();
        let uploads = zips.iter().map(|zip| f.upload(zip, "racer.zip", &[]));
        let answers = futures_util::future::join_all(uploads).await;
        let id = assert_one_won(&f, &zips, &answers, "1.0.0", 1).await;

        let versions = format!("{PACKAGES}/{id}/versions");
        let adds = zips.iter().map(|zip| {
            let form = form(zip, "racer.zip", &[("version", "2.0.0")]);
            f.post_form(&versions, form, &f.token)
        });
        let answers = futures_util::future::join_all(adds).await;
        assert_one_won(&f, &zips, &answers, "2.0.0", 2).await;
        assert!(f.spooled().is_empty(), "{:?}", f.spooled());
        f.stop().await;
    }
}
