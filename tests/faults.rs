//! The client against a server that misbehaves on purpose: for each fault the
//! typed error or success expected, no panic, and a create sent exactly once.

use std::time::Duration;

use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, Error, ListQuery, RetryPolicy, reqwest::StatusCode, types};
use h2ogpte_test_support::{
    endless::EndlessServer,
    faulty::{FaultyServer, Reply},
    logs::logged,
};

const KEY: &str = r#"{"id":"k1","username":"alice","name":"n","hint":"abcd","created_at":"2026-11-02T09:14:07Z","total_calls":3,"is_active":true,"is_global_key":true}"#;

fn page() -> String {
    format!("[{KEY}]")
}

fn created() -> String {
    format!(r#"{{"secret_key":"sk-fault-test","api_key":{KEY}}}"#)
}

fn client(server: &FaultyServer) -> Client {
    Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .with_timeout(Duration::from_millis(500))
        .with_retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(10))
                .with_max_delay(Duration::from_millis(50))
                .with_max_retry_after(Duration::from_secs(1)),
        )
        .build()
        .expect("client")
}

async fn list(server: &FaultyServer) -> Result<Vec<types::ApiKeyInfo>, Error> {
    client(server).list_all_api_keys(&ListQuery::new()).await
}

async fn create(server: &FaultyServer) -> Result<types::ApiKeyResult, Error> {
    let result = client(server)
        .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-1"))
        .await;
    assert_eq!(server.requests().len(), 1, "a create is sent exactly once");
    result
}

