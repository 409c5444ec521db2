//! The stream gauges: every few seconds, each enabled stream's length and pending
//! count, for the metrics.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::config::Role;

/// Samples stream lengths and pending counts for the metrics, every few seconds.
pub(crate) async fn sample(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let mut conn = shared.conn.clone();
        for role in Role::ALL
            .into_iter()
            .filter(|r| shared.config.role(*r).enabled)
        {
            let stream = shared.stream(role).to_owned();
            let length: redis::RedisResult<u64> =
                redis::cmd("XLEN").arg(&stream).query_async(&mut conn).await;
            let pending: redis::RedisResult<(u64, redis::Value, redis::Value, redis::Value)> =
                redis::cmd("XPENDING")
                    .arg(&stream)
                    .arg(&shared.config.group)
                    .query_async(&mut conn)
                    .await;
            if let Ok(n) = length {
                metrics::gauge!("bosun_worker_stream_length", "stream" => stream.clone())
                    .set(n as f64);
            }
            if let Ok((n, ..)) = pending {
                metrics::gauge!("bosun_worker_stream_pending", "stream" => stream).set(n as f64);
            }
        }
    }
}
