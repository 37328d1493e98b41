//! `h2ogpte-keys` after the third hostile round (issue 27): windows past
//! any date refused without a panic, findings that a closed pipe cannot
//! hide, an audit that checked nothing said so, CSV escaped on a terminal
//! and defused against every formula trigger.

mod common;

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