#[tokio::test]
async fn unavailable_then_success_is_retried() {
    let server =
        FaultyServer::start(vec![Reply::json(503, "busy"), Reply::json(200, &page())]).await;
    assert_eq!(
        list(&server).await.expect("second attempt succeeds").len(),
        1
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    // The policy's backoff is 10 ms; the server asks for 1 s, which wins.
    // The wait chosen is read from the client's `retrying` event, not timed.
    let server = FaultyServer::start(vec![
        Reply::json(429, "{}").with_header("retry-after", "1"),
        Reply::json(200, &page()),
    ])
    .await;
    let (result, logs) = logged(list(&server)).await;
    result.expect("succeeds after waiting");
    assert!(logs.contains("delay=1s"), "{logs}");
    // OpenTelemetry's attributes: the failed attempt, and the resend.
    assert!(logs.contains("error.type=\"429\""), "{logs}");
    assert!(logs.contains("http.request.resend_count=1"), "{logs}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn unavailable_is_not_retried_for_create() {
    let server = FaultyServer::start(vec![Reply::json(503, "busy")]).await;
    let err = create(&server).await.expect_err("503");
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(err.is_retryable(), "retryable in general, not for create");
}

#[tokio::test]
async fn reset_before_response() {
    let server =
        FaultyServer::start(vec![Reply::ResetBeforeResponse, Reply::json(200, &page())]).await;
    list(&server).await.expect("list retries after a reset");
    assert_eq!(server.requests().len(), 2);

    let server = FaultyServer::start(vec![
        Reply::ResetBeforeResponse,
        Reply::json(201, &created()),
    ])
    .await;
    let err = create(&server)
        .await
        .expect_err("the reset is reported, not retried");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn reset_after_the_response_starts() {
    let truncated = || Reply::ResetMidBody {
        status: 200,
        declared: 4096,
        body: page().as_bytes()[..20].to_vec(),
    };
    let server = FaultyServer::start(vec![truncated(), Reply::json(200, &page())]).await;
    list(&server)
        .await
        .expect("list retries after a reset mid-body");
    assert_eq!(server.requests().len(), 2);

    let server = FaultyServer::start(vec![Reply::ResetMidBody {
        status: 201,
        declared: 4096,
        body: created().as_bytes()[..30].to_vec(),
    }])
    .await;
    let err = create(&server).await.expect_err("reset mid-body");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn stall_past_the_timeout() {
    let server = FaultyServer::start(vec![Reply::Stall(Duration::from_secs(3))]).await;
    let err = create(&server).await.expect_err("times out");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("with_timeout"), "{err}");

    let server = FaultyServer::start(vec![
        Reply::Stall(Duration::from_secs(3)),
        Reply::json(200, &page()),
    ])
    .await;
    list(&server).await.expect("list retries after a timeout");
}

#[tokio::test]
async fn html_bad_gateway_from_a_proxy() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = FaultyServer::start(vec![Reply::Respond {
        status: 502,
        headers: vec![("content-type", "text/html".into())],
        body: html.as_bytes().to_vec(),
    }])
    .await;
    let err = create(&server).await.expect_err("502");
    match &err {
        Error::UnexpectedStatus { status, body, .. } => {
            assert_eq!(*status, StatusCode::BAD_GATEWAY);
            assert!(body.contains("502 Bad Gateway"), "{body}");
        }
        other => panic!("expected UnexpectedStatus, got {other:?}"),
    }
    // A list retries it, then gives up with the same error.
    let server = FaultyServer::start(vec![Reply::json(502, html)]).await;
    let err = list(&server).await.expect_err("502 every time");
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(
        server.requests().len(),
        3,
        "the default policy makes 3 attempts"
    );
}

#[tokio::test]
async fn truncated_json() {
    let server = FaultyServer::start(vec![Reply::json(200, &page()[..40])]).await;
    let err = list(&server).await.expect_err("truncated");
    match &err {
        Error::Decode { status, body, .. } => {
            assert_eq!(*status, Some(StatusCode::OK));
            assert!(body.starts_with("[{\"id\""), "{body}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1, "a bad body is not retried");
}

#[tokio::test]
async fn wrong_type_in_a_field() {
    let body = page().replace("\"total_calls\":3", "\"total_calls\":\"many\"");
    let server = FaultyServer::start(vec![Reply::json(200, &body)]).await;
    let err = list(&server).await.expect_err("wrong type");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        err.to_string().contains("[0].total_calls: invalid type"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_required_field() {
    let body = created().replace("\"hint\":\"abcd\",", "");
    let server = FaultyServer::start(vec![Reply::json(201, &body)]).await;
    let err = create(&server).await.expect_err("missing hint");
    assert!(err.to_string().contains("missing field `hint`"), "{err}");
    assert_eq!(err.status(), Some(StatusCode::CREATED));
}

#[tokio::test]
async fn unknown_extra_fields_are_fine() {
    let body = created().replace("\"hint\":", "\"added_in_v2\":{\"x\":[1]},\"hint\":");
    let server = FaultyServer::start(vec![Reply::json(201, &body)]).await;
    let result = create(&server).await.expect("extra fields are ignored");
    assert_eq!(result.secret_key.expose(), "sk-fault-test");
}

#[tokio::test]
async fn empty_success_body() {
    let server = FaultyServer::start(vec![Reply::json(200, "")]).await;
    let err = list(&server).await.expect_err("empty body");
    assert!(
        matches!(
            err,
            Error::Decode {
                status: Some(StatusCode::OK),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirect_is_reported_not_followed() {
    let server = FaultyServer::start(vec![Reply::Respond {
        status: 301,
        headers: vec![(
            "location",
            "https://h2ogpte.example/api/v1/admin/api_keys".into(),
        )],
        body: Vec::new(),
    }])
    .await;
    let err = create(&server).await.expect_err("301");
    assert_eq!(err.status(), Some(StatusCode::MOVED_PERMANENTLY));
    let message = err.to_string();
    assert!(
        message.contains("https://h2ogpte.example/api/v1/admin/api_keys"),
        "{message}"
    );
    assert!(message.contains("without a trailing slash"), "{message}");
}

#[tokio::test]
async fn huge_error_body_is_read_bounded() {
    let huge = "x".repeat(8 << 20);
    let server = FaultyServer::start(vec![Reply::Respond {
        status: 500,
        headers: vec![("content-type", "text/plain".into())],
        body: huge.into_bytes(),
    }])
    .await;
    let err = create(&server).await.expect_err("500 with 8 MiB of text");
    match &err {
        Error::UnexpectedStatus { body, .. } | Error::Decode { body, .. } => {
            assert!(
                body.len() <= h2ogpte_api_keys::BODY_SNIPPET_LIMIT + 3,
                "{}",
                body.len()
            );
        }
        other => panic!("expected a bounded body, got {other:?}"),
    }
    assert!(err.to_string().len() < 1024);
}

#[tokio::test]
async fn retried_deactivate_and_delete_count_earlier_success() {
    // The first attempt's response is lost; the server had deactivated the
    // key, so the retry hears 409: that is the job done.
    let conflict = r#"{"code":409,"message":"API key k1 is already inactive"}"#;
    let server =
        FaultyServer::start(vec![Reply::ResetBeforeResponse, Reply::json(409, conflict)]).await;
    client(&server)
        .deactivate_api_key("k1")
        .await
        .expect("done by the first attempt");
    // A gateway's 502 may come after the API acted: the 404 is the job done.
    let not_found = r#"{"code":404,"message":"API key k1 not found"}"#;
    let server = FaultyServer::start(vec![Reply::json(502, ""), Reply::json(404, not_found)]).await;
    client(&server)
        .delete_api_key("k1")
        .await
        .expect("done by the first attempt");
    // Without an earlier attempt, a 409 is the caller's error.
    let server = FaultyServer::start(vec![Reply::json(409, conflict)]).await;
    let err = client(&server)
        .deactivate_api_key("k1")
        .await
        .expect_err("409");
    assert_eq!(err.endpoint_error().map(|e| e.code), Some(409));
}

#[tokio::test]
async fn statuses_that_prove_nothing_was_done_keep_the_error() {
    // 429 and 503 say the request was not processed: the 404 or 409 that
    // follows is the answer to the only request that counted.
    let not_found = r#"{"code":404,"message":"API key typo-1 not found"}"#;
    let conflict = r#"{"code":409,"message":"API key k1 is already inactive"}"#;
    for first in [429, 503] {
        let server =
            FaultyServer::start(vec![Reply::json(first, ""), Reply::json(404, not_found)]).await;
        let err = client(&server)
            .delete_api_key("typo-1")
            .await
            .expect_err("nothing was deleted");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "after {first}");
        let server =
            FaultyServer::start(vec![Reply::json(first, ""), Reply::json(409, conflict)]).await;
        let err = client(&server)
            .deactivate_api_key("k1")
            .await
            .expect_err("nothing was deactivated by us");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "after {first}");
    }
}

#[tokio::test]
async fn connection_refused_names_the_url_and_create_may_retry() {
    // Bind and drop to get a port nothing listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let client = Client::builder()
        .with_server_url(format!("http://{addr}"))
        .with_api_key("sk-admin")
        .with_retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
        .build()
        .expect("client");
    let err = client
        .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-1"))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_unsent());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

// Bounded memory on every response.
#[tokio::test]
async fn endless_bodies_stop_at_the_response_limit() {
    const LIMIT: usize = 1 << 20;
    let limited = |server: &FaultyServer| {
        Client::builder()
            .with_server_url(server.url())
            .with_api_key("sk-admin")
            .with_max_response_bytes(LIMIT)
            .with_retry_policy(RetryPolicy::none())
            .build()
            .expect("client")
    };
    let pattern = format!("{KEY},").into_bytes();
    // A success body (list) and a documented error body (create's 500) alike.
    let server = FaultyServer::start(vec![Reply::Endless {
        status: 200,
        pattern: pattern.clone(),
    }])
    .await;
    let err = limited(&server)
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: LIMIT }),
        "{err:?}"
    );
    assert!(err.to_string().contains("with_max_response_bytes"), "{err}");
    let server = FaultyServer::start(vec![Reply::Endless {
        status: 500,
        pattern: br#"{"code":500,"message":"#.to_vec(),
    }])
    .await;
    let err = limited(&server)
        .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("u-1"))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: LIMIT }),
        "{err:?}"
    );
    // The raw client is bounded too: the limit lives in the hooks.
    let server = FaultyServer::start(vec![Reply::Endless {
        status: 200,
        pattern,
    }])
    .await;
    let raw = limited(&server).raw().list_all_api_keys().send().await;
    assert!(raw.is_err(), "the raw call fails rather than growing");
}

#[tokio::test]
async fn drip_fed_body_is_bounded_by_the_request_timeout() {
    let server = FaultyServer::start(vec![Reply::Drip {
        status: 200,
        every: Duration::from_millis(50),
    }])
    .await;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .with_timeout(Duration::from_millis(300))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let err = client
        .list_all_api_keys(&ListQuery::new())
        .await
        .expect_err("times out");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

// Paging ends, whatever the server does.
#[tokio::test]
async fn paging_ends_when_the_server_ignores_offset() {
    use futures::TryStreamExt;
    // The same full page for every offset.
    let server = FaultyServer::start(vec![Reply::json(200, &page())]).await;
    let one_at_a_time = ListQuery::new().with_limit(1).with_prefetch(1);
    let err = client(&server)
        .stream_all_api_keys(&one_at_a_time)
        .try_collect::<Vec<_>>()
        .await
        .expect_err("stops");
    assert!(matches!(err, Error::Paging { .. }), "{err:?}");
    assert!(err.to_string().contains("ignores `offset`"), "{err}");
    assert_eq!(server.requests().len(), 2, "one key yielded, two requests");

    // Fetching ahead, the requests stay bounded by the keys yielded plus
    // the pages in flight.
    let server = FaultyServer::start(vec![Reply::json(200, &page())]).await;
    let err = client(&server)
        .stream_all_api_keys(&ListQuery::new().with_limit(1).with_prefetch(4))
        .try_collect::<Vec<_>>()
        .await
        .expect_err("stops");
    assert!(matches!(err, Error::Paging { .. }), "{err:?}");
    let sent = server.requests().len();
    assert!((2..=1 + 4 + 1).contains(&sent), "{sent} requests");
}

#[tokio::test]
async fn paging_ends_when_the_server_ignores_limit() {
    use futures::TryStreamExt;
    let two = format!("[{KEY},{}]", KEY.replace("\"k1\"", "\"k2\""));
    let server = FaultyServer::start(vec![Reply::json(200, &two)]).await;
    let err = client(&server)
        .stream_all_api_keys(&ListQuery::new().with_limit(1).with_prefetch(1))
        .try_collect::<Vec<_>>()
        .await
        .expect_err("stops");
    assert!(matches!(err, Error::Paging { .. }), "{err:?}");
    assert!(err.to_string().contains("ignores `limit`"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

// A created secret never leaks.
#[tokio::test]
async fn malformed_create_response_never_shows_the_secret() {
    const SECRET: &str = "sk-LEAKED0secret0value";
    let bodies = [
        // 201 with a key that does not decode.
        (
            201,
            format!(r#"{{"secret_key":"{SECRET}","api_key":{{"id":5}}}}"#),
        ),
        // 201 whose decoder message would quote the secret.
        (
            201,
            format!(r#"{{"api_key":"{SECRET}","secret_key":"{SECRET}"}}"#),
        ),
        // An undocumented success status carrying it.
        (200, created().replace("sk-fault-test", SECRET)),
        // A documented error status that echoes it.
        (400, format!(r#"{{"code":"x","secret_key" : "{SECRET}"}}"#)),
    ];
    let ((), logs) = logged(async {
        for (status, body) in bodies {
            let server = FaultyServer::start(vec![Reply::json(status, &body)]).await;
            let err = create(&server).await.expect_err("undecodable");
            let shown = format!("{err}\n{err:?}\n{err:#?}");
            assert!(!shown.contains(SECRET), "{status}: {shown}");
            assert!(!shown.contains("LEAKED"), "{status}: {shown}");
        }
    })
    .await;
    assert!(
        logs.contains("undecodable"),
        "the events were logged: {logs}"
    );
    assert!(!logs.contains("LEAKED"), "{logs}");
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_at_the_key_bound() {
    let server = EndlessServer::start(None, 0).await;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .with_max_stream_keys(1_000)
        .build()
        .expect("client");
    let query = ListQuery::new().with_limit(100).with_prefetch(1);
    let mut keys = std::pin::pin!(client.stream_all_api_keys(&query));
    let mut yielded = 0u64;
    let err = loop {
        match keys.try_next().await {
            Ok(Some(_)) => yielded += 1,
            Ok(None) => panic!("an endless listing cannot end"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, Error::TooManyKeys { limit: 1_000 }),
        "{err:?}"
    );
    assert_eq!(yielded, 1_000);
    assert!(server.requests() <= 11, "{} requests", server.requests());
}

#[tokio::test]
async fn a_page_larger_than_its_limit_is_refused() {
    let server = EndlessServer::start(None, 5).await;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .build()
        .expect("client");
    let err = client
        .list_all_api_keys(&ListQuery::new().with_limit(5))
        .await
        .expect_err("ten keys for a limit of five");
    assert!(err.to_string().contains("ignores `limit`"), "{err}");
}

#[tokio::test]
async fn prefetch_is_bounded() {
    // Six keys in pages of two: four requests are needed, and however
    // large the prefetch asked for, at most those and MAX_PREFETCH ahead
    // of them are made.
    let server = EndlessServer::start(Some(6), 0).await;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .with_prefetch(20_000)
        .build()
        .expect("client");
    let keys = client
        .collect_all_api_keys(&ListQuery::new().with_limit(2))
        .await
        .expect("keys");
    assert_eq!(keys.len(), 6);
    let max = h2ogpte_api_keys::MAX_PREFETCH;
    assert!(
        server.requests() <= 4 + max,
        "{} requests",
        server.requests()
    );
    assert_eq!(ListQuery::new().with_prefetch(20_000).prefetch(), Some(max));
    assert_eq!(ListQuery::new().with_prefetch(0).prefetch(), Some(1));
}

/// A listing that fits in one page costs one request, whatever the
/// prefetch; a full first page starts the prefetch.
#[tokio::test]
async fn a_short_listing_is_one_request() {
    use futures::TryStreamExt;
    let three = format!(
        "[{KEY},{},{}]",
        KEY.replace("\"k1\"", "\"k2\""),
        KEY.replace("\"k1\"", "\"k3\"")
    );
    let server = FaultyServer::start(vec![Reply::json(200, &three)]).await;
    let keys: Vec<_> = client(&server)
        .stream_all_api_keys(&ListQuery::new().with_prefetch(8))
        .try_collect()
        .await
        .expect("keys");
    assert_eq!(keys.len(), 3);
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    // A key looked up by id, the same.
    let server = FaultyServer::start(vec![Reply::json(200, &three)]).await;
    let found = client(&server).find_api_key("k3").await.expect("found");
    assert!(found.is_some());
    assert_eq!(server.requests().len(), 1);
}

/// A key a hostile server lists on pages 1 and 3 is yielded once, for
/// every consumer (the audit counted it twice).
#[tokio::test]
async fn a_key_listed_on_two_pages_is_yielded_once() {
    use futures::TryStreamExt;
    let key = |id: &str| KEY.replace("\"k1\"", &format!("\"{id}\""));
    let server = FaultyServer::start(vec![
        Reply::json(200, &format!("[{},{}]", key("a"), key("b"))),
        Reply::json(200, &format!("[{},{}]", key("c"), key("d"))),
        Reply::json(200, &format!("[{},{}]", key("a"), key("e"))),
        Reply::json(200, "[]"),
    ])
    .await;
    let ids: Vec<String> = client(&server)
        .stream_all_api_keys(&ListQuery::new().with_limit(2).with_prefetch(1))
        .map_ok(|k| k.id)
        .try_collect()
        .await
        .expect("keys");
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
}

/// An exact user: the API's filter is a substring, so `svc-etl` lists
/// `svc-etl-staging` too; the stream keeps only `svc-etl`'s keys, and a
/// full page of other users' keys does not pass for a server ignoring
/// `offset`.
#[tokio::test]
async fn an_exact_user_keeps_only_that_users_keys() {
    use futures::TryStreamExt;
    let key = |id: &str, user: &str| {
        KEY.replace("\"k1\"", &format!("\"{id}\""))
            .replace("\"alice\"", &format!("\"{user}\""))
    };
    let server = FaultyServer::start(vec![
        Reply::json(
            200,
            &format!(
                "[{},{}]",
                key("s1", "svc-etl-staging"),
                key("s2", "svc-etl-staging")
            ),
        ),
        Reply::json(
            200,
            &format!(
                "[{},{}]",
                key("e1", "svc-etl"),
                key("s3", "svc-etl-staging")
            ),
        ),
        Reply::json(200, &format!("[{}]", key("e2", "svc-etl"))),
    ])
    .await;
    let query = ListQuery::new()
        .with_user("svc-etl")
        .with_limit(2)
        .with_prefetch(1);
    assert_eq!(
        query.filter(),
        Some("svc-etl"),
        "the server narrows the listing"
    );
    let ids: Vec<String> = client(&server)
        .stream_all_api_keys(&query)
        .map_ok(|k| k.id)
        .try_collect()
        .await
        .expect("keys");
    assert_eq!(ids, ["e1", "e2"]);
}
