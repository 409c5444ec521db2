//! What to run after downtime, and what to remember so nothing fires twice.
//!
//! The server stores, per scheduled job, `next_fire` (the instant it is waiting for) and
//! the instant it last fired. Whenever it wakes (its timer for `next_fire` went off, or
//! it just started after being down) it calls [`due`], then, **in one transaction**,
//! creates one execution per instant in [`Due::fire`] and stores [`Due::next`] as the
//! new `next_fire` (and the last of `fire` as the last fired instant). If the process
//! dies before the commit, nothing was recorded and the same instants are due again;
//! after the commit they are in the past of `next_fire` and never come back. That is
//! what makes a schedule survive a restart without firing twice or silently losing a run.
//!
//! [`MissedPolicy`] (a domain type of `bosun-core`, re-exported here) decides what
//! happens to instants that passed while nobody was looking.

use std::time::Duration;

pub use bosun_core::MissedPolicy;
use chrono::{DateTime, TimeDelta, Utc};

use crate::schedule::Schedule;

/// How late an instant may be seen and still count as on time under
/// [`MissedPolicy::Skip`]: a wake-up delayed by load or a quick restart still runs the
/// instant it was waiting for; longer downtime skips it.
pub const ON_TIME_GRACE: Duration = Duration::from_secs(60);

/// The outcome of [`due`]: what to run now and what to wait for next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The scheduled instants to run now, oldest first, no two equal. Record each as its
    /// execution's "scheduled for"; the last one is the new "last fired".
    pub fire: Vec<DateTime<Utc>>,
    /// The instant to store as `next_fire`: strictly after `now` and after every instant
    /// in `fire` (or the unchanged `stored_next` if that is still in the future). `None`
    /// when the schedule has no instant left.
    pub next: Option<DateTime<Utc>>,
}

