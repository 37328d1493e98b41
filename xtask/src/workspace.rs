//! The workspace the tasks work on: its root, its files, and cargo run in it.

use std::{fs, path::Path, process::Command};

/// Environment variable naming another workspace to work on, such as a
/// scratch copy a test walks a release through.
pub const ROOT_ENV: &str = "XTASK_WORKSPACE";

/// The workspace root: [`ROOT_ENV`] when set, else the parent of `xtask/`.
pub fn root() -> &'static Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| match std::env::var_os(ROOT_ENV) {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    })
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

/// Runs cargo in the workspace root quietly: whether it succeeded, and what
/// it printed (stdout, then stderr).
pub fn cargo_quiet(args: &[&str]) -> Result<(bool, String), String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(root())
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok((
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    ))
}

/// Reads a workspace file, with an error naming it.
pub fn read(relative: &str) -> Result<String, String> {
    fs::read_to_string(root().join(relative)).map_err(|e| format!("cannot read {relative}: {e}"))
}
