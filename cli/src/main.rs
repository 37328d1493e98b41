//! `h2ogpte-keys`: the administrators' command-line tool for h2oGPTe API keys.
//!
//! Exit codes: 0 success, 1 API or transport error, 2 usage or configuration
//! error, 3 partial failure (some ids of a batch failed, or a rotation
//! created the new key but could not retire the old one, or could not undo
//! a key whose secret it could not deliver), 130 after SIGINT, 143 after
//! SIGTERM.

mod args;
mod batch;
mod commands;
mod connect;
mod failure;
mod output;
mod signals;
mod terminal;

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use tracing_subscriber::{EnvFilter, filter::LevelFilter};

use crate::{args::Cli, failure::EXIT_OK, terminal::note};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            note(&format!("h2ogpte-keys: cannot start: {e}"));
            return ExitCode::from(failure::EXIT_API);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == EXIT_OK => ExitCode::SUCCESS,
        Err(f) => {
            note(&format!("h2ogpte-keys: {}", f.message));
            ExitCode::from(f.code)
        }
    }
}

/// Logs to stderr: `RUST_LOG` directives when set, and `-v` (debug) or
/// `-vv` (trace) for everything else. Nothing is logged without either.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => LevelFilter::OFF,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let from_env = std::env::var_os(EnvFilter::DEFAULT_ENV).is_some();
    if level == LevelFilter::OFF && !from_env {
        return;
    }
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
