//! `ClientBuilder::with_request_hook` on the wire: the caller's headers reach
//! the server on every attempt, after the client's own, and a hook that
//! touches the bearer or a framing header is refused before anything is
//! sent.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use h2ogpte_api_keys::{
    Client, ClientBuilder, Error, ErrorKind, ListQuery, RetryPolicy,
    reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue},
    types,
};
use h2ogpte_test_support::{
    capture::CaptureServer,
    faulty::{FaultyServer, Reply},
};

const API_KEY: &str = "sk-hook-admin";

fn builder(url: String) -> ClientBuilder {
    Client::builder()
        .with_server_url(url)
        .with_api_key(API_KEY)
        .with_retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(10))
                .with_max_delay(Duration::from_millis(50)),
        )
}

#[tokio::test]
async fn the_hook_adds_headers_to_every_request_and_the_bearer_stays() {
    let server = CaptureServer::start().await;
    // A token the caller refreshes between calls, read by the hook each time.
    let token = Arc::new(Mutex::new("token-1".to_owned()));
    let current = token.clone();
    let client = builder(server.url())
        .with_request_hook(move |info, headers| {
            let trace = format!("00-{:032x}-{:016x}-01", 7, info.attempt());
            headers.insert("traceparent", HeaderValue::try_from(trace).expect("ascii"));
            let token = current.lock().expect("token").clone();
            headers.insert(
                "x-ingress-token",
                HeaderValue::try_from(token).expect("ascii"),
            );
            headers.insert(
                "x-operation",
                HeaderValue::try_from(info.operation_id()).expect("ascii"),
            );
        })
        .build()
        .expect("client");

    client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("list");
    *token.lock().expect("token") = "token-2".to_owned();
    client
        .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-1"))
        .await
        .expect("create");

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for (request, (operation, token)) in seen.iter().zip([
        ("list_all_api_keys", "token-1"),
        ("create_api_key_for_user", "token-2"),
    ]) {
        let header = |name: &str| request.headers.get(name).map(String::as_str);
        assert_eq!(header("authorization"), Some(&*format!("Bearer {API_KEY}")));
        assert_eq!(
            header("traceparent"),
            Some("00-00000000000000000000000000000007-0000000000000001-01")
        );
        assert_eq!(header("x-ingress-token"), Some(token));
        assert_eq!(header("x-operation"), Some(operation));
    }
}

#[tokio::test]
async fn the_hook_runs_again_on_each_retry() {
    let server = FaultyServer::start(vec![Reply::json(503, "busy"), Reply::json(200, "[]")]).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let client = builder(server.url())
        .with_request_hook(move |info, _| {
            record
                .lock()
                .expect("record")
                .push((info.operation_id().to_owned(), info.attempt()));
        })
        .build()
        .expect("client");
    client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect("the retry succeeds");
    assert_eq!(
        *seen.lock().expect("record"),
        [
            ("list_all_api_keys".to_owned(), 1),
            ("list_all_api_keys".to_owned(), 2)
        ]
    );
}

#[tokio::test]
async fn a_hook_that_touches_the_bearer_or_the_framing_is_refused_before_sending() {
    type Edit = fn(&mut HeaderMap);
    let cases: [(&str, &str, Edit); 11] = [
        ("replaces the bearer", "authorization", |h| {
            h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer sk-other"));
        }),
        ("removes the bearer", "authorization", |h| {
            h.remove(AUTHORIZATION);
        }),
        ("adds a second bearer", "authorization", |h| {
            h.append(AUTHORIZATION, HeaderValue::from_static("Bearer sk-other"));
        }),
        ("sets the host", "host", |h| {
            h.insert("host", HeaderValue::from_static("elsewhere.example"));
        }),
        ("adds a cookie", "cookie", |h| {
            h.insert("cookie", HeaderValue::from_static("session=1"));
        }),
        ("overrides the method", "x-http-method-override", |h| {
            h.insert("x-http-method-override", HeaderValue::from_static("DELETE"));
        }),
        ("overrides the method so", "x-http-method", |h| {
            h.insert("x-http-method", HeaderValue::from_static("DELETE"));
        }),
        ("overrides the method thus", "x-method-override", |h| {
            h.insert("x-method-override", HeaderValue::from_static("DELETE"));
        }),
        ("rewrites the URL", "x-original-url", |h| {
            h.insert("x-original-url", HeaderValue::from_static("/admin/users"));
        }),
        ("rewrites the URL so", "x-rewrite-url", |h| {
            h.insert("x-rewrite-url", HeaderValue::from_static("/admin/users"));
        }),
        ("encodes the body", "content-encoding", |h| {
            h.insert("content-encoding", HeaderValue::from_static("gzip"));
        }),
    ];
    for (what, header, edit) in cases {
        let server = CaptureServer::start().await;
        let client = builder(server.url())
            .with_request_hook(move |_, headers| edit(headers))
            .build()
            .expect("client");
        let err = client
            .list_all_api_keys(&ListQuery::new())
            .await
            .expect_err(what);
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{what}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::RefusedBeforeSending, "{what}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("the request hook changed the {header} header")),
            "{what}: {message}"
        );
        assert!(
            !message.contains("sk-other"),
            "{what}: no value is echoed: {message}"
        );
        assert!(server.requests().is_empty(), "{what}: nothing was sent");
    }
}
