//! The windows of the executions' activity chart (`GET /api/executions/activity`):
//! how far back it looks and how finely it is cut.
//!
//! Buckets are aligned to whole multiples of their length since the Unix epoch
//! (whole minutes, whole quarter hours), so readings a moment apart put the same
//! executions in the same buckets, and the last bucket is the one holding now. A day
//! is cut into quarter hours rather than hours: 96 bars still fit a chart, and a
//! burst of failures shows within 15 minutes rather than blurred over an hour.

use chrono::{DateTime, Utc};

use crate::named::named;

named! {
    /// How far back the activity chart looks.
    pub enum ActivityWindow ("activity window") {
        /// The last hour, in 60 one-minute buckets.
        Hour = "hour",
        /// The last day, in 96 fifteen-minute buckets.
        Day = "day",
    }
}

impl ActivityWindow {
    /// How long one bucket is, in seconds.
    pub fn bucket_seconds(self) -> i64 {
        match self {
            Self::Hour => 60,
            Self::Day => 15 * 60,
        }
    }

    /// How many buckets the window has.
    pub fn buckets(self) -> usize {
        match self {
            Self::Hour => 60,
            Self::Day => 96,
        }
    }

    /// The start of the window's oldest bucket, when its newest is the one holding
    /// `now`.
    pub fn first_bucket(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let length = self.bucket_seconds() * 1000;
        let current = now.timestamp_millis().div_euclid(length) * length;
        let count = i64::try_from(self.buckets()).expect("a window has a few buckets");
        DateTime::from_timestamp_millis(current - (count - 1) * length)
            .expect("a window starts within a day of a representable time")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_hour_is_sixty_whole_minutes_ending_with_the_current_one() {
        let first = ActivityWindow::Hour.first_bucket(at("2026-03-04T10:30:45.500Z"));
        assert_eq!(first, at("2026-03-04T09:31:00Z"));
        // The last bucket starts at 10:30 and holds now.
        let last = first + chrono::TimeDelta::seconds(59 * 60);
        assert_eq!(last, at("2026-03-04T10:30:00Z"));
    }

    #[test]
    fn a_day_is_ninety_six_quarter_hours_ending_with_the_current_one() {
        let window = ActivityWindow::Day;
        assert_eq!(window.buckets() as i64 * window.bucket_seconds(), 24 * 3600);
        // The current bucket is 10:30 to 10:45; 95 more before it.
        let first = window.first_bucket(at("2026-03-04T10:44:59Z"));
        assert_eq!(first, at("2026-03-03T10:45:00Z"));
        // On a boundary, the bucket starting then is the current one.
        let first = window.first_bucket(at("2026-03-04T10:45:00Z"));
        assert_eq!(first, at("2026-03-03T11:00:00Z"));
    }

    #[test]
    fn a_window_is_read_in_any_case_and_an_unknown_one_names_those_there_are() {
        assert_eq!(ActivityWindow::from_name(" Day"), Ok(ActivityWindow::Day));
        let e = ActivityWindow::from_name("Week").unwrap_err().to_string();
        assert_eq!(e, "unknown activity window \"Week\": use one of hour, day");
    }
}
