//! Times are stored as milliseconds since the Unix epoch, which both engines store and
//! compare the same way.

use chrono::{DateTime, Utc};

/// A time as stored.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time. Out-of-range values (impossible from [`to_ms`]) read as the epoch.
pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// An optional stored time.
pub(crate) fn opt(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}
