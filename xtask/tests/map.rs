//! ARCHITECTURE.md's map cannot go stale: every crate of the workspace and
//! every top-level module of the library, the CLI and the fake server is
//! named in it; and the fake server, which checks the client, depends on
//! no client code.

use std::{fs, path::Path};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
}

/// The top-level modules of a crate's `src/`: its files and folders.
fn modules(src: &str) -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(root().join(src))
        .expect("a source folder")
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs").map(str::to_owned)
            }
        })
        .collect();
    found.sort();
    found
}

#[test]
fn the_architecture_map_names_every_crate_and_top_level_module() {
    let map = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let named = |name: &str| {
        map.contains(&format!("`{name}`"))
            || map.contains(&format!("`{name}/`"))
            || map.contains(&format!("`{name}.rs`"))
    };
    let mut missing = Vec::new();
    let manifest = fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("workspace members");
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        if member.is_empty() {
            continue;
        }
        let toml = fs::read_to_string(root().join(member).join("Cargo.toml")).expect("a manifest");
        let name = toml
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|n| n.strip_suffix('"'))
            .expect("a package name");
        if !named(name) {
            missing.push(format!("crate {name}"));
        }
    }
    for (src, what) in [
        ("src", "library module"),
        ("cli/src", "CLI module"),
        ("fake-server/src", "fake server module"),
    ] {
        for module in modules(src) {
            if !named(&module) {
                missing.push(format!("{what} {module}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name {missing:?}: say what each owns"
    );
}

#[test]
fn the_fake_server_depends_on_no_client_code() {
    let toml = fs::read_to_string(root().join("fake-server/Cargo.toml")).expect("manifest");
    let dependencies = toml
        .split("\n[")
        .filter(|section| section.starts_with("dependencies") || section.starts_with("features"))
        .collect::<String>();
    for client in ["h2ogpte-api-keys", "h2ogpte-api-keys-mock"] {
        assert!(
            !dependencies.contains(&format!("{client} "))
                && !dependencies.contains(&format!("{client}.")),
            "the fake server depends on {client}: it must share no code with the client it checks"
        );
    }
}
