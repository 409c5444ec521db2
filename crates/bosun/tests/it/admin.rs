//! `bosun admin …` on the data directory or database, and `bosun tenant …` through
//! the API: recovering access, tenants.

use serde_json::Value;

use crate::support::{TestHome, Up, client, code, output, saved_token, stderr, stdout};

/// The secret a minting command printed: its one line of stdout.
fn secret(out: &std::process::Output) -> String {
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is the secret alone: {text}");
    assert!(lines[0].starts_with("bsn_"), "{text}");
    lines[0].to_owned()
}

#[test]
fn admin_token_create_gives_back_access_without_the_api() {
    let home = TestHome::new();
    let up = Up::start(&home);
    // The server is running: a token minted on its data directory works at once.
    let out = output(client(&home).args(["admin", "token", "create", "--name", "rescue"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("shown only this once"),
        "{}",
        stderr(&out)
    );
    let rescue = secret(&out);
    let out = output(
        up.client(&home)
            .args(["jobs", "--json", "--token", &rescue]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    up.stop();

    // Stopped: a narrower one, listed, then revoked.
    let out = output(client(&home).args([
        "admin",
        "token",
        "create",
        "--name",
        "viewer",
        "--permission",
        "jobs:view",
        "--permission",
        "executions:view",
        "--json",
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let viewer: Value = serde_json::from_str(&stdout(&out)).expect("--json prints JSON");
    assert_eq!(
        viewer["permissions"],
        serde_json::json!(["jobs:view", "executions:view"])
    );
    assert!(viewer["token"].as_str().unwrap().starts_with("bsn_"));
    let out = output(client(&home).args(["admin", "token", "ls"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listing = stdout(&out);
    for name in ["admin", "rescue", "viewer"] {
        assert!(listing.contains(name), "{listing}");
    }
    assert!(
        !listing.contains(&rescue),
        "a secret was shown again: {listing}"
    );
    let id = viewer["id"].as_str().unwrap();
    let out = output(client(&home).args(["admin", "token", "revoke", id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = output(client(&home).args(["admin", "token", "ls"]));
    assert!(!stdout(&out).contains("viewer"), "{}", stdout(&out));

    // Bad input is one line and exit 2.
    for args in [
        &["admin", "token", "create", "--permission", "jobs:launch"][..],
        &["admin", "token", "create", "--name", "a..b"][..],
        &["admin", "token", "create", "--tenant", "nope"][..],
        &["admin", "token", "revoke", "no-such-id"][..],
    ] {
        let out = output(client(&home).args(args));
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn admin_commands_work_on_a_postgresql_database_too() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in bosun_test_utils::database_urls(dir.path()) {
        let home = TestHome::new();
        let out = output(client(&home).args([
            "admin",
            "tenant",
            "create",
            "acme",
            "--database-url",
            &url,
        ]));
        assert_eq!(code(&out), 0, "{engine}: {}", stderr(&out));
        secret(&out);
        let out = output(client(&home).args([
            "admin",
            "token",
            "create",
            "--tenant",
            "acme",
            "--permission",
            "jobs:*",
            "--database-url",
            &url,
        ]));
        assert_eq!(code(&out), 0, "{engine}: {}", stderr(&out));
        secret(&out);
        let out = output(client(&home).args(["admin", "tenant", "ls", "--database-url", &url]));
        assert_eq!(code(&out), 0, "{engine}: {}", stderr(&out));
        assert!(stdout(&out).contains("acme"), "{engine}: {}", stdout(&out));
        let out = output(client(&home).args([
            "admin",
            "tenant",
            "create",
            "acme",
            "--database-url",
            &url,
        ]));
        assert_eq!(code(&out), 4, "{engine}: a taken slug: {}", stderr(&out));
        assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
        let out = output(client(&home).args([
            "admin",
            "token",
            "ls",
            "--tenant",
            "acme",
            "--json",
            "--database-url",
            &url,
        ]));
        let tokens: Value = serde_json::from_str(&stdout(&out)).expect("--json prints JSON");
        assert_eq!(
            tokens["items"].as_array().unwrap().len(),
            2,
            "{engine}: {tokens}"
        );
        assert!(!home.path().join("bosun.db").exists() || engine == "sqlite");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(bosun_test_utils::drop_test_database(&url));
    }
}

#[test]
fn tenant_create_and_ls_go_through_the_api() {
    let home = TestHome::new();
    let up = Up::start(&home);
    let out = output(
        up.client(&home)
            .args(["tenant", "create", "acme", "--name", "Acme Inc."]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let acme = secret(&out);
    let out = output(up.client(&home).args(["jobs", "--json", "--token", &acme]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = output(up.client(&home).args(["tenant", "ls"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("acme") && stdout(&out).contains("default"),
        "{}",
        stdout(&out)
    );
    let out = output(up.client(&home).args(["tenant", "create", "acme"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = output(up.client(&home).args(["tenant", "create", "Bad Slug"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("slug"), "{}", stderr(&out));
    // The new tenant's token may not make tenants.
    let out = output(
        up.client(&home)
            .args(["tenant", "create", "beta", "--token", &acme]),
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let _ = saved_token(&home);
    up.stop();
}
