//! `cargo xtask diff`: every change between two specs, classified for the wire
//! (as oasdiff would) and for Rust users of the generated crate, with a semver
//! verdict; beside it the compiled API's verdict (cargo-semver-checks), and a
//! changelog draft under the stricter of the two.

mod operations;
mod schemas;

use serde_json::Value;

use crate::{
    compiled::{self, Compiled},
    semver::Level,
    spec, workspace,
};

pub use crate::semver::next_version;

/// How a change affects one audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Nothing a user sees changes (docs, examples).
    None,
    /// Something is added; existing users keep working.
    Additive,
    /// The types stay, but what some code sees changes meaning (a response
    /// moving between `Error::Api` and `Error::UnexpectedStatus`): breaking
    /// for the code that relied on it, invisible to the compiler.
    Behaviour,
    /// Existing users can break.
    Breaking,
}

impl Impact {
    fn label(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Additive => "compatible",
            Impact::Behaviour => "BEHAVIOUR CHANGE",
            Impact::Breaking => "BREAKING",
        }
    }
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed, in words.
    pub what: String,
    /// Its effect on clients on the wire (any language).
    pub wire: Impact,
    /// Its effect on Rust code using the generated crate.
    pub rust: Impact,
    /// Why cargo-semver-checks may not see it, when it may not.
    pub unseen_by_compiled: Option<&'static str>,
}

pub(crate) fn change(what: impl Into<String>, wire: Impact, rust: Impact) -> Change {
    let unseen_by_compiled = match (wire, rust) {
        (_, Impact::Behaviour) => Some(
            "no type shows which responses arrive as Error::Api and which as Error::UnexpectedStatus",
        ),
        (Impact::Breaking, r) if r < Impact::Breaking => {
            Some("a change on the wire leaves the Rust types as they were")
        }
        _ => None,
    };
    Change {
        what: what.into(),
        wire,
        rust,
        unseen_by_compiled,
    }
}

impl Change {
    /// The same change, noting why cargo-semver-checks may not see it.
    pub(crate) fn unseen(mut self, why: &'static str) -> Self {
        self.unseen_by_compiled = Some(why);
        self
    }
}

