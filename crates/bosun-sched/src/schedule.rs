//! When a time-triggered job fires: a cron expression in a time zone, or a fixed interval.
//!
//! A [`Schedule`] answers one question, [`Schedule::next_after`]: the first instant
//! strictly after a given one at which the job is due. Everything else (remembering what
//! already fired, catching up after downtime) is built on that in [`crate::missed`].
//!
//! # Cron
//!
//! Expressions are parsed by [croner](https://docs.rs/croner): five fields
//! (`minute hour day-of-month month day-of-week`, minute precision) or six with seconds
//! first; the aliases `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily` and
//! `@hourly`; croner's extensions `L`, `W`, `#` and the `+` day-of-week prefix (day of
//! month AND day of week). A seventh (year) field is refused. Steps must start from `*`
//! or a range (`*/5`, `10-50/5`), as in Vixie cron: `5/5` is refused.
//!
//! The expression is evaluated on the wall clock of an IANA time zone (default `UTC`).
//! Around daylight-saving changes croner does this (pinned by the tests below for
//! `Europe/Berlin` and `America/New_York`):
//!
//! - **Spring forward** (the clock skips an hour): a *fixed-time* expression (single
//!   second, minute and hour values, e.g. `30 2 * * *`) whose time falls in the gap
//!   fires once, at the first instant after the gap (03:00 local in Berlin). An
//!   expression with a wildcard or step in those fields simply has no matches in the gap.
//! - **Fall back** (an hour happens twice): a fixed-time expression fires once, on the
//!   first pass. A wildcard or step expression fires on both passes, every match in
//!   real time order.
//!
//! # Intervals
//!
//! `every 5m` fires on a grid `anchor + k * interval` (k = 0, 1, 2, ...), never at
//! "last run + interval": the next instant depends only on the schedule and the clock,
//! so a restart, a slow run or a late wake-up does not make the grid drift.
//! [`Schedule::every`] anchors at the Unix epoch, so `every 1h` fires on the hour (UTC)
//! and `every 5m` at :00, :05, ...; [`Schedule::every_from`] anchors at a chosen instant
//! (for example the time the job was created), which is also the first fire.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};

use crate::error::ScheduleError;

/// The shortest interval bosun schedules: cron's own resolution.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// When a time-triggered job fires.
///
/// Cheap to clone; immutable once built. Build one with [`Schedule::cron`],
/// [`Schedule::every`] or [`Schedule::every_from`].
///
/// ```
/// use bosun_sched::Schedule;
/// use chrono::{TimeZone, Utc};
///
/// let nightly = Schedule::cron("30 2 * * *", Some("Europe/Berlin")).unwrap();
/// let after = Utc.with_ymd_and_hms(2025, 1, 10, 12, 0, 0).unwrap();
/// // 02:30 in Berlin in winter is 01:30 UTC.
/// assert_eq!(
///     nightly.next_after(after),
///     Some(Utc.with_ymd_and_hms(2025, 1, 11, 1, 30, 0).unwrap())
/// );
///
/// let every = Schedule::every(Schedule::parse_interval("1h30m").unwrap()).unwrap();
/// assert_eq!(
///     every.next_after(after),
///     Some(Utc.with_ymd_and_hms(2025, 1, 10, 13, 30, 0).unwrap())
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Cron {
        /// As the user wrote it, for display and storage.
        expr: String,
        cron: Box<Cron>,
        zone: Tz,
    },
    Every {
        interval: Duration,
        anchor: DateTime<Utc>,
    },
}

