//! The `h2ogpte-keys` binary against the fake server over a real socket: every
//! command, each output format, batches with good and unknown ids, stdin,
//! rotate, exit codes, and snapshots of help and output (ids, secrets and
//! times redacted).

use crate::common;

use common::{cli, create, id_of, run, server};
use serde_json::Value;

/// Snapshot settings that replace what changes from run to run: ids,
/// secrets, hints, times.
fn redacted() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[id]",
    );
    settings.add_filter(r"sk-[A-Za-z0-9]+", "[secret]");
    settings.add_filter(r"…[A-Za-z0-9]{4}", "…[hint]");
    settings.add_filter(
        r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|\+00:00)?",
        "[time]",
    );
    settings.add_filter(r#""hint": "[A-Za-z0-9]{4}""#, r#""hint": "[hint]""#);
    settings
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
        let mut cmd = common::bare();
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
fn create_prints_the_secret_once_on_stdout() {
    let server = server();
    let r = run(cli(&server).args([
        "create",
        "--user",
        "u-alice",
        "--name",
        "ci",
        "--expires-in",
        "30 days",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let secret = r.stdout.trim();
    assert!(
        secret.starts_with("sk-") && !secret.contains(char::is_whitespace),
        "only the secret: {:?}",
        r.stdout
    );
    assert!(r.stderr.contains("will not be shown again"), "{}", r.stderr);
    let listed = run(cli(&server).args(["list", "-o", "json"]));
    assert!(
        !listed.stdout.contains(secret),
        "the secret is never listed"
    );

    let mut json = create(
        &server,
        &[
            "--user",
            "u-alice",
            "--collection",
            "c-1",
            "--inactivity-days",
            "7",
        ],
    );
    // What changes from run to run is replaced before the snapshot is taken.
    for pointer in [
        "/secret_key",
        "/api_key/id",
        "/api_key/hint",
        "/api_key/created_at",
    ] {
        let field = pointer.rsplit('/').next().unwrap_or(pointer);
        assert!(
            json.pointer(pointer).is_some(),
            "a created key has {pointer}: {json}"
        );
        if let Some(value) = json.pointer_mut(pointer) {
            *value = Value::String(format!("[{field}]"));
        }
    }
    insta::assert_json_snapshot!("create_json", json);
}

#[test]
fn list_formats_and_filters() {
    let server = server();
    create(
        &server,
        &[
            "--user",
            "u-alice",
            "--name",
            "ingest",
            "--collection",
            "c-1",
            "--expires-in",
            "1 year",
        ],
    );
    let bob = create(&server, &["--user", "u-bob", "--name", "reports"]);
    let r = run(cli(&server).args(["deactivate", &id_of(&bob)]));
    assert_eq!(r.code, 0, "{}", r.stderr);

    let table = run(cli(&server).args(["list", "--filter", "ALI"]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    redacted().bind(|| insta::assert_snapshot!("list_table", table.stdout));

    let json = run(cli(&server).args(["list", "--all", "-o", "json"]));
    let keys: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON array");
    assert_eq!(keys.len(), 3, "admin, alice, bob");
    assert!(
        keys.iter().all(|k| k.get("is_global_key").is_some()),
        "the API's own field names"
    );
    let inactive = run(cli(&server).args(["list", "--inactive", "-o", "json"]));
    redacted().bind(|| insta::assert_snapshot!("list_json_inactive", inactive.stdout));

    let ndjson = run(cli(&server).args(["list", "--all", "-o", "ndjson"]));
    assert_eq!(ndjson.stdout.lines().count(), 3);
    for line in ndjson.stdout.lines() {
        serde_json::from_str::<Value>(line).expect("one JSON object per line");
    }
    let active = run(cli(&server).args(["list", "--active", "-o", "ndjson"]));
    assert_eq!(active.stdout.lines().count(), 2);
    let unused = run(cli(&server).args(["list", "--unused-for", "1", "-o", "ndjson"]));
    assert_eq!(
        unused.stdout.lines().count(),
        0,
        "every key is younger than a day"
    );
    let page = run(cli(&server).args(["list", "--offset", "1", "--limit", "1", "-o", "ndjson"]));
    assert_eq!(page.stdout.lines().count(), 1);
}

#[test]
fn show_finds_a_key_by_paging() {
    let server = server();
    let key = create(&server, &["--user", "u-bob", "--name", "one"]);
    let r = run(cli(&server).args(["show", &id_of(&key), "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // One object, not an array (issue 20, item 7).
    let shown: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(shown["name"], "one");
    let missing = run(cli(&server).args(["show", "no-such-key"]));
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no key with id no-such-key"),
        "{}",
        missing.stderr
    );
}

#[test]
fn batches_mix_good_and_unknown_ids_and_lose_no_result() {
    let server = server();
    let a = id_of(&create(&server, &["--user", "u-alice"]));
    let b = id_of(&create(&server, &["--user", "u-bob"]));
    let input = format!("# keys to retire\n{a}\n\nunknown-1\n{b}\n{a}\n");
    let r = run(cli(&server)
        .args(["deactivate", "--concurrency", "4", "-o", "json"])
        .write_stdin(input));
    assert_eq!(r.code, 3, "partial failure: {}", r.stderr);
    let outcomes: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
    let summary: Vec<(String, bool)> = outcomes
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap_or_default().to_owned(),
                o["ok"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (a.clone(), true),
            ("unknown-1".into(), false),
            (b.clone(), true)
        ],
        "input order, duplicate dropped"
    );
    assert!(
        outcomes[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown-1 not found"))
    );
    assert!(r.stderr.contains("2 deactivated, 1 failed"), "{}", r.stderr);

    let expire = run(cli(&server).args(["expire", "--in", "30 days", &a, &b]));
    assert_eq!(expire.code, 1, "both are deactivated: every one failed");
    let file = std::env::temp_dir().join(format!("h2ogpte-keys-ids-{}", std::process::id()));
    std::fs::write(&file, format!("{a}\n{b}\n")).expect("write ids");
    let delete = run(cli(&server)
        .args(["delete", "--yes", "--from-file"])
        .arg(&file));
    assert_eq!(delete.code, 0, "{}", delete.stderr);
    redacted().bind(|| insta::assert_snapshot!("delete_table", delete.stdout));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn expire_sets_and_removes() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(
        run(cli(&server).args(["expire", &id, "--in", "2 weeks"])).code,
        0
    );
    let shown: Value =
        serde_json::from_str(&run(cli(&server).args(["show", &id, "-o", "json"])).stdout)
            .expect("JSON");
    assert!(shown.get("expires_at").is_some());
    assert_eq!(run(cli(&server).args(["expire", &id, "--never"])).code, 0);
    let shown: Value =
        serde_json::from_str(&run(cli(&server).args(["show", &id, "-o", "json"])).stdout)
            .expect("JSON");
    assert!(shown.get("expires_at").is_none());
    // Issue 26, item 7: the grammar is the client's to check, in a dry
    // run and a real run alike, before any call.
    for dry_run in [false, true] {
        let mut cmd = cli(&server);
        cmd.args(["expire", &id, "--in", "soon"]);
        if dry_run {
            cmd.arg("--dry-run");
        }
        let bad = run(&mut cmd);
        assert_eq!(bad.code, 2, "{}", bad.stderr);
        assert!(
            bad.stderr.contains("--in") && bad.stderr.contains("such as \"7 days\""),
            "a hint: {}",
            bad.stderr
        );
    }
}

#[test]
fn rotate_replaces_and_retires() {
    let server = server();
    let old = create(
        &server,
        &[
            "--user",
            "u-alice",
            "--name",
            "ci",
            "--collection",
            "c-1",
            "--expires-in",
            "10 days",
        ],
    );
    let old_id = id_of(&old);
    let r = run(cli(&server).args(["rotate", &old_id, "--user", "u-alice"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.trim().starts_with("sk-"),
        "new secret on stdout: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains(&format!("old key {old_id} deactivated")),
        "{}",
        r.stderr
    );
    let keys: Vec<Value> = serde_json::from_str(
        &run(cli(&server).args(["list", "--filter", "alice", "-o", "json"])).stdout,
    )
    .expect("JSON");
    let new = keys
        .iter()
        .find(|k| k["id"] != old_id.as_str())
        .expect("the new key");
    assert_eq!(
        (&new["name"], &new["collection_id"]),
        (&Value::from("ci"), &Value::from("c-1"))
    );
    assert!(
        new.get("expires_at").is_some(),
        "remaining expiry carried over"
    );
    assert!(
        keys.iter()
            .any(|k| k["id"] == old_id.as_str() && k["is_active"] == false)
    );

    let new_id = new["id"].as_str().expect("id").to_owned();
    let deleted = run(cli(&server).args(["rotate", &new_id, "--user", "u-alice", "--delete-old"]));
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let show = run(cli(&server).args(["show", &new_id]));
    assert_eq!(show.code, 1, "deleted");

    // The username differs from the user id: rotate asks for --user.
    let active = id_of(&create(&server, &["--user", "u-alice"]));
    let no_user = run(cli(&server).args(["rotate", &active]));
    assert_eq!(no_user.code, 1);
    assert!(no_user.stderr.contains("pass --user"), "{}", no_user.stderr);
}

#[test]
fn exit_codes_and_one_line_errors() {
    let server = server();
    let mut no_key = cli(&server);
    no_key.env_remove("H2OGPTE_API_KEY").arg("list");
    let r = run(&mut no_key);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "h2ogpte-keys: no API key: set H2OGPTE_API_KEY or pass --api-key"
    );

    let r = run(cli(&server).args(["list", "--api-key", "sk-wrong"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("401") && r.stderr.contains("check H2OGPTE_API_KEY"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("sk-wrong"), "never echoed");

    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let r = run(cli(&server).args(["list", "--server-url", &format!("http://{addr}")]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&addr.to_string()) && r.stderr.contains("cannot connect"),
        "{}",
        r.stderr
    );

    for args in [
        &["list", "--limit", "x"][..],
        &["frobnicate"],
        &["expire", "k"],
        &["deactivate", "--concurrency", "0", "k"],
    ] {
        let r = run(cli(&server).args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = run(cli(&server)
        .args(["delete", "a"])
        .args(["--from-file", "/nonexistent"]));
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    let r = run(cli(&server).args(["show", "."]));
    assert_eq!(r.code, 1, "{}", r.stderr);
}

#[test]
fn completions_for_a_shell() {
    let r = run(common::bare().args(["completions", "bash"]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("h2ogpte-keys") && r.stdout.contains("deactivate"));
}

#[test]
fn inactivity_sets_and_removes_the_interval() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    let interval = |server: &h2ogpte_fake_server::FakeServer| {
        let r = run(cli(server).args(["list", "--filter", "alice", "-o", "json"]));
        let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
        keys[0].get("inactivity_interval").cloned()
    };
    let r = run(cli(&server).args(["inactivity", &id, "--days", "30"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Words that match the act (issue 20, item 9).
    assert!(
        r.stderr.contains("1 inactivity interval set, 0 failed"),
        "{}",
        r.stderr
    );
    assert_eq!(interval(&server), Some(Value::from(30)));
    let r = run(cli(&server)
        .args(["inactivity", "--never", "--from-file", "-"])
        .write_stdin(format!("{id}\n")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(interval(&server), None);
    let r = run(cli(&server).args(["inactivity", &id, "--days", "0"]));
    assert_eq!(r.code, 2, "a usage error: {}", r.stderr);
}

#[test]
fn a_server_before_1_7_is_listed_and_its_missing_operation_named() {
    let server = common::RUNTIME
        .block_on(
            h2ogpte_fake_server::FakeServer::builder()
                .api_version(h2ogpte_fake_server::ApiVersion::V1_6)
                .plain_keys(2)
                .start(),
        )
        .expect("server");
    let r = run(cli(&server).args(["list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = r.stdout.lines().nth(1).expect("a key row");
    assert!(row.contains(" - "), "missing values show as -: {row}");
    let json = run(cli(&server).args(["list", "-o", "json"]));
    let keys: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON");
    assert!(
        keys.iter().all(|k| k.get("total_calls").is_none()),
        "{keys:?}"
    );
    let id = keys[0]["id"].as_str().expect("id").to_owned();
    let r = run(cli(&server).args(["inactivity", &id, "--days", "3"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("before h2oGPTe 1.7.0"), "{}", r.stdout);
}
