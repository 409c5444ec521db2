//! The bench's command line: which parts run, and how much of each.

use std::path::PathBuf;

use bosun_test_utils::bench::Parts;

/// The bench's parts: a = latency, b = throughput, c = memory, d = packages,
/// e = a bot's start on an agent, f = a thousand agents' keep-alives, g = the
/// dashboard with a long history.
const PARTS: [char; 7] = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

pub(crate) const USAGE: &str = "usage: cargo bench -p bosun --bench server -- \
[--quick] [--only a,b,c,d,e,f,g] [--jobs N] [--rows N] [other flags]
  --quick             a smoke run, not figures to quote: (a) 3 rounds of 30 samples,
                      (b) 2 rounds of 1000 jobs, (c) 10000 history rows, (d) 2 rounds
                      of a 10 MiB package and a 20 MiB one for memory, (e) 3 rounds
                      of 20 starts, (f) a 10 s window, (g) 3 rounds of 10 opens,
                      10000 rows, 10 s windows
  --only LIST         the parts to run (also BOSUN_BENCH_ONLY): a = trigger-to-start
                      latency, b = sustained executions/s, c = server memory,
                      d = package upload and download, e = a bot's start on an agent
                      against the local runner, f = a thousand agents' keep-alives,
                      g = the dashboard's pages with a long history, and open pages
  --rounds N          rounds of (a), (e), (g) and (b) [default: 7, 7, 7 and 3]
  --samples N         latency samples per side and round in (a) [default: 200]
  --bot-samples N     bot starts per side and round in (e) [default: 100]
  --agents N          agents connected at once in (f) [default: 1000]
  --window N          seconds (f) measures for, once all are connected, and each
                      of (g)'s two idle windows [default: 30]
  --opens N           opens of each dashboard page per side and round in (g)
                      [default: 50]
  --pages N           pages (g) holds open, each with its live feed [default: 20]
  --jobs N            no-op jobs per side and round in (b) [default: 10000]
  --rows N            finished executions in the history of (c) and (g)
                      [default: 100000]
  --package-mib N     the package (d) moves each round, in MiB [default: 50]
  --big-package-mib N the package (d) uploads for the server's memory [default: 100]
  --max-concurrent N  the server's --max-concurrent, and the bare loop's jobs at once
                      in (b) [default: 4, the server's default]
  --submitters N      run requests in flight at once while (b) submits [default: 4]
  --history-limit N   the server's --history-limit in (a) and (b) [default: high
                      enough that every execution is kept and its outcome checked]
  --scratch DIR       where the servers' data directories and the bare side's logs
                      go, inside a temporary directory removed at the end
                      [default: cargo's target/tmp]";

/// What to run and how much of it.
pub(crate) struct Settings {
    pub(crate) parts: Parts,
    pub(crate) latency_rounds: usize,
    pub(crate) samples: usize,
    pub(crate) bot_samples: usize,
    pub(crate) agents: usize,
    pub(crate) window_secs: usize,
    pub(crate) opens: usize,
    pub(crate) pages: usize,
    pub(crate) throughput_rounds: usize,
    pub(crate) jobs: usize,
    pub(crate) rows: usize,
    pub(crate) package_mib: usize,
    pub(crate) big_package_mib: usize,
    pub(crate) max_concurrent: usize,
    pub(crate) submitters: usize,
    pub(crate) history_limit: Option<i64>,
    pub(crate) scratch: PathBuf,
}

impl Settings {
    /// The settings the arguments ask for; `None` when they ask for help.
    pub(crate) fn from_args(
        mut args: impl Iterator<Item = String>,
    ) -> Result<Option<Self>, String> {
        let mut settings = Self::full();
        let mut only = std::env::var("BOSUN_BENCH_ONLY").ok();
        let mut rounds = None;
        let mut given = Vec::new();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg, None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or(format!("{flag} needs a value"))
            };
            match flag.as_str() {
                // cargo bench passes --bench to every harness = false target.
                "--bench" => {}
                "--quick" => settings = settings.quick(),
                "--only" => only = Some(value()?),
                "--scratch" => settings.scratch = value()?.into(),
                "--rounds" => rounds = Some(count(&flag, &value()?)?),
                "--samples" | "--bot-samples" | "--agents" | "--window" | "--opens" | "--pages"
                | "--jobs" | "--rows" | "--max-concurrent" | "--submitters" | "--history-limit"
                | "--package-mib" | "--big-package-mib" => {
                    given.push((flag.clone(), count(&flag, &value()?)?))
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        // Sizes given apply over --quick, whatever the order.
        if let Some(rounds) = rounds {
            settings.latency_rounds = rounds;
            settings.throughput_rounds = rounds;
        }
        for (flag, n) in given {
            match flag.as_str() {
                "--samples" => settings.samples = n,
                "--bot-samples" => settings.bot_samples = n,
                "--agents" => settings.agents = n,
                "--window" => settings.window_secs = n,
                "--opens" => settings.opens = n,
                "--pages" => settings.pages = n,
                "--jobs" => settings.jobs = n,
                "--rows" => settings.rows = n,
                "--package-mib" => settings.package_mib = n,
                "--big-package-mib" => settings.big_package_mib = n,
                "--max-concurrent" => settings.max_concurrent = n,
                "--submitters" => settings.submitters = n,
                _ => settings.history_limit = Some(n as i64),
            }
        }
        if let Some(list) = only {
            settings.parts = Parts::parse(&list, &PARTS)?;
        }
        Ok(Some(settings))
    }

    fn full() -> Self {
        Self {
            parts: Parts::all(&PARTS),
            latency_rounds: 7,
            samples: 200,
            bot_samples: 100,
            agents: 1000,
            window_secs: 30,
            opens: 50,
            pages: 20,
            throughput_rounds: 3,
            jobs: 10_000,
            rows: 100_000,
            package_mib: 50,
            big_package_mib: 100,
            max_concurrent: 4,
            submitters: 4,
            history_limit: None,
            scratch: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        }
    }

    fn quick(self) -> Self {
        Self {
            latency_rounds: 3,
            samples: 30,
            bot_samples: 20,
            window_secs: 10,
            opens: 10,
            throughput_rounds: 2,
            jobs: 1_000,
            rows: 10_000,
            package_mib: 10,
            big_package_mib: 20,
            ..self
        }
    }
}

/// A count of at least one.
fn count(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 && i64::try_from(n).is_ok() => Ok(n),
        _ => Err(format!(
            "{flag} takes a whole number of at least 1, not {value:?}"
        )),
    }
}
