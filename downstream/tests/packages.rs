//! The packaged client against the packaged fake server and the packaged
//! mocks, async and blocking, as a crate that depends on them would use
//! them.

use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, CreateKey, ListQuery, blocking};
use h2ogpte_api_keys_mock::{MockServerExt, httpmock::MockServer};
use h2ogpte_fake_server::FakeServer;

#[tokio::test]
async fn the_client_walks_a_lifecycle_on_the_fake_server() {
    let server = FakeServer::builder().user("u-1", "alice").start().await.expect("server");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()
        .expect("client");
    let created = client
        .create_api_key_for_user(CreateKey::for_user("u-1").name("downstream"))
        .await
        .expect("created");
    let keys: Vec<_> = client
        .stream_all_api_keys(&ListQuery::new().with_filter("alice"))
        .try_collect()
        .await
        .expect("listed");
    assert!(keys.iter().any(|k| k.id == created.api_key.id));
    client.delete_api_key(&created.api_key.id).await.expect("deleted");
}

/// A downstream service spawns the client's futures (they are
/// `Send`) and rotates a key in one call for a user whose id is not the
/// username, as on a real server; a wrong id is a rotation error of kind
/// not found, with the old key's expiry put back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_rotation_for_a_user_whose_id_is_a_uuid() {
    use h2ogpte_api_keys::{ErrorKind, chrono::TimeDelta, rotation::Retire};
    let uuid = "6f3c1f0e-7d59-4f0a-9a47-0c2f1b9d5e21";
    let server = FakeServer::builder().user(uuid, "alice").start().await.expect("server");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()
        .expect("client");
    let old = client
        .create_api_key_for_user(CreateKey::for_user(uuid).name("grafana"))
        .await
        .expect("created")
        .api_key
        .id;
    let window = Retire::After(TimeDelta::days(7));
    let (c, id) = (client.clone(), old.clone());
    let wrong = tokio::spawn(async move { c.rotate_api_key(&id, "alice", window).await })
        .await
        .expect("the task ends")
        .expect_err("a username is not the id");
    assert_eq!(wrong.kind(), ErrorKind::NotFound, "{wrong}");
    assert!(wrong.to_string().contains("put back"), "{wrong}");
    let (c, id) = (client.clone(), old.clone());
    let rotated = tokio::spawn(async move { c.rotate_api_key(&id, uuid, window).await })
        .await
        .expect("the task ends")
        .expect("rotated");
    assert_eq!(rotated.created.api_key.username, "alice");
}

#[tokio::test]
async fn the_mocks_script_an_answer() {
    let server = MockServer::start_async().await;
    let mock = server.deactivate_api_key(|when, then| {
        when.key_id("k-1");
        then.no_content();
    });
    let client = Client::builder()
        .with_base_url(server.base_url())
        .with_api_key("sk-test")
        .build()
        .expect("client");
    client.deactivate_api_key("k-1").await.expect("scripted 204");
    mock.assert();
}

#[test]
fn the_blocking_client_works_from_plain_code() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let server = FakeServer::builder().start().await.expect("server");
            tx.send((server.url(), server.admin_key().to_owned())).expect("ready");
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
        });
    });
    let (url, key) = rx.recv().expect("server ready");
    let client = blocking::Client::builder()
        .with_server_url(url)
        .with_api_key(key)
        .build_blocking()
        .expect("client");
    let page = client.list_all_api_keys(&ListQuery::new()).expect("listed");
    assert_eq!(page.len(), 1, "the bootstrap admin key");
    drop(stop_tx);
}
