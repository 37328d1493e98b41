//! Where a new secret goes, and a run of the binary into each.

#![allow(dead_code)]

use super::*;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;
use std::process::Command;
use std::process::Stdio;

/// Where the command's stdout goes.
#[derive(Debug, Clone, Copy)]
pub enum Sink {
    /// A pipe whose reader is gone before the command starts.
    ClosedPipe,
    /// No stdout at all (`>&-`).
    Closed,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

pub const SINKS: [Sink; 3] = [Sink::ClosedPipe, Sink::Closed, Sink::Full];

/// Runs the binary with `args` and stdout sent to `sink`, against `url`.
pub fn run_into(sink: Sink, url: &str, key: &str, args: &[&str]) -> (i32, String) {
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

pub fn keys(server: &FakeServer) -> Vec<Value> {
    let r = run(cli(server).args(["list", "--all", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON")
}
