//! `bosun jobs`: the jobs the server knows, one line each.

use anyhow::Result;
use reqwest::Method;

use super::table::{Layout, Table, or_dash, text_or_dash};
use super::wire::{Job, Page};
use super::{Client, human, print, printed_instead};
use crate::cli::JobsArgs;
use crate::exit;

/// Lists the jobs.
pub(crate) async fn jobs(args: JobsArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let answer = client
        .json::<Page<Job>>(client.request(Method::GET, &["api", "jobs"]))
        .await?;
    let none = answer.value.items.is_empty();
    if printed_instead(args.output, &answer.raw, none, || {
        "no jobs yet: `bosun submit FILE.json` creates one".to_owned()
    })? {
        return Ok(exit::SUCCESS);
    }
    let now = chrono::Utc::now();
    let mut table = Table::new(&["NAME", "KIND", "ID", "UPDATED"]);
    for job in &answer.value.items {
        table.row(vec![
            text_or_dash(&job.name).to_owned(),
            job.kind().to_owned(),
            text_or_dash(&job.id).to_owned(),
            or_dash(job.updated_at.map(|t| human::ago(t, now))),
        ]);
    }
    print(&table.render(Layout::for_stdout(args.output.wide)))?;
    Ok(exit::SUCCESS)
}
