//! The example job a new server starts with, so that a newcomer can run something in
//! one command: the repository's example bot, written into the data dir (so it is
//! there wherever the binary runs) and defined as the job `hello-bot`.

use std::path::Path;

use bosun_store::Store;
use serde_json::json;

use crate::error::ServerError;

/// The example job's name.
pub const EXAMPLE_JOB: &str = "hello-bot";

/// The example bot's files, as in the repository's `examples/hello-bot`.
const FILES: &[(&str, &str)] = &[
    ("bot.py", include_str!("../../../examples/hello-bot/bot.py")),
    (
        "requirements.txt",
        include_str!("../../../examples/hello-bot/requirements.txt"),
    ),
];

/// Writes the bot under `home/examples/` (files already there are left alone) and
/// defines the job in `tenant_id`.
pub(crate) async fn create(store: &Store, tenant_id: &str, home: &Path) -> Result<(), ServerError> {
    let dir = home.join("examples").join(EXAMPLE_JOB);
    std::fs::create_dir_all(&dir).map_err(ServerError::io("create", &dir))?;
    for (name, text) in FILES {
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => std::io::Write::write_all(&mut file, text.as_bytes())
                .map_err(ServerError::io("write", &path))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(ServerError::io("create", path)(e)),
        }
    }
    let definition = json!({
        "name": EXAMPLE_JOB,
        "bot": { "path": dir, "arguments": ["--steps", "5", "--pause", "1"] },
        "duplicatePolicy": "queue",
    });
    store
        .create_job(tenant_id, EXAMPLE_JOB, &definition)
        .await
        .map_err(ServerError::ExampleJob)?;
    Ok(())
}
