//! `blocking::Client` from plain synchronous code against the fake server:
//! every operation, paging as an `Iterator`, and use and drop inside an
//! async runtime.

#![cfg(feature = "blocking")]

use std::sync::mpsc;

use h2ogpte_api_keys::{ListQuery, blocking, types};
use h2ogpte_fake_server::FakeServer;

/// A fake server on a runtime of its own thread (the test itself has none);
/// returns its URL and admin key, and the sender that stops it.
fn fake_server(plain_keys: u32) -> (String, String, mpsc::Sender<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let server = FakeServer::builder()
                .user("u-alice", "alice")
                .plain_keys(plain_keys)
                .start()
                .await
                .expect("server");
            ready_tx
                .send((server.url(), server.admin_key().to_owned()))
                .expect("ready");
            // Serve until the test drops the sender.
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            server.shutdown().await;
        });
    });
    let (url, key) = ready_rx.recv().expect("server ready");
    (url, key, stop_tx)
}

fn client(url: &str, key: &str) -> blocking::Client {
    blocking::Client::builder()
        .with_server_url(url)
        .with_api_key(key)
        .build_blocking()
        .expect("client")
}

#[test]
fn a_keys_lifecycle_without_async() {
    let (url, key, _stop) = fake_server(250);
    let client = client(&url, &key);
    let created = client
        .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-alice"))
        .expect("create");
    let id = created.api_key.id.clone();
    let page = client
        .list_all_api_keys(&ListQuery::new().with_filter("alice"))
        .expect("list");
    assert_eq!(page.len(), 1);

    // 250 seeded + the admin key, 100 a page: an iterator over three pages.
    let every: Vec<_> = client
        .stream_all_api_keys(&ListQuery::new().with_filter("admin").with_limit(100))
        .collect::<Result<_, _>>()
        .expect("every key");
    assert_eq!(every.len(), 251);

    // A composite of the calls: a seeded key of the admin user, rotated.
    let seeded = every.last().expect("a seeded key").id.clone();
    let rotated = client
        .rotate_api_key(
            &seeded,
            h2ogpte_fake_server::DEFAULT_ADMIN_ID,
            h2ogpte_api_keys::rotation::Retire::Deactivate,
        )
        .expect("rotate");
    assert_eq!(rotated.old.id, seeded);
    let old = client.find_api_key(&seeded).expect("find").expect("kept");
    assert!(!old.is_active, "deactivated");

    client.set_api_key_expiry(&id, "30 days").expect("expire");
    client.remove_api_key_expiry(&id).expect("no expiry");
    client
        .set_api_key_inactivity_interval(&id, 30)
        .expect("inactivity");
    client
        .remove_api_key_inactivity_interval(&id)
        .expect("no inactivity");
    client.deactivate_api_key(&id).expect("deactivate");
    let err = client.deactivate_api_key(&id).expect_err("409");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    client.delete_api_key(&id).expect("delete");
    assert!(
        client
            .collect_all_api_keys(&ListQuery::new().with_filter("alice"))
            .expect("list")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_an_async_runtime_it_works_and_drops_without_panic() {
    let server = FakeServer::start().await.expect("server");
    let client = client(&server.url(), server.admin_key());
    let keys = client
        .list_all_api_keys(&ListQuery::new())
        .expect("a call blocks this thread, and works");
    assert_eq!(keys.len(), 1);
    drop(client);
}

/// A blocking client without retries, so a stall shows as a timeout error
/// rather than a slow success on a new connection.
fn short_timeout_client(url: &str, key: &str) -> blocking::Client {
    blocking::Client::builder()
        .with_server_url(url)
        .with_api_key(key)
        .with_retry_policy(h2ogpte_api_keys::RetryPolicy::none())
        .with_timeout(std::time::Duration::from_secs(5))
        .build_blocking()
        .expect("client")
}

#[test]
fn as_async_on_a_current_thread_runtime_then_blocking_on_that_thread() {
    let (url, key, _stop) = fake_server(0);
    let client = short_timeout_client(&url, &key);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The async call opens a connection driven by `runtime`, which is idle
    // while the blocking call below runs on this same thread.
    runtime
        .block_on(client.as_async().list_all_api_keys(&ListQuery::new()))
        .expect("async list");
    client
        .list_all_api_keys(&ListQuery::new())
        .expect("the blocking call does not wait on the idle runtime");
}

#[test]
fn blocking_first_then_as_async_on_a_current_thread_runtime() {
    let (url, key, _stop) = fake_server(0);
    let client = short_timeout_client(&url, &key);
    client
        .list_all_api_keys(&ListQuery::new())
        .expect("blocking list");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(client.as_async().list_all_api_keys(&ListQuery::new()))
        .expect("async list");
    client
        .list_all_api_keys(&ListQuery::new())
        .expect("blocking again");
}

#[test]
fn a_blocking_view_takes_call_options() {
    let (url, key, _stop) = fake_server(0);
    let client = short_timeout_client(&url, "sk-not-an-admin");
    let err = client
        .list_all_api_keys(&ListQuery::new())
        .expect_err("the client's own key is refused");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let view = client.with_options(h2ogpte_api_keys::CallOptions::new().with_api_key(key));
    view.list_all_api_keys(&ListQuery::new())
        .expect("the view acts with the admin key");
}

/// The composites without `async`: a plan, a rotation with a lifetime of
/// its own, and the audit as an iterator.
#[test]
fn plan_rotate_with_a_lifetime_and_audit_without_async() {
    use chrono::{TimeDelta, Utc};
    use h2ogpte_api_keys::{
        CreateKey,
        policy::{FindingCode, Policy},
        rotation::{OldKey, Retire, RotateOptions},
    };
    let (url, key, _stop) = fake_server(0);
    let client = client(&url, &key);
    let old = client
        .create_api_key_for_user(
            CreateKey::for_user("u-alice")
                .name("ci")
                .expires_in("3 days"),
        )
        .expect("created")
        .api_key;
    let plan = client
        .plan_rotation(&old.id, Retire::Deactivate)
        .expect("planned");
    assert_eq!(plan.old().id, old.id);
    let rotated = client
        .rotate_api_key(
            &old.id,
            "u-alice",
            RotateOptions::new(Retire::After(TimeDelta::days(1))).with_expires_in("90 days"),
        )
        .expect("rotated");
    assert!(
        matches!(rotated.old_key, OldKey::ExpiresAt(_)),
        "{:?}",
        rotated.old_key
    );
    let new_expiry = rotated.created.api_key.expires_at.expect("an expiry");
    let days = (new_expiry - Utc::now()).num_days();
    assert!(
        (89..=90).contains(&days),
        "{days} days: its own lifetime, not the old key's 3"
    );
    let policy = Policy::recommended().with_expiring_within_days(Some(14));
    let findings: Vec<(String, Vec<FindingCode>)> = client
        .audit(&ListQuery::new().with_filter("alice"), &policy, Utc::now())
        .map(|judged| {
            let judged = judged.expect("judged");
            (
                judged.key.id,
                judged.findings.iter().map(|f| f.code).collect(),
            )
        })
        .collect();
    let new = findings
        .iter()
        .find(|(id, _)| *id == rotated.created.api_key.id)
        .expect("the new key is audited");
    assert!(!new.1.contains(&FindingCode::ExpiringSoon), "{findings:?}");
}
