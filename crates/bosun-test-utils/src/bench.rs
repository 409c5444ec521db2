//! What the benchmarks' `main`s share: the end of a command line that asks for help or
//! is wrong, the parts `--only` picks, and one run's runtime, scratch directory and
//! findings. Each bench keeps its own flags, measures and table.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use tokio::runtime::Runtime;

/// The settings a bench's arguments ask for, or the end of the process: on `--help`
/// (`Ok(None)`) the usage on stdout and status 0; on a bad argument the message and
/// the usage on stderr, status 2. `bench` starts each message ("executor bench").
pub fn settings_or_exit<S>(bench: &str, usage: &str, parsed: Result<Option<S>, String>) -> S {
    match parsed {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            println!("{usage}");
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("{bench}: {message}\n\n{usage}");
            std::process::exit(2);
        }
    }
}

/// Ends the process with status 1, saying why, when a bench's run failed.
pub fn exit_if_failed<E: Display>(bench: &str, outcome: Result<(), E>) {
    if let Err(e) = outcome {
        eprintln!("{bench}: {e}");
        std::process::exit(1);
    }
}

/// The parts of a bench to run: `--only a,c` (or `BOSUN_BENCH_ONLY`), of a, b and c.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts(Vec<char>);

impl Parts {
    /// Every part of a bench whose parts are `known`.
    pub fn all(known: &[char]) -> Self {
        Self(known.to_vec())
    }

    /// A comma-separated list of parts, each one of `known`; blanks are passed over.
    pub fn parse(list: &str, known: &[char]) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if known.contains(&c) => Ok(c),
                    _ => {
                        let names: Vec<String> = known.iter().map(char::to_string).collect();
                        Err(format!("unknown part {part:?}: use {}", names.join(", ")))
                    }
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `part` is to run.
    pub fn wants(&self, part: char) -> bool {
        self.0.contains(&part)
    }
}

/// One run of a bench: its runtime, its scratch directory, the rows of its table and
/// the notes printed under it.
pub struct Run<R> {
    /// Multi-threaded, as in the `bosun` binary.
    pub runtime: Runtime,
    /// Removed when the run is dropped.
    pub scratch: tempfile::TempDir,
    /// The table's rows, in the order measured.
    pub rows: Vec<R>,
    notes: Vec<String>,
}

impl<R> Run<R> {
    /// A run whose scratch directory is made inside `parent` (created if missing).
    pub fn new(parent: &Path) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        std::fs::create_dir_all(parent)?;
        Ok(Self {
            runtime,
            scratch: tempfile::tempdir_in(parent)?,
            rows: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// A line for the list under the table.
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// `name` inside the scratch directory.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// Prints the rows with `table`, then a blank line and the notes as a list.
    pub fn report(&self, table: impl FnOnce(&[R])) {
        table(&self.rows);
        println!();
        for note in &self.notes {
            println!("- {note}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_from_a_list() {
        let known = ['a', 'b', 'c'];
        let parts = Parts::parse("a, c,", &known).expect("a and c are parts");
        assert!(parts.wants('a') && parts.wants('c') && !parts.wants('b'));
        assert!(
            Parts::parse("d", &known)
                .unwrap_err()
                .contains("use a, b, c")
        );
        assert!(Parts::parse("ab", &known).is_err());
        assert!(Parts::all(&known).wants('b'));
    }
}
