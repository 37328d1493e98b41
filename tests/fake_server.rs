//! The generated client against the fake server over a real socket: every
//! operation, every error status the server produces, and many concurrent creates.

use std::collections::HashSet;

use h2ogpte_api_keys::{Client, Error, ListQuery, raw, reqwest::StatusCode, types};
use h2ogpte_fake_server::{ApiVersion, FakeServer};

async fn start() -> (FakeServer, Client) {
    start_with(
        FakeServer::builder()
            .user("u-bob", "bob")
            .collection("c-1", "Reports", "u-alice")
            .max_expiry_days(365),
    )
    .await
}

/// A server from `builder` (with alice added) and a client of its admin,
/// configured with a trailing slash on the URL, as users write it.
async fn start_with(builder: h2ogpte_fake_server::FakeServerBuilder) -> (FakeServer, Client) {
    let server = builder
        .user("u-alice", "alice")
        .start()
        .await
        .expect("server starts");
    let client = Client::builder()
        .with_server_url(format!("{}/", server.url()))
        .with_api_key(server.admin_key())
        .build()
        .expect("client builds");
    (server, client)
}

fn create_body(user: &str) -> types::builder::ApiKeyCreateRequest {
    types::ApiKeyCreateRequest::builder().user_id(user)
}

/// The status and decoded `EndpointError` of an error response.
fn api_error<T: std::fmt::Debug>(
    result: Result<T, raw::Error<types::EndpointError>>,
) -> (StatusCode, types::EndpointError) {
    match result {
        Err(raw::Error::ErrorResponse(e)) => {
            assert_eq!(i64::from(e.status().as_u16()), e.code, "code is the status");
            (e.status(), e.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// The keys of alice, through the generated list builder.
async fn alice_keys(api: &raw::Client) -> Vec<types::ApiKeyInfo> {
    api.list_all_api_keys()
        .filter("alice")
        .send()
        .await
        .expect("list")
        .into_inner()
}

#[tokio::test]
async fn lifecycle_through_every_operation() {
    let (_server, client) = start().await;
    let api = client.raw();
    let created = api
        .create_api_key_for_user()
        .body(
            create_body("u-alice")
                .name("ci".to_owned())
                .collection_id("c-1".to_owned())
                .expires_in("30 days".to_owned())
                .inactivity_interval(10),
        )
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.api_key.collection_name.as_deref(), Some("Reports"));
    assert!(!created.api_key.is_global_key);
    assert_eq!(
        created.api_key.hint,
        created.secret_key.expose()[created.secret_key.expose().len() - 4..]
    );
    let id = created.api_key.id.clone();

    let listed = api
        .list_all_api_keys()
        .filter("ALI")
        .offset(0)
        .limit(10)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], created.api_key);

    api.update_api_key_expiry()
        .key_id(&id)
        .body(types::ApiKeyUpdateExpiryRequest::builder().expires_in("90 days".to_owned()))
        .send()
        .await
        .expect("set expiry");
    let after = alice_keys(api).await;
    let expires = after[0].expires_at.expect("expiry set");
    assert_eq!((expires - after[0].created_at).num_days(), 90);

    api.update_api_key_expiry()
        .key_id(&id)
        .send()
        .await
        .expect("remove expiry");
    let after = alice_keys(api).await;
    assert_eq!(after[0].expires_at, None);

    api.deactivate_api_key()
        .key_id(&id)
        .send()
        .await
        .expect("deactivate");
    let after = alice_keys(api).await;
    assert!(!after[0].is_active);

    api.delete_api_key()
        .key_id(&id)
        .send()
        .await
        .expect("delete");
    assert!(
        api.list_all_api_keys()
            .filter("alice")
            .send()
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn every_error_status_is_typed() {
    let (server, client) = start().await;
    let api = client.raw();

    let (status, e) = api_error(
        api.create_api_key_for_user()
            .body(create_body(""))
            .send()
            .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e:?}");
    let (status, _) = api_error(
        api.create_api_key_for_user()
            .body(create_body("u-alice").expires_in("10 years".to_owned()))
            .send()
            .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, e) = api_error(
        api.create_api_key_for_user()
            .body(create_body("u-nobody"))
            .send()
            .await,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e.message.contains("u-nobody"), "{e:?}");
    let (status, _) = api_error(
        api.create_api_key_for_user()
            .body(create_body("u-bob").collection_id("c-1".to_owned()))
            .send()
            .await,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The spec's minimums make out-of-range paging unrepresentable: the
    // builder refuses before sending.
    for result in [
        api.list_all_api_keys().limit(0u64).send().await,
        api.list_all_api_keys().offset(-5).send().await,
    ] {
        assert!(
            matches!(result, Err(raw::Error::InvalidRequest(_))),
            "{result:?}"
        );
    }
    let (status, _) = api_error(api.list_all_api_keys().limit(5000u64).send().await);
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = api_error(api.deactivate_api_key().key_id("missing").send().await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api_error(api.delete_api_key().key_id("missing").send().await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api_error(api.update_api_key_expiry().key_id("missing").send().await);
    assert_eq!(status, StatusCode::NOT_FOUND);

    let bob = api
        .create_api_key_for_user()
        .body(create_body("u-bob"))
        .send()
        .await
        .expect("create");
    let bob_id = bob.api_key.id.clone();
    api.deactivate_api_key()
        .key_id(&bob_id)
        .send()
        .await
        .expect("deactivate");
    let (status, _) = api_error(api.deactivate_api_key().key_id(&bob_id).send().await);
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api_error(api.update_api_key_expiry().key_id(&bob_id).send().await);
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api_error(
        api.update_api_key_expiry()
            .key_id(&bob_id)
            .body(types::ApiKeyUpdateExpiryRequest::builder().expires_in("whenever".to_owned()))
            .send()
            .await,
    );
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the key's state is checked first"
    );

    // A non-admin's key, and a wrong key, are 401 on every route.
    for key in [bob.secret_key.expose(), "sk-not-a-key"] {
        let other = Client::builder()
            .with_server_url(server.url())
            .with_api_key(key)
            .build()
            .expect("client");
        let (status, _) = api_error(other.raw().list_all_api_keys().send().await);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = api_error(other.raw().delete_api_key().key_id(&bob_id).send().await);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn key_ids_with_reserved_characters_reach_the_right_route() {
    let (_server, client) = start().await;
    for id in [
        "a/b",
        "a?b=c",
        "a#b",
        "100%",
        "with space",
        "café",
        "../../admin/api_keys",
    ] {
        let (status, e) = api_error(client.raw().delete_api_key().key_id(id).send().await);
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            e.message,
            format!("API key {id} not found"),
            "the server saw the id as sent"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_creates_are_distinct() {
    let (server, client) = start().await;
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .raw()
                    .create_api_key_for_user()
                    .body(create_body(if i % 2 == 0 { "u-alice" } else { "u-bob" }))
                    .send()
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut secrets = HashSet::new();
    for task in tasks {
        let created = task.await.expect("task").expect("create");
        ids.insert(created.api_key.id);
        secrets.insert(created.secret_key.expose().to_owned());
    }
    assert_eq!((ids.len(), secrets.len()), (1000, 1000));
    assert_eq!(server.key_count(), 1001, "the admin key and 1000 new ones");
    let page = client
        .raw()
        .list_all_api_keys()
        .limit(1000)
        .offset(1)
        .send()
        .await
        .expect("list");
    assert_eq!(page.len(), 1000);
    assert_eq!(
        page.iter().map(|k| k.id.clone()).collect::<HashSet<_>>(),
        ids
    );
}

#[tokio::test]
async fn inactivity_interval_set_and_removed_through_the_front_door() {
    let (_server, client) = start().await;
    let created = client
        .create_api_key_for_user(create_body("u-alice").inactivity_interval(14))
        .await
        .expect("create");
    let id = created.api_key.id;
    assert_eq!(created.api_key.inactivity_interval, Some(14));
    let interval = |client: Client, id: String| async move {
        let keys = client
            .collect_all_api_keys(&ListQuery::new().with_filter("alice"))
            .await
            .expect("list");
        keys.into_iter()
            .find(|k| k.id == id)
            .expect("listed")
            .inactivity_interval
    };
    client
        .set_api_key_inactivity_interval(&id, 90)
        .await
        .expect("set");
    assert_eq!(interval(client.clone(), id.clone()).await, Some(90));
    client
        .remove_api_key_inactivity_interval(&id)
        .await
        .expect("remove");
    assert_eq!(interval(client.clone(), id.clone()).await, None);
    let err = client
        .set_api_key_inactivity_interval(&id, 0)
        .await
        .expect_err("0 days");
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    let err = client
        .remove_api_key_inactivity_interval("no-such-key")
        .await
        .expect_err("unknown");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
}

#[tokio::test]
async fn a_server_before_1_7_is_read_and_its_missing_operation_named() {
    let (_server, client) = start_with(
        FakeServer::builder()
            .api_version(ApiVersion::V1_6)
            .plain_keys(3),
    )
    .await;
    let keys = client
        .collect_all_api_keys(&ListQuery::new())
        .await
        .expect("a 1.6 list decodes");
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| k.total_calls.is_none()), "{keys:?}");
    let created = client
        .create_api_key_for_user(create_body("u-alice"))
        .await
        .expect("create on 1.6");
    let err = client
        .set_api_key_inactivity_interval(&created.api_key.id, 30)
        .await
        .expect_err("no such route before 1.7");
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("before h2oGPTe 1.7.0"), "{err}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
}

/// Fetching pages ahead yields the same keys in the same order as
/// fetching one after the other, ends at the short page, and works with a
/// start offset and a filter.
#[tokio::test]
async fn prefetching_pages_keeps_the_servers_order() {
    let (_server, client) = start_with(
        FakeServer::builder()
            .plain_keys(1049)
            .latency(std::time::Duration::from_millis(2)),
    )
    .await;
    let ids = |prefetch: usize, offset: u64| {
        let client = client.clone();
        async move {
            let query = ListQuery::new()
                .with_filter("admin")
                .with_limit(100)
                .with_offset(offset)
                .with_prefetch(prefetch);
            client
                .collect_all_api_keys(&query)
                .await
                .expect("every key")
                .into_iter()
                .map(|k| k.id)
                .collect::<Vec<_>>()
        }
    };
    let one_by_one = ids(1, 0).await;
    assert_eq!(one_by_one.len(), 1050, "1049 seeded and the admin key");
    for prefetch in [2, 4, 16] {
        assert_eq!(ids(prefetch, 0).await, one_by_one, "prefetch {prefetch}");
    }
    assert_eq!(ids(4, 250).await, one_by_one[250..], "from an offset");
    assert_eq!(
        HashSet::<_>::from_iter(one_by_one.iter()).len(),
        1050,
        "no key twice"
    );
}
