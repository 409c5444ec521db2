//! This crate's client against the test hub: negotiate, invocations both ways, errors.

use std::time::Duration;

use bosun_hub::client::{ClientOptions, connect};
use bosun_hub::server::Options;
use bosun_hub::{ClientError, Ended, InvokeError};
use serde_json::{Value, json};

use crate::app::{TestHub, wait_for};

fn remote(text: &str) -> Result<Value, InvokeError> {
    Err(InvokeError::Remote(text.to_owned()))
}

#[tokio::test]
async fn negotiates_and_invokes_with_results() {
    let hub = TestHub::start().await;
    let (connection, _incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    let id = connection
        .connection_id()
        .expect("negotiated an id")
        .to_owned();

    assert_eq!(
        connection
            .invoke("Echo", vec![json!({"a": [1, "two"]})])
            .await,
        Ok(json!({"a": [1, "two"]}))
    );
    assert_eq!(
        connection.invoke("Add", vec![json!(2), json!(40)]).await,
        Ok(json!(42))
    );
    assert_eq!(connection.invoke("Nothing", vec![]).await, Ok(Value::Null));
    assert_eq!(
        connection.invoke("ConnectionId", vec![]).await,
        Ok(json!(id)),
        "the hub sees the negotiated id"
    );
    assert_eq!(
        connection.invoke("echo", vec![json!("any case")]).await,
        Ok(json!("any case"))
    );
}

#[tokio::test]
async fn the_query_string_reaches_negotiate_and_the_socket() {
    let hub = TestHub::start().await;
    let url = format!("{}?machineKey=k-123", hub.url());
    let (connection, _incoming) = connect(&url, &[], ClientOptions::default())
        .await
        .expect("connects");
    assert_eq!(
        connection.invoke("Keys", vec![]).await,
        Ok(json!(["k-123", "k-123"]))
    );
}

#[tokio::test]
async fn errors_have_the_texts_official_clients_show() {
    let hub = TestHub::start().await;
    let (connection, _incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");

    assert_eq!(
        connection.invoke("Missing", vec![]).await,
        remote(
            "Failed to invoke 'Missing' due to an error on the server. HubException: Method does not exist."
        )
    );
    assert_eq!(
        connection.invoke("Add", vec![json!(1)]).await,
        remote(
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: \
             Invocation provides 1 argument(s) but target expects 2."
        )
    );
    assert_eq!(
        connection.invoke("Fail", vec![]).await,
        remote(
            "An unexpected error occurred invoking 'Fail' on the server. HubException: it failed on purpose"
        )
    );
    assert_eq!(
        connection.invoke("Hide", vec![]).await,
        remote("An unexpected error occurred invoking 'Hide' on the server.")
    );
    assert_eq!(
        connection.invoke("Echo", vec![json!("still open")]).await,
        Ok(json!("still open"))
    );
}

#[tokio::test]
async fn a_send_runs_without_a_completion_and_the_hub_sends_back() {
    let hub = TestHub::start().await;
    let (connection, mut incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    connection
        .send("NotifyMe", vec![json!("hello")])
        .expect("queued");
    let call = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!(call.target, "Notify");
    assert_eq!(call.arguments, vec![json!("hello")]);
    assert_eq!(call.invocation_id, None, "a send expects no answer");
}

#[tokio::test]
async fn the_hub_invokes_the_client_and_gets_its_answer() {
    let hub = TestHub::start().await;
    let (connection, mut incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    let answering = tokio::spawn(async move {
        while let Some(call) = incoming.recv().await {
            assert_eq!(call.target, "Ask");
            let question = call.arguments[0].as_str().unwrap_or_default().to_owned();
            let answer = if question == "refuse" {
                Err("I won't".to_owned())
            } else {
                Ok(json!(question.len()))
            };
            call.complete(answer).await.expect("answered");
        }
    });
    assert_eq!(
        connection.invoke("AskClient", vec![json!("four")]).await,
        Ok(json!({"answer": 4}))
    );
    assert_eq!(
        connection.invoke("AskClient", vec![json!("refuse")]).await,
        remote(
            "An unexpected error occurred invoking 'AskClient' on the server. HubException: the client said: I won't"
        )
    );
    connection.close();
    answering
        .await
        .expect("the answering task ends with the connection");
}

#[tokio::test]
async fn an_unread_server_invocation_is_answered_for_the_client() {
    let hub = TestHub::start().await;
    let (connection, incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    drop(incoming);
    assert_eq!(
        connection.invoke("AskClient", vec![json!("anyone?")]).await,
        remote(
            "An unexpected error occurred invoking 'AskClient' on the server. \
             HubException: the client said: Client didn't provide a result."
        )
    );
}

#[tokio::test]
async fn skip_negotiation_connects_directly() {
    let hub = TestHub::start().await;
    let options = ClientOptions {
        skip_negotiation: true,
        ..ClientOptions::default()
    };
    let (connection, _incoming) = connect(&hub.url(), &[], options).await.expect("connects");
    assert_eq!(connection.connection_id(), None);
    assert_eq!(
        connection.invoke("Echo", vec![json!(1)]).await,
        Ok(json!(1))
    );
}

#[tokio::test]
async fn an_unknown_or_used_id_is_404_before_the_upgrade() {
    let hub = TestHub::start().await;
    let status = |error: tokio_tungstenite::tungstenite::Error| match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    };
    let unknown = tokio_tungstenite::connect_async(format!("{}?id=nope", hub.ws_url())).await;
    assert_eq!(status(unknown.expect_err("refused")), 404);

    let answer: Value = reqwest::Client::new()
        .post(format!("{}/negotiate?negotiateVersion=1", hub.url()))
        .send()
        .await
        .expect("negotiate")
        .json()
        .await
        .expect("JSON");
    let token = answer["connectionToken"].as_str().expect("a token");
    let url = format!("{}?id={token}", hub.ws_url());
    let (_first, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("the token opens one socket");
    let second = tokio_tungstenite::connect_async(&url).await;
    assert_eq!(
        status(second.expect_err("refused")),
        404,
        "a token is used once"
    );

    let refused = connect(
        &format!("http://{}/t/hubs/none", hub.addr),
        &[],
        ClientOptions::default(),
    )
    .await;
    assert!(
        matches!(refused, Err(ClientError::NegotiateStatus { status: 404 })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_hub_closing_reaches_the_client_with_its_error() {
    let hub = TestHub::start().await;
    let (connection, mut incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    let _ = connection.invoke("CloseMe", vec![]).await;
    assert_eq!(
        connection.closed().await,
        Ended::PeerClosed {
            error: Some("closed by the hub".into())
        }
    );
    assert!(
        incoming.recv().await.is_none(),
        "incoming ends with the connection"
    );
    assert_eq!(
        connection.invoke("Echo", vec![json!(1)]).await,
        Err(InvokeError::ConnectionEnded)
    );
    wait_for("the hub's end of it", || {
        hub.ended() == vec![Ended::ClosedHere]
    })
    .await;
    assert_eq!(hub.closed_calls(), 1, "the handler's closed ran once");
}

#[tokio::test]
async fn the_client_closing_ends_the_connection_on_both_sides() {
    let hub = TestHub::start().await;
    let (connection, _incoming) = connect(&hub.url(), &[], ClientOptions::default())
        .await
        .expect("connects");
    connection.close();
    assert_eq!(connection.closed().await, Ended::ClosedHere);
    wait_for("the hub's end of it", || {
        hub.ended() == vec![Ended::SocketClosed]
    })
    .await;
    wait_for("the handler's closed", || hub.closed_calls() == 1).await;
}

#[tokio::test]
async fn a_silent_server_is_a_lost_connection() {
    // The hub pings only every minute; the client gives up after 300 ms of silence.
    let hub = TestHub::with(Options {
        keep_alive: Duration::from_secs(60),
        ..Options::default()
    })
    .await;
    let options = ClientOptions {
        server_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let (connection, _incoming) = connect(&hub.url(), &[], options).await.expect("connects");
    assert_eq!(connection.closed().await, Ended::PeerTimeout);
}

#[tokio::test]
async fn pings_both_ways_keep_an_idle_connection_open() {
    // Each side pings every 50 ms and gives up after 400 ms: an idle connection survives
    // many timeouts' worth of time because the pings count as traffic.
    let hub = TestHub::with(Options {
        keep_alive: Duration::from_millis(50),
        client_timeout: Duration::from_millis(400),
        ..Options::default()
    })
    .await;
    let options = ClientOptions {
        keep_alive: Duration::from_millis(50),
        server_timeout: Duration::from_millis(400),
        ..ClientOptions::default()
    };
    let (connection, _incoming) = connect(&hub.url(), &[], options).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        connection.invoke("Echo", vec![json!("alive")]).await,
        Ok(json!("alive"))
    );
    assert!(
        hub.ended().is_empty(),
        "no connection ended: {:?}",
        hub.ended()
    );
}
