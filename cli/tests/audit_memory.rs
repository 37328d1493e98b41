//! The audit that remembers (`--state`), tells owners (`--notify-command`),
//! reads the rotation journal, and replaces its report only when complete
//! (`--output-file`).

use std::path::{Path, PathBuf};

use crate::common::{fleet::scratch, states::seeded_records, *};
use serde_json::{Value, json};

/// A fresh scratch directory for one test.
fn dir(name: &str) -> PathBuf {
    let dir = scratch(name).join(format!("{:?}", std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// Keys without expiry `k1`…`k3` of alice and a clean `k-ok` of bob.
fn fleet() -> h2ogpte_fake_server::FakeServer {
    let key = |id: &str, user: (&str, &str)| {
        json!({"id": id, "user_id": user.0, "username": user.1, "name": format!("{id} name"),
               "created_at": fleet::days(-5), "total_calls": 1, "is_active": true})
    };
    let mut ok = key("k-ok", ("u-bob", "bob"));
    ok["expires_at"] = json!(fleet::days(30));
    seeded_records(json!([
        key("k1", ("u-alice", "alice")),
        key("k2", ("u-alice", "alice")),
        key("k3", ("u-alice", "alice")),
        ok
    ]))
}

/// `audit --require-expiry` with `--state`, as JSON rows of the seeded
/// users' keys (not the admin's): (id, finding, status).
fn audit(
    server: &h2ogpte_fake_server::FakeServer,
    state: &Path,
    extra: &[&str],
) -> (i32, Vec<(String, String, String)>, String) {
    let r = run(cli(server)
        .args(["audit", "--require-expiry"])
        .args(if extra.contains(&"-o") {
            &[][..]
        } else {
            &["-o", "json"][..]
        })
        .arg("--state")
        .arg(state)
        .args(extra));
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap_or_default();
    let mut rows: Vec<(String, String, String)> = rows
        .iter()
        .filter(|row| row["username"] != "admin")
        .map(|row| {
            let text = |f: &str| row[f].as_str().unwrap_or("").to_owned();
            (text("id"), text("finding"), text("status"))
        })
        .collect();
    rows.sort();
    (r.code, rows, r.stderr)
}

fn row(id: &str, finding: &str, status: &str) -> (String, String, String) {
    (id.to_owned(), finding.to_owned(), status.to_owned())
}

#[test]
fn an_audit_run_twice_says_what_is_new_open_fixed_and_gone() {
    let server = fleet();
    let dir = dir("audit-twice");
    let state = dir.join("audit-state.json");
    let (code, rows, stderr) = audit(&server, &state, &[]);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(
        rows,
        [
            row("k1", "no-expiry", "new"),
            row("k2", "no-expiry", "new"),
            row("k3", "no-expiry", "new")
        ]
    );
    // Between the runs: k1 gets an expiry, k2 is deleted, k4 is made.
    assert_eq!(
        run(cli(&server).args(["expire", "k1", "--in", "30 days"])).code,
        0
    );
    assert_eq!(run(cli(&server).args(["delete", "k2", "--yes"])).code, 0);
    create(&server, &["--user", "u-alice", "--name", "k4 name"]);
    let k4 = keys_named(&server, "k4 name");
    let (code, rows, stderr) = audit(&server, &state, &[]);
    assert_eq!(code, 4, "{stderr}");
    let mut expected = [
        row("k1", "no-expiry", "fixed"),
        row("k2", "no-expiry", "gone"),
        row("k3", "no-expiry", "open"),
        row(&k4, "no-expiry", "new"),
    ];
    expected.sort();
    assert_eq!(rows, expected);
    // The admin's key never expires either: open.
    assert!(
        stderr.contains("1 new, 2 open, 1 fixed, 1 gone, 1 key(s) gone"),
        "{stderr}"
    );
    // The exit code and the count are about what is open: 3 findings.
    assert!(stderr.contains("3 finding(s) in 3 of"), "{stderr}");
}

fn keys_named(server: &h2ogpte_fake_server::FakeServer, name: &str) -> String {
    sinks::keys(server)
        .into_iter()
        .find(|k| k["name"] == name)
        .and_then(|k| k["id"].as_str().map(str::to_owned))
        .expect("the key")
}

#[test]
fn a_deactivated_key_counts_from_when_the_state_first_saw_it() {
    let server = fleet();
    let dir = dir("audit-inactive");
    let state = dir.join("audit-state.json");
    assert_eq!(run(cli(&server).args(["deactivate", "k3"])).code, 0);
    let args = ["--inactive-for", "30"];
    let (_, rows, _) = audit(&server, &state, &args);
    assert!(
        !rows.iter().any(|r| r.1 == "inactive-not-deleted"),
        "{rows:?}"
    );
    // Forty days on, as far as the state knows.
    let mut remembered: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("JSON");
    remembered["keys"]["k3"]["first_inactive"] = json!(fleet::days(-40));
    std::fs::write(&state, remembered.to_string()).expect("write");
    let (_, rows, stderr) = audit(&server, &state, &args);
    assert!(
        rows.contains(&row("k3", "inactive-not-deleted", "new")),
        "{rows:?} {stderr}"
    );
}

#[test]
fn a_failed_run_leaves_the_state_and_reports_its_failure_not_old_numbers() {
    let server = fleet();
    let dir = dir("audit-failed");
    let state = dir.join("audit-state.json");
    let report = dir.join("audit.prom");
    let args = [
        "-o",
        "openmetrics",
        "--output-file",
        report.to_str().expect("path"),
    ];
    let (code, _, stderr) = audit(&server, &state, &args);
    assert_eq!(code, 4, "{stderr}");
    let (state_before, report_before) = (
        std::fs::read(&state).expect("state"),
        std::fs::read_to_string(&report).expect("report"),
    );
    assert!(report_before.ends_with("# EOF\n"), "{report_before}");
    // A listing that stops after two keys fails the run.
    let (code, _, stderr) = audit(&server, &state, &[&args[..], &["--max-keys", "2"]].concat());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--state was left as it was"), "{stderr}");
    assert_eq!(std::fs::read(&state).expect("state"), state_before);
    // The metrics file says the audit failed, and nothing more: no count
    // or expiry of the last good run that a collector could serve as fresh.
    let failed = std::fs::read_to_string(&report).expect("report");
    assert_ne!(failed, report_before);
    assert!(
        failed.contains("h2ogpte_api_key_audit_success 0\n") && failed.ends_with("# EOF\n"),
        "{failed}"
    );
    assert!(
        !failed.contains("h2ogpte_api_keys{") && !failed.contains("expiry_timestamp_seconds{"),
        "{failed}"
    );
    assert!(
        report_before.contains("state=\"active\"}"),
        "expiry series carry the key's state: {report_before}"
    );
    // Nothing but the two files is left in the directory.
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 2);
    // A state of another server, or a corrupt one, is refused and kept.
    let other = fleet();
    let (code, _, stderr) = audit(&other, &state, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("remembers the keys of"), "{stderr}");
    std::fs::write(&state, "{\"format\": 1,").expect("write");
    let (code, _, stderr) = audit(&server, &state, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read(&state).expect("kept"), b"{\"format\": 1,");
}

#[test]
fn each_owner_is_told_their_own_findings_once() {
    let server = fleet();
    let dir = dir("audit-notify");
    let command = format!(
        "sh -c 'cat > \"{}/$H2OGPTE_USERNAME.ndjson\"; echo $H2OGPTE_FINDINGS > \"{}/$H2OGPTE_USERNAME.count\"'",
        dir.display(),
        dir.display()
    );
    let r = run(cli(&server).args(["audit", "--require-expiry", "--notify-command", &command]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("told 2 of 2 user(s)"), "{}", r.stderr);
    let alice = std::fs::read_to_string(dir.join("alice.ndjson")).expect("alice told");
    let ids: Vec<String> = alice
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("NDJSON")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["k1", "k2", "k3"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("alice.count"))
            .expect("count")
            .trim(),
        "3"
    );
    assert!(!dir.join("bob.ndjson").exists(), "bob has no finding");
    // An owner who cannot be told makes the run partial.
    let r = run(cli(&server).args([
        "audit",
        "--require-expiry",
        "--notify-command",
        "sh -c 'test \"$H2OGPTE_USERNAME\" != alice'",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 of 2 user(s) were not told") && r.stderr.contains("alice"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_rotation_left_unfinished_is_a_finding_until_resumed() {
    let server = fleet();
    let dir = dir("audit-journal");
    let state = state_in(&dir);
    write_journal(
        &state,
        &server,
        &[json!({
            "old_key_id": "k3", "username": "alice", "user_id": "u-alice", "name": "k3 name",
            "old_expires_at": null, "retire": "deactivate", "secret_to": "standard output",
            "started_at": fleet::days(0), "step": "creating",
            "updated_at": fleet::days(0)
        })],
    );
    // The keys with a rotation in progress, as the audit reports them.
    let in_progress = |server| {
        let r = run(cli(server)
            .args(["audit", "--require-expiry", "-o", "ndjson", "--state-dir"])
            .arg(&state));
        r.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a row"))
            .filter(|row| row["finding"] == "rotation-in-progress")
            .map(|row| row["id"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(in_progress(&server), ["k3"]);
    // A dry run refuses the key as the real run would.
    let r = run(cli(&server)
        .args([
            "rotate",
            "k3",
            "--user",
            "u-alice",
            "--dry-run",
            "--state-dir",
        ])
        .arg(&state));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is unfinished"), "{}", r.stderr);
    let secret = dir.join("k3.key");
    let r = run(cli(&server)
        .args([
            "rotate",
            "k3",
            "--user",
            "u-alice",
            "--dry-run",
            "-o",
            "json",
            "--secret-file",
        ])
        .arg(&secret)
        .arg("--state-dir")
        .arg(&state));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("is unfinished"), "{}", r.stdout);
    let r = run(cli(&server)
        .args(["rotate", "--resume", "--state-dir"])
        .arg(&state));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("0 finished, 1 undone"), "{}", r.stderr);
    assert!(in_progress(&server).is_empty());
}

/// The report and the state are separate promises: a state that cannot be
/// written (the disk full, here a file size limit) fails the run (exit 1)
/// after the findings were printed whole, and the last state is kept.
#[test]
fn a_state_that_cannot_be_written_still_prints_the_findings() {
    let records: Vec<Value> = (0..300)
        .map(|i| {
            json!({"id": format!("k-{i}"), "user_id": "svc", "username": "svc-etl",
                "name": format!("job {i}"), "created_at": fleet::days(-1), "total_calls": 1,
                "is_active": true})
        })
        .collect();
    let server = seeded_records(Value::Array(records));
    let dir = dir("audit-state-full");
    let state = dir.join("state.json");
    let args = ["audit", "--require-expiry", "-o", "ndjson", "--state"];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.push(state.as_os_str());
    let out = run_with_full_disk(&server, 8, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is whole"), "{stderr}");
    let rows = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(
        rows, 301,
        "every finding printed (and the admin's key): {stderr}"
    );
    assert!(!state.exists(), "no half state");
}

#[test]
fn fail_on_new_and_notify_on_new_speak_once_per_new_finding() {
    let server = fleet();
    let dir = dir("audit-new");
    let state = dir.join("audit-state.json");
    let told = dir.join("told");
    let notify = format!("sh -c 'cat >> \"{}\"'", told.display());
    let args = [
        "--fail-on",
        "new",
        "--notify-on",
        "new",
        "--notify-command",
        &notify,
    ];
    let (code, _, stderr) = audit(&server, &state, &args);
    assert_eq!(code, 4, "alice's three keys and the admin key: {stderr}");
    let count = |told: &Path| std::fs::read_to_string(told).expect("told").lines().count();
    let first = count(&told);
    assert_eq!(first, 4);
    // The same fleet the next night: nothing new, exit 0, nobody mailed.
    let (code, rows, stderr) = audit(&server, &state, &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        rows.len(),
        3,
        "the report still holds alice's open findings"
    );
    assert!(stderr.contains("none new"), "{stderr}");
    assert_eq!(count(&told), first);
    // One new key without expiry: only it fails the run and is told.
    let created = create(&server, &["--user", "u-bob", "--name", "fresh"]);
    let r = run(cli(&server).args(["expire", &id_of(&created), "--never"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, _, stderr) = audit(&server, &state, &args);
    assert_eq!(code, 4, "{stderr}");
    let lines = std::fs::read_to_string(&told).expect("told");
    assert_eq!(lines.lines().count(), first + 1, "{lines}");
    assert!(
        lines.lines().last().is_some_and(|l| l.contains("fresh")),
        "{lines}"
    );
    // Without a memory, "new" means nothing: refused.
    let r = run(cli(&server).args(["audit", "--require-expiry", "--fail-on", "new"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs --state"), "{}", r.stderr);
}