impl Schedule {
    /// A cron schedule evaluated on the wall clock of `zone` (an IANA name; `None` means
    /// `"UTC"`).
    ///
    /// Fails with a one-line message naming the bad field or zone, and also when the
    /// expression can never match (`0 0 30 2 *`).
    pub fn cron(expr: &str, zone: Option<&str>) -> Result<Self, ScheduleError> {
        let zone_name = zone.unwrap_or("UTC");
        let zone: Tz = zone_name
            .parse()
            .map_err(|_| ScheduleError::UnknownTimeZone {
                name: zone_name.to_owned(),
            })?;
        let parser = parser();
        let cron = parser.parse(expr).map_err(|err| ScheduleError::Cron {
            expr: expr.to_owned(),
            problem: explain(&parser, expr, &err),
        })?;
        let schedule = Self {
            kind: Kind::Cron {
                expr: expr.trim().to_owned(),
                cron: Box::new(cron),
                zone,
            },
        };
        // Any valid expression matches within a few years (29 February within eight);
        // one that matches nothing from the epoch on never will.
        if schedule.next_after(DateTime::UNIX_EPOCH).is_none() {
            return Err(ScheduleError::NeverFires {
                expr: expr.to_owned(),
            });
        }
        Ok(schedule)
    }

    /// A fixed interval anchored at the Unix epoch: fires at every `epoch + k * interval`.
    ///
    /// The interval must be at least [`MIN_INTERVAL`].
    pub fn every(interval: Duration) -> Result<Self, ScheduleError> {
        Self::every_from(interval, DateTime::UNIX_EPOCH)
    }

    /// A fixed interval anchored at `anchor`: fires at `anchor`, `anchor + interval`, ...
    ///
    /// Nothing fires before `anchor`. Store the anchor with the job (its creation time, say)
    /// so the grid is the same after a restart.
    pub fn every_from(interval: Duration, anchor: DateTime<Utc>) -> Result<Self, ScheduleError> {
        if interval < MIN_INTERVAL {
            return Err(ScheduleError::IntervalTooShort { interval });
        }
        Ok(Self {
            kind: Kind::Every { interval, anchor },
        })
    }

    /// Parses a human interval such as `"30s"`, `"5m"`, `"1h30m"` or `"1h 30m"`
    /// ([humantime](https://docs.rs/humantime) syntax), refusing anything below
    /// [`MIN_INTERVAL`].
    pub fn parse_interval(text: &str) -> Result<Duration, ScheduleError> {
        let interval =
            humantime::parse_duration(text.trim()).map_err(|err| ScheduleError::Interval {
                text: text.to_owned(),
                problem: err.to_string(),
            })?;
        if interval < MIN_INTERVAL {
            return Err(ScheduleError::IntervalTooShort { interval });
        }
        Ok(interval)
    }

    /// The first instant strictly after `after` at which the schedule fires.
    ///
    /// `None` only when there is none left in range: a cron expression past the year
    /// 5000 (croner's horizon) or an interval past chrono's last date.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron { cron, zone, .. } => cron
                .find_next_occurrence(&after.with_timezone(zone), false)
                .ok()
                .map(|next| next.with_timezone(&Utc)),
            Kind::Every { interval, anchor } => {
                let step = interval.as_nanos() as i128;
                let elapsed = nanos(after) - nanos(*anchor);
                if elapsed < 0 {
                    return Some(*anchor);
                }
                let k = elapsed.div_euclid(step) + 1;
                from_nanos(nanos(*anchor) + k * step)
            }
        }
    }

    /// The latest instant at or before `at` at which the schedule fires, if any.
    ///
    /// Lets [`crate::missed::due`] find the most recent missed runs without walking
    /// forward through every one of them.
    pub(crate) fn latest_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron { cron, zone, .. } => cron
                .find_previous_occurrence(&at.with_timezone(zone), true)
                .ok()
                .map(|prev| prev.with_timezone(&Utc)),
            Kind::Every { interval, anchor } => {
                let step = interval.as_nanos() as i128;
                let elapsed = nanos(at) - nanos(*anchor);
                if elapsed < 0 {
                    return None;
                }
                from_nanos(nanos(*anchor) + elapsed.div_euclid(step) * step)
            }
        }
    }

    /// The cron expression, trimmed, if this is a cron schedule.
    pub fn expression(&self) -> Option<&str> {
        match &self.kind {
            Kind::Cron { expr, .. } => Some(expr),
            Kind::Every { .. } => None,
        }
    }

    /// The IANA name of the time zone a cron schedule is evaluated in.
    pub fn time_zone(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::Cron { zone, .. } => Some(zone.name()),
            Kind::Every { .. } => None,
        }
    }

    /// The interval, if this is an interval schedule.
    pub fn interval(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Every { interval, .. } => Some(*interval),
            Kind::Cron { .. } => None,
        }
    }

    /// The instant an interval schedule's grid starts from (its first fire).
    pub fn anchor(&self) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Every { anchor, .. } => Some(*anchor),
            Kind::Cron { .. } => None,
        }
    }
}

