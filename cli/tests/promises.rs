//! Promises every command keeps: exit codes and one-line errors, no panic
//! on hostile arguments, output a closed pipe or a failure cannot pass off
//! as an answer, server text escaped on a terminal, CSV defused, messages
//! in the CLI's words, no credentials shown or sent through a proxy.

use crate::common::fleet::seeded;
use crate::common::*;
use h2ogpte_fake_server::FakeServer;
use h2ogpte_test_support::http::json_response;
use h2ogpte_test_support::scripted::Scripted;
use h2ogpte_test_support::scripted::Step;
use h2ogpte_test_support::scripted::key_json;
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command as StdCommand;
use std::process::Stdio;
use std::thread;
use std::time::Duration;

/// Runs `cmd` with a stdout whose reader is gone before it starts (as
/// `| head -0` would leave it): its exit code and stderr.
fn with_closed_stdout(cmd: &mut std::process::Command) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = cmd
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A listing of `page` keys, then a 500 for the next page.
fn failing_after(page: usize) -> Scripted {
    use h2ogpte_test_support::{
        http::json_response,
        scripted::{Scripted, Step, key_json},
    };
    let keys: Vec<String> = (0..page)
        .map(|i| key_json(&format!("k-{i}"), "alice"))
        .collect();
    Scripted::start(vec![
        Step::Respond(json_response(200, &format!("[{}]", keys.join(",")))),
        Step::Respond(json_response(
            500,
            r#"{"code":500,"message":"database gone"}"#,
        )),
    ])
}

