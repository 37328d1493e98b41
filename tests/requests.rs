//! Snapshots of each request the client sends, captured by a real HTTP server
//! on 127.0.0.1: method, raw path, raw query, headers and JSON body.

use h2ogpte_api_keys::{Client, types};
use h2ogpte_test_support::capture::{CaptureServer, Captured};

const API_KEY: &str = "test-admin-key";

async fn setup() -> (CaptureServer, Client) {
    let server = CaptureServer::start().await;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(API_KEY)
        .build()
        .expect("client builds");
    (server, client)
}

/// The one request, with the bearer token checked and then redacted and the
/// crate version in the user agent replaced, so snapshots stay stable.
fn wire(server: &CaptureServer) -> Captured {
    let mut req = server.only_request();
    let auth = req
        .headers
        .get_mut("authorization")
        .expect("authorization header sent");
    assert_eq!(auth, &format!("Bearer {API_KEY}"));
    *auth = "Bearer [redacted]".into();
    let agent = req.headers.get_mut("user-agent").expect("user-agent sent");
    assert_eq!(
        agent,
        concat!("h2ogpte-api-keys/", env!("CARGO_PKG_VERSION"))
    );
    *agent = "h2ogpte-api-keys/[version]".into();
    req
}

#[tokio::test]
async fn create_with_only_user_id() {
    let (server, client) = setup().await;
    client
        .raw()
        .create_api_key_for_user()
        .body(types::ApiKeyCreateRequest::builder().user_id("u-1"))
        .send()
        .await
        .expect("create succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn create_with_every_field() {
    let (server, client) = setup().await;
    client
        .raw()
        .create_api_key_for_user()
        .body(
            types::ApiKeyCreateRequest::builder()
                .user_id("u-1")
                .name("nightly ingestion".to_owned())
                .collection_id("c-1".to_owned())
                .expires_in("30 days".to_owned())
                .inactivity_interval(14),
        )
        .send()
        .await
        .expect("create succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn list_with_no_parameters() {
    let (server, client) = setup().await;
    client
        .raw()
        .list_all_api_keys()
        .send()
        .await
        .expect("list succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn list_with_offset_limit_and_filter() {
    let (server, client) = setup().await;
    client
        .raw()
        .list_all_api_keys()
        .offset(200)
        .limit(50u64)
        .filter("ana & josé")
        .send()
        .await
        .expect("list succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn deactivate() {
    let (server, client) = setup().await;
    client
        .raw()
        .deactivate_api_key()
        .key_id("0b8e4a52-3c1d-4e0f-8a6b-2d9c7f1e5a34")
        .send()
        .await
        .expect("deactivate succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn delete_with_reserved_characters_in_key_id() {
    let (server, client) = setup().await;
    client
        .raw()
        .delete_api_key()
        .key_id("a/b?c#d%e f")
        .send()
        .await
        .expect("delete succeeds");
    let req = wire(&server);
    // One path segment: nothing in the id may split or end the path.
    assert_eq!(req.path, "/api/v1/admin/api_keys/a%2Fb%3Fc%23d%25e%20f");
    insta::assert_yaml_snapshot!(req);
}

#[tokio::test]
async fn set_an_expiry() {
    let (server, client) = setup().await;
    client
        .raw()
        .update_api_key_expiry()
        .key_id("k-1")
        .body(types::ApiKeyUpdateExpiryRequest::builder().expires_in("90 days".to_owned()))
        .send()
        .await
        .expect("update succeeds");
    insta::assert_yaml_snapshot!(wire(&server));
}

#[tokio::test]
async fn remove_an_expiry() {
    let (server, client) = setup().await;
    client
        .raw()
        .update_api_key_expiry()
        .key_id("k-1")
        .send()
        .await
        .expect("update succeeds");
    let req = wire(&server);
    assert_eq!(
        req.body,
        serde_json::json!({}),
        "remove-expiry is the body {{}}"
    );
    insta::assert_yaml_snapshot!(req);
}

/// An id with what progenitor's own path encoding leaves raw (`\`, which a
/// URL parser turns into `/`, sub-delimiters, brackets) and non-ASCII.
const ODD_KEY_ID: &str = "a\\b é[x]!$&'()*+,;=:@";

/// The one request each of the front door and `raw()` sends for `call`.
async fn front_door_and_raw<F, R>(front: F, raw: R) -> (Captured, Captured)
where
    F: AsyncFnOnce(&Client),
    R: AsyncFnOnce(&Client),
{
    let (server, client) = setup().await;
    front(&client).await;
    let via_front = wire(&server);
    let (server, client) = setup().await;
    raw(&client).await;
    (via_front, wire(&server))
}

#[tokio::test]
async fn odd_key_id_through_the_front_door_and_raw() {
    let (front, raw) = front_door_and_raw(
        async |c| c.deactivate_api_key(ODD_KEY_ID).await.expect("front door"),
        async |c| {
            c.raw()
                .deactivate_api_key()
                .key_id(ODD_KEY_ID)
                .send()
                .await
                .expect("raw");
        },
    )
    .await;
    assert_eq!(front, raw, "the same bytes either way");
    assert_eq!(
        raw.path,
        "/api/v1/admin/api_keys/deactivate/a%5Cb%20%C3%A9%5Bx%5D%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40"
    );
    insta::assert_yaml_snapshot!(raw);
}

#[tokio::test]
async fn odd_key_id_expiry_and_filter_through_raw() {
    let (front, raw) = front_door_and_raw(
        async |c| {
            c.remove_api_key_expiry(ODD_KEY_ID)
                .await
                .expect("front door")
        },
        async |c| {
            c.raw()
                .update_api_key_expiry()
                .key_id(ODD_KEY_ID)
                .body(types::ApiKeyUpdateExpiryRequest::builder())
                .send()
                .await
                .expect("raw");
        },
    )
    .await;
    assert_eq!(front, raw, "the same bytes either way");
    insta::assert_yaml_snapshot!("odd_key_id_expiry_through_raw", raw);

    let query = h2ogpte_api_keys::ListQuery::new()
        .with_offset(200)
        .with_limit(50)
        .with_filter(ODD_KEY_ID);
    let (front, raw) = front_door_and_raw(
        async |c| {
            c.list_all_api_keys(&query).await.expect("front door");
        },
        async |c| {
            c.raw()
                .list_all_api_keys()
                .filter(ODD_KEY_ID)
                .limit(std::num::NonZeroU64::new(50).expect("nonzero"))
                .offset(200)
                .send()
                .await
                .expect("raw");
        },
    )
    .await;
    assert_eq!(front, raw, "the same bytes either way");
    insta::assert_yaml_snapshot!("odd_filter_through_raw", raw);
}

#[tokio::test]
async fn set_and_remove_an_inactivity_interval() {
    let (front, raw) = front_door_and_raw(
        async |c| {
            c.set_api_key_inactivity_interval(ODD_KEY_ID, 30)
                .await
                .expect("front door")
        },
        async |c| {
            c.raw()
                .update_api_key_inactivity_interval()
                .key_id(ODD_KEY_ID)
                .body(
                    types::ApiKeyUpdateInactivityIntervalRequest::builder().inactivity_interval(30),
                )
                .send()
                .await
                .expect("raw");
        },
    )
    .await;
    assert_eq!(front, raw, "the same bytes either way");
    assert!(
        raw.path
            .starts_with("/api/v1/admin/api_keys/inactivity_interval/a%5Cb%20"),
        "{}",
        raw.path
    );
    insta::assert_yaml_snapshot!("set_an_inactivity_interval", raw);

    let (front, raw) = front_door_and_raw(
        async |c| {
            c.remove_api_key_inactivity_interval(ODD_KEY_ID)
                .await
                .expect("front door")
        },
        async |c| {
            c.raw()
                .update_api_key_inactivity_interval()
                .key_id(ODD_KEY_ID)
                .body(types::ApiKeyUpdateInactivityIntervalRequest::builder())
                .send()
                .await
                .expect("raw");
        },
    )
    .await;
    assert_eq!(front, raw, "the same bytes either way");
    assert_eq!(raw.body, serde_json::json!({}), "remove is the body {{}}");
    insta::assert_yaml_snapshot!("remove_an_inactivity_interval", raw);
}
