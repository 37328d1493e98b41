//! `h2ogpte-keys` tried as a careless script, a hostile server and a hurried
//! administrator would try it (issue 9, items 1 to 6): no revoked access
//! restored, no key moved to another user, no panic, escaped server text,
//! batches that survive stdin, BOMs and Ctrl-C, and messages in CLI terms.

use crate::common;

use h2ogpte_test_support::{
    http::json_response,
    scripted::{Scripted, Step, key_json},
};

use std::{
    io::{Read, Write},
    net::TcpListener,
    process::{Command as StdCommand, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use common::{RUNTIME, bare, cli, create, id_of, run, server};
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;

/// Serves `responses` (whole HTTP responses) to one connection after
/// another, in order, the last one repeated; returns its URL and the
/// server, whose requests are the request lines it saw.
fn scripted_server(responses: Vec<String>) -> (String, Scripted) {
    let server = Scripted::start(responses.into_iter().map(Step::Respond).collect());
    (server.url.clone(), server)
}

fn keys_of(server: &FakeServer, filter: &str) -> Vec<Value> {
    let r = run(cli(server).args(["list", "--filter", filter, "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON")
}

// Item 1.
#[test]
fn rotate_never_restores_revoked_access() {
    let server = server();
    let deactivated = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(run(cli(&server).args(["deactivate", &deactivated])).code, 0);
    let expired = id_of(&create(
        &server,
        &["--user", "u-alice", "--expires-in", "1 day"],
    ));
    server.advance_clock(chrono::TimeDelta::days(2));
    let before = keys_of(&server, "alice").len();
    for id in [&deactivated, &expired] {
        let r = run(cli(&server).args(["rotate", id, "--user", "u-alice"]));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.is_empty(), "no secret: {}", r.stdout);
        assert!(r.stderr.contains("restore access"), "{}", r.stderr);
        assert!(r.stderr.contains("h2ogpte-keys create"), "{}", r.stderr);
    }
    let after = keys_of(&server, "alice");
    assert_eq!(after.len(), before, "no key was created");
    assert!(after.iter().all(|k| k["is_active"] == false), "{after:?}");
}

// Item 2.
#[test]
fn rotate_never_moves_a_key_to_another_user() {
    let server = server();
    let bobs = id_of(&create(&server, &["--user", "u-bob", "--name", "b"]));
    let r = run(cli(&server).args(["rotate", &bobs, "--user", "u-alice"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no secret printed: {}", r.stdout);
    assert!(
        r.stderr.contains("alice") && r.stderr.contains("bob"),
        "{}",
        r.stderr
    );
    assert!(keys_of(&server, "alice").is_empty(), "the new key is gone");
    let bob = keys_of(&server, "bob");
    assert!(
        bob.iter()
            .any(|k| k["id"] == bobs.as_str() && k["is_active"] == true),
        "bob's key is untouched: {bob:?}"
    );
}

fn assert_no_panic(args: &[&str], r: &common::Run) {
    assert_ne!(r.code, 101, "{args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
}

// Item 2, when the clean-up fails too: the orphan is named, exit 3.
#[test]
fn rotate_names_the_orphan_when_it_cannot_delete_it() {
    let (url, seen) = scripted_server(vec![
        // The old key, bob's, found by paging (one short page).
        json_response(200, &format!("[{}]", key_json("k-old", "bob"))),
        // --user made a key for alice.
        json_response(
            201,
            &format!(
                r#"{{"secret_key":"sk-orphan-secret","api_key":{}}}"#,
                key_json("k-new", "alice")
            ),
        ),
        // Deleting it fails.
        json_response(500, r#"{"code":500,"message":"database unavailable"}"#),
    ]);
    let r = run(bare()
        .args(["rotate", "k-old", "--user", "u-alice", "--prefetch", "1"])
        .args(["--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no secret printed: {}", r.stdout);
    assert!(!r.stderr.contains("sk-orphan-secret"), "{}", r.stderr);
    assert!(
        r.stderr.contains("k-new") && r.stderr.contains("h2ogpte-keys delete k-new"),
        "the orphan is named with the way to remove it: {}",
        r.stderr
    );
    let requests = seen.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(|line| !line.contains("k-old")),
        "the old key is left alone: {requests:?}"
    );
}

// Item 3.
#[test]
fn hostile_arguments_never_panic() {
    let server = server();
    let long = "x".repeat(100_000);
    let control = "id\u{1b}[2J\n\u{7}";
    for timeout in [
        "1e30", "nan", "inf", "-1", "0", "1e400", "", "abc", "1e-300",
    ] {
        let args = ["list", "--timeout", timeout];
        let r = run(cli(&server).args(args));
        assert_no_panic(&args, &r);
        assert_eq!(r.code, 2, "{args:?} is a usage error: {}", r.stderr);
    }
    let cases: Vec<Vec<&str>> = vec![
        vec!["list", "--limit", "0"],
        vec!["list", "--limit", "18446744073709551615"],
        vec!["list", "--limit", "18446744073709551616"],
        vec!["list", "--offset", "-1"],
        vec!["list", "--offset", "18446744073709551615"],
        vec!["list", "--unused-for", "4294967295"],
        vec!["list", "--filter", &long],
        vec!["show", ""],
        vec!["show", control],
        vec!["show", &long],
        vec!["create", "--user", ""],
        vec!["create", "--user", control, "--name", control],
        vec![
            "create",
            "--user",
            "u-alice",
            "--inactivity-days",
            "-9223372036854775808",
        ],
        vec!["create", "--user", "u-alice", "--expires-in", &long],
        vec!["expire", "x", "--in", ""],
        vec!["expire", "x", "--in", "99999999999999999999 years"],
        vec!["deactivate", "--concurrency", "0", "x"],
        vec!["deactivate", "--from-file", "/nonexistent/ids"],
        vec!["deactivate", "--from-file", "/dev/null"],
        vec!["deactivate", "--from-file", "/"],
        vec!["delete", "--yes", ".", ".."],
        vec!["rotate", ""],
        vec!["rotate", control],
        vec!["list", "--server-url", "::::"],
        vec!["list", "--server-url", "http://[::1"],
        vec!["list", "--server-url", &long],
        vec!["list", "--api-key", "bad\nkey"],
        vec!["list", "--ca-cert", "/dev/null"],
        vec!["list", "--ca-cert", "/"],
        vec!["completions", "nosuchshell"],
    ];
    for args in &cases {
        let r = run(cli(&server).args(args));
        assert_no_panic(args, &r);
    }
}

/// Runs the command with its stdout closed before it writes anything.
fn with_closed_stdout(mut cmd: StdCommand) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (child.wait().expect("exits").code(), stderr)
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let server = RUNTIME
        .block_on(FakeServer::builder().plain_keys(300).start())
        .expect("server");
    for args in [
        &["completions", "bash"][..],
        &["list", "--all"],
        &["list", "--all", "-o", "ndjson"],
        &["list", "-o", "json"],
        &["show", "no-such-key"],
    ] {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_h2ogpte-keys"));
        cmd.args(args)
            .env("H2OGPTE_SERVER_URL", server.url())
            .env("H2OGPTE_API_KEY", server.admin_key())
            .env_remove("RUST_LOG");
        let (code, stderr) = with_closed_stdout(cmd);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(code, Some(101), "{args:?}: {stderr}");
        if args[0] != "show" {
            assert_eq!(code, Some(0), "{args:?}: {stderr}");
        }
    }
}

// Item 4.
#[test]
fn server_text_is_escaped_on_the_terminal() {
    let server = server();
    let name = "evil\u{1b}]0;pwned\u{7}\nforged row";
    let created = create(&server, &["--user", "u-alice", "--name", name]);
    assert_eq!(created["api_key"]["name"], name, "JSON stays exact");
    let table = run(cli(&server).args(["list", "--filter", "alice"]));
    assert_eq!(table.code, 0);
    assert!(!table.stdout.contains('\u{1b}'), "{}", table.stdout);
    assert!(
        table.stdout.contains("\\u{1b}]0;pwned\\u{7}\\nforged row"),
        "{}",
        table.stdout
    );
    let json = run(cli(&server).args(["list", "--filter", "alice", "-o", "ndjson"]));
    let key: Value = serde_json::from_str(json.stdout.trim()).expect("NDJSON");
    assert_eq!(key["name"], name, "NDJSON stays exact");

    // A server message with escapes, and far too long.
    let message = format!("\u{1b}[2J\u{1b}]0;owned\u{7}bad\n{}", "y".repeat(5000));
    let body = serde_json::json!({"code": 404, "message": message}).to_string();
    let (url, _) = scripted_server(vec![json_response(404, &body)]);
    let r = run(cli(&server).args(["deactivate", "k1", "--server-url", &url]));
    for stream in [&r.stdout, &r.stderr] {
        assert!(
            !stream.contains('\u{1b}') && !stream.contains('\u{7}'),
            "{stream}"
        );
    }
    assert!(r.stdout.contains("\\u{1b}[2J"), "{}", r.stdout);
    assert!(r.stdout.contains("more characters"), "{}", r.stdout);
    assert!(r.stdout.len() < 2000, "{} bytes", r.stdout.len());
    // A created secret is server text too: escaped in the table output.
    let created = format!(
        r#"{{"secret_key":"sk-\u001b]0;owned\u0007x","api_key":{}}}"#,
        key_json("k-1", "alice")
    );
    let (url, _) = scripted_server(vec![json_response(201, &created)]);
    let r = run(bare()
        .args(["create", "--user", "u-alice", "--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'),
        "{:?}",
        r.stdout
    );
    assert!(
        r.stdout.contains("sk-\\u{1b}]0;owned\\u{7}x"),
        "{:?}",
        r.stdout
    );
}

// Item 5.
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

#[test]
fn ctrl_c_stops_a_batch_reports_it_and_exits_130() {
    // A server that takes requests and never answers them.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64).flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let ids: String = (0..50).map(|i| format!("k{i}\n")).collect();
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_h2ogpte-keys"))
        .args([
            "deactivate",
            "--from-file",
            "-",
            "--concurrency",
            "2",
            "--timeout",
            "1",
        ])
        .args(["-o", "ndjson"])
        .env("H2OGPTE_SERVER_URL", &url)
        .env("H2OGPTE_API_KEY", "sk-admin")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ids.as_bytes())
        .expect("ids");
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "no request reached the server");
        thread::sleep(Duration::from_millis(20));
    }
    let status = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    assert!(
        (1..50).contains(&lines.len()),
        "the calls in flight are reported, no new ones started: {stdout}"
    );
    let not_attempted = 50 - lines.len();
    assert!(
        stderr.contains(&format!("{not_attempted} not attempted")),
        "{stderr}"
    );
}

// Item 6.
#[test]
fn messages_speak_the_cli_language() {
    let server = server();
    let r = run(bare().env("H2OGPTE_API_KEY", "sk-x").arg("list"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("set H2OGPTE_SERVER_URL"), "{}", r.stderr);

    let r = run(bare()
        .args(["list", "--server-url", "http://h2ogpte.invalid"])
        .env("H2OGPTE_API_KEY", "sk-x"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--allow-insecure-http"), "{}", r.stderr);
    assert!(
        r.stderr.contains("H2OGPTE_ALLOW_INSECURE_HTTP=1"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("with_allow"), "{}", r.stderr);
    // With the opt-in the request is made: through a proxy from the
    // environment on a closed loopback port, so no name is ever resolved.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    for allow in [
        bare().arg("--allow-insecure-http"),
        bare().env("H2OGPTE_ALLOW_INSECURE_HTTP", "1"),
    ] {
        let r = run(allow
            .env("HTTP_PROXY", &closed)
            .env("ALL_PROXY", &closed)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .args([
                "list",
                "--server-url",
                "http://h2ogpte.invalid",
                "--timeout",
                "2",
            ])
            .env("H2OGPTE_API_KEY", "sk-x"));
        assert!(!r.stderr.contains("refusing"), "{}", r.stderr);
        assert!(r.stderr.contains("cannot connect"), "{}", r.stderr);
    }

    // A server that never answers: the timeout names the flag.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(8).collect();
        thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let r = run(cli(&server).args(["list", "--server-url", &url, "--timeout", "0.3"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    assert!(!r.stderr.contains("with_timeout"), "{}", r.stderr);

    // RUST_LOG is honoured without -v.
    let r = run(cli(&server).arg("list").env("RUST_LOG", "debug"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("h2ogpte_http"), "{}", r.stderr);
}

// Issue 16, item 7: a loopback server is reached directly, never through a
// proxy from the environment, which would see the bearer in clear.
#[test]
fn a_loopback_server_is_never_reached_through_an_environment_proxy() {
    let server = server();
    let proxy = Scripted::start(vec![Step::Respond(json_response(200, "[]"))]);
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        let r = run(cli(&server)
            .args(["list", "-o", "json"])
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env(var, &proxy.url));
        assert_eq!(r.code, 0, "{var}: {}", r.stderr);
        assert!(
            r.stdout.contains("bootstrap admin key"),
            "{var}: {}",
            r.stdout
        );
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

// Issue 16, item 8: user info in the server URL is refused and never shown.
#[test]
fn credentials_in_the_server_url_are_refused_and_never_shown() {
    let r = run(bare()
        .args(["list", "--server-url", "http://admin:hunter2@127.0.0.1:9"])
        .env("H2OGPTE_API_KEY", "sk-x"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("H2OGPTE_API_KEY"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}

// Issue 16, item 10: a listing that never ends stops at --max-keys, and
// JSON and NDJSON are written as keys arrive.
#[test]
fn an_endless_listing_stops_at_max_keys() {
    let server = endless_server();
    for output in ["table", "json", "ndjson"] {
        let r = run(bare()
            .args(["list", "--all", "--max-keys", "1200", "--prefetch", "1"])
            .args(["-o", output, "--server-url", &server])
            .env("H2OGPTE_API_KEY", "sk-admin"));
        assert_eq!(r.code, 1, "{output}: {}", r.stderr);
        assert!(r.stderr.contains("--max-keys"), "{output}: {}", r.stderr);
        assert!(
            r.stdout.contains("k-1199"),
            "written as they came: {output}"
        );
    }
}

/// A server whose every page of the listing is full, with ids that follow
/// the offset asked for: an endless listing.
fn endless_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { return };
            let Some(line) =
                h2ogpte_test_support::http::read_request(&mut stream).map(|head| head.first_line)
            else {
                continue;
            };
            let number = |name: &str| -> u64 {
                line.split(['?', '&', ' '])
                    .find_map(|p| p.strip_prefix(name)?.parse().ok())
                    .unwrap_or(0)
            };
            let (offset, limit) = (number("offset="), number("limit="));
            let keys: Vec<String> = (offset..offset + limit)
                .map(|i| key_json(&format!("k-{i}"), "alice"))
                .collect();
            let body = format!("[{}]", keys.join(","));
            let _ = stream.write_all(json_response(200, &body).as_bytes());
        }
    });
    url
}

// Issue 16, item 11: a page with more keys than asked is refused.
#[test]
fn a_fat_page_is_refused() {
    let keys: Vec<String> = (0..10)
        .map(|i| key_json(&format!("k{i}"), "alice"))
        .collect();
    let (url, _) = scripted_server(vec![json_response(200, &format!("[{}]", keys.join(",")))]);
    let r = run(bare()
        .args(["list", "--limit", "5", "--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("ignores `limit`"), "{}", r.stderr);
}

// Issue 16, item 12: prefetch is bounded.
#[test]
fn prefetch_beyond_its_bound_is_a_usage_error() {
    let r = run(bare().args(["list", "--all", "--prefetch", "20000"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("between 1 and 32"), "{}", r.stderr);
}

// Issue 16, item 13: a 503 says nothing was done, so the 404 after it is
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
        .args(["--server-url", &url])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("0 deleted, 2 failed"), "{}", r.stderr);
}

// Issue 16, item 15: invisible characters cannot pass one name off as another.
#[test]
fn invisible_characters_are_escaped_in_tables() {
    let server = server();
    for name in [
        "al\u{200b}ice",
        "bo\u{feff}b",
        "x\u{2028}y",
        "h\u{3164}i",
        "s\u{00ad}oft",
    ] {
        create(&server, &["--user", "u-alice", "--name", name]);
    }
    let r = run(cli(&server).args(["list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for shown in [
        "al\\u{200b}ice",
        "bo\\u{feff}b",
        "x\\u{2028}y",
        "h\\u{3164}i",
        "s\\u{ad}oft",
    ] {
        assert!(r.stdout.contains(shown), "{shown} in {}", r.stdout);
    }
    let json = run(cli(&server).args(["list", "-o", "json"]));
    assert!(json.stdout.contains("al\u{200b}ice"), "JSON stays exact");
}

// Issue 16, item 11: a table of many keys is written in chunks whose
// columns continue the first.
#[test]
fn a_long_table_has_one_header_and_every_row() {
    let server = RUNTIME
        .block_on(FakeServer::builder().plain_keys(2_100).start())
        .expect("server");
    let r = run(cli(&server).args(["list", "--all"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2_102, "a header and 2 101 rows");
    assert_eq!(lines.iter().filter(|l| l.contains("STATUS")).count(), 1);
    // Columns by characters: the hint's ellipsis is one character, three bytes.
    let column = |line: &str, word: &str| line.find(word).map(|at| line[..at].chars().count());
    let status_at = column(lines[0], "STATUS");
    for line in &lines[1..] {
        assert_eq!(
            column(line, "active"),
            status_at,
            "the STATUS column lines up: {line:?}"
        );
    }
}