/// Decides which instants are due at `now`, and the next instant to wait for.
///
/// - `last_fired`: the latest instant already run, if any. Nothing at or before it is
///   ever returned again, even if `stored_next` or the clock went backwards.
/// - `stored_next`: the `next_fire` the server stored last time. It is taken as due
///   when `now` reaches it, even if it is off the schedule's grid (the schedule was
///   edited); the instants after it come from `schedule`.
/// - `now`: the current time.
///
/// The due instants are `stored_next` and every scheduled instant after it, up to and
/// including `now`, excluding anything at or before `last_fired`; `policy` picks which of
/// them run. The work is bounded by the number returned, not by the length of the
/// downtime: a one-second interval missed for a year costs as little as an hour.
///
/// ```
/// use bosun_sched::{due, MissedPolicy, Schedule};
/// use chrono::{TimeZone, Utc};
///
/// let hourly = Schedule::cron("0 * * * *", None).unwrap();
/// let at = |h| Utc.with_ymd_and_hms(2025, 1, 1, h, 0, 0).unwrap();
/// // Down from 09:30 to 12:10, waiting for 10:00: 10:00, 11:00 and 12:00 were missed.
/// let d = due(&hourly, Some(at(9)), at(10), at(12) + chrono::TimeDelta::minutes(10), MissedPolicy::RunOnce);
/// assert_eq!(d.fire, [at(12)]);
/// assert_eq!(d.next, Some(at(13)));
/// ```
pub fn due(
    schedule: &Schedule,
    last_fired: Option<DateTime<Utc>>,
    stored_next: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: MissedPolicy,
) -> Due {
    // The earliest instant that may still fire.
    let first = match last_fired {
        Some(last) if stored_next <= last => schedule.next_after(last),
        _ => Some(stored_next),
    };
    let Some(first) = first else {
        return Due {
            fire: Vec::new(),
            next: None,
        };
    };
    if first > now {
        return Due {
            fire: Vec::new(),
            next: Some(first),
        };
    }

    let latest = match schedule.latest_at_or_before(now) {
        Some(t) if t > first => t,
        _ => first,
    };
    // The due instant just before `t`, walking back no further than `first`.
    let before = |t: DateTime<Utc>| -> Option<DateTime<Utc>> {
        match schedule.latest_at_or_before(t - TimeDelta::nanoseconds(1)) {
            Some(prev) if prev >= first => Some(prev),
            _ if first < t => Some(first),
            _ => None,
        }
    };

    let fire = match policy {
        MissedPolicy::Skip => {
            let grace = TimeDelta::from_std(ON_TIME_GRACE).expect("the grace is a minute");
            if now - latest <= grace {
                vec![latest]
            } else {
                Vec::new()
            }
        }
        MissedPolicy::RunOnce => vec![latest],
        MissedPolicy::RunAll { max } => {
            let cap = max.max(1) as usize;
            let mut fire: Vec<_> = std::iter::successors(Some(latest), |t| before(*t))
                .take(cap)
                .collect();
            fire.reverse();
            fire
        }
    };
    Due {
        fire,
        next: schedule.next_after(now),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, h, m, s)
            .single()
            .expect("test instants are valid UTC times")
    }

    fn hourly() -> Schedule {
        Schedule::cron("0 * * * *", None).expect("a valid expression")
    }

    const ALL: [MissedPolicy; 3] = [
        MissedPolicy::Skip,
        MissedPolicy::RunOnce,
        MissedPolicy::RunAll { max: 5 },
    ];

    #[test]
    fn on_time_every_policy_fires_the_instant() {
        let now = at(10, 0, 0) + TimeDelta::milliseconds(15);
        for policy in ALL {
            let d = due(&hourly(), Some(at(9, 0, 0)), at(10, 0, 0), now, policy);
            assert_eq!(d.fire, [at(10, 0, 0)], "{policy:?}");
            assert_eq!(d.next, Some(at(11, 0, 0)), "{policy:?}");
        }
    }

    #[test]
    fn exactly_at_the_instant_it_fires() {
        for policy in ALL {
            let d = due(&hourly(), None, at(10, 0, 0), at(10, 0, 0), policy);
            assert_eq!(d.fire, [at(10, 0, 0)], "{policy:?}");
            assert_eq!(d.next, Some(at(11, 0, 0)));
        }
    }

    #[test]
    fn an_early_wake_fires_nothing_and_keeps_waiting() {
        for policy in ALL {
            let d = due(
                &hourly(),
                Some(at(9, 0, 0)),
                at(10, 0, 0),
                at(9, 59, 59),
                policy,
            );
            assert!(d.fire.is_empty(), "{policy:?}");
            assert_eq!(d.next, Some(at(10, 0, 0)));
        }
    }

    #[test]
    fn a_restart_after_the_commit_does_not_fire_again() {
        // 10:00 ran and 11:00 was stored; the server restarts at 10:30.
        for policy in ALL {
            let d = due(
                &hourly(),
                Some(at(10, 0, 0)),
                at(11, 0, 0),
                at(10, 30, 0),
                policy,
            );
            assert!(d.fire.is_empty(), "{policy:?}");
            assert_eq!(d.next, Some(at(11, 0, 0)));
        }
    }

    #[test]
    fn a_stale_stored_next_at_or_before_last_fired_never_fires_twice() {
        // Whatever went wrong, 10:00 is recorded as fired: it must not run again.
        for policy in ALL {
            let d = due(
                &hourly(),
                Some(at(10, 0, 0)),
                at(10, 0, 0),
                at(10, 0, 5),
                policy,
            );
            assert!(d.fire.is_empty(), "{policy:?}");
            assert_eq!(d.next, Some(at(11, 0, 0)));
            let d = due(
                &hourly(),
                Some(at(10, 0, 0)),
                at(9, 0, 0),
                at(11, 0, 5),
                policy,
            );
            assert_eq!(d.fire, [at(11, 0, 0)], "{policy:?}");
        }
    }

    #[test]
    fn a_clock_that_went_back_fires_nothing() {
        for policy in ALL {
            let d = due(
                &hourly(),
                Some(at(10, 0, 0)),
                at(11, 0, 0),
                at(8, 0, 0),
                policy,
            );
            assert!(d.fire.is_empty(), "{policy:?}");
            assert_eq!(d.next, Some(at(11, 0, 0)));
        }
    }

    #[test]
    fn skip_fires_nothing_for_the_past() {
        // Down from 09:30 to 15:10: 10:00 .. 15:00 all missed, the latest by 10 minutes.
        let d = due(
            &hourly(),
            Some(at(9, 0, 0)),
            at(10, 0, 0),
            at(15, 10, 0),
            MissedPolicy::Skip,
        );
        assert!(d.fire.is_empty());
        assert_eq!(d.next, Some(at(16, 0, 0)));
    }

    #[test]
    fn skip_still_runs_an_instant_within_the_grace() {
        let d = due(
            &hourly(),
            Some(at(9, 0, 0)),
            at(10, 0, 0),
            at(15, 1, 0),
            MissedPolicy::Skip,
        );
        assert_eq!(d.fire, [at(15, 0, 0)]);
        let d = due(
            &hourly(),
            Some(at(9, 0, 0)),
            at(10, 0, 0),
            at(15, 1, 1),
            MissedPolicy::Skip,
        );
        assert!(d.fire.is_empty());
    }

    #[test]
    fn run_once_fires_exactly_one_for_any_number_missed() {
        for hours_down in 0..48 {
            let now = at(10, 0, 0) + TimeDelta::hours(hours_down) + TimeDelta::minutes(7);
            let d = due(
                &hourly(),
                Some(at(9, 0, 0)),
                at(10, 0, 0),
                now,
                MissedPolicy::RunOnce,
            );
            let latest = at(10, 0, 0) + TimeDelta::hours(hours_down);
            assert_eq!(d.fire, [latest], "down {hours_down}h");
            assert_eq!(d.next, Some(latest + TimeDelta::hours(1)));
        }
    }

    #[test]
    fn run_all_fires_every_missed_instant_oldest_first() {
        let d = due(
            &hourly(),
            Some(at(9, 0, 0)),
            at(10, 0, 0),
            at(15, 10, 0),
            MissedPolicy::RunAll { max: 100 },
        );
        assert_eq!(
            d.fire,
            [
                at(10, 0, 0),
                at(11, 0, 0),
                at(12, 0, 0),
                at(13, 0, 0),
                at(14, 0, 0),
                at(15, 0, 0)
            ]
        );
        assert_eq!(d.next, Some(at(16, 0, 0)));
    }

    #[test]
    fn run_all_keeps_the_latest_max() {
        let d = due(
            &hourly(),
            Some(at(9, 0, 0)),
            at(10, 0, 0),
            at(15, 10, 0),
            MissedPolicy::RunAll { max: 3 },
        );
        assert_eq!(d.fire, [at(13, 0, 0), at(14, 0, 0), at(15, 0, 0)]);
        assert_eq!(d.next, Some(at(16, 0, 0)));
    }

    #[test]
    fn run_all_with_max_zero_still_runs_one() {
        let d = due(
            &hourly(),
            None,
            at(10, 0, 0),
            at(15, 10, 0),
            MissedPolicy::RunAll { max: 0 },
        );
        assert_eq!(d.fire, [at(15, 0, 0)]);
    }

    #[test]
    fn a_year_of_one_second_ticks_costs_only_the_cap() {
        let every_second = Schedule::every(Duration::from_secs(1)).unwrap();
        let stored = at(0, 0, 0);
        let now = stored + TimeDelta::days(365) + TimeDelta::milliseconds(300);
        let d = due(
            &every_second,
            None,
            stored,
            now,
            MissedPolicy::RunAll { max: 3 },
        );
        let whole = stored + TimeDelta::days(365);
        assert_eq!(
            d.fire,
            [
                whole - TimeDelta::seconds(2),
                whole - TimeDelta::seconds(1),
                whole
            ]
        );
        assert_eq!(d.next, Some(whole + TimeDelta::seconds(1)));
        // The same through croner's backward search.
        let cron_second = Schedule::cron("* * * * * *", None).unwrap();
        assert_eq!(
            due(
                &cron_second,
                None,
                stored,
                now,
                MissedPolicy::RunAll { max: 3 }
            ),
            d
        );
    }

    #[test]
    fn an_off_grid_stored_next_fires_then_the_grid_takes_over() {
        // The schedule was edited: 10:17 was promised under the old one.
        let d = due(
            &hourly(),
            Some(at(9, 17, 0)),
            at(10, 17, 0),
            at(12, 30, 0),
            MissedPolicy::RunAll { max: 10 },
        );
        assert_eq!(d.fire, [at(10, 17, 0), at(11, 0, 0), at(12, 0, 0)]);
        assert_eq!(d.next, Some(at(13, 0, 0)));
        // Run-once picks the latest, which is on the new grid.
        let d = due(
            &hourly(),
            None,
            at(10, 17, 0),
            at(12, 30, 0),
            MissedPolicy::RunOnce,
        );
        assert_eq!(d.fire, [at(12, 0, 0)]);
        // Only the off-grid instant is due.
        let d = due(
            &hourly(),
            None,
            at(10, 17, 0),
            at(10, 30, 0),
            MissedPolicy::RunAll { max: 10 },
        );
        assert_eq!(d.fire, [at(10, 17, 0)]);
        assert_eq!(d.next, Some(at(11, 0, 0)));
    }

    /// A server that wakes at odd times, sometimes late, sometimes after long downtime,
    /// storing what `due` says each time: no instant ever fires twice, fired instants
    /// only move forward, and with a big enough cap none is lost.
    #[test]
    fn a_simulated_server_never_fires_an_instant_twice() {
        let schedules = [
            hourly(),
            Schedule::cron("*/7 * * * *", Some("Europe/Berlin")).unwrap(),
            Schedule::every_from(Duration::from_secs(150), at(0, 1, 3)).unwrap(),
        ];
        let mut seed: u64 = 0x5eed;
        let mut random = move |below: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % below
        };
        for schedule in &schedules {
            let start = at(0, 0, 0);
            let mut now = start;
            let mut stored = schedule.next_after(start).unwrap();
            let mut last: Option<DateTime<Utc>> = None;
            let mut fired = Vec::new();
            for _ in 0..500 {
                // Mostly on time, sometimes seconds late, sometimes down for hours.
                now = match random(4) {
                    0 => now + TimeDelta::seconds(random(3 * 3600) as i64),
                    1 => stored.max(now) + TimeDelta::seconds(random(90) as i64),
                    _ => stored.max(now),
                };
                let d = due(
                    schedule,
                    last,
                    stored,
                    now,
                    MissedPolicy::RunAll { max: 10_000 },
                );
                for t in &d.fire {
                    assert!(*t <= now, "{schedule}: fired {t} in the future of {now}");
                }
                fired.extend(d.fire.iter().copied());
                last = d.fire.last().copied().or(last);
                stored = d.next.unwrap();
                assert!(stored > now);
            }
            assert!(
                fired.len() > 100,
                "{schedule}: the simulation fired too little to mean much"
            );
            assert!(
                fired.windows(2).all(|w| w[0] < w[1]),
                "{schedule}: not strictly increasing"
            );
            let expected: Vec<_> =
                std::iter::successors(schedule.next_after(start), |t| schedule.next_after(*t))
                    .take_while(|t| *t <= now)
                    .collect();
            assert_eq!(fired, expected, "{schedule}: lost or extra runs");
        }
    }
}
