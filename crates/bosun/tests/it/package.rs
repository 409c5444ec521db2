//! `bosun package push|ls|rm` against a real `bosun up`, its packages on disk or in a
//! real S3 server (`s3s-fs`), and what a downloaded version holds.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use bosun_core::wire::{Package, PackageLink, Page};
use bosun_test_utils::s3_server::S3Server;

use crate::support::{
    TestHome, Up, client, code, free_port, healthy, output, saved_token, stderr, stdout, wait_for,
};

/// A bot folder under `root`, with what a package should leave out beside it: a
/// virtual environment, a bytecode cache, a stray `.pyc`.
fn bot_folder(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let write = |relative: &str, text: &str| {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("a file in the folder has a parent")).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("bot.py", "from lib.util import hello\nhello()\n");
    write("lib/util.py", "def hello():\n    print('hello')\n");
    write("requirements.txt", "");
    write(".venv/lib/python3.12/site-packages/x.py", "x = 1\n");
    write("__pycache__/bot.cpython-312.pyc", "bytecode");
    write("lib/util.cpython-312.pyc", "bytecode");
    dir
}

/// A ZIP at `path` holding a bot in one top-level folder, as GitHub's archives do.
fn bot_zip(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("scraper-main/main.py", options).unwrap();
    std::io::Write::write_all(&mut zip, b"print('scraping')\n").unwrap();
    zip.finish().unwrap();
}

/// The names in a ZIP, sorted.
fn entries(bytes: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the download is a ZIP");
    let mut names: Vec<String> = zip
        .file_names()
        .map(|name| name.expect("an entry name is UTF-8").into_owned())
        .collect();
    names.sort();
    names
}

/// `GET url` with an optional token: the status and the body.
fn get(url: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .expect("the body can be read")
            .to_vec();
        (status, body)
    })
}

/// A version's download link, asked of the server at `url` with `token`.
fn link(url: &str, token: &str, package: &str, version: &str) -> (u16, Option<PackageLink>) {
    let (status, body) = get(
        &format!("{url}/default/api/packages/{package}/versions/{version}/download"),
        Some(token),
    );
    let link = (status == 200).then(|| serde_json::from_slice(&body).expect("a link is JSON"));
    (status, link)
}

