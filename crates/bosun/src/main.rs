//! The `bosun` binary: parses the command line, sets up logging, calls the libraries
//! and turns their answers into output and exit codes. No logic of its own lives here.

#![forbid(unsafe_code)]
// The clap types' doc comments are the `--help` text, written for a terminal: their
// `<home>` and `<run id>` are placeholders, not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod cli;
mod cmd;
mod durations;
mod exit;
mod listen;
mod signals;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return refuse(error),
    };
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bosun: could not start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    // The command runs as a task on a worker thread, not on the thread that blocks on
    // it: the worker that sees a job's child exit then runs the supervisor itself,
    // with no hand-off to another thread.
    let command = runtime.block_on(async { tokio::spawn(cmd::dispatch(cli)).await });
    match command.unwrap_or_else(|e| Err(anyhow::anyhow!("the command's task failed: {e}"))) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // The chain, each cause once: what failed, then why.
            eprintln!("bosun: {}", bosun_core::error::chain(e.as_ref()));
            ExitCode::from(exit::INTERNAL)
        }
    }
}

/// Prints a command-line error (or the help or version asked for) and gives its exit
/// code: clap's own (2 for an error, 0 for help), except that `bosun exec` keeps seed
/// 001's code 1 for invalid arguments.
fn refuse(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let asked = matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    // The subcommand: the first word that is not an option. The only options before
    // it are the global, value-less `-v`s, and the strict parse has just failed, so
    // the arguments are read as words here.
    let subcommand = std::env::args_os()
        .skip(1)
        .find(|arg| !arg.to_string_lossy().starts_with('-'));
    if asked || subcommand.is_none_or(|word| word != "exec") {
        error.exit();
    }
    // A failed print (closed stderr) changes nothing about the exit code.
    let _ = error.print();
    // clap shows the usage with some errors (a missing id) but not others (a bad value).
    if !error.render().to_string().contains("Usage:") {
        use clap::CommandFactory;
        let mut command = cli::Cli::command();
        // Built, so the subcommand's usage starts with `bosun exec`, not `exec`.
        command.build();
        let exec = command
            .find_subcommand_mut("exec")
            .expect("`exec` is one of the subcommands cli.rs declares");
        eprintln!("\n{}", exec.render_usage());
    }
    ExitCode::from(bosun_exec::task::code::INVALID_ARGUMENTS)
}

/// Logs go to stderr; `BOSUN_LOG` (or `RUST_LOG`) takes an `EnvFilter` directive,
/// `-v` raises the default from warnings to info, `-vv` to debug.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("BOSUN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
