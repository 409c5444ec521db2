//! The entries the worker reads: seed 003's job message, checked.
//!
//! A job entry has the fields `jobId, workflowId, userId, projectId, connectionId, task,
//! payload` (seed 004 leaves out `userId` and `projectId`, so they may be missing).
//! `jobId` is required (results are kept by it), and so is `task` or `payload`. An entry
//! that fails these checks is [`Malformed`]: it goes to the dead-letter stream at once.

use std::collections::HashMap;

use redis::Value;

use crate::config::Role;

/// A job read from one of the role streams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobMessage {
    /// The caller's id for this job; results and notifications are keyed by it.
    pub job_id: String,
    /// The workflow it belongs to.
    pub workflow_id: String,
    /// Who asked for it.
    pub user_id: String,
    /// Their project.
    pub project_id: String,
    /// The SignalR connection waiting for the result.
    pub connection_id: String,
    /// What to do, in words.
    pub task: String,
    /// The data to do it on (for the inspector, the code).
    pub payload: String,
}

/// Why an entry cannot be a job; kept with it in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The fields of an entry as text; a field that is not text (a number) is its digits.
pub fn fields(map: &HashMap<String, Value>) -> Result<HashMap<String, String>, Malformed> {
    map.iter()
        .map(|(name, value)| {
            let text = match value {
                Value::BulkString(bytes) => String::from_utf8(bytes.clone())
                    .map_err(|_| Malformed(format!("field {name:?} is not UTF-8")))?,
                Value::SimpleString(s) => s.clone(),
                Value::Int(n) => n.to_string(),
                other => return Err(Malformed(format!("field {name:?} is {other:?}, not text"))),
            };
            Ok((name.clone(), text))
        })
        .collect()
}

/// Looks a field up by its name in any case (`jobId`, `JobId`, `jobid`).
/// The exact name is tried first: a map has no order to pick among spellings by.
fn field<'a, V>(fields: &'a HashMap<String, V>, name: &str) -> Option<&'a V> {
    fields
        .get(name)
        .or_else(|| bosun_core::case::get(fields, name))
}

/// The longest `jobId` accepted: it is a key in the store.
const MAX_ID: usize = 200;

impl JobMessage {
    /// Reads a job from an entry's fields. A chat entry may name its id `messageId`
    /// and its text `message`.
    pub fn parse(role: Role, fields: &HashMap<String, String>) -> Result<Self, Malformed> {
        Self::parse_by(role, |name| field(fields, name).map(String::as_str))
    }

    /// Reads a job from an entry as read: [`fields`] and [`JobMessage::parse`] in one,
    /// without copying the fields it does not keep.
    pub fn from_entry(role: Role, map: &HashMap<String, Value>) -> Result<Self, Malformed> {
        let mut numbers = false;
        for (name, value) in map {
            match value {
                Value::BulkString(bytes) => {
                    std::str::from_utf8(bytes)
                        .map_err(|_| Malformed(format!("field {name:?} is not UTF-8")))?;
                }
                Value::SimpleString(_) => {}
                Value::Int(_) => numbers = true,
                other => return Err(Malformed(format!("field {name:?} is {other:?}, not text"))),
            }
        }
        if numbers {
            return Self::parse(role, &fields(map)?);
        }
        Self::parse_by(role, |name| match field(map, name)? {
            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
            Value::SimpleString(s) => Some(s),
            _ => None,
        })
    }

    /// Reads a job from the fields `get` finds by name.
    fn parse_by<'a>(role: Role, get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, Malformed> {
        let text = |name| get(name).unwrap_or_default().to_owned();
        let either = |first, second| {
            let value = text(first);
            if value.trim().is_empty() && role == Role::Chat {
                text(second)
            } else {
                value
            }
        };
        let job_id = either("jobId", "messageId");
        if job_id.trim().is_empty() {
            return Err(Malformed("the entry has no jobId".to_owned()));
        }
        if job_id.len() > MAX_ID || job_id.chars().any(char::is_control) {
            return Err(Malformed(format!(
                "jobId is longer than {MAX_ID} bytes or holds control characters"
            )));
        }
        let message = Self {
            job_id,
            workflow_id: text("workflowId"),
            user_id: text("userId"),
            project_id: text("projectId"),
            connection_id: text("connectionId"),
            task: either("task", "message"),
            payload: text("payload"),
        };
        if message.task.trim().is_empty() && message.payload.trim().is_empty() {
            return Err(Malformed(format!(
                "job {} has neither a task nor a payload",
                message.job_id
            )));
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_seed_message_reads_with_its_fields_in_any_case() {
        let job = JobMessage::parse(
            Role::Manager,
            &of(&[
                ("jobId", "j1"),
                ("WorkflowId", "w"),
                ("connectionId", "c"),
                ("task", "plan"),
                ("payload", "{\"k\":1}"),
            ]),
        )
        .unwrap();
        assert_eq!(job.job_id, "j1");
        assert_eq!(job.workflow_id, "w");
        assert_eq!(job.user_id, "", "seed 004 sends no userId");
        assert_eq!(job.payload, "{\"k\":1}");
    }

    #[test]
    fn an_entry_without_a_job_id_or_any_work_is_malformed() {
        let no_id = JobMessage::parse(Role::Agent, &of(&[("task", "x")])).unwrap_err();
        assert!(no_id.0.contains("jobId"), "{no_id}");
        let nothing = JobMessage::parse(Role::Agent, &of(&[("jobId", "j")])).unwrap_err();
        assert!(
            nothing.0.contains("neither a task nor a payload"),
            "{nothing}"
        );
        let control =
            JobMessage::parse(Role::Agent, &of(&[("jobId", "a\nb"), ("task", "x")])).unwrap_err();
        assert!(control.0.contains("control"), "{control}");
    }

    #[test]
    fn an_entry_as_read_reads_as_its_fields_do() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let entry: HashMap<String, Value> = [
            ("JobId", bulk("j1")),
            ("task", Value::SimpleString("plan".to_owned())),
            ("userId", Value::Int(7)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let job = JobMessage::from_entry(Role::Agent, &entry).unwrap();
        assert_eq!(
            job,
            JobMessage::parse(Role::Agent, &fields(&entry).unwrap()).unwrap()
        );
        assert_eq!((job.job_id.as_str(), job.user_id.as_str()), ("j1", "7"));
        let mut bad = entry.clone();
        bad.insert("payload".to_owned(), Value::BulkString(vec![0xff]));
        let e = JobMessage::from_entry(Role::Agent, &bad).unwrap_err();
        assert!(e.0.contains("not UTF-8"), "{e}");
        bad.insert("payload".to_owned(), Value::Nil);
        assert!(JobMessage::from_entry(Role::Agent, &bad).is_err());
    }

    #[test]
    fn a_chat_entry_may_say_message_id_and_message() {
        let chat =
            JobMessage::parse(Role::Chat, &of(&[("messageId", "m1"), ("message", "hi")])).unwrap();
        assert_eq!((chat.job_id.as_str(), chat.task.as_str()), ("m1", "hi"));
        assert!(
            JobMessage::parse(Role::Agent, &of(&[("messageId", "m1"), ("message", "hi")])).is_err()
        );
    }
}
