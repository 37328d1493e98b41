//! The hand-written front door against the spec: every query parameter the
//! spec documents for listing is one `ListQuery` can send, so a parameter a
//! new release adds is not left to `raw()` alone unnoticed.

use h2ogpte_api_keys::{Client, ListQuery};
use h2ogpte_test_support::capture::CaptureServer;
use serde_json::Value;

const SPEC: &str = include_str!("../openapi/h2ogpte-api-keys.yaml");

/// The query parameters the spec documents for `list_all_api_keys`.
fn documented() -> Vec<String> {
    let spec: Value = serde_yaml_ng::from_str(SPEC).expect("the spec parses");
    let op = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().expect("item").values())
        .find(|op| op["operationId"] == "list_all_api_keys")
        .expect("list_all_api_keys")
        .clone();
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => spec
                .pointer(r.trim_start_matches('#'))
                .expect("$ref")
                .clone(),
            None => p.clone(),
        })
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect()
}

/// `ListQuery`'s setters that send nothing, with why.
const NOT_SENT: [(&str, &str); 2] = [
    (
        "with_prefetch",
        "how many pages the stream reads ahead: nothing on the wire",
    ),
    (
        "with_user",
        "sends its name as the filter (`with_filter`, called here); the exact match is the stream's",
    ),
];

/// The `with_*` methods of `ListQuery`, read from its source.
fn list_query_setters() -> Vec<String> {
    let file: syn::File =
        syn::parse_str(include_str!("../src/query.rs")).expect("src/query.rs parses");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(block)
                if quote::ToTokens::to_token_stream(&block.self_ty).to_string() == "ListQuery" =>
            {
                Some(block)
            }
            _ => None,
        })
        .flat_map(|block| &block.items)
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident.to_string().starts_with("with_") => {
                Some(f.sig.ident.to_string())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn list_query_sends_every_documented_parameter() {
    let server = CaptureServer::start().await;
    let client = Client::builder()
        .with_base_url(server.url())
        .with_api_key("sk-test")
        .build()
        .expect("client");
    // Every setter ListQuery has that puts a parameter on the wire; the
    // list below is checked against src/query.rs.
    const CALLED: [&str; 3] = ["with_offset", "with_limit", "with_filter"];
    let query = ListQuery::new()
        .with_offset(5)
        .with_limit(7)
        .with_filter("alice");
    let mut setters = list_query_setters();
    setters.retain(|s| !NOT_SENT.iter().any(|(name, _)| name == s));
    setters.sort();
    let mut called = CALLED.map(str::to_owned).to_vec();
    called.sort();
    assert_eq!(
        setters, called,
        "ListQuery's setters (src/query.rs) and the ones this test calls differ: call each new setter above, or list it in NOT_SENT with why"
    );
    let _ = client.list_all_api_keys(&query).await;
    let sent = server.only_request().query.unwrap_or_default();
    let names: Vec<&str> = sent
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let documented = documented();
    assert!(
        !documented.is_empty(),
        "the spec documents no query parameter for list_all_api_keys: this test would check nothing"
    );
    let undocumented: Vec<&&str> = names
        .iter()
        .filter(|n| !documented.iter().any(|d| d == *n))
        .collect();
    assert!(
        undocumented.is_empty(),
        "the front door sends list parameters the spec does not document: {undocumented:?}"
    );
    let unreachable: Vec<String> = documented
        .into_iter()
        .filter(|p| !names.contains(&p.as_str()))
        .collect();
    assert!(
        unreachable.is_empty(),
        "the spec documents list parameters the front door cannot send: {unreachable:?} (only raw() reaches them); add a ListQuery setter in src/query.rs and pass it in Client::list_all_api_keys (src/client.rs) and the paging in src/paging.rs"
    );
}
