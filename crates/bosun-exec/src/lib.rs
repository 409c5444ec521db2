//! bosun's supervisor: spawn, watch, stop and reap child processes; Python environments;
//! the seed 001 executor and the seed 000 task queue.
//!
//! A job runs in its own process group. Its output is read concurrently into capped
//! log files while an optional observer sees every byte live. A timeout or a
//! cancellation stops the whole group in three steps (a polite signal, a grace
//! period, `SIGKILL`), and bosun waits until no member of the group is left. How a
//! child ended is data ([`Outcome`]), not an error.
//!
//! ```no_run
//! # async fn demo() {
//! use bosun_core::JobSpec;
//! use bosun_exec::{run, RunOptions};
//! use tokio_util::sync::CancellationToken;
//!
//! let job = JobSpec::new("echo", vec!["hello".into()]);
//! let options = RunOptions::new("/tmp/out.log", "/tmp/err.log");
//! let report = run(&job, &options, &CancellationToken::new()).await;
//! println!("{}", report.to_result(&job.name).message);
//! # }
//! ```

#[cfg(not(unix))]
compile_error!("bosun-exec supports Unix for now; Windows support (Job Objects) is planned");

pub mod bot;
mod capped;
pub mod error;
pub mod home;
#[cfg(target_os = "linux")]
mod linux;
pub mod lock;
mod outcome;
mod output;
pub mod proc;
pub mod python;
pub mod queue_runner;
mod spawn;
mod stop;
mod supervise;
pub mod task;
mod unix;

pub use error::ExecError;
pub use home::Home;
pub use outcome::{Outcome, RunReport, StreamStats};
pub use output::{Observer, Stream};
pub use stop::stop_group;
pub use supervise::{RunOptions, Running, StopSignal, run, spawn};
pub use unix::become_subreaper;
