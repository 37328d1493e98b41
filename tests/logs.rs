//! Logs, `Debug` and `Display` of a whole lifecycle never show the API key,
//! the Authorization header or a created secret, while the per-attempt spans
//! do show operation, method, attempt and status.

use h2ogpte_api_keys::{Client, ListQuery, types};
use h2ogpte_fake_server::FakeServer;
use h2ogpte_test_support::logs::logged;

#[tokio::test]
async fn secrets_never_reach_logs_debug_or_display() {
    let ((admin_key, secret, printed), logs) = logged(lifecycle()).await;
    for (what, value) in [
        ("admin key", admin_key.as_str()),
        ("created secret", secret.as_str()),
    ] {
        assert!(!logs.contains(value), "{what} in logs:\n{logs}");
        assert!(
            !printed.contains(value),
            "{what} in Debug/Display:\n{printed}"
        );
    }
    assert!(
        !logs.to_lowercase().contains("bearer "),
        "no Authorization header in logs"
    );
    assert!(printed.contains("[redacted]"), "{printed}");
    for expected in [
        "operation=\"create_api_key_for_user\"",
        "method=POST",
        "attempt=1",
        "status=201",
        "operation=\"deactivate_api_key\"",
        "status=409",
        "elapsed_ms=",
    ] {
        assert!(
            logs.contains(expected),
            "{expected} missing from logs:\n{logs}"
        );
    }
}

/// A key's lifecycle with everything printable printed: returns the admin
/// key, the created secret, and all the `Debug` and `Display` text.
async fn lifecycle() -> (String, String, String) {
    let server = FakeServer::builder()
        .user("u-1", "alice")
        .start()
        .await
        .expect("server");
    let admin_key = server.admin_key().to_owned();
    let builder = Client::builder()
        .with_server_url(server.url())
        .with_api_key(&admin_key);
    let mut printed = format!("{builder:?}\n");
    let client = builder.build().expect("client");
    printed += &format!("{client:?}\n{:?}\n", client.raw());

    let created = client
        .create_api_key_for_user(
            types::ApiKeyCreateRequest::builder()
                .user_id("u-1")
                .name("n".to_owned()),
        )
        .await
        .expect("create");
    let secret = created.secret_key.expose().to_owned();
    printed += &format!("{created:?}\n{created:#?}\n");
    let id = created.api_key.id.clone();
    printed += &format!(
        "{:?}\n",
        client
            .collect_all_api_keys(&ListQuery::new())
            .await
            .expect("list")
    );
    client
        .set_api_key_expiry(&id, "1 day")
        .await
        .expect("expire");
    client
        .remove_api_key_expiry(&id)
        .await
        .expect("remove expiry");
    client.deactivate_api_key(&id).await.expect("deactivate");
    let conflict = client.deactivate_api_key(&id).await.expect_err("409");
    printed += &format!("{conflict:?}\n{conflict}\n");
    client.delete_api_key(&id).await.expect("delete");

    // The new key is itself an admin's credential only if its user is an
    // admin; use a fresh admin key to check failed auth does not log it.
    let wrong = Client::builder()
        .with_server_url(server.url())
        .with_api_key(&secret)
        .build()
        .expect("client");
    let unauthorized = wrong
        .collect_all_api_keys(&ListQuery::new())
        .await
        .expect_err("401");
    printed += &format!("{unauthorized:?}\n{unauthorized}\n{wrong:?}\n");

    (admin_key, secret, printed)
}

/// The per-attempt span carries OpenTelemetry's HTTP
/// client attribute names, beside its own.
#[tokio::test]
async fn spans_carry_opentelemetry_http_client_attributes() {
    let (port, logs) = logged(async {
        let server = FakeServer::builder()
            .user("u-1", "alice")
            .start()
            .await
            .expect("server");
        let client = Client::builder()
            .with_server_url(server.url())
            .with_api_key(server.admin_key())
            .build()
            .expect("client");
        let created = client
            .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-1"))
            .await
            .expect("created");
        let _ = client.delete_api_key(&created.api_key.id).await;
        let _ = client.delete_api_key(&created.api_key.id).await; // 404
        server.addr().port()
    })
    .await;
    for expected in [
        "otel.kind=\"client\"".to_owned(),
        "http.request.method=POST".to_owned(),
        "http.request.method=DELETE".to_owned(),
        "server.address=\"127.0.0.1\"".to_owned(),
        format!("server.port={port}"),
        format!("url.full=http://127.0.0.1:{port}/api/v1/admin/api_keys"),
        "http.response.status_code=201".to_owned(),
        "http.response.status_code=404".to_owned(),
        "error.type=\"404\"".to_owned(),
        "operation=\"create_api_key_for_user\"".to_owned(),
    ] {
        assert!(
            logs.contains(&expected),
            "{expected} missing from logs:\n{logs}"
        );
    }
}

/// A list's `filter` is the caller's text (a pasted
/// secret, at worst): the span's `url.full` keeps the path and the paging
/// numbers, and redacts it.
#[tokio::test]
async fn a_filter_never_reaches_a_span() {
    let (port, logs) = logged(async {
        let server = FakeServer::builder().start().await.expect("server");
        let client = Client::builder()
            .with_server_url(server.url())
            .with_api_key(server.admin_key())
            .build()
            .expect("client");
        let query = ListQuery::new()
            .with_filter("sk-FILTER-PASTED-SECRET")
            .with_limit(50);
        client.list_all_api_keys(&query).await.expect("a page");
        server.addr().port()
    })
    .await;
    assert!(!logs.contains("sk-FILTER"), "{logs}");
    let expected = format!(
        "url.full=http://127.0.0.1:{port}/api/v1/admin/api_keys?offset=0&limit=50&filter=REDACTED"
    );
    assert!(logs.contains(&expected), "{expected} missing from:\n{logs}");
}
