//! Case-insensitive field lookup.
//!
//! The seeds' .NET serializers write PascalCase while hand-written JSON tends to be
//! camelCase; bosun accepts both on input by matching field names without regard to
//! case. Parsers read a `serde_json::Value` and use these helpers.

use serde_json::{Map, Value};

/// Returns the value of the first field whose name equals `name` ignoring ASCII case.
pub(crate) fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}
