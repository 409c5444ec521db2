//! `bosun schedule add|ls|rm`: a job's schedules on the server.

use anyhow::Result;
use bosun_core::MissedPolicy;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::table::{Layout, Table, or_dash};
use super::{Client, human, print};
use crate::cli::{ListArgs, RemoveArgs, ScheduleAddArgs, ScheduleCommand};
use crate::exit;

/// Runs one `bosun schedule` subcommand.
pub(crate) async fn schedule(command: ScheduleCommand) -> Result<u8> {
    match command {
        ScheduleCommand::Add(args) => add(args).await,
        ScheduleCommand::Ls(args) => list(args, "schedules").await,
        ScheduleCommand::Rm(args) => remove(args, "schedules").await,
    }
}

async fn add(args: ScheduleAddArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let body = json!({
        "cron": args.cron,
        "timeZone": args.tz,
        "every": args.every,
        "missed": args.missed,
    });
    let body = strip_nulls(body);
    let request = client.request(Method::POST, &["api", "jobs", &args.job, "schedules"]);
    let answer = client.json::<Value>(request.json(&body)).await?;
    if args.json {
        print(&answer.raw)?;
    } else {
        let s = &answer.value;
        print(&format!(
            "{} {}: {}, next at {}",
            text(s, "id"),
            args.job,
            when(s),
            next_fire(s)
        ))?;
    }
    Ok(exit::SUCCESS)
}

/// `bosun schedule ls` and `bosun trigger ls`: `kind` is the API's collection.
pub(crate) async fn list(args: ListArgs, kind: &str) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let path: Vec<&str> = match &args.job {
        Some(job) => vec!["api", "jobs", job, kind],
        None => vec!["api", kind],
    };
    let answer = client
        .json::<Value>(client.request(Method::GET, &path))
        .await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    let empty = Vec::new();
    let items = answer.value["items"].as_array().unwrap_or(&empty);
    if items.is_empty() {
        let add = if kind == "schedules" {
            "bosun schedule add JOB --every 5m"
        } else {
            "bosun trigger add JOB --dir DIR --glob '*.csv'"
        };
        eprintln!("bosun: no {kind} yet: `{add}` adds one");
        return Ok(exit::SUCCESS);
    }
    let mut table = if kind == "schedules" {
        Table::new(&["ID", "JOB", "WHEN", "MISSED", "NEXT", "LAST"])
    } else {
        Table::new(&["ID", "JOB", "DIRECTORY", "GLOB", "MISSED", "WATCHING"])
    };
    let now = chrono::Utc::now();
    for item in items {
        let row = if kind == "schedules" {
            vec![
                text(item, "id"),
                text(item, "jobName"),
                when(item),
                missed(&item["missed"]),
                next_fire(item),
                or_dash(human::parse_time(item["lastFire"].as_str()).map(|t| human::ago(t, now))),
            ]
        } else {
            let watching = match (item["watching"].as_bool(), item["problem"].as_str()) {
                (Some(true), _) => "yes".to_owned(),
                (_, Some(problem)) => format!("no: {problem}"),
                _ => "starting".to_owned(),
            };
            let glob = if item["recursive"] == true {
                format!("{} (recursive)", text(item, "glob"))
            } else {
                text(item, "glob")
            };
            vec![
                text(item, "id"),
                text(item, "jobName"),
                text(item, "directory"),
                glob,
                text(item, "missed"),
                watching,
            ]
        };
        table.row(row);
    }
    print(&table.render(Layout::for_stdout(args.wide)))?;
    Ok(exit::SUCCESS)
}

/// `bosun schedule rm` and `bosun trigger rm`.
pub(crate) async fn remove(args: RemoveArgs, kind: &str) -> Result<u8> {
    let client = Client::new(&args.client)?;
    client
        .send(client.request(Method::DELETE, &["api", kind, &args.id]))
        .await?;
    print(&format!("{} removed", args.id))?;
    Ok(exit::SUCCESS)
}

/// `value` without its null fields, so the server applies its defaults.
fn strip_nulls(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
    value
}

/// A string field, or `-`.
pub(crate) fn text(item: &Value, field: &str) -> String {
    or_dash(item[field].as_str())
}

/// `cron "0 2 * * *" in Europe/Berlin` or `every 5m`.
fn when(schedule: &Value) -> String {
    match (schedule["cron"].as_str(), schedule["every"].as_str()) {
        (Some(cron), _) => format!(
            "cron {cron:?} in {}",
            schedule["timeZone"].as_str().unwrap_or("UTC")
        ),
        (None, Some(every)) => format!("every {every}"),
        (None, None) => "-".to_owned(),
    }
}

/// The next fire time in local time, or `never`.
fn next_fire(schedule: &Value) -> String {
    match human::parse_time(schedule["nextFire"].as_str()) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "never".to_owned(),
    }
}

/// `skip`, `run-once` or `run-all:N`, as the flag takes it.
fn missed(policy: &Value) -> String {
    match (MissedPolicy::deserialize(policy), policy) {
        (Ok(policy), _) => policy.to_string(),
        (Err(_), Value::String(name)) => name.clone(),
        (Err(_), Value::Object(_)) => policy.to_string(),
        (Err(_), _) => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read_as_the_flags_write_them() {
        assert_eq!(missed(&json!({ "run-all": { "max": 3 } })), "run-all:3");
        assert_eq!(missed(&json!("skip")), "skip");
        let cron = json!({ "cron": "0 2 * * *", "timeZone": "Europe/Berlin" });
        assert_eq!(when(&cron), "cron \"0 2 * * *\" in Europe/Berlin");
        assert_eq!(when(&json!({ "every": "5m" })), "every 5m");
        assert_eq!(next_fire(&json!({ "nextFire": null })), "never");
    }
}
