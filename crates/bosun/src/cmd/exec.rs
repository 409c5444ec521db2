//! `bosun exec ID`: seed 001's executor (see `bosun_exec::task`).

use anyhow::Result;
use bosun_exec::task::execute;

use crate::cli::ExecArgs;

pub(crate) async fn exec(args: ExecArgs) -> Result<u8> {
    let home = super::home(&args.env_args)?;
    let stop = super::prepare()?;
    let envs = super::python_envs(&home, &args.env_args);
    let options = super::run_options(&args.supervise, &stop);
    let end = execute(
        &home,
        &args.id,
        &envs,
        args.env_args.fresh_env,
        args.supervise.timeout,
        &options,
        &stop.cancel,
    )
    .await;
    eprintln!(
        "bosun: execution {}: {} (exit {})",
        args.id, end.message, end.code
    );
    Ok(end.code)
}
