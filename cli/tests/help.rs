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
