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
            "main",
            "--",
            "surface::",
            "requests::",
            "responses::",
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
    if let Some(draft) = diff::run(base)?.changelog_draft {
        changelog::append(&draft)?;
        println!(
            "\nregen: the draft above is merged into {}'s Unreleased section: edit it into words for users",
            changelog::CHANGELOG_PATH
        );
    }
    let places = reached()?;
    if places.is_empty() {
        println!(
            "\nregen: the fake server, the front door and every crate follow the spec; next (MAINTAINING.md step 5): cargo xtask check, cargo test --workspace, commit"
        );
        return Ok(());
    }
    println!("\nregen: hand-written places this spec change reaches (MAINTAINING.md step 4):");
    for place in &places {
        println!("  - {place}");
    }
    Err(format!(
        "{} hand-written place(s) to change before the tree is green; the generated part is done",
        places.len()
    ))
}

/// The hand-written places the spec change reaches: crates that stop
/// compiling, the fake server's conformance, the front door's coverage.
fn reached() -> Result<Vec<String>, String> {
    let mut places = Vec::new();
    println!("\nregen: cargo check --workspace --all-targets (what stops compiling)");
    let (ok, out) = workspace::cargo_quiet(&["check", "--workspace", "--all-targets", "--quiet"])?;
    if !ok {
        let crates: std::collections::BTreeSet<&str> = out
            .lines()
            .filter_map(|l| l.split("could not compile `").nth(1))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        for name in crates {
            places.push(format!(
                "{name} no longer compiles against the new generated code: `cargo check -p {name} --all-targets` shows where"
            ));
        }
        if places.is_empty() {
            places.push(format!(
                "the workspace does not compile: {}",
                last_lines(&out)
            ));
        }
        // The tests below would not build either.
        return Ok(places);
    }
    for (package, test, place) in [
        (
            "h2ogpte-fake-server",
            "conformance::",
            "the fake server (fake-server/src/routes.rs, model.rs, store.rs)",
        ),
        (
            "h2ogpte-api-keys",
            "front_door::",
            "the front door's ListQuery (src/query.rs, src/client.rs, src/paging.rs)",
        ),
    ] {
        println!("regen: cargo test -p {package} --test main -- {test}");
        let (ok, out) = workspace::cargo_quiet(&[
            "test", "--quiet", "-p", package, "--test", "main", "--", test,
        ])?;
        if !ok {
            let why: Vec<&str> = out
                .lines()
                .filter(|l| l.contains("the spec documents"))
                .collect();
            places.push(format!(
                "{place}: {}",
                if why.is_empty() {
                    last_lines(&out)
                } else {
                    why.join(" ")
                }
            ));
        }
    }
    Ok(places)
}

/// The last few lines of a command's output.
fn last_lines(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}
