//! Transport options the README promises: a proxy is used, and a caller's own
//! `reqwest::Client` still sends the bearer header (set by a hook, not by the
//! builder's default headers).

use h2ogpte_api_keys::{Client, ListQuery, reqwest};
use h2ogpte_test_support::capture::CaptureServer;

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let proxy = CaptureServer::start().await;
    // The host does not exist: only the proxy can answer.
    let client = Client::builder()
        .with_server_url("http://h2ogpte.invalid")
        .with_allow_insecure_http(true)
        .with_api_key("sk-proxy-test")
        .with_proxy(reqwest::Proxy::http(proxy.url()).expect("proxy url"))
        .build()
        .expect("client");
    client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("answered by the proxy");
    let seen = proxy.only_request();
    assert_eq!(seen.path, "/api/v1/admin/api_keys");
    assert_eq!(
        seen.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-proxy-test")
    );
}

#[tokio::test]
async fn a_supplied_http_client_still_sends_the_key() {
    let server = CaptureServer::start().await;
    h2ogpte_api_keys::install_crypto_provider();
    let http = reqwest::Client::builder()
        .user_agent("caller-agent/1")
        .build()
        .expect("reqwest");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-own-client")
        .with_http_client(http)
        .build()
        .expect("client");
    client.delete_api_key("k-1").await.expect("204");
    let seen = server.only_request();
    assert_eq!(
        seen.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-own-client")
    );
    assert_eq!(
        seen.headers.get("user-agent").map(String::as_str),
        Some("caller-agent/1"),
        "the caller's client as it is"
    );
}
