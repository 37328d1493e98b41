//! The Rust verdict from the compiled API: cargo-semver-checks compares the
//! rustdoc JSON of `h2ogpte-api-keys` at a base revision with the working
//! tree's, which sees what progenitor generates and what `src/` adds by hand.

use std::process::Command;

use crate::{semver::Level, workspace};

/// The package whose public API is checked.
pub const PACKAGE: &str = "h2ogpte-api-keys";

/// How to install the tool, for the message when it is missing.
pub const INSTALL: &str = "cargo install --locked cargo-semver-checks";

/// What cargo-semver-checks said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// The tool is not installed.
    NotInstalled,
    /// The base is not a git revision (a spec file), so there is no
    /// compiled API to compare with.
    NoRevision,
    /// It ran: the bump it requires and the lints that failed.
    Verdict {
        /// The bump it requires (`Patch`: nothing to bump).
        level: Level,
        /// Each failed lint, as `name: what it found`.
        lints: Vec<String>,
    },
    /// It could not check (a build failure, say): its last words.
    Failed(String),
}

impl Compiled {
    /// The semver level, when the tool gave one.
    pub fn level(&self) -> Option<Level> {
        match self {
            Compiled::Verdict { level, .. } => Some(*level),
            _ => None,
        }
    }
}

/// Whether cargo-semver-checks is installed.
pub fn installed() -> bool {
    Command::new(cargo())
        .args(["semver-checks", "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Whether `base` names a git revision of this repository.
fn is_revision(base: &str) -> bool {
    Command::new("git")
        .current_dir(workspace::root())
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs cargo-semver-checks for [`PACKAGE`] against `base`.
pub fn check(base: &str) -> Compiled {
    if !is_revision(base) {
        return Compiled::NoRevision;
    }
    if !installed() {
        return Compiled::NotInstalled;
    }
    let output = Command::new(cargo())
        .current_dir(workspace::root())
        .args([
            "semver-checks",
            "check-release",
            "--package",
            PACKAGE,
            "--baseline-rev",
            base,
            "--color",
            "never",
        ])
        .output();
    match output {
        Ok(out) => parse(&format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Compiled::Failed(format!("cannot run cargo semver-checks: {e}")),
    }
}

/// Reads cargo-semver-checks' report: its summary line gives the level
/// ("requires new major version", "no semver update required"), and each
/// `--- failure NAME: DESCRIPTION ---` line a lint.
pub fn parse(report: &str) -> Compiled {
    // Each failure, with the items its "Failed in:" lines name (where in
    // the generated file they are is left out: it is a build directory).
    let mut lints: Vec<String> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let mut in_items = false;
    let flush = |lints: &mut Vec<String>, items: &mut Vec<String>| {
        if let (Some(last), false) = (lints.last_mut(), items.is_empty()) {
            *last = format!("{last}: {}", items.join(", "));
        }
        items.clear();
    };
    for line in report.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("--- failure ") {
            flush(&mut lints, &mut items);
            lints.push(rest.trim_end_matches('-').trim().to_owned());
            in_items = false;
        } else if trimmed == "Failed in:" {
            in_items = true;
        } else if in_items && !trimmed.is_empty() && line.starts_with(' ') {
            let item = trimmed
                .rsplit_once(" in ")
                .map_or(trimmed, |(item, _)| item);
            items.push(item.to_owned());
        } else if in_items {
            in_items = false;
        }
    }
    flush(&mut lints, &mut items);
    let summary = report
        .lines()
        .map(str::trim)
        .rfind(|line| line.starts_with("Summary"));
    let level = match summary {
        Some(s) if s.contains("new major version") => Level::Major,
        Some(s) if s.contains("new minor version") => Level::Minor,
        Some(s) if s.contains("no semver update required") => Level::Patch,
        _ => {
            let lines: Vec<&str> = report.lines().collect();
            let tail = &lines[lines.len().saturating_sub(8)..];
            return Compiled::Failed(tail.join("\n"));
        }
    };
    Compiled::Verdict { level, lints }
}
