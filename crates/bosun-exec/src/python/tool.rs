//! Running the helper tools (the interpreter, `uv`, pip) and keeping the end of what they say.
//!
//! The tools are spawned from an argv, never through a shell, with stdin closed so a prompt
//! cannot hang a build. Both output pipes are read concurrently (a full pipe would block the
//! child) and only their last bytes are kept: an error message needs the tail, where pip and
//! uv name the package they could not install, and a long install must not grow memory.
//! A [`BuildObserver`] sees all of it as it comes, to show a build's progress.

use std::ffi::OsStr;
use std::io;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::{BuildEvent, BuildObserver};

/// How many bytes of each stream are kept.
const KEEP_BYTES: usize = 16 * 1024;
/// At most this many lines of output go into an error message...
const MESSAGE_LINES: usize = 20;
/// ...and at most this many bytes.
const MESSAGE_BYTES: usize = 2000;

/// What a finished tool left behind.
#[derive(Debug)]
pub(super) struct ToolRun {
    /// How it ended.
    pub(super) status: ExitStatus,
    /// The last [`KEEP_BYTES`] of its stdout.
    pub(super) stdout: Vec<u8>,
    /// The last [`KEEP_BYTES`] of its stderr.
    pub(super) stderr: Vec<u8>,
}

impl ToolRun {
    /// The end of its output as one line for an error message: stderr when it said
    /// anything there, else stdout.
    pub(super) fn tail(&self) -> String {
        let stream = if self.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
            &self.stderr
        } else {
            &self.stdout
        };
        let tail = one_line_tail(stream);
        if tail.is_empty() {
            format!("it exited with {} and printed nothing", self.status)
        } else {
            tail
        }
    }
}

/// Runs `command` to completion with stdin closed, keeping the tails of its output and
/// showing all of it, as it comes, to `observer`.
///
/// The child is killed if the returned future is dropped, so cancelling a build does not
/// leave a pip running behind it.
pub(super) async fn run(
    mut command: Command,
    observer: Option<&BuildObserver>,
) -> io::Result<ToolRun> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let stdout = child
        .stdout
        .take()
        .expect("stdout is piped: set just above");
    let stderr = child
        .stderr
        .take()
        .expect("stderr is piped: set just above");
    let (stdout, stderr, status) = tokio::try_join!(
        read_tail(stdout, observer),
        read_tail(stderr, observer),
        child.wait()
    )?;
    Ok(ToolRun {
        status,
        stdout,
        stderr,
    })
}

/// A short description of a command line for messages and logs: `uv venv`,
/// `python3 -m venv`.
pub(super) fn describe(program: &OsStr, args: &[&str]) -> String {
    let name = std::path::Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy();
    std::iter::once(name.as_ref())
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn read_tail(
    mut reader: impl AsyncRead + Unpin,
    observer: Option<&BuildObserver>,
) -> io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        if let Some(observer) = observer {
            observer(BuildEvent::Output(&chunk[..n]));
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > 2 * KEEP_BYTES {
            kept.drain(..kept.len() - KEEP_BYTES);
        }
    }
    if kept.len() > KEEP_BYTES {
        kept.drain(..kept.len() - KEEP_BYTES);
    }
    Ok(kept)
}

/// The last non-blank lines of `bytes` (lossy UTF-8), trimmed and joined with ` | `, at
/// most [`MESSAGE_LINES`] lines and about [`MESSAGE_BYTES`] bytes.
fn one_line_tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let start = lines.len().saturating_sub(MESSAGE_LINES);
    let joined = lines[start..].join(" | ");
    if joined.len() <= MESSAGE_BYTES {
        return joined;
    }
    let mut cut = joined.len() - MESSAGE_BYTES;
    while !joined.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &joined[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines_on_one_line() {
        let text: String = (1..=30).map(|i| format!("line {i}\n\n")).collect();
        let tail = one_line_tail(text.as_bytes());
        assert!(tail.starts_with("line 11 | line 12"), "{tail}");
        assert!(tail.ends_with("line 30"), "{tail}");
        assert!(!tail.contains('\n'));
    }

    #[test]
    fn tail_is_bounded_and_survives_bad_utf8() {
        let mut bytes = "é".repeat(3000).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe end");
        let tail = one_line_tail(&bytes);
        assert!(
            tail.len() <= MESSAGE_BYTES + '…'.len_utf8() + 3,
            "{}",
            tail.len()
        );
        assert!(tail.starts_with('…'));
        assert!(tail.ends_with("\u{fffd}\u{fffd} end"), "{tail}");
    }

    #[test]
    fn describe_names_the_program_not_its_directory() {
        assert_eq!(
            describe(OsStr::new("/usr/bin/python3"), &["-m", "venv"]),
            "python3 -m venv"
        );
    }
}
