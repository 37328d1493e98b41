//! The generated mocks script exact responses for the client, typed by the spec.

use h2ogpte_api_keys::{Client, Error, ErrorKind, RetryPolicy, raw, reqwest::StatusCode, types};
use h2ogpte_api_keys_mock::{MockServerExt, httpmock::MockServer};

fn client(server: &MockServer) -> Client {
    Client::builder()
        .with_base_url(server.base_url())
        .with_api_key("sk-test")
        .build()
        .expect("client builds")
}

/// A key from its JSON, so a field a new release adds (optional, so
/// absent here) does not break this test.
fn key(id: &str) -> types::ApiKeyInfo {
    serde_json::from_value(serde_json::json!({
        "id": id, "username": "alice", "name": "scripted", "hint": "abcd",
        "created_at": "2026-11-02T09:14:07Z", "total_calls": 0,
        "is_active": true, "is_global_key": true
    }))
    .expect("a key")
}

#[tokio::test]
async fn scripted_list_and_error_responses() {
    let server = MockServer::start_async().await;
    let list = server.list_all_api_keys(|when, then| {
        when.filter("alice").limit(std::num::NonZeroU64::new(2));
        then.ok(&vec![key("k-1"), key("k-2")]);
    });
    let conflict = server.deactivate_api_key(|when, then| {
        when.key_id("k-1");
        // The models are `#[non_exhaustive]`: build them with their builders.
        let error = types::EndpointError::builder()
            .code(409)
            .message("API key k-1 is already deactivated");
        then.conflict(&error.try_into().expect("a whole error"));
    });
    let client = client(&server);

    let page = client
        .raw()
        .list_all_api_keys()
        .filter("alice")
        .limit(2u64)
        .send()
        .await
        .expect("scripted page");
    assert_eq!(
        page.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        ["k-1", "k-2"]
    );

    match client.raw().deactivate_api_key().key_id("k-1").send().await {
        Err(raw::Error::ErrorResponse(e)) => {
            assert_eq!(e.status(), StatusCode::CONFLICT);
            assert_eq!(e.message, "API key k-1 is already deactivated");
        }
        other => panic!("expected the scripted 409, got {other:?}"),
    }
    list.assert_async().await;
    conflict.assert_async().await;
}

#[tokio::test]
async fn unmatched_requests_do_not_hit_the_mock() {
    let server = MockServer::start_async().await;
    let delete = server.delete_api_key(|when, then| {
        when.key_id("k-1");
        then.no_content();
    });
    let client = client(&server);
    let other = client.raw().delete_api_key().key_id("k-2").send().await;
    assert!(other.is_err(), "k-2 is not scripted: {other:?}");
    // Through the front door, the miss is said as that, not as a wrong URL.
    let err = client
        .delete_api_key("k-2")
        .await
        .expect_err("not scripted");
    assert!(matches!(err, Error::NoMockMatched { .. }), "{err:?}");
    assert!(err.to_string().contains("matched no mock"), "{err}");
    client
        .raw()
        .delete_api_key()
        .key_id("k-1")
        .send()
        .await
        .expect("scripted 204");
    assert_eq!(delete.calls_async().await, 1);
}

/// The README's mistake, `with_server_url` on a mock
/// server that serves the API at its root, explains itself.
#[tokio::test]
async fn a_server_url_where_the_api_is_not_says_so() {
    let server = MockServer::start_async().await;
    let deactivate = server.deactivate_api_key(|when, then| {
        when.key_id("k-1");
        then.no_content();
    });
    let wrong = Client::builder()
        .with_server_url(server.base_url())
        .with_api_key("sk-test")
        .build()
        .expect("client builds");
    let err = wrong.deactivate_api_key("k-1").await.expect_err("404");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}/api/v1/admin/api_keys/deactivate/k-1",
            server.base_url()
        )),
        "names the URL: {text}"
    );
    assert!(text.contains("with_base_url"), "{text}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    client(&server)
        .deactivate_api_key("k-1")
        .await
        .expect("with_base_url reaches the mock");
    deactivate.assert();
}

/// The README's answers: an error body, a raw status and header through
/// `then.into_inner()`, and a condition on a header through
/// `when.into_inner()`.
#[tokio::test]
async fn errors_raw_statuses_and_headers_are_scripted() {
    let server = MockServer::start_async().await;
    let unavailable = server.delete_api_key(|when, then| {
        let when = when.key_id("k-1").into_inner();
        when.header("x-request-id", "cleanup-1");
        then.into_inner()
            .status(503)
            .header("retry-after", "7")
            .body("maintenance");
    });
    let client = Client::builder()
        .with_base_url(server.base_url())
        .with_api_key("sk-test")
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("client builds");
    let tagged = client.with_options(
        h2ogpte_api_keys::CallOptions::new()
            .with_header("x-request-id", "cleanup-1")
            .expect("a header"),
    );
    let err = tagged
        .delete_api_key("k-1")
        .await
        .expect_err("scripted 503");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
    unavailable.assert_async().await;
    // Without the header the mock does not match.
    let err = client.delete_api_key("k-1").await.expect_err("no header");
    assert!(matches!(err, Error::NoMockMatched { .. }), "{err:?}");
}

/// "503 with Retry-After, then the answer" in a few lines: the client's
/// retry sees the first, the caller sees the second.
#[tokio::test]
async fn a_sequence_fails_then_succeeds() {
    use h2ogpte_api_keys_mock::first_n;
    let server = MockServer::start_async().await;
    let unavailable = server.delete_api_key(|when, then| {
        when.key_id("k-1").into_inner().is_true(first_n(1));
        then.into_inner().status(503).header("retry-after", "0");
    });
    let deleted = server.delete_api_key(|when, then| {
        when.key_id("k-1");
        then.no_content();
    });
    client(&server)
        .delete_api_key("k-1")
        .await
        .expect("deleted on the second try");
    unavailable.assert_calls_async(1).await;
    deleted.assert_calls_async(1).await;
    // Without retries the caller sees the 503 once, then the answer.
    let server = MockServer::start_async().await;
    let _ = server.delete_api_key(|when, then| {
        when.key_id("k-2").into_inner().is_true(first_n(1));
        then.into_inner().status(503).header("retry-after", "0");
    });
    let _ = server.delete_api_key(|when, then| {
        when.key_id("k-2");
        then.no_content();
    });
    let once = Client::builder()
        .with_base_url(server.base_url())
        .with_api_key("sk-test")
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let err = once.delete_api_key("k-2").await.expect_err("the 503 first");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    once.delete_api_key("k-2").await.expect("then the answer");
}
