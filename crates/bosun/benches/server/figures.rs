//! Statistics and the printed table: medians and percentiles, per-round ratios, goals.
//! The same method as the executor bench (crates/bosun-exec/benches/executor.rs);
//! the statistics themselves are `bosun_test_utils::stats`.

pub(crate) use bosun_test_utils::stats::{list, median, per_round, percentile, seconds};

/// Bytes in MiB: `23.4 MiB`.
pub(crate) fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// What a figure must reach.
pub(crate) enum Goal {
    /// A ratio of at least this.
    AtLeast(f64),
    /// A ratio of at most this.
    AtMost(f64),
    /// Under this percentage of one core.
    UnderPercent(f64),
    /// At most this many bytes.
    AtMostMib(f64),
    /// The bosun side's time (the figure) under `limit` seconds; `ratio`, bosun ÷
    /// baseline, is shown beside it and not judged.
    UnderSeconds { limit: f64, ratio: f64 },
    /// Above the baseline side by at most this many percent of one core (the
    /// figure: bosun minus baseline).
    AbovePercent(f64),
}

/// One line of the result table.
pub(crate) struct Row {
    pub(crate) measure: String,
    pub(crate) bosun: String,
    pub(crate) baseline: String,
    /// The figure the goal is checked on: the ratio, the bytes, the percentage or
    /// the seconds.
    pub(crate) figure: f64,
    pub(crate) goal: Goal,
}

impl Row {
    fn met(&self) -> bool {
        match self.goal {
            Goal::AtLeast(goal) => self.figure >= goal,
            Goal::AtMost(goal) => self.figure <= goal,
            Goal::UnderPercent(goal) => self.figure < goal,
            Goal::AtMostMib(goal) => self.figure <= goal * 1024.0 * 1024.0,
            Goal::UnderSeconds { limit, .. } => self.figure < limit,
            Goal::AbovePercent(goal) => self.figure <= goal,
        }
    }
}

pub(crate) fn print_table(rows: &[Row]) {
    println!("| measure | bosun | baseline | ratio | goal | result |");
    println!("|---|---:|---:|---:|---|---|");
    for row in rows {
        let (ratio, goal) = match row.goal {
            Goal::AtLeast(goal) => (format!("{:.3}", row.figure), format!("≥ {goal}")),
            Goal::AtMost(goal) => (format!("{:.3}", row.figure), format!("≤ {goal}")),
            Goal::UnderPercent(goal) => ("–".to_owned(), format!("< {goal} % of a core")),
            Goal::AtMostMib(goal) => ("–".to_owned(), format!("≤ {goal} MiB")),
            Goal::UnderSeconds { limit, ratio } => {
                (format!("{ratio:.3}"), format!("< {:.0} ms", limit * 1e3))
            }
            Goal::AbovePercent(goal) => (
                format!("{:+.2} %", row.figure),
                format!("≤ baseline + {goal} % of a core"),
            ),
        };
        let result = if row.met() { "pass" } else { "FAIL" };
        println!(
            "| {} | {} | {} | {ratio} | {goal} | {result} |",
            row.measure, row.bosun, row.baseline
        );
    }
}
