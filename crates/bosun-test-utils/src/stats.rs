//! The figures every benchmark prints, computed one way: medians, nearest-rank
//! percentiles, per-round ratios, and durations as people read them. The method
//! (rounds, rotating order, median of per-round ratios) is docs/PERFORMANCE.md's.

/// `ratio(a, b)` round by round.
pub fn per_round(a: &[f64], b: &[f64], ratio: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&a, &b)| ratio(a, b)).collect()
}

/// The median; NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile `p` (0–100) of `values`; NaN for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The values, each shown by `show`, separated by spaces.
pub fn list(values: &[f64], show: impl Fn(f64) -> String) -> String {
    values
        .iter()
        .map(|&v| show(v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds as people read them: `2.41 s`, `38.20 ms`, `412 µs`.
pub fn seconds(s: f64) -> String {
    match s.abs() {
        a if a >= 1.0 => format!("{s:.2} s"),
        a if a >= 1e-3 => format!("{:.2} ms", s * 1e3),
        _ => format!("{:.0} µs", s * 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles_follow_their_definitions() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), 50.0);
        assert_eq!(percentile(&hundred, 99.0), 99.0);
        assert_eq!(percentile(&hundred, 0.0), 1.0, "the minimum");
        assert_eq!(percentile(&hundred, 100.0), 100.0, "the maximum");
        assert_eq!(seconds(0.0382), "38.20 ms");
    }
}
