//! `rotate`: replace and retire, with an overlap, never restoring revoked
//! access or moving a key to another user, the secret delivered before the
//! old key is retired, and every failure naming what it left.

use crate::common::sinks::{SINKS, Sink, keys, run_into};
use crate::common::states::ago;
use crate::common::*;
use chrono::TimeDelta;
use chrono::Utc;
use h2ogpte_fake_server::FakeServer;
use h2ogpte_fake_server::SeedKey;
use h2ogpte_test_support::http::json_response;
use h2ogpte_test_support::scripted::Scripted;
use h2ogpte_test_support::scripted::Step;
use h2ogpte_test_support::scripted::created_json;
use h2ogpte_test_support::scripted::key_json;
use serde_json::Value;
use serde_json::json;

/// Rotates `k-old` against a scripted server: the old key is found active,
/// the new key `k-mine` is made, the old key is listed again as `reread`,
/// then `next` answers (the retirement, or the undo).
fn rotate_scripted(reread: String, next: String) -> (Run, Vec<String>) {
    rotate_scripted_then(reread, next, Vec::new())
}

/// [`rotate_scripted`], with `then` answered after `next`.
fn rotate_scripted_then(reread: String, next: String, then: Vec<String>) -> (Run, Vec<String>) {
    let mut steps = vec![
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
    ];
    steps.extend(then.into_iter().map(Step::Respond));
    let server = Scripted::start(steps);
    let r = run(bare()
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

fn keys_of(server: &FakeServer, filter: &str) -> Vec<Value> {
    let r = run(cli(server).args(["list", "--filter", filter, "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON")
}

#[test]
fn rotate_with_an_overlap_keeps_the_old_key_working_then_expiring() {
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .user("alice", "alice")
                .max_expiry_days(30)
                .start(),
        )
        .expect("server");
    let created = create(&server, &["--user", "alice", "--name", "svc"]);
    let old = id_of(&created);
    let r = run(cli(&server).args(["rotate", &old, "--overlap", "7 days", "--delete-old"]));
    assert_eq!(
        r.code, 2,
        "--overlap conflicts with --delete-old: {}",
        r.stderr
    );
    let r = run(cli(&server).args(["rotate", &old, "--overlap", "a week"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let keys = server.key_count();
    let r = run(cli(&server).args(["rotate", &old, "--overlap", "40 days"]));
    assert_eq!(
        r.code, 1,
        "beyond the server's longest expiry: {}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was created"), "{}", r.stderr);
    assert_eq!(server.key_count(), keys);
    let r = run(cli(&server).args(["rotate", &old, "--overlap", "7 days", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    assert!(
        out["created"]["secret_key"]
            .as_str()
            .is_some_and(|s| s.starts_with("sk-"))
    );
    assert_eq!(out["old_key"]["id"], old.as_str());
    assert_eq!(out["old_key"]["retired"], "expires");
    let stops: chrono::DateTime<Utc> =
        serde_json::from_value(out["old_key"]["expires_at"].clone()).expect("a time");
    assert!(
        (stops - (Utc::now() + TimeDelta::days(7))).abs() < TimeDelta::seconds(60),
        "{stops}"
    );
    let show = run(cli(&server).args(["show", &old, "-o", "json"]));
    let shown: Value = serde_json::from_str(&show.stdout).expect("JSON");
    assert_eq!(shown["is_active"], true, "it still works in the window");
    // A week and a day later only the new key works.
    server.advance_clock(TimeDelta::days(8));
    let show = run(cli(&server).args(["show", &old, "-o", "json"]));
    let shown: Value = serde_json::from_str(&show.stdout).expect("JSON");
    assert_eq!(shown["is_active"], false);
    let r = run(cli(&server).args(["rotate", &old, "--overlap", "1 day"]));
    assert_eq!(r.code, 1, "an expired key is not rotated: {}", r.stderr);
}

// A rotation that ends without a replacement puts the old key's
// expiry back, and when it cannot, says so with the date the key now
// stops working (exit 3), never "unchanged".
#[test]
fn a_failed_rotation_that_cannot_restore_the_expiry_says_when_the_key_dies() {
    let keys: Vec<SeedKey> = serde_json::from_value(json!([{
        "id": "k-long", "user_id": "u-alice", "username": "alice", "name": "svc",
        "created_at": ago(10), "expires_at": ago(-700), "total_calls": 1, "is_active": true
    }]))
    .expect("a record");
    let server = RUNTIME
        .block_on(
            FakeServer::builder()
                .max_expiry_days(30)
                .seed_records(keys)
                .start(),
        )
        .expect("a server");
    let r = run(cli(&server).args([
        "rotate",
        "k-long",
        "--user",
        "u-alice",
        "--overlap",
        "7 days",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no secret: {}", r.stdout);
    assert!(!r.stderr.contains("unchanged"), "{}", r.stderr);
    assert!(
        r.stderr.contains("putting key k-long's expiry back failed") && r.stderr.contains("(UTC)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("h2ogpte-keys expire k-long"),
        "{}",
        r.stderr
    );
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

/// Once the new secret was delivered, the new key is never deleted on the
/// tool's own: a 409 on retiring the old key is checked by reading the key
/// again (a 409 proves nothing), and a key someone deactivated meanwhile
/// names both keys and exits 3.
#[test]
fn a_key_revoked_after_delivery_keeps_its_replacement_and_says_so() {
    let active = format!("[{}]", key_json("k-old", "alice"));
    let revoked = format!(
        "[{}]",
        key_json("k-old", "alice").replace("\"is_active\":true", "\"is_active\":false")
    );
    let (r, requests) = rotate_scripted_then(
        active,
        json_response(
            409,
            r#"{"code":409,"message":"API key k-old is already inactive"}"#,
        ),
        vec![json_response(200, &revoked)],
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
    assert_eq!(requests.len(), 5, "the old key read again: {requests:?}");
    assert!(
        requests.iter().all(|r| !r.starts_with("DELETE ")),
        "nothing deleted: {requests:?}"
    );
}

/// A key revoked between the create and the delivery
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

/// Two rotations of one key at the same moment: the second to open the
/// rotation journal is refused before it does anything (exit 2); if it got
/// in after the first ended, it finds the old key revoked and undoes its own
/// key (exit 1), or, when both delivered, both keys stay and the second says
/// so (exit 3). Never a delivered key deleted, and the old key is retired
/// either way.
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
        codes == [Some(0), Some(1)] || codes == [Some(0), Some(2)] || codes == [Some(0), Some(3)],
        "{codes:?}"
    );
    if codes == [Some(0), Some(2)] {
        let refused = [&a, &b]
            .into_iter()
            .find(|o| o.status.code() == Some(2))
            .expect("the refused run");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains("in use by another run"), "{said}");
    }
}

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

#[test]
fn rotate_never_restores_revoked_access() {
    let server = server();
    let deactivated = id_of(&create(&server, &["--user", "u-alice"]));
    assert_eq!(run(cli(&server).args(["deactivate", &deactivated])).code, 0);
    let expired = id_of(&create(
        &server,
        &["--user", "u-alice", "--expires-in", "1 day"],
    ));
    server.advance_clock(TimeDelta::days(2));
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

// The orphan is named, exit 3.
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
