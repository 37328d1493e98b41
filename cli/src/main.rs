//! `h2ogpte-keys`: the administrators' command-line tool for h2oGPTe API keys.
//!
//! Exit codes: 0 success, 1 API or transport error, 2 usage or configuration
//! error, 3 partial failure (some ids of a batch failed, or a rotation
//! created the new key but could not retire the old one, or could not undo
//! a key whose secret it could not deliver), 4 audit findings, 5 an audit
//! that checked nothing, 130 after SIGINT, 143 after SIGTERM.

mod args;
mod atomic;
mod audit_state;
mod batch;
mod commands;
mod connect;
mod context;
mod csv_out;
mod deliver;
mod exit;
mod failure;
mod lookup;
#[cfg(feature = "mcp")]
mod mcp;
mod metrics;
mod output;
mod output_file;
mod plan_file;
mod policy_file;
mod regular;
mod rotation_words;
mod signals;
mod sink;
mod state_dir;
mod terminal;
mod user_map;
mod wait;

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use tracing_subscriber::{EnvFilter, fmt::format::FmtSpan};

use crate::{args::Cli, failure::EXIT_OK, terminal::note};

fn main() -> ExitCode {
    // SIGINT and SIGTERM are caught before anything else is done: a signal
    // that comes while the arguments are read is the command's to handle,
    // never a kill halfway.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            note(&format!("h2ogpte-keys: cannot start: {e}"));
            return ExitCode::from(failure::EXIT_API);
        }
    };
    let signals = match runtime.block_on(async { signals::Signals::listen() }) {
        Ok(signals) => signals,
        Err(e) => {
            note(&format!(
                "h2ogpte-keys: cannot handle SIGINT and SIGTERM: {e}"
            ));
            return ExitCode::from(failure::EXIT_API);
        }
    };
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    let quiet = cli.global.quiet;
    match runtime.block_on(commands::run(cli, signals)) {
        Ok(()) => ExitCode::SUCCESS,
        // Nothing to do is said unless --quiet; a reader gone says nothing.
        Err(f) if f.code == EXIT_OK => {
            if !quiet && !f.message.is_empty() {
                note(&format!("h2ogpte-keys: {}", f.message));
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            note(&format!("h2ogpte-keys: {}", f.message));
            ExitCode::from(f.code)
        }
    }
}

/// Logs to stderr. `RUST_LOG` directives when set (alone, or over `-v`);
/// else `-v` shows this tool's and the client's events (debug), `-vv`
/// everything down to the HTTP stack (trace). Nothing without either. Each
/// HTTP attempt's span is logged when it closes (at info), with its
/// operation, status and time. Colours only on a terminal without
/// `NO_COLOR`.
fn init_logging(verbose: u8) {
    let from_env = std::env::var(EnvFilter::DEFAULT_ENV).is_ok_and(|v| !v.trim().is_empty());
    let directives = match verbose {
        0 => None,
        1 => Some("warn,h2ogpte_api_keys=debug,h2ogpte_keys=debug"),
        _ => Some("trace"),
    };
    let filter = match (from_env, directives) {
        (true, _) => EnvFilter::builder().from_env_lossy(),
        (false, Some(directives)) => EnvFilter::new(directives),
        (false, None) => return,
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(colour)
        .with_target(false)
        .init();
}
