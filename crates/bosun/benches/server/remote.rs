//! (e) Trigger-to-process-start latency of a Python bot on a remote agent, through the
//! hub, against the same bot on the server's local runner.
//!
//! One package is uploaded once: a `bot.py` whose first statement prints
//! `time.time_ns()`. The local side is a job `{"name": "stamp-bot", "bot": {"package":
//! "stamp"}}` run with `POST /api/jobs/stamp-bot/run`; the remote side is a real
//! `bosun agent` in a child process, connected to the same server's hub, triggered with
//! `POST /default/api/executions/trigger {botAgentId, packageId}`. Both sides see the
//! start the same way: a sample is the bot's stamp, read back from the execution's log
//! (`GET /api/executions/{id}/logs`), minus the wall clock read just before the request
//! is sent. Each side builds its environment (and the agent downloads the package)
//! in warm-up runs, before any timing; the timed runs find both ready.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::Fallible;
use crate::api::Api;
use crate::latency::{Sample, now_ns, seconds_between};

/// The package's name.
pub(crate) const PACKAGE: &str = "stamp";

/// The local runner's job of that package.
pub(crate) const JOB: &str = "stamp-bot";

/// The bot: its first statement prints its start.
const BOT: &str = "import time; print(time.time_ns(), flush=True)\n";

/// How long a side leaves the server alone after the trigger's answer, before it
/// asks whether the execution has ended: a Python bot's start takes tens of
/// milliseconds, and asking would compete with it. A later start is timed as it is.
const SETTLE: Duration = Duration::from_millis(60);

/// How often a side then asks whether its execution has ended.
const POLL: Duration = Duration::from_millis(5);

/// The pause between two samples on both sides, so that each trigger meets an idle
/// server and agent (the agent reports its result, then itself Available again).
const PAUSE: Duration = Duration::from_millis(20);

/// How long an execution's log may take to hold the stamp once the execution has
/// ended.
const PATIENCE: Duration = Duration::from_secs(60);

/// Where a bot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The server's own runner.
    Local,
    /// The remote agent.
    Agent,
}

/// Uploads the package (zipped from a folder made in `dir`), defines the local job,
/// and creates the agent; the agent's id and machine key.
pub(crate) async fn prepare(api: Api, dir: &Path) -> Fallible<(String, String)> {
    let bot = dir.join("stamp-bot");
    std::fs::create_dir_all(&bot)?;
    std::fs::write(bot.join("bot.py"), BOT)?;
    let mut zip = std::io::Cursor::new(Vec::new());
    bosun_package::pack_dir(&bot, &mut zip)?;
    api.upload(PACKAGE, "1.0.0", zip.into_inner()).await?;
    api.create_job(&json!({
        "name": JOB,
        "bot": {"package": PACKAGE},
        "duplicatePolicy": "allow",
    }))
    .await?;
    let created = api
        .post(
            "/default/api/agents/create",
            &json!({"name": "bench-agent", "machineName": "loopback"}),
            201,
            "creating an agent",
        )
        .await?;
    let field = |name: &str| -> Fallible<String> {
        created[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the new agent has no {name}").into())
    };
    Ok((field("id")?, field("machineKey")?))
}

/// The agent's status as the server records it (`Available`, `Busy`, `Disconnected`).
pub(crate) async fn agent_status(api: Api, agent_id: String) -> Fallible<String> {
    let agent = api.get(&format!("/default/api/agents/{agent_id}")).await?;
    Ok(agent["status"].as_str().unwrap_or_default().to_owned())
}

/// `n` samples on `side`, one at a time.
pub(crate) async fn samples(
    api: Api,
    side: Side,
    agent_id: String,
    n: usize,
) -> Fallible<Vec<Sample>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = now_ns();
        let id = trigger(&api, side, &agent_id).await?;
        let answered = now_ns();
        tokio::time::sleep(SETTLE).await;
        let execution = api.finished(&id, POLL).await?;
        if execution["status"] != "CompletedSuccessfully" {
            return Err(format!("{side:?}: execution {id} did not succeed: {execution}").into());
        }
        let stamp = stamp(&api, &id).await?;
        samples.push(Sample {
            start: seconds_between(sent, stamp),
            step: seconds_between(sent, answered),
        });
        tokio::time::sleep(PAUSE).await;
    }
    Ok(samples)
}

/// Starts the bot on `side`; the execution's id.
async fn trigger(api: &Api, side: Side, agent_id: &str) -> Fallible<String> {
    let (id, answer) = match side {
        Side::Local => return api.run(JOB).await,
        Side::Agent => {
            let body = json!({"botAgentId": agent_id, "packageId": PACKAGE});
            let answer = api
                .post(
                    "/default/api/executions/trigger",
                    &body,
                    200,
                    "triggering on the agent",
                )
                .await?;
            (answer["ExecutionId"].as_str().map(str::to_owned), answer)
        }
    };
    id.ok_or_else(|| format!("the trigger answered no ExecutionId: {answer}").into())
}

/// The stamp the bot printed, from the execution's log: its first line that is a
/// number. An agent's output reaches the server in messages of its own, so the log
/// is read again until it holds one.
async fn stamp(api: &Api, id: &str) -> Fallible<i64> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let log = api.log(id).await?;
        // The log may open with the runner's own lines (an environment being built).
        if let Some(stamp) = log.lines().find_map(|line| line.trim().parse().ok()) {
            return Ok(stamp);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("execution {id}'s log holds no stamp: {log:?}").into());
        }
        tokio::time::sleep(POLL).await;
    }
}