/// The Rust type progenitor generates for a schema: its name in
/// UpperCamelCase, an acronym as one word (`APIKeyInfo` is `ApiKeyInfo`).
pub fn rust_type(schema: &str) -> String {
    let chars: Vec<char> = schema.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase)
                    && next.is_some_and(|n| n.is_lowercase())));
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| {
                    f.to_uppercase()
                        .chain(cs.flat_map(char::to_lowercase))
                        .collect::<String>()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The semver bump the Rust crate needs for these changes.
pub fn verdict(changes: &[Change]) -> Level {
    // A wire break is a break for the crate's users too, whatever its types do.
    match changes.iter().map(|c| c.rust.max(c.wire)).max() {
        Some(Impact::Breaking | Impact::Behaviour) => Level::Major,
        Some(Impact::Additive) => Level::Minor,
        _ => Level::Patch,
    }
}

/// Classifies every change from `base` to `new`: operations first, then
/// the component schemas, then whatever else differs.
pub fn classify(base: &Value, new: &Value) -> Vec<Change> {
    use Impact::*;
    let mut out = operations::compare(base, new);
    out.extend(schemas::compare(base, new));
    let version = |s: &Value| {
        s.pointer("/info/version")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (old_version, new_version) = (version(base), version(new));
    if old_version != new_version {
        let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
        out.push(change(
            format!(
                "info.version {} → {}: every request sends it as its api-version header, so every request changes on the wire (all request snapshots change)",
                shown(&old_version),
                shown(&new_version)
            ),
            Additive,
            None,
        ));
    }
    let without_info = |s: &Value| {
        let mut s = shape(s);
        if let Some(map) = s.as_object_mut() {
            map.remove("info");
        }
        s
    };
    let others_same = out.iter().all(|c| c.what.starts_with("info.version"));
    if others_same && without_info(base) != without_info(new) {
        out.push(change(
            "other structural changes (servers, security, tags)",
            Additive,
            None,
        ));
    }
    if out.is_empty() && base != new {
        out.push(change(
            "documentation only (descriptions, examples)",
            None,
            None,
        ));
    }
    out
}

/// The report: a table of spec changes with the spec-level verdict, the
/// compiled API's verdict beside it (and which is right when they differ),
/// the stricter of the two with the version it means for a crate at
/// `version`, and a changelog draft under that version.
pub fn report(changes: &[Change], version: &str, compiled: &Compiled) -> String {
    assess(changes, version, compiled).report
}

/// What `cargo xtask diff` found: the report it prints, and the changelog
/// draft in it (none when nothing changed), for `regen` to merge.
pub struct Diff {
    /// The whole report, as printed.
    pub report: String,
    /// The `## [version]` section for the changelog.
    pub changelog_draft: Option<String>,
}

/// The [`report`] and its changelog draft as a value.
pub fn assess(changes: &[Change], version: &str, compiled: &Compiled) -> Diff {
    let mut s = String::new();
    let compiled_lints: &[String] = match compiled {
        Compiled::Verdict { lints, .. } => lints,
        _ => &[],
    };
    let spec_level = verdict(changes);
    let level = compiled.level().map_or(spec_level, |c| c.max(spec_level));
    // Nothing changed at all: one line, one verdict.
    if changes.is_empty() && compiled_lints.is_empty() && level == Level::Patch {
        let compared = match compiled {
            Compiled::Verdict { .. } => " (the compiled API agrees: no change)",
            _ => " (the compiled API was not compared)",
        };
        s.push_str(&format!("no spec changes{compared}\nsemver: none\n"));
        return Diff {
            report: s,
            changelog_draft: None,
        };
    }
    if changes.is_empty() {
        s.push_str("no spec changes\nsemver (spec): patch\n");
    } else {
        s.push_str("| change | wire | Rust |\n|---|---|---|\n");
        for c in changes {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                c.what,
                c.wire.label(),
                c.rust.label()
            ));
        }
        s.push_str(&format!("\nsemver (spec): {spec_level}\n"));
    }
    s.push_str(&explain(spec_level, compiled, changes));
    let next = next_version(version, level);
    let range = next
        .as_ref()
        .map(|next| format!(" (from {version} to {next})"))
        .unwrap_or_default();
    let heading = next.unwrap_or_else(|| "Unreleased".to_owned());
    s.push_str(&format!(
        "\nsemver: {level}{range}, the stricter of the two\n\nchangelog draft:\n\n"
    ));
    let mut draft = format!("## [{heading}]\n");
    let breaking = |c: &&Change| c.rust == Impact::Breaking || c.wire == Impact::Breaking;
    let lines = |items: Vec<&Change>| items.iter().map(|c| c.what.clone()).collect::<Vec<_>>();
    let mut breaking_lines = lines(changes.iter().filter(breaking).collect());
    let mut added_lines = lines(
        changes
            .iter()
            .filter(|c| c.rust == Impact::Additive && !breaking(c))
            .collect(),
    );
    // What only the compiled API shows goes where its verdict puts it.
    let compiled_lines = compiled_lints
        .iter()
        .map(|lint| format!("compiled API: {lint}"));
    match compiled.level() {
        Some(Level::Major) => breaking_lines.extend(compiled_lines),
        _ => added_lines.extend(compiled_lines),
    }
    let sections = [
        ("Breaking", breaking_lines),
        (
            "Changed behaviour",
            lines(
                changes
                    .iter()
                    .filter(|c| c.rust == Impact::Behaviour && !breaking(c))
                    .collect(),
            ),
        ),
        ("Added", added_lines),
        (
            "Changed",
            lines(
                changes
                    .iter()
                    .filter(|c| c.rust == Impact::None && !breaking(c))
                    .collect(),
            ),
        ),
    ];
    for (title, items) in sections {
        if !items.is_empty() {
            draft.push_str(&format!("\n### {title}\n\n"));
            for line in items {
                draft.push_str(&format!("- {line}\n"));
            }
        }
    }
    s.push_str(&draft);
    Diff {
        report: s,
        changelog_draft: Some(draft),
    }
}

