//! `h2ogpte-keys` after the third hostile round (issue 27): windows past
//! any date refused without a panic, findings that a closed pipe cannot
//! hide, an audit that checked nothing said so, CSV escaped on a terminal
//! and defused against every formula trigger.

use crate::common;

use assert_cmd::cargo::CommandCargoExt;
use common::{cli, create, id_of, run, server};

// Item 1.
#[test]
fn an_overlap_past_any_date_is_a_usage_error_not_a_panic() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    for window in ["300000 years", "290000000 years", "9223372036854 seconds"] {
        for dry_run in [false, true] {
            let mut cmd = cli(&server);
            cmd.args(["rotate", &id, "--user", "u-alice", "--overlap", window]);
            if dry_run {
                cmd.arg("--dry-run");
            }
            let r = run(&mut cmd);
            assert_eq!(r.code, 2, "{window} (dry run: {dry_run}): {}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            assert!(r.stderr.contains("--overlap"), "{}", r.stderr);
            assert!(r.stdout.is_empty(), "{}", r.stdout);
        }
    }
    assert_eq!(server.key_count(), 2, "nothing was created");
}

/// A server with keys that break the recommended policy (no expiry).
fn with_findings(n: usize) -> h2ogpte_fake_server::FakeServer {
    let server = server();
    for i in 0..n {
        create(&server, &["--user", "u-alice", "--name", &format!("k{i}")]);
    }
    server
}

/// The binary pointed at `server`, as a plain `Command`.
fn binary(server: &h2ogpte_fake_server::FakeServer) -> std::process::Command {
    let mut cmd = std::process::Command::cargo_bin("h2ogpte-keys").expect("binary");
    cmd.env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key());
    cmd
}

/// Runs `cmd` with a stdout whose reader is gone before it starts (as
/// `| head -0` would leave it): its exit code and stderr.
fn with_closed_stdout(cmd: &mut std::process::Command) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = cmd
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

// Item 3.
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

// Item 4.
#[test]
fn an_audit_that_checked_nothing_says_so_even_when_quiet() {
    let server = with_findings(1);
    for quiet in [false, true] {
        let mut cmd = cli(&server);
        cmd.args(["audit", "--filter", "no-such-user"]);
        if quiet {
            cmd.arg("--quiet");
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert!(r.stderr.contains("0 keys checked"), "{}", r.stderr);
        assert!(r.stderr.contains("no-such-user"), "{}", r.stderr);
    }
    let help = run(cli(&server).args(["audit", "--help"]));
    assert!(
        help.stdout.contains("5 when nothing was checked"),
        "{}",
        help.stdout
    );
}

// Item 3, the class: a batch's failures are not hidden by a closed pipe.
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

// Item 5.
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
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs (util-linux)");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("bell"), "the row is there: {shown:?}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!shown.contains(c), "{c:?} reached the terminal: {shown:?}");
    }
}

// Item 6: through the binary, every trigger arrives defused and quoted.
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

