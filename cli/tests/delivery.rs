//! A created secret is delivered or the key is undone (issue 16, items 4
//! and 14): a stdout known to discard (closed, /dev/null) makes nothing;
//! output that cannot be written (a closed pipe, a full disk) deletes the
//! new key again and says so; a failed undo names
//! the orphan with exit 3; rotate retires the old key only after the new
//! secret was delivered, and loses a concurrent rotation cleanly.

use crate::common;

use h2ogpte_test_support::{
    http::json_response,
    scripted::{Scripted, Step, created_json, key_json},
};

use std::process::{Command, Stdio};

use common::{cli, create, id_of, run, server};
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;

/// Where the command's stdout goes.
#[derive(Debug, Clone, Copy)]
enum Sink {
    /// A pipe whose reader is gone before the command starts.
    ClosedPipe,
    /// No stdout at all (`>&-`).
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

const SINKS: [Sink; 3] = [Sink::ClosedPipe, Sink::Closed, Sink::Full];

/// Runs the binary with `args` and stdout sent to `sink`, against `url`.
fn run_into(sink: Sink, url: &str, key: &str, args: &[&str]) -> (i32, String) {
    let binary = env!("CARGO_BIN_EXE_h2ogpte-keys");
    let mut cmd = match sink {
        Sink::Closed => {
            let mut sh = Command::new("sh");
            sh.arg("-c").arg("exec \"$0\" \"$@\" >&-").arg(binary);
            sh
        }
        _ => Command::new(binary),
    };
    cmd.args(args)
        .env("H2OGPTE_SERVER_URL", url)
        .env("H2OGPTE_API_KEY", key)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    match sink {
        Sink::ClosedPipe => {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            cmd.stdout(writer);
        }
        Sink::Full => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            cmd.stdout(full);
        }
        Sink::Closed => {}
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keys(server: &FakeServer) -> Vec<Value> {
    let r = run(cli(server).args(["list", "--all", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON")
}

#[test]
fn create_whose_secret_cannot_be_written_is_undone() {
    let server = server();
    let before = keys(&server).len();
    for sink in SINKS {
        for format in ["table", "json", "ndjson"] {
            let (code, stderr) = run_into(
                sink,
                &server.url(),
                server.admin_key(),
                &["create", "--user", "u-alice", "-o", format],
            );
            if let Sink::Closed = sink {
                // Known before anything is made: refused up front.
                assert_eq!(code, 2, "{sink:?} {format}: {stderr}");
                assert!(stderr.contains("nothing was created"), "{stderr}");
            } else {
                assert_eq!(code, 1, "{sink:?} {format}: {stderr}");
                assert!(
                    stderr.contains("could not be written") && stderr.contains("deleted again"),
                    "{sink:?} {format}: {stderr}"
                );
            }
            assert!(!stderr.contains("store"), "{sink:?} {format}: {stderr}");
            assert!(!stderr.contains("sk-"), "no secret: {stderr}");
        }
    }
    assert_eq!(keys(&server).len(), before, "every key was undone");
}

#[test]
fn rotate_whose_secret_cannot_be_written_keeps_the_old_key() {
    let server = server();
    let old = id_of(&create(&server, &["--user", "u-alice", "--name", "svc"]));
    for sink in SINKS {
        let (code, stderr) = run_into(
            sink,
            &server.url(),
            server.admin_key(),
            &["rotate", &old, "--user", "u-alice"],
        );
        let (expected, says) = match sink {
            Sink::Closed => (2, "nothing was created"),
            _ => (1, "deleted again"),
        };
        assert_eq!(code, expected, "{sink:?}: {stderr}");
        assert!(stderr.contains(says), "{sink:?}: {stderr}");
    }
    let all = keys(&server);
    let alice: Vec<&Value> = all.iter().filter(|k| k["username"] == "alice").collect();
    assert_eq!(alice.len(), 1, "only the old key: {alice:?}");
    assert_eq!(alice[0]["id"], old.as_str());
    assert_eq!(alice[0]["is_active"], true, "the old key still works");
}

/// With an overlap the old key's expiry comes forward before the create: a
/// secret that cannot be delivered puts it back as it was.
#[test]
fn an_undelivered_overlap_rotation_puts_the_old_expiry_back() {
    let server = server();
    let old = id_of(&create(&server, &["--user", "u-alice", "--name", "svc"]));
    for sink in SINKS {
        let (code, stderr) = run_into(
            sink,
            &server.url(),
            server.admin_key(),
            &["rotate", &old, "--user", "u-alice", "--overlap", "7 days"],
        );
        assert!(matches!(code, 1 | 2), "{sink:?}: {stderr}");
    }
    let all = keys(&server);
    let alice: Vec<&Value> = all.iter().filter(|k| k["username"] == "alice").collect();
    assert_eq!(alice.len(), 1, "only the old key: {alice:?}");
    assert!(
        alice[0].get("expires_at").is_none(),
        "no expiry again: {alice:?}"
    );
    assert_eq!(alice[0]["is_active"], true);
}

#[test]
fn a_failed_undo_names_the_orphan_and_exits_3() {
    let server = Scripted::start(vec![
        Step::Respond(json_response(
            201,
            &created_json("k-orphan", "alice", "sk-undelivered"),
        )),
        Step::Respond(json_response(
            500,
            r#"{"code":500,"message":"database unavailable"}"#,
        )),
    ]);
    let (code, stderr) = run_into(
        Sink::Full,
        &server.url,
        "sk-admin",
        &["create", "--user", "u-alice"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("DANGER"), "{stderr}");
    assert!(
        stderr.contains("h2ogpte-keys delete k-orphan"),
        "the orphan is named: {stderr}"
    );
    assert!(!stderr.contains("sk-undelivered"), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].starts_with("DELETE "), "{requests:?}");
}

/// Rotates `k-old` against a scripted server: the old key is found active,
/// the new key `k-mine` is made, the old key is listed again as `reread`,
/// then `next` answers (the retirement, or the undo).
fn rotate_scripted(reread: String, next: String) -> (common::Run, Vec<String>) {
    let server = Scripted::start(vec![
        Step::Respond(json_response(
            200,
            &format!("[{}]", key_json("k-old", "alice")),
        )),
        Step::Respond(json_response(
            201,
            &created_json("k-mine", "alice", "sk-mine"),
        )),
        Step::Respond(json_response(200, &reread)),
        Step::Respond(next),
    ]);
    let r = run(common::bare()
        .args([
            "rotate",
            "k-old",
            "--prefetch",
            "1",
            "--server-url",
            &server.url,
        ])
        .env("H2OGPTE_API_KEY", "sk-admin"));
    (r, server.requests())
}

/// Issue 26, item 1: once the new secret was delivered, the new key is
/// never deleted on the tool's own: a 409 on retiring the old key (someone
/// deactivated it meanwhile) names both keys and exits 3.
#[test]
fn a_key_revoked_after_delivery_keeps_its_replacement_and_says_so() {
    let active = format!("[{}]", key_json("k-old", "alice"));
    let (r, requests) = rotate_scripted(
        active,
        json_response(
            409,
            r#"{"code":409,"message":"API key k-old is already inactive"}"#,
        ),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.contains("sk-mine"), "the secret was delivered");
    assert!(
        r.stderr.contains("k-mine") && r.stderr.contains("k-old"),
        "both keys are named: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("h2ogpte-keys delete k-mine"),
        "{}",
        r.stderr
    );
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(
        requests.iter().all(|r| !r.starts_with("DELETE ")),
        "nothing deleted: {requests:?}"
    );
}

/// Issue 26, item 1: a key revoked between the create and the delivery
/// gets no replacement: the new key is deleted before anyone sees its
/// secret (exit 1), or named when that delete fails (exit 3).
#[test]
fn a_key_revoked_before_delivery_gets_no_replacement() {
    let revoked = format!(
        "[{}]",
        key_json("k-old", "alice").replace("\"is_active\":true", "\"is_active\":false")
    );
    let (r, requests) = rotate_scripted(
        revoked.clone(),
        "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_owned(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.contains("sk-mine"), "not delivered: {}", r.stdout);
    assert!(
        r.stderr.contains("deactivated or deleted it meanwhile"),
        "{}",
        r.stderr
    );
    assert!(
        requests[3].starts_with("DELETE ") && requests[3].contains("k-mine"),
        "{requests:?}"
    );
    let (r, _) = rotate_scripted(
        revoked,
        json_response(500, r#"{"code":500,"message":"down"}"#),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("h2ogpte-keys delete k-mine"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("sk-mine"), "not delivered: {}", r.stdout);
}

/// Two rotations of one key at the same moment: the one that finds the
/// old key revoked before delivering undoes its own key (exit 1); when both
/// delivered first, both keys stay and the second says so (exit 3). Never
/// a delivered key deleted, and the old key is retired either way.
#[test]
fn two_rotations_of_one_key_never_delete_a_delivered_key() {
    let server = server();
    let old = id_of(&create(&server, &["--user", "u-alice", "--name", "svc"]));
    let spawn = || {
        cli(&server)
            .args(["rotate", &old, "--user", "u-alice", "-o", "json"])
            .output()
            .expect("runs")
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().expect("a"), b.join().expect("b"))
    });
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    let active: Vec<Value> = keys(&server)
        .into_iter()
        .filter(|k| k["username"] == "alice" && k["is_active"] == true)
        .collect();
    assert!(
        active.iter().all(|k| k["id"] != old.as_str()),
        "the old key is retired"
    );
    let delivered = [&a, &b]
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stdout).contains("secret_key"))
        .count();
    assert_eq!(
        active.len(),
        delivered,
        "every delivered key stays: {active:?} {codes:?}"
    );
    assert!(
        codes == [Some(0), Some(1)] || codes == [Some(0), Some(3)],
        "{codes:?}"
    );
}
