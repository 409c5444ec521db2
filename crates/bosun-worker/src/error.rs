//! The worker's errors: only what stops it from starting. Once running, a failing job,
//! a bad entry or a lost connection is handled and logged, never fatal.

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The results store could not be opened.
    #[error(transparent)]
    Store(#[from] bosun_store::StoreError),
    /// The Redis URL is unusable.
    #[error("invalid Redis URL {url}: {source}")]
    RedisUrl {
        /// The URL, as given.
        url: String,
        /// Why.
        #[source]
        source: redis::RedisError,
    },
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
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