// Item 9: the real cause when the table's temporary files cannot be made,
// and the findings' exit code kept.
#[test]
fn an_unusable_tmpdir_is_said_and_the_findings_still_exit_4() {
    let server = with_findings(2);
    let r = run(cli(&server)
        .env("TMPDIR", "/nonexistent/h2ogpte-keys-test")
        .args(["audit", "--filter", "alice"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("TMPDIR"), "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent"), "{}", r.stderr);
    assert!(r.stderr.contains("incomplete"), "{}", r.stderr);
}

/// A listing of `page` keys, then a 500 for the next page.
fn failing_after(page: usize) -> h2ogpte_test_support::scripted::Scripted {
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

// Issue 26, item 8: a failure never looks like a result.
#[test]
fn a_failed_listing_leaves_no_output_that_passes_for_an_answer() {
    // Before the first page: nothing at all on stdout, in any format.
    for command in [&["audit"][..], &["list", "--all"]] {
        for format in ["json", "csv", "table", "ndjson"] {
            let r = run(common::bare()
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
    let r = run(common::bare().env("H2OGPTE_API_KEY", "sk-admin").args([
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
        serde_json::from_str::<serde_json::Value>(&r.stdout).is_err(),
        "an unclosed array no parser takes: {}",
        &r.stdout[r.stdout.len().saturating_sub(40)..]
    );
    assert!(r.stdout.contains("\"k-499\""), "the keys so far are kept");
    assert!(r.stderr.contains("incomplete"), "{}", r.stderr);
    assert!(r.stderr.contains("500 key(s)"), "{}", r.stderr);
    // An audit's table keeps the findings read so far too, without counts.
    let server = failing_after(500);
    let r = run(common::bare().env("H2OGPTE_API_KEY", "sk-admin").args([
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

/// Waits (20 s at most) until process `pid` has its input-reading thread,
/// which it starts only once its signal handlers are in place.
#[cfg(target_os = "linux")]
fn wait_for_reader_thread(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process runs");
        let reading = tasks.filter_map(Result::ok).any(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("h2ogpte-keys-re"))
        });
        if reading {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no reader thread");
        // Polling /proc for the thread: an observable event, not a guess of time.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Sends `signal` (such as "INT") to `pid`.
fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

// Item 2: a signal while ids are still coming in ends the batch before it
// starts.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_reading_ids_ends_the_batch_before_it_starts() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    for signal in ["INT", "TERM"] {
        let mut child = binary(&server)
            .args(["deactivate", "--from-file", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut stdin = child.stdin.take().expect("stdin");
        // One id typed, the input still open.
        std::io::Write::write_all(&mut stdin, format!("{id}\n").as_bytes()).expect("typed");
        wait_for_reader_thread(child.id());
        kill(signal, child.id());
        let out = child.wait_with_output().expect("ends");
        drop(stdin);
        let expected = if signal == "INT" { 130 } else { 143 };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{stderr}");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
    }
    let keys = run(cli(&server).args(["show", &id, "-o", "json"]));
    assert!(
        keys.stdout.contains("\"is_active\": true"),
        "{}",
        keys.stdout
    );
}

// Item 2: Ctrl-C at the delete prompt is a no, whatever is typed after it.
#[test]
fn ctrl_c_at_the_delete_prompt_deletes_nothing() {
    let server = server();
    let id = id_of(&create(&server, &["--user", "u-alice"]));
    let bin = assert_cmd::cargo::cargo_bin("h2ogpte-keys");
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!(
            "{} delete {id}",
            bin.to_str().expect("a UTF-8 path")
        ))
        .arg("/dev/null")
        .env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs (util-linux)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    // Wait for the prompt on the terminal.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let n = std::io::Read::read(&mut stdout, &mut buf).expect("the terminal's output");
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // Issue 26, item 14: the prompt says which keys still work.
    assert!(
        String::from_utf8_lossy(&seen).contains("(active)"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    // ^C on the terminal, then a `y` typed after it.
    std::io::Write::write_all(&mut stdin, b"\x03").expect("typed");
    std::io::Write::write_all(&mut stdin, b"y\n").expect("typed");
    drop(stdin);
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stdout, &mut rest);
    let status = child.wait().expect("ends");
    seen.extend_from_slice(&rest);
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let show = run(cli(&server).args(["show", &id]));
    assert_eq!(show.code, 0, "the key is still there: {}", show.stderr);
}

// Item 2: a policy file that is a FIFO nobody writes to gives way to a
// signal.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_the_policy_file_blocks_ends_the_audit() {
    let server = server();
    let dir = tempfile::tempdir().expect("a directory");
    let fifo = dir.path().join("policy.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let child = binary(&server)
        .args(["audit", "--policy"])
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    wait_for_reader_thread(child.id());
    kill("INT", child.id());
    let out = child.wait_with_output().expect("ends");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
