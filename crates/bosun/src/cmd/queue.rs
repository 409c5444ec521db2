//! `bosun queue`: seed 000's TaskQueue.json executor (see `bosun_exec::queue_runner`).

use anyhow::Result;
use bosun_core::error::chain;
use bosun_exec::Outcome;
use bosun_exec::queue_runner::{QueueRun, Taken, process_next};

use crate::cli::QueueArgs;

/// A task was processed.
const PROCESSED: u8 = 0;
/// There was nothing to do.
const NOTHING: u8 = 1;
/// The queue could not be worked: -1 as the seed's executor returns it.
const ERROR: u8 = 255;

pub(crate) async fn queue(args: QueueArgs) -> Result<u8> {
    let home = super::home(&args.env_args)?;
    let stop = super::prepare()?;
    let envs = super::python_envs(&home, &args.env_args);
    let options = super::run_options(&args.supervise, &stop);
    let path = args.file.clone().unwrap_or_else(|| home.task_queue());
    let settings = QueueRun {
        logs_dir: home.logs().join("queue"),
        fresh_envs: args.env_args.fresh_env.then(|| home.venvs()),
        timeout: args.supervise.timeout,
        cleanup: args.cleanup,
    };
    match process_next(&path, &settings, &envs, &options, &stop.cancel).await {
        Ok(Taken::Nothing) => {
            if !args.json {
                eprintln!("bosun: no Pending task in {}", path.display());
            }
            Ok(NOTHING)
        }
        Ok(Taken::Processed { task, report }) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&task)?);
            } else {
                let why = task
                    .error_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                eprintln!("bosun: task {} {}{why}", task.task_id, task.status);
            }
            let cancelled = report.is_some_and(|r| r.outcome == Outcome::Cancelled);
            Ok(if cancelled {
                crate::exit::CANCELLED
            } else {
                PROCESSED
            })
        }
        Err(e) => {
            eprintln!("bosun: {}", chain(&e));
            Ok(ERROR)
        }
    }
}
