//! `cargo xtask regen`: after a spec change, lint, rebuild, accept the new
//! snapshots, list what changed, print the semver verdict, and merge the
//! changelog draft into CHANGELOG.md's Unreleased section.

use std::process::Command;

use crate::{changelog, diff, lint, schema, upstream, workspace};

fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    println!("regen: cargo {}", args.join(" "));
    workspace::cargo(args, envs)
}

/// Runs the task; the verdict compares with `base`.
pub fn run(base: &str) -> Result<(), String> {
    lint::run()?;
    crate::copies::run()?;
    cargo(
        &[
            "build",
            "-p",
            "h2ogpte-api-keys",
            "-p",
            "h2ogpte-api-keys-mock",
        ],
        &[],
    )?;
    cargo(
        &[
            "test",
            "-p",
            "h2ogpte-api-keys",
            "--test",
            "surface",
            "--test",
            "requests",
            "--test",
            "responses",
        ],
        &[("INSTA_UPDATE", "always")],
    )?;
    schema::run()?;
    let output = Command::new("git")
        .current_dir(workspace::root())
        .args([
            "status",
            "--porcelain",
            "--",
            "tests/snapshots",
            "openapi/schemas",
        ])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let changed = String::from_utf8_lossy(&output.stdout);
    if changed.trim().is_empty() {
        println!("regen: no snapshot or schema changed");
    } else {
        println!("regen: changed files (review with `git diff`):");
        print!("{changed}");
        let stat = Command::new("git")
            .current_dir(workspace::root())
            .args(["diff", "--stat", "--", "tests/snapshots", "openapi/schemas"])
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        print!("{}", String::from_utf8_lossy(&stat.stdout));
    }
    upstream::note_regenerated()?;
    println!("\nregen: the spec against {base}:");
    let report = diff::run(base)?;
    if let Some(draft) = diff::changelog_draft(&report) {
        changelog::append(draft)?;
        println!(
            "\nregen: the draft above is merged into {}'s Unreleased section: edit it into words for users",
            changelog::CHANGELOG_PATH
        );
    }
    Ok(())
}
