//! Case-insensitive field lookup.
//!
//! The seeds' .NET serializers write PascalCase while hand-written JSON tends to be
//! camelCase; bosun accepts both on input by matching field names without regard to
//! case. Parsers read a `serde_json::Value` and look fields up with [`get`] (or
//! [`get_non_null`], where a `null` means "not given"); the same lookup serves any map
//! keyed by name, such as a stream entry's fields. A field a place does not have is
//! refused by [`check_fields`], with the likely intended one.

use serde_json::{Map, Value};

use crate::error::SpecError;

/// The value of the first entry whose name equals `name` ignoring ASCII case, in the
/// order `entries` gives them: a JSON object's fields, a `HashMap`'s entries.
pub fn get<'a, K, V>(entries: impl IntoIterator<Item = (&'a K, &'a V)>, name: &str) -> Option<&'a V>
where
    K: AsRef<str> + ?Sized + 'a,
    V: 'a,
{
    entries
        .into_iter()
        .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The field of `object` called `name` in any ASCII case, for changing it: the first,
/// as [`get`] finds it.
pub fn get_mut<'a>(object: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    object
        .iter_mut()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The field of `object` called `name` in any ASCII case, a `null` counting as absent.
pub fn get_non_null<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    get(object, name).filter(|value| !value.is_null())
}

/// Refuses a field of `object` that is none of `known` (compared without regard to
/// ASCII case), naming the known one it most likely means.
pub fn check_fields(
    object: &Map<String, Value>,
    place: &'static str,
    known: &'static [&'static str],
) -> Result<(), SpecError> {
    let unknown = object
        .keys()
        .find(|key| !known.iter().any(|k| k.eq_ignore_ascii_case(key)));
    match unknown {
        None => Ok(()),
        Some(field) => Err(SpecError::UnknownField {
            place,
            field: field.clone(),
            suggestion: closest(field, known),
            known,
        }),
    }
}

/// The end of an unknown field's message: the suggestion, else the known fields.
pub(crate) fn hint(suggestion: Option<&str>, known: &[&str]) -> String {
    match suggestion {
        Some(s) => format!("; did you mean {s:?}?"),
        None => format!(": known fields are {}", known.join(", ")),
    }
}

/// The known name closest to `given` by edit distance (ignoring case), if it is
/// close enough to be a slip: at most 2 edits, or a third of its length; or one
/// that starts with what was given.
fn closest(given: &str, known: &[&'static str]) -> Option<&'static str> {
    let given = given.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (*k, distance(&given, &k.to_ascii_lowercase())))
        .filter(|(k, d)| {
            *d <= 2.max(k.len() / 3)
                || (given.len() >= 3 && k.to_ascii_lowercase().starts_with(&given))
        })
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn fields_are_found_in_any_case_and_a_null_only_by_get() {
        let value = json!({ "Name": "a", "timeout": null });
        let object = value.as_object().expect("an object");
        assert_eq!(get(object, "name"), Some(&json!("a")));
        assert_eq!(get(object, "TIMEOUT"), Some(&Value::Null));
        assert_eq!(get_non_null(object, "name"), Some(&json!("a")));
        assert_eq!(get_non_null(object, "timeout"), None);
        assert_eq!(get(object, "missing"), None);
        let entry = HashMap::from([("JobId".to_owned(), 7)]);
        assert_eq!(get(&entry, "jobid"), Some(&7));
    }

    #[test]
    fn a_field_found_in_any_case_can_be_changed_in_place() {
        let mut value = json!({ "Command": "a" });
        let object = value.as_object_mut().expect("an object");
        *get_mut(object, "command").expect("the field is there") = json!("b");
        assert_eq!(value, json!({ "Command": "b" }));
    }

    #[test]
    fn the_closest_known_field_is_suggested_only_when_close() {
        const KNOWN: &[&str] = &["timeoutMinutes", "timeoutSeconds", "memoryMb", "name"];
        assert_eq!(closest("timeoutSecs", KNOWN), Some("timeoutSeconds"));
        assert_eq!(closest("TIMEOUTSECOND", KNOWN), Some("timeoutSeconds"));
        assert_eq!(closest("timeout_minutes", KNOWN), Some("timeoutMinutes"));
        assert_eq!(closest("memory", KNOWN), Some("memoryMb"));
        assert_eq!(closest("nmae", KNOWN), Some("name"));
        assert_eq!(closest("retries", KNOWN), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
