//! The workspace the tasks work on: its root, its files, and cargo run in it.

use std::{fs, path::Path, process::Command};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
}

/// Runs cargo (the one running this task, when known) in the workspace root.
pub fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root())
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed", args.join(" ")))
    }
}

/// Reads a workspace file, with an error naming it.
pub fn read(relative: &str) -> Result<String, String> {
    fs::read_to_string(root().join(relative)).map_err(|e| format!("cannot read {relative}: {e}"))
}
