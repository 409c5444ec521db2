//! The JSON hub protocol, version 1: messages, their text form, and the handshake.
//!
//! Pure functions without I/O, shared by the server and the client so that both read
//! and write exactly the same text. Each message is a JSON object followed by the
//! record separator 0x1E; one WebSocket text frame carries one or more whole messages.

use serde_json::{Map, Value};

use crate::error::ProtocolError;

/// The byte that ends every message, the handshake's included.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// [`RECORD_SEPARATOR`] as a `char`, for splitting and building text.
const SEPARATOR: char = '\u{1e}';

/// The only protocol this crate speaks, as named in the handshake.
pub const PROTOCOL_NAME: &str = "json";

/// The only version of [`PROTOCOL_NAME`] this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The numeric `type` of each message kind.
mod kind {
    pub(super) const INVOCATION: u64 = 1;
    pub(super) const STREAM_ITEM: u64 = 2;
    pub(super) const COMPLETION: u64 = 3;
    pub(super) const STREAM_INVOCATION: u64 = 4;
    pub(super) const CANCEL_INVOCATION: u64 = 5;
    pub(super) const PING: u64 = 6;
    pub(super) const CLOSE: u64 = 7;
}

/// One message of the hub protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Type 1: call `target` on the other side. With an `invocation_id` the caller
    /// waits for a [`Message::Completion`] carrying the same id; without, none comes.
    Invocation {
        /// Present when the caller expects a completion.
        invocation_id: Option<String>,
        /// The method's name.
        target: String,
        /// The method's arguments, in order.
        arguments: Vec<Value>,
    },
    /// Type 3: the end of an invocation that carried an id.
    Completion {
        /// The id of the invocation this completes.
        invocation_id: String,
        /// What the invocation produced.
        outcome: Completed,
    },
    /// Type 6: keeps the connection alive; carries nothing.
    Ping,
    /// Type 7: the sender is closing the connection.
    Close {
        /// Why, when the close is an error.
        error: Option<String>,
        /// Whether the client may reconnect (only the server sets it).
        allow_reconnect: bool,
    },
    /// A kind this crate does not act on: streaming (2, 4, 5), stateful reconnect (8, 9,
    /// never negotiated) and kinds newer than this protocol version.
    Other {
        /// The message's `type`.
        kind: u64,
        /// The message's `invocationId`, when it has one.
        invocation_id: Option<String>,
    },
}

impl Message {
    /// Whether this is a streaming message (types 2, 4 and 5), which this crate refuses
    /// with a completion error when it carries an invocation id.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            Message::Other {
                kind: kind::STREAM_ITEM | kind::STREAM_INVOCATION | kind::CANCEL_INVOCATION,
                ..
            }
        )
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Completed {
    /// It returned a value (`"result"`, which may be `null`).
    Result(Value),
    /// It failed; the text is shown to the caller (`"error"`).
    Error(String),
    /// It returned nothing (neither field).
    Void,
}

/// Reads every message of one WebSocket text frame.
///
/// The frame must end with [`RECORD_SEPARATOR`]: a message split across frames is refused
/// as [`ProtocolError::MissingSeparator`]. A message longer than `max_message` bytes is
/// refused as [`ProtocolError::TooLarge`] before it is parsed.
pub fn parse_frame(text: &str, max_message: usize) -> Result<Vec<Message>, ProtocolError> {
    let Some(body) = text.strip_suffix(SEPARATOR) else {
        if text.len() > max_message {
            return Err(ProtocolError::TooLarge {
                size: text.len(),
                max: max_message,
            });
        }
        return Err(ProtocolError::MissingSeparator);
    };
    body.split(SEPARATOR)
        .map(|one| parse_message(one, max_message))
        .collect()
}

