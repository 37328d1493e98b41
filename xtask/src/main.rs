//! Maintainer tasks for this workspace, run as `cargo xtask <task>`.

use clap::{Parser, Subcommand};

/// Maintainer tasks for the h2ogpte-api-keys workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

/// The tasks; each lives in its own module once implemented.
#[derive(Subcommand)]
enum Task {
    /// Print where the spec and generated code live.
    Paths,
}

fn main() {
    let cli = Cli::parse();
    match cli.task {
        Task::Paths => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(std::path::Path::new("."));
            println!(
                "spec: {}",
                root.join("openapi/h2ogpte-api-keys.yaml").display()
            );
            println!("snapshots: {}", root.join("tests/snapshots").display());
        }
    }
}
