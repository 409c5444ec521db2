//! The Redis side: consumer groups, reads, acknowledgements, notifications and the
//! dead-letter stream. Commands that belong together go in one MULTI, so an entry is
//! never acknowledged without its notification or its dead-letter record, nor those
//! sent without the acknowledgement.

use std::collections::HashMap;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId};
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
    let reply: Value = cmd.query_async(conn).await?;
    entries_of(reply)
}

/// What [`take_in_turn`] found.
#[derive(Debug)]
pub enum Taken {
    /// The entries it took, with their stream's name.
    Entries(Vec<(String, StreamId)>),
    /// Nothing was waiting: each stream's newest entry id (`0-0` for an empty stream),
    /// in the order given, for [`wait_past`].
    Nothing(Vec<String>),
}

/// Takes up to `total` new entries (`XREADGROUP … >`, not blocking) from `streams`,
/// one stream after another, each up to its own count, in one script: atomic, so no
/// more than `total` are taken in all. (`COUNT` in one `XREADGROUP` of several streams
/// is per stream: with fewer to take than streams, it could take more than `total`,
/// and entries taken and not started would sit pending on this consumer.)
pub async fn take_in_turn(
    conn: &mut impl redis::aio::ConnectionLike,
    group: &str,
    consumer: &str,
    streams: &[(&str, usize)],
    total: usize,
) -> RedisResult<Taken> {
    // KEYS: the streams, in turn. ARGV: group, consumer, total, each stream's count.
    // The reply: {1, XREADGROUP's reply for the streams read} or {0, newest ids}.
    const SCRIPT: &str = r"
local left = tonumber(ARGV[3])
local read = {}
for i, key in ipairs(KEYS) do
  if left <= 0 then break end
  local count = math.min(tonumber(ARGV[3 + i]), left)
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', count, 'STREAMS', key, '>')
  if reply then
    left = left - #reply[1][2]
    read[#read + 1] = reply[1]
  end
end
if #read > 0 then return {1, read} end
local newest = {}
for i, key in ipairs(KEYS) do
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  newest[i] = last and last[1] or '0-0'
end
return {0, newest}";
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(SCRIPT).arg(streams.len());
    for (stream, _) in streams {
        cmd.arg(*stream);
    }
    cmd.arg(group).arg(consumer).arg(total);
    for (_, count) in streams {
        cmd.arg(*count);
    }
    let reply: Value = cmd.query_async(conn).await?;
    let invalid = || {
        redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the reply of the script that reads streams in turn is not as expected",
        ))
    };
    let Value::Array(reply) = reply else {
        return Err(invalid());
    };
    let mut reply = reply.into_iter();
    match (reply.next(), reply.next()) {
        (Some(Value::Int(1)), Some(read)) => Ok(Taken::Entries(entries_of(read)?)),
        (Some(Value::Int(0)), Some(newest)) => Ok(Taken::Nothing(
            redis::from_redis_value(newest).map_err(|_| invalid())?,
        )),
        _ => Err(invalid()),
    }
}

/// Waits (`XREAD BLOCK`, outside the group: nothing is taken) until one of `streams`
/// has an entry after its id in `ids` ([`Taken::Nothing`]'s), or `block_ms` passes.
pub async fn wait_past(
    conn: &mut MultiplexedConnection,
    streams: &[&str],
    ids: &[String],
    block_ms: u64,
) -> RedisResult<()> {
    let _: Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(1)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(streams)
        .arg(ids)
        .query_async(conn)
        .await?;
    Ok(())
}

/// The entries of an `XREADGROUP` reply, with their stream's name: `[[stream, [[id,
/// [field, value, …]], …]], …]` (a map of streams in RESP3), or nil when the read
/// timed out. Taken apart by hand, moving each value out, where the `redis` crate's
/// `StreamReadReply` copies the whole reply first and goes through nested maps: a
/// read of 64 entries is worth it.
fn entries_of(reply: Value) -> RedisResult<Vec<(String, StreamId)>> {
    let invalid = |what: &str| {
        redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "XREADGROUP's reply is not as expected",
            what.to_owned(),
        ))
    };
    let text = |value: Value, what: &str| -> RedisResult<String> {
        match value {
            Value::BulkString(bytes) => String::from_utf8(bytes).map_err(|_| invalid(what)),
            Value::SimpleString(s) => Ok(s),
            _ => Err(invalid(what)),
        }
    };
    let streams: Vec<(Value, Value)> = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .map(|stream| match stream {
                Value::Array(pair) if pair.len() == 2 => {
                    let mut pair = pair.into_iter();
                    Ok((
                        pair.next().unwrap_or(Value::Nil),
                        pair.next().unwrap_or(Value::Nil),
                    ))
                }
                _ => Err(invalid("a stream is not [name, entries]")),
            })
            .collect::<RedisResult<_>>()?,
        Value::Map(streams) => streams,
        _ => return Err(invalid("not a list of streams")),
    };
    let mut read = Vec::new();
    for (name, entries) in streams {
        let name = text(name, "a stream's name is not text")?;
        let Value::Array(entries) = entries else {
            return Err(invalid("a stream's entries are not a list"));
        };
        read.reserve(entries.len());
        for entry in entries {
            let Value::Array(entry) = entry else {
                return Err(invalid("an entry is not [id, fields]"));
            };
            let mut entry = entry.into_iter();
            let id = text(
                entry.next().unwrap_or(Value::Nil),
                "an entry's id is not text",
            )?;
            let map = match entry.next() {
                // An entry deleted since it was delivered (a read of pending entries).
                None | Some(Value::Nil) => HashMap::new(),
                Some(Value::Array(fields)) => {
                    let mut map = HashMap::with_capacity(fields.len() / 2);
                    let mut fields = fields.into_iter();
                    while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
                        map.insert(text(field, "a field's name is not text")?, value);
                    }
                    map
                }
                Some(Value::Map(fields)) => fields
                    .into_iter()
                    .map(|(field, value)| Ok((text(field, "a field's name is not text")?, value)))
                    .collect::<RedisResult<_>>()?,
                Some(_) => return Err(invalid("an entry's fields are not a list")),
            };
            read.push((
                name.clone(),
                StreamId {
                    id,
                    map,
                    ..StreamId::default()
                },
            ));
        }
    }
    Ok(read)
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

