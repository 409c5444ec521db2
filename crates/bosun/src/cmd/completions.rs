//! `bosun completions SHELL`: prints a completion script for bash, zsh, fish, elvish or
//! PowerShell, written by clap_complete from the command line's own definition, so it
//! never falls behind the subcommands and flags.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit;

/// Writes the script to standard output; a closed pipe (`| head`) is not an error.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "bosun", &mut script);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("could not write the completion script")
        }
        _ => Ok(exit::SUCCESS),
    }
}
