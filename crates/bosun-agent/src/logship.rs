//! A run's output, sent to the server while it is written: `SendExecutionLog(executionId,
//! stream, offset, dataBase64)`.
//!
//! The log files are read from the byte the server is believed to have, at most
//! [`CHUNK`] bytes a call. The server answers its byte count after applying the chunk;
//! on a mismatch it applies nothing and answers its count, and reading continues from
//! there — so a restart, a reconnect or a chunk sent twice never duplicates or loses
//! output. While a run lasts its files are looked at every [`TICK`]; after it ends,
//! everything left is sent before its result.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::hub::{Hub, Sent};
use crate::ids::ExecutionId;
use crate::outbox::LogFiles;

/// The most bytes of output sent in one call.
pub(crate) const CHUNK: usize = 16 * 1024;
/// How often a running execution's logs are looked at.
pub(crate) const TICK: Duration = Duration::from_millis(200);

/// The bytes of each stream the server has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Offsets {
    /// Of standard output.
    pub(crate) stdout: u64,
    /// Of standard error.
    pub(crate) stderr: u64,
}

/// How a round of sending ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shipped {
    /// Everything in the files is with the server.
    CaughtUp,
    /// The connection ended: try again on the next one.
    Lost,
    /// The server refused the output (it gave the execution up): send no more.
    Refused(String),
}

/// Sends what the files hold beyond `offsets`, updating them as the server answers.
pub(crate) async fn ship(
    hub: &Hub,
    id: &ExecutionId,
    logs: &LogFiles,
    offsets: &mut Offsets,
) -> Shipped {
    for (stream, path, offset) in [
        ("stdout", &logs.stdout, &mut offsets.stdout),
        ("stderr", &logs.stderr, &mut offsets.stderr),
    ] {
        loop {
            let chunk = match read_chunk(path, *offset).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    tracing::warn!(execution = %id, log = %path.display(), "could not read the log: {e}");
                    break;
                }
            };
            if chunk.is_empty() {
                break;
            }
            let data = base64::engine::general_purpose::STANDARD.encode(&chunk);
            let args = vec![json!(id), json!(stream), json!(*offset), Value::from(data)];
            match hub.invoke("SendExecutionLog", args).await {
                Sent::Done(count) => match count.as_u64() {
                    Some(count) => {
                        if count != *offset + chunk.len() as u64 {
                            tracing::debug!(execution = %id, stream, sent_at = *offset, server_has = count, "the server's byte count differs; continuing from it");
                        }
                        *offset = count;
                    }
                    None => {
                        return Shipped::Refused(format!(
                            "the server answered {count} instead of a byte count"
                        ));
                    }
                },
                Sent::Lost => return Shipped::Lost,
                Sent::Refused(why) => return Shipped::Refused(why),
            }
        }
    }
    Shipped::CaughtUp
}

/// Up to [`CHUNK`] bytes of `path` from `offset`; none when the file does not exist (yet).
pub(crate) async fn read_chunk(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut chunk = Vec::with_capacity(CHUNK);
    (&mut file)
        .take(CHUNK as u64)
        .read_to_end(&mut chunk)
        .await?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_are_read_from_an_offset_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.log");
        assert!(
            read_chunk(&path, 0).await.unwrap().is_empty(),
            "not there yet"
        );
        let bytes: Vec<u8> = (0..CHUNK * 2 + 10).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_chunk(&path, 0).await.unwrap(), bytes[..CHUNK]);
        assert_eq!(
            read_chunk(&path, CHUNK as u64 + 5).await.unwrap(),
            bytes[CHUNK + 5..CHUNK * 2 + 5]
        );
        assert_eq!(
            read_chunk(&path, (CHUNK * 2) as u64).await.unwrap(),
            bytes[CHUNK * 2..]
        );
        assert!(
            read_chunk(&path, bytes.len() as u64 + 9)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
