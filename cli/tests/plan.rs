//! `plan` and `apply`: one action per key, carried out on the server the
//! plan was made for, each key read again first; a second plan finds
//! nothing to change, and the tool's own key is never acted on.

use std::path::Path;

use crate::common::{
    fleet::{self, days},
    sinks::keys,
    *,
};
use serde_json::{Value, json};

/// A fleet with every kind of finding: a service account holding many
/// keys (too old, never expiring, unused, expiring soon), people's keys,
/// keys deactivated or expired long ago, a global key.
fn fleet() -> h2ogpte_fake_server::FakeServer {
    let mut records = Vec::new();
    for i in 0..40 {
        let mut key = json!({
            "id": format!("k-{i:02}"), "user_id": "svc-etl", "username": "svc-etl",
            "name": format!("job {}", i % 5), "created_at": days(-(i * 9)),
            "total_calls": 3, "is_active": i % 11 != 0,
            "collection_id": "c-etl", "collection_name": "ETL", "is_global_key": false,
        });
        if i % 3 != 0 {
            key["expires_at"] = days(i % 40 + 1).into();
        }
        if i % 4 != 0 {
            key["last_used_at"] = days(-(i % 7)).into();
            key["inactivity_interval"] = 90.into();
        }
        records.push(key);
    }
    records.push(
        json!({"id": "k-expired", "user_id": "bob", "username": "bob",
        "name": "old ci", "created_at": days(-200), "expires_at": days(-60),
        "total_calls": 1, "is_active": true}),
    );
    records.push(
        json!({"id": "k-global", "user_id": "alice", "username": "alice",
        "name": "laptop", "created_at": days(-200), "last_used_at": days(-1),
        "total_calls": 9, "is_active": true}),
    );
    states::seeded_records(Value::Array(records))
}

fn plan(server: &h2ogpte_fake_server::FakeServer, out: Option<&Path>) -> Vec<Value> {
    let mut cmd = cli(server);
    cmd.args([
        "plan",
        "--require-expiry",
        "--max-lifetime",
        "180",
        "--max-age",
        "120",
        "--unused-for",
        "60",
        "--expiring-within",
        "7",
        "--require-inactivity-interval",
        "--forbid-global-keys",
        "--inactive-for",
        "30",
        "-o",
        "json",
    ]);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("json")
}

