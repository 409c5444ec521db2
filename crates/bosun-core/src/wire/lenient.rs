//! The wire types' lenient reading: each function reads a field whatever the server
//! put there, and falls back to absent (or the default) instead of failing the reply.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::ExecutionStatus;

/// Any scalar as text (a number id reads as its digits); null, lists and objects as
/// absent.
pub(crate) fn text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    })
}

/// [`text_opt`], empty when absent.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text_opt(d)?.unwrap_or_default())
}

/// The value if it has the expected type, else the type's default (`None` for an
/// `Option`).
pub(crate) fn value<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
}

/// A status by its name, in any case; `None` for one this build does not know.
pub(crate) fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ExecutionStatus>, D::Error> {
    Ok(text_opt(d)?.and_then(|name| ExecutionStatus::from_name(&name)))
}