impl fmt::Display for Schedule {
    /// `cron "30 2 * * *" in Europe/Berlin` or `every 1h 30m from 1970-01-01 00:00:00 UTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Cron { expr, zone, .. } => write!(f, "cron {expr:?} in {}", zone.name()),
            Kind::Every { interval, anchor } => write!(
                f,
                "every {} from {anchor}",
                humantime::format_duration(*interval)
            ),
        }
    }
}

/// Seconds optional (5 or 6 fields), no year field, Vixie-style steps.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
}

fn nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
}

fn from_nanos(n: i128) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(n.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(n.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, sub)
}

/// A cron field: its name in messages and what it accepts.
struct Field {
    name: &'static str,
    allowed: &'static str,
}

/// In six-field order; five-field expressions skip the first.
const FIELDS: [Field; 6] = [
    Field {
        name: "second",
        allowed: "0-59",
    },
    Field {
        name: "minute",
        allowed: "0-59",
    },
    Field {
        name: "hour",
        allowed: "0-23",
    },
    Field {
        name: "day of month",
        allowed: "1-31 (or L, or nW)",
    },
    Field {
        name: "month",
        allowed: "1-12 or JAN-DEC",
    },
    Field {
        name: "day of week",
        allowed: "0-7 or SUN-SAT (0 and 7 are Sunday; also nL, n#k)",
    },
];

/// Turns croner's error into a message that names the field at fault.
///
/// croner reports what is wrong ("Number out of bounds.") but not where, so each field
/// is parsed again on its own, the others set to `*`, and the first that fails is named.
fn explain(parser: &CronParser, expr: &str, err: &CronError) -> String {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return "it is empty; write 5 fields (minute hour day-of-month month day-of-week) \
                or 6 with seconds first"
            .to_owned();
    }
    if trimmed.starts_with('@') {
        return format!(
            "unknown alias {trimmed:?}; use @yearly, @annually, @monthly, @weekly, @daily or @hourly"
        );
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    let specs = match fields.len() {
        5 => &FIELDS[1..],
        6 => &FIELDS[..],
        n => {
            return format!(
                "expected 5 fields (minute hour day-of-month month day-of-week) \
                 or 6 with seconds first, got {n}"
            );
        }
    };
    for (i, (field, spec)) in fields.iter().zip(specs).enumerate() {
        let mut alone = vec!["*"; fields.len()];
        alone[i] = field;
        if let Err(field_err) = parser.parse(&alone.join(" ")) {
            return format!(
                "{} must be {}, got {field:?} ({})",
                spec.name,
                spec.allowed,
                detail(&field_err)
            );
        }
    }
    detail(err)
}

