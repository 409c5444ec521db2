//! The worker's errors: only what stops it from starting. Once running, a failing job,
//! a bad entry or a lost connection is handled and logged, never fatal.
//!
//! A message states its own context only; the cause is its source. Printed whole (the
//! binary's `{:#}`, or `bosun_core::error::chain` in a log line), the cause shows once.

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The results store could not be opened.
    #[error(transparent)]
    Store(#[from] bosun_store::StoreError),
    /// The Redis URL is unusable.
    #[error("invalid Redis URL {url}")]
    RedisUrl {
        /// The URL, as given.
        url: String,
        /// Why.
        #[source]
        source: redis::RedisError,
    },
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Something else in the setup.
    #[error("{0}")]
    Setup(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_with_its_cause_says_the_cause_once() {
        let e = WorkerError::Metrics {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: std::io::Error::other("address in use"),
        };
        assert_eq!(e.to_string(), "cannot serve metrics on 127.0.0.1:1");
        assert_eq!(
            bosun_core::error::chain(&e).to_string(),
            "cannot serve metrics on 127.0.0.1:1: address in use"
        );
    }
}