/// The version of the client crate, from the workspace's `Cargo.toml`.
pub fn crate_version() -> Result<String, String> {
    let manifest = workspace::read("Cargo.toml")?;
    let package = manifest
        .split("\n[package]")
        .nth(1)
        .ok_or("Cargo.toml has no [package] section")?;
    package
        .lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| {
            let value = line
                .strip_prefix("version")?
                .trim_start()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "Cargo.toml's [package] has no version".to_owned())
}

/// Runs the task: the committed spec against `base` (a git revision or a
/// file); prints the report and returns it with its changelog draft.
pub fn run(base: &str) -> Result<Diff, String> {
    let old = spec::load_base(base)?;
    let text = workspace::read(spec::SPEC_PATH)?;
    let new = spec::parse(&text, spec::SPEC_PATH)?;
    let changes = classify(&old, &new);
    if compiled::installed() {
        println!("diff: running cargo-semver-checks against {base} (builds both versions' docs)");
    }
    let compiled = compiled::check(base);
    let diff = assess(&changes, &crate_version()?, &compiled);
    print!("{}", diff.report);
    Ok(diff)
}

/// Whether two schemas differ in `format` only: the JSON on the wire is the
/// same, but the generated Rust type is not (a string becomes a date-time).
pub(crate) fn format_only(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = shape(v);
        if let Some(map) = v.as_object_mut() {
            map.remove("format");
        }
        v
    };
    shape(a) != shape(b) && strip(a) == strip(b)
}

/// A schema without its documentation, to tell a real change from a reworded one.
pub(crate) fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "description" | "example" | "examples" | "title")
                })
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// What to print for the compiled verdict beside the spec-level one, and
/// which is right when they disagree.
fn explain(spec_level: Level, compiled: &Compiled, changes: &[Change]) -> String {
    let mut s = String::from("\ncompiled API (cargo-semver-checks): ");
    match compiled {
        Compiled::NotInstalled => {
            s += &format!(
                "not run: cargo-semver-checks is not installed (install it with `{}`); the verdict above is the spec-level one alone\n",
                compiled::INSTALL
            );
        }
        Compiled::NoRevision => {
            s += "not run: the base is a file, not a git revision, so there is no compiled API to compare with\n";
        }
        Compiled::Failed(why) => {
            s += &format!(
                "could not check; the verdict above is the spec-level one alone:\n{why}\n"
            );
        }
        Compiled::Verdict { level, lints } => {
            s += &format!("{level}\n");
            for lint in lints {
                s += &format!("  - {lint}\n");
            }
            s += &match spec_level.cmp(level) {
                std::cmp::Ordering::Equal => {
                    "the spec-level and compiled verdicts agree\n".to_owned()
                }
                // An addition: cargo-semver-checks looks for breaks, found
                // none, and has nothing to say about what was added.
                std::cmp::Ordering::Greater
                    if spec_level == Level::Minor && changes.iter().all(|c| c.rust <= Impact::Additive && c.wire <= Impact::Additive) =>
                {
                    "the verdicts agree that nothing breaks: the spec-level one counts what was added (minor); cargo-semver-checks looks only for breaks and found none\n".to_owned()
                }
                std::cmp::Ordering::Greater => {
                    let mut why = format!(
                        "the verdicts differ: the spec-level one ({spec_level}) is right here; the compiled API did not see:\n"
                    );
                    let unseen: Vec<_> = changes
                        .iter()
                        .filter_map(|c| c.unseen_by_compiled.map(|reason| (c, reason)))
                        .collect();
                    for (c, reason) in &unseen {
                        why += &format!("  - {}: {reason}\n", c.what);
                    }
                    if unseen.is_empty() {
                        why += &format!(
                            "  - changes it has no lint for (it said {level}); read the table above\n"
                        );
                    }
                    why
                }
                std::cmp::Ordering::Less => format!(
                    "the verdicts differ: the compiled one ({level}) is right here. It sees what the spec cannot: changes made by hand in src/, and what a new progenitor generates from the same spec\n"
                ),
            };
        }
    }
    s
}
