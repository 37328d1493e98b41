//! The administrator's loop tells the truth (issue 26): no key is revived
//! by the back door, a dry run predicts the real run, and rotations never
//! hand out a wrong key.

use crate::common;

use common::{RUNTIME, cli, run};
use h2ogpte_fake_server::{FakeServer, SeedKey};
use serde_json::{Value, json};

/// A server holding `records` (the API's key shape plus `user_id`), times
/// relative to now so the client's clock and the server's agree.
fn seeded(records: Value) -> FakeServer {
    let keys: Vec<SeedKey> = serde_json::from_value(records).expect("seed records");
    RUNTIME
        .block_on(FakeServer::builder().seed_records(keys).start())
        .expect("a seeded server")
}

fn ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(days)).to_rfc3339()
}

/// An expired key `k-expired`, a key idle past its 1-day interval
/// `k-idle`, and a live one `k-live`, all alice's.
fn revivable() -> FakeServer {
    let base = |id: &str| {
        json!({"id": id, "user_id": "u-alice", "username": "alice", "name": id,
               "created_at": ago(10), "total_calls": 1, "is_active": true})
    };
    let mut expired = base("k-expired");
    expired["expires_at"] = json!(ago(1));
    expired["is_active"] = json!(false);
    let mut idle = base("k-idle");
    idle["inactivity_interval"] = json!(1);
    idle["last_used_at"] = json!(ago(5));
    idle["is_active"] = json!(false);
    seeded(json!([expired, idle, base("k-live")]))
}

fn outcome(stdout: &str) -> Value {
    let results: Vec<Value> = serde_json::from_str(stdout).expect("JSON results");
    results.into_iter().next().expect("one result")
}

fn state_of(server: &FakeServer, id: &str) -> Value {
    let r = run(cli(server).args(["show", id, "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("a key")
}

// Item 3.
#[test]
fn an_expired_or_idle_key_is_not_revived_without_revive() {
    let server = revivable();
    let (expired, idle) = ("k-expired".to_owned(), "k-idle".to_owned());
    for (command, id, args) in [
        ("expire", &expired, &["--in", "90 days"][..]),
        ("expire", &expired, &["--never"][..]),
        ("inactivity", &idle, &["--never"][..]),
        ("inactivity", &idle, &["--days", "365"][..]),
    ] {
        for dry_run in [true, false] {
            let mut cmd = cli(&server);
            cmd.args([command, id.as_str(), "-o", "json"]).args(args);
            if dry_run {
                cmd.arg("--dry-run");
            }
            let r = run(&mut cmd);
            assert_eq!(
                r.code, 1,
                "{command} {args:?} (dry run {dry_run}): {}",
                r.stderr
            );
            let o = outcome(&r.stdout);
            assert_eq!(o["ok"], false);
            assert!(
                o["error"].as_str().is_some_and(|e| e.contains("--revive")),
                "{o}"
            );
        }
        assert_eq!(state_of(&server, id)["is_active"], false, "still revoked");
    }
    // On purpose, it is done, and said as the real change it is.
    let r = run(cli(&server).args(["expire", &expired, "--in", "90 days", "--revive"]));
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert_eq!(state_of(&server, &expired)["is_active"], true);
}

// Item 3.
#[test]
fn deactivating_an_expired_key_says_it_stays_revivable() {
    let server = revivable();
    let (expired, live) = ("k-expired", "k-live");
    for dry_run in [true, false] {
        let mut cmd = cli(&server);
        cmd.args(["deactivate", expired, live, "-o", "json"]);
        if dry_run {
            cmd.arg("--dry-run");
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 3, "dry run {dry_run}: {}", r.stderr);
        let results: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
        let of = |id: &str| {
            results
                .iter()
                .find(|o| o["id"] == id)
                .expect("an outcome")
                .clone()
        };
        assert_eq!(of(expired)["ok"], false, "{results:?}");
        assert!(
            of(expired)["error"]
                .as_str()
                .is_some_and(|e| e.contains("not deactivated") && e.contains("--allow-revivable")),
            "{results:?}"
        );
        assert_eq!(of(live)["ok"], true);
        if dry_run {
            assert_eq!(
                state_of(&server, live)["is_active"],
                true,
                "the dry run changed nothing"
            );
        }
    }
    let r = run(cli(&server).args(["deactivate", expired, "--allow-revivable", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        outcome(&r.stdout)["note"],
        "inactive, not deactivated: still revivable"
    );
}

// Item 10: a clean night's empty id list is nothing to do, not a usage
// error; --quiet keeps stderr empty then.
#[test]
fn an_empty_id_list_is_nothing_to_do() {
    let server = revivable();
    for command in ["deactivate", "expire", "delete"] {
        let mut cmd = cli(&server);
        cmd.args([command, "--from-file", "-"]);
        match command {
            "expire" => cmd.args(["--in", "30 days"]),
            "delete" => cmd.arg("--yes"),
            _ => &mut cmd,
        };
        let r = run(cmd.write_stdin("# no findings tonight\n\n"));
        assert_eq!(r.code, 0, "{command}: {}", r.stderr);
        assert!(
            r.stderr.contains("nothing to do"),
            "{command}: {}",
            r.stderr
        );
        let r = run(cmd.arg("--quiet").write_stdin(""));
        assert_eq!(r.code, 0, "{command}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{command}: {}", r.stderr);
    }
}

// Item 7: a dry run says what only the server can decide as not checked,
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

/// The README's loop on a seeded population: audit, pick each remedy's
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
    let server = seeded(Value::Array(records));
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

    let after = audit(&["-o", "json"]);
    assert_eq!(after.code, 0, "no finding is left: {}", after.stdout);
    let clean_after = run(cli(&server).args(["list", "--filter", "erin", "-o", "json"])).stdout;
    assert_eq!(clean_before, clean_after, "the clean keys are untouched");
}

// Item 12: one manual page, naming no page that nothing installs, with the
// finding codes and the policy keys; `man` in the top-level help.
#[test]
fn the_manual_page_stands_alone() {
    let r = run(common::bare().arg("man"));
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
    let help = run(common::bare().arg("--help"));
    assert!(help.stdout.contains("  man "), "{}", help.stdout);
    let completions = run(common::bare().args(["completions", "--help"]));
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

// Item 1: a rotation that ends without a replacement puts the old key's
// expiry back, and when it cannot, says so with the date the key now
// stops working (exit 3), never "unchanged".
#[test]
fn a_failed_rotation_that_cannot_restore_the_expiry_says_when_the_key_dies() {
    let keys: Vec<SeedKey> = serde_json::from_value(json!([{
        "id": "k-long", "user_id": "u-alice", "username": "alice", "name": "svc",
        "created_at": ago(10), "expires_at": ago(-700), "total_calls": 1, "is_active": true
    }]))
    .expect("a record");
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .max_expiry_days(30)
                .seed_records(keys)
                .start(),
        )
        .expect("a server");
    let r = run(cli(&server).args([
        "rotate",
        "k-long",
        "--user",
        "u-alice",
        "--overlap",
        "7 days",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no secret: {}", r.stdout);
    assert!(!r.stderr.contains("unchanged"), "{}", r.stderr);
    assert!(
        r.stderr.contains("putting key k-long's expiry back failed") && r.stderr.contains("(UTC)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("h2ogpte-keys expire k-long"),
        "{}",
        r.stderr
    );
}
