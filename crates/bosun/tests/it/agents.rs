//! `bosun agents add|ls|rotate-key|deactivate|rm` against a real `bosun up`. Whether
//! a machine key lets its agent in is asked of the route agents use to fetch
//! packages: 401 for a key that does not, 404 (no such package) for one that does.

use bosun_core::wire::Agent;

use crate::support::{TestHome, Up, code, output, stderr, stdout};

/// Whether the server at `url` lets the agent with machine key `key` in.
fn key_lets_in(url: &str, key: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{url}/default/api/packages/none/versions/1.0.0/agent-download"
            ))
            .header("X-MachineKey", key)
            .send()
            .await
            .expect("the server answers")
            .status()
            .as_u16()
    });
    match status {
        401 => false,
        404 => true,
        other => panic!("agent-download answered {other}"),
    }
}

/// The key and the start line of `add`'s or `rotate-key`'s output.
fn key_and_start_line(out: &str) -> (String, String) {
    let key = out
        .lines()
        .find_map(|l| l.strip_prefix("machine key (shown only this once): "))
        .unwrap_or_else(|| panic!("no key in {out}"))
        .to_owned();
    let start = out
        .lines()
        .find(|l| l.trim_start().starts_with("bosun agent "))
        .unwrap_or_else(|| panic!("no start line in {out}"))
        .trim()
        .to_owned();
    (key, start)
}

/// What `agents ls --json` lists: each agent's name and whether it is active.
fn listed(up: &Up, home: &TestHome) -> (Vec<(String, bool)>, String) {
    let out = output(up.client(home).args(["agents", "ls", "--json"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let agents: Vec<Agent> = serde_json::from_slice(&out.stdout).expect("ls --json is an array");
    let names = agents.into_iter().map(|a| (a.name, a.is_active)).collect();
    (names, stdout(&out))
}

#[test]
fn agents_are_added_with_a_key_shown_once_then_rotated_deactivated_and_removed() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example"]);

    let out =
        output(
            up.client(&home)
                .args(["agents", "add", "robot-1", "--machine-name", "box-1"]),
        );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("added agent robot-1 (id "), "{text}");
    let (key, start) = key_and_start_line(&text);
    assert!(key.starts_with("bmk_"), "{text}");
    assert_eq!(
        start,
        format!(
            "bosun agent --server {}/default --machine-key {key}",
            up.url()
        )
    );
    assert!(key_lets_in(&up.url(), &key));

    // Listed, never with its key.
    let (names, raw) = listed(&up, &home);
    assert_eq!(
        names,
        [("local".to_owned(), true), ("robot-1".to_owned(), true)]
    );
    assert!(!raw.contains(&key), "ls --json showed the key");
    let out = output(up.client(&home).args(["agents", "ls"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(!table.contains(&key), "ls showed the key");
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].starts_with("NAME"), "{table}");
    assert!(
        rows[1].starts_with("local") && rows[1].contains("Available"),
        "{table}"
    );
    assert!(
        rows[2].starts_with("robot-1")
            && rows[2].contains("Disconnected")
            && rows[2].contains("box-1"),
        "{table}"
    );

    // The same name again, and a bad name: refused by the server.
    let out = output(up.client(&home).args(["agents", "add", "robot-1"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(stderr(&out), "bosun: agent \"robot-1\" already exists\n");
    assert_eq!(stdout(&out), "");
    let out = output(up.client(&home).args(["agents", "add", "a/b"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot contain '/'"),
        "{}",
        stderr(&out)
    );

    // A new key: the old one stops working.
    let out = output(up.client(&home).args(["agents", "rotate-key", "robot-1"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (new_key, start) = key_and_start_line(&stdout(&out));
    assert_ne!(new_key, key);
    assert!(
        start.ends_with(&format!("--machine-key {new_key}")),
        "{start}"
    );
    assert!(!key_lets_in(&up.url(), &key), "the old key still works");
    assert!(key_lets_in(&up.url(), &new_key));

    // Deactivated: its key no longer lets it in.
    let out = output(up.client(&home).args(["agents", "deactivate", "robot-1"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "deactivated agent robot-1: its machine key no longer lets it in\n"
    );
    assert!(!key_lets_in(&up.url(), &new_key));
    let (names, _) = listed(&up, &home);
    assert_eq!(names[1], ("robot-1".to_owned(), false));
    let out = output(up.client(&home).args(["agents", "ls"]));
    assert!(stdout(&out).contains("Deactivated"), "{}", stdout(&out));

    // Removed, by id as well as by name.
    let out = output(up.client(&home).args(["agents", "rm", "robot-1"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "deleted agent robot-1\n");
    let out = output(
        up.client(&home)
            .args(["agents", "add", "robot-2", "--json"]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = made["id"].as_str().unwrap();
    assert!(
        made["machineKey"].as_str().unwrap().starts_with("bmk_"),
        "{made}"
    );
    let out = output(up.client(&home).args(["agents", "rm", id]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "deleted agent robot-2\n");
    let (names, _) = listed(&up, &home);
    assert_eq!(names, [("local".to_owned(), true)]);
    up.stop();
}

#[test]
fn the_built_in_agent_and_unknown_ones_are_refused_with_a_message() {
    let home = TestHome::new();
    let up = Up::start_with(&home, &["--no-example"]);
    for command in ["rm", "rotate-key", "deactivate"] {
        let out = output(up.client(&home).args(["agents", command, "local"]));
        assert_eq!(code(&out), 4, "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("bosun: the agent \"local\" is the server's own runner"),
            "{command}: {}",
            stderr(&out)
        );
    }
    let out = output(up.client(&home).args(["agents", "rm", "nobody"]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "bosun: no agent \"nobody\" on the server (`bosun agents ls` lists them)\n"
    );
    up.stop();
}
