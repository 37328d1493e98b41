//! Help, the manual page and shell completions: every command's help, one
//! page that stands alone, completions for each shell.

use crate::common::*;

// One manual page, naming no page that nothing installs, with the
// finding codes and the policy keys; `man` in the top-level help.
#[test]
fn the_manual_page_stands_alone() {
    let r = run(bare().arg("man"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("(1)"), "a reference to another page");
    for expected in [
        "H2OGPTE-KEYS AUDIT",
        "no\\-expiry",
        "inactive_for_days",
        "\\-\\-remedy",
    ] {
        assert!(r.stdout.contains(expected), "{expected} in the page");
    }
    let help = run(bare().arg("--help"));
    assert!(help.stdout.contains("  man "), "{}", help.stdout);
    let completions = run(bare().args(["completions", "--help"]));
    let install = completions
        .stdout
        .find("bash-completion")
        .expect("install lines");
    let options = completions
        .stdout
        .find("--server-url")
        .expect("global options");
    assert!(install < options, "{}", completions.stdout);
}

#[test]
fn help_of_every_command() {
    for command in [
        vec![],
        vec!["create"],
        vec!["list"],
        vec!["show"],
        vec!["expire"],
        vec!["inactivity"],
        vec!["deactivate"],
        vec!["delete"],
        vec!["rotate"],
        vec!["audit"],
        vec!["completions"],
    ] {
        let mut cmd = bare();
        let r = run(cmd
            .args(&command)
            .arg("--help")
            .env_remove("H2OGPTE_API_KEY")
            .env_remove("H2OGPTE_SERVER_URL"));
        assert_eq!(r.code, 0);
        let name = if command.is_empty() {
            "help".to_owned()
        } else {
            format!("help_{}", command[0])
        };
        insta::assert_snapshot!(name, r.stdout);
    }
}

#[test]
fn completions_for_a_shell() {
    let r = run(bare().args(["completions", "bash"]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("h2ogpte-keys") && r.stdout.contains("deactivate"));
}

#[test]
fn completions_and_a_man_page() {
    let help = run(bare().args(["completions", "--help"]));
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            help.stdout.contains(&format!("completions {shell} >")),
            "{}",
            help.stdout
        );
    }
    let man = run(bare().arg("man"));
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("h2ogpte\\-keys"), "roff text");
}

/// The `--flag`s in a text.
fn flags_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(i) = text[at..].find("--") {
        let start = at + i;
        let before = start.checked_sub(1).map(|b| bytes[b]);
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'-') {
            end += 1;
        }
        let flag = text[start..end].trim_end_matches('-');
        if flag.len() > 3
            && bytes.get(start + 2).is_some_and(u8::is_ascii_lowercase)
            && !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            found.insert(flag.to_owned());
        }
        at = end.max(start + 2);
    }
    found
}

/// Every flag a message or help text of the tool names is one it has:
/// an error that says "raise --x" must name a real `--x`.
#[test]
fn every_flag_the_tool_names_exists() {
    let top = run(bare().arg("--help"));
    let mut known = flags_in(&top.stdout);
    let commands: Vec<String> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(commands.len() > 5, "{commands:?}");
    for command in &commands {
        known.extend(flags_in(&run(bare().args([command, "--help"])).stdout));
    }
    // Flags of the other tools the help's examples pipe into.
    let theirs = ["--from-file", "--dry-run", "--secret-string", "--secret-id"];
    let mut unknown = Vec::new();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            for line in text.lines().filter(|l| l.contains('"')) {
                for flag in flags_in(line) {
                    if !known.contains(&flag) && !theirs.contains(&flag.as_str()) {
                        unknown.push(format!("{}: {flag}", path.display()));
                    }
                }
            }
        }
    }
    // The manual and the workspace README name only the tool's flags
    // (and those of the tools their examples pipe into).
    let theirs_in_docs = [
        "--secret-string",
        "--secret-id",
        "--seed-keys", // the fake server's, to try the tool on
        "--path",      // cargo install's
        "--example",
        "--workspace", // cargo run's and cargo test's
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in [root.join("README.md"), root.join("../README.md")] {
        let text = std::fs::read_to_string(&doc).expect("a README");
        for flag in flags_in(&text) {
            if !known.contains(&flag) && !theirs_in_docs.contains(&flag.as_str()) {
                unknown.push(format!("{}: {flag}", doc.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "flags named but not the tool's: {unknown:#?}"
    );
}
