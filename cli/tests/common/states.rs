//! Keys seeded in given states (expired, idle, live), for revival and dry-run tests.

#![allow(dead_code)]

use super::*;
use h2ogpte_fake_server::FakeServer;
use h2ogpte_fake_server::SeedKey;
use serde_json::Value;
use serde_json::json;

/// A server holding `records` (the API's key shape plus `user_id`), times
/// relative to now so the client's clock and the server's agree.
pub fn seeded_records(records: Value) -> FakeServer {
    let keys: Vec<SeedKey> = serde_json::from_value(records).expect("seed records");
    RUNTIME
        .block_on(FakeServer::builder().seed_records(keys).start())
        .expect("a seeded_records server")
}

pub fn ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(days)).to_rfc3339()
}

/// An expired key `k-expired`, a key idle past its 1-day interval
/// `k-idle`, and a live one `k-live`, all alice's.
pub fn revivable() -> FakeServer {
    let base = |id: &str| {
        json!({"id": id, "user_id": "u-alice", "username": "alice", "name": id,
               "created_at": ago(10), "total_calls": 1, "is_active": true})
    };
    let mut expired = base("k-expired");
    expired["expires_at"] = json!(ago(1));
    expired["is_active"] = json!(false);
    let mut idle = base("k-idle");
    idle["inactivity_interval"] = json!(1);
    idle["last_used_at"] = json!(ago(5));
    idle["is_active"] = json!(false);
    seeded_records(json!([expired, idle, base("k-live")]))
}

pub fn outcome(stdout: &str) -> Value {
    let results: Vec<Value> = serde_json::from_str(stdout).expect("JSON results");
    results.into_iter().next().expect("one result")
}
