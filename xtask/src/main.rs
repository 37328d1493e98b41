//! Maintainer tasks for this workspace, run as `cargo xtask <task>`: from an
//! updated upstream spec to a reviewed regeneration (see MAINTAINING.md).

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use xtask::{check, copies, diff, import, lint, readme, regen, schema, upstream};

/// Maintainer tasks for the h2ogpte-api-keys workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Extract the API-key operations from the full upstream spec, apply the
    /// local adjustments, normalise, and write openapi/h2ogpte-api-keys.yaml.
    Import {
        /// The upstream spec: a YAML or JSON file, or an http(s) URL such as
        /// https://h2ogpte.example.com/api-spec.yaml (H2OGPTE_API_KEY is sent if set).
        #[arg(long)]
        from: String,
        /// Keep these operationIds (repeatable) instead of every operation tagged "API Keys".
        #[arg(
            long = "operation",
            value_name = "OPERATION_ID",
            conflicts_with = "tag"
        )]
        operations: Vec<String>,
        /// Keep every operation with this tag instead of "API Keys".
        #[arg(long)]
        tag: Option<String>,
        /// Report what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the spec for what progenitor and this project need.
    Lint,
    /// Classify every change to the spec since a base, for the wire and for Rust.
    Diff {
        /// A git revision, or a spec file.
        #[arg(long, default_value = "HEAD")]
        base: String,
    },
    /// Lint, rebuild, accept new snapshots, list them, print the diff verdict.
    Regen {
        /// The base the verdict compares with.
        #[arg(long, default_value = "HEAD")]
        base: String,
    },
    /// CI's check: lint, normalised spec, no pending or unreferenced snapshot.
    Check {
        /// Snapshot paths a test run listed via INSTA_SNAPSHOT_REFERENCES_FILE.
        #[arg(long, value_name = "FILE")]
        snapshot_references: Option<PathBuf>,
    },
    /// Write the JSON Schema of every generated model to openapi/schemas/.
    Schema,
    /// Rewrite the copies of shared files that the crates ship (the spec,
    /// the generator) from their sources.
    Copies,
    /// Compile every README sample in a new crate with only the
    /// dependencies README's "Add it" lists.
    Readme,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Import {
            from,
            operations,
            tag,
            dry_run,
        } => {
            let selection = match tag {
                Some(tag) => upstream::Selection::Tag(tag),
                None if operations.is_empty() => upstream::Selection::default(),
                None => upstream::Selection::Ids(operations),
            };
            import::run(&from, &selection, dry_run)
        }
        Task::Lint => lint::run(),
        Task::Diff { base } => diff::run(&base).map(|_| ()),
        Task::Regen { base } => regen::run(&base),
        Task::Check {
            snapshot_references,
        } => check::run(snapshot_references.as_deref()),
        Task::Schema => schema::run(),
        Task::Readme => readme::run(),
        Task::Copies => copies::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
