//! `bosun ps`: what is running or waiting to run right now.

use anyhow::Result;
use bosun_core::ExecutionStatus;
use reqwest::Method;
use serde_json::Value;

use super::table::{Layout, Table, clip, or_dash};
use super::wire::{Execution, Page, Shown};
use super::{Answer, Client, human, print};
use crate::cli::PsArgs;
use crate::exit;

/// Lists running executions, then pending ones.
pub(crate) async fn ps(args: PsArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let running = list(&client, ExecutionStatus::Running).await?;
    let pending = list(&client, ExecutionStatus::Pending).await?;
    if args.json {
        let items = |raw: &str| -> Vec<Value> {
            serde_json::from_str::<Value>(raw)
                .ok()
                .and_then(|mut v| v.get_mut("items").map(Value::take))
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default()
        };
        let mut all = items(&running.raw);
        all.extend(items(&pending.raw));
        print(&serde_json::json!({ "items": all }).to_string())?;
        return Ok(exit::SUCCESS);
    }
    let executions: Vec<&Execution> = running
        .value
        .items
        .iter()
        .chain(&pending.value.items)
        .collect();
    if executions.is_empty() {
        eprintln!("bosun: nothing is running or waiting to run");
        return Ok(exit::SUCCESS);
    }
    let now = chrono::Utc::now();
    let mut table = Table::new(&[
        "ID",
        "JOB",
        "STATUS",
        "PID",
        "AGE",
        "PROGRESS",
        "STATUS MESSAGE",
    ]);
    for execution in executions {
        let mut status = execution.status_text().to_owned();
        if execution.cancel_requested {
            status.push_str(" (stopping)");
        }
        // A running execution's age counts from its start, a pending one's from when it
        // was asked for.
        let since = execution.start_time.or(execution.created_at);
        table.row(vec![
            execution.id().to_owned(),
            execution.job().to_owned(),
            status,
            or_dash(execution.pid),
            or_dash(since.map(|t| human::between(t, now))),
            human::percent(execution.percent()),
            clip(execution.status_message.as_deref().unwrap_or(""), 60),
        ]);
    }
    print(&table.render(Layout::for_stdout(args.wide)))?;
    Ok(exit::SUCCESS)
}

async fn list(client: &Client, status: ExecutionStatus) -> Result<Answer<Page<Execution>>> {
    let request = client
        .request(Method::GET, &["api", "executions"])
        .query(&[("status", status.as_str()), ("limit", "1000")]);
    Ok(client.json(request).await?)
}
