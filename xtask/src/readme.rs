//! `cargo xtask readme`: every Rust sample in README.md, the fake server's
//! README and the library's docs (`src/lib.md` and the doc comments under `src/`),
//! compiles in a new crate whose dependencies are exactly those README's
//! "Add it" section lists. Doc-tests alone cannot show that: they see this
//! workspace's dev-dependencies too, and their features.

use std::{fs, path::Path, process::Command};

use crate::workspace::root;

/// The workspace folder of each crate "Add it" may name.
const CRATES: &[(&str, &str)] = &[
    ("h2ogpte-api-keys", "."),
    ("h2ogpte-fake-server", "fake-server"),
    ("h2ogpte-api-keys-mock", "mock"),
];

/// Crates a sample names beyond "Add it" because it shows using this one
/// with them (the library's docs show an axum handler): added to the
/// scratch crate only when a sample uses them.
const SHOWN_WITH: &[(&str, &str)] = &[(
    "axum::",
    "axum = { version = \"0.8\", default-features = false, features = [\"http1\", \"json\", \"tokio\"] }",
)];

/// Writes the scratch crate under `target/readme-check` and checks every
/// sample there (with the `blocking` feature "Add it" names too).
pub fn run() -> Result<(), String> {
    let readme = crate::workspace::read("README.md")?;
    let toml = add_it(&readme)?;
    let mut samples = samples(&readme, false);
    if samples.is_empty() {
        return Err("README.md has no Rust sample".to_owned());
    }
    let from_readme = samples.len();
    samples.extend(self::samples(&crate::workspace::read("src/lib.md")?, false));
    // The fake server's README shows it from a downstream crate's tests.
    samples.extend(self::samples(
        &crate::workspace::read("fake-server/README.md")?,
        false,
    ));
    let mut sources = Vec::new();
    rust_files(&root().join("src"), &mut sources);
    sources.sort();
    for file in &sources {
        let text = fs::read_to_string(file).map_err(|e| format!("cannot read {file:?}: {e}"))?;
        samples.extend(self::samples(&doc_comments(&text), true));
    }
    println!(
        "checking {from_readme} README sample(s) and {} of the crate docs in new crates with only the dependencies of \"Add it\"",
        samples.len() - from_readme
    );
    // A sample that uses neither the fake server nor the mocks builds
    // without them, as a service's `cargo build` does: their features
    // (chrono's clock) must not be what makes it compile.
    let (with_test_crates, library_only): (Vec<String>, Vec<String>) = samples
        .into_iter()
        .partition(|s| TEST_CRATES.iter().any(|(_, path)| s.contains(path)));
    let all = with_paths(&toml)?;
    let without: String = all
        .lines()
        .filter(|line| {
            let name = line.split('=').next().unwrap_or_default().trim();
            !TEST_CRATES
                .iter()
                .any(|(crate_name, _)| *crate_name == name)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    // One target directory: the second crate rebuilds only what differs.
    let target = root().join("target/readme-check/target");
    check_in("readme-check", &all, &with_test_crates, &target)?;
    check_in("readme-check-lib", &without, &library_only, &target)?;
    println!("every sample compiles with only those dependencies");
    Ok(())
}

/// The crates "Add it" lists for tests, and how samples name them.
const TEST_CRATES: &[(&str, &str)] = &[
    ("h2ogpte-fake-server", "h2ogpte_fake_server"),
    ("h2ogpte-api-keys-mock", "h2ogpte_api_keys_mock"),
];

/// Writes the scratch crate `target/<name>` with `dependencies` (and those
/// [`SHOWN_WITH`] a sample uses) and checks every sample there (with the
/// `blocking` feature "Add it" names too).
fn check_in(
    name: &str,
    dependencies: &str,
    samples: &[String],
    target: &Path,
) -> Result<(), String> {
    let dir = root().join("target").join(name);
    let _ = fs::remove_dir_all(dir.join("tests"));
    fs::create_dir_all(dir.join("tests")).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let mut dependencies = dependencies.to_owned();
    for (used, line) in SHOWN_WITH {
        if samples.iter().any(|s| s.contains(used)) {
            dependencies += line;
            dependencies.push('\n');
        }
    }
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[features]\nblocking = [\"h2ogpte-api-keys/blocking\"]\n\n{dependencies}\n"
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&dir.join("src/lib.rs"), "")?;
    // The workspace's lock, so the check builds what the workspace builds.
    fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;
    for (i, sample) in samples.iter().enumerate() {
        write(
            &dir.join(format!("tests/sample_{}.rs", i + 1)),
            &as_file(sample),
        )?;
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(&dir)
        .args(["check", "--tests", "--all-features", "--quiet"])
        .env("CARGO_TARGET_DIR", target)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "a sample does not compile with only the dependencies \"Add it\" lists (see above; the samples are in {}): add the dependency to \"Add it\", enable it in the library, or change the sample",
            dir.join("tests").display()
        ))
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The first TOML block after the "## Add it" heading.
fn add_it(readme: &str) -> Result<String, String> {
    let section = readme
        .split_once("## Add it")
        .map(|(_, rest)| rest)
        .ok_or("README.md has no \"## Add it\" section")?;
    let block = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block.to_owned())
        .ok_or("the \"Add it\" section has no ```toml block")?;
    Ok(block)
}

/// The dependency lines with this workspace's crates pointed at their
/// folders (keeping the version and features the README gives).
fn with_paths(toml: &str) -> Result<String, String> {
    let mut out = String::new();
    for line in toml.lines() {
        let name = line.split('=').next().unwrap_or_default().trim();
        match CRATES.iter().find(|(crate_name, _)| *crate_name == name) {
            Some((_, folder)) => {
                let path = root().join(folder);
                let path = path.display().to_string().replace('\\', "/");
                let value = line.split_once('=').map(|(_, v)| v).unwrap_or_default();
                let value = value.split('#').next().unwrap_or_default().trim();
                let table = match value.strip_prefix('{') {
                    Some(inner) => format!("{{ path = {path:?}, {}", inner.trim_start()),
                    None => format!("{{ path = {path:?}, version = {value} }}"),
                };
                out += &format!("{name} = {table}\n");
            }
            None => {
                out += line;
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a source file's doc comments (`///` and `//!`), a blank
/// line for every other line, so blocks never run across items.
fn doc_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| {
            let line = line.trim_start();
            let doc = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"));
            match doc {
                Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
                None => "",
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code of every ```rust block (no `ignore`, no `compile_fail`),
/// hidden lines included; with `bare_is_rust` (doc comments, as rustdoc
/// reads them) a block with no language is Rust too.
fn samples(readme: &str, bare_is_rust: bool) -> Vec<String> {
    let mut samples = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```") {
                    let language = info.split(',').next().unwrap_or_default().trim();
                    let rust = language == "rust"
                        || bare_is_rust
                            && matches!(language, "" | "no_run" | "should_panic" | "edition2024");
                    if rust && !info.contains("ignore") && !info.contains("compile_fail") {
                        current = Some(String::new());
                    }
                }
            }
            Some(code) => {
                if line.trim_start().starts_with("```") {
                    samples.push(std::mem::take(code));
                    current = None;
                } else {
                    // rustdoc's hidden lines: `# code` and a lone `#`.
                    let line = match line.strip_prefix("# ") {
                        Some(rest) => rest,
                        None if line == "#" => "",
                        None => line,
                    };
                    code.push_str(line);
                    code.push('\n');
                }
            }
        }
    }
    samples
}

/// A sample as a test file: wrapped in `fn main` as rustdoc does, unless it
/// has one.
fn as_file(sample: &str) -> String {
    let body = if sample.contains("fn main") {
        sample.to_owned()
    } else {
        format!("fn main() {{\n{sample}}}\n")
    };
    format!("#![allow(unused, clippy::all)]\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_hidden_lines_and_skip_other_blocks() {
        let readme = "text\n```rust,no_run\n# fn main() {\nlet x = 1;\n#\n# }\n```\n```toml\na = 1\n```\n```rust,ignore\nnope\n```\n";
        assert_eq!(samples(readme, false), ["fn main() {\nlet x = 1;\n\n}\n"]);
        // In doc comments a bare block is Rust.
        let docs = doc_comments(
            "/// Text.\n/// ```\n/// let y = 2;\n/// ```\nfn f() {}\n//! ```text\n//! no\n//! ```\n",
        );
        assert_eq!(samples(&docs, true), ["let y = 2;\n"]);
    }

    #[test]
    fn workspace_crates_get_their_paths() {
        let toml = "h2ogpte-api-keys = \"0.1\"\ntokio = \"1\"\nh2ogpte-api-keys-mock = { version = \"0.1\", features = [] } # why\n";
        let out = with_paths(toml).expect("rewritten");
        assert!(out.contains("h2ogpte-api-keys = { path = "), "{out}");
        assert!(out.contains("version = \"0.1\" }"), "{out}");
        assert!(out.contains("tokio = \"1\""), "{out}");
        assert!(out.contains("h2ogpte-api-keys-mock = { path = "), "{out}");
        assert!(out.contains("features = [] }"), "{out}");
    }
}
