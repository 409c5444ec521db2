//! `bosun stuck`: running executions the server's monitor thinks may be stuck.

use anyhow::Result;
use reqwest::Method;

use super::table::{Layout, Table, clip, or_dash, text_or_dash};
use super::wire::{MonitorEntry, Page};
use super::{Client, human, print, printed_instead};
use crate::cli::StuckArgs;
use crate::exit;

/// Lists them.
pub(crate) async fn stuck(args: StuckArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let mut request = client.request(Method::GET, &["api", "monitor", "stuck"]);
    if let Some(over) = args.running_over {
        request = request.query(&[("runningOver", over.as_secs_f64())]);
    }
    if let Some(over) = args.silent_over {
        request = request.query(&[("silentOver", over.as_secs_f64())]);
    }
    let answer = client.json::<Page<MonitorEntry>>(request).await?;
    let none = answer.value.items.is_empty();
    if printed_instead(args.output, &answer.raw, none, || {
        "nothing looks stuck".to_owned()
    })? {
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new(&[
        "ID",
        "JOB",
        "RUNNING",
        "SILENT",
        "PROGRESS",
        "REASON",
        "STATUS MESSAGE",
    ]);
    for stuck in &answer.value.items {
        table.row(vec![
            text_or_dash(&stuck.execution_id).to_owned(),
            text_or_dash(&stuck.job_name).to_owned(),
            or_dash(stuck.running_seconds.map(human::seconds)),
            or_dash(stuck.seconds_since_last_update.map(human::seconds)),
            human::percent(stuck.progress.map(|p| p as f64)),
            or_dash(stuck.reason.as_deref()),
            clip(stuck.status_message.as_deref().unwrap_or(""), 60),
        ]);
    }
    print(&table.render(Layout::for_stdout(args.output.wide)))?;
    Ok(exit::SUCCESS)
}
