//! `bosun trigger add|ls|rm`: a job's file triggers on the server.

use anyhow::Result;
use reqwest::Method;
use serde_json::json;

use super::schedule::{list, remove};
use super::table::text_or_dash;
use super::wire::FileTrigger;
use super::{Client, ClientError, print};
use crate::cli::{TriggerAddArgs, TriggerCommand};
use crate::exit;

/// Runs one `bosun trigger` subcommand.
pub(crate) async fn trigger(command: TriggerCommand) -> Result<u8> {
    match command {
        TriggerCommand::Add(args) => add(args).await,
        TriggerCommand::Ls(args) => list(args, "triggers").await,
        TriggerCommand::Rm(args) => remove(args, "triggers").await,
    }
}

async fn add(args: TriggerAddArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    // The server wants an absolute path; a relative one means "from here".
    let dir = std::path::absolute(&args.dir).map_err(|e| {
        ClientError::Usage(format!("cannot make {} absolute: {e}", args.dir.display()))
    })?;
    let body = json!({
        "directory": dir,
        "glob": args.glob,
        "debounceMs": u64::try_from(args.debounce.as_millis()).unwrap_or(u64::MAX),
        "recursive": args.recursive,
        "missed": args.missed,
    });
    let request = client.request(Method::POST, &["api", "jobs", &args.job, "triggers"]);
    let answer = client.json::<FileTrigger>(request.json(&body)).await?;
    if args.json {
        print(&answer.raw)?;
    } else {
        let t = &answer.value;
        print(&format!(
            "{} {}: files matching {} in {}",
            text_or_dash(&t.id),
            args.job,
            text_or_dash(&t.glob),
            text_or_dash(&t.directory)
        ))?;
    }
    Ok(exit::SUCCESS)
}
