//! bosun's supervisor and Python environments.
#![cfg_attr(not(unix), allow(unused))]

pub mod python;
