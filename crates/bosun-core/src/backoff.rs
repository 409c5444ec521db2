//! The waits between attempts at something that keeps failing (reaching Redis, an LLM
//! call, watching a directory): a first delay that doubles after each attempt up to a
//! cap, each wait shortened by a random part of itself (the jitter), so that many
//! clients that failed together do not all try again at the same instant.
//!
//! The jitter only ever shortens a wait, never lengthens it: a wait is at most the
//! doubled delay (and the cap), as it would be without jitter. Its randomness is cheap
//! and not cryptographic: the clock's nanoseconds and a counter, mixed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The part of each wait that is random by default: a wait of `d` is between
/// `0.8 × d` and `d`.
pub const DEFAULT_JITTER: f64 = 0.2;

/// Waits that double from a first delay up to a cap, with jitter.
///
/// ```
/// use std::time::Duration;
/// use bosun_core::backoff::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// let first = backoff.next_delay();
/// assert!(first <= Duration::from_millis(100) && first >= Duration::from_millis(80));
/// let second = backoff.next_delay();
/// assert!(second <= Duration::from_millis(200) && second >= Duration::from_millis(160));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    /// The delay the next wait is drawn from, before jitter.
    next: Duration,
    /// The random part of each wait, from 0 (none) to 1.
    jitter: f64,
    /// A wait was drawn since it was made or reset.
    retrying: bool,
}

impl Backoff {
    /// Waits from `first`, doubling up to `cap`, with [`DEFAULT_JITTER`].
    pub fn new(first: Duration, cap: Duration) -> Self {
        let first = first.min(cap);
        Self {
            first,
            cap,
            next: first,
            jitter: DEFAULT_JITTER,
            retrying: false,
        }
    }

    /// The same waits with `fraction` of each random (clamped to 0..=1; 0 for none).
    #[must_use]
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// The next wait; the one after it is drawn from twice the delay (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.retrying = true;
        self.next = (self.next * 2).min(self.cap);
        delay.mul_f64(1.0 - self.jitter * unit_random())
    }

    /// Whether a wait was drawn since it was made or last [`reset`](Self::reset): the
    /// thing it paces has failed since it last worked.
    pub fn retrying(&self) -> bool {
        self.retrying
    }

    /// Starts again from the first delay (the thing it paces worked).
    pub fn reset(&mut self) {
        self.next = self.first;
        self.retrying = false;
    }
}

/// A number in `[0, 1)`: the clock's nanoseconds and a process-wide counter, mixed
/// (splitmix64).
fn unit_random() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mut z = COUNTER
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(nanos);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits, as a fraction: exact in an f64.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_double_from_the_first_up_to_the_cap() {
        let mut backoff = Backoff::new(100 * MS, 500 * MS).with_jitter(0.0);
        let waits: Vec<Duration> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(waits, [100 * MS, 200 * MS, 400 * MS, 500 * MS, 500 * MS]);
    }

    #[test]
    fn jitter_only_shortens_a_wait_and_by_at_most_its_fraction() {
        let mut shortened = false;
        for _ in 0..200 {
            let mut backoff = Backoff::new(1000 * MS, 1000 * MS).with_jitter(0.25);
            let wait = backoff.next_delay();
            assert!(wait <= 1000 * MS && wait >= 750 * MS, "{wait:?}");
            shortened |= wait < 1000 * MS;
        }
        assert!(shortened, "some waits are shortened");
    }

    #[test]
    fn a_reset_starts_again_from_the_first_delay() {
        let mut backoff = Backoff::new(10 * MS, Duration::from_secs(1)).with_jitter(0.0);
        assert!(!backoff.retrying());
        backoff.next_delay();
        backoff.next_delay();
        assert!(backoff.retrying());
        backoff.reset();
        assert!(!backoff.retrying());
        assert_eq!(backoff.next_delay(), 10 * MS);
    }

    #[test]
    fn a_first_delay_beyond_the_cap_is_the_cap() {
        let mut backoff = Backoff::new(Duration::from_secs(9), Duration::from_secs(2));
        assert!(backoff.next_delay() <= Duration::from_secs(2));
    }

    #[test]
    fn random_fractions_are_in_the_unit_interval() {
        assert!(
            (0..1000)
                .map(|_| unit_random())
                .all(|r| (0.0..1.0).contains(&r))
        );
    }
}