fn assert_no_panic(args: &[&str], r: &Run) {
    assert_ne!(r.code, 101, "{args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
}

/// Runs the command with its stdout closed before it writes anything.
fn with_stdout_closed_after_start(mut cmd: StdCommand) -> (Option<i32>, String) {
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
fn csv_cells_arrive_as_text_under_the_apis_field_names() {
    let server = seeded();
    let r = run(cli(&server).args(["list", "--filter", "bob", "-o", "csv"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut reader = csv::Reader::from_reader(r.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(&header[..3], ["id", "username", "name"]);
    for field in [
        "created_at",
        "expires_at",
        "last_used_at",
        "total_calls",
        "is_global_key",
        "collection_name",
    ] {
        assert!(header.iter().any(|h| h == field), "{field} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        &rows[0][2], "'=HYPERLINK(\"http://x\")",
        "a formula arrives as text"
    );
    let r = run(cli(&server).args(["audit", "--filter", "bob", "-o", "csv", "--no-headers"]));
    assert_eq!(r.code, 4);
    assert!(
        r.stdout
            .starts_with("\"k-forever\",\"bob\",\"'=HYPERLINK(\"\"http://x\"\")\",\"no-expiry\","),
        "{}",
        r.stdout
    );
    let r = run(cli(&server).args(["show", "k-dead", "-o", "csv"]));
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    let r = run(cli(&server).args(["deactivate", "k-clean", "-o", "csv"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "\"id\",\"ok\",\"note\",\"error\",\"status\",\"code\"\r\n\"k-clean\",\"true\",\"\",\"\",\"\",\"\"\r\n"
    );
    let r = run(cli(&server).args(["create", "--user", "u-alice", "-o", "csv"]));
    assert_eq!(r.code, 2, "a secret is not a listing: {}", r.stderr);
    assert_eq!(server.key_count(), 5, "nothing was created");
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

    let addr = TcpListener::bind("127.0.0.1:0")
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
fn a_closed_pipe_cannot_hide_findings() {
    let server = with_findings(3);
    for format in ["table", "json", "ndjson", "csv", "ids"] {
        let mut cmd = binary(&server);
        cmd.args(["audit", "--filter", "alice"]);
        match format {
            "ids" => cmd.arg("--ids"),
            f => cmd.args(["-o", f]),
        };
        let (code, stderr) = with_closed_stdout(&mut cmd);
        assert_eq!(code, Some(4), "{format}: {stderr}");
        assert!(stderr.contains("in 3 of 3 key(s)"), "{format}: {stderr}");
        assert!(stderr.contains("cut short"), "{format}: {stderr}");
    }
}

// A batch's failures are not hidden by a closed pipe.
#[test]
fn a_closed_pipe_cannot_hide_a_batch_failure() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    for format in ["table", "json", "csv"] {
        let mut cmd = binary(&server);
        cmd.args(["deactivate", &id, "no-such-key", "-o", format]);
        let (code, stderr) = with_closed_stdout(&mut cmd);
        assert_eq!(code, Some(3), "{format}: {stderr}");
        assert!(
            stderr.contains("1 of 2 key(s) failed"),
            "{format}: {stderr}"
        );
        // A batch whose every id fails: exit 1, whatever the reader did.
        let mut again = binary(&server);
        again.args(["deactivate", "no-such-key", "-o", format]);
        let (code, _) = with_closed_stdout(&mut again);
        assert_eq!(code, Some(1), "{format}");
    }
}

#[test]
fn csv_on_a_terminal_is_escaped_and_exact_into_a_pipe() {
    let server = server();
    let hostile = "\u{1b}[2J\u{7}bell\u{9b}31m\u{202e}txt";
    create(&server, &["--user", "u-alice", "--name", hostile]);
    // Into a pipe: the exact text, for a file or a program.
    let r = run(cli(&server).args(["list", "--filter", "alice", "-o", "csv"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(hostile), "{:?}", r.stdout);
    // On a terminal (`script` gives the command one): escaped.
    let bin = assert_cmd::cargo::cargo_bin("h2ogpte-keys");
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!(
            "{} list --filter alice -o csv",
            bin.to_str().expect("a UTF-8 path")
        ))
        .arg("/dev/null")
        .env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key())
        .stdin(Stdio::null())
        .output()
        .expect("script runs (util-linux)");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("bell"), "the row is there: {shown:?}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!shown.contains(c), "{c:?} reached the terminal: {shown:?}");
    }
}

// Through the binary, every trigger arrives defused and quoted.
#[test]
fn csv_defuses_every_formula_trigger() {
    let server = server();
    let names = [
        "x;=1+1",
        " =1+1",
        "\n=1+1",
        "＝1+1",
        "＋1+1",
        "|calc",
        "\u{a0}=1+1",
        "\u{200b}=1+1",
        "\u{feff}=1+1",
        "=1+1",
        "@SUM(A1)",
    ];
    for name in names {
        create(&server, &["--user", "u-alice", "--name", name]);
    }
    let r = run(cli(&server).args(["list", "--filter", "alice", "-o", "csv"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut reader = csv::Reader::from_reader(r.stdout.as_bytes());
    let column = reader
        .headers()
        .expect("a header")
        .iter()
        .position(|h| h == "name")
        .expect("a name column");
    let cells: Vec<String> = reader
        .records()
        .map(|row| row.expect("a row")[column].to_owned())
        .collect();
    assert_eq!(cells.len(), names.len());
    for name in names {
        let expected = match name {
            "x;=1+1" => "x;'=1+1".to_owned(),
            "\n=1+1" => "'\n'=1+1".to_owned(),
            _ => format!("'{name}"),
        };
        assert!(cells.contains(&expected), "{expected:?} in {cells:?}");
    }
    // Every cell is quoted.
    assert!(r.stdout.contains("\"x;'=1+1\""), "{}", r.stdout);
}

// A failure never looks like a result.
#[test]
fn a_failed_listing_leaves_no_output_that_passes_for_an_answer() {
    // Before the first page: nothing at all on stdout, in any format.
    for command in [&["audit"][..], &["list", "--all"]] {
        for format in ["json", "csv", "table", "ndjson"] {
            let r = run(bare()
                .env("H2OGPTE_SERVER_URL", "http://127.0.0.1:9")
                .env("H2OGPTE_API_KEY", "sk-admin")
                .args(command)
                .args(["-o", format, "--timeout", "5"]));
            assert_eq!(r.code, 1, "{command:?} {format}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{command:?} {format}: {:?}", r.stdout);
        }
    }
    // Mid-listing: the keys so far, an array left open, and stderr says so.
    let server = failing_after(500);
    let r = run(bare().env("H2OGPTE_API_KEY", "sk-admin").args([
        "list",
        "--all",
        "-o",
        "json",
        "--prefetch",
        "1",
        "--server-url",
        &server.url,
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        serde_json::from_str::<Value>(&r.stdout).is_err(),
        "an unclosed array no parser takes: {}",
        &r.stdout[r.stdout.len().saturating_sub(40)..]
    );
    assert!(r.stdout.contains("\"k-499\""), "the keys so far are kept");
    assert!(r.stderr.contains("incomplete"), "{}", r.stderr);
    assert!(r.stderr.contains("500 key(s)"), "{}", r.stderr);
    // An audit's table keeps the findings read so far too, without counts.
    let server = failing_after(500);
    let r = run(bare().env("H2OGPTE_API_KEY", "sk-admin").args([
        "audit",
        "--prefetch",
        "1",
        "--server-url",
        &server.url,
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("k-499"),
        "the findings so far are kept: {}",
        r.stdout
    );
    assert!(!r.stdout.contains("no-expiry: "), "no counts: {}", r.stdout);
    assert!(
        r.stderr.contains("incomplete") && r.stderr.contains("500 key(s)"),
        "{}",
        r.stderr
    );
}

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
        let (code, stderr) = with_stdout_closed_after_start(cmd);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(code, Some(101), "{args:?}: {stderr}");
        if args[0] != "show" {
            assert_eq!(code, Some(0), "{args:?}: {stderr}");
        }
    }
}

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
    // --allow-self: the scripted server answers the call alone, with no
    // listing to find the tool's own key in.
    let r = run(cli(&server).args(["deactivate", "k1", "--allow-self", "--server-url", &url]));
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

// A loopback server is reached directly, never through a
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

// User info in the server URL is refused and never shown.
#[test]
fn credentials_in_the_server_url_are_refused_and_never_shown() {
    let r = run(bare()
        .args(["list", "--server-url", "http://admin:hunter2@127.0.0.1:9"])
        .env("H2OGPTE_API_KEY", "sk-x"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("H2OGPTE_API_KEY"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}

// Invisible characters cannot pass one name off as another.
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

/// The id of the key the tool authenticates with on `server`, as listed.
fn own_key_id(server: &FakeServer) -> String {
    let admin = server.admin_key();
    let hint = &admin[admin.len() - 4..];
    let r = run(cli(server).args(["list", "--all", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let keys: Vec<Value> = serde_json::from_str(&r.stdout).expect("JSON");
    let own: Vec<&Value> = keys.iter().filter(|k| k["hint"] == hint).collect();
    assert_eq!(own.len(), 1, "the admin key is listed once: {keys:?}");
    own[0]["id"].as_str().expect("id").to_owned()
}

#[test]
fn no_command_acts_on_the_callers_own_key_unless_allow_self_names_it() {
    let server = server();
    let own = own_key_id(&server);
    let listed = |server: &FakeServer| {
        let r = run(cli(server).args(["show", &own, "-o", "json"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mut key: Value = serde_json::from_str(&r.stdout).expect("JSON");
        // Every call uses the key: only its use changes.
        for used in ["last_used_at", "total_calls"] {
            key.as_object_mut().expect("object").remove(used);
        }
        key
    };
    let before = listed(&server);
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("secret");
    let secret = secret.to_str().expect("UTF-8");
    let commands: [&[&str]; 6] = [
        &["expire", &own, "--in", "30 days"],
        &["inactivity", &own, "--days", "30"],
        &["deactivate", &own],
        &["delete", &own, "--yes"],
        &["rotate", &own, "--secret-file", secret],
        &["expire", &own, "--in", "30 days", "--dry-run"],
    ];
    for args in commands {
        let r = run(cli(&server).args(args));
        assert_ne!(
            r.code, 0,
            "{args:?} acted on the tool's own key: {}",
            r.stdout
        );
        let said = format!("{}{}", r.stdout, r.stderr);
        assert!(
            said.contains("authenticates with") && said.contains("--allow-self"),
            "{args:?} does not say why: {said}"
        );
        assert_eq!(listed(&server), before, "{args:?} changed the key");
    }
    // Named on purpose, it is done; and the tool still works afterwards.
    let r = run(cli(&server).args(["expire", &own, "--in", "30 days", "--allow-self"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(listed(&server)["expires_at"], before["expires_at"]);
}
