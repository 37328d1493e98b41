//! CONTRIBUTING.md's map of the workspace cannot go stale: every file of the
//! library's `src/` and `tests/` is named in it, and every `src/` or
//! `tests/` path it names exists.

use std::{fs, path::Path};

#[test]
fn the_contributing_map_names_every_library_file_and_nothing_gone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let map = fs::read_to_string(root.join("CONTRIBUTING.md")).expect("CONTRIBUTING.md");
    let mut missing = Vec::new();
    for folder in ["src", "tests"] {
        for entry in fs::read_dir(root.join(folder)).expect("a folder").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_source = name.ends_with(".rs") || name.ends_with(".md");
            if entry.path().is_file() && is_source && !map.contains(&format!("`{folder}/{name}`")) {
                missing.push(format!("{folder}/{name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "CONTRIBUTING.md's map does not name {missing:?}: add a row for each"
    );
    let gone: Vec<&str> = map
        .split('`')
        .filter(|path| {
            (path.starts_with("src/") || path.starts_with("tests/"))
                && path.ends_with(".rs")
                && !root.join(path).exists()
        })
        .collect();
    assert!(
        gone.is_empty(),
        "CONTRIBUTING.md names files that are gone: {gone:?}"
    );
}
