//! `bosun submit FILE|NAME`: creates or updates a job from a JSON file, or picks one the
//! server has by name, starts an execution, and optionally waits for it (with a
//! progress line on a terminal) or streams its output.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::logs::{Stream, closed_early, follow};
use super::table::clip;
use super::wire::{Execution, Shown};
use super::{Answer, Client, ClientError, human, print};
use crate::cli::SubmitArgs;
use crate::exit;

/// How often `--wait` asks the server how the execution is doing.
const POLL: Duration = Duration::from_millis(500);

/// What FILE|NAME named.
#[derive(Debug, PartialEq)]
enum Target {
    /// A job definition read from a file.
    File {
        /// Its `name`.
        name: String,
        /// The definition, sent as it is.
        definition: Value,
    },
    /// A job the server already has.
    Name(String),
}

impl Target {
    /// An existing `.json` file is a job definition; a word that is not a path is a
    /// job's name.
    fn of(arg: &str) -> Result<Self, ClientError> {
        let path = Path::new(arg);
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json && path.is_file() {
            return Self::read(path);
        }
        if json || arg.contains('/') {
            let why = if path.exists() {
                "is not a job JSON file"
            } else {
                "does not exist"
            };
            return Err(ClientError::Usage(format!(
                "{arg} {why}: submit takes a job JSON file or the name of a job the server has"
            )));
        }
        if arg.trim().is_empty() {
            return Err(ClientError::Usage("the job name is empty".to_owned()));
        }
        Ok(Self::Name(arg.to_owned()))
    }

    fn read(path: &Path) -> Result<Self, ClientError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::Usage(format!("cannot read {shown}: {e}")))?;
        let mut definition: Value = serde_json::from_str(&text)
            .map_err(|e| ClientError::Usage(format!("{shown} is not valid JSON: {e}")))?;
        // Relative paths are the job file's, as for `bosun run`, not the server's.
        bosun_core::job::anchor_definition(&mut definition, path);
        // `name` in any case, as the server reads definitions (seed 000 wrote `Name`).
        let name = definition
            .as_object()
            .and_then(|object| bosun_core::case::get(object, "name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ClientError::Usage(format!(
                    "{shown} has no \"name\": the server keeps jobs by name"
                ))
            })?
            .to_owned();
        Ok(Self::File { name, definition })
    }
}

/// Submits and, if asked, waits.
pub(crate) async fn submit(args: SubmitArgs) -> Result<u8> {
    let target = Target::of(&args.job)?;
    let client = Client::new(&args.client)?;
    let name = match target {
        Target::File { name, definition } => {
            save(&client, &name, &definition).await?;
            name
        }
        Target::Name(name) => name,
    };
    let request = client
        .request(Method::POST, &["api", "jobs", &name, "run"])
        .json(&json!({ "arguments": args.args }));
    let started = client.json::<Execution>(request).await?;
    let Some(id) = Some(started.value.id.clone()).filter(|id| !id.is_empty()) else {
        return Err(ClientError::Server {
            status: StatusCode::OK,
            message: "the server started an execution but did not say its id".to_owned(),
        }
        .into());
    };
    if !args.wait && !args.follow {
        print(if args.json { &started.raw } else { &id })?;
        return Ok(exit::SUCCESS);
    }
    if args.follow {
        eprintln!("bosun: started {name}: {id}");
    } else if !args.json {
        print(&id)?;
    }

    let outcome = tokio::select! {
        finished = run_to_end(&client, &id, args.follow) => finished?,
        _ = tokio::signal::ctrl_c() => {
            Progress::clear_line();
            eprintln!("bosun: stopped waiting; {id} goes on (`bosun cancel {id}` stops it)");
            return Ok(exit::CANCELLED);
        }
    };
    let execution = &outcome.value;
    if args.json {
        print(&outcome.raw)?;
    } else {
        eprintln!("bosun: {}", summary(execution));
    }
    Ok(execution
        .status
        .and_then(exit::for_status)
        .unwrap_or(exit::FAILED))
}

/// Creates the job, or replaces the definition of the one with that name.
async fn save(client: &Client, name: &str, definition: &Value) -> Result<()> {
    let exists = match client
        .send(client.request(Method::GET, &["api", "jobs", name]))
        .await
    {
        Ok(_) => true,
        Err(ClientError::Server {
            status: StatusCode::NOT_FOUND,
            ..
        }) => false,
        Err(e) => return Err(e.into()),
    };
    let request = if exists {
        client.request(Method::PUT, &["api", "jobs", name])
    } else {
        client.request(Method::POST, &["api", "jobs"])
    };
    client.send(request.json(definition)).await?;
    let done = if exists { "updated" } else { "created" };
    eprintln!("bosun: job {name} {done}");
    Ok(())
}

/// Streams the output (with `follow`) or shows progress, until the execution ends;
/// returns it as it ended.
async fn run_to_end(client: &Client, id: &str, follow_output: bool) -> Result<Answer<Execution>> {
    if follow_output {
        let (out, err) = tokio::join!(
            follow(client, id, Stream::Stdout, std::io::stdout()),
            follow(client, id, Stream::Stderr, std::io::stderr()),
        );
        if out?.is_none() || err?.is_none() {
            // The server may have gone: one more look says whether it is still there.
            let last = get(client, id).await?;
            if !last.value.is_finished() {
                return Err(closed_early(client).into());
            }
            return Ok(last);
        }
    }
    wait(client, id).await
}

