//! What bosun prints when it fails: one line, what failed then why, each cause once.
//! A regression test for a database that cannot be reached, whose driver's message
//! `bosun up` used to print three times (each error quoted its cause, and the chain
//! was printed too).

use crate::support::{TestHome, code, output, stderr};

/// A PostgreSQL URL nothing listens on: the connection is refused.
const UNREACHABLE: &str = "postgres://127.0.0.1:1/bosun";

/// The driver's message for a refused connection.
const REFUSED: &str = "Connection refused";

/// Asserts `said` is one line, starts with `context`, and names the refusal once.
fn once(said: &str, context: &str) {
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    assert!(said.starts_with(context), "{said}");
    assert_eq!(said.matches(REFUSED).count(), 1, "the cause once: {said}");
}

#[test]
fn an_unreachable_database_is_named_once_by_bosun_up() {
    let home = TestHome::new();
    let out = output(home.bosun().args([
        "up",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        UNREACHABLE,
    ]));
    assert_eq!(code(&out), 99, "{}", stderr(&out));
    once(
        &stderr(&out),
        &format!("bosun: could not start the server: could not open the database {UNREACHABLE}: "),
    );
}

#[test]
fn an_unreachable_database_is_named_once_by_bosun_admin() {
    let home = TestHome::new();
    let out = output(
        home.bosun()
            .args(["admin", "tenant", "ls", "--database-url", UNREACHABLE]),
    );
    assert_eq!(code(&out), 99, "{}", stderr(&out));
    once(
        &stderr(&out),
        &format!("bosun: could not open the database {UNREACHABLE}: "),
    );
}
