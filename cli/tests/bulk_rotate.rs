//! `rotate --from-file`: many keys rotated into a secret directory or a
//! command, each delivered or undone; a run killed with SIGKILL finished by
//! `rotate --resume`.

use std::{
    collections::HashMap,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use crate::common::{fleet::scratch, sinks::keys, *};
use h2ogpte_fake_server::FakeServer;
use serde_json::{Value, json};

/// Users whose ids differ from their usernames, as on a real server.
const USERS: [(&str, &str); 4] = [
    ("svc-a", "u-1"),
    ("svc-b", "u-2"),
    ("svc-c", "u-3"),
    ("svc-d", "u-4"),
];

/// A server with `n` active keys `k-000`…, named `key 0`…, over [`USERS`],
/// each answering after `latency`.
fn fleet(n: usize, latency: Duration) -> FakeServer {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let (username, user_id) = USERS[i % USERS.len()];
            json!({
                "id": format!("k-{i:03}"), "user_id": user_id, "username": username,
                "name": format!("key {i}"), "created_at": fleet::days(-30),
                "expires_at": fleet::days(60), "total_calls": 1, "is_active": true,
            })
        })
        .collect();
    let dir = scratch("bulk-seed");
    let path = dir.join(format!("{:?}-{n}.json", std::thread::current().id()));
    std::fs::write(&path, Value::from(records).to_string()).expect("seed file");
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .seed_file(&path)
                .latency(latency)
                .start(),
        )
        .expect("server");
    let _ = std::fs::remove_file(&path);
    server
}

