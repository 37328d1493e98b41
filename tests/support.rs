//! What the library's tests share: a fake server started from a builder,
//! and a client of its admin.

use h2ogpte_api_keys::Client;
use h2ogpte_fake_server::{FakeServer, FakeServerBuilder};

/// Starts `builder`'s server and builds a client of its admin for it.
pub async fn serve(builder: FakeServerBuilder) -> (FakeServer, Client) {
    let server = builder.start().await.expect("server starts");
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()
        .expect("client builds");
    (server, client)
}