fn acting(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .filter(|r| {
            !matches!(
                r["action"].as_str(),
                Some("keep" | "waived" | "retiring" | "needs-human" | "own-key")
            )
        })
        .map(|r| {
            (
                r["id"].as_str().unwrap_or("").to_owned(),
                r["action"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn plan_apply_plan_leaves_nothing_to_change() {
    let server = fleet();
    let dir = fleet::scratch("plan").join(format!("{:?}", std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let state = state_in(&dir);
    let secrets = dir.join("secrets");
    std::fs::create_dir(&secrets).expect("dir");
    std::fs::set_permissions(
        &secrets,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )
    .expect("chmod");
    let file = dir.join("plan.json");
    let first = plan(&server, Some(&file));
    let actions: std::collections::BTreeSet<&str> =
        first.iter().filter_map(|r| r["action"].as_str()).collect();
    for expected in ["rotate", "deactivate", "delete", "needs-human", "own-key"] {
        assert!(actions.contains(expected), "{expected} in {actions:?}");
    }
    let before = keys(&server)
        .iter()
        .filter(|k| k["is_active"] == true)
        .count();
    // Without a terminal, --yes is needed; the server is named.
    let apply = |extra: &[&str]| {
        run(cli(&server)
            .arg("apply")
            .arg(&file)
            .args(["--secret-dir", secrets.to_str().expect("utf-8")])
            .args(["--state-dir", state.to_str().expect("utf-8"), "-o", "json"])
            .args(extra))
    };
    let r = apply(&[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("pass --yes") && r.stderr.contains("127.0.0.1"),
        "{}",
        r.stderr
    );
    // A secret file already in the way: the dry run skips that rotation
    // as the real run would, naming the file; moved away, it goes.
    let rotated = first
        .iter()
        .find(|r| r["action"] == "rotate")
        .and_then(|r| r["id"].as_str())
        .expect("a rotation");
    let in_the_way = secrets.join(rotated);
    std::fs::write(&in_the_way, "old").expect("write");
    let r = apply(&["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dry: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    let row = dry.iter().find(|a| a["id"] == rotated).expect("its row");
    assert_eq!(row["result"], "skipped", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .is_some_and(|d| d.contains("exists already")),
        "{row}"
    );
    assert!(
        dry.iter()
            .filter(|a| a["id"] != rotated)
            .all(|a| a["result"] == "would"),
        "{dry:?}"
    );
    std::fs::remove_file(&in_the_way).expect("remove");
    let r = apply(&["--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let applied: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert!(applied.iter().all(|a| a["result"] == "done"), "{applied:?}");
    let second = plan(&server, None);
    assert!(
        acting(&second).is_empty(),
        "a second plan still acts: {:?}",
        acting(&second)
    );
    let after = keys(&server)
        .iter()
        .filter(|k| k["is_active"] == true)
        .count();
    assert!(after <= before, "the active keys grew: {before} -> {after}");
    // The same plan again: every key it changes changed since, skipped.
    let r = apply(&["--yes"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let again: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert!(again.iter().all(|a| a["result"] == "skipped"), "{again:?}");
    // A plan made for another server is refused.
    let other = fleet();
    let r = run(cli(&other).arg("apply").arg(&file).args([
        "--yes",
        "--secret-dir",
        secrets.to_str().expect("utf-8"),
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("was made for"), "{}", r.stderr);
}

/// A waiver in the policy file: the global key's finding is let stand
/// (plan: waived), and once the waiver ends the audit says so, with the
/// finding back, and `--remedy review` lists that key alone.
#[test]
fn a_waiver_lets_a_finding_stand_and_its_end_is_a_finding() {
    let server = fleet();
    let dir = tempfile::tempdir().expect("dir");
    let policy = |until: &str| {
        let path = dir.path().join(format!("policy-{until}.toml"));
        std::fs::write(
            &path,
            format!(
                "forbid_global_keys = true\n\n[[waiver]]\nkey = \"k-global\"\nfinding = \"global-key\"\nuntil = {until}\nreason = \"vendor needs it until Q1\"\n"
            ),
        )
        .expect("write");
        path
    };
    let today = chrono::Utc::now().date_naive();
    let holding = policy(&(today + chrono::TimeDelta::days(10)).to_string());
    let r = run(cli(&server)
        .args(["plan", "--user", "alice", "-o", "json", "--policy"])
        .arg(&holding));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    let global = rows.iter().find(|r| r["id"] == "k-global").expect("row");
    assert_eq!(global["action"], "waived", "{global}");
    assert!(
        global["detail"]
            .as_str()
            .is_some_and(|d| d.contains("vendor needs it")),
        "{global}"
    );

    let ended = policy(&(today - chrono::TimeDelta::days(1)).to_string());
    let r = run(cli(&server)
        .args(["audit", "--user", "alice", "-o", "json", "--policy"])
        .arg(&ended));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stdout.contains("waiver-expired") && r.stdout.contains("global-key"),
        "{}",
        r.stdout
    );
    let r = run(cli(&server)
        .args(["audit", "--ids", "--remedy", "review", "--policy"])
        .arg(&ended));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "k-global");
    // A waiver that names nobody is refused with what a waiver holds.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[waiver]]\nfinding = \"global-key\"\nuntil = 2027-01-01\nreason = \"r\"\n",
    )
    .expect("write");
    let r = run(cli(&server).args(["audit", "--policy"]).arg(&bad));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("exactly one"), "{}", r.stderr);
}
