//! `cargo xtask readme`: every Rust sample in README.md compiles in a new
//! crate whose dependencies are exactly those its "Add it" section lists.
//! Doc-tests alone cannot show that: they see this workspace's
//! dev-dependencies too.

use std::{fs, path::Path, process::Command};

use crate::workspace::root;

/// The workspace folder of each crate "Add it" may name.
const CRATES: &[(&str, &str)] = &[
    ("h2ogpte-api-keys", "."),
    ("h2ogpte-fake-server", "fake-server"),
    ("h2ogpte-api-keys-mock", "mock"),
];

/// Writes the scratch crate under `target/readme-check` and checks every
/// sample there (with the `blocking` feature "Add it" names too).
pub fn run() -> Result<(), String> {
    let readme = crate::workspace::read("README.md")?;
    let toml = add_it(&readme)?;
    let samples = samples(&readme);
    if samples.is_empty() {
        return Err("README.md has no Rust sample".to_owned());
    }
    let dir = root().join("target/readme-check");
    let _ = fs::remove_dir_all(dir.join("tests"));
    fs::create_dir_all(dir.join("tests")).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
    fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"readme-check\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[features]\nblocking = [\"h2ogpte-api-keys/blocking\"]\n\n{}\n",
        with_paths(&toml)?
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
    println!(
        "checking {} README sample(s) in a new crate with only the dependencies of \"Add it\"",
        samples.len()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .current_dir(&dir)
        .args(["check", "--tests", "--all-features", "--quiet"])
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        println!("every README sample compiles with only those dependencies");
        Ok(())
    } else {
        Err(format!(
            "a README sample does not compile with only the dependencies \"Add it\" lists (see above; the samples are in {}): add the dependency to \"Add it\", or change the sample",
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

/// The code of every ```rust block (no `ignore`), hidden lines included.
fn samples(readme: &str) -> Vec<String> {
    let mut samples = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```")
                    && info.split(',').next() == Some("rust")
                    && !info.contains("ignore")
                {
                    current = Some(String::new());
                }
            }
            Some(code) => {
                if line.starts_with("```") {
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
        assert_eq!(samples(readme), ["fn main() {\nlet x = 1;\n\n}\n"]);
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
