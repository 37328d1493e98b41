//! `create`: the secret once on stdout, and a secret that cannot be
//! delivered undoes its key or names the orphan.

use crate::common::sinks::{SINKS, Sink, keys, run_into};
use crate::common::*;
use h2ogpte_test_support::http::json_response;
use h2ogpte_test_support::scripted::Scripted;
use h2ogpte_test_support::scripted::Step;
use h2ogpte_test_support::scripted::created_json;
use serde_json::Value;

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
