//! The client against a server far away, one case per run, for
//! `benches/remote.sh`, which starts the fake server binary (with
//! `--latency-ms`) and runs the cases side by side:
//!
//! - `stream URL KEY PREFETCH`: every key with pages of 100; prints the wall
//!   time and the peak resident memory beyond what was resident at the start.
//! - `calls URL KEY ours|bare create|list COUNT`: COUNT calls made by this
//!   client or by a bare `reqwest::Client` sending the very same request
//!   (headers and query as the request snapshots show), for counting
//!   instructions under cachegrind (the difference of two counts, per call).
//! - `create-load URL KEY CONNECTIONS REQUESTS`: that many creates, that many
//!   at a time over bare reqwest; prints the server's creates per second.
//! - `list-at URL KEY OFFSET COUNT`: COUNT pages of 100 at OFFSET, one after
//!   the other; prints the mean time of one.
//!
//! Bounded: every case makes a fixed number of requests to the URL given,
//! which the script points at a fake server on 127.0.0.1.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, stream};
use h2ogpte_api_keys::{Client, ListQuery, RetryPolicy, raw::ClientInfo, types};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["stream", url, key, prefetch] => {
            runtime.block_on(stream_every_key(url, key, prefetch.parse()?))
        }
        ["calls", url, key, who, kind, count] => {
            runtime.block_on(calls(url, key, who, kind, count.parse()?))
        }
        ["create-load", url, key, connections, requests] => runtime.block_on(create_load(
            url,
            key,
            connections.parse()?,
            requests.parse()?,
        )),
        ["list-at", url, key, offset, count] => {
            runtime.block_on(list_at(url, key, offset.parse()?, count.parse()?))
        }
        [] => {
            // `cargo bench` with no arguments: nothing to measure without a
            // server; benches/remote.sh runs the cases.
            println!("remote: run benches/remote.sh");
            Ok(())
        }
        _ => Err("usage: see the module documentation of benches/remote.rs".into()),
    }
}

fn client(url: &str, key: &str, prefetch: usize) -> Result<Client, h2ogpte_api_keys::Error> {
    Client::builder()
        .with_server_url(url)
        .with_api_key(key)
        .with_prefetch(prefetch)
        .with_retry_policy(RetryPolicy::none())
        .build()
}

async fn stream_every_key(
    url: &str,
    key: &str,
    prefetch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = client(url, key, prefetch)?;
    let resident_at_start = memory_kib("VmRSS");
    let started = Instant::now();
    let query = ListQuery::new().with_limit(100);
    let count = client
        .stream_all_api_keys(&query)
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_extra = memory_kib("VmHWM").saturating_sub(resident_at_start);
    println!("keys={count} prefetch={prefetch} seconds={seconds:.3} peak_extra_kib={peak_extra}");
    Ok(())
}

/// A field of /proc/self/status, in KiB (0 where there is none).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let value = line.strip_prefix(field)?.strip_prefix(':')?;
                value.trim().trim_end_matches("kB").trim().parse().ok()
            })
        })
        .unwrap_or(0)
}

async fn calls(
    url: &str,
    key: &str,
    who: &str,
    kind: &str,
    count: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let ours = client(url, key, 1)?;
    h2ogpte_api_keys::install_crypto_provider();
    // The bare client sends the very request this one sends (headers and
    // query as the snapshots show), so the difference is the client's work.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("h2ogpte-api-keys/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let keys_url = format!("{url}/api/v1/admin/api_keys");
    let bearer = format!("Bearer {key}");
    let api_version = h2ogpte_api_keys::raw::Client::api_version();
    let list = ListQuery::new().with_limit(100);
    for _ in 0..count {
        match (who, kind) {
            ("ours", "list") => {
                std::hint::black_box(ours.list_all_api_keys(&list).await?);
            }
            ("ours", "create") => {
                let body = types::ApiKeyCreateRequest::builder().user_id("admin");
                std::hint::black_box(ours.create_api_key_for_user(body).await?);
            }
            ("bare", "list") => {
                let keys: Vec<types::ApiKeyInfo> = bare
                    .get(format!("{keys_url}?offset=0&limit=100"))
                    .header(ACCEPT, "application/json")
                    .header("api-version", api_version)
                    .header(AUTHORIZATION, &bearer)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                std::hint::black_box(keys);
            }
            ("bare", "create") => {
                let created: types::ApiKeyResult = bare
                    .post(&keys_url)
                    .header(ACCEPT, "application/json")
                    .header("api-version", api_version)
                    .header(AUTHORIZATION, &bearer)
                    .header(CONTENT_TYPE, "application/json")
                    .body(r#"{"user_id":"admin"}"#)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                std::hint::black_box(created);
            }
            _ => return Err(format!("unknown case {who} {kind}").into()),
        }
    }
    Ok(())
}

async fn create_load(
    url: &str,
    key: &str,
    connections: usize,
    requests: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    h2ogpte_api_keys::install_crypto_provider();
    let bare = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let keys_url = Arc::new(format!("{url}/api/v1/admin/api_keys"));
    let bearer = Arc::new(format!("Bearer {key}"));
    let started = Instant::now();
    let failures = stream::iter(0..requests)
        .map(|_| {
            let (bare, keys_url, bearer) = (bare.clone(), keys_url.clone(), bearer.clone());
            async move {
                let response = bare
                    .post(keys_url.as_str())
                    .header(AUTHORIZATION, bearer.as_str())
                    .header(CONTENT_TYPE, "application/json")
                    .body(r#"{"user_id":"admin"}"#)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().as_u16() == 201 => r.bytes().await.is_err(),
                    _ => true,
                }
            }
        })
        .buffer_unordered(connections)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "creates={requests} connections={connections} failures={failures} seconds={seconds:.3} per_second={:.0}",
        requests as f64 / seconds
    );
    Ok(())
}

async fn list_at(
    url: &str,
    key: &str,
    offset: u64,
    count: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = client(url, key, 1)?;
    let page = ListQuery::new().with_offset(offset).with_limit(100);
    let started = Instant::now();
    for _ in 0..count {
        std::hint::black_box(client.list_all_api_keys(&page).await?);
    }
    let micros = started.elapsed().as_micros() / u128::from(count.max(1));
    println!("offset={offset} pages={count} micros_per_page={micros}");
    Ok(())
}