/// Reads one message, without its separator.
fn parse_message(text: &str, max_message: usize) -> Result<Message, ProtocolError> {
    if text.len() > max_message {
        return Err(ProtocolError::TooLarge {
            size: text.len(),
            max: max_message,
        });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|source| ProtocolError::Json { source })?;
    let Value::Object(object) = value else {
        return Err(ProtocolError::Invalid {
            what: "Message is not a JSON object.".into(),
        });
    };
    let kind = match object.get("type") {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| invalid("Expected 'type' to be of type Integer."))?,
        Some(_) => return Err(invalid("Expected 'type' to be of type Integer.")),
        None => return Err(invalid("Missing required property 'type'.")),
    };
    match kind {
        kind::INVOCATION => Ok(Message::Invocation {
            invocation_id: optional_string(&object, "invocationId")?,
            target: required_string(&object, "target")?,
            arguments: match object.get("arguments") {
                Some(Value::Array(items)) => items.clone(),
                Some(_) => return Err(invalid("Expected 'arguments' to be of type Array.")),
                None => return Err(invalid("Missing required property 'arguments'.")),
            },
        }),
        kind::COMPLETION => {
            let invocation_id = required_string(&object, "invocationId")?;
            let outcome = match (object.get("error"), object.get("result")) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "The 'error' and 'result' properties are mutually exclusive.",
                    ));
                }
                (Some(Value::String(error)), None) => Completed::Error(error.clone()),
                (Some(_), None) => return Err(invalid("Expected 'error' to be of type String.")),
                (None, Some(result)) => Completed::Result(result.clone()),
                (None, None) => Completed::Void,
            };
            Ok(Message::Completion {
                invocation_id,
                outcome,
            })
        }
        kind::PING => Ok(Message::Ping),
        kind::CLOSE => Ok(Message::Close {
            error: optional_string(&object, "error")?,
            allow_reconnect: match object.get("allowReconnect") {
                Some(Value::Bool(allow)) => *allow,
                Some(_) => return Err(invalid("Expected 'allowReconnect' to be of type Boolean.")),
                None => false,
            },
        }),
        other => Ok(Message::Other {
            kind: other,
            invocation_id: optional_string(&object, "invocationId")?,
        }),
    }
}

fn invalid(what: &str) -> ProtocolError {
    ProtocolError::Invalid {
        what: what.to_owned(),
    }
}

fn required_string(object: &Map<String, Value>, name: &str) -> Result<String, ProtocolError> {
    optional_string(object, name)?.ok_or_else(|| ProtocolError::Invalid {
        what: format!("Missing required property '{name}'."),
    })
}

fn optional_string(
    object: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ProtocolError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ProtocolError::Invalid {
            what: format!("Expected '{name}' to be of type String."),
        }),
    }
}

/// Writes one message, with its trailing [`RECORD_SEPARATOR`].
///
/// [`Message::Other`] is written as its `type` and `invocationId` only; this crate never
/// sends one.
pub fn encode(message: &Message) -> String {
    let mut object = Map::new();
    let kind = match message {
        Message::Invocation {
            invocation_id,
            target,
            arguments,
        } => {
            if let Some(id) = invocation_id {
                object.insert("invocationId".into(), Value::String(id.clone()));
            }
            object.insert("target".into(), Value::String(target.clone()));
            object.insert("arguments".into(), Value::Array(arguments.clone()));
            kind::INVOCATION
        }
        Message::Completion {
            invocation_id,
            outcome,
        } => {
            object.insert("invocationId".into(), Value::String(invocation_id.clone()));
            match outcome {
                Completed::Result(result) => {
                    object.insert("result".into(), result.clone());
                }
                Completed::Error(error) => {
                    object.insert("error".into(), Value::String(error.clone()));
                }
                Completed::Void => {}
            }
            kind::COMPLETION
        }
        Message::Ping => kind::PING,
        Message::Close {
            error,
            allow_reconnect,
        } => {
            if let Some(error) = error {
                object.insert("error".into(), Value::String(error.clone()));
            }
            if *allow_reconnect {
                object.insert("allowReconnect".into(), Value::Bool(true));
            }
            kind::CLOSE
        }
        Message::Other {
            kind,
            invocation_id,
        } => {
            if let Some(id) = invocation_id {
                object.insert("invocationId".into(), Value::String(id.clone()));
            }
            *kind
        }
    };
    object.insert("type".into(), Value::from(kind));
    let mut text = Value::Object(object).to_string();
    text.push(SEPARATOR);
    text
}

/// The client's first message: the protocol and version it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// The protocol's name; this crate speaks only `json`.
    pub protocol: String,
    /// The protocol's version; this crate speaks only 1.
    pub version: u32,
}

impl HandshakeRequest {
    /// Whether this crate speaks what the client asked for; `Err` holds the text the
    /// server answers with in the handshake response.
    pub fn check(&self) -> Result<(), String> {
        if self.protocol != PROTOCOL_NAME {
            return Err(format!(
                "The protocol '{}' is not supported.",
                self.protocol
            ));
        }
        if self.version != PROTOCOL_VERSION {
            return Err(format!(
                "The server does not support version {} of the '{}' protocol.",
                self.version, self.protocol
            ));
        }
        Ok(())
    }
}

/// The handshake request this crate's client sends: `{"protocol":"json","version":1}` + 0x1E.
pub fn handshake_request() -> String {
    let mut text =
        serde_json::json!({ "protocol": PROTOCOL_NAME, "version": PROTOCOL_VERSION }).to_string();
    text.push(SEPARATOR);
    text
}

