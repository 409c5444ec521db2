//! `bosun cancel ID`: asks the server to stop an execution.

use anyhow::Result;
use reqwest::Method;

use super::wire::{Execution, Shown};
use super::{Client, print};
use crate::cli::CancelArgs;
use crate::exit;

/// Requests the cancellation and prints where the execution stands.
pub(crate) async fn cancel(args: CancelArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let request = client.request(Method::POST, &["api", "executions", &args.id, "cancel"]);
    let answer = client.json::<Execution>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    let execution = &answer.value;
    let note = if execution.is_finished() {
        ""
    } else {
        " (asked to stop; `bosun ps` shows when it has)"
    };
    print(&format!(
        "{} {} {}{note}",
        args.id,
        execution.job(),
        execution.status_text()
    ))?;
    Ok(exit::SUCCESS)
}
