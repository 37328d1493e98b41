//! Property: any key id, from any Unicode string, arrives at the server
//! byte-for-byte as one path segment of the intended route, or is refused
//! before sending.

use h2ogpte_api_keys::{Client, Error};
use h2ogpte_test_support::capture::CaptureServer;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Ids built from the characters that break URLs, plus any Unicode.
fn key_id() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        "/", "\\", "?", "#", "%", "%2F", "%25", ".", "..", " ", "+", "&", "=", ";", ":", "@", "~",
        "\u{0}", "\t", "\n", "é", "💥", "\u{202e}", "[", "]", "{", "}", "|", "^", "`", "\"", "'",
    ]);
    prop::collection::vec(
        prop_oneof![tricky.prop_map(str::to_owned), any::<String>()],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

#[test]
fn any_key_id_is_one_segment_of_the_right_route() {
    let rt = runtime();
    let server = rt.block_on(CaptureServer::start());
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .build()
        .expect("client");
    let config = ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0068_326f_6770_7465),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(id in key_id(), op in 0..3u8)| {
        let before = server.requests().len();
        let (result, prefix, method) = rt.block_on(async {
            match op {
                0 => (client.delete_api_key(&id).await, "/api/v1/admin/api_keys/", "DELETE"),
                1 => (client.deactivate_api_key(&id).await, "/api/v1/admin/api_keys/deactivate/", "POST"),
                _ => (client.remove_api_key_expiry(&id).await, "/api/v1/admin/api_keys/expire/", "PATCH"),
            }
        });
        let seen = server.requests();
        if matches!(id.as_str(), "" | "." | "..") {
            prop_assert!(matches!(result, Err(Error::InvalidRequest { .. })), "{result:?}");
            prop_assert_eq!(seen.len(), before, "refused ids are never sent");
            return Ok(());
        }
        prop_assert!(result.is_ok(), "{:?}", result);
        prop_assert_eq!(seen.len(), before + 1);
        let req = &seen[before];
        prop_assert_eq!(&req.method, method);
        prop_assert!(req.query.is_none(), "nothing leaked into a query: {:?}", req.query);
        let segment = req.path.strip_prefix(prefix);
        prop_assert!(segment.is_some(), "{} is not under {}", req.path, prefix);
        let segment = segment.unwrap_or_default();
        prop_assert!(!segment.contains('/'), "one segment: {segment}");
        prop_assert!(
            segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "encoded like the official client: {segment}"
        );
        let decoded = percent_decode_str(segment).decode_utf8().map(|d| d.into_owned()).ok();
        prop_assert_eq!(decoded.as_deref(), Some(id.as_str()));
    });
}

#[test]
fn raw_refuses_ids_no_path_segment_can_carry() {
    let rt = runtime();
    let server = rt.block_on(CaptureServer::start());
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key("sk-admin")
        .build()
        .expect("client");
    let raw = client.raw();
    for id in ["", ".", ".."] {
        let results = rt.block_on(async {
            [
                raw.delete_api_key().key_id(id).send().await.map(|_| ()),
                raw.deactivate_api_key().key_id(id).send().await.map(|_| ()),
                raw.update_api_key_expiry()
                    .key_id(id)
                    .body(h2ogpte_api_keys::types::ApiKeyUpdateExpiryRequest::default())
                    .send()
                    .await
                    .map(|_| ()),
            ]
        });
        for result in results {
            let err = result.expect_err("refused");
            assert!(
                matches!(err, h2ogpte_api_keys::raw::Error::InvalidRequest(ref why) if why.contains("path segment")),
                "{id:?}: {err:?}"
            );
        }
        // The front door takes the same path, with the same typed error.
        let err = rt.block_on(client.delete_api_key(id)).expect_err("refused");
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}
