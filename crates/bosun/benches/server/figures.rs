//! Statistics and the printed table: medians and percentiles, per-round ratios, goals.
//! The same method as the executor bench (crates/bosun-exec/benches/executor.rs).

/// `ratio(a, b)` round by round.
pub(crate) fn per_round(a: &[f64], b: &[f64], ratio: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&a, &b)| ratio(a, b)).collect()
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile `p` (0–100) of `values`.
pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn list(values: &[f64], show: impl Fn(f64) -> String) -> String {
    values
        .iter()
        .map(|&v| show(v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds as people read them: `2.41 s`, `38.2 ms`, `412 µs`.
pub(crate) fn seconds(s: f64) -> String {
    match s.abs() {
        a if a >= 1.0 => format!("{s:.2} s"),
        a if a >= 1e-3 => format!("{:.2} ms", s * 1e3),
        _ => format!("{:.0} µs", s * 1e6),
    }
}

/// Bytes in MiB: `23.4 MiB`.
pub(crate) fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// What a figure must reach.
pub(crate) enum Goal {
    /// A ratio of at least this.
    AtLeast(f64),
    /// At most this many bytes.
    AtMostMib(f64),
}

/// One line of the result table.
pub(crate) struct Row {
    pub(crate) measure: String,
    pub(crate) bosun: String,
    pub(crate) baseline: String,
    /// The figure the goal is checked on: the ratio, or the bytes.
    pub(crate) figure: f64,
    pub(crate) goal: Goal,
}

impl Row {
    fn met(&self) -> bool {
        match self.goal {
            Goal::AtLeast(goal) => self.figure >= goal,
            Goal::AtMostMib(goal) => self.figure <= goal * 1024.0 * 1024.0,
        }
    }
}

pub(crate) fn print_table(rows: &[Row]) {
    println!("| measure | API path | bare supervisor | ratio | goal | result |");
    println!("|---|---:|---:|---:|---|---|");
    for row in rows {
        let (ratio, goal) = match row.goal {
            Goal::AtLeast(goal) => (format!("{:.3}", row.figure), format!("≥ {goal}")),
            Goal::AtMostMib(goal) => ("–".to_owned(), format!("≤ {goal} MiB")),
        };
        let result = if row.met() { "pass" } else { "FAIL" };
        println!(
            "| {} | {} | {} | {ratio} | {goal} | {result} |",
            row.measure, row.bosun, row.baseline
        );
    }
}