/// A fresh directory for one test, of mode 700.
fn private_dir(name: &str) -> PathBuf {
    let dir = scratch(name).join(format!("{:?}", std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

/// The ids file and the user map of a fleet of `n`.
fn inputs(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let ids: String = (0..n).map(|i| format!("k-{i:03}\n")).collect();
    let ids_path = dir.join("ids.txt");
    std::fs::write(&ids_path, ids).expect("ids");
    let map: String = USERS.iter().map(|(u, id)| format!("{u},{id}\n")).collect();
    let map_path = dir.join("users.csv");
    std::fs::write(&map_path, format!("username,user_id\n{map}")).expect("map");
    (ids_path, map_path)
}

/// A secret directory of mode 700 in `work`.
fn secrets_in(work: &Path) -> PathBuf {
    let secrets = work.join("secrets");
    std::fs::create_dir(&secrets).expect("dir");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    secrets
}

/// `rotate --from-file IDS --user-map MAP` and then `rest`.
fn bulk(ids: &Path, map: &Path, rest: &[&str]) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
    let mut args = vec![
        "rotate".to_owned(),
        "--from-file".to_owned(),
        path(ids),
        "--user-map".to_owned(),
        path(map),
    ];
    args.extend(rest.iter().map(|a| (*a).to_owned()));
    args
}

/// Every key, by name, split into the old (`k-…`) and the new.
fn by_name(server: &FakeServer) -> (HashMap<String, Value>, HashMap<String, Vec<Value>>) {
    let mut old = HashMap::new();
    let mut new: HashMap<String, Vec<Value>> = HashMap::new();
    for key in keys(server) {
        let name = key["name"].as_str().unwrap_or("").to_owned();
        if key["id"].as_str().is_some_and(|id| id.starts_with("k-")) {
            old.insert(name, key);
        } else {
            new.entry(name).or_default().push(key);
        }
    }
    (old, new)
}

/// Checks that the secret in `file` is the one of `key` (its hint is the
/// secret's last four characters).
fn has_secret_of(file: &Path, key: &Value) {
    let secret = std::fs::read_to_string(file).expect("secret file");
    assert!(secret.starts_with("sk-"), "{secret:?}");
    assert!(!secret.ends_with('\n'), "the secret alone: {secret:?}");
    let hint = key["hint"].as_str().expect("hint");
    assert!(
        secret.ends_with(hint),
        "{} is not the secret of {key}",
        file.display()
    );
}

/// [`has_secret_of`], in a file the tool wrote: only its owner may read it.
fn holds_secret_of(file: &Path, key: &Value) {
    has_secret_of(file, key);
    let mode = std::fs::metadata(file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", file.display());
}

#[test]
fn two_hundred_keys_are_rotated_into_a_secret_directory() {
    let server = fleet(200, Duration::ZERO);
    let work = private_dir("bulk-dir");
    let (ids, map) = inputs(&work, 200);
    let secrets = secrets_in(&work);
    let dir = secrets.to_str().expect("a UTF-8 path");
    let r = run(cli(&server).args(bulk(
        &ids,
        &map,
        &["--secret-dir", dir, "--concurrency", "8", "-o", "ndjson"],
    )));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 200);
    assert!(
        rows.iter()
            .all(|row| row["ok"] == true && row["old_key"] == "deactivated"),
        "{rows:?}"
    );
    assert!(r.stderr.contains("200 rotated, 0 failed"), "{}", r.stderr);
    let (old, new) = by_name(&server);
    for i in 0..200 {
        let name = format!("key {i}");
        assert_eq!(old[&name]["is_active"], false, "{name}");
        let made = &new[&name];
        assert_eq!(made.len(), 1, "{name}: {made:?}");
        assert_eq!(made[0]["username"], old[&name]["username"]);
        holds_secret_of(&secrets.join(format!("k-{i:03}")), &made[0]);
    }
    // No temporary file is left beside the secrets.
    assert_eq!(std::fs::read_dir(&secrets).expect("dir").count(), 200);
}

#[test]
fn two_hundred_keys_are_rotated_into_a_command_that_never_sees_the_admin_key() {
    let server = fleet(200, Duration::ZERO);
    let work = private_dir("bulk-command");
    let (ids, map) = inputs(&work, 200);
    let out = work.join("delivered");
    std::fs::create_dir(&out).expect("dir");
    let command = r#"sh -c 'test -z "$H2OGPTE_API_KEY" || exit 9; cat > "$OUT/$H2OGPTE_OLD_KEY_ID.$H2OGPTE_NEW_KEY_ID"'"#;
    let place = [
        "--secret-command",
        command,
        "--overlap",
        "2 days",
        "--concurrency",
        "16",
    ];
    let r = run(cli(&server)
        .env("OUT", &out)
        .args(bulk(&ids, &map, &place))
        .args(["-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(rows.len(), 200);
    let (old, new) = by_name(&server);
    for row in &rows {
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["old_key"], "expires", "{row}");
        assert!(row["old_key_stops_at"].is_string(), "{row}");
        let (old_id, new_id) = (
            row["old_id"].as_str().expect("present"),
            row["new_id"].as_str().expect("present"),
        );
        let i: usize = old_id[2..].parse().expect("index");
        let name = format!("key {i}");
        assert_eq!(
            old[&name]["is_active"], true,
            "the overlap keeps {old_id} working"
        );
        let made = &new[&name];
        assert_eq!(made.len(), 1);
        assert_eq!(made[0]["id"], new_id);
        has_secret_of(&out.join(format!("{old_id}.{new_id}")), &made[0]);
    }
}

#[test]
fn a_sink_that_fails_for_some_keys_undoes_those_and_delivers_the_rest() {
    let server = fleet(20, Duration::ZERO);
    let work = private_dir("bulk-partial");
    let (ids, map) = inputs(&work, 20);
    let out = work.join("delivered");
    std::fs::create_dir(&out).expect("dir");
    // Keys ending in an odd digit cannot be delivered.
    let command = r#"sh -c 'case "$H2OGPTE_OLD_KEY_ID" in *[13579]) echo "vault: permission denied" >&2; exit 2;; esac; cat > "$OUT/$H2OGPTE_OLD_KEY_ID"'"#;
    let before = by_name(&server).0;
    let place = [
        "--secret-command",
        command,
        "--overlap",
        "1 day",
        "-o",
        "json",
    ];
    let r = run(cli(&server).env("OUT", &out).args(bulk(&ids, &map, &place)));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("10 rotated, 10 failed"), "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    let (old, new) = by_name(&server);
    for row in rows {
        let old_id = row["old_id"].as_str().expect("present");
        let i: usize = old_id[2..].parse().expect("index");
        let name = format!("key {i}");
        if i % 2 == 1 {
            assert_eq!(row["ok"], false, "{row}");
            let error = row["error"].as_str().expect("present");
            assert!(
                error.contains("permission denied") && error.contains("deleted again"),
                "{error}"
            );
            assert!(!new.contains_key(&name), "{name} was undone");
            assert_same_but_expiry(&old[&name], &before[&name]);
            assert!(!out.join(old_id).exists());
        } else {
            assert_eq!(row["ok"], true, "{row}");
            has_secret_of(&out.join(old_id), &new[&name][0]);
        }
    }
}

/// `key` is `before`, its expiry put back to the second.
fn assert_same_but_expiry(key: &Value, before: &Value) {
    let at = |k: &Value| {
        chrono::DateTime::parse_from_rfc3339(k["expires_at"].as_str().expect("expires"))
            .expect("date")
    };
    assert!(
        (at(key) - at(before)).num_seconds().abs() <= 2,
        "{key} against {before}"
    );
    let (mut a, mut b) = (key.clone(), before.clone());
    a["expires_at"] = Value::Null;
    b["expires_at"] = Value::Null;
    assert_eq!(a, b);
}

#[test]
fn users_missing_from_the_map_and_unsafe_ids_are_refused_before_anything_is_made() {
    let server = fleet(4, Duration::ZERO);
    let work = private_dir("bulk-refused");
    let (ids, _) = inputs(&work, 4);
    let map = work.join("users.toml");
    std::fs::write(&map, "svc-a = \"u-1\"\nsvc-b = \"u-2\"\n").expect("map");
    let secrets = private_dir("bulk-refused-secrets");
    let dir = secrets.to_str().expect("a UTF-8 path");
    let r = run(cli(&server).args(bulk(&ids, &map, &["--secret-dir", dir, "-o", "json"])));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(rows[0]["ok"], true);
    assert_eq!(rows[1]["ok"], true);
    for row in &rows[2..] {
        assert!(
            row["error"]
                .as_str()
                .expect("present")
                .contains("is not in --user-map"),
            "{row}"
        );
    }
    assert_eq!(
        keys(&server).len(),
        4 + 2 + 1,
        "two new keys and the admin's"
    );
    // A directory others can read is refused before anything is read.
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let r = run(cli(&server).args(bulk(&ids, &map, &["--secret-dir", dir])));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("chmod 700"), "{}", r.stderr);
    // So is another user's directory, where this user can give it away.
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    if std::os::unix::fs::chown(&secrets, Some(65534), None).is_ok() {
        let r = run(cli(&server).args(bulk(&ids, &map, &["--secret-dir", dir])));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("belongs to user 65534"), "{}", r.stderr);
    }
    // Many keys need a place for each secret: stdout is not one.
    let r = run(cli(&server).args(bulk(&ids, &map, &[])));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// The open rotations of the state directory's journal (of the one server
/// it holds), as JSON.
fn open_rotations(state: &Path) -> Vec<Value> {
    let file = std::fs::read_dir(state)
        .expect("state dir")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .expect("a journal");
    entries_of(&file.path())
        .into_iter()
        .filter(|e| e["step"] != "finished" && e["step"] != "undone")
        .collect()
}

/// A bulk rotation of `n` keys 20 ms away into a secret directory, with
/// `concurrency` and `rest`, its output piped, once `delivered` secrets are
/// out: the server, the secret and state directories, and the running tool.
fn slow_bulk(
    name: &str,
    n: usize,
    concurrency: &str,
    delivered: usize,
    rest: &[&str],
) -> (FakeServer, PathBuf, PathBuf, std::process::Child) {
    let server = fleet(n, Duration::from_millis(20));
    let work = private_dir(name);
    let (ids, map) = inputs(&work, n);
    let secrets = secrets_in(&work);
    let state = work.join("state");
    let (dir, state_dir) = (
        secrets.to_str().expect("a UTF-8 path"),
        state.to_str().expect("a UTF-8 path"),
    );
    let place = [
        "--secret-dir",
        dir,
        "--concurrency",
        concurrency,
        "--state-dir",
        state_dir,
    ];
    let mut child = binary(&server)
        .args(bulk(&ids, &map, &place))
        .args(rest)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&secrets).map_or(0, |d| d.count()) < delivered {
        assert!(Instant::now() < deadline, "no secret was delivered in 60 s");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before the signal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    (server, secrets, state, child)
}

#[test]
fn a_run_killed_midway_is_finished_or_undone_by_resume() {
    let n = 120;
    // Killed once a few secrets are out, with rotations in flight.
    let (server, secrets, state, mut child) = slow_bulk("bulk-kill", n, "8", 20, &["-q"]);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let open = open_rotations(&state).len();
    assert!(
        open > 0,
        "a run killed with rotations in flight leaves them in the journal"
    );
    let r = run(cli(&server).args([
        "rotate",
        "--resume",
        "--state-dir",
        state.to_str().expect("a UTF-8 path"),
        "-o",
        "json",
    ]));
    assert!(r.code == 0 || r.code == 3, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(rows.len(), open, "{rows:?}");
    // Keys the interrupted creates may have made are named, not guessed at:
    // delete them as the message says.
    for row in rows.iter().filter(|r| r["ok"] == false) {
        let error = row["error"].as_str().expect("present");
        assert_eq!(row["step"], "creating", "{row}");
        let command = error
            .rsplit("`h2ogpte-keys delete ")
            .next()
            .expect("present")
            .trim_end_matches('`');
        let named: Vec<&str> = command.split_whitespace().collect();
        let r = run(cli(&server).args(["delete", "--yes"]).args(&named));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert!(open_rotations(&state).is_empty());
    // Every key is now whole: rotated (old deactivated, one new key whose
    // secret is in the directory, even when the run was killed before it
    // journalled the delivery) or untouched (old active, no new key).
    let (old, new) = by_name(&server);
    let mut rotated = 0;
    for i in 0..n {
        let name = format!("key {i}");
        let file = secrets.join(format!("k-{i:03}"));
        match new.get(&name).map(Vec::as_slice) {
            Some([made]) => {
                assert_eq!(old[&name]["is_active"], false, "{name}");
                holds_secret_of(&file, made);
                rotated += 1;
            }
            None => assert_eq!(old[&name]["is_active"], true, "{name}"),
            Some(more) => panic!("{name} has {} new keys", more.len()),
        }
    }
    // Resume removed the temporary files a write cut short by the kill
    // left (one may hold a whole secret).
    let names: Vec<String> = std::fs::read_dir(&secrets)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    let files = names.len();
    assert!(
        rotated >= files && rotated < n,
        "{rotated} rotated, {files} files"
    );
    // A second resume has nothing left to do.
    let r = run(cli(&server).args([
        "rotate",
        "--resume",
        "--state-dir",
        state.to_str().expect("a UTF-8 path"),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("nothing to resume"), "{}", r.stderr);
}

#[test]
fn a_corrupt_journal_is_refused_and_kept() {
    let server = fleet(1, Duration::ZERO);
    let work = private_dir("bulk-corrupt");
    let state = work.join("state");
    // A journal for this server, cut short.
    let r = run(cli(&server).args([
        "rotate",
        "--resume",
        "--state-dir",
        state.to_str().expect("a UTF-8 path"),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = journal_path(&state, &server);
    let corrupt = "{\"format\":2,\"server\":\"x\"}\n{\"old_key_id\n{}\n";
    std::fs::write(&file, corrupt).expect("write");
    let secret = work.join("secret");
    let single = [
        "rotate",
        "k-000",
        "--secret-file",
        secret.to_str().expect("a UTF-8 path"),
    ];
    for args in [&["rotate", "--resume"][..], &single[..]] {
        let r = run(cli(&server)
            .args(args)
            .args(["--state-dir", state.to_str().expect("a UTF-8 path")]));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = run(cli(&server).args([
        "rotate",
        "--resume",
        "--state-dir",
        state.to_str().expect("a UTF-8 path"),
    ]));
    assert!(
        r.stderr.contains("corrupt") && r.stderr.contains("left as it is"),
        "{}",
        r.stderr
    );
    assert!(!secret.exists(), "nothing was made");
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), corrupt);
}

#[test]
fn resume_names_only_keys_no_finished_rotation_made() {
    // Three keys of one user share a name: the old key, a replacement a
    // finished rotation delivered, and one nobody accounts for.
    let key = |id: &str| {
        json!({"id": id, "user_id": "u-1", "username": "svc-a", "name": "shared",
               "created_at": fleet::days(0), "total_calls": 1, "is_active": true})
    };
    let server = states::seeded_records(json!([key("k-old"), key("k-delivered"), key("k-stray")]));
    let work = private_dir("bulk-stray");
    let state = state_in(&work);
    let entry = |old: &str, step: &str, new: Option<&str>| {
        json!({
            "old_key_id": old, "username": "svc-a", "user_id": "u-1", "name": "shared",
            "old_expires_at": null, "retire": "deactivate", "secret_to": "standard output",
            "started_at": fleet::days(0), "step": step, "new_key_id": new,
            "updated_at": fleet::days(0)
        })
    };
    // Another rotation of a key of the same user finished, delivering
    // k-delivered; this one stopped while creating.
    write_journal(
        &state,
        &server,
        &[
            entry("k-gone", "finished", Some("k-delivered")),
            entry("k-old", "creating", None),
        ],
    );
    let r = run(cli(&server)
        .args(["rotate", "--resume", "-o", "json", "--state-dir"])
        .arg(&state));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    let error = rows[0]["error"].as_str().expect("what to check");
    assert!(error.contains("key k-stray"), "{error}");
    assert!(!error.contains("k-delivered"), "{error}");
    // Settled: nothing open is left, and the finished one is remembered.
    let left = journal_entries(&state, &server);
    assert!(
        left.iter()
            .all(|e| e["step"] == "finished" || e["step"] == "undone"),
        "{left:?}"
    );
    assert!(
        left.iter().any(|e| e["new_key_id"] == "k-delivered"),
        "{left:?}"
    );
}

#[test]
fn sigint_lets_the_rotations_in_flight_finish_and_leaves_nothing_to_resume() {
    let n = 80;
    let (server, _, state, child) = slow_bulk("bulk-sigint", n, "4", 5, &["-o", "ndjson"]);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("not attempted") && stderr.contains("not rotated"),
        "{stderr}"
    );
    // Each result printed is whole, and nothing is left to resume.
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert!(rows.iter().all(|r| r["ok"] == true), "{rows:?}");
    assert!(open_rotations(&state).is_empty());
    let (old, new) = by_name(&server);
    let made = new.keys().filter(|name| name.starts_with("key ")).count();
    assert_eq!(made, rows.len(), "one new key per result");
    for row in &rows {
        let i: usize = row["old_id"].as_str().expect("id")[2..]
            .parse()
            .expect("index");
        assert_eq!(old[&format!("key {i}")]["is_active"], false);
    }
    assert!(rows.len() < n, "stopped early: {} rotated", rows.len());
}

/// The audit's rotate remedy piped into a bulk rotation with an overlap,
/// round after round, as the README pipes it: the first round rotates
/// every key due once; the old keys, working out their window, are
/// retiring (not too old, not expiring soon) and the new ones are young,
/// so the next round finds nothing; a plain re-run of the first round's
/// ids makes no second replacement. The fleet grows by one key per key
/// due, once.
#[test]
fn the_audit_rotate_loop_converges_and_never_rotates_a_key_twice() {
    let n = 240;
    let server = fleet(n, Duration::ZERO);
    let work = private_dir("bulk-loop");
    let (_, map) = inputs(&work, n);
    let secrets = secrets_in(&work);
    let state = state_in(&work);
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
    let audit = || {
        run(cli(&server)
            .args(["audit", "--max-age", "20", "--expiring-within", "10"])
            .args(["--ids", "--remedy", "rotate", "--state-dir", &path(&state)]))
    };
    let rotate = |ids: &str| {
        let file = work.join("due.txt");
        std::fs::write(&file, ids).expect("ids");
        run(cli(&server).args(bulk(
            &file,
            &map,
            &[
                "--secret-dir",
                &path(&secrets),
                "--overlap",
                "7 days",
                "--concurrency",
                "8",
                "--state-dir",
                &path(&state),
                "-q",
            ],
        )))
    };
    let first = audit();
    assert_eq!(first.code, 4, "{}", first.stderr);
    assert_eq!(first.stdout.lines().count(), n, "every key is too old");
    let r = rotate(&first.stdout);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        keys(&server).len(),
        2 * n + 1,
        "one new key each (and the admin's)"
    );
    for round in 2..=3 {
        let again = audit();
        assert_eq!(again.code, 0, "round {round}: {}", again.stdout);
        assert!(again.stdout.is_empty(), "round {round}: {}", again.stdout);
        let r = rotate(&again.stdout);
        assert_eq!(r.code, 0, "round {round}: nothing to do: {}", r.stderr);
    }
    // The crashed run's re-run, by hand: every key refused, naming its
    // replacement; nothing made.
    let r = rotate(&first.stdout);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rows: Vec<Value> = {
        let r = run(cli(&server).args(bulk(
            &work.join("due.txt"),
            &map,
            &[
                "--secret-dir",
                &path(&secrets),
                "--overlap",
                "7 days",
                "--state-dir",
                &path(&state),
                "-o",
                "json",
                "--dry-run",
            ],
        )));
        serde_json::from_str(&r.stdout).expect("json")
    };
    assert_eq!(rows.len(), n);
    assert!(
        rows.iter().all(|r| r["error"]
            .as_str()
            .is_some_and(|e| e.contains("rotated already, into key"))),
        "{:?}",
        rows.first()
    );
    assert_eq!(keys(&server).len(), 2 * n + 1, "no second replacement");
    let (old, new) = by_name(&server);
    for (name, key) in &old {
        assert_eq!(key["is_active"], true, "{name} works out its window");
        assert_eq!(new[name].len(), 1, "{name} was replaced once");
    }
}

/// A FIFO where a regular file must be (`--user-map`, the audit's
/// `--state`, the journal) is refused at once (exit 2), never waited on.
#[test]
fn a_fifo_where_a_file_must_be_is_refused_at_once() {
    let server = fleet(2, Duration::ZERO);
    let work = private_dir("fifo-inputs");
    let (ids, _) = inputs(&work, 2);
    let secrets = secrets_in(&work);
    let fifo = |name: &str| {
        let path = work.join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        path
    };
    let (map, state_file) = (fifo("users.fifo"), fifo("state.fifo"));
    let state = state_in(&work);
    std::os::unix::fs::symlink(fifo("journal.fifo"), journal_path(&state, &server))
        .expect("a journal that is a FIFO");
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
    let cases: [Vec<String>; 4] = [
        bulk(&ids, &map, &["--secret-dir", &path(&secrets)]),
        vec![
            "audit".into(),
            "--require-expiry".into(),
            "--state".into(),
            path(&state_file),
        ],
        vec![
            "rotate".into(),
            "--resume".into(),
            "--state-dir".into(),
            path(&state),
        ],
        vec![
            "audit".into(),
            "--require-expiry".into(),
            "--state-dir".into(),
            path(&state),
        ],
    ];
    for args in cases {
        let mut child = binary(&server)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{args:?}: blocked on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
            .expect("stderr");
        // The audit says the journal was not read and goes on.
        if args[0] == "audit" && args[2] == "--state-dir" {
            assert_eq!(status.code(), Some(4), "{args:?}: {stderr}");
        } else {
            assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        }
        assert!(
            stderr.contains("not a regular file") || stderr.contains("regular file"),
            "{args:?}: {stderr}"
        );
    }
}

/// `--secret-dir` is opened once: a directory swapped in at its path while
/// the run goes on (its parent open to others) receives no secret; every
/// secret lands in the directory that was checked.
#[test]
fn a_secret_directory_swapped_midway_gets_nothing() {
    let n = 40;
    let server = fleet(n, Duration::from_millis(20));
    let work = private_dir("swap-dir");
    let (ids, map) = inputs(&work, n);
    let secrets = secrets_in(&work);
    let mut child = binary(&server)
        .args(bulk(
            &ids,
            &map,
            &[
                "--secret-dir",
                secrets.to_str().expect("a UTF-8 path"),
                "--concurrency",
                "2",
                "--state-dir",
                state_in(&work).to_str().expect("a UTF-8 path"),
                "-q",
            ],
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&secrets).map_or(0, |d| d.count()) == 0 {
        assert!(Instant::now() < deadline, "no secret was delivered in 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    let checked = work.join("checked");
    std::fs::rename(&secrets, &checked).expect("swap");
    std::fs::create_dir(&secrets).expect("another directory");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
    let count = |dir: &Path| std::fs::read_dir(dir).expect("dir").count();
    assert_eq!(count(&secrets), 0, "the swapped-in directory got secrets");
    assert_eq!(count(&checked), n, "every secret is where it was checked");
}

/// A fleet rotation into a command that names no key is warned of before
/// anything is made: every run would write one place.
#[test]
fn a_fleet_rotation_into_one_place_is_warned_of() {
    let server = server();
    let ids: Vec<String> = (0..2)
        .map(|_| id_of(&create(&server, &["--user", "u-alice"])))
        .collect();
    let input = format!("{}\n", ids.join("\n"));
    let rotate = |command: &str| {
        run(cli(&server)
            .args([
                "rotate",
                "--from-file",
                "-",
                "--dry-run",
                "--secret-command",
                command,
            ])
            .write_stdin(input.clone()))
    };
    let r = rotate("vault kv put secret/ingest/h2ogpte key=-");
    assert!(r.stderr.contains("only the last one stays"), "{}", r.stderr);
    let r = rotate(
        "sh -c 'vault kv put \"secret/h2ogpte/$H2OGPTE_KEY_USERNAME/$H2OGPTE_KEY_NAME\" key=-'",
    );
    assert!(
        !r.stderr.contains("only the last one stays"),
        "{}",
        r.stderr
    );
}
