//! The copies each publishable crate ships of a file whose source of truth
//! lives elsewhere in the workspace (a package cannot reach outside its
//! folder), and the JSON renderings of the spec that the build scripts read
//! (so the build needs no YAML parser): listed once here, checked equal by
//! `cargo xtask check`, and rewritten by `import`, `regen` and `cargo xtask
//! copies`.

use std::fs;

use serde_json::Value;

use crate::workspace::root;

/// Each source of truth and the copy of it a crate ships.
pub const COPIES: &[(&str, &str)] = &[
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

/// The spec and each JSON rendering of it a build script reads.
pub const RENDERINGS: &[(&str, &str)] = &[
    (
        "openapi/h2ogpte-api-keys.yaml",
        "openapi/h2ogpte-api-keys.json",
    ),
    (
        "openapi/h2ogpte-api-keys.yaml",
        "mock/openapi/h2ogpte-api-keys.json",
    ),
];

/// FNV-1a (64 bits) of `bytes`, as build/generate.rs computes it to tell a
/// rendering made from another spec.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The JSON rendering of the YAML spec `yaml`: the same document, with the
/// hash of the YAML it came from under `x-rendered-from-fnv1a64`.
pub fn render(yaml: &str) -> Result<String, String> {
    let mut doc: Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| format!("the spec is not valid YAML: {e}"))?;
    let object = doc
        .as_object_mut()
        .ok_or("the spec is not a YAML mapping")?;
    object.insert(
        "x-rendered-from-fnv1a64".to_owned(),
        Value::String(format!("{:016x}", fnv1a64(yaml.as_bytes()))),
    );
    serde_json::to_string_pretty(&doc)
        .map(|text| text + "\n")
        .map_err(|e| format!("cannot render the spec as JSON: {e}"))
}

/// A file a crate ships, made from a source of truth elsewhere.
struct Derived {
    source: &'static str,
    path: &'static str,
    text: Vec<u8>,
}

/// What each copy and rendering should hold now.
fn expected() -> Result<Vec<Derived>, String> {
    let read =
        |path: &str| fs::read(root().join(path)).map_err(|e| format!("cannot read {path}: {e}"));
    let mut out = Vec::new();
    for (source, copy) in COPIES {
        out.push(Derived {
            source,
            path: copy,
            text: read(source)?,
        });
    }
    for (source, rendering) in RENDERINGS {
        let yaml =
            String::from_utf8(read(source)?).map_err(|_| format!("{source} is not UTF-8"))?;
        out.push(Derived {
            source,
            path: rendering,
            text: render(&yaml)?.into_bytes(),
        });
    }
    Ok(out)
}

/// The copies and renderings that differ from their source, as messages.
pub fn stale() -> Vec<String> {
    match expected() {
        Ok(files) => files
            .into_iter()
            .filter(|d| fs::read(root().join(d.path)).ok().as_deref() != Some(&d.text[..]))
            .map(|d| {
                format!(
                    "{} differs from {}: run `cargo xtask copies` and commit both",
                    d.path, d.source
                )
            })
            .collect(),
        Err(e) => vec![e],
    }
}

/// Writes every copy and rendering from its source; prints the ones that
/// changed.
pub fn run() -> Result<(), String> {
    for Derived { source, path, text } in expected()? {
        if fs::read(root().join(path)).ok().as_deref() != Some(&text[..]) {
            fs::write(root().join(path), &text).map_err(|e| format!("cannot write {path}: {e}"))?;
            println!("copies: {path} updated from {source}");
        }
    }
    Ok(())
}
