//! `--secret-file` and `--secret-command` on `create` and `rotate`: the
//! secret delivered where asked, or the key undone.

use std::os::unix::fs::PermissionsExt;

use crate::common::{
    fleet::{days, scratch},
    sinks::keys,
    *,
};
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
        // Exit 0 without reading the secret: not received.
        ("true", "60", "without reading all of its standard input"),
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

/// A sink command is bounded as a process group: at its timeout every
/// process it started is killed, so none stores the secret of a key the
/// tool deleted again (the shape of `… | kubectl apply -f -`).
#[test]
fn a_timed_out_pipeline_stores_nothing_after_the_key_is_deleted() {
    let server = server();
    let before = keys(&server).len();
    let dir = dir("pipeline-timeout");
    let store = dir.join("store");
    let command = format!("sh -c 'cat | (sleep 2; cat > \"{}\")'", store.display());
    let r = run(cli(&server).args([
        "create",
        "--user",
        "u-alice",
        "--secret-command",
        &command,
        "--secret-command-timeout",
        "0.3",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("every process it started"),
        "{}",
        r.stderr
    );
    assert_eq!(keys(&server).len(), before, "the key was deleted again");
    // Past the moment the pipeline's last stage would have written.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(
        !store.exists(),
        "a process of the sink outlived its timeout"
    );
}

/// A command that stores the secret and exits 0, leaving a background
/// child that holds its standard error, delivered it: no timeout, no undo.
#[test]
fn a_command_that_exits_leaving_a_child_on_stderr_delivered() {
    let server = server();
    let dir = dir("stderr-child");
    let store = dir.join("store");
    let command = format!("sh -c 'cat > \"{}\"; sleep 30 & exit 0'", store.display());
    let r = run(cli(&server).args([
        "create",
        "--user",
        "u-alice",
        "-o",
        "json",
        "--secret-command",
        &command,
        "--secret-command-timeout",
        "10",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let created: Value = serde_json::from_str(&r.stdout).expect("json");
    let id = created["api_key"]["id"].as_str().expect("id");
    assert!(keys(&server).iter().any(|k| k["id"] == id), "the key stays");
    let secret = std::fs::read_to_string(&store).expect("stored");
    assert!(secret.starts_with("sk-"), "the secret was stored");
}

/// A notify command that writes much to standard error before it reads
/// its findings (more than a pipe holds) does not deadlock the audit.
#[test]
fn a_notify_command_chatty_on_stderr_before_reading_is_told() {
    // Two owners, one with 600 findings: more than a pipe's 64 KiB.
    let key = |id: String, user: &str| {
        serde_json::json!({"id": id, "user_id": user, "username": user, "name": "job",
            "created_at": days(-1), "total_calls": 1, "is_active": true})
    };
    let mut records: Vec<Value> = (0..600).map(|i| key(format!("k-{i}"), "svc-etl")).collect();
    records.push(key("k-bob".to_owned(), "bob"));
    let server = states::seeded_records(Value::Array(records));
    let dir = dir("notify-chatty");
    let command = format!(
        "sh -c 'head -c 200000 /dev/zero >&2; cat > \"{}/$H2OGPTE_USERNAME.ndjson\"'",
        dir.display()
    );
    let r = run(cli(&server).args([
        "audit",
        "--require-expiry",
        "--notify-command",
        &command,
        "--notify-timeout",
        "20",
    ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("told 3 of 3 user(s)"), "{}", r.stderr);
    let told = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".ndjson"))
        .count();
    assert_eq!(told, 3, "each owner's findings were read");
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
