//! A seeded population with known findings, for the audit's tests.

#![allow(dead_code)]

use super::*;
use chrono::TimeDelta;
use chrono::Utc;
use h2ogpte_fake_server::FakeServer;
use serde_json::Value;
use serde_json::json;
use std::path::PathBuf;

/// A scratch directory of this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("h2ogpte-keys-admin-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// An RFC 3339 time `days` from now (negative: in the past).
pub fn days(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days)).to_rfc3339()
}

/// The population: a clean key, one that breaks most rules, one deactivated
/// long ago, one about to expire. Times are relative to now, so the
/// findings never drift with the calendar.
pub fn population() -> Value {
    json!([
        {"id": "k-clean", "user_id": "u-alice", "username": "alice", "name": "reports reader",
         "created_at": days(-10), "expires_at": days(100), "last_used_at": days(-1),
         "inactivity_interval": 30, "total_calls": 12, "is_active": true,
         "collection_id": "c-reports", "collection_name": "Reports", "is_global_key": false},
        {"id": "k-forever", "user_id": "u-bob", "username": "bob", "name": "=HYPERLINK(\"http://x\")",
         "created_at": days(-400), "total_calls": 0, "is_active": true},
        {"id": "k-dead", "user_id": "u-bob", "username": "bob", "name": "old ci",
         "created_at": days(-200), "last_used_at": days(-150), "total_calls": 5, "is_active": false},
        {"id": "k-soon", "user_id": "u-carol", "username": "carol", "name": "batch",
         "created_at": days(-20), "expires_at": days(3), "last_used_at": days(-2),
         "total_calls": 40, "is_active": true}
    ])
}

pub fn seeded_with(
    builder: impl FnOnce(
        h2ogpte_fake_server::FakeServerBuilder,
    ) -> h2ogpte_fake_server::FakeServerBuilder,
) -> FakeServer {
    let dir = scratch("seed");
    let path = dir.join(format!("{:?}.json", std::thread::current().id()));
    std::fs::write(&path, population().to_string()).expect("seed file");
    let server = RUNTIME
        .block_on(builder(FakeServer::builder().seed_file(&path)).start())
        .expect("seeded server");
    let _ = std::fs::remove_file(&path);
    server
}

pub fn seeded() -> FakeServer {
    seeded_with(|b| b)
}
