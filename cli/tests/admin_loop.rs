//! The administrator's loop tells the truth (issue 26): no key is revived
//! by the back door, a dry run predicts the real run, and rotations never
//! hand out a wrong key.

mod common;

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
