//! `bosun worker` against a real `redis-server` the tests start on a free port, and a
//! fake OpenAI-format LLM inside the test: workers sharing streams, limits, failures
//! and retries, redelivery, shutdown, and Redis restarting under a worker.
//!
//! Every test waits for behaviour (polling, with generous limits), never for time.

mod failures;
mod jobs;
mod limits;
mod redis_restart;
mod shutdown;
mod startup;
mod support;
