//! Per-call options on the wire: a view's header arrives,
//! its key is the one used, its timeout applies to that view only, and the
//! client it came from is unchanged.

use std::time::Duration;

use h2ogpte_api_keys::{CallOptions, Client, Error, ListQuery, RetryPolicy};
use h2ogpte_fake_server::FakeServer;
use h2ogpte_test_support::capture::CaptureServer;

fn client(url: &str) -> Client {
    Client::builder()
        .with_server_url(url)
        .with_api_key("sk-client-key")
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_view_sends_its_header_and_key_and_the_client_does_not() {
    let server = CaptureServer::start().await;
    let client = client(&server.url());
    let view = client.with_options(
        CallOptions::new()
            .with_header("x-request-id", "audit-1")
            .expect("header")
            .with_api_key("sk-other-admin"),
    );
    view.delete_api_key("k-1").await.expect("204");
    client.delete_api_key("k-2").await.expect("204");
    let seen = server.requests();
    let header = |i: usize, name: &str| seen[i].headers.get(name).cloned();
    assert_eq!(header(0, "x-request-id").as_deref(), Some("audit-1"));
    assert_eq!(
        header(0, "authorization").as_deref(),
        Some("Bearer sk-other-admin")
    );
    assert_eq!(header(1, "x-request-id"), None, "the client is unchanged");
    assert_eq!(
        header(1, "authorization").as_deref(),
        Some("Bearer sk-client-key")
    );
    // The wire rules still hold in a view: the same path encoding.
    assert_eq!(seen[0].path, "/api/v1/admin/api_keys/k-1");
}

#[tokio::test]
async fn a_views_timeout_applies_to_that_view_only() {
    let server = FakeServer::builder()
        .latency(Duration::from_millis(300))
        .start()
        .await
        .expect("server");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let hurried = client.with_options(CallOptions::new().with_timeout(Duration::from_millis(20)));
    let err = hurried
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect_err("20 ms is shorter than the latency");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("the client keeps its own timeout");
}

#[tokio::test]
async fn an_unsendable_key_is_refused_before_sending() {
    let server = CaptureServer::start().await;
    let view = client(&server.url()).with_options(CallOptions::new().with_api_key("sk-a\nb"));
    let err = view.delete_api_key("k-1").await.expect_err("refused");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(!err.to_string().contains("sk-a"), "{err}");
    assert!(server.requests().is_empty());
}