/// What `ls --json` lists: each package's name with its versions.
fn listed(command: &mut std::process::Command) -> Vec<(String, Vec<String>)> {
    let out = output(command.args(["package", "ls", "--json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page: Page<Package> = serde_json::from_slice(&out.stdout).expect("ls --json is a page");
    page.items
        .into_iter()
        .map(|p| (p.name, p.versions.into_iter().map(|v| v.version).collect()))
        .collect()
}

#[test]
fn packages_are_pushed_listed_downloaded_and_removed() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example"]);
    let token = saved_token(&home);
    let work = tempfile::tempdir().unwrap();
    let folder = bot_folder(work.path(), "scraper");

    // A folder, zipped here: name from the folder, version from the flag.
    let out = output(
        up.client(&home)
            .args(["package", "push"])
            .arg(&folder)
            .args(["--version", "1.0.0"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = stdout(&out);
    assert!(line.starts_with("pushed scraper 1.0.0 ("), "{line}");
    let sha = line
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );

    // Downloaded by its link: the bot, without the environment and the bytecode.
    let (status, link1) = link(&up.url(), &token, "scraper", "1.0.0");
    assert_eq!(status, 200);
    let link1 = link1.unwrap();
    assert_eq!(link1.sha256, sha);
    let (status, zip) = get(&link1.download_url, None);
    assert_eq!(status, 200);
    assert_eq!(
        bosun_package::sha256_hex(&zip),
        sha,
        "the bytes are the ones pushed"
    );
    assert_eq!(
        entries(&zip),
        ["bot.py", "lib/", "lib/util.py", "requirements.txt"]
    );

    // A ZIP, as another version of the same package, as JSON.
    let archive = work.path().join("scraper-main.zip");
    bot_zip(&archive);
    let out = output(
        up.client(&home)
            .args(["package", "push"])
            .arg(&archive)
            .args([
                "--name",
                "scraper",
                "--version",
                "1.1.0",
                "--description",
                "Scrapes",
                "--json",
            ]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pushed: Package = serde_json::from_slice(&out.stdout).expect("push --json is a package");
    assert_eq!(pushed.name, "scraper");
    assert_eq!(pushed.description.as_deref(), Some("Scrapes"));
    let versions: Vec<&str> = pushed.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
    assert_eq!(
        pushed.versions[1].size,
        std::fs::metadata(&archive).unwrap().len()
    );

    // A version is written once.
    let out = output(
        up.client(&home)
            .args(["package", "push"])
            .arg(&folder)
            .args(["--version", "1.0.0"]),
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "bosun: package scraper already has version 1.0.0: upload it as another version \
         (a version is never replaced; delete it first to upload it again)\n"
    );
    assert_eq!(stdout(&out), "");

    // Listed as a table, one row a version, and as JSON.
    let out = output(up.client(&home).args(["package", "ls", "--wide"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].starts_with("NAME") && rows[0].ends_with("SHA256"),
        "{table}"
    );
    assert!(
        rows[1].starts_with("scraper  1.0.0") && rows[1].ends_with(&sha),
        "{table}"
    );
    assert!(rows[2].starts_with("scraper  1.1.0"), "{table}");
    assert_eq!(
        listed(&mut up.client(&home)),
        [(
            "scraper".to_owned(),
            vec!["1.0.0".to_owned(), "1.1.0".to_owned()]
        )]
    );
    let out = output(
        up.client(&home)
            .args(["package", "ls", "scraper", "--json"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let one: Package = serde_json::from_slice(&out.stdout).expect("ls NAME --json is a package");
    assert_eq!(one.versions.len(), 2);

    // One version removed: its link is gone, the other version stays.
    let out = output(up.client(&home).args(["package", "rm", "scraper@1.0.0"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "deleted scraper 1.0.0\n");
    assert_eq!(link(&up.url(), &token, "scraper", "1.0.0").0, 404);
    assert_eq!(
        listed(&mut up.client(&home)),
        [("scraper".to_owned(), vec!["1.1.0".to_owned()])]
    );
    let out = output(up.client(&home).args(["package", "rm", "scraper@1.0.0"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no version 1.0.0"),
        "{}",
        stderr(&out)
    );

    // The package removed, with what it had, as JSON.
    let out = output(
        up.client(&home)
            .args(["package", "rm", "scraper", "--json"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let removed: Package = serde_json::from_slice(&out.stdout).expect("rm --json is a package");
    assert_eq!(removed.versions.len(), 1);
    assert_eq!(removed.versions[0].version, "1.1.0");
    assert!(listed(&mut up.client(&home)).is_empty());
    let out = output(up.client(&home).args(["package", "ls"]));
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("no packages yet"), "{}", stderr(&out));
    let out = output(up.client(&home).args(["package", "rm", "scraper"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "bosun: no package \"scraper\" on the server (`bosun package ls` lists them)\n"
    );
    up.stop();
}

#[test]
fn a_folder_with_no_bot_is_refused_before_a_server_is_asked() {
    let home = TestHome::new();
    let work = tempfile::tempdir().unwrap();
    let folder = work.path().join("notes");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("readme.md"), "no bot here").unwrap();
    // Nothing listens at the URL: reaching for it would exit 5.
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = output(
        client(&home)
            .args(["package", "push", "--server", &url, "--token", "t"])
            .arg(&folder),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "bosun: {} has neither bot.py nor main.py at its top: add one of them\n",
            folder.display()
        )
    );
    // A ZIP without a bot, likewise.
    let zip = work.path().join("notes.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    writer
        .start_file("readme.md", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.finish().unwrap();
    let out = output(
        client(&home)
            .args(["package", "push", "--server", &url, "--token", "t"])
            .arg(&zip),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the archive holds no bot"),
        "{}",
        stderr(&out)
    );
    // Nor anything else that is not a ZIP.
    let text = work.path().join("bot.py");
    std::fs::write(&text, "print('not zipped')\n").unwrap();
    let out = output(
        client(&home)
            .args(["package", "push", "--server", &url, "--token", "t"])
            .arg(&text),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "bosun: {}: not a ZIP archive: push a bot's folder, or a ZIP holding one\n",
            text.display()
        )
    );
}

#[test]
fn any_token_learns_its_tenant_but_pushing_needs_the_permission() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example"]);
    let out = output(client(&home).args([
        "admin",
        "token",
        "create",
        "--name",
        "viewer",
        "--permission",
        "executions:view",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let viewer = stdout(&out).trim().to_owned();
    let (status, body) = get(&format!("{}/api/me", up.url()), Some(&viewer));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let me: bosun_core::wire::Me = serde_json::from_slice(&body).expect("/api/me is JSON");
    assert_eq!(me.tenant.slug, "default");
    assert_eq!(
        me.permissions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["executions:view"]
    );

    let work = tempfile::tempdir().unwrap();
    let folder = bot_folder(work.path(), "scraper");
    let out = output(
        up.client(&home)
            .args(["package", "push", "--token", &viewer])
            .arg(&folder),
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("packages:create"), "{}", stderr(&out));
    up.stop();
}

#[test]
fn an_upload_over_the_server_s_limit_is_refused_with_the_flag_to_raise_it() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example", "--package-upload-limit", "64KiB"]);
    let work = tempfile::tempdir().unwrap();
    let folder = bot_folder(work.path(), "big");
    // Bytes that do not compress, so that the archive is as large as they are.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..(1 << 20))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(folder.join("model.bin"), noise).unwrap();
    let out = output(up.client(&home).args(["package", "push"]).arg(&folder));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--package-upload-limit"),
        "{}",
        stderr(&out)
    );
    assert!(listed(&mut up.client(&home)).is_empty());
    up.stop();
}

#[test]
fn up_refuses_bad_package_settings_in_one_line() {
    let home = TestHome::new();
    let listen = format!("127.0.0.1:{}", free_port());
    let up = |flags: &[&str]| {
        output(
            client(&home)
                .args(["up", "--listen", &listen])
                .args(flags)
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY"),
        )
    };
    for flags in [
        &["--package-upload-limit", "12Q"][..],
        &["--package-link-lifetime", "30d"],
        &["--package-max-entries", "0"],
        &["--packages", "s3://Bad_Bucket"],
        &["--public-url", "bosun.lan:8420"],
    ] {
        let out = up(flags);
        assert_eq!(code(&out), 2, "{flags:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(flags[0]),
            "{flags:?}: {}",
            stderr(&out)
        );
    }
    let out = up(&["--packages", "s3://packages"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("bosun: --packages s3://packages: AWS_ACCESS_KEY_ID is not set"),
        "{err}"
    );
    let out = up(&["--s3-region", "eu-west-1"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("go with --packages s3://BUCKET"),
        "{}",
        stderr(&out)
    );
    assert!(!healthy(
        listen.rsplit(':').next().unwrap().parse().unwrap()
    ));
}

/// `bosun up --packages s3://BUCKET` on the S3 server, with its keys in the
/// environment and its endpoint and region as flags; killed when dropped.
struct UpOnS3 {
    child: Child,
    port: u16,
}

impl UpOnS3 {
    fn start(home: &TestHome, s3: &S3Server) -> Self {
        let port = free_port();
        let child = client(home)
            .args([
                "up",
                "--no-example",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--packages", &format!("s3://{}", s3.bucket())])
            .args(["--s3-endpoint", &s3.endpoint(), "--s3-region", s3.region()])
            .env("AWS_ACCESS_KEY_ID", s3.access_key())
            .env("AWS_SECRET_ACCESS_KEY", s3.secret_key())
            .env_remove("AWS_ENDPOINT_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bosun up can be started");
        let mut up = Self { child, port };
        let ready = wait_for(Duration::from_secs(30), || {
            healthy(port) || up.child.try_wait().ok().flatten().is_some()
        });
        if !(ready && healthy(port)) {
            let _ = up.child.kill();
            let mut err = String::new();
            let _ = up
                .child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut err));
            panic!("bosun up on S3 did not answer: {err}");
        }
        up
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for UpOnS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn up_with_a_bucket_it_cannot_use_stops_at_start_saying_so() {
    let s3 = S3Server::start();
    let home = TestHome::new();
    let port = free_port();
    let out = output(
        client(&home)
            .args([
                "up",
                "--no-example",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--packages", &format!("s3://{}", s3.bucket())])
            .args(["--s3-endpoint", &s3.endpoint(), "--s3-region", s3.region()])
            .env("AWS_ACCESS_KEY_ID", s3.access_key())
            .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
            .env_remove("AWS_ENDPOINT_URL"),
    );
    assert_eq!(code(&out), 99, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the package bucket \"{}\" cannot be reached: check --s3-endpoint",
            s3.bucket()
        )),
        "{err}"
    );
    assert!(!healthy(port), "it does not serve");
}

#[test]
fn up_keeps_packages_in_an_s3_bucket() {
    let s3 = S3Server::start();
    let home = TestHome::new();
    let up = UpOnS3::start(&home, &s3);
    let token = saved_token(&home);
    let work = tempfile::tempdir().unwrap();

    // No bot: refused here, and nothing reaches the bucket.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = output(
        client(&home)
            .env("BOSUN_SERVER", up.url())
            .args(["package", "push"])
            .arg(&empty),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("neither bot.py nor main.py"),
        "{}",
        stderr(&out)
    );
    assert_eq!(objects(&s3.bucket_dir()), 0);

    let folder = bot_folder(work.path(), "scraper");
    let out = output(
        client(&home)
            .env("BOSUN_SERVER", up.url())
            .args(["package", "push"])
            .arg(&folder),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("pushed scraper 1.0.0 ("),
        "{}",
        stdout(&out)
    );
    assert_eq!(objects(&s3.bucket_dir()), 1, "the package is in the bucket");
    assert!(!home.path().join("packages").exists(), "nothing on disk");

    // The link is presigned for the bucket, which checks it and serves the bytes.
    let (status, link) = link(&up.url(), &token, "scraper", "1.0.0");
    assert_eq!(status, 200);
    let link = link.unwrap();
    assert!(
        link.download_url.starts_with(&s3.endpoint()),
        "{}",
        link.download_url
    );
    let (status, zip) = get(&link.download_url, None);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&zip));
    assert_eq!(bosun_package::sha256_hex(&zip), link.sha256);
    assert_eq!(
        entries(&zip),
        ["bot.py", "lib/", "lib/util.py", "requirements.txt"]
    );
}

/// How many files are under `dir`, at any depth (s3s-fs keeps an object as a file).
fn objects(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { objects(&path) } else { 1 }
        })
        .sum()
}
