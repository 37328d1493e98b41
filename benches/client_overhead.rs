//! Per-call cost of this client (hooks, retry scope, error mapping) against the
//! same request made with a bare `reqwest::Client`, both on one in-process fake
//! server over loopback: list (a page of 100) and create.
//!
//! Run with `cargo bench -p h2ogpte-benches --bench client_overhead`.

use std::sync::LazyLock;

use h2ogpte_api_keys::{Client, ListQuery, types};
use h2ogpte_fake_server::FakeServer;
use reqwest::header::AUTHORIZATION;

fn main() {
    divan::main();
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    _server: FakeServer,
    client: Client,
    bare: reqwest::Client,
    keys_url: String,
    bearer: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(FakeServer::builder().plain_keys(200).start())
        .expect("fake server");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()
        .expect("client");
    h2ogpte_api_keys::install_crypto_provider();
    let bare = reqwest::Client::builder().build().expect("reqwest");
    Fixture {
        keys_url: format!("{}/api/v1/admin/api_keys", server.url()),
        bearer: format!("Bearer {}", server.admin_key()),
        rt,
        _server: server,
        client,
        bare,
    }
});

#[divan::bench]
fn list_page_client(b: divan::Bencher) {
    let f = &*FIXTURE;
    b.bench(|| {
        let page =
            f.rt.block_on(f.client.list_all_api_keys(&ListQuery::new()))
                .expect("list");
        assert_eq!(page.len(), 100);
    });
}

#[divan::bench]
fn list_page_bare_reqwest(b: divan::Bencher) {
    let f = &*FIXTURE;
    b.bench(|| {
        let page: Vec<types::ApiKeyInfo> = f.rt.block_on(async {
            f.bare
                .get(&f.keys_url)
                .query(&[("offset", "0"), ("limit", "100")])
                .header(AUTHORIZATION, &f.bearer)
                .send()
                .await
                .expect("send")
                .error_for_status()
                .expect("200")
                .json()
                .await
                .expect("decode")
        });
        assert_eq!(page.len(), 100);
    });
}

#[divan::bench]
fn create_client(b: divan::Bencher) {
    let f = &*FIXTURE;
    b.bench(|| {
        f.rt.block_on(
            f.client
                .create_api_key_for_user(types::ApiKeyCreateRequest::builder().user_id("admin")),
        )
        .expect("create")
    });
}

#[divan::bench]
fn create_bare_reqwest(b: divan::Bencher) {
    let f = &*FIXTURE;
    b.bench(|| {
        let created: types::ApiKeyResult = f.rt.block_on(async {
            f.bare
                .post(&f.keys_url)
                .header(AUTHORIZATION, &f.bearer)
                .json(&serde_json::json!({ "user_id": "admin" }))
                .send()
                .await
                .expect("send")
                .error_for_status()
                .expect("201")
                .json()
                .await
                .expect("decode")
        });
        created
    });
}