/// croner's message without its prefix, in lower case, for use inside a sentence.
fn detail(err: &CronError) -> String {
    let text = match err {
        CronError::ComponentError(msg) | CronError::InvalidPattern(msg) => msg.clone(),
        CronError::IllegalCharacters(_) => "unexpected character".to_owned(),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("test instants are valid UTC times")
    }

    fn cron(expr: &str, zone: &str) -> Schedule {
        Schedule::cron(expr, Some(zone)).expect("test expressions are valid")
    }

    /// The next `n` fire times after `after`.
    fn fires(schedule: &Schedule, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(schedule.next_after(after), |t| schedule.next_after(*t))
            .take(n)
            .collect()
    }

    #[test]
    fn schedules_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Schedule>();
    }

    #[test]
    fn five_fields_have_minute_precision() {
        let s = Schedule::cron("*/15 * * * *", None).unwrap();
        assert_eq!(
            fires(&s, utc(2025, 1, 1, 10, 7, 30), 3),
            [
                utc(2025, 1, 1, 10, 15, 0),
                utc(2025, 1, 1, 10, 30, 0),
                utc(2025, 1, 1, 10, 45, 0)
            ]
        );
    }

    #[test]
    fn six_fields_put_seconds_first() {
        let s = Schedule::cron("*/20 * * * * *", None).unwrap();
        assert_eq!(
            fires(&s, utc(2025, 1, 1, 10, 0, 5), 3),
            [
                utc(2025, 1, 1, 10, 0, 20),
                utc(2025, 1, 1, 10, 0, 40),
                utc(2025, 1, 1, 10, 1, 0)
            ]
        );
    }

    #[test]
    fn next_after_is_strictly_after() {
        let s = Schedule::cron("0 * * * *", None).unwrap();
        let on_the_hour = utc(2025, 1, 1, 10, 0, 0);
        assert_eq!(s.next_after(on_the_hour), Some(utc(2025, 1, 1, 11, 0, 0)));
        let e = Schedule::every(Duration::from_secs(3600)).unwrap();
        assert_eq!(e.next_after(on_the_hour), Some(utc(2025, 1, 1, 11, 0, 0)));
    }

    #[test]
    fn sub_second_instants_round_to_the_next_whole_match() {
        let s = Schedule::cron("* * * * * *", None).unwrap();
        let t = utc(2025, 1, 1, 10, 0, 0) + chrono::TimeDelta::milliseconds(500);
        assert_eq!(s.next_after(t), Some(utc(2025, 1, 1, 10, 0, 1)));
        assert_eq!(s.latest_at_or_before(t), Some(utc(2025, 1, 1, 10, 0, 0)));
    }

    #[test]
    fn aliases_are_accepted() {
        let after = utc(2025, 1, 1, 10, 30, 0);
        let hourly = Schedule::cron("@hourly", None).unwrap();
        assert_eq!(hourly.next_after(after), Some(utc(2025, 1, 1, 11, 0, 0)));
        let daily = Schedule::cron("@daily", None).unwrap();
        assert_eq!(daily.next_after(after), Some(utc(2025, 1, 2, 0, 0, 0)));
    }

    #[test]
    fn zone_shifts_the_wall_clock() {
        // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC.
        let s = cron("0 9 * * *", "Asia/Tokyo");
        assert_eq!(
            s.next_after(utc(2025, 6, 1, 12, 0, 0)),
            Some(utc(2025, 6, 2, 0, 0, 0))
        );
        assert_eq!(s.time_zone(), Some("Asia/Tokyo"));
        assert_eq!(
            Schedule::cron("0 9 * * *", None).unwrap().time_zone(),
            Some("UTC")
        );
    }

    // Europe/Berlin, 2025-03-30: at 02:00 CET (01:00 UTC) clocks jump to 03:00 CEST.
    #[test]
    fn berlin_spring_forward_fixed_time_in_the_gap_fires_once_right_after_it() {
        let s = cron("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, utc(2025, 3, 29, 12, 0, 0), 2),
            [
                // 03:00 CEST, the first instant after the gap; 02:30 does not exist.
                utc(2025, 3, 30, 1, 0, 0),
                // 02:30 CEST the next day.
                utc(2025, 3, 31, 0, 30, 0),
            ]
        );
    }

    #[test]
    fn berlin_spring_forward_stepped_expression_skips_the_gap() {
        let s = cron("*/30 * * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, utc(2025, 3, 30, 0, 15, 0), 3),
            [
                utc(2025, 3, 30, 0, 30, 0), // 01:30 CET
                utc(2025, 3, 30, 1, 0, 0),  // 03:00 CEST; 02:00 and 02:30 never happen
                utc(2025, 3, 30, 1, 30, 0), // 03:30 CEST
            ]
        );
    }

    // Europe/Berlin, 2025-10-26: at 03:00 CEST (01:00 UTC) clocks go back to 02:00 CET,
    // so 02:00-02:59 happens twice.
    #[test]
    fn berlin_fall_back_fixed_time_in_the_overlap_fires_once_on_the_first_pass() {
        let s = cron("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, utc(2025, 10, 25, 12, 0, 0), 2),
            [
                utc(2025, 10, 26, 0, 30, 0), // 02:30 CEST; not again at 02:30 CET (01:30 UTC)
                utc(2025, 10, 27, 1, 30, 0), // 02:30 CET the next day
            ]
        );
    }

    #[test]
    fn berlin_fall_back_stepped_expression_fires_on_both_passes() {
        let s = cron("*/30 * * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, utc(2025, 10, 25, 23, 45, 0), 5),
            [
                utc(2025, 10, 26, 0, 0, 0),  // 02:00 CEST
                utc(2025, 10, 26, 0, 30, 0), // 02:30 CEST
                utc(2025, 10, 26, 1, 0, 0),  // 02:00 CET
                utc(2025, 10, 26, 1, 30, 0), // 02:30 CET
                utc(2025, 10, 26, 2, 0, 0),  // 03:00 CET
            ]
        );
    }

    #[test]
    fn berlin_01_30_is_unaffected_by_either_change() {
        let s = cron("30 1 * * *", "Europe/Berlin");
        assert_eq!(
            fires(&s, utc(2025, 10, 25, 12, 0, 0), 2),
            [utc(2025, 10, 25, 23, 30, 0), utc(2025, 10, 27, 0, 30, 0)]
        );
        assert_eq!(
            fires(&s, utc(2025, 3, 29, 12, 0, 0), 2),
            [utc(2025, 3, 30, 0, 30, 0), utc(2025, 3, 30, 23, 30, 0)]
        );
    }

    // America/New_York, 2025-11-02: at 02:00 EDT (06:00 UTC) clocks go back to 01:00 EST,
    // so 01:30 happens at 05:30 and at 06:30 UTC.
    #[test]
    fn new_york_fall_back_01_30_fires_once() {
        let s = cron("30 1 * * *", "America/New_York");
        assert_eq!(
            fires(&s, utc(2025, 11, 1, 12, 0, 0), 2),
            [utc(2025, 11, 2, 5, 30, 0), utc(2025, 11, 3, 6, 30, 0)]
        );
    }

    #[test]
    fn latest_at_or_before_is_inclusive() {
        let s = Schedule::cron("0 * * * *", None).unwrap();
        let t = utc(2025, 1, 1, 10, 0, 0);
        assert_eq!(s.latest_at_or_before(t), Some(t));
        assert_eq!(
            s.latest_at_or_before(t + chrono::TimeDelta::minutes(59)),
            Some(t)
        );
        let e = Schedule::every(Duration::from_secs(3600)).unwrap();
        assert_eq!(e.latest_at_or_before(t), Some(t));
        assert_eq!(
            e.latest_at_or_before(t - chrono::TimeDelta::seconds(1)),
            Some(utc(2025, 1, 1, 9, 0, 0))
        );
    }

    #[test]
    fn intervals_sit_on_a_grid_from_the_epoch() {
        let every = Schedule::every(Schedule::parse_interval("1h30m").unwrap()).unwrap();
        assert_eq!(
            fires(&every, utc(2025, 1, 1, 0, 10, 0), 3),
            [
                utc(2025, 1, 1, 1, 30, 0),
                utc(2025, 1, 1, 3, 0, 0),
                utc(2025, 1, 1, 4, 30, 0)
            ]
        );
    }

    #[test]
    fn anchored_intervals_start_at_the_anchor_and_do_not_drift() {
        let anchor = utc(2025, 1, 1, 10, 0, 7);
        let every = Schedule::every_from(Duration::from_secs(300), anchor).unwrap();
        // Before the anchor, the anchor is the first fire.
        assert_eq!(every.next_after(utc(2024, 12, 1, 0, 0, 0)), Some(anchor));
        assert_eq!(every.latest_at_or_before(utc(2024, 12, 1, 0, 0, 0)), None);
        // A late look (a restart at 10:12:00) lands back on the grid, not at 10:17:00.
        assert_eq!(
            every.next_after(utc(2025, 1, 1, 10, 12, 0)),
            Some(utc(2025, 1, 1, 10, 15, 7))
        );
        // A year later, still on the grid.
        assert_eq!(
            every.next_after(utc(2026, 1, 1, 10, 0, 0)),
            Some(utc(2026, 1, 1, 10, 0, 7))
        );
        assert_eq!(every.anchor(), Some(anchor));
    }

    #[test]
    fn human_intervals_parse() {
        for (text, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            (" 2h ", 7200),
        ] {
            assert_eq!(
                Schedule::parse_interval(text).unwrap(),
                Duration::from_secs(secs),
                "{text}"
            );
        }
    }

    #[test]
    fn intervals_under_a_second_are_refused() {
        let err = Schedule::parse_interval("500ms").unwrap_err();
        assert_eq!(
            err.to_string(),
            "interval 500ms is too short: use at least 1s"
        );
        assert!(Schedule::every(Duration::from_millis(999)).is_err());
        assert!(Schedule::every(Duration::ZERO).is_err());
    }

    #[test]
    fn bad_interval_text_is_explained() {
        let err = Schedule::parse_interval("5 parsecs")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid interval \"5 parsecs\": "), "{err}");
        assert!(
            err.ends_with("write a duration such as \"30s\", \"5m\" or \"1h30m\""),
            "{err}"
        );
    }

    fn cron_error(expr: &str) -> String {
        Schedule::cron(expr, None).unwrap_err().to_string()
    }

    #[test]
    fn cron_errors_name_the_field() {
        for (expr, message) in [
            (
                "61 * * * *",
                "invalid cron expression \"61 * * * *\": minute must be 0-59, got \"61\" (number out of bounds)",
            ),
            (
                "0 24 * * *",
                "invalid cron expression \"0 24 * * *\": hour must be 0-23, got \"24\" (number out of bounds)",
            ),
            (
                "60 0 0 * * *",
                "invalid cron expression \"60 0 0 * * *\": second must be 0-59, got \"60\" (number out of bounds)",
            ),
            (
                "0 0 * 13 *",
                "invalid cron expression \"0 0 * 13 *\": month must be 1-12 or JAN-DEC, got \"13\" (number out of bounds)",
            ),
            (
                "*/0 * * * *",
                "invalid cron expression \"*/0 * * * *\": minute must be 0-59, got \"*/0\" (step cannot be zero)",
            ),
            (
                "0 0 * * funday",
                "invalid cron expression \"0 0 * * funday\": day of week must be 0-7 or SUN-SAT (0 and 7 are Sunday; also nL, n#k), got \"funday\" (unexpected character)",
            ),
            (
                "* * * *",
                "invalid cron expression \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 4",
            ),
            (
                "0 0 0 1 1 * 2030",
                "invalid cron expression \"0 0 0 1 1 * 2030\": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 7",
            ),
            (
                "@fortnightly",
                "invalid cron expression \"@fortnightly\": unknown alias \"@fortnightly\"; use @yearly, @annually, @monthly, @weekly, @daily or @hourly",
            ),
        ] {
            assert_eq!(cron_error(expr), message);
        }
        assert!(cron_error("  ").contains("it is empty"));
    }

    #[test]
    fn impossible_dates_never_fire() {
        assert_eq!(
            cron_error("0 0 30 2 *"),
            "cron expression \"0 0 30 2 *\" never fires: no date matches it; check the day of month against the month"
        );
        // Rare is fine: 29 February.
        let leap = Schedule::cron("0 0 29 2 *", None).unwrap();
        assert_eq!(
            leap.next_after(utc(2025, 1, 1, 0, 0, 0)),
            Some(utc(2028, 2, 29, 0, 0, 0))
        );
    }

    #[test]
    fn unknown_zones_suggest_an_iana_name() {
        assert_eq!(
            Schedule::cron("0 * * * *", Some("Mars/Base"))
                .unwrap_err()
                .to_string(),
            "unknown time zone \"Mars/Base\": use an IANA name such as \"Europe/Berlin\" or \"UTC\""
        );
    }

    #[test]
    fn display_says_what_it_is() {
        assert_eq!(
            cron("30 2 * * *", "Europe/Berlin").to_string(),
            "cron \"30 2 * * *\" in Europe/Berlin"
        );
        assert_eq!(
            Schedule::every(Duration::from_secs(5400))
                .unwrap()
                .to_string(),
            "every 1h 30m from 1970-01-01 00:00:00 UTC"
        );
    }
}
