//! How times, durations and progress are shown to people in the client's tables: short,
//! two units at most, local time.

use std::time::Duration;

use chrono::{DateTime, Local, Utc};

/// A duration in at most two units: `850ms`, `12s`, `3m 12s`, `2h 5m`, `3d 4h`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match secs {
        0 => format!("{}ms", d.subsec_millis()),
        1..60 => format!("{seconds}s"),
        60..3600 => format!("{minutes}m {seconds}s"),
        3600..86_400 => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// [`duration`] of a number of seconds (negative counts as zero).
pub(crate) fn seconds(secs: f64) -> String {
    duration(Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))
}

/// The time between two moments, as [`duration`].
pub(crate) fn between(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    duration((end - start).to_std().unwrap_or_default())
}

/// How long ago: `5m 3s ago`, or `just now` within the second.
pub(crate) fn ago(time: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if now - time < chrono::TimeDelta::seconds(1) {
        return "just now".to_owned();
    }
    format!("{} ago", between(time, now))
}

/// A time in the local zone, to the second: `2025-03-01 14:05:09`.
pub(crate) fn local(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A progress of 0–100 as `40%`; absent as a dash.
pub(crate) fn percent(progress: Option<f64>) -> String {
    match progress {
        Some(p) => format!("{:.0}%", p.clamp(0.0, 100.0)),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_two_units_at_most() {
        let s = Duration::from_secs;
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(s(12)), "12s");
        assert_eq!(duration(s(192)), "3m 12s");
        assert_eq!(duration(s(2 * 3600 + 5 * 60 + 7)), "2h 5m");
        assert_eq!(duration(s(3 * 86_400 + 4 * 3600 + 99)), "3d 4h");
        assert_eq!(seconds(-3.0), "0ms");
    }

    #[test]
    fn times_and_progress() {
        let time = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let start = time("2025-03-01T14:05:09Z");
        let end = time("2025-03-01T14:06:10.5+00:00");
        assert_eq!(between(start, end), "1m 1s");
        assert_eq!(between(end, start), "0ms", "a clock skew shows as nothing");
        assert_eq!(ago(start, end), "1m 1s ago");
        assert_eq!(ago(end, end), "just now");
        assert_eq!(percent(Some(42.4)), "42%");
        assert_eq!(percent(None), "-");
    }
}
