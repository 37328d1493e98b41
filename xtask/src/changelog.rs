//! CHANGELOG.md in the Keep a Changelog form: `cargo xtask regen` merges its
//! changelog draft into the `Unreleased` section, each entry once.

use std::fs;

use crate::workspace::root;

/// The changelog's file, at the workspace root.
pub const CHANGELOG_PATH: &str = "CHANGELOG.md";

/// Merges the `### Section` entries of `draft` into `changelog`'s
/// `## [Unreleased]` section, creating the section and any missing
/// subsection, and leaving out entries already there.
pub fn merge_unreleased(changelog: &str, draft: &str) -> Result<String, String> {
    let mut lines: Vec<String> = changelog.lines().map(str::to_owned).collect();
    let unreleased = lines
        .iter()
        .position(|l| l.trim() == "## [Unreleased]")
        .ok_or("CHANGELOG.md has no \"## [Unreleased]\" section: add one under the title")?;
    let mut section: Option<String> = None;
    for line in draft.lines() {
        let line = line.trim_end();
        if let Some(title) = line.strip_prefix("### ") {
            section = Some(title.to_owned());
            continue;
        }
        let (Some(title), true) = (&section, line.starts_with("- ")) else {
            continue;
        };
        // The Unreleased section ends at the next `## ` heading.
        let end = lines[unreleased + 1..]
            .iter()
            .position(|l| l.starts_with("## "))
            .map_or(lines.len(), |i| unreleased + 1 + i);
        let heading = format!("### {title}");
        let at = match lines[unreleased + 1..end]
            .iter()
            .position(|l| *l == heading)
        {
            Some(i) => unreleased + 1 + i,
            None => {
                // A new subsection at the end of Unreleased.
                let mut insert = end;
                while insert > unreleased + 1 && lines[insert - 1].trim().is_empty() {
                    insert -= 1;
                }
                lines.splice(insert..insert, ["".to_owned(), heading, "".to_owned()]);
                insert + 1
            }
        };
        // The subsection's entries run to its next heading or blank line after them.
        let mut last = at + 1;
        while last < lines.len()
            && (lines[last].is_empty() && last == at + 1 || lines[last].starts_with("- "))
        {
            last += 1;
        }
        if lines[at + 1..last].iter().any(|l| l == line) {
            continue;
        }
        lines.insert(last, line.to_owned());
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// Merges `draft` into CHANGELOG.md; returns how many entries it holds now
/// under Unreleased.
pub fn append(draft: &str) -> Result<(), String> {
    let path = root().join(CHANGELOG_PATH);
    let changelog =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {CHANGELOG_PATH}: {e}"))?;
    let merged = merge_unreleased(&changelog, draft)?;
    fs::write(&path, merged).map_err(|e| format!("cannot write {CHANGELOG_PATH}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::merge_unreleased;

    const CHANGELOG: &str =
        "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-12-02\n\n### Added\n\n- Everything.\n";

    #[test]
    fn a_draft_lands_under_unreleased_once() {
        let draft = "## [0.2.0]\n\n### Breaking\n\n- `total_calls` is now a string\n\n### Added\n\n- a 403 on list\n";
        let once = merge_unreleased(CHANGELOG, draft).expect("merged");
        let twice = merge_unreleased(&once, draft).expect("merged again");
        assert_eq!(once, twice, "entries are not repeated");
        let unreleased = once
            .split("## [Unreleased]")
            .nth(1)
            .and_then(|rest| rest.split("## [0.1.0]").next())
            .expect("section");
        assert!(
            unreleased.contains("### Breaking\n\n- `total_calls` is now a string"),
            "{once}"
        );
        assert!(
            unreleased.contains("### Added\n\n- a 403 on list"),
            "{once}"
        );
        assert!(
            once.contains("## [0.1.0] - 2026-12-02\n\n### Added\n\n- Everything."),
            "{once}"
        );
        let more =
            merge_unreleased(&once, "### Added\n\n- a new optional field\n").expect("merged");
        assert!(
            more.contains("- a 403 on list\n- a new optional field"),
            "{more}"
        );
    }

    #[test]
    fn no_unreleased_section_is_an_error_that_says_so() {
        let err = merge_unreleased("# Changelog\n", "### Added\n\n- x\n").expect_err("no section");
        assert!(err.contains("Unreleased"), "{err}");
    }
}