/// What settling an entry sends before it is acknowledged.
#[derive(Debug, Clone, Copy)]
pub struct Settle<'a> {
    /// The entry's stream.
    pub stream: &'a str,
    /// Its id.
    pub id: &'a str,
    /// The job's notification (seed 003's fields), for the updates stream.
    pub notification: Option<&'a [(&'a str, String)]>,
    /// Its record for the dead-letter stream ([`dead_record`]).
    pub dead: Option<&'a [(String, Vec<u8>)]>,
    /// Whether an earlier attempt may have left an error to forget ([`remember_error`]):
    /// true for any delivery after the first.
    pub retried: bool,
}

/// Settles entries of any role streams in one MULTI: each one's notification appended
/// to `updates` and its record to `dead` (each trimmed to about `keep` entries), then
/// all acknowledged (one `XACK` a stream) and their last errors forgotten. Atomic: an
/// entry is never acknowledged without what it sends, nor sends it without being
/// acknowledged, so a job whose entry is still pending has not been notified.
pub async fn settle(
    conn: &mut impl redis::aio::ConnectionLike,
    group: &str,
    updates: &str,
    dead: &str,
    keep: usize,
    entries: &[Settle<'_>],
) -> RedisResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    pipe.atomic();
    for entry in entries {
        if let Some(fields) = entry.notification {
            pipe.cmd("XADD")
                .arg(updates)
                .arg("MAXLEN")
                .arg("~")
                .arg(keep)
                .arg("*")
                .arg(fields)
                .ignore();
        }
        if let Some(record) = entry.dead {
            pipe.cmd("XADD")
                .arg(dead)
                .arg("MAXLEN")
                .arg("~")
                .arg(keep)
                .arg("*")
                .arg(record)
                .ignore();
        }
    }
    let mut streams: Vec<&str> = entries.iter().map(|e| e.stream).collect();
    streams.sort_unstable();
    streams.dedup();
    for stream in streams {
        let ids: Vec<&str> = entries
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| e.id)
            .collect();
        pipe.xack(stream, group, &ids).ignore();
    }
    let errors: Vec<String> = entries
        .iter()
        .filter(|e| e.retried)
        .map(|e| format!("{} {}", e.stream, e.id))
        .collect();
    if !errors.is_empty() {
        pipe.hdel(errors_key(group), errors).ignore();
    }
    pipe.query_async(conn).await
}

/// An entry's record for the dead-letter stream: where it was, why it failed, how many
/// times it was tried and when it was given up, then its own `fields` under their own
/// names (unless they clash with these).
pub fn dead_record(
    stream: &str,
    id: &str,
    fields: &HashMap<String, Value>,
    error: &str,
    attempts: u64,
) -> Vec<(String, Vec<u8>)> {
    let mut record: Vec<(String, Vec<u8>)> = vec![
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
        if !record.iter().any(|(n, _)| n == name) {
            record.push((name.clone(), bytes));
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::entries_of;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn a_read_reply_gives_each_entry_with_its_stream_and_fields() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("jobs:agent"),
                Value::Array(vec![
                    Value::Array(vec![
                        bulk("1-0"),
                        Value::Array(vec![bulk("jobId"), bulk("a"), bulk("task"), bulk("t")]),
                    ]),
                    Value::Array(vec![bulk("1-1"), Value::Nil]),
                ]),
            ]),
            Value::Array(vec![
                bulk("jobs:manager"),
                Value::Array(vec![Value::Array(vec![
                    bulk("2-0"),
                    Value::Map(vec![(bulk("jobId"), bulk("b"))]),
                ])]),
            ]),
        ]);
        let read = entries_of(reply).unwrap();
        let got: Vec<(&str, &str, usize)> = read
            .iter()
            .map(|(stream, entry)| (stream.as_str(), entry.id.as_str(), entry.map.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("jobs:agent", "1-0", 2),
                ("jobs:agent", "1-1", 0),
                ("jobs:manager", "2-0", 1)
            ]
        );
        assert_eq!(read[0].1.map["task"], bulk("t"));
        assert_eq!(read[2].1.map["jobId"], bulk("b"));
    }

    #[test]
    fn a_timed_out_read_is_empty_and_a_strange_reply_an_error() {
        assert!(entries_of(Value::Nil).unwrap().is_empty());
        let map_of_streams = Value::Map(vec![(bulk("s"), Value::Array(vec![]))]);
        assert!(entries_of(map_of_streams).unwrap().is_empty());
        for strange in [
            Value::Int(1),
            Value::Array(vec![bulk("no entries")]),
            Value::Array(vec![Value::Array(vec![bulk("s"), Value::Int(2)])]),
        ] {
            let e = entries_of(strange).unwrap_err();
            assert!(e.to_string().contains("XREADGROUP"), "{e}");
        }
    }
}
