//! The Redis side: consumer groups, reads, acknowledgements, notifications and the
//! dead-letter stream. Commands that belong together go in one MULTI, so an entry is
//! never dead-lettered without being acknowledged, or acknowledged without its record.

use std::collections::HashMap;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use redis::{AsyncCommands, RedisResult, Value};

/// Creates `group` on `stream` (and the stream) unless it exists. A new group starts at
/// the stream's first entry: jobs queued before any worker ran (or while Redis was
/// being restarted) are jobs too.
pub async fn ensure_group(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
) -> RedisResult<()> {
    let created: RedisResult<()> = conn.xgroup_create_mkstream(stream, group, "0").await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// True when `e` says the stream or its group is missing (Redis lost them, e.g. after
/// a restart without persistence): make them again and carry on.
pub fn is_no_group(e: &redis::RedisError) -> bool {
    e.code() == Some("NOGROUP")
}

/// One blocking `XREADGROUP … >` over `streams`, each with `count`.
pub async fn read(
    conn: &mut MultiplexedConnection,
    group: &str,
    consumer: &str,
    streams: &[&str],
    count: usize,
    block_ms: u64,
) -> RedisResult<Vec<(String, StreamId)>> {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(group)
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(streams);
    for _ in streams {
        cmd.arg(">");
    }
    let reply: Option<StreamReadReply> = cmd.query_async(conn).await?;
    Ok(reply
        .map(|r| {
            r.keys
                .into_iter()
                .flat_map(|k| {
                    let key = k.key;
                    k.ids.into_iter().map(move |id| (key.clone(), id))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Takes over up to `count` entries of `stream` pending longer than `min_idle_ms` on
/// any consumer (a dead one, typically), looking from the pending entry `start` on.
/// Redis looks at no more than `10 × count` entries: the reply's `next_stream_id` is
/// where to go on from (`0-0` when it reached the end). Entries deleted from the stream
/// meanwhile are dropped from the pending list by Redis and come back in `deleted_ids`.
pub async fn autoclaim(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    consumer: &str,
    min_idle_ms: u64,
    start: &str,
    count: usize,
) -> RedisResult<StreamAutoClaimReply> {
    redis::cmd("XAUTOCLAIM")
        .arg(stream)
        .arg(group)
        .arg(consumer)
        .arg(min_idle_ms)
        .arg(start)
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
}

/// Resets the idle time of entries `consumer` is still running, so [`autoclaim`] does
/// not take them over while they run: the idle time counts from the last delivery,
/// whatever the job's length. Only entries still pending on `consumer` are touched (an
/// entry another worker took over stays with it), and the delivery count is not
/// increased (`JUSTID`). Returns how many were still `consumer`'s.
pub async fn keep_claimed(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    consumer: &str,
    ids: &[String],
) -> RedisResult<u64> {
    // XPENDING and XCLAIM in one script, so nothing is claimed from another consumer
    // between the check and the claim.
    const SCRIPT: &str = r"
local kept = 0
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if entry and entry[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept";
    redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(1)
        .arg(stream)
        .arg(group)
        .arg(consumer)
        .arg(ids)
        .query_async(conn)
        .await
}

/// How many times the entry has been delivered (1 on its first read).
pub async fn deliveries(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    id: &str,
) -> RedisResult<u64> {
    // XPENDING key group start end count -> [[id, consumer, idle, deliveries]]
    let rows: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .arg(id)
        .arg(id)
        .arg(1)
        .query_async(conn)
        .await?;
    Ok(rows.first().map_or(1, |r| r.3))
}

/// The key of the hash holding each pending entry's last error, for the dead letter.
pub fn errors_key(group: &str) -> String {
    format!("bosun:{group}:errors")
}

/// Acknowledges an entry and forgets its last error.
pub async fn ack(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    id: &str,
) -> RedisResult<()> {
    redis::pipe()
        .atomic()
        .xack(stream, group, &[id])
        .ignore()
        .hdel(errors_key(group), format!("{stream} {id}"))
        .ignore()
        .query_async(conn)
        .await
}

/// Remembers why an attempt at an entry failed (it stays pending, to be tried again).
pub async fn remember_error(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    id: &str,
    error: &str,
) -> RedisResult<()> {
    conn.hset(errors_key(group), format!("{stream} {id}"), error)
        .await
}

/// The last error remembered for an entry.
pub async fn last_error(
    conn: &mut ConnectionManager,
    stream: &str,
    group: &str,
    id: &str,
) -> RedisResult<Option<String>> {
    conn.hget(errors_key(group), format!("{stream} {id}")).await
}

/// An entry of a role stream, as the commands about it name it.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// Its stream.
    pub stream: &'a str,
    /// The consumer group.
    pub group: &'a str,
    /// Its id.
    pub id: &'a str,
}

/// Moves an entry (with its `fields`) to the dead-letter stream `dead`, trimmed to about
/// `keep` entries, with why, and acknowledges it, together.
pub async fn dead_letter(
    conn: &mut ConnectionManager,
    dead: &str,
    keep: usize,
    entry_ref: EntryRef<'_>,
    fields: &HashMap<String, Value>,
    error: &str,
    attempts: u64,
) -> RedisResult<()> {
    let EntryRef { stream, group, id } = entry_ref;
    let mut entry: Vec<(String, Vec<u8>)> = vec![
        ("stream".to_owned(), stream.as_bytes().to_vec()),
        ("entryId".to_owned(), id.as_bytes().to_vec()),
        ("error".to_owned(), error.as_bytes().to_vec()),
        ("attempts".to_owned(), attempts.to_string().into_bytes()),
        (
            "failedAt".to_owned(),
            chrono::Utc::now().to_rfc3339().into_bytes(),
        ),
    ];
    for (name, value) in fields {
        let bytes = match value {
            Value::BulkString(b) => b.clone(),
            Value::SimpleString(s) => s.clone().into_bytes(),
            Value::Int(n) => n.to_string().into_bytes(),
            other => format!("{other:?}").into_bytes(),
        };
        // The original fields under their own names, unless they clash with ours.
        if !entry.iter().any(|(n, _)| n == name) {
            entry.push((name.clone(), bytes));
        }
    }
    redis::pipe()
        .atomic()
        .cmd("XADD")
        .arg(dead)
        .arg("MAXLEN")
        .arg("~")
        .arg(keep)
        .arg("*")
        .arg(&entry)
        .ignore()
        .xack(stream, group, &[id])
        .ignore()
        .hdel(errors_key(group), format!("{stream} {id}"))
        .ignore()
        .query_async(conn)
        .await
}

/// Acknowledges entries (`(stream, id)`, of any streams) and forgets their last errors,
/// in one MULTI.
pub async fn ack_many(
    conn: &mut ConnectionManager,
    group: &str,
    entries: &[(&str, &str)],
) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    let mut streams: Vec<&str> = entries.iter().map(|(stream, _)| *stream).collect();
    streams.sort_unstable();
    streams.dedup();
    for stream in streams {
        let ids: Vec<&str> = entries
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, id)| *id)
            .collect();
        pipe.xack(stream, group, &ids).ignore();
    }
    let fields: Vec<String> = entries
        .iter()
        .map(|(stream, id)| format!("{stream} {id}"))
        .collect();
    if !fields.is_empty() {
        pipe.hdel(errors_key(group), fields).ignore();
    }
    pipe.query_async(conn).await
}

/// Appends several notifications to the updates stream, trimmed to about `keep`
/// entries, in one MULTI.
pub async fn notify_many(
    conn: &mut ConnectionManager,
    updates: &str,
    keep: usize,
    notifications: &[Vec<(&str, String)>],
) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for fields in notifications {
        pipe.cmd("XADD")
            .arg(updates)
            .arg("MAXLEN")
            .arg("~")
            .arg(keep)
            .arg("*")
            .arg(fields)
            .ignore();
    }
    pipe.query_async(conn).await
}

/// Appends a notification to the updates stream, trimmed to about `keep` entries.
pub async fn notify(
    conn: &mut ConnectionManager,
    updates: &str,
    keep: usize,
    fields: &[(&str, String)],
) -> RedisResult<()> {
    redis::cmd("XADD")
        .arg(updates)
        .arg("MAXLEN")
        .arg("~")
        .arg(keep)
        .arg("*")
        .arg(fields)
        .query_async(conn)
        .await
}
