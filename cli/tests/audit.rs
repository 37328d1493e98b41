//! `audit`: findings of the recommended policy and of a policy file, ids by
//! remedy to pipe on, a server before 1.7 said once, a table that holds
//! every finding, and an audit that checked nothing said so.

use crate::common::fleet::{scratch, seeded, seeded_with};
use crate::common::*;
use h2ogpte_fake_server::ApiVersion;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;
use std::collections::BTreeSet;

/// The (id, finding) pairs of an NDJSON audit, the admin key's named "admin".
fn findings(stdout: &str) -> BTreeSet<(String, String)> {
    stdout
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).expect("an NDJSON row");
            let id = row["id"].as_str().expect("id");
            let id = if id.starts_with("k-") { id } else { "admin" };
            (
                id.to_owned(),
                row["finding"].as_str().expect("finding").to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    expected
        .iter()
        .map(|(id, f)| ((*id).to_owned(), (*f).to_owned()))
        .collect()
}

#[test]
fn audit_reports_each_finding_of_the_recommended_policy_and_exits_4() {
    let server = seeded();
    let r = run(cli(&server).args(["audit", "-o", "ndjson"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        findings(&r.stdout),
        // A key without expiry is no-expiry once (not also
        // lifetime-too-long); k-dead, deactivated at a moment the API does
        // not give, is not judged for deletion.
        pairs(&[
            ("k-forever", "no-expiry"),
            ("k-forever", "too-old"),
            ("k-forever", "unused"),
            ("k-soon", "expiring-soon"),
            ("admin", "no-expiry"),
        ])
    );
    assert!(
        r.stderr.contains("findings") || r.stderr.contains("finding(s)"),
        "{}",
        r.stderr
    );
    // The table groups by finding and counts each.
    let r = run(cli(&server).args(["audit"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    let codes: Vec<&str> = r
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .take_while(|w| !w.ends_with(':'))
        .collect();
    let mut grouped = codes.clone();
    grouped.dedup();
    assert_eq!(
        grouped,
        ["no-expiry", "too-old", "unused", "expiring-soon"],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\nno-expiry: 2\n"), "{}", r.stdout);
    // JSON is one array of the same rows.
    let r = run(cli(&server).args(["audit", "-o", "json"]));
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("a JSON array");
    assert_eq!(rows.len(), 5);
    // Rows carry the data and the remedy, not only prose.
    let too_old = rows
        .iter()
        .find(|r| r["finding"] == "too-old")
        .expect("a too-old row");
    assert_eq!(too_old["remedy"], "rotate");
    assert_eq!(
        (too_old["days"].as_i64(), too_old["limit_days"].as_i64()),
        (Some(400), Some(90))
    );
    assert!(too_old["created_at"].is_string(), "{too_old}");
    assert!(
        rows.iter()
            .all(|r| r["detail"].as_str().is_some_and(|d| !d.is_empty()))
    );
}

#[test]
fn a_clean_audit_exits_0() {
    let server = seeded();
    let r = run(cli(&server).args(["audit", "--filter", "alice"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("1 key(s) checked: none breaks the policy"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_policy_file_and_flags_over_it() {
    let server = seeded();
    let dir = scratch("policy");
    let file = dir.join("policy.toml");
    std::fs::write(&file, "forbid_global_keys = true\n").expect("policy");
    let policy = file.to_str().expect("utf-8 path");
    let r = run(cli(&server).args(["audit", "-o", "ndjson", "--policy", policy]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        findings(&r.stdout),
        pairs(&[
            ("k-forever", "global-key"),
            ("k-soon", "global-key"),
            ("admin", "global-key")
        ])
    );
    let r = run(cli(&server).args([
        "audit",
        "-o",
        "ndjson",
        "--policy",
        policy,
        "--forbid-global-keys=false",
        "--max-age",
        "300",
    ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(findings(&r.stdout), pairs(&[("k-forever", "too-old")]));
    for (text, names) in [
        ("max_agedays = 3\n", "max_agedays"),
        ("max_age_days = \"ninety\"\n", "max_age_days"),
        ("require_expiry = 1\n", "require_expiry"),
        ("not toml at all", "not a valid policy"),
    ] {
        std::fs::write(&file, text).expect("policy");
        let r = run(cli(&server).args(["audit", "--policy", policy]));
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        assert!(r.stderr.contains(names), "{text}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `audit --ids` is not a deactivation list; the remedy
/// picks the findings a command clears, so the pipe is safe as written.
#[test]
fn audit_ids_by_remedy_feed_the_command_that_clears_them() {
    let server = seeded();
    let r = run(cli(&server).args(["audit", "--ids", "--filter", "bob"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout, "k-forever\n", "each id once");
    // Only the unused key is for deactivation; the ones due for rotation
    // are not.
    let r = run(cli(&server).args(["audit", "--ids", "--remedy", "deactivate"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout, "k-forever\n");
    // One action per key: the unused k-forever, though too old as well,
    // is listed for deactivation alone, so the pipes never act on it twice.
    let r = run(cli(&server).args(["audit", "--ids", "--remedy", "rotate"]));
    assert_eq!(r.stdout, "k-soon\n");
    let bad = run(cli(&server).args(["audit", "--remedy", "burn"]));
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("rotate, expire, inactivity, deactivate, delete"),
        "{}",
        bad.stderr
    );
    let r = run(cli(&server)
        .args(["deactivate", "--from-file", "-", "-o", "ndjson"])
        .write_stdin("k-forever\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(cli(&server).args(["audit", "-o", "ndjson", "--filter", "bob"]));
    assert_eq!(
        r.code, 0,
        "deactivated now, and not yet for deletion: {}",
        r.stdout
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn a_server_before_1_7_is_said_once_not_guessed() {
    let server = seeded_with(|b| b.api_version(ApiVersion::V1_6));
    // The only rule asked for cannot be checked there:
    // said even with --quiet, and not a clean exit.
    for quiet in [false, true] {
        let mut cmd = cli(&server);
        cmd.args(["audit", "-o", "ndjson", "--unused-for", "1"]);
        if quiet {
            cmd.arg("--quiet");
        }
        let r = run(&mut cmd);
        assert_eq!(
            r.code, 5,
            "nothing can be judged unused: {}{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.contains("no rule asked for could be checked"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
    // Beside a rule it can check, the unchecked one is said once.
    let r = run(cli(&server).args([
        "audit",
        "-o",
        "ndjson",
        "--unused-for",
        "1",
        "--max-age",
        "300",
        "--quiet",
    ]));
    assert_eq!(r.code, 4, "k-forever is 400 days old: {}", r.stderr);
    assert_eq!(
        r.stderr.matches("does not report last use").count(),
        1,
        "{}",
        r.stderr
    );
}

/// The table of a large audit is read back from its spill files in chunks:
/// every finding is there, grouped in report order.
#[test]
fn a_large_audit_table_holds_every_finding_grouped() {
    let server = RUNTIME
        .block_on(FakeServer::builder().realistic_keys(3_000).seed(5).start())
        .expect("server");
    let rows = run(cli(&server).args(["audit", "-o", "ndjson"]));
    assert_eq!(rows.code, 4, "{}", rows.stderr);
    let count = rows.stdout.lines().count();
    assert!(count > 2_000, "{count} findings, more than one chunk");
    let table = run(cli(&server).args(["audit", "--no-headers"]));
    let order = [
        "no-expiry",
        "lifetime-too-long",
        "too-old",
        "unused",
        "expiring-soon",
        "no-inactivity-interval",
        "global-key",
        "inactive-not-deleted",
    ];
    let ranks: Vec<usize> = table
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let code = l.split_whitespace().next().expect("a finding");
            order.iter().position(|c| *c == code).expect("a known code")
        })
        .collect();
    assert_eq!(ranks.len(), count);
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "grouped");
    // The columns do not jump between chunks: the user
    // column (the fourth) starts at the same place on every row.
    let starts: BTreeSet<usize> = table
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut at = 0;
            let mut rest = l;
            for _ in 0..3 {
                let word = rest.trim_start();
                at += rest.len() - word.len();
                let end = word.find(' ').unwrap_or(word.len());
                at += end;
                rest = &word[end..];
            }
            at + (rest.len() - rest.trim_start().len())
        })
        .collect();
    assert_eq!(starts.len(), 1, "one start for the user column: {starts:?}");
}

#[test]
fn an_audit_that_checked_nothing_says_so_even_when_quiet() {
    let server = with_findings(1);
    for quiet in [false, true] {
        let mut cmd = cli(&server);
        cmd.args(["audit", "--filter", "no-such-user"]);
        if quiet {
            cmd.arg("--quiet");
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert!(r.stderr.contains("0 keys checked"), "{}", r.stderr);
        assert!(r.stderr.contains("no-such-user"), "{}", r.stderr);
    }
    let help = run(cli(&server).args(["audit", "--help"]));
    assert!(
        help.stdout.contains("5 when nothing was checked"),
        "{}",
        help.stdout
    );
}

// The real cause when the table's temporary files cannot be made,
// and the findings' exit code kept.
#[test]
fn an_unusable_tmpdir_is_said_and_the_findings_still_exit_4() {
    let server = with_findings(2);
    let r = run(cli(&server)
        .env("TMPDIR", "/nonexistent/h2ogpte-keys-test")
        .args(["audit", "--filter", "alice"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("TMPDIR"), "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent"), "{}", r.stderr);
    assert!(r.stderr.contains("incomplete"), "{}", r.stderr);
}
