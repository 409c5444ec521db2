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
fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str).or_else(|| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    })
}

/// The longest `jobId` accepted: it is a key in the store.
const MAX_ID: usize = 200;

impl JobMessage {
    /// Reads a job from an entry's fields. A chat entry may name its id `messageId`
    /// and its text `message`.
    pub fn parse(role: Role, fields: &HashMap<String, String>) -> Result<Self, Malformed> {
        let text = |name| field(fields, name).unwrap_or_default().to_owned();
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
    fn a_chat_entry_may_say_message_id_and_message() {
        let chat =
            JobMessage::parse(Role::Chat, &of(&[("messageId", "m1"), ("message", "hi")])).unwrap();
        assert_eq!((chat.job_id.as_str(), chat.task.as_str()), ("m1", "hi"));
        assert!(
            JobMessage::parse(Role::Agent, &of(&[("messageId", "m1"), ("message", "hi")])).is_err()
        );
    }
}
