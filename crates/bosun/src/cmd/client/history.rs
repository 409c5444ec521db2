//! `bosun history`: past and present executions, newest first, a page at a time.

use anyhow::Result;
use reqwest::Method;

use super::table::{Layout, Table, clip, or_dash};
use super::wire::{Execution, Page, Shown};
use super::{Client, human, print, printed_instead};
use crate::cli::HistoryArgs;
use crate::exit;

/// Lists one page of executions, and says how to see the next.
pub(crate) async fn history(args: HistoryArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let mut request = client
        .request(Method::GET, &["api", "executions"])
        .query(&[("limit", args.limit)]);
    if let Some(job) = &args.job {
        request = request.query(&[("job", job)]);
    }
    if let Some(status) = args.status {
        request = request.query(&[("status", status.as_str())]);
    }
    if let Some(before) = &args.before {
        request = request.query(&[("before", before)]);
    }
    let answer = client.json::<Page<Execution>>(request).await?;
    let page = &answer.value;
    let none = page.items.is_empty();
    if printed_instead(args.output, &answer.raw, none, || match &args.job {
        Some(job) => format!("no executions of {job}"),
        None => "no executions".to_owned(),
    })? {
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new(&[
        "ID", "JOB", "STATUS", "EXIT", "STARTED", "DURATION", "MESSAGE",
    ]);
    for execution in &page.items {
        table.row(row(execution, chrono::Utc::now()));
    }
    print(&table.render(Layout::for_stdout(args.output.wide)))?;
    if let Some(cursor) = &page.next {
        eprintln!("bosun: more: {}", next_page(&args, cursor));
    }
    Ok(exit::SUCCESS)
}

fn row(execution: &Execution, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let (start, end) = (execution.start_time, execution.end_time);
    let duration = match (start, end) {
        (Some(start), Some(end)) => human::between(start, end),
        (Some(start), None) if !execution.is_finished() => {
            format!("{} so far", human::between(start, now))
        }
        _ => "-".to_owned(),
    };
    let started = start.or(execution.created_at);
    let message = execution
        .message
        .as_deref()
        .or(execution.status_message.as_deref())
        .unwrap_or("");
    vec![
        execution.id().to_owned(),
        execution.job().to_owned(),
        execution.status_text().to_owned(),
        or_dash(execution.exit_code),
        or_dash(started.map(human::local)),
        duration,
        clip(message, 60),
    ]
}

/// The command that shows the next page: this one with `--before CURSOR`.
fn next_page(args: &HistoryArgs, cursor: &str) -> String {
    let mut command = String::from("bosun history");
    if let Some(job) = &args.job {
        command.push(' ');
        command.push_str(&quote(job));
    }
    if let Some(status) = args.status {
        command.push_str(&format!(" --status {status}"));
    }
    if args.limit != 20 {
        command.push_str(&format!(" --limit {}", args.limit));
    }
    if args.output.wide {
        command.push_str(" --wide");
    }
    command.push_str(&format!(" --before {}", quote(cursor)));
    command
}

/// Quotes a word for a POSIX shell when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=+@".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ClientArgs, OutputArgs};

    #[test]
    fn the_next_page_command_repeats_the_filters() {
        let args = HistoryArgs {
            job: Some("nightly report".into()),
            limit: 5,
            status: Some(bosun_core::ExecutionStatus::Failed),
            before: Some("old".into()),
            output: OutputArgs {
                json: false,
                wide: true,
            },
            client: ClientArgs::default(),
        };
        assert_eq!(
            next_page(&args, "c2VlZA=="),
            "bosun history 'nightly report' --status Failed --limit 5 --wide --before c2VlZA=="
        );
    }
}
