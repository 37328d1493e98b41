//! The copies each publishable crate ships of a file whose source of truth
//! lives elsewhere in the workspace (a package cannot reach outside its
//! folder): listed once here, checked equal by `cargo xtask check`, and
//! rewritten by `import`, `regen` and `cargo xtask copies`.

use std::fs;

use crate::workspace::root;

/// Each source of truth and the copy of it a crate ships.
pub const COPIES: &[(&str, &str)] = &[
    (
        "openapi/h2ogpte-api-keys.yaml",
        "mock/openapi/h2ogpte-api-keys.yaml",
    ),
    ("build/generate.rs", "mock/build/generate.rs"),
    (
        "openapi/h2ogpte-api-keys.yaml",
        "fake-server/openapi/h2ogpte-api-keys.yaml",
    ),
    ("LICENSE-MIT", "cli/LICENSE-MIT"),
    ("LICENSE-APACHE", "cli/LICENSE-APACHE"),
    ("LICENSE-MIT", "fake-server/LICENSE-MIT"),
    ("LICENSE-APACHE", "fake-server/LICENSE-APACHE"),
    ("LICENSE-MIT", "mock/LICENSE-MIT"),
    ("LICENSE-APACHE", "mock/LICENSE-APACHE"),
];

/// The copies that differ from their source, as messages.
pub fn stale() -> Vec<String> {
    COPIES
        .iter()
        .filter(|(source, copy)| {
            fs::read(root().join(source)).ok() != fs::read(root().join(copy)).ok()
        })
        .map(|(source, copy)| {
            format!("{copy} differs from {source}: run `cargo xtask copies` and commit both")
        })
        .collect()
}

/// Writes every copy from its source; prints the ones that changed.
pub fn run() -> Result<(), String> {
    for (source, copy) in COPIES {
        let text =
            fs::read(root().join(source)).map_err(|e| format!("cannot read {source}: {e}"))?;
        if fs::read(root().join(copy)).ok().as_deref() != Some(&text[..]) {
            fs::write(root().join(copy), &text).map_err(|e| format!("cannot write {copy}: {e}"))?;
            println!("copies: {copy} updated from {source}");
        }
    }
    Ok(())
}
