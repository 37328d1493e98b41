//! The administrator's journey through several commands: audit, ids by
//! remedy, dry run, act, audit again; and dry runs that say what the real
//! run would do and change nothing.

use crate::common::fleet::seeded;
use crate::common::states::{ago, outcome, revivable, seeded_records};
use crate::common::*;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;
use serde_json::json;

/// Every key but the admin's, as JSON: what a dry run must leave alone.
fn others(server: &FakeServer) -> Vec<Value> {
    let r = run(cli(server).args(["list", "--all", "-o", "json"]));
    let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
    keys.into_iter()
        .filter(|k| k["id"].as_str().is_some_and(|id| id.starts_with("k-")))
        .collect()
}

fn notes(stdout: &str) -> Vec<(String, bool, String)> {
    stdout
        .lines()
        .map(|line| {
            let o: Value = serde_json::from_str(line).expect("an outcome");
            (
                o["id"].as_str().expect("id").to_owned(),
                o["ok"].as_bool().expect("ok"),
                o["note"]
                    .as_str()
                    .or(o["error"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn dry_runs_say_what_would_be_done_and_change_nothing() {
    let server = seeded();
    let before = (others(&server), server.key_count());
    let r = run(cli(&server).args(["create", "--user", "u-alice", "--name", "x", "--dry-run"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("would create a key for user u-alice named \"x\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("dry run on http://127.0.0.1:"),
        "names the server: {}",
        r.stderr
    );
    let r = run(cli(&server).args([
        "deactivate",
        "k-clean",
        "k-dead",
        "k-nope",
        "--dry-run",
        "-o",
        "ndjson",
    ]));
    assert_eq!(
        r.code, 3,
        "one id would fail, as in a real run: {}",
        r.stderr
    );
    assert_eq!(
        notes(&r.stdout),
        [
            ("k-clean".to_owned(), true, "would deactivate".to_owned()),
            ("k-dead".to_owned(), true, "already inactive".to_owned()),
            (
                "k-nope".to_owned(),
                false,
                "no key with id k-nope".to_owned()
            ),
        ]
    );
    assert!(
        r.stderr.contains("dry run on http://127.0.0.1:")
            && r.stderr.contains("nothing was changed"),
        "{}",
        r.stderr
    );
    // A dry run exits as the real run would: without --yes and no
    // terminal to ask on, refused.
    let delete = [
        "delete",
        "k-clean",
        "k-nope",
        "--ignore-missing",
        "--dry-run",
        "-o",
        "ndjson",
    ];
    let r = run(cli(&server).args(delete));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    let r = run(cli(&server).args(delete).arg("--yes"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(notes(&r.stdout)[1].2, "already gone");
    let r = run(cli(&server).args(["expire", "k-clean", "--in", "1 day", "--dry-run"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("would set the expiry"), "{}", r.stdout);
    let r = run(cli(&server).args(["expire", "k-dead", "--never", "--dry-run"]));
    assert_eq!(r.code, 1, "a deactivated key refuses it: {}", r.stdout);
    let r = run(cli(&server).args([
        "inactivity",
        "k-clean",
        "--days",
        "3",
        "--dry-run",
        "-o",
        "csv",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("\"k-clean\",\"true\",\"would set the inactivity interval\""),
        "{}",
        r.stdout
    );
    let r = run(cli(&server).args([
        "rotate",
        "k-forever",
        "--user",
        "u-bob",
        "--overlap",
        "7 days",
        "--dry-run",
        "-o",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(plan["retire_old"], "expire");
    assert_eq!(plan["create"]["user_id"], "u-bob");
    assert!(plan["old_key_stops_at"].is_string(), "{plan}");
    let r = run(cli(&server).args(["rotate", "k-dead", "--dry-run"]));
    assert_eq!(
        r.code, 1,
        "an inactive key is refused as in a real run: {}",
        r.stderr
    );
    assert_eq!(
        (others(&server), server.key_count()),
        before,
        "nothing changed"
    );
}

// A dry run says what only the server can decide as not checked,
// and counts only what would change.
#[test]
fn a_dry_run_says_what_it_did_not_check_and_counts_what_would_change() {
    let server = revivable();
    let bad = run(cli(&server).args(["expire", "k-live", "--in", "30 dayz", "--dry-run"]));
    assert_eq!(bad.code, 2, "as the real run: {}", bad.stderr);
    let r = run(cli(&server).args([
        "create",
        "--user",
        "u-alice",
        "--collection",
        "c-nope",
        "--dry-run",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not checked") && r.stderr.contains("collection exists"),
        "{}",
        r.stderr
    );
    let r = run(cli(&server).args(["rotate", "k-live", "--dry-run"]));
    assert!(
        r.stderr.contains("not checked: whether alice is the id"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("seconds"),
        "a date, not seconds: {}",
        r.stdout
    );
    let r = run(cli(&server).args([
        "expire",
        "k-live",
        "--in",
        "3000 days",
        "--dry-run",
        "-o",
        "json",
    ]));
    assert!(
        outcome(&r.stdout)["note"]
            .as_str()
            .is_some_and(|n| n.contains("not checked")),
        "{}",
        r.stdout
    );
}

/// The README's loop on a seeded_records population: audit, pick each remedy's
/// ids, dry run, act, audit again. The findings acted on are gone, and the
/// clean keys are as they were.
#[test]
fn audit_dry_run_act_audit_again_leaves_no_finding_and_nothing_else_changed() {
    let mut records = Vec::new();
    let record = |id: String, user: &str, created: i64, used: Option<i64>, expires: Option<i64>| {
        let mut r = json!({"id": id, "user_id": format!("u-{user}"), "username": user,
            "name": "svc", "created_at": ago(created), "total_calls": 3, "is_active": true});
        if let Some(d) = used {
            r["last_used_at"] = json!(ago(d));
        }
        if let Some(d) = expires {
            r["expires_at"] = json!(ago(-d));
            if d < 0 {
                r["is_active"] = json!(false);
            }
        }
        r
    };
    for i in 0..6 {
        records.push(record(format!("k-noexp-{i}"), "alice", 10, Some(1), None));
        records.push(record(format!("k-old-{i}"), "bob", 200, Some(1), Some(100)));
        records.push(record(
            format!("k-unused-{i}"),
            "carol",
            60,
            Some(45),
            Some(100),
        ));
        records.push(record(
            format!("k-expired-{i}"),
            "dave",
            200,
            Some(100),
            Some(-60),
        ));
        records.push(record(
            format!("k-clean-{i}"),
            "erin",
            10,
            Some(1),
            Some(100),
        ));
    }
    let server = seeded_records(Value::Array(records));
    let dir = tempfile::tempdir().expect("a directory");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "require_expiry = true\nmax_age_days = 180\nunused_for_days = 30\ninactive_for_days = 30\n",
    )
    .expect("policy");
    let audit = |extra: &[&str]| {
        let mut cmd = cli(&server);
        cmd.args(["audit", "--policy"]).arg(&policy).args(extra);
        run(&mut cmd)
    };
    let clean_before = run(cli(&server).args(["list", "--filter", "erin", "-o", "json"])).stdout;

    let before = audit(&["-o", "json"]);
    assert_eq!(before.code, 4, "{}", before.stderr);
    let rows: Vec<Value> = serde_json::from_str(&before.stdout).expect("JSON rows");
    let count = |code: &str| rows.iter().filter(|r| r["finding"] == code).count();
    // The admin key has no expiry either.
    assert_eq!(
        (
            count("no-expiry"),
            count("too-old"),
            count("unused"),
            count("inactive-not-deleted")
        ),
        (7, 6, 6, 6),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 25, "nothing else: {rows:?}");

    let ids = |remedy: &str| {
        let r = audit(&["--ids", "--remedy", remedy]);
        assert_eq!(r.code, 4, "{remedy}: {}", r.stderr);
        let path = dir.path().join(format!("{remedy}.txt"));
        std::fs::write(&path, &r.stdout).expect("ids");
        (path, r.stdout.lines().count())
    };
    for (remedy, act) in [
        ("expire", &["expire", "--in", "90 days"][..]),
        ("deactivate", &["deactivate"][..]),
        ("delete", &["delete", "--yes"][..]),
    ] {
        let (path, n) = ids(remedy);
        let dry = run(cli(&server)
            .args(act)
            .arg("--from-file")
            .arg(&path)
            .arg("--dry-run"));
        assert_eq!(dry.code, 0, "{remedy}: {}", dry.stderr);
        assert!(
            dry.stderr
                .contains(&format!("{n} would be done, 0 already as asked, 0 failed")),
            "{remedy}: {}",
            dry.stderr
        );
        let real = run(cli(&server).args(act).arg("--from-file").arg(&path));
        assert_eq!(real.code, 0, "{remedy}: {}", real.stderr);
    }
    let (path, n) = ids("rotate");
    assert_eq!(n, 6);
    for id in std::fs::read_to_string(&path).expect("ids").lines() {
        let r = run(cli(&server).args(["rotate", id, "--user", "u-bob", "-o", "json"]));
        assert_eq!(r.code, 0, "{id}: {}", r.stderr);
    }

    // No finding is left but the tool's own key's, which no remedy lists.
    let after = audit(&["-o", "json"]);
    let left: Vec<Value> = serde_json::from_str(&after.stdout).expect("JSON rows");
    assert!(
        left.iter().all(|r| r["username"] == "admin"),
        "no finding is left: {left:?}"
    );
    let clean_after = run(cli(&server).args(["list", "--filter", "erin", "-o", "json"])).stdout;
    assert_eq!(clean_before, clean_after, "the clean keys are untouched");
}

/// A dry run of `create` or `rotate` refuses, as the real run does, an
/// output that would lose the secret: CSV, or standard output on
/// /dev/null (exit 2, nothing made).
#[test]
fn dry_runs_refuse_an_output_that_would_lose_the_secret_as_real_runs_do() {
    let server = server();
    let old = id_of(&create(&server, &["--user", "u-alice"]));
    // Alice's keys as listed (the admin's own key counts its calls).
    let alices =
        || run(cli(&server).args(["list", "--all", "--filter", "alice", "-o", "json"])).stdout;
    let before = alices();
    let cases: [Vec<&str>; 2] = [
        vec!["create", "--user", "u-alice"],
        vec!["rotate", &old, "--user", "u-alice"],
    ];
    for args in &cases {
        for dry_run in [false, true] {
            let dry: &[&str] = if dry_run { &["--dry-run"] } else { &[] };
            let r = run(cli(&server).args(args).args(["-o", "csv"]).args(dry));
            assert_eq!(r.code, 2, "{args:?} {dry:?} -o csv: {}", r.stderr);
            let null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .expect("/dev/null");
            let out = binary(&server)
                .args(args)
                .args(dry)
                .stdout(null)
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(2), "{args:?} {dry:?} > /dev/null");
        }
    }
    assert_eq!(before, alices(), "nothing was made or changed");
}
