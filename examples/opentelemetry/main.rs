//! The client's per-attempt spans exported through OpenTelemetry, here to
//! stdout: each `h2ogpte_http` span carries the HTTP client conventions'
//! attributes (`http.request.method`, `server.address`, `server.port`,
//! `url.full`, `http.response.status_code`, `error.type`, …) with
//! `otel.kind = client`, so a collector shows them without mapping. Runs on
//! the in-memory fake server: `cargo run -p h2ogpte-example-opentelemetry`.
//!
//! The library itself depends only on `tracing`; this example is a crate of
//! its own so that its exporter crates are built only when it is run.

use h2ogpte_api_keys::{Client, CreateKey, ListQuery};
use h2ogpte_fake_server::FakeServer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let tracer = provider.tracer("h2ogpte-api-keys-example");
    // Info and up: the client's spans, not the HTTP stack's debug events.
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let server = FakeServer::builder().user("u-1", "alice").start().await?;
    let client = Client::builder()
        .with_server_url(server.url())
        .with_api_key(server.admin_key())
        .build()?;
    let created = client
        .create_api_key_for_user(CreateKey::for_user("u-1").name("traced"))
        .await?;
    client.list_all_api_keys(&ListQuery::new()).await?;
    client.delete_api_key(&created.api_key.id).await?;
    // A 404, to show `error.type`.
    let _ = client.delete_api_key(&created.api_key.id).await;

    provider.shutdown()?;
    Ok(())
}
