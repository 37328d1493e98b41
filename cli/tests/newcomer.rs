//! What a newcomer at a shell meets (issue 20, items 6 to 12): filters that
//! see every key, a detail view, idempotent batches, words that match the
//! act, shell conventions, a careful delete, and discoverability.

use crate::common;

use std::process::Command as StdCommand;

use common::{RUNTIME, bare, cli, create, id_of, run, server};
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;

// Item 6.
#[test]
fn client_side_filters_see_every_key() {
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .user("u-alice", "alice")
                .plain_keys(250)
                .start(),
        )
        .expect("server");
    let last = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(run(cli(&server).args(["deactivate", &last])).code, 0);
    let r = run(cli(&server).args(["list", "--inactive", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["id"], last.as_str());
    // --limit counts matches, and more matches are said on stderr.
    let r = run(cli(&server).args(["list", "--active", "--limit", "5", "-o", "ndjson"]));
    assert_eq!(r.stdout.lines().count(), 5, "{}", r.stdout);
    assert!(r.stderr.contains("more keys match"), "{}", r.stderr);
}

// Item 7.
#[test]
fn show_is_a_detail_view_and_one_json_object() {
    let server = server();
    let id = id_of(&create(
        &server,
        &[
            "--user",
            "u-alice",
            "--name",
            "svc",
            "--inactivity-days",
            "30",
        ],
    ));
    let r = run(cli(&server).args(["show", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "id:".to_owned(),
        "username:            alice".to_owned(),
        "inactivity_interval: 30 days".to_owned(),
        "expires_at:          never".to_owned(),
    ] {
        assert!(r.stdout.contains(&line), "{line} in {}", r.stdout);
    }
    assert!(
        r.stdout.contains(" UTC"),
        "times name their zone: {}",
        r.stdout
    );
    let r = run(cli(&server).args(["show", &id, "-o", "json"]));
    let shown: Value = serde_json::from_str(&r.stdout).expect("one object");
    assert_eq!(shown["inactivity_interval"], 30);
    let table = run(cli(&server).args(["list"]));
    assert!(table.stdout.contains("INACTIVITY") && table.stdout.contains("30 days"));
    assert!(table.stdout.contains("CREATED (UTC)"), "{}", table.stdout);
}

// Item 8.
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

// Item 9.
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

// Item 10.
#[test]
fn shell_conventions() {
    let server = server();
    create(&server, &["--user", "u-alice"]);
    // RUST_LOG alone shows each HTTP attempt; -v shows this project's
    // events and not the HTTP stack's.
    let r = run(cli(&server).args(["list"]).env("RUST_LOG", "info"));
    assert!(r.stderr.contains("h2ogpte_http"), "{}", r.stderr);
    let r = run(cli(&server).args(["-v", "list"]));
    assert!(r.stderr.contains("h2ogpte_http"), "{}", r.stderr);
    assert!(!r.stderr.contains("hyper"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "no colour off a terminal");
    // --quiet and --no-headers.
    let r = run(cli(&server).args(["deactivate", "--quiet", "no-such-key"]));
    assert!(!r.stderr.contains("0 deactivated"), "{}", r.stderr);
    let r = run(cli(&server).args(["list", "--no-headers"]));
    assert!(
        !r.stdout.contains("STATUS") && r.stdout.contains("alice"),
        "{}",
        r.stdout
    );
    // --ca-cert from the environment.
    let r = run(cli(&server)
        .args(["list"])
        .env("H2OGPTE_CA_CERT", "/no/such/ca.pem"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/no/such/ca.pem"), "{}", r.stderr);
    // Ranges in words, checked before any request.
    for (args, words) in [
        (&["list", "--limit", "1001"][..], "between 1 and 1000"),
        (&["inactivity", "k-1", "--days", "0"], "between 1 and 36500"),
        (
            &["create", "--user", "u", "--inactivity-days", "99999"],
            "between 1 and 36500",
        ),
    ] {
        let r = run(bare()
            .args(args)
            .args(["--server-url", "http://127.0.0.1:9"])
            .env("H2OGPTE_API_KEY", "sk-x"));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    let help = run(bare().args(["list", "--help"]));
    assert!(
        help.stdout.contains("between 1 and 1000"),
        "{}",
        help.stdout
    );
}

// Item 11.
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

// Item 12.
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
