//! `cargo xtask check`, run by CI: the spec lints clean, is the recorded
//! upstream plus the local adjustments and was regenerated, and no snapshot
//! is pending or unreferenced.

use std::{fs, path::Path};

use crate::{import, lint, spec, upstream, workspace};

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
    match origin(&text, &adjustments) {
        Ok(line) => println!("check: {line}"),
        Err(e) => failures.push(e),
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

/// Proves the committed spec is the recorded upstream plus the local
/// adjustments, and that a regeneration finished for it.
fn origin(text: &str, adjustments: &str) -> Result<String, String> {
    let record = upstream::read()?;
    let upstream = record.upstream()?;
    let (expected, _) = import::extract(&upstream, &record.selection(), adjustments)?;
    if spec::to_yaml(&expected)? != text {
        return Err(format!(
            "{} is not the recorded upstream ({}, h2oGPTe {}) plus {}: it was edited by hand. Put the change in {} (a JSON Patch with its why) and run `cargo xtask import --from {}`, or import a new upstream release; re-importing the edited spec itself would hide the edit",
            spec::SPEC_PATH,
            record.file,
            record.version,
            spec::ADJUSTMENTS_PATH,
            spec::ADJUSTMENTS_PATH,
            record.file
        ));
    }
    let digest = upstream::sha256_hex(text.as_bytes());
    if record.regenerated_for.as_deref() != Some(digest.as_str()) {
        return Err(format!(
            "the snapshots and schemas were not regenerated for the current {} (a regen stopped half-way, or none ran since the import): run `cargo xtask regen`, review and commit what it changes",
            spec::SPEC_PATH
        ));
    }
    Ok(format!(
        "{} is the recorded upstream ({}, h2oGPTe {}) plus the local adjustments, and was regenerated",
        spec::SPEC_PATH,
        record.file,
        record.version
    ))
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
