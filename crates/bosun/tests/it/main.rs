//! End-to-end tests of the `bosun` binary: real processes, real Python, real PyPI, a
//! real `redis-server`.

mod admin;
mod agent;
mod agents;
mod client;
mod dashboard;
mod errors;
mod exec;
mod package;
mod queue;
mod restart;
mod run;
mod schedule;
mod support;
mod worker;
