//! `bosun schedule add|ls|rm`: a job's schedules on the server.

use anyhow::Result;
use reqwest::Method;
use serde_json::{Value, json};

use super::table::{Layout, Table, or_dash, text_or_dash};
use super::wire::{FileTrigger, Page, Schedule};
use super::{Client, human, print, printed_instead};
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
    let answer = client.json::<Schedule>(request.json(&body)).await?;
    if args.json {
        print(&answer.raw)?;
    } else {
        let s = &answer.value;
        print(&format!(
            "{} {}: {}, next at {}",
            text_or_dash(&s.id),
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
    let request = client.request(Method::GET, &path);
    let (raw, rows) = if kind == "schedules" {
        let answer = client.json::<Page<Schedule>>(request).await?;
        (
            answer.raw,
            answer.value.items.iter().map(schedule_row).collect(),
        )
    } else {
        let answer = client.json::<Page<FileTrigger>>(request).await?;
        (
            answer.raw,
            answer
                .value
                .items
                .iter()
                .map(trigger_row)
                .collect::<Vec<_>>(),
        )
    };
    if printed_instead(args.output, &raw, rows.is_empty(), || {
        let add = if kind == "schedules" {
            "bosun schedule add JOB --every 5m"
        } else {
            "bosun trigger add JOB --dir DIR --glob '*.csv'"
        };
        format!("no {kind} yet: `{add}` adds one")
    })? {
        return Ok(exit::SUCCESS);
    }
    let mut table = if kind == "schedules" {
        Table::new(&["ID", "JOB", "WHEN", "MISSED", "NEXT", "LAST"])
    } else {
        Table::new(&["ID", "JOB", "DIRECTORY", "GLOB", "MISSED", "WATCHING"])
    };
    for row in rows {
        table.row(row);
    }
    print(&table.render(Layout::for_stdout(args.output.wide)))?;
    Ok(exit::SUCCESS)
}

/// A schedule as `bosun schedule ls` shows it.
fn schedule_row(schedule: &Schedule) -> Vec<String> {
    let now = chrono::Utc::now();
    vec![
        text_or_dash(&schedule.id).to_owned(),
        text_or_dash(&schedule.job_name).to_owned(),
        when(schedule),
        or_dash(schedule.missed),
        next_fire(schedule),
        or_dash(schedule.last_fire.map(|t| human::ago(t, now))),
    ]
}

/// A file trigger as `bosun trigger ls` shows it.
fn trigger_row(trigger: &FileTrigger) -> Vec<String> {
    let watching = match (trigger.watching, &trigger.problem) {
        (true, _) => "yes".to_owned(),
        (_, Some(problem)) => format!("no: {problem}"),
        _ => "starting".to_owned(),
    };
    let glob = text_or_dash(&trigger.glob);
    let glob = if trigger.recursive {
        format!("{glob} (recursive)")
    } else {
        glob.to_owned()
    };
    vec![
        text_or_dash(&trigger.id).to_owned(),
        text_or_dash(&trigger.job_name).to_owned(),
        text_or_dash(&trigger.directory).to_owned(),
        glob,
        or_dash(trigger.missed),
        watching,
    ]
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

/// `cron "0 2 * * *" in Europe/Berlin` or `every 5m`.
fn when(schedule: &Schedule) -> String {
    match (&schedule.cron, &schedule.every) {
        (Some(cron), _) => format!(
            "cron {cron:?} in {}",
            schedule.time_zone.as_deref().unwrap_or("UTC")
        ),
        (None, Some(every)) => format!("every {every}"),
        (None, None) => "-".to_owned(),
    }
}

/// The next fire time in local time, or `never`.
fn next_fire(schedule: &Schedule) -> String {
    match schedule.next_fire {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "never".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read_as_the_flags_write_them() {
        let schedule = |json: Value| serde_json::from_value::<Schedule>(json).unwrap();
        // Policies as the flags write them.
        let missed = |json: Value| schedule_row(&schedule(json!({ "missed": json })))[3].clone();
        assert_eq!(missed(json!({ "run-all": { "max": 3 } })), "run-all:3");
        assert_eq!(missed(json!("skip")), "skip");
        let cron = schedule(json!({ "cron": "0 2 * * *", "timeZone": "Europe/Berlin" }));
        assert_eq!(when(&cron), "cron \"0 2 * * *\" in Europe/Berlin");
        assert_eq!(when(&schedule(json!({ "every": "5m" }))), "every 5m");
        assert_eq!(next_fire(&schedule(json!({ "nextFire": null }))), "never");
    }
}
