//! The batches (`deactivate`, `delete`, `expire`, `inactivity`): ids mixed
//! good and unknown lose no result, the end state is counted, stdin with a
//! BOM and CRLF, no revival of an expired or idle key, a careful delete.

use crate::common::states::{outcome, revivable};
use crate::common::*;
use h2ogpte_fake_server::FakeServer;
use h2ogpte_test_support::http::json_response;
use serde_json::Value;
use std::process::Command as StdCommand;

fn state_of(server: &FakeServer, id: &str) -> Value {
    let r = run(cli(server).args(["show", id, "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("a key")
}

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

// A clean night's empty id list is nothing to do, not a usage
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
    // The grammar is the client's to check, in a dry
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
fn inactivity_sets_and_removes_the_interval() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    let interval = |server: &FakeServer| {
        let r = run(cli(server).args(["list", "--filter", "alice", "-o", "json"]));
        let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
        keys[0].get("inactivity_interval").cloned()
    };
    let r = run(cli(&server).args(["inactivity", &id, "--days", "30"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Words that match the act.
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
fn batches_read_stdin_files_with_a_bom_and_crlf() {
    let server = server();
    let a = id_of(&create(&server, &["--user", "u-alice"]));
    let b = id_of(&create(&server, &["--user", "u-alice"]));
    let r = run(cli(&server)
        .args(["deactivate", "--from-file", "-", "-o", "ndjson"])
        .write_stdin(format!("{a}\n")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = std::env::temp_dir().join(format!("h2ogpte-keys-bom-{}", std::process::id()));
    std::fs::write(&dir, format!("\u{feff}# ids\r\n{b}\r\n\r\n")).expect("write");
    let r = run(cli(&server)
        .args(["delete", "--yes", "--from-file"])
        .arg(&dir));
    let _ = std::fs::remove_file(&dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 deleted, 0 failed"), "{}", r.stderr);
}

// A 503 says nothing was done, so the 404 after it is
// the truth: the ids were never there.
#[test]
fn a_gateway_503_then_404_is_not_a_deletion() {
    let not_found = r#"{"code":404,"message":"API key not found"}"#;
    let (url, _) = scripted_server(vec![
        json_response(503, ""),
        json_response(404, not_found),
        json_response(503, ""),
        json_response(404, not_found),
    ]);
    let r = run(bare()
        .args(["delete", "typo-1", "typo-2", "--yes", "--concurrency", "1"])
        // The scripted answers are the deletes' alone: no own-key listing.
        .arg("--allow-self")
        .args(["--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("0 deleted, 2 failed"), "{}", r.stderr);
}

#[test]
fn batches_count_the_end_state() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(run(cli(&server).args(["deactivate", &id])).code, 0);
    let again = run(cli(&server).args(["deactivate", &id, "-o", "json"]));
    assert_eq!(again.code, 0, "already inactive is done: {}", again.stderr);
    let results: Vec<Value> = serde_json::from_str(&again.stdout).expect("JSON");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["note"], "already inactive");
    assert_eq!(results[0]["status"], 409);
    assert_eq!(results[0]["code"], 409);
    let table = run(cli(&server).args(["deactivate", &id]));
    assert!(
        table.stdout.contains("ok (already inactive)"),
        "{}",
        table.stdout
    );

    let missing = run(cli(&server).args(["delete", "--yes", "no-such-key", "-o", "json"]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    let results: Vec<Value> = serde_json::from_str(&missing.stdout).expect("JSON");
    assert_eq!(results[0]["status"], 404);
    let ignored = run(cli(&server).args(["delete", "--yes", "--ignore-missing", "no-such-key"]));
    assert_eq!(ignored.code, 0, "{}", ignored.stderr);
    assert!(
        ignored.stdout.contains("already gone"),
        "{}",
        ignored.stdout
    );
    let help = run(bare().args(["deactivate", "--help"]));
    assert!(
        help.stdout.contains("1 when every id failed, 3 when some"),
        "{}",
        help.stdout
    );
}

#[test]
fn words_match_the_act() {
    let server = server();
    let id = id_of(&create(
        &server,
        &["--user", "u-alice", "--expires-in", "1 day"],
    ));
    let r = run(cli(&server).args(["expire", &id, "--never"]));
    assert!(
        r.stderr.contains("1 expiry removed, 0 failed"),
        "{}",
        r.stderr
    );
    let help = run(bare().args(["rotate", "--help"]));
    assert!(help.stdout.contains("(the default)"), "{}", help.stdout);
    let r = run(cli(&server).args(["rotate", &id, "--user", "u-alice", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rotated: Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    assert_eq!(rotated["old_key"]["id"], id.as_str());
    assert_eq!(rotated["old_key"]["retired"], "deactivated");
    assert!(rotated["created"]["secret_key"].as_str().is_some());
}

#[test]
fn delete_lists_what_it_deletes_and_needs_a_yes() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-bob", "--name", "doomed"]));
    let r = run(cli(&server).args(["delete", &id]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    // On a terminal (script(1) gives it one): the keys, then the question;
    // "n" deletes nothing, exit 1.
    let command = format!(
        "printf 'n\\n' | script -qec '{} delete {id}' /dev/null",
        env!("CARGO_BIN_EXE_h2ogpte-keys")
    );
    let out = StdCommand::new("sh")
        .arg("-c")
        .arg(&command)
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key())
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&id) && text.contains("bob") && text.contains("doomed"),
        "{text}"
    );
    assert!(text.contains("nothing deleted"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    let still = run(cli(&server).args(["show", &id]));
    assert_eq!(still.code, 0, "the key is still there: {}", still.stderr);
}
