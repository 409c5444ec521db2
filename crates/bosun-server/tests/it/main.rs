//! The server over real HTTP on loopback, against real SQLite and PostgreSQL: each
//! test runs once per engine.

mod admission;
mod agents;
mod api;
mod dashboard;
mod executions;
mod hub;
mod job_agents;
mod package_routes;
mod packages;
mod runner;
mod support;
mod triggers;
