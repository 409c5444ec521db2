//! `bosun jobs`: the jobs the server knows, one line each.

use anyhow::Result;
use reqwest::Method;

use super::table::{Layout, Table, or_dash};
use super::wire::{self, Job, Page};
use super::{Client, human, print};
use crate::cli::JobsArgs;
use crate::exit;

/// Lists the jobs.
pub(crate) async fn jobs(args: JobsArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let answer = client
        .json::<Page<Job>>(client.request(Method::GET, &["api", "jobs"]))
        .await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    if answer.value.items.is_empty() {
        eprintln!("bosun: no jobs yet: `bosun submit FILE.json` creates one");
        return Ok(exit::SUCCESS);
    }
    let now = chrono::Utc::now();
    let mut table = Table::new(&["NAME", "KIND", "ID", "UPDATED"]);
    for job in &answer.value.items {
        table.row(vec![
            wire::or_dash(&job.name).to_owned(),
            job.kind().to_owned(),
            wire::or_dash(&job.id).to_owned(),
            or_dash(job.updated_at.map(|t| human::ago(t, now))),
        ]);
    }
    print(&table.render(Layout::for_stdout(args.wide)))?;
    Ok(exit::SUCCESS)
}
