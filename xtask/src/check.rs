//! `cargo xtask check`, run by CI: the spec lints clean, is already in its
//! normalised form, and no snapshot is pending or unreferenced.

use std::{fs, path::Path};

use crate::{import, lint, spec, workspace};

/// Runs every check; `references` is a file of snapshot paths that a test run
/// wrote through `INSTA_SNAPSHOT_REFERENCES_FILE`.
pub fn run(references: Option<&Path>) -> Result<(), String> {
    let mut failures = Vec::new();
    match lint::run() {
        Ok(()) => {}
        Err(e) => failures.push(e),
    }

    let root = workspace::root();
    let text = workspace::read(spec::SPEC_PATH)?;
    let adjustments = workspace::read(spec::ADJUSTMENTS_PATH)?;
    let committed = spec::parse(&text, spec::SPEC_PATH)?;
    let selection = import::Selection::default();
    let (again, _) = import::extract(&committed, &selection, &adjustments)?;
    if spec::to_yaml(&again)? == text {
        println!(
            "check: {} is normalised (a fresh import changes nothing)",
            spec::SPEC_PATH
        );
    } else {
        failures.push(format!(
            "{} is not in normalised form: run `cargo xtask import --from {}` and commit the result",
            spec::SPEC_PATH,
            spec::SPEC_PATH
        ));
    }

    let stale = crate::copies::stale();
    if stale.is_empty() {
        println!("check: every crate's copy of a shared file is current");
    }
    failures.extend(stale);

    let snapshots = snapshot_files(root);
    let pending: Vec<_> = snapshots
        .iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".snap.new") || name.ends_with(".pending-snap")
        })
        .collect();
    for p in &pending {
        failures.push(format!(
            "pending snapshot {}: review it with `cargo insta review`",
            p.display()
        ));
    }
    if let Some(references) = references {
        let listed = fs::read_to_string(references)
            .map_err(|e| format!("cannot read {}: {e}", references.display()))?;
        let referenced: Vec<_> = listed
            .lines()
            .filter_map(|l| fs::canonicalize(l.trim()).ok())
            .collect();
        let mut count = 0;
        for snap in snapshots
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        {
            count += 1;
            let canonical = fs::canonicalize(snap).unwrap_or(snap.clone());
            if !referenced.contains(&canonical) {
                failures.push(format!(
                    "unreferenced snapshot {}: delete it, or restore the test that wrote it",
                    snap.display()
                ));
            }
        }
        println!(
            "check: {count} snapshots, {} referenced by the test run",
            referenced.len()
        );
    }

    if failures.is_empty() {
        println!("check: all passed");
        Ok(())
    } else {
        for f in &failures {
            println!("check: {f}");
        }
        Err(format!("{} check(s) failed", failures.len()))
    }
}

/// Every file in a `snapshots` folder of the workspace, `target/` excluded.
fn snapshot_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else if path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "snapshots")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
