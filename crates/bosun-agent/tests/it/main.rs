//! bosun-agent's pieces with real files, a real HTTP server on loopback and real
//! processes: the package cache, the run step, and the whole agent against the real
//! bosun server in this process.

mod download;
mod hub;
mod run;
mod support;
