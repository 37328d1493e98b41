//! Helpers shared by the CLI's tests: a fake server, the binary pointed at
//! it, and its results.

#![allow(dead_code)]

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
        "H2OGPTE_ALLOW_INSECURE_HTTP",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
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
