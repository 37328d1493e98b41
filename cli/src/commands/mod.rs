//! One module per command; this one dispatches to them.

mod bulk;
mod create;
mod list;
mod rotate;

use std::io::Write;

use clap::CommandFactory;

use crate::{
    args::{Cli, Command},
    connect::client,
    failure::Failure,
};

/// Keys fetched per request when a command pages through every key.
pub const PAGE_SIZE: u64 = 500;

/// Runs the command the arguments name.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match &cli.command {
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write,
            // and a closed stdout must end quietly.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "h2ogpte-keys", &mut script);
            let mut out = std::io::stdout().lock();
            out.write_all(&script)?;
            out.flush()?;
            Ok(())
        }
        Command::Create(args) => create::create(&client(g)?, args, g).await,
        Command::List(args) => interruptible(list::list(&client(g)?, args, g)).await,
        Command::Show { id } => interruptible(list::show(&client(g)?, id, g)).await,
        Command::Expire(args) => bulk::expire(&client(g)?, args, g).await,
        Command::Inactivity(args) => bulk::inactivity(&client(g)?, args, g).await,
        Command::Deactivate(args) => bulk::deactivate(&client(g)?, args, g).await,
        Command::Delete(args) => bulk::delete(&client(g)?, args, g).await,
        Command::Rotate(args) => rotate::rotate(&client(g)?, args, g).await,
    }
}

/// Read-only work that Ctrl-C may stop at any point: exit 130, no panic.
/// (Creates and rotations are left to the default signal handling, so they
/// are never cut between making a key and printing its secret by us.)
async fn interruptible(work: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    tokio::select! {
        result = work => result,
        Ok(()) = tokio::signal::ctrl_c() => Err(Failure::interrupted("interrupted")),
    }
}
