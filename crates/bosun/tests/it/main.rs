//! End-to-end tests of the `bosun` binary: real processes, real Python, real PyPI.

mod client;
mod exec;
mod queue;
mod run;
mod support;