/// Reads the handshake request at the start of the client's first frame; returns it
/// and the rest of the frame (messages the client sent right behind it, often empty).
pub fn parse_handshake_request(text: &str) -> Result<(HandshakeRequest, &str), ProtocolError> {
    let (first, rest) = split_first(text)?;
    let value: Value =
        serde_json::from_str(first).map_err(|source| ProtocolError::Json { source })?;
    let Value::Object(object) = value else {
        return Err(invalid("The handshake request is not a JSON object."));
    };
    let protocol = required_string(&object, "protocol")?;
    let version = match object.get("version") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| invalid("Expected 'version' to be of type Integer."))?,
        Some(_) => return Err(invalid("Expected 'version' to be of type Integer.")),
        None => return Err(invalid("Missing required property 'version'.")),
    };
    Ok((HandshakeRequest { protocol, version }, rest))
}

/// The server's answer to the handshake: `{}` + 0x1E, or `{"error":"..."}` + 0x1E.
pub fn handshake_response(error: Option<&str>) -> String {
    let mut text = match error {
        None => "{}".to_owned(),
        Some(error) => serde_json::json!({ "error": error }).to_string(),
    };
    text.push(SEPARATOR);
    text
}

/// Reads the server's handshake response at the start of a frame: `Ok(Err(text))` when
/// the server refused the handshake. Returns the rest of the frame too.
pub fn parse_handshake_response(text: &str) -> Result<(Result<(), String>, &str), ProtocolError> {
    let (first, rest) = split_first(text)?;
    let value: Value =
        serde_json::from_str(first).map_err(|source| ProtocolError::Json { source })?;
    let Value::Object(object) = value else {
        return Err(invalid("The handshake response is not a JSON object."));
    };
    match optional_string(&object, "error")? {
        Some(error) => Ok((Err(error), rest)),
        None => Ok((Ok(()), rest)),
    }
}

