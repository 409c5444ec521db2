//! The package archive operations on real ZIP files, built here with the `zip` crate's
//! writer and, for what no honest writer makes, patched byte by byte.

mod extract;
mod inspect;
mod pack;
mod support;
