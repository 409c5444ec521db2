//! What the server does with clients that misbehave or fall silent, seen on a bare socket.

use std::time::Duration;

use bosun_hub::Ended;
use bosun_hub::client::{ClientOptions, connect};
use bosun_hub::protocol::{Completed, Message};
use bosun_hub::server::{CLIENT_TIMEOUT_ERROR, Options};
use serde_json::json;

use crate::app::{TestHub, wait_for};
use crate::raw::{Raw, Seen};

fn close_with(error: &str) -> Seen {
    Seen::Message(Message::Close {
        error: Some(error.to_owned()),
        allow_reconnect: false,
    })
}

fn completion(id: &str, result: serde_json::Value) -> Seen {
    Seen::Message(Message::Completion {
        invocation_id: id.into(),
        outcome: Completed::Result(result),
    })
}

/// The hub still serves a well-behaved client.
async fn still_serves(hub: &TestHub) {
    let (connection, _incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    assert_eq!(
        connection.invoke("Echo", vec![json!("ok")]).await,
        Ok(json!("ok"))
    );
}

#[tokio::test]
async fn a_broken_frame_closes_that_connection_with_the_reason() {
    let hub = TestHub::with(Options {
        max_message: 1024,
        ..Options::default()
    })
    .await;
    let oversize = format!(
        "{{\"type\":1,\"target\":\"Echo\",\"arguments\":[\"{}\"]}}\u{1e}",
        "x".repeat(2000)
    );
    let cases: [(&str, Option<&str>, &str); 4] = [
        ("not json", Some("not json\u{1e}"), "Error reading JSON"),
        (
            "no separator",
            Some("{\"type\":6}"),
            "Missing record separator",
        ),
        (
            "oversize",
            Some(&oversize),
            "The maximum message size of 1024B was exceeded",
        ),
        ("binary", None, "Binary frames are not supported"),
    ];
    for (case, text, reason) in cases {
        let mut raw = Raw::open_with_handshake(&hub.ws_url()).await;
        match text {
            Some(text) => raw.send(text).await,
            None => raw.send_binary(b"\x01\x02").await,
        }
        match raw.next_but_ping().await {
            Seen::Message(Message::Close {
                error: Some(error),
                allow_reconnect: false,
            }) => {
                let prefix = "Connection closed with an error. InvalidDataException: ";
                assert!(
                    error.starts_with(prefix) && error[prefix.len()..].starts_with(reason),
                    "{case}: {error}"
                );
            }
            other => panic!("{case}: expected a Close with an error, got {other:?}"),
        }
        assert_eq!(
            raw.next_but_ping().await,
            Seen::Closed,
            "{case}: the socket closes"
        );
        still_serves(&hub).await;
    }
    wait_for("four malformed ends", || {
        hub.ended()
            .iter()
            .filter(|e| matches!(e, Ended::Malformed(_)))
            .count()
            == 4
    })
    .await;
}

#[tokio::test]
async fn a_silent_client_is_closed_with_the_timeout_error() {
    let hub = TestHub::with(Options {
        keep_alive: Duration::from_millis(50),
        client_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut raw = Raw::open_with_handshake(&hub.ws_url()).await;
    assert_eq!(
        raw.next().await,
        Seen::Message(Message::Ping),
        "the server pings an idle client"
    );
    assert_eq!(raw.next_but_ping().await, close_with(CLIENT_TIMEOUT_ERROR));
    assert_eq!(raw.next_but_ping().await, Seen::Closed);
    wait_for("the hub's end of it", || {
        hub.ended() == vec![Ended::PeerTimeout]
    })
    .await;
    still_serves(&hub).await;
}

#[tokio::test]
async fn the_handshake_is_checked() {
    let hub = TestHub::start().await;
    let mut raw = Raw::open(&hub.ws_url()).await;
    raw.send("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}")
        .await;
    assert_eq!(
        raw.next().await,
        Seen::Text("{\"error\":\"The protocol 'messagepack' is not supported.\"}\u{1e}".into())
    );
    assert_eq!(raw.next().await, Seen::Closed);

    let mut raw = Raw::open(&hub.ws_url()).await;
    raw.send("{\"protocol\":\"json\",\"version\":2}\u{1e}")
        .await;
    assert_eq!(
        raw.next().await,
        Seen::Text(
            "{\"error\":\"The server does not support version 2 of the 'json' protocol.\"}\u{1e}"
                .into()
        )
    );
    assert_eq!(raw.next().await, Seen::Closed);
    still_serves(&hub).await;
}

#[tokio::test]
async fn no_handshake_in_time_closes_the_socket() {
    let hub = TestHub::with(Options {
        handshake_timeout: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let mut raw = Raw::open(&hub.ws_url()).await;
    assert_eq!(raw.next().await, Seen::Closed);
    wait_for("the hub's end of it", || {
        hub.ended() == vec![Ended::HandshakeTimeout]
    })
    .await;
}

#[tokio::test]
async fn messages_right_behind_the_handshake_are_served() {
    let hub = TestHub::start().await;
    let mut raw = Raw::open(&hub.ws_url()).await;
    raw.send("{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[5]}\u{1e}")
        .await;
    assert_eq!(raw.next().await, Seen::Text("{}\u{1e}".into()));
    assert_eq!(raw.next_but_ping().await, completion("1", json!(5)));
}

#[tokio::test]
async fn invocations_run_in_order_and_pings_are_not_held_up() {
    let hub = TestHub::with(Options {
        keep_alive: Duration::from_millis(50),
        ..Options::default()
    })
    .await;
    let mut raw = Raw::open_with_handshake(&hub.ws_url()).await;
    // Two invocations in one frame: a slow one, then a quick one.
    raw.send(concat!(
        "{\"type\":1,\"invocationId\":\"a\",\"target\":\"Slow\",\"arguments\":[600]}\u{1e}",
        "{\"type\":1,\"invocationId\":\"b\",\"target\":\"Echo\",\"arguments\":[\"b\"]}\u{1e}",
    ))
    .await;
    assert_eq!(
        raw.next().await,
        Seen::Message(Message::Ping),
        "a ping comes while the slow method runs"
    );
    assert_eq!(raw.next_but_ping().await, completion("a", json!(600)));
    assert_eq!(
        raw.next_but_ping().await,
        completion("b", json!("b")),
        "the quick one waited its turn"
    );
}

#[tokio::test]
async fn streaming_is_refused_and_unknown_fields_and_kinds_are_ignored() {
    let hub = TestHub::start().await;
    let mut raw = Raw::open_with_handshake(&hub.ws_url()).await;
    raw.send("{\"type\":4,\"invocationId\":\"s\",\"target\":\"Echo\",\"arguments\":[]}\u{1e}")
        .await;
    assert_eq!(
        raw.next_but_ping().await,
        Seen::Message(Message::Completion {
            invocation_id: "s".into(),
            outcome: Completed::Error("Streaming is not supported.".into())
        })
    );
    raw.send("{\"type\":42}\u{1e}{\"type\":1,\"invocationId\":\"e\",\"target\":\"Echo\",\"arguments\":[1],\"x\":{}}\u{1e}").await;
    assert_eq!(raw.next_but_ping().await, completion("e", json!(1)));
    // Without an invocation id nothing comes back, not even for an unknown method.
    raw.send("{\"type\":1,\"target\":\"Missing\",\"arguments\":[]}\u{1e}{\"type\":1,\"invocationId\":\"f\",\"target\":\"Echo\",\"arguments\":[2]}\u{1e}").await;
    assert_eq!(raw.next_but_ping().await, completion("f", json!(2)));
}

#[tokio::test]
async fn a_close_message_from_the_client_ends_the_connection() {
    let hub = TestHub::start().await;
    let mut raw = Raw::open_with_handshake(&hub.ws_url()).await;
    raw.send("{\"type\":7,\"error\":\"bye\"}\u{1e}").await;
    assert_eq!(raw.next_but_ping().await, Seen::Closed);
    wait_for("the hub's end of it", || {
        hub.ended()
            == vec![Ended::PeerClosed {
                error: Some("bye".into()),
            }]
    })
    .await;
}
