//! bosun-agent's pieces with real files, a real HTTP server on loopback and real
//! processes: the package cache and the run step.

mod download;
mod run;
mod support;
