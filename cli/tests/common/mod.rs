//! Helpers shared by the CLI's tests: a fake server, the binary pointed at
//! it, and its results.

#![allow(dead_code)]

pub mod states;

pub mod sinks;

pub mod fleet;

use std::sync::LazyLock;

use assert_cmd::Command;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;

/// One runtime for the servers; the CLI runs as a separate process.
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
});

pub fn server() -> FakeServer {
    RUNTIME
        .block_on(
            FakeServer::builder()
                .user("u-alice", "alice")
                .user("u-bob", "bob")
                .collection("c-1", "Reports", "u-alice")
                .start(),
        )
        .expect("fake server")
}

/// The binary with none of its environment variables set.
pub fn bare() -> Command {
    let mut cmd = Command::cargo_bin("h2ogpte-keys").expect("binary");
    for var in [
        "H2OGPTE_SERVER_URL",
        "H2OGPTE_API_KEY",
        "H2OGPTE_CONTEXT",
        "H2OGPTE_ALLOW_INSECURE_HTTP",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    // Rotation journals go beside the test build, one directory per test
    // run (a later run's fake server may get the same port) and one journal
    // per fake server.
    cmd.env(
        "XDG_STATE_HOME",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("state-{}", std::process::id())),
    );
    // No developer's own contexts: a directory nothing writes to.
    cmd.env(
        "XDG_CONFIG_HOME",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-config"),
    );
    cmd
}

/// The binary pointed at `server` with its admin key.
pub fn cli(server: &FakeServer) -> Command {
    let mut cmd = bare();
    cmd.env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key());
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn create(server: &FakeServer, args: &[&str]) -> Value {
    let r = run(cli(server).args(["create", "-o", "json"]).args(args));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON result")
}

pub fn id_of(created: &Value) -> String {
    created["api_key"]["id"].as_str().expect("id").to_owned()
}

// Shared by several test modules.
use assert_cmd::cargo::CommandCargoExt;
use h2ogpte_test_support::scripted::Scripted;
use h2ogpte_test_support::scripted::Step;

/// Snapshot settings that replace what changes from run to run: ids,
/// secrets, hints, times.
pub fn redacted() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[id]",
    );
    settings.add_filter(r"sk-[A-Za-z0-9]+", "[secret]");
    settings.add_filter(r"…[A-Za-z0-9]{4}", "…[hint]");
    settings.add_filter(
        r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|\+00:00)?",
        "[time]",
    );
    settings.add_filter(r#""hint": "[A-Za-z0-9]{4}""#, r#""hint": "[hint]""#);
    settings
}

/// A server with keys that break the recommended policy (no expiry).
pub fn with_findings(n: usize) -> FakeServer {
    let server = server();
    for i in 0..n {
        create(&server, &["--user", "u-alice", "--name", &format!("k{i}")]);
    }
    server
}

/// The binary pointed at `server`, as a plain `Command`.
pub fn binary(server: &FakeServer) -> std::process::Command {
    let mut cmd = std::process::Command::cargo_bin("h2ogpte-keys").expect("binary");
    cmd.env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key());
    cmd
}

/// Serves `responses` (whole HTTP responses) to one connection after
/// another, in order, the last one repeated; returns its URL and the
/// server, whose requests are the request lines it saw.
pub fn scripted_server(responses: Vec<String>) -> (String, Scripted) {
    let server = Scripted::start(responses.into_iter().map(Step::Respond).collect());
    (server.url.clone(), server)
}

/// A private state directory `dir/state` (mode 700, as the journal
/// requires).
pub fn state_in(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let state = dir.join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    state
}

/// The rotation journal of `server` in `state`, as the library names it.
pub fn journal_path(state: &std::path::Path, server: &FakeServer) -> std::path::PathBuf {
    let port = server.addr().port();
    state.join(format!("rotations-127.0.0.1_{port}_api_v1.jsonl"))
}

/// Writes `server`'s journal in `state` with these entries (format 2: a
/// header line, then an entry a line).
pub fn write_journal(state: &std::path::Path, server: &FakeServer, entries: &[Value]) {
    let port = server.addr().port();
    let mut text = serde_json::json!({
        "format": 2,
        "server": format!("http://127.0.0.1:{port}/api/v1"),
    })
    .to_string();
    text.push('\n');
    for e in entries {
        text += &e.to_string();
        text.push('\n');
    }
    std::fs::write(journal_path(state, server), text).expect("journal");
}

/// The entries of `server`'s journal in `state`, as JSON.
pub fn journal_entries(state: &std::path::Path, server: &FakeServer) -> Vec<Value> {
    entries_of(&journal_path(state, server))
}

/// The entries of the journal at `path`, as JSON: the last line of each
/// rotation.
pub fn entries_of(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("a journal");
    let mut entries: Vec<Value> = Vec::new();
    for line in text.lines().skip(1) {
        let e: Value = serde_json::from_str(line).expect("an entry");
        // The last line of a rotation wins.
        entries.retain(|o| {
            !(o["old_key_id"] == e["old_key_id"] && o["started_at"] == e["started_at"])
        });
        entries.push(e);
    }
    entries
}

/// The binary pointed at `server`, run with `args` under a file size limit
/// of `blocks` of 512 bytes and its signal ignored, so every write past the
/// limit fails as on a full disk.
pub fn run_with_full_disk(
    server: &FakeServer,
    blocks: u32,
    args: &[&std::ffi::OsStr],
) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""
        ))
        .arg(binary(server).get_program())
        .args(args)
        .env_remove("RUST_LOG")
        .env("H2OGPTE_SERVER_URL", server.url())
        .env("H2OGPTE_API_KEY", server.admin_key())
        .output()
        .expect("runs")
}