/// Splits off the first message of a frame (without its separator) from the rest.
fn split_first(text: &str) -> Result<(&str, &str), ProtocolError> {
    text.split_once(SEPARATOR)
        .ok_or(ProtocolError::MissingSeparator)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MAX: usize = 64 * 1024;

    fn one(text: &str) -> Message {
        let mut all = parse_frame(text, MAX).expect("a valid frame");
        assert_eq!(all.len(), 1, "one message in {text:?}");
        all.remove(0)
    }

    #[test]
    fn every_kind_survives_encode_then_parse() {
        let all = [
            Message::Invocation {
                invocation_id: Some("7".into()),
                target: "Echo".into(),
                arguments: vec![json!("hi"), json!({"a": [1, 2]})],
            },
            Message::Invocation {
                invocation_id: None,
                target: "Notify".into(),
                arguments: vec![],
            },
            Message::Completion {
                invocation_id: "7".into(),
                outcome: Completed::Result(json!(42)),
            },
            Message::Completion {
                invocation_id: "8".into(),
                outcome: Completed::Result(Value::Null),
            },
            Message::Completion {
                invocation_id: "9".into(),
                outcome: Completed::Error("boom".into()),
            },
            Message::Completion {
                invocation_id: "10".into(),
                outcome: Completed::Void,
            },
            Message::Ping,
            Message::Close {
                error: None,
                allow_reconnect: false,
            },
            Message::Close {
                error: Some("bye".into()),
                allow_reconnect: true,
            },
        ];
        for message in all {
            let text = encode(&message);
            assert!(text.ends_with('\u{1e}'), "{text:?} ends with the separator");
            assert_eq!(one(&text), message, "round trip of {text:?}");
        }
    }

    #[test]
    fn encodes_the_fields_official_clients_expect() {
        let text = encode(&Message::Invocation {
            invocation_id: None,
            target: "Notify".into(),
            arguments: vec![json!(1)],
        });
        let value: Value = serde_json::from_str(text.trim_end_matches('\u{1e}')).expect("json");
        assert_eq!(
            value,
            json!({"type": 1, "target": "Notify", "arguments": [1]})
        );
        let text = encode(&Message::Completion {
            invocation_id: "3".into(),
            outcome: Completed::Void,
        });
        let value: Value = serde_json::from_str(text.trim_end_matches('\u{1e}')).expect("json");
        assert_eq!(value, json!({"type": 3, "invocationId": "3"}));
        assert_eq!(encode(&Message::Ping), "{\"type\":6}\u{1e}");
    }

    #[test]
    fn reads_what_the_official_clients_write() {
        assert_eq!(
            one(
                "{\"arguments\":[\"x\"],\"invocationId\":\"0\",\"streamIds\":[],\"target\":\"Echo\",\"type\":1}\u{1e}"
            ),
            Message::Invocation {
                invocation_id: Some("0".into()),
                target: "Echo".into(),
                arguments: vec![json!("x")]
            }
        );
        assert_eq!(
            one("{\"type\":3,\"invocationId\":\"1\",\"result\":null,\"extra\":true}\u{1e}"),
            Message::Completion {
                invocation_id: "1".into(),
                outcome: Completed::Result(Value::Null)
            }
        );
        assert_eq!(one("{\"type\":6}\u{1e}"), Message::Ping);
        assert_eq!(
            one("{\"type\":7,\"error\":\"x\",\"allowReconnect\":true}\u{1e}"),
            Message::Close {
                error: Some("x".into()),
                allow_reconnect: true
            }
        );
    }

    #[test]
    fn streaming_and_unknown_kinds_are_other() {
        let stream =
            one("{\"type\":4,\"invocationId\":\"5\",\"target\":\"S\",\"arguments\":[]}\u{1e}");
        assert_eq!(
            stream,
            Message::Other {
                kind: 4,
                invocation_id: Some("5".into())
            }
        );
        assert!(stream.is_streaming());
        let cancel = one("{\"type\":5,\"invocationId\":\"5\"}\u{1e}");
        assert!(cancel.is_streaming());
        let future = one("{\"type\":12}\u{1e}");
        assert_eq!(
            future,
            Message::Other {
                kind: 12,
                invocation_id: None
            }
        );
        assert!(!future.is_streaming());
    }

    #[test]
    fn several_messages_in_one_frame() {
        let close = Message::Close {
            error: None,
            allow_reconnect: false,
        };
        let frame = format!(
            "{}{}{}",
            encode(&Message::Ping),
            encode(&Message::Ping),
            encode(&close)
        );
        let all = parse_frame(&frame, MAX).expect("three messages");
        assert_eq!(
            all,
            vec![
                Message::Ping,
                Message::Ping,
                Message::Close {
                    error: None,
                    allow_reconnect: false
                }
            ]
        );
    }

    #[test]
    fn a_frame_without_the_trailing_separator_is_refused() {
        assert!(matches!(
            parse_frame("{\"type\":6}", MAX),
            Err(ProtocolError::MissingSeparator)
        ));
        assert!(matches!(
            parse_frame("{\"type\":6}\u{1e}{\"type\":6}", MAX),
            Err(ProtocolError::MissingSeparator)
        ));
    }

    #[test]
    fn an_oversize_message_is_refused() {
        let big = format!(
            "{{\"type\":1,\"target\":\"Echo\",\"arguments\":[\"{}\"]}}\u{1e}",
            "x".repeat(100)
        );
        assert!(matches!(
            parse_frame(&big, 50),
            Err(ProtocolError::TooLarge { max: 50, .. })
        ));
        assert!(parse_frame(&big, 200).is_ok());
        // A message over the limit with no separator yet is still reported as too large.
        assert!(matches!(
            parse_frame(&"x".repeat(100), 50),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn malformed_messages_are_refused() {
        for text in [
            "not json\u{1e}",
            "[1]\u{1e}",
            "{}\u{1e}",
            "{\"type\":\"1\"}\u{1e}",
            "{\"type\":1,\"arguments\":[]}\u{1e}",
            "{\"type\":1,\"target\":\"X\"}\u{1e}",
            "{\"type\":1,\"target\":\"X\",\"arguments\":{}}\u{1e}",
            "{\"type\":3}\u{1e}",
            "{\"type\":3,\"invocationId\":\"1\",\"result\":1,\"error\":\"e\"}\u{1e}",
            "\u{1e}",
        ] {
            assert!(parse_frame(text, MAX).is_err(), "{text:?} is refused");
        }
    }

    #[test]
    fn handshake_good_and_bad() {
        let request = handshake_request();
        assert_eq!(request, "{\"protocol\":\"json\",\"version\":1}\u{1e}");
        let (parsed, rest) = parse_handshake_request(&request).expect("valid");
        assert_eq!(parsed.check(), Ok(()));
        assert_eq!(rest, "");

        let with_more = format!("{request}{}", encode(&Message::Ping));
        let (_, rest) = parse_handshake_request(&with_more).expect("valid");
        assert_eq!(
            parse_frame(rest, MAX).expect("the ping"),
            vec![Message::Ping]
        );

        let (other, _) =
            parse_handshake_request("{\"protocol\":\"messagepack\",\"version\":1}\u{1e}")
                .expect("well formed");
        assert_eq!(
            other.check(),
            Err("The protocol 'messagepack' is not supported.".into())
        );
        let (v2, _) = parse_handshake_request("{\"protocol\":\"json\",\"version\":2}\u{1e}")
            .expect("well formed");
        assert!(v2.check().is_err());

        assert!(parse_handshake_request("{\"protocol\":\"json\",\"version\":1}").is_err());
        assert!(parse_handshake_request("{\"protocol\":\"json\"}\u{1e}").is_err());

        assert_eq!(handshake_response(None), "{}\u{1e}");
        assert_eq!(
            parse_handshake_response("{}\u{1e}").expect("valid").0,
            Ok(())
        );
        let refused = handshake_response(Some("no"));
        assert_eq!(
            parse_handshake_response(&refused).expect("valid").0,
            Err("no".into())
        );
    }
}
