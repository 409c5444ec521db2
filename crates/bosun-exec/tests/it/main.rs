//! Integration tests of bosun-exec against real processes and a real Python.

mod python;
mod supervise;
mod support;