/// Polls until the execution has ended, drawing a progress line on a terminal and
/// printing status changes otherwise.
async fn wait(client: &Client, id: &str) -> Result<Answer<Execution>> {
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let mut last_status = None;
    loop {
        let answer = get(client, id).await?;
        if answer.value.is_finished() {
            progress.clear();
            return Ok(answer);
        }
        let status = answer.value.status_text().to_owned();
        if !progress.tty && last_status.as_ref() != Some(&status) {
            eprintln!("bosun: {} is {status}", answer.value.job());
        }
        last_status = Some(status);
        for _ in 0..4 {
            progress.draw(&answer.value);
            tokio::time::sleep(POLL / 4).await;
        }
    }
}

async fn get(client: &Client, id: &str) -> Result<Answer<Execution>> {
    Ok(client
        .json(client.request(Method::GET, &["api", "executions", id]))
        .await?)
}

/// The closing line: `hello · Failed · exit 1 · 3s · the message`.
fn summary(execution: &Execution) -> String {
    let mut parts = vec![
        execution.job().to_owned(),
        execution.status_text().to_owned(),
    ];
    if let Some(code) = execution.exit_code {
        parts.push(format!("exit {code}"));
    }
    if let (Some(start), Some(end)) = (execution.start_time, execution.end_time) {
        parts.push(human::between(start, end));
    }
    if let Some(message) = execution.message.as_deref().filter(|m| !m.is_empty()) {
        parts.push(message.to_owned());
    }
    parts.join(" · ")
}

/// A line on stderr rewritten in place: spinner, job, status, time, progress, and the
/// job's last status message. Only on a terminal; elsewhere it draws nothing.
struct Progress {
    tty: bool,
    frame: usize,
    width: usize,
}

impl Progress {
    fn new(tty: bool) -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|&w: &usize| w >= 20)
            .unwrap_or(80);
        Self {
            tty,
            frame: 0,
            width,
        }
    }

    fn draw(&mut self, execution: &Execution) {
        if !self.tty {
            return;
        }
        const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
        let spinner = SPINNER[self.frame % SPINNER.len()];
        self.frame += 1;
        let mut line = format!("{spinner} {} {}", execution.job(), execution.status_text());
        if let Some(start) = execution.start_time {
            line.push(' ');
            line.push_str(&human::between(start, chrono::Utc::now()));
        }
        if execution.progress.is_some() {
            line.push(' ');
            line.push_str(&human::percent(execution.percent()));
        }
        if let Some(message) = execution
            .status_message
            .as_deref()
            .filter(|m| !m.is_empty())
        {
            line.push_str(" · ");
            line.push_str(&message.replace(char::is_control, " "));
        }
        // Shorter than the terminal, so that it never wraps and `\r` can rewrite it.
        eprint!("\r{}\x1b[K", clip(&line, self.width - 1));
    }

    fn clear(&self) {
        if self.tty && self.frame > 0 {
            Self::clear_line();
        }
    }

    /// Erases the current line of a terminal on stderr.
    fn clear_line() {
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_file_is_a_definition_and_a_word_is_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("job.json");
        std::fs::write(
            &file,
            r#"{"name": "hello", "process": {"command": "true"}}"#,
        )
        .unwrap();
        match Target::of(file.to_str().unwrap()).unwrap() {
            Target::File { name, definition } => {
                assert_eq!(name, "hello");
                assert_eq!(definition["process"]["command"], "true");
            }
            other => panic!("expected a file, got {other:?}"),
        }
        std::fs::write(&file, r#"{"Name": "seed", "Process": {"Command": "true"}}"#).unwrap();
        assert!(matches!(
            Target::of(file.to_str().unwrap()).unwrap(),
            Target::File { name, .. } if name == "seed"
        ));
        assert_eq!(
            Target::of("nightly-report").unwrap(),
            Target::Name("nightly-report".into())
        );
    }

    #[test]
    fn paths_that_are_not_job_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let error = Target::of(missing.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        let error = Target::of(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("is not a job JSON file"),
            "{error}"
        );

        let nameless = dir.path().join("nameless.json");
        std::fs::write(&nameless, r#"{"process": {"command": "true"}}"#).unwrap();
        let error = Target::of(nameless.to_str().unwrap()).unwrap_err();
        assert!(error.to_string().contains("has no \"name\""), "{error}");
    }

    #[test]
    fn the_summary_names_how_it_ended() {
        let execution: Execution = serde_json::from_str(
            r#"{"jobName": "hello", "status": "Failed", "exitCode": 3,
                "startTime": "2025-01-01T00:00:00Z", "endTime": "2025-01-01T00:00:04Z",
                "message": "exited with code 3"}"#,
        )
        .unwrap();
        assert_eq!(
            summary(&execution),
            "hello · Failed · exit 3 · 4s · exited with code 3"
        );
    }
}
