//! `--secret-file` and `--secret-command` on `create` and `rotate`: the
//! secret delivered where asked, or the key undone.

use std::os::unix::fs::PermissionsExt;

use crate::common::{fleet::scratch, sinks::keys, *};
use serde_json::Value;

/// A fresh scratch directory for one test.
fn dir(name: &str) -> std::path::PathBuf {
    let dir = scratch(name).join(format!("{:?}", std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn create_writes_the_secret_alone_to_a_private_file_and_never_over_one() {
    let server = server();
    let dir = dir("secret-file");
    let file = dir.join("app.key");
    let r = run(cli(&server)
        .args([
            "create",
            "--user",
            "u-alice",
            "--name",
            "app",
            "--secret-file",
        ])
        .arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let secret = std::fs::read_to_string(&file).expect("secret");
    assert!(
        secret.starts_with("sk-") && !secret.contains('\n'),
        "{secret:?}"
    );
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    assert_eq!(
        r.stdout.trim(),
        keys(&server)
            .iter()
            .find(|k| k["name"] == "app")
            .expect("present")["id"]
    );
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // An existing file is refused before anything is created; --force replaces it.
    let before = keys(&server).len();
    let r = run(cli(&server)
        .args(["create", "--user", "u-alice", "--secret-file"])
        .arg(&file));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(cli(&server)
        .args(["create", "--user", "u-alice", "--dry-run", "--secret-file"])
        .arg(&file));
    assert_eq!(r.code, 2, "the dry run refuses it too: {}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(keys(&server).len(), before);
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), secret);
    let r = run(cli(&server)
        .args(["create", "--user", "u-alice", "--force", "--secret-file"])
        .arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(std::fs::read_to_string(&file).expect("replaced"), secret);
    // A directory that does not exist is not made.
    let r = run(cli(&server)
        .args(["create", "--user", "u-alice", "--secret-file"])
        .arg(dir.join("no/such.key")));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert_eq!(keys(&server).len(), before + 1);
    // Only the secret files are left: no temporary one.
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 1);
}

#[test]
fn a_command_that_fails_or_hangs_gets_no_key() {
    let server = server();
    let before = keys(&server).len();
    for (command, timeout, says) in [
        ("false", "60", "failed (exit status: 1)"),
        (
            "sh -c 'echo \"\x1b[31mno vault\" >&2; exit 4'",
            "60",
            "\\u{1b}[31mno vault",
        ),
        ("sleep 30", "0.5", "did not finish within 0.5 s"),
        (
            "sh -c 'echo \"rejected: $(cat)\" >&2; exit 1'",
            "60",
            "rejected: [the secret]",
        ),
        ("/no/such/program", "60", "does not exist"),
        ("'unclosed", "60", "not a command line"),
    ] {
        let r = run(cli(&server).args([
            "create",
            "--user",
            "u-alice",
            "--secret-command",
            command,
            "--secret-command-timeout",
            timeout,
        ]));
        assert!(r.code == 1 || r.code == 2, "{command}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{command}: {}", r.stderr);
        assert!(!r.stderr.contains('\x1b'), "escaped: {}", r.stderr);
        assert!(!r.stderr.contains("sk-"), "no secret: {}", r.stderr);
        assert_eq!(
            keys(&server).len(),
            before,
            "{command}: the key was deleted again"
        );
    }
}

#[test]
fn rotate_into_a_file_leaves_the_rotation_finished_in_the_journal() {
    let server = server();
    let created = create(&server, &["--user", "u-alice", "--name", "svc"]);
    let old = id_of(&created);
    let dir = dir("rotate-file");
    let file = dir.join("svc.key");
    let state = dir.join("state");
    let r = run(cli(&server)
        .args([
            "rotate",
            &old,
            "--user",
            "u-alice",
            "-o",
            "json",
            "--secret-file",
        ])
        .arg(&file)
        .arg("--state-dir")
        .arg(&state));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(rows[0]["old_key"], "deactivated");
    let new = rows[0]["new_id"].as_str().expect("new id");
    let listed = keys(&server);
    let made = listed.iter().find(|k| k["id"] == new).expect("new key");
    let secret = std::fs::read_to_string(&file).expect("secret");
    assert!(secret.ends_with(made["hint"].as_str().expect("present")));
    // Remembered as finished (old key, new key), and never the secret.
    let entries = journal_entries(&state, &server);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["step"], "finished");
    assert_eq!(entries[0]["new_key_id"], new);
    let text = std::fs::read_to_string(journal_path(&state, &server)).expect("journal");
    assert!(!text.contains(&secret), "no secret in the journal");
}
